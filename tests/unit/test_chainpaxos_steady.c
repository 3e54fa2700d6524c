/* ChainPaxos in steady state: agreement and exactly-once ordered execution, batching, message
 * complexity and where decisions happen along the chain (docs/protocols/chainpaxos.md §5.2-§6). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "chainpaxos_harness.h"

#define CLIENTS 2
#define MAX_SEQ 1000

/* ---- agreement, exactly once, per-client order --------------------------------------------- */

struct exec_check {
    const struct cp_cluster *cl;
    uint64_t last_seq[CP_MAX_NODES][CLIENTS];
    size_t commands;
};

/* Runs commands as the state machine's session table does: a client's commands in order, each
 * once; a copy (an origin resubmits what it has not seen execute) or one that overtook an
 * earlier command (which must then come again) is skipped. */
static void exec_check_command(void *arg, instance_no i, const struct command_header *h)
{
    (void)i;
    struct exec_check *x = arg;
    size_t origin = cp_index(x->cl, h->origin);
    assert_true(h->client < CLIENTS && h->seq >= 1 && h->seq <= MAX_SEQ);
    if (h->seq != x->last_seq[origin][h->client] + 1)
        return;
    x->last_seq[origin][h->client] = h->seq;
    x->commands++;
}

/* Random load: commands at random nodes, flushes, partial deliveries, ticks. */
static void run_random_load(struct cp_cluster *cl, uint64_t seq[CP_MAX_NODES][CLIENTS],
                            size_t rounds, struct rng *rng)
{
    for (size_t r = 0; r < rounds; r++) {
        size_t k = (size_t)rng_below(rng, cl->n);
        size_t burst = 1 + (size_t)rng_below(rng, 4);
        for (size_t b = 0; b < burst; b++) {
            uint64_t client = rng_below(rng, CLIENTS);
            if (seq[k][client] < MAX_SEQ)
                cp_submit(cl, k, client, ++seq[k][client]);
        }
        cp_flush(cl, k);
        for (size_t d = rng_below(rng, 12); d > 0 && cp_deliver_one(cl); d--)
            ;
        if (rng_below(rng, 4) == 0)
            cp_tick_all(cl);
    }
}

static void check_steady_state(size_t n, uint64_t seed)
{
    struct cp_cluster cl;
    cp_init(&cl, n, NULL, seed, NULL);
    assert_true(cp_elect(&cl, 1000));
    struct rng rng;
    rng_seed(&rng, seed ^ 0x5eed);
    static uint64_t seq[CP_MAX_NODES][CLIENTS];
    memset(seq, 0, sizeof seq);
    run_random_load(&cl, seq, 1500, &rng);
    cp_advance(&cl, 1000);

    size_t submitted = 0;
    for (size_t k = 0; k < n; k++)
        for (size_t c = 0; c < CLIENTS; c++)
            submitted += seq[k][c];
    instance_no executed = cp_executed(&cl, 0);
    static struct exec_check x;
    for (size_t k = 0; k < n; k++) {
        /* Same instance sequence everywhere (payload agreement is checked on every EXECUTE),
         * give or take the last NOOPs still travelling towards the first chain positions. */
        assert_true(cp_executed(&cl, k) + 2 >= executed);
        assert_int_equal(cp_batches_executed(&cl, k), cp_batches_executed(&cl, 0));
        memset(&x, 0, sizeof x);
        x.cl = &cl;
        cp_for_each_command(&cl, k, exec_check_command, &x);
        /* Every command ran, once, in its client's order. */
        assert_int_equal(x.commands, submitted);
        for (size_t o = 0; o < n; o++)
            for (size_t c = 0; c < CLIENTS; c++)
                assert_int_equal(x.last_seq[o][c], seq[o][c]);
        assert_int_equal(cl.nodes[k].rejects, 0);
    }
    cp_free(&cl);
}

static void test_steady_state_n3(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++)
        check_steady_state(3, seed);
}

