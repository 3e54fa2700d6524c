/* Simulated clients: closed loop (one operation outstanding), each bound to one replica, over a
 * small key space so operations collide. Keys come in pairs (MSET, MGET and two-key DEL use a
 * pair, so the checker's key groups stay small while multi-key atomicity is still checked);
 * a pair holds either counters (SET of unique integers, INCR) or strings (SET of unique
 * strings, APPEND), so every INCR meets an integer and every written value is distinct: a stale
 * read cannot hide behind an equal value.
 *
 * Every invocation and completion goes into the history with virtual timestamps. A client
 * that gets no reply within its timeout closes its connection and continues on a new one, as a
 * new history process (a (connection, seq) pair is never reused for another command); the
 * timed-out op's outcome is what the replicas really did with it (outcome.c), or "unknown"
 * with --unresolved-timeouts. Replies are parsed from the RESP bytes the replica produced. */
#include "common/check.h"
#include "sim/internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sim_op_names[] = {
    [OP_GET] = "GET", [OP_SET] = "SET", [OP_INCR] = "INCR", [OP_APPEND] = "APPEND",
    [OP_DEL] = "DEL", [OP_MSET] = "MSET", [OP_MGET] = "MGET"};

void sim_clients_init(struct sim *s)
{
    struct rng *r = &s->rng;
    s->client_count = s->opt.clients ? s->opt.clients : 10 + rng_below(r, 21);
    if (s->client_count > SIM_MAX_CLIENTS)
        s->client_count = SIM_MAX_CLIENTS;
    /* 5..8 keys: pairs (k0 k1) (k2 k3) ..., and with an odd count a last single key that only
     * one-key commands touch. */
    s->key_count = 5 + rng_below(r, 4);
    size_t pairs = s->key_count / 2;
    size_t counters = 1 + rng_below(r, pairs - 1);
    for (size_t k = 0; k < s->key_count; k++) {
        snprintf(s->keys[k], sizeof s->keys[k], "k%u", (unsigned)(k % 100));
        s->counter_key[k] = k / 2 < counters;
    }
    /* Swarm: each run weighs the commands differently; GET and SET are always in. */
    for (int t = 0; t < 7; t++)
        s->weights[t] = (t != OP_GET && t != OP_SET && rng_below(r, 100) < 20)
                            ? 0
                            : 1 + (unsigned)rng_below(r, 10);
    /* Longer than most stalls (a partition, a retransmission after a loss), so that a stall
     * leaves one long operation per client rather than a pile of them. */
    static const uint64_t timeouts[] = {1000000, 2000000, 4000000};
    s->timeout_us = timeouts[rng_below(r, 3)];
    s->client_latency_us = 20 + rng_below(r, 181);
    /* Think time so that the fault phase sees about opt.ops operations. */
    uint64_t cycle = s->client_count * s->opt.duration_ms * 1000 / (s->opt.ops ? s->opt.ops : 1);
    if (cycle > 200000)
        cycle = 200000; /* clients keep going, so liveness after healing can be judged */
    for (uint32_t c = 0; c < SIM_ALL_CLIENTS; c++) {
        struct sim_client *cl = &s->clients[c];
        memset(cl, 0, sizeof *cl);
        cl->index = c;
    }
    for (uint32_t c = 0; c < s->client_count; c++) {
        struct sim_client *cl = &s->clients[c];
        cl->replica = (uint32_t)rng_below(r, s->n);
        cl->think_max_us = cycle + rng_below(r, cycle + 1);
        sim_queue_push(&s->queue, &(struct sim_event){.time = rng_below(r, 20000),
                                                      .type = SIM_EV_NEXT_OP, .client = c});
    }
    for (uint32_t k = 0; k < s->n; k++) {
        struct sim_client *cl = &s->clients[s->client_count + k];
        cl->replica = k;
        cl->final_reader = true;
        cl->stopped = true; /* until sim_clients_start_final */
    }
}

