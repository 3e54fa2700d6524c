/* ChainPaxos garbage collection, retransmission after loss, and determinism
 * (docs/protocols/chainpaxos.md §5.4-§5.6). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "chainpaxos_harness.h"

/* Submits `per_node` commands at every node (client chosen round-robin) and flushes them. */
static void load_round(struct cp_cluster *cl, size_t per_node, size_t round)
{
    for (size_t k = 0; k < cl->n; k++) {
        for (size_t c = 0; c < per_node; c++)
            cp_submit_next(cl, k, (round + c) % CP_CLIENTS);
        cp_flush(cl, k);
    }
}

static instance_no last_batch_instance(const struct cp_cluster *cl, size_t k)
{
    const struct cp_node *node = &cl->nodes[k];
    for (size_t j = node->exec_count; j > 0; j--)
        if (node->execs[j - 1].len)
            return node->execs[j - 1].instance;
    return 0;
}

/* ---- garbage collection -------------------------------------------------------------------- */

/* After the load stops: every batch is collected everywhere, and the log holds at most the
 * NOOPs of the last heartbeat round(s): the leader 1 instance, the others 2. (gc travels
 * piggybacked on the next ACCEPT, so a follower's horizon is always two instances behind the
 * latest NOOP; it cannot equal highest_executed while heartbeats flow.) */
static void check_idle_gc(const struct cp_cluster *cl)
{
    for (size_t k = 0; k < cl->n; k++) {
        struct engine_status st;
        cp_status(cl, k, &st);
        instance_no last_batch = last_batch_instance(cl, k);
        assert_true(last_batch > 0);
        assert_true(st.gc_horizon >= last_batch);
        assert_true(st.gc_horizon <= st.highest_executed);
        assert_true(st.highest_executed - st.gc_horizon <= 2);
        assert_true(st.log_instances <= (k == 0 ? 1u : 2u));
        assert_int_equal(st.highest_executed, cp_executed(cl, k));
        if (k == 0) {
            assert_int_equal(st.highest_acknowledged, st.highest_accepted);
            assert_int_equal(st.highest_executed, st.highest_accepted);
        }
    }
}

static void check_gc(size_t n, uint64_t seed)
{
    struct cp_cluster cl;
    cp_init(&cl, n, NULL, seed, NULL);
    assert_true(cp_elect(&cl, 1000));
    /* Many instances in flight at once, so the logs really grow before they shrink. */
    for (size_t round = 0; round < 60; round++) {
        load_round(&cl, 2, round);
        for (size_t d = 0; d < 5 && cp_deliver_one(&cl); d++)
            ;
    }
    struct engine_status st;
    cp_status(&cl, 1, &st);
    assert_true(st.log_instances > 20);
    cp_run(&cl);
    /* A few noop intervals of idleness. */
    cp_advance(&cl, 400);
    check_idle_gc(&cl);
    /* And it stays so: heartbeats do not make the logs grow. */
    for (int t = 0; t < 50; t++) {
        cp_advance(&cl, CP_TICK_MS);
        check_idle_gc(&cl);
    }
    for (size_t k = 0; k < n; k++)
        cp_check_commands(&cl, k);
    cp_free(&cl);
}

static void test_gc_idle_n3(void **state)
{
    (void)state;
    check_gc(3, 100);
}

static void test_gc_idle_n5(void **state)
{
    (void)state;
    check_gc(5, 101);
}

/* Two NOOPs at most follow the last batch (one carries its ack, one its gc); then only the
 * heartbeat, every noop_interval_ms. */
static void test_noops_after_batch(void **state)
{
    (void)state;
    struct engine_config tunables = {.noop_interval_ms = 10000}; /* no heartbeat here */
    struct cp_cluster cl;
    cp_init(&cl, 5, NULL, 102, &tunables);
    assert_true(cp_elect(&cl, 1000));
    cp_advance(&cl, 100);
    instance_no before = cp_executed(&cl, 0);
    cp_submit_next(&cl, 2, 0);
    cp_flush(&cl, 2);
    cp_run(&cl);
    cp_advance(&cl, 1000);
    struct engine_status st;
    cp_status(&cl, 0, &st);
    assert_int_equal(st.highest_accepted, before + 3); /* the batch and two NOOPs */
    for (size_t k = 0; k < 5; k++) {
        cp_status(&cl, k, &st);
        assert_true(st.gc_horizon >= before + 1); /* the batch is collected everywhere */
    }
    cp_free(&cl);
}

/* ---- loss and retransmission --------------------------------------------------------------- */

/* Drops the messages of `types` on link from -> to for `ms` under load, then heals. */
static void lossy_period(struct cp_cluster *cl, size_t from, size_t to, uint32_t types,
                         uint64_t ms, size_t round0)
{
    cl->links[from][to].drop_types = types;
    for (uint64_t t = 0; t < ms; t += CP_TICK_MS) {
        load_round(cl, 1, round0 + (size_t)(t / CP_TICK_MS));
        cp_advance(cl, CP_TICK_MS);
    }
    cl->links[from][to].drop_types = 0;
}

static void check_converged(const struct cp_cluster *cl)
{
    instance_no leader = cp_executed(cl, 0);
    for (size_t k = 0; k < cl->n; k++) {
        assert_true(cp_executed(cl, k) + 2 >= leader);
        assert_int_equal(cp_batches_executed(cl, k), cp_batches_executed(cl, 0));
        cp_check_commands(cl, k);
    }
}