static void test_steady_state_n5(void **state)
{
    (void)state;
    for (uint64_t seed = 10; seed <= 12; seed++)
        check_steady_state(5, seed);
}

static void test_steady_state_n4(void **state)
{
    (void)state;
    check_steady_state(4, 20); /* even N: Q = 3 */
}

/* ---- batching ------------------------------------------------------------------------------ */

static uint32_t batch_count(const struct cp_cluster *cl, size_t k, size_t j)
{
    const struct cp_exec *x = &cl->nodes[k].execs[j];
    struct reader r = reader_make(cl->nodes[k].exec_data.data + x->offset, x->len);
    return reader_u32(&r);
}

static void test_batch_at_leader(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 3, NULL, 30, NULL);
    assert_true(cp_elect(&cl, 1000));
    cp_advance(&cl, 300);
    instance_no before = cp_executed(&cl, 0);
    for (uint64_t s = 1; s <= 100; s++)
        cp_submit(&cl, 0, s % CLIENTS, s);
    assert_int_equal(cp_in_flight(&cl), 0); /* nothing leaves before the flush */
    cp_flush(&cl, 0);
    cp_run(&cl);
    for (size_t k = 0; k < 3; k++) {
        assert_int_equal(cp_batches_executed(&cl, k), 1);
        /* Instance before + 1, holding all 100 records. */
        for (size_t j = 0; j < cl.nodes[k].exec_count; j++)
            if (cl.nodes[k].execs[j].len) {
                assert_int_equal(cl.nodes[k].execs[j].instance, before + 1);
                assert_int_equal(batch_count(&cl, k, j), 100);
            }
    }
    cp_free(&cl);
}

static void test_batch_at_follower(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 5, NULL, 31, NULL);
    assert_true(cp_elect(&cl, 1000));
    cp_advance(&cl, 300);
    for (uint64_t s = 1; s <= 100; s++)
        cp_submit(&cl, 3, s % CLIENTS, s);
    assert_int_equal(cp_in_flight(&cl), 0);
    cp_flush(&cl, 3);
    /* One FORWARD carries all of them, and the leader proposes them as one batch. */
    assert_int_equal(cl.nodes[3].sends[CHAIN_MSG_FORWARD], 1);
    assert_int_equal(cl.links[3][0].count, 1);
    cp_run(&cl);
    cp_advance(&cl, 200);
    for (size_t k = 0; k < 5; k++) {
        assert_int_equal(cp_batches_executed(&cl, k), 1);
        for (size_t j = 0; j < cl.nodes[k].exec_count; j++)
            if (cl.nodes[k].execs[j].len)
                assert_int_equal(batch_count(&cl, k, j), 100);
    }
    cp_free(&cl);
}

/* A batch is sealed early at max_batch_bytes, always on record boundaries. */
static void test_batch_sealed_at_max_bytes(void **state)
{
    (void)state;
    struct engine_config tunables = {.max_batch_bytes = 400};
    struct cp_cluster cl;
    cp_init(&cl, 3, NULL, 32, &tunables);
    assert_true(cp_elect(&cl, 1000));
    for (uint64_t s = 1; s <= 40; s++)
        cp_submit(&cl, 0, 0, s); /* records of ~45 bytes: 8 per batch */
    cp_flush(&cl, 0);
    cp_run(&cl);
    cp_advance(&cl, 200);
    size_t batches = cp_batches_executed(&cl, 1);
    assert_true(batches >= 5);
    for (size_t j = 0; j < cl.nodes[1].exec_count; j++)
        assert_true(cl.nodes[1].execs[j].len <= 400);
    static struct exec_check x;
    memset(&x, 0, sizeof x);
    x.cl = &cl;
    cp_for_each_command(&cl, 2, exec_check_command, &x);
    assert_int_equal(x.commands, 40);
    cp_free(&cl);
}

/* ---- message complexity -------------------------------------------------------------------- */

#define MAX_INSTANCES 2048

