/* Seeds for fuzz_chainpaxos (fuzz_chainpaxos_input.h): for every ChainPaxos message type, a
 * program that injects one such message into a running cluster, taken from a real run of the
 * same cluster where the steady state produces it and built with the encoders otherwise; and
 * programs of network faults only (losses, cuts, duplicates) under client load. */
#include "cmocka_shim.h"

#include "chainpaxos_harness.h"
#include "fuzz_chainpaxos_input.h"
#include "gen_corpus.h"

#include <stdio.h>

#define GEN_SETUP (FUZZ_CP_SETUP_ROUNDS(3))
#define GEN_SEED 1
#define GEN_NODES 3

/* The first message of each type a cluster sent, with its sender and receiver. */
struct gen_capture {
    struct buf msg[CHAIN_MSG_DURABLE + 1];
    size_t from[CHAIN_MSG_DURABLE + 1], to[CHAIN_MSG_DURABLE + 1];
};

static void gen_capture_hook(void *arg, size_t from, size_t to, const uint8_t *data, size_t len)
{
    struct gen_capture *c = arg;
    if (data[0] > CHAIN_MSG_DURABLE || c->msg[data[0]].len > 0)
        return;
    buf_append(&c->msg[data[0]], data, len);
    c->from[data[0]] = from;
    c->to[data[0]] = to;
}

/* Runs a cluster like the one the target sets up (same seed), durable, a little further. */
static void gen_capture_run(struct gen_capture *c)
{
    struct cp_cluster cl;
    struct engine_config durable = {.durable = true}; /* DURABLE messages too */
    cp_init(&cl, GEN_NODES, NULL, GEN_SEED, &durable);
    cl.hook = gen_capture_hook;
    cl.hook_arg = c;
    assert_true(cp_elect(&cl, 2000));
    for (size_t r = 0; r < 6; r++) {
        for (size_t k = 0; k < cl.n; k++) {
            cp_submit_next(&cl, k, r % CP_CLIENTS);
            cp_flush(&cl, k);
        }
        cp_advance(&cl, 200);
    }
    cp_free(&cl);
}

static void gen_step(struct buf *p, uint8_t op, uint8_t a, uint8_t b)
{
    buf_put_u8(p, op);
    buf_put_u8(p, a);
    buf_put_u8(p, b);
}

/* Writes: setup, a few deliveries and ticks, the injection of msg, then more of both. */
static void gen_inject_seed(const char *dir, const char *name, const struct buf *msg,
                            size_t to, uint8_t sender)
{
    struct buf p;
    buf_init(&p);
    buf_put_u8(&p, GEN_SETUP);
    buf_put_u8(&p, GEN_SEED);
    gen_step(&p, FUZZ_CP_SUBMIT, 1, 0);
    gen_step(&p, FUZZ_CP_DELIVER, 0, 0);
    buf_put_u8(&p, 8);
    gen_step(&p, FUZZ_CP_RAW, 0, 0);
    buf_put_u8(&p, (uint8_t)to);
    buf_put_u8(&p, sender);
    buf_put_u16(&p, (uint16_t)msg->len);
    buf_append(&p, msg->data, msg->len);
    for (int i = 0; i < 3; i++) {
        gen_step(&p, FUZZ_CP_DELIVER, 0, 0);
        buf_put_u8(&p, 63);
        gen_step(&p, FUZZ_CP_TICK, 0, 0);
    }
    gen_write(dir, name, &p);
    buf_free(&p);
}

/* The messages a steady cluster does not send (elections, membership, state transfer),
 * made with the encoders, each with a plausible sender and receiver. */
