/* Randomized tests of the checker. Histories generated from a sequential execution of an
 * independent model, with random concurrency windows, unknown and failed outcomes, are
 * linearizable and must pass; mutating one result must never crash the checker, and on small
 * histories its verdict must match a brute-force search over all orders. Also measures a
 * 10,000-op check. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "check/check.h"
#include "check/history.h"
#include "common/rng.h"
#include "common/strint.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_KEYS 16
#define OP_KEYS 3

/* ---- an independent model: a store of C strings ---- */

struct store {
    char *v[MAX_KEYS];
};

static void store_free(struct store *s)
{
    for (int i = 0; i < MAX_KEYS; i++)
        free(s->v[i]);
}

static void store_set(struct store *s, int k, const char *v)
{
    free(s->v[k]);
    s->v[k] = v ? strdup(v) : NULL;
}

static const char *key_name(int k)
{
    static const char *const names[MAX_KEYS] = {"k0", "k1", "k2",  "k3",  "k4",  "k5",
                                                "k6", "k7", "k8",  "k9",  "k10", "k11",
                                                "k12", "k13", "k14", "k15"};
    return names[k];
}

struct gop {
    uint32_t client;
    enum op_type type;
    uint32_t nkeys;
    int keys[OP_KEYS];
    char args[OP_KEYS][16];
    uint64_t inv, lin, ret;
    enum op_outcome outcome;
    int64_t integer;
    char *values[OP_KEYS];
};

/* Applies op to the store, filling its results; false when Redis would refuse it. */
static bool store_apply(struct store *s, struct gop *op)
{
    int64_t n = 0;
    switch (op->type) {
    case OP_GET:
    case OP_MGET:
        for (uint32_t i = 0; i < op->nkeys; i++)
            op->values[i] = s->v[op->keys[i]] ? strdup(s->v[op->keys[i]]) : NULL;
        return true;
    case OP_SET:
    case OP_MSET:
        for (uint32_t i = 0; i < op->nkeys; i++)
            store_set(s, op->keys[i], op->args[i]);
        return true;
    case OP_INCR: {
        const char *v = s->v[op->keys[0]];
        if (v && (!strint_parse((const uint8_t *)v, strlen(v), &n) || n == INT64_MAX))
            return false;
        char out[STRINT_MAX_LEN + 1];
        out[strint_format(n + 1, out)] = '\0';
        store_set(s, op->keys[0], out);
        op->integer = n + 1;
        return true;
    }
    case OP_APPEND: {
        const char *v = s->v[op->keys[0]] ? s->v[op->keys[0]] : "";
        char *joined = malloc(strlen(v) + strlen(op->args[0]) + 1);
        strcpy(joined, v);
        strcat(joined, op->args[0]);
        free(s->v[op->keys[0]]);
        s->v[op->keys[0]] = joined;
        op->integer = (int64_t)strlen(joined);
        return true;
    }
    case OP_DEL:
        for (uint32_t i = 0; i < op->nkeys; i++) {
            n += s->v[op->keys[i]] != NULL;
            store_set(s, op->keys[i], NULL);
        }
        op->integer = n;
        return true;
    }
    return false;
}

/* ---- generation ---- */

struct gen_params {
    uint32_t clients, keys, ops;
    uint32_t unknown_pct, fail_pct;
    uint32_t values; /* distinct small values written */
};

static void random_op(struct rng *r, const struct gen_params *p, struct gop *op)
{
    static const enum op_type mix[] = {OP_GET, OP_GET, OP_GET, OP_SET,  OP_SET,  OP_INCR,
                                       OP_INCR, OP_APPEND, OP_DEL, OP_MSET, OP_MGET};
    op->type = mix[rng_below(r, sizeof mix / sizeof mix[0])];
    op->nkeys = 1;
    if (op->type == OP_MSET || op->type == OP_MGET)
        op->nkeys = 2 + (uint32_t)rng_below(r, 2);
    else if (op->type == OP_DEL)
        op->nkeys = 1 + (uint32_t)rng_below(r, 2);
    for (uint32_t i = 0; i < op->nkeys; i++) {
        op->keys[i] = (int)rng_below(r, p->keys);
        if (op->type == OP_APPEND)
            snprintf(op->args[i], sizeof op->args[i], "%c", (char)('a' + rng_below(r, 3)));
        else
            snprintf(op->args[i], sizeof op->args[i], "%" PRIu64, rng_below(r, p->values));
    }
}

static int lin_cmp(const void *pa, const void *pb)
{
    const struct gop *a = *(struct gop *const *)pa, *b = *(struct gop *const *)pb;
    return a->lin < b->lin ? -1 : a->lin > b->lin;
}