struct msg_count {
    size_t n;
    uint8_t kind[MAX_INSTANCES];
    unsigned accepts_from[MAX_INSTANCES][CP_MAX_NODES];
    unsigned acks_from[MAX_INSTANCES][CP_MAX_NODES];
};

static void count_hook(void *arg, size_t from, size_t to, const uint8_t *data, size_t len)
{
    (void)to;
    struct msg_count *mc = arg;
    struct chain_accept a;
    struct chain_accept_ack ack;
    if (chain_msg_decode_accept(data, len, &a)) {
        assert_true(a.instance < MAX_INSTANCES);
        mc->kind[a.instance] = a.value.kind;
        mc->accepts_from[a.instance][from]++;
    } else if (chain_msg_decode_accept_ack(data, len, &ack)) {
        assert_true(ack.instance < MAX_INSTANCES);
        mc->acks_from[ack.instance][from]++;
    }
}

static void test_message_complexity(void **state)
{
    (void)state;
    static struct msg_count mc;
    memset(&mc, 0, sizeof mc);
    struct cp_cluster cl;
    cp_init(&cl, 5, NULL, 40, NULL);
    cl.hook = count_hook;
    cl.hook_arg = &mc;
    assert_true(cp_elect(&cl, 1000));
    uint64_t seq[5] = {0};
    for (size_t round = 0; round < 150; round++) {
        for (size_t k = 0; k < 5; k++) {
            if ((round + k) % 3 == 0)
                continue;
            for (int c = 0; c < 3; c++)
                cp_submit(&cl, k, 0, ++seq[k]);
            cp_flush(&cl, k);
        }
        cp_run(&cl);
        if (round % 4 == 0)
            cp_advance(&cl, CP_TICK_MS);
    }
    cp_advance(&cl, 500);
    instance_no last = cp_executed(&cl, 0);
    assert_true(last > 100 && last < MAX_INSTANCES);
    size_t batches = 0, noops = 0;
    for (instance_no i = 1; i <= last; i++) {
        /* Every instance: one ACCEPT from each of positions 0..N-2 and one ACCEPT_ACK from the
         * tail (members[4]): N messages, one sent by every node. No retransmission. */
        for (size_t k = 0; k < 4; k++) {
            assert_int_equal(mc.accepts_from[i][k], 1);
            assert_int_equal(mc.acks_from[i][k], 0);
        }
        assert_int_equal(mc.accepts_from[i][4], 0);
        assert_int_equal(mc.acks_from[i][4], 1);
        if (mc.kind[i] == CHAIN_VALUE_BATCH)
            batches++;
        else
            noops++;
    }
    assert_true(batches >= 100);
    /* NOOPs: at most two after each idle point plus the heartbeats; far fewer than batches. */
    assert_true(noops < batches);
    size_t forwards = 0;
    for (size_t k = 0; k < 5; k++) {
        forwards += cl.nodes[k].sends[CHAIN_MSG_FORWARD];
        assert_int_equal(cl.nodes[k].sends[CHAIN_MSG_ACCEPT], k < 4 ? last : 0);
        assert_int_equal(cl.nodes[k].sends[CHAIN_MSG_ACCEPT_ACK], k == 4 ? last : 0);
    }
    assert_int_equal(cl.nodes[0].sends[CHAIN_MSG_FORWARD], 0);
    assert_true(forwards > 0);
    cp_free(&cl);
}

/* ---- where decisions happen ---------------------------------------------------------------- */

static bool executed_at(const struct cp_cluster *cl, size_t k, instance_no i)
{
    return cp_executed(cl, k) >= i;
}

/* N = 5, Q = 3, chain 1 2 3 4 5: position 2 (the Q-th node) decides on arrival, before the
 * leader; position 1 decides only when a later ACCEPT brings the ack. */