static void gen_crafted(const char *dir)
{
    struct buf m, batch;
    buf_init(&m);
    buf_init(&batch);
    struct ballot high = {.round = 9, .node = 2}, old = {.round = 1, .node = 1};
    chain_msg_put_prepare(&m, &(struct chain_prepare){.ballot = high, .from = 1});
    gen_inject_seed(dir, "seed-prepare", &m, 0, FUZZ_CP_SENDER_MEMBER(1, 0, GEN_NODES));
    buf_clear(&m);
    buf_put_u32(&batch, 1);
    const uint8_t *argv[3] = {(const uint8_t *)"SET", (const uint8_t *)"k",
                              (const uint8_t *)"v"};
    size_t lens[3] = {3, 1, 1};
    command_encode(&batch, &(struct command_header){.origin = 2, .client = 1, .seq = 1,
                                                    .argc = 3}, argv, lens);
    struct chain_value v = {.kind = CHAIN_VALUE_BATCH, .body = batch.data, .len = batch.len};
    struct chain_value noop = {.kind = CHAIN_VALUE_NOOP};
    chain_msg_put_promise_header(&m, high, 1, 0, 2);
    chain_msg_put_promised(&m, 1, old, &noop);
    chain_msg_put_promised(&m, 2, old, &v);
    gen_inject_seed(dir, "seed-promise", &m, 0, FUZZ_CP_SENDER_MEMBER(1, 0, GEN_NODES));
    buf_clear(&m);
    chain_msg_put_reject(&m, &(struct chain_reject){.refused = old, .promised = high});
    gen_inject_seed(dir, "seed-reject-prepare", &m, 0, FUZZ_CP_SENDER_MEMBER(2, 0, GEN_NODES));
    buf_clear(&m);
    chain_msg_put_remove_request(&m, 3);
    gen_inject_seed(dir, "seed-remove-request", &m, 0, FUZZ_CP_SENDER_MEMBER(1, 0, GEN_NODES));
    buf_clear(&m);
    chain_msg_put_not_member(&m, &(struct chain_not_member){.config_instance = 2});
    gen_inject_seed(dir, "seed-not-member", &m, 2, FUZZ_CP_SENDER_MEMBER(0, 2, GEN_NODES));
    buf_clear(&m);
    static const char address[] = "127.0.0.1:7104";
    struct chain_change join = {.op = CHAIN_OP_ADD, .node = GEN_NODES + 1,
                                .address = (const uint8_t *)address,
                                .address_len = sizeof address - 1};
    chain_msg_put_change_request(&m, &join);
    gen_inject_seed(dir, "seed-change-request-join", &m, 0, FUZZ_CP_SENDER_NEWCOMER);
    buf_clear(&m);
    chain_msg_put_state_request(&m, &(struct chain_state_request){0, 0});
    gen_inject_seed(dir, "seed-state-request", &m, 1, FUZZ_CP_SENDER_MEMBER(2, 1, GEN_NODES));
    buf_clear(&m);
    struct chain_state st = {.ballot = old, .instance = 4, .ack = 4, .gc = 2, .fence = 1,
                             .members = {1, 2, 3}, .n = 3, .state = (const uint8_t *)"kv",
                             .state_len = 2};
    chain_msg_put_state(&m, &st);
    gen_inject_seed(dir, "seed-state", &m, 2, FUZZ_CP_SENDER_MEMBER(1, 2, GEN_NODES));
    struct buf whole;
    buf_init(&whole);
    buf_append(&whole, m.data, m.len);
    buf_clear(&m);
    chain_msg_put_state_part(&m, &(struct chain_state_part){.instance = 4, .total = whole.len,
                                                            .bytes = whole.data,
                                                            .len = whole.len});
    gen_inject_seed(dir, "seed-state-part", &m, 2, FUZZ_CP_SENDER_MEMBER(1, 2, GEN_NODES));
    buf_clear(&m);
    chain_msg_put_read_nudge(&m, &(struct chain_read_nudge){.slot = 40});
    gen_inject_seed(dir, "seed-read-nudge", &m, 0, FUZZ_CP_SENDER_MEMBER(2, 0, GEN_NODES));
    buf_clear(&m);
    chain_msg_put_forward(&m, 1, batch.data, batch.len);
    gen_inject_seed(dir, "seed-forward-crafted", &m, 0, FUZZ_CP_SENDER_MEMBER(1, 0, GEN_NODES));
    buf_clear(&m);
    chain_msg_put_alive(&m);
    gen_inject_seed(dir, "seed-alive", &m, 1, FUZZ_CP_SENDER_MEMBER(2, 1, GEN_NODES));
    buf_clear(&m);
    chain_msg_put_durable(&m, old, 3);
    gen_inject_seed(dir, "seed-durable", &m, 1, FUZZ_CP_SENDER_MEMBER(0, 1, GEN_NODES));
    buf_clear(&m);
    chain_msg_put_probe(&m, CHAIN_MSG_PROBE,
                        &(struct chain_probe){.sent_ms = 1000, .ballot = {.round = 1, .node = 1}});
    gen_inject_seed(dir, "seed-probe-crafted", &m, 1, FUZZ_CP_SENDER_MEMBER(0, 1, GEN_NODES));
    buf_free(&whole);
    buf_free(&batch);
    buf_free(&m);
}