static int inv_cmp(const void *pa, const void *pb)
{
    const struct gop *a = pa, *b = pb;
    return a->inv < b->inv ? -1 : a->inv > b->inv;
}

/* Ops with times: each client runs one op at a time; each op takes effect at its own
 * instant (lin) between its invocation and its return, and instants are distinct. */
static struct gop *generate_ops(struct rng *r, const struct gen_params *p)
{
    struct gop *ops = calloc(p->ops, sizeof *ops);
    uint64_t *clock = calloc(p->clients, sizeof *clock);
    for (uint32_t i = 0; i < p->ops; i++) {
        struct gop *op = &ops[i];
        op->client = (uint32_t)rng_below(r, p->clients);
        random_op(r, p, op);
        uint64_t inv = clock[op->client] + rng_below(r, 20);
        uint64_t lin = inv + 1 + rng_below(r, 60);
        uint64_t ret = lin + rng_below(r, 60);
        clock[op->client] = ret + 1;
        op->inv = inv * 64 + op->client;
        op->lin = lin * 64 + op->client;
        op->ret = ret * 64 + op->client;
        op->outcome = OUTCOME_OK;
        if (rng_below(r, 100) < p->unknown_pct)
            op->outcome = OUTCOME_UNKNOWN;
        else if (rng_below(r, 100) < p->fail_pct)
            op->outcome = OUTCOME_FAIL;
    }
    free(clock);
    return ops;
}

/* Runs the ops in instant order: unknown ones take effect or not, failed ones do not. */
static void execute(struct rng *r, struct gop *ops, uint32_t n)
{
    struct gop **order = malloc(n * sizeof *order);
    for (uint32_t i = 0; i < n; i++)
        order[i] = &ops[i];
    qsort(order, n, sizeof *order, lin_cmp);
    struct store s = {0};
    for (uint32_t i = 0; i < n; i++) {
        struct gop *op = order[i];
        if (op->outcome == OUTCOME_FAIL || (op->outcome == OUTCOME_UNKNOWN && rng_below(r, 2)))
            continue;
        if (!store_apply(&s, op))
            op->outcome = op->outcome == OUTCOME_UNKNOWN ? op->outcome : OUTCOME_FAIL;
    }
    store_free(&s);
    free(order);
}

static void record(const struct gop *ops, uint32_t n, struct history *h)
{
    struct gop *sorted = malloc(n * sizeof *sorted);
    memcpy(sorted, ops, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, inv_cmp);
    history_init(h);
    for (uint32_t i = 0; i < n; i++) {
        const struct gop *op = &sorted[i];
        const char *keys[OP_KEYS], *args[OP_KEYS];
        for (uint32_t k = 0; k < op->nkeys; k++) {
            keys[k] = key_name(op->keys[k]);
            args[k] = op->args[k];
        }
        bool has_args = op->type == OP_SET || op->type == OP_APPEND || op->type == OP_MSET;
        size_t index = history_invoke(h, op->client, op->inv, op->type, op->nkeys, keys,
                                      has_args ? args : NULL);
        history_complete(h, index, op->ret, op->outcome, op->integer,
                         (const char *const *)op->values);
    }
    free(sorted);
}

static void generate(struct rng *r, const struct gen_params *p, struct history *h)
{
    struct gop *ops = generate_ops(r, p);
    execute(r, ops, p->ops);
    record(ops, p->ops, h);
    for (uint32_t i = 0; i < p->ops; i++)
        for (uint32_t k = 0; k < OP_KEYS; k++)
            free(ops[i].values[k]);
    free(ops);
}

/* Changes one completed read or counter result; false when there is none. */
static bool mutate(struct rng *r, struct history *h)
{
    for (int tries = 0; tries < 100; tries++) {
        struct op *op = &h->ops[rng_below(r, h->count)];
        if (op->outcome != OUTCOME_OK || op->type == OP_SET || op->type == OP_MSET)
            continue;
        if (op->type == OP_GET || op->type == OP_MGET) {
            uint32_t k = (uint32_t)rng_below(r, op->nkeys);
            char *old = op->values[k];
            char buf[16];
            snprintf(buf, sizeof buf, "%" PRIu64, rng_below(r, 4));
            op->values[k] = old && rng_below(r, 2) ? NULL : strdup(buf);
            bool changed = (old == NULL) != (op->values[k] == NULL) ||
                           (old && strcmp(old, op->values[k]) != 0);
            free(old);
            if (!changed)
                continue;
        } else {
            op->integer += rng_below(r, 2) ? 1 : -1;
        }
        return true;
    }
    return false;
}

/* ---- brute force: every order of the ops that respects real time ---- */

struct brute {
    const struct history *h;
    bool used[16];
    size_t nok;
};