static void test_decision_point_n5(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 5, NULL, 50, NULL);
    assert_true(cp_elect(&cl, 1000));
    cp_advance(&cl, 500);
    cl.manual_flush = true;
    instance_no i = cp_executed(&cl, 0) + 1;
    /* Quiet: nothing in flight. Position 1 still lags by the last heartbeat NOOP, whose ack
     * has not travelled down the chain yet. */
    assert_int_equal(cp_in_flight(&cl), 0);
    for (size_t k = 0; k < 5; k++)
        assert_true(cp_executed(&cl, k) + (k == 1 ? 2 : 1) == i);
    cp_submit(&cl, 0, 0, 1);
    cp_flush(&cl, 0);
    assert_true(cp_deliver_link(&cl, 0, 1));
    assert_false(executed_at(&cl, 1, i)); /* counter 2 < Q */
    assert_true(cp_deliver_link(&cl, 1, 2));
    assert_true(executed_at(&cl, 2, i)); /* counter 3 = Q: chosen here */
    assert_false(executed_at(&cl, 0, i));
    assert_true(cp_deliver_link(&cl, 2, 3));
    assert_true(executed_at(&cl, 3, i));
    assert_true(cp_deliver_link(&cl, 3, 4));
    assert_true(executed_at(&cl, 4, i));
    assert_false(executed_at(&cl, 0, i));
    assert_true(cp_deliver_link(&cl, 4, 0)); /* ACCEPT_ACK */
    assert_true(executed_at(&cl, 0, i));
    assert_false(executed_at(&cl, 1, i));
    assert_int_equal(cp_in_flight(&cl), 0);
    /* Next tick: the leader holds an ack covering a batch it has not sent: a NOOP carries it. */
    cp_tick_all(&cl);
    assert_int_equal(cl.links[0][1].count, 1);
    assert_true(cp_deliver_link(&cl, 0, 1));
    assert_true(executed_at(&cl, 1, i));
    assert_false(executed_at(&cl, 1, i + 1));
    cp_free(&cl);
}

/* Three replicas, settled, flushed by hand from here on, and one command the leader has just
 * proposed (its ACCEPT is on the link to replica 2): returns its instance. */
static instance_no three_with_a_command_proposed(struct cp_cluster *cl, uint64_t seed)
{
    cp_init(cl, 3, NULL, seed, NULL);
    assert_true(cp_elect(cl, 1000));
    cp_advance(cl, 500);
    cl->manual_flush = true;
    instance_no i = cp_executed(cl, 0) + 1;
    cp_submit(cl, 0, 0, 1);
    cp_flush(cl, 0);
    return i;
}

/* N = 3, Q = 2: every follower decides on arrival. */
static void test_decision_point_n3(void **state)
{
    (void)state;
    struct cp_cluster cl;
    instance_no i = three_with_a_command_proposed(&cl, 51);
    assert_true(cp_deliver_link(&cl, 0, 1));
    assert_true(executed_at(&cl, 1, i));
    assert_false(executed_at(&cl, 0, i));
    assert_true(cp_deliver_link(&cl, 1, 2));
    assert_true(executed_at(&cl, 2, i));
    assert_true(cp_deliver_link(&cl, 2, 0));
    assert_true(executed_at(&cl, 0, i));
    cp_free(&cl);
}

/* A replica that executed further in an older ballot reports that, while the new leader has
 * proposed less: the leader decides what it has proposed (dropping the report stalled a
 * leader held by the stop rule, operator seed 936036). */
static void test_quorum_ack_beyond_the_leaders_proposals(void **state)
{
    (void)state;
    struct cp_cluster cl;
    instance_no i = three_with_a_command_proposed(&cl, 52);
    assert_false(executed_at(&cl, 0, i));
    struct engine_status st;
    cp_status(&cl, 0, &st);
    struct chain_quorum_ack q = {.ballot = st.ballot, .instance = i + 100};
    struct buf msg;
    buf_init(&msg);
    chain_msg_put_quorum_ack(&msg, &q);
    cp_inject(&cl, 0, cl.nodes[1].id, &msg);
    assert_true(executed_at(&cl, 0, i));
    assert_int_equal(cp_executed(&cl, 0), i);
    cp_free(&cl);
}

