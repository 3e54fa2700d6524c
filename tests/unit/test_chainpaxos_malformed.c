/* ChainPaxos against malformed and hostile input: nothing crashes, bad messages are dropped and
 * counted, and the cluster keeps working (docs/protocols/chainpaxos.md §4). Run under valgrind
 * by the test suite's memcheck target as well. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "chainpaxos_harness.h"

#define MAX_SAMPLES 64

struct samples {
    struct buf msg[MAX_SAMPLES];
    size_t count;
    unsigned per_type[8];
};

static void sample_add(struct samples *s, const uint8_t *data, size_t len)
{
    if (s->count == MAX_SAMPLES)
        return;
    buf_init(&s->msg[s->count]);
    buf_append(&s->msg[s->count], data, len);
    s->count++;
}

/* Keeps the first few messages of every type the cluster sends. */
static void sample_hook(void *arg, size_t from, size_t to, const uint8_t *data, size_t len)
{
    (void)from;
    (void)to;
    struct samples *s = arg;
    uint8_t type = data[0] & 7;
    if (s->per_type[type] < 6) {
        s->per_type[type]++;
        sample_add(s, data, len);
    }
}

static void samples_free(struct samples *s)
{
    for (size_t k = 0; k < s->count; k++)
        buf_free(&s->msg[k]);
}

/* A PROMISE with entries and a REJECT_PREPARE: start-up never produces those. */
static void sample_crafted(struct samples *s)
{
    struct buf batch, b;
    buf_init(&batch);
    buf_init(&b);
    buf_put_u32(&batch, 1);
    const uint8_t *argv[2] = {(const uint8_t *)"GET", (const uint8_t *)"k"};
    size_t lens[2] = {3, 1};
    struct command_header h = {.origin = 2, .client = 1, .seq = 1, .argc = 2};
    command_encode(&batch, &h, argv, lens);
    chain_msg_put_promise_header(&b, (struct ballot){.round = 1, .node = 1}, 1, 0, 2);
    struct chain_value noop = {.kind = CHAIN_VALUE_NOOP};
    struct chain_value v = {.kind = CHAIN_VALUE_BATCH, .body = batch.data, .len = batch.len};
    chain_msg_put_promised(&b, 1, (struct ballot){.round = 1, .node = 2}, &noop);
    chain_msg_put_promised(&b, 2, (struct ballot){.round = 1, .node = 2}, &v);
    sample_add(s, b.data, b.len);
    s->per_type[CHAIN_MSG_PROMISE]++;
    buf_clear(&b);
    struct chain_reject r = {.refused = {.round = 1, .node = 1}, .promised = {.round = 7, .node = 3}};
    chain_msg_put_reject(&b, &r);
    sample_add(s, b.data, b.len);
    s->per_type[CHAIN_MSG_REJECT_PREPARE]++;
    buf_free(&b);
    buf_free(&batch);
}

/* A 3-node cluster with traffic of every kind, and samples of it. */
static void busy_cluster(struct cp_cluster *cl, struct samples *s, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    cp_init(cl, 3, NULL, seed, NULL);
    cl->hook = sample_hook;
    cl->hook_arg = s;
    assert_true(cp_elect(cl, 1000));
    for (size_t r = 0; r < 20; r++) {
        for (size_t k = 0; k < 3; k++) {
            cp_submit_next(cl, k, r % CP_CLIENTS);
            cp_flush(cl, k);
        }
        cp_advance(cl, CP_TICK_MS);
    }
    cl->hook = NULL;
    sample_crafted(s);
    assert_true(s->per_type[CHAIN_MSG_PREPARE] && s->per_type[CHAIN_MSG_PROMISE]);
    assert_true(s->per_type[CHAIN_MSG_ACCEPT] && s->per_type[CHAIN_MSG_ACCEPT_ACK]);
    assert_true(s->per_type[CHAIN_MSG_FORWARD] && s->per_type[CHAIN_MSG_REJECT_PREPARE]);
}

static uint64_t sends_total(const struct cp_node *node)
{
    uint64_t total = 0;
    for (size_t t = 0; t < sizeof node->sends / sizeof node->sends[0]; t++)
        total += node->sends[t];
    return total;
}

/* Feeds bytes to node k from `from` and checks they were dropped: counter + 1, no effect but,
 * if `reply` is not 0, at most one message of that type (an ALIVE answers a repeated ACCEPT,
 * at most once per retransmit_ms / 4). */