static enum op_type sim_pick_op(struct sim *s)
{
    unsigned total = 0;
    for (int t = 0; t < 7; t++)
        total += s->weights[t];
    unsigned x = (unsigned)rng_below(&s->client_rng, total);
    for (int t = 0; t < 7; t++) {
        if (x < s->weights[t])
            return (enum op_type)t;
        x -= s->weights[t];
    }
    return OP_GET;
}

/* A random key of the wanted kind (counter or string), or -1 if there is none. */
static int sim_pick_key(struct sim *s, bool counter)
{
    size_t matching = 0;
    for (size_t k = 0; k < s->key_count; k++)
        matching += s->counter_key[k] == counter;
    if (!matching)
        return -1;
    size_t pick = (size_t)rng_below(&s->client_rng, matching);
    for (size_t k = 0; k < s->key_count; k++)
        if (s->counter_key[k] == counter && pick-- == 0)
            return (int)k;
    return -1;
}

/* A unique value for key k: an integer for counters (spaced so INCRs do not reach another
 * client's value), a string otherwise. */
static void sim_value(struct sim *s, struct sim_client *cl, size_t k, char *out, size_t size)
{
    cl->counter++;
    if (s->counter_key[k])
        snprintf(out, size, "%" PRIu64,
                 (uint64_t)(((uint64_t)cl->index + 1) * 1000000000u + cl->counter * 1000u));
    else
        snprintf(out, size, "c%u-%" PRIu64, cl->index, cl->counter);
}

static void sim_word(char *dst, const char *src)
{
    size_t len = strlen(src);
    CHECK(len < SIM_ARG_BYTES);
    memcpy(dst, src, len + 1);
}

/* Fills the client's command words and the history's keys and args. */
static void sim_build_op(struct sim *s, struct sim_client *cl, uint32_t *nkeys,
                         const char **keys, const char **args)
{
    enum op_type t = cl->final_reader ? OP_GET : sim_pick_op(s);
    size_t k0 = (size_t)rng_below(&s->client_rng, s->key_count);
    size_t pair = k0 & ~(size_t)1;
    if (pair + 1 >= s->key_count)
        pair = 2 * (size_t)rng_below(&s->client_rng, s->key_count / 2);
    int k;
    if (t == OP_INCR && (k = sim_pick_key(s, true)) >= 0)
        k0 = (size_t)k;
    else if (t == OP_APPEND && (k = sim_pick_key(s, false)) >= 0)
        k0 = (size_t)k;
    else if (t == OP_INCR || t == OP_APPEND)
        t = OP_SET;
    if (cl->final_reader)
        k0 = cl->final_key++;
    cl->type = t;
    sim_word(cl->argv[0], sim_op_names[t]);
    switch (t) {
    case OP_GET:
    case OP_INCR:
        *nkeys = 1;
        cl->argc = 2;
        sim_word(cl->argv[1], s->keys[k0]);
        break;
    case OP_SET:
        *nkeys = 1;
        cl->argc = 3;
        sim_word(cl->argv[1], s->keys[k0]);
        sim_value(s, cl, k0, cl->argv[2], SIM_ARG_BYTES);
        break;
    case OP_APPEND:
        *nkeys = 1;
        cl->argc = 3;
        sim_word(cl->argv[1], s->keys[k0]);
        cl->counter++;
        snprintf(cl->argv[2], SIM_ARG_BYTES, "%u.%" PRIu64 ",", cl->index, cl->counter);
        break;
    case OP_DEL:
    case OP_MGET:
        if (t == OP_DEL && rng_below(&s->client_rng, 2)) {
            *nkeys = 1;
            cl->argc = 2;
            sim_word(cl->argv[1], s->keys[k0]);
            break;
        }
        /* two keys of a pair */
        *nkeys = 2;
        cl->argc = 3;
        sim_word(cl->argv[1], s->keys[pair]);
        sim_word(cl->argv[2], s->keys[pair + 1]);
        break;
    case OP_MSET:
        *nkeys = 2;
        cl->argc = 5;
        sim_word(cl->argv[1], s->keys[pair]);
        sim_value(s, cl, pair, cl->argv[2], SIM_ARG_BYTES);
        sim_word(cl->argv[3], s->keys[pair + 1]);
        sim_value(s, cl, pair + 1, cl->argv[4], SIM_ARG_BYTES);
        break;
    }
    bool has_args = t == OP_SET || t == OP_APPEND || t == OP_MSET;
    uint32_t step = t == OP_MSET ? 2 : 1;
    for (uint32_t i = 0; i < *nkeys; i++) {
        keys[i] = cl->argv[1 + i * step];
        args[i] = has_args ? cl->argv[2 + i * step] : NULL;
    }
}