static bool must_precede(const struct op *a, const struct op *b)
{
    return a->outcome == OUTCOME_OK && a->complete_time < b->invoke_time;
}

static int key_index(const char *key) { return atoi(key + 1); }

/* Applies op to s if its recorded result allows; false otherwise. */
static bool brute_apply(struct store *s, const struct op *op)
{
    struct gop g = {.type = op->type, .nkeys = op->nkeys};
    for (uint32_t i = 0; i < op->nkeys; i++) {
        g.keys[i] = key_index(op->keys[i]);
        if (op->args)
            snprintf(g.args[i], sizeof g.args[i], "%s", op->args[i]);
    }
    if (!store_apply(s, &g))
        return false;
    bool ok = true;
    for (uint32_t i = 0; i < op->nkeys && (op->type == OP_GET || op->type == OP_MGET); i++) {
        if (op->outcome == OUTCOME_OK && (g.values[i] == NULL) != (op->values[i] == NULL))
            ok = false;
        else if (op->outcome == OUTCOME_OK && g.values[i] && strcmp(g.values[i], op->values[i]))
            ok = false;
        free(g.values[i]);
    }
    bool counts = op->type == OP_INCR || op->type == OP_APPEND || op->type == OP_DEL;
    return ok && !(counts && op->outcome == OUTCOME_OK && g.integer != op->integer);
}

static void store_copy(struct store *to, const struct store *from)
{
    for (int i = 0; i < MAX_KEYS; i++)
        to->v[i] = from->v[i] ? strdup(from->v[i]) : NULL;
}

static bool brute_search(struct brute *b, const struct store *s, size_t placed)
{
    if (placed == b->nok)
        return true;
    for (size_t i = 0; i < b->h->count; i++) {
        const struct op *op = &b->h->ops[i];
        if (b->used[i] || op->outcome == OUTCOME_FAIL)
            continue;
        bool ready = true;
        for (size_t j = 0; j < b->h->count && ready; j++)
            ready = b->used[j] || j == i || !must_precede(&b->h->ops[j], op);
        struct store next;
        store_copy(&next, s);
        bool found = false;
        if (ready && brute_apply(&next, op)) {
            b->used[i] = true;
            found = brute_search(b, &next, placed + (op->outcome == OUTCOME_OK));
            b->used[i] = false;
        }
        store_free(&next);
        if (found)
            return true;
    }
    return false;
}

static bool brute_linearizable(const struct history *h)
{
    struct brute b = {.h = h};
    assert_true(h->count <= 16);
    for (size_t i = 0; i < h->count; i++) {
        b.nok += h->ops[i].outcome == OUTCOME_OK;
        if (h->ops[i].outcome == OUTCOME_FAIL)
            b.used[i] = true; /* never placed */
    }
    struct store empty = {0};
    return brute_search(&b, &empty, 0);
}

/* ---- tests ---- */

/* n, or a tenth of it with CHECK_QUICK set. */
static int iterations(int n)
{
    return getenv("CHECK_QUICK") ? (n + 9) / 10 : n;
}

static enum check_verdict check(const struct history *h, struct check_result *out)
{
    struct check_result r;
    check_history(h, NULL, &r);
    enum check_verdict v = r.verdict;
    if (v == CHECK_NOT_LINEARIZABLE)
        assert_non_null(r.report);
    if (out)
        *out = r;
    else
        check_result_free(&r);
    return v;
}

static void test_generated_pass(void **state)
{
    (void)state;
    struct rng r;
    rng_seed(&r, 42);
    for (int run = 0; run < iterations(400); run++) {
        struct gen_params p = {.clients = 1 + (uint32_t)rng_below(&r, 12),
                               .keys = 1 + (uint32_t)rng_below(&r, 6),
                               .ops = 1 + (uint32_t)rng_below(&r, 300),
                               .unknown_pct = (uint32_t)rng_below(&r, 10),
                               .fail_pct = (uint32_t)rng_below(&r, 5),
                               .values = 2 + (uint32_t)rng_below(&r, 6)};
        struct history h;
        generate(&r, &p, &h);
        struct check_result res;
        if (check(&h, &res) != CHECK_LINEARIZABLE) {
            if (res.report)
                print_error("%s", res.report);
            fail_msg("run %d: a generated history failed", run);
        }
        check_result_free(&res);
        history_free(&h);
    }
}