static void feed_dropped_reply(struct cp_cluster *cl, size_t k, node_id from,
                               const uint8_t *data, size_t len, uint8_t reply)
{
    struct engine_status before, after;
    cp_status(cl, k, &before);
    size_t trace = cl->trace.len;
    uint64_t sends = sends_total(&cl->nodes[k]);
    uint64_t replies = reply ? cl->nodes[k].sends[reply] : 0;
    cp_step(cl, k,
            (struct engine_event){.type = ENGINE_EVENT_MESSAGE, .from = from, .data = data,
                                  .len = len});
    cp_status(cl, k, &after);
    assert_int_equal(after.messages_dropped, before.messages_dropped + 1);
    if (reply) {
        uint64_t replied = cl->nodes[k].sends[reply] - replies;
        assert_true(replied <= 1);
        assert_int_equal(sends_total(&cl->nodes[k]), sends + replied);
    } else {
        assert_int_equal(cl->trace.len, trace);
    }
    assert_int_equal(after.highest_accepted, before.highest_accepted);
    assert_true(ballot_eq(after.ballot, before.ballot));
}

static void feed_dropped(struct cp_cluster *cl, size_t k, node_id from, const uint8_t *data,
                         size_t len)
{
    feed_dropped_reply(cl, k, from, data, len, 0);
}

/* The same for bytes that are no message at all: also counted as malformed. */
static void feed_malformed(struct cp_cluster *cl, size_t k, node_id from, const uint8_t *data,
                           size_t len)
{
    struct engine_status before, after;
    cp_status(cl, k, &before);
    feed_dropped(cl, k, from, data, len);
    cp_status(cl, k, &after);
    assert_int_equal(after.messages_malformed, before.messages_malformed + 1);
}

/* Afterwards the cluster still orders and executes everything. */
static void check_still_works(struct cp_cluster *cl)
{
    for (size_t r = 0; r < 10; r++) {
        for (size_t k = 0; k < cl->n; k++) {
            cp_submit_next(cl, k, 0);
            cp_flush(cl, k);
        }
        cp_advance(cl, CP_TICK_MS);
    }
    cp_advance(cl, 500);
    for (size_t k = 0; k < cl->n; k++)
        cp_check_commands(cl, k);
}

static void test_truncated_and_extended(void **state)
{
    (void)state;
    struct cp_cluster cl;
    struct samples s;
    busy_cluster(&cl, &s, 600);
    struct buf longer;
    buf_init(&longer);
    for (size_t j = 0; j < s.count; j++) {
        const struct buf *m = &s.msg[j];
        for (size_t k = 0; k < 3; k++) {
            node_id from = cl.nodes[(k + 1) % 3].id;
            for (size_t len = 0; len < m->len; len++)
                feed_malformed(&cl, k, from, m->data, len);
            buf_clear(&longer);
            buf_append(&longer, m->data, m->len);
            buf_put_u8(&longer, 0x5a);
            feed_malformed(&cl, k, from, longer.data, longer.len);
        }
    }
    buf_free(&longer);
    check_still_works(&cl);
    samples_free(&s);
    cp_free(&cl);
}

static void test_random_bytes(void **state)
{
    (void)state;
    struct cp_cluster cl;
    struct samples s;
    busy_cluster(&cl, &s, 601);
    struct rng rng;
    rng_seed(&rng, 601);
    uint8_t data[512];
    for (int i = 0; i < 20000; i++) {
        size_t len = (size_t)rng_below(&rng, sizeof data);
        for (size_t b = 0; b < len; b++)
            data[b] = (uint8_t)rng_next(&rng);
        if (len > 0 && i % 2 == 0)
            data[0] = (uint8_t)rng_below(&rng, 8); /* mostly known types, so bodies get parsed */
        size_t k = (size_t)rng_below(&rng, 3);
        feed_dropped(&cl, k, cl.nodes[(k + 1) % 3].id, data, len);
    }
    check_still_works(&cl);
    samples_free(&s);
    cp_free(&cl);
}

/* Valid messages from strangers (unknown ids, id 0, the receiver itself) are dropped. */
static void test_unknown_senders(void **state)
{
    (void)state;
    struct cp_cluster cl;
    struct samples s;
    busy_cluster(&cl, &s, 602);
    for (size_t j = 0; j < s.count; j++)
        for (size_t k = 0; k < 3; k++) {
            feed_dropped(&cl, k, 0, s.msg[j].data, s.msg[j].len);
            feed_dropped(&cl, k, 99, s.msg[j].data, s.msg[j].len);
            feed_dropped(&cl, k, cl.nodes[k].id, s.msg[j].data, s.msg[j].len);
        }
    check_still_works(&cl);
    samples_free(&s);
    cp_free(&cl);
}

/* Stale and useless messages are ignored and counted: an old ACCEPT replayed (a duplicate), an
 * ACCEPT_ACK at a follower, a PROMISE when not a candidate, a FORWARD circling too long. */