static void sim_schedule_next(struct sim *s, struct sim_client *cl, uint64_t delay)
{
    sim_queue_push(&s->queue, &(struct sim_event){.time = s->now + delay,
                                                  .type = SIM_EV_NEXT_OP,
                                                  .client = cl->index});
}

static uint64_t sim_think(struct sim *s, const struct sim_client *cl)
{
    return cl->final_reader ? 0 : rng_below(&s->client_rng, cl->think_max_us + 1);
}

void sim_client_next(struct sim *s, uint32_t c)
{
    struct sim_client *cl = &s->clients[c];
    if (cl->busy || cl->stopped)
        return;
    if (cl->final_reader && cl->final_key == s->key_count) {
        cl->stopped = true;
        return;
    }
    if (!cl->conn) {
        cl->conn = sim_replica_connect(s, cl->replica, c);
        if (!cl->conn) {
            sim_schedule_next(s, cl, 50000); /* replica down: try again later */
            return;
        }
        cl->connection++;
    }
    uint32_t nkeys = 0;
    const char *keys[2], *args[2];
    sim_build_op(s, cl, &nkeys, keys, args);
    bool has_args = cl->type == OP_SET || cl->type == OP_APPEND || cl->type == OP_MSET;
    cl->hist = history_invoke(&s->history, SIM_PROCESS(c, cl->connection), s->now, cl->type,
                              nkeys, keys, has_args ? args : NULL);
    cl->busy = true;
    cl->serial++;
    cl->invoked = s->now;
    s->res->ops++;
    sim_queue_push(&s->queue, &(struct sim_event){.time = s->now + s->client_latency_us,
                                                  .type = SIM_EV_REQUEST, .node = cl->replica,
                                                  .client = c, .arg = cl->serial});
    sim_queue_push(&s->queue, &(struct sim_event){.time = s->now + s->timeout_us,
                                                  .type = SIM_EV_TIMEOUT, .client = c,
                                                  .arg = cl->serial});
}

/* ---- RESP2 replies ---------------------------------------------------------------------- */

struct sim_resp {
    const uint8_t *p;
    const uint8_t *end;
};

/* Reads digits (optionally negative) up to CRLF. */
static bool sim_resp_int(struct sim_resp *r, int64_t *v)
{
    bool neg = r->p < r->end && *r->p == '-';
    if (neg)
        r->p++;
    uint64_t x = 0;
    const uint8_t *start = r->p;
    while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
        if (x > (UINT64_MAX - 9) / 10)
            return false;
        x = x * 10 + (uint64_t)(*r->p++ - '0');
    }
    if (r->p == start || r->end - r->p < 2 || r->p[0] != '\r' || r->p[1] != '\n')
        return false;
    r->p += 2;
    if (x > (uint64_t)INT64_MAX)
        return false;
    *v = neg ? -(int64_t)x : (int64_t)x;
    return true;
}

static bool sim_resp_expect(struct sim_resp *r, char type)
{
    if (r->p >= r->end || *r->p != (uint8_t)type)
        return false;
    r->p++;
    return true;
}