static void check_loss_on_link(size_t from, size_t to, uint32_t types, uint64_t seed)
{
    struct cp_cluster cl;
    cp_init(&cl, 5, NULL, seed, NULL);
    assert_true(cp_elect(&cl, 1000));
    for (size_t r = 0; r < 10; r++) {
        load_round(&cl, 1, r);
        cp_advance(&cl, CP_TICK_MS);
    }
    lossy_period(&cl, from, to, types, 300, 10);
    assert_true(cl.links[from][to].dropped > 0);
    /* Also lose whatever was in flight when the link "broke". */
    cp_link_cut(&cl, from, to);
    cp_advance(&cl, 1500);
    check_converged(&cl);
    cp_free(&cl);
}

#define ACCEPTS (1u << CHAIN_MSG_ACCEPT)
#define ACKS (1u << CHAIN_MSG_ACCEPT_ACK)

static void test_loss_leader_to_first(void **state)
{
    (void)state;
    check_loss_on_link(0, 1, ACCEPTS, 200);
}

static void test_loss_middle_link(void **state)
{
    (void)state;
    check_loss_on_link(2, 3, ACCEPTS, 201);
}

static void test_loss_tail_ack(void **state)
{
    (void)state;
    /* Only the ACCEPT_ACKs: the FORWARDs of the tail's own clients share that link and the
     * engine does not resend FORWARDs (the client would retry). */
    check_loss_on_link(4, 0, ACKS, 202);
}

/* Lost ACCEPTs leave a gap downstream: the next ones are refused until the retransmission
 * fills it, so nothing executes out of order and the counters stay exact. */
static void test_gap_refused_then_filled(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 3, NULL, 203, NULL);
    assert_true(cp_elect(&cl, 1000));
    cp_advance(&cl, 300);
    cl.manual_flush = true;
    instance_no i = cp_executed(&cl, 0) + 1;
    cp_submit_next(&cl, 0, 0);
    cp_flush(&cl, 0);
    cp_link_cut(&cl, 0, 1); /* ACCEPT(i) lost */
    cp_submit_next(&cl, 0, 0);
    cp_flush(&cl, 0);
    struct engine_status st;
    cp_status(&cl, 1, &st);
    uint64_t dropped = st.messages_dropped;
    assert_true(cp_deliver_link(&cl, 0, 1)); /* ACCEPT(i + 1): a gap */
    cp_status(&cl, 1, &st);
    assert_int_equal(st.messages_dropped, dropped + 1);
    assert_int_equal(st.highest_accepted, i - 1);
    assert_false(cp_executed(&cl, 1) >= i);
    cl.manual_flush = false;
    cp_advance(&cl, 1000); /* leader's ack stalls; after retransmit_ms it resends i, i + 1 */
    check_converged(&cl);
    assert_true(cp_executed(&cl, 1) >= i + 1);
    cp_free(&cl);
}

/* Random loss on every chain link for a while (FORWARDs excepted), then healing. */
static void test_random_loss_everywhere(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 5, NULL, 204, NULL);
    assert_true(cp_elect(&cl, 1000));
    struct rng rng;
    rng_seed(&rng, 204);
    for (size_t r = 0; r < 100; r++) {
        for (size_t k = 0; k < 5; k++)
            cl.links[k][(k + 1) % 5].drop_types =
                rng_below(&rng, 3) == 0 ? (k == 4 ? ACKS : ACCEPTS) : 0;
        load_round(&cl, 1, r);
        for (size_t d = rng_below(&rng, 30); d > 0 && cp_deliver_one(&cl); d--)
            ;
        if (r % 3 == 0)
            cp_tick_all(&cl);
    }
    for (size_t k = 0; k < 5; k++)
        cl.links[k][(k + 1) % 5].drop_types = 0;
    cp_advance(&cl, 3000);
    check_converged(&cl);
    cp_free(&cl);
}

/* ---- determinism --------------------------------------------------------------------------- */

static void scenario(struct cp_cluster *cl, uint64_t seed)
{
    cp_init(cl, 5, NULL, seed, NULL);
    assert_true(cp_elect(cl, 1000));
    struct rng rng;
    rng_seed(&rng, seed + 1);
    for (size_t r = 0; r < 200; r++) {
        size_t k = (size_t)rng_below(&rng, 5);
        cp_submit_next(cl, k, rng_below(&rng, CP_CLIENTS));
        cp_flush(cl, k);
        cl->links[1][2].drop_types = r > 50 && r < 80 ? ACCEPTS : 0;
        for (size_t d = rng_below(&rng, 8); d > 0 && cp_deliver_one(cl); d--)
            ;
        if (r % 5 == 0)
            cp_tick_all(cl);
    }
    cp_advance(cl, 1000);
}

static void test_same_seed_same_trace(void **state)
{
    (void)state;
    static struct cp_cluster a, b, c;
    scenario(&a, 300);
    scenario(&b, 300);
    scenario(&c, 301);
    assert_true(a.trace.len > 0);
    assert_int_equal(a.trace.len, b.trace.len);
    assert_memory_equal(a.trace.data, b.trace.data, a.trace.len);
    /* The trace does depend on the seed (delivery order), so the comparison means something. */
    assert_false(a.trace.len == c.trace.len && !memcmp(a.trace.data, c.trace.data, a.trace.len));
    cp_free(&a);
    cp_free(&b);
    cp_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gc_idle_n3),
        cmocka_unit_test(test_gc_idle_n5),
        cmocka_unit_test(test_noops_after_batch),
        cmocka_unit_test(test_loss_leader_to_first),
        cmocka_unit_test(test_loss_middle_link),
        cmocka_unit_test(test_loss_tail_ack),
        cmocka_unit_test(test_gap_refused_then_filled),
        cmocka_unit_test(test_random_loss_everywhere),
        cmocka_unit_test(test_same_seed_same_trace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