static void test_useless_messages_counted(void **state)
{
    (void)state;
    struct cp_cluster cl;
    struct samples s;
    busy_cluster(&cl, &s, 603);
    for (size_t j = 0; j < s.count; j++) {
        const struct buf *m = &s.msg[j];
        uint8_t type = m->data[0];
        if (type == CHAIN_MSG_ACCEPT_ACK || type == CHAIN_MSG_PROMISE)
            feed_dropped(&cl, 1, cl.nodes[2].id, m->data, m->len);
        if (type == CHAIN_MSG_ACCEPT)
            feed_dropped_reply(&cl, 1, cl.nodes[0].id, m->data, m->len, /* old instance */
                               CHAIN_MSG_ALIVE);
        if (type == CHAIN_MSG_FORWARD) {
            struct buf f;
            buf_init(&f);
            buf_append(&f, m->data, m->len);
            f.data[1] = 4; /* hops > N at a follower */
            feed_dropped(&cl, 1, cl.nodes[2].id, f.data, f.len);
            buf_free(&f);
        }
    }
    check_still_works(&cl);
    samples_free(&s);
    cp_free(&cl);
}

/* Mutated valid messages go straight into engines in every role (no harness checks, since a
 * corrupted but well-formed message may legitimately derail the protocol): the engine's own
 * invariant checks must hold and nothing may crash or leak. */
static void test_mutation_fuzz(void **state)
{
    (void)state;
    struct cp_cluster cl;
    struct samples s;
    busy_cluster(&cl, &s, 604);
    struct rng rng;
    rng_seed(&rng, 604);
    struct outbox out;
    outbox_init(&out);
    struct buf m;
    buf_init(&m);
    for (int i = 0; i < 30000; i++) {
        const struct buf *src = &s.msg[rng_below(&rng, s.count)];
        buf_clear(&m);
        buf_append(&m, src->data, src->len);
        for (uint64_t f = 1 + rng_below(&rng, 3); f > 0; f--)
            m.data[rng_below(&rng, m.len)] ^= (uint8_t)(1u << rng_below(&rng, 8));
        size_t k = (size_t)rng_below(&rng, 3);
        struct engine_event ev = {.type = ENGINE_EVENT_MESSAGE, .now_ms = cl.now_ms,
                                  .from = cl.nodes[(k + 1 + rng_below(&rng, 2)) % 3].id,
                                  .data = m.data, .len = m.len};
        if (i % 50 == 0) {
            ev = (struct engine_event){.type = ENGINE_EVENT_TICK, .now_ms = cl.now_ms};
            cl.now_ms += 10;
        }
        chainpaxos_engine_ops.step(cl.nodes[k].engine, &ev, &out);
        outbox_clear(&out);
    }
    for (size_t k = 0; k < 3; k++) {
        struct engine_status st;
        cp_status(&cl, k, &st);
        assert_true(st.messages_dropped > 0);
        assert_true(st.highest_executed <= st.highest_accepted);
        assert_true(st.gc_horizon <= st.highest_executed);
    }
    buf_free(&m);
    outbox_free(&out);
    samples_free(&s);
    cp_free(&cl);
}

/* A command record the state machine could not decode is refused at once. */
static void test_malformed_command_rejected(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 3, NULL, 605, NULL);
    assert_true(cp_elect(&cl, 1000));
    struct buf rec;
    buf_init(&rec);
    cp_command(&cl, 1, 0, 1, &rec);
    for (size_t len = 0; len < rec.len; len++)
        cp_step(&cl, 1,
                (struct engine_event){.type = ENGINE_EVENT_COMMAND, .data = rec.data,
                                      .len = len});
    assert_int_equal(cl.nodes[1].rejects, rec.len);
    buf_put_u8(&rec, 0);
    cp_step(&cl, 1,
            (struct engine_event){.type = ENGINE_EVENT_COMMAND, .data = rec.data, .len = rec.len});
    assert_int_equal(cl.nodes[1].rejects, rec.len);
    buf_free(&rec);
    cp_flush(&cl, 1);
    assert_int_equal(cp_in_flight(&cl), 0);
    cp_free(&cl);
}

/* With no leader known, commands beyond max_pending_bytes are REJECTed; earlier ones are kept
 * and go out once a leader is known. */
static void test_pending_limit(void **state)
{
    (void)state;
    struct engine_config tunables = {.max_pending_bytes = 300};
    struct cp_cluster cl;
    cp_init(&cl, 3, NULL, 606, &tunables);
    for (uint64_t s = 1; s <= 10; s++)
        cp_submit(&cl, 2, 0, s); /* ~53 bytes each: 5 fit */
    assert_int_equal(cl.nodes[2].rejects, 5);
    assert_true(cp_elect(&cl, 1000));
    cp_flush(&cl, 2);
    cp_advance(&cl, 300);
    assert_int_equal(cp_batches_executed(&cl, 0), 1);
    cp_free(&cl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truncated_and_extended),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_unknown_senders),
        cmocka_unit_test(test_useless_messages_counted),
        cmocka_unit_test(test_mutation_fuzz),
        cmocka_unit_test(test_malformed_command_rejected),
        cmocka_unit_test(test_pending_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