/* A bulk string (malloc'd copy, NUL-terminated) or nil (*out = NULL). */
static bool sim_resp_bulk(struct sim_resp *r, char **out)
{
    int64_t len;
    *out = NULL;
    if (!sim_resp_expect(r, '$') || !sim_resp_int(r, &len))
        return false;
    if (len == -1)
        return true;
    if (len < 0 || r->end - r->p < len + 2 || r->p[len] != '\r' || r->p[len + 1] != '\n')
        return false;
    *out = malloc((size_t)len + 1);
    CHECK(*out != NULL);
    memcpy(*out, r->p, (size_t)len);
    (*out)[len] = '\0';
    r->p += len + 2;
    return true;
}

static bool sim_parse_reply(enum op_type t, const uint8_t *data, size_t len, int64_t *integer,
                            char **values)
{
    struct sim_resp r = {data, data + len};
    int64_t count;
    bool ok = false;
    switch (t) {
    case OP_GET:
        ok = sim_resp_bulk(&r, &values[0]);
        break;
    case OP_MGET:
        ok = sim_resp_expect(&r, '*') && sim_resp_int(&r, &count) && count == 2 &&
             sim_resp_bulk(&r, &values[0]) && sim_resp_bulk(&r, &values[1]);
        break;
    case OP_SET:
    case OP_MSET:
        ok = len == 5 && memcmp(data, "+OK\r\n", 5) == 0;
        r.p = r.end;
        break;
    case OP_INCR:
    case OP_APPEND:
    case OP_DEL:
        ok = sim_resp_expect(&r, ':') && sim_resp_int(&r, integer);
        break;
    }
    return ok && r.p == r.end;
}

static void sim_client_done_after(struct sim *s, struct sim_client *cl, uint64_t backoff)
{
    cl->busy = false;
    if (!cl->stopped)
        sim_schedule_next(s, cl, sim_think(s, cl) + backoff);
}

/* Like a client given several addresses: after an error or a timeout it closes the connection
 * and uses another replica (one that was removed answers nothing but errors). */
static void sim_client_move(struct sim *s, struct sim_client *cl)
{
    if (cl->conn)
        sim_replica_disconnect(s, cl->replica, cl->conn);
    cl->conn = 0;
    if (s->n > 1)
        cl->replica = (uint32_t)((cl->replica + 1 + rng_below(&s->client_rng, s->n - 1)) % s->n);
}

static void sim_client_done(struct sim *s, struct sim_client *cl)
{
    sim_client_done_after(s, cl, 0);
}

bool sim_record_reply(struct sim *s, size_t hist, enum op_type type, const uint8_t *data,
                      size_t len)
{
    if (len > 0 && data[0] == '-') {
        /* An error reply (TRYAGAIN from a REJECT): the command did not take effect. */
        history_complete(&s->history, hist, s->now, OUTCOME_FAIL, 0, NULL);
        s->res->ops_fail++;
        return true;
    }
    int64_t integer = 0;
    char *values[2] = {NULL, NULL};
    bool ok = sim_parse_reply(type, data, len, &integer, values);
    if (ok) {
        bool has_values = type == OP_GET || type == OP_MGET;
        history_complete(&s->history, hist, s->now, OUTCOME_OK, integer,
                         has_values ? (const char *const *)values : NULL);
        s->res->ops_ok++;
    }
    free(values[0]);
    free(values[1]);
    return ok;
}

void sim_client_reply(struct sim *s, uint32_t c, uint64_t serial, const uint8_t *data,
                      size_t len)
{
    struct sim_client *cl = &s->clients[c];
    if (!cl->busy || cl->serial != serial) {
        /* The client gave up on it; the simulator still learns its outcome. */
        sim_orphan_reply(s, c, serial, data, len);
        return;
    }
    if (!sim_record_reply(s, cl->hist, cl->type, data, len))
        sim_violation(s, SIM_CHECK_REPLY, "client %u: %s got a malformed reply (%zu bytes)",
                      c, sim_op_names[cl->type], len);
    else if (len > 0 && data[0] != '-' && cl->invoked >= s->fault_end && !cl->final_reader)
        cl->healed = true;
    if (len > 0 && data[0] == '-' && !cl->final_reader)
        sim_client_move(s, cl);
    sim_client_done(s, cl);
}