/* Flow control: while the batches the leader proposed above the whole chain's ack hold
 * max_window_bytes, new commands wait in its pending batch; they go out, in one bigger batch,
 * once the ack moves (docs/protocols/chainpaxos.md §5.2). Here the tail's acks are lost. */
static void test_window_holds_batches_until_acked(void **state)
{
    (void)state;
    struct cp_cluster cl;
    struct engine_config tunables = {.max_window_bytes = 1000};
    cp_init(&cl, 3, NULL, 31, &tunables);
    assert_true(cp_elect(&cl, 1000));
    cp_advance(&cl, 300);
    size_t start = cp_batches_executed(&cl, 1);
    cl.links[2][0].drop_types = 1u << CHAIN_MSG_ACCEPT_ACK;
    for (int round = 0; round < 60; round++) { /* one batch per round while the window is open */
        cp_submit_next(&cl, 0, 0);
        cp_end_iteration(&cl, 0);
        cp_run(&cl);
    }
    size_t proposed = cp_batches_executed(&cl, 1) - start; /* decided at the quorum point */
    assert_true(proposed >= 5 && proposed < 30);
    cl.links[2][0].drop_types = 0;
    cp_advance(&cl, 1000); /* resends bring the acks; the held commands follow */
    assert_int_equal(cp_batches_executed(&cl, 1) - start, proposed + 1);
    cp_check_commands(&cl, 2);
    cp_free(&cl);
}

/* While a member waits for its state the ack stands at its ADD, and the window counts the
 * batches not decided instead: decisions go on, but a quorum that stops answering (here the
 * quorum point's ACCEPTs are lost) still holds the leader's batches back. Left open, the window
 * let a leader under a bulk load queue without bound. */
static void test_window_counts_undecided_while_a_joiner_waits(void **state)
{
    (void)state;
    struct cp_cluster cl;
    struct engine_config tunables = {.max_window_bytes = 1000};
    cp_init(&cl, 4, NULL, 32, &tunables);
    assert_true(cp_elect(&cl, 1000));
    cp_advance(&cl, 300);
    cp_readd_waiting(&cl, 3);
    assert_int_equal(cl.nodes[2].snapshot_for, cl.nodes[3].id);
    size_t start = cp_batches_executed(&cl, 0);
    for (int round = 0; round < 60; round++) {
        cp_submit_next(&cl, 0, 0);
        cp_end_iteration(&cl, 0);
        cp_run(&cl);
    }
    assert_int_equal(cp_batches_executed(&cl, 0) - start, 60); /* the ack never moved */
    cl.links[1][2].drop_types = 1u << CHAIN_MSG_ACCEPT;
    for (int round = 0; round < 60; round++) {
        cp_submit_next(&cl, 0, 0);
        cp_end_iteration(&cl, 0);
        cp_run(&cl);
    }
    struct engine_status st;
    cp_status(&cl, 0, &st);
    instance_no waiting = st.highest_accepted - st.highest_executed;
    assert_true(waiting >= 5 && waiting < 30);
    cp_free(&cl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steady_state_n3),
        cmocka_unit_test(test_steady_state_n5),
        cmocka_unit_test(test_steady_state_n4),
        cmocka_unit_test(test_batch_at_leader),
        cmocka_unit_test(test_batch_at_follower),
        cmocka_unit_test(test_batch_sealed_at_max_bytes),
        cmocka_unit_test(test_message_complexity),
        cmocka_unit_test(test_decision_point_n5),
        cmocka_unit_test(test_decision_point_n3),
        cmocka_unit_test(test_quorum_ack_beyond_the_leaders_proposals),
        cmocka_unit_test(test_window_holds_batches_until_acked),
        cmocka_unit_test(test_window_counts_undecided_while_a_joiner_waits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