/* Client load with losses, cuts, duplicates and (durable engines) restarts only: every run
 * must keep agreement. */
static void gen_faults_seed(const char *dir, const char *name, uint8_t setup, uint32_t seed)
{
    struct buf p;
    buf_init(&p);
    buf_put_u8(&p, setup);
    buf_put_u8(&p, (uint8_t)seed);
    uint32_t x = seed * 2654435761u + 1;
    for (int i = 0; i < 120; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        static const uint8_t ops[] = {FUZZ_CP_DELIVER, FUZZ_CP_DELIVER, FUZZ_CP_TICK,
                                      FUZZ_CP_SUBMIT, FUZZ_CP_SUBMIT, FUZZ_CP_DROP,
                                      FUZZ_CP_CUT, FUZZ_CP_REPLAY, FUZZ_CP_DELIVER,
                                      FUZZ_CP_TICK, FUZZ_CP_SUBMIT, FUZZ_CP_DROP,
                                      FUZZ_CP_REPLAY, FUZZ_CP_DELIVER, FUZZ_CP_TICK,
                                      FUZZ_CP_RESTART};
        uint8_t op = ops[x % sizeof ops];
        gen_step(&p, op, (uint8_t)(x >> 8), (uint8_t)(x >> 16));
        if (op == FUZZ_CP_DELIVER || op == FUZZ_CP_REPLAY)
            buf_put_u8(&p, (uint8_t)(x >> 24));
    }
    gen_write(dir, name, &p);
    buf_free(&p);
}

void gen_chainpaxos(const char *dir)
{
    static const char *const names[] = {
        [CHAIN_MSG_ACCEPT] = "seed-accept", [CHAIN_MSG_ACCEPT_ACK] = "seed-accept-ack",
        [CHAIN_MSG_FORWARD] = "seed-forward", [CHAIN_MSG_QUORUM_ACK] = "seed-quorum-ack",
        [CHAIN_MSG_PROGRESS] = "seed-progress", [CHAIN_MSG_PREPARE] = "seed-prepare-real",
        [CHAIN_MSG_PROMISE] = "seed-promise-real", [CHAIN_MSG_PROBE] = "seed-probe",
        [CHAIN_MSG_PROBE_REPLY] = "seed-probe-reply", [CHAIN_MSG_DURABLE] = "seed-durable-real"};
    struct gen_capture c;
    memset(&c, 0, sizeof c);
    gen_capture_run(&c);
    for (size_t t = 0; t <= CHAIN_MSG_DURABLE; t++) {
        if (c.msg[t].len > 0 && t < sizeof names / sizeof names[0] && names[t])
            gen_inject_seed(dir, names[t], &c.msg[t], c.to[t],
                            FUZZ_CP_SENDER_MEMBER(c.from[t], c.to[t], GEN_NODES));
        buf_free(&c.msg[t]);
    }
    gen_crafted(dir);
    gen_faults_seed(dir, "seed-faults-3", GEN_SETUP, 3);
    gen_faults_seed(dir, "seed-faults-5", FUZZ_CP_SETUP_FIVE | FUZZ_CP_SETUP_ROUNDS(2), 5);
    gen_faults_seed(dir, "seed-faults-durable",
                    FUZZ_CP_SETUP_DURABLE | FUZZ_CP_SETUP_ROUNDS(4), 7);
}