/* Small histories, most with one result changed, checked against the brute force. */
static void brute_force_campaign(uint64_t seed, int runs, uint32_t unknown_pct, uint32_t keys,
                                 uint32_t values)
{
    struct rng r;
    rng_seed(&r, seed);
    int verdicts[2] = {0, 0};
    for (int run = 0; run < runs; run++) {
        struct gen_params p = {.clients = 2 + (uint32_t)rng_below(&r, 3),
                               .keys = 1 + (uint32_t)rng_below(&r, keys),
                               .ops = 2 + (uint32_t)rng_below(&r, 7),
                               .unknown_pct = unknown_pct,
                               .fail_pct = 5,
                               .values = values};
        struct history h;
        generate(&r, &p, &h);
        if (rng_below(&r, 4))
            mutate(&r, &h);
        enum check_verdict v = check(&h, NULL);
        bool expect = brute_linearizable(&h);
        if ((v == CHECK_LINEARIZABLE) != expect) {
            history_write(stderr, &h);
            fail_msg("seed %" PRIu64 " run %d: checker says %d, brute force %d", seed, run, v,
                     expect);
        }
        verdicts[expect]++;
        history_free(&h);
    }
    print_message("brute force: %d linearizable, %d not\n", verdicts[1], verdicts[0]);
    assert_true(verdicts[0] > runs / 10 && verdicts[1] > runs / 10);
}

static void test_mutated_vs_brute_force(void **state)
{
    (void)state;
    brute_force_campaign(7, iterations(4000), 25, 3, 3);
}

static void test_unknown_heavy_vs_brute_force(void **state)
{
    (void)state;
    brute_force_campaign(11, iterations(4000), 50, 2, 2);
}

/* 300-op histories: generated ones pass; with one result changed, the checker must not crash
 * and usually rejects them (a change can keep a history linearizable; giving up is allowed
 * with the small budget used here, but must be rare). */
static void test_mutated_large(void **state)
{
    (void)state;
    struct rng r;
    rng_seed(&r, 99);
    struct check_limits limits = {.max_states = 1000000};
    int verdicts[3] = {0, 0, 0}, runs = iterations(100);
    for (int run = 0; run < runs; run++) {
        struct gen_params p = {.clients = 10, .keys = 4, .ops = 300, .unknown_pct = 3,
                               .fail_pct = 2, .values = 5};
        struct history h;
        generate(&r, &p, &h);
        assert_int_equal(check(&h, NULL), CHECK_LINEARIZABLE);
        assert_true(mutate(&r, &h));
        struct check_result res;
        check_history(&h, &limits, &res);
        assert_true((res.verdict == CHECK_NOT_LINEARIZABLE) == (res.report != NULL));
        verdicts[res.verdict]++;
        check_result_free(&res);
        history_free(&h);
    }
    print_message("mutated 300-op histories: %d rejected, %d passed, %d gave up (of %d)\n",
                  verdicts[CHECK_NOT_LINEARIZABLE], verdicts[CHECK_LINEARIZABLE],
                  verdicts[CHECK_GAVE_UP], runs);
    assert_true(verdicts[CHECK_NOT_LINEARIZABLE] > runs / 2);
    assert_true(verdicts[CHECK_GAVE_UP] <= runs / 10);
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Checks runs histories of 10,000 ops (20 clients, 8 keys) and prints the times. */
static void time_checks(uint64_t seed, uint32_t unknown_pct, int runs)
{
    struct rng r;
    rng_seed(&r, seed);
    double worst = 0, total = 0;
    uint64_t states = 0;
    for (int run = 0; run < runs; run++) {
        struct gen_params p = {.clients = 20, .keys = 8, .ops = 10000,
                               .unknown_pct = unknown_pct, .fail_pct = 1, .values = 10};
        struct history h;
        generate(&r, &p, &h);
        struct check_result res;
        double start = seconds();
        enum check_verdict v = check(&h, &res);
        double took = seconds() - start;
        assert_int_not_equal(v, CHECK_NOT_LINEARIZABLE);
        total += took;
        worst = took > worst ? took : worst;
        states += res.states;
        check_result_free(&res);
        history_free(&h);
    }
    print_message("10000 ops, 20 clients, 8 keys, %u%% unknown: mean %.1f ms, worst %.1f ms, "
                  "%" PRIu64 " states on average (%d runs)\n",
                  unknown_pct, total / runs * 1e3, worst * 1e3, states / (uint64_t)runs, runs);
}

static void test_timing_10k(void **state)
{
    (void)state;
    time_checks(2024, 0, iterations(5));
    time_checks(2025, 1, iterations(5));
}

int main(void)
{
    /* CHECK_TEST_FILTER=<pattern> runs some tests only; CHECK_QUICK=1 (for valgrind) runs a
     * tenth of the iterations. */
    if (getenv("CHECK_TEST_FILTER"))
        cmocka_set_test_filter(getenv("CHECK_TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generated_pass),
        cmocka_unit_test(test_mutated_vs_brute_force),
        cmocka_unit_test(test_unknown_heavy_vs_brute_force),
        cmocka_unit_test(test_mutated_large),
        cmocka_unit_test(test_timing_10k),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