static void sim_client_unknown(struct sim *s, struct sim_client *cl)
{
    history_complete(&s->history, cl->hist, s->now, OUTCOME_UNKNOWN, 0, NULL);
    s->res->ops_unknown++;
    if (cl->final_reader)
        cl->final_failed = true;
    sim_client_done(s, cl);
}

/* The client gives up, closes its connection and, like a real client, backs off a little
 * before it reconnects (a stalled cluster is not flooded with new operations, each of which
 * would overlap every other one in the history). What a real client records is "unknown"; the
 * simulator, which sees everything, hands the op over to outcome.c, which records what really
 * happened: the reply the origin replica computes when it executes the command after all (it
 * resubmits it until it does). Unknown outcomes make the linearizability search far more
 * expensive. A request that never reached the engine is dropped on arrival (the connection is
 * closed): it did not take effect. */
void sim_client_timeout(struct sim *s, uint32_t c, uint64_t serial)
{
    struct sim_client *cl = &s->clients[c];
    if (!cl->busy || cl->serial != serial)
        return;
    sim_trace_event(s, SIM_TR_TIMEOUT, cl->replica, c, serial, 0, NULL, 0);
    s->res->ops_timed_out++;
    if (s->opt.unresolved_timeouts) {
        sim_replica_disconnect(s, cl->replica, cl->conn);
        cl->conn = 0;
        sim_client_unknown(s, cl);
        return;
    }
    uint64_t conn = cl->conn;
    uint64_t seq = sim_replica_submitted(s, cl->replica, conn, serial);
    sim_replica_disconnect(s, cl->replica, conn);
    cl->conn = 0;
    if (cl->final_reader) {
        sim_client_unknown(s, cl);
        return;
    }
    if (seq && s->replicas[cl->replica].removed) {
        history_complete(&s->history, cl->hist, s->now, OUTCOME_UNKNOWN, 0, NULL);
        s->res->ops_unknown++;
    } else if (seq) {
        sim_orphan_add(s, c, serial, cl->replica, conn, seq, cl->hist, cl->type);
    } else {
        history_complete(&s->history, cl->hist, s->now, OUTCOME_FAIL, 0, NULL);
        s->res->ops_fail++;
    }
    sim_client_move(s, cl);
    sim_client_done_after(s, cl, rng_below(&s->client_rng, s->timeout_us / 2 + 1));
}

void sim_client_disconnected(struct sim *s, uint32_t c)
{
    struct sim_client *cl = &s->clients[c];
    cl->conn = 0;
    if (cl->busy)
        sim_client_unknown(s, cl);
}

void sim_clients_start_final(struct sim *s)
{
    for (uint32_t k = 0; k < s->n; k++) {
        struct sim_client *cl = &s->clients[s->client_count + k];
        if (!sim_replica_member(s, k))
            continue; /* removed: it serves nothing (rejoining is not implemented yet) */
        cl->stopped = false;
        sim_schedule_next(s, cl, 0);
    }
}

void sim_clients_stop(struct sim *s)
{
    for (uint32_t c = 0; c < s->client_count; c++)
        s->clients[c].stopped = true;
}

bool sim_clients_idle(const struct sim *s, bool final_readers)
{
    uint32_t from = final_readers ? (uint32_t)s->client_count : 0;
    uint32_t to = (uint32_t)(final_readers ? s->client_count + s->n : s->client_count);
    for (uint32_t c = from; c < to; c++)
        if (s->clients[c].busy || (final_readers && !s->clients[c].stopped))
            return false;
    return true;
}
