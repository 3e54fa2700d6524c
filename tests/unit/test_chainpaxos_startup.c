/* ChainPaxos start-up: phase 1 by the first member (docs/protocols/chainpaxos.md §5.1). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "chainpaxos_harness.h"

/* Every node follows members[0], which leads with ballot (1, members[0]); nothing else. */
static void check_elected(const struct cp_cluster *cl)
{
    node_id first = cl->nodes[0].id;
    for (size_t k = 0; k < cl->n; k++) {
        struct engine_status st;
        cp_status(cl, k, &st);
        assert_string_equal(st.role, k == 0 ? "leader" : "follower");
        assert_int_equal(st.leader, first);
        assert_int_equal(cl->nodes[k].leader, first);
        /* One leader change each: from none to members[0]. */
        assert_int_equal(cl->nodes[k].leader_effects, 1);
        assert_int_equal(st.ballot.node, first);
        assert_int_equal(st.chain[0], first);
        assert_int_equal(st.chain_length, cl->n);
        /* The leader ignores the promises that arrive after it won: at most N - Q. */
        assert_true(st.messages_dropped <= (k == 0 ? cl->n - (cl->n / 2 + 1) : 0));
    }
}

static void elect_n(size_t n, uint64_t seed)
{
    struct cp_cluster cl;
    cp_init(&cl, n, NULL, seed, NULL);
    assert_true(cp_elect(&cl, 1000));
    check_elected(&cl);
    /* Phase 1 only: N - 1 PREPAREs out, N - 1 PROMISEs back, no rejection. */
    assert_int_equal(cl.nodes[0].sends[CHAIN_MSG_PREPARE], n - 1);
    for (size_t k = 1; k < n; k++) {
        assert_int_equal(cl.nodes[k].sends[CHAIN_MSG_PROMISE], 1);
        assert_int_equal(cl.nodes[k].sends[CHAIN_MSG_REJECT_PREPARE], 0);
    }
    struct engine_status st;
    cp_status(&cl, 0, &st);
    assert_int_equal(st.ballot.round, 1);
    cp_free(&cl);
}

static void test_elects_first_member_n3(void **state)
{
    (void)state;
    elect_n(3, 1);
}

static void test_elects_first_member_n5(void **state)
{
    (void)state;
    elect_n(5, 2);
}

/* N = 1: the single member promises itself (Q = 1), leads on its first tick, and decides its
 * own proposals at once (leader and tail at the same time). */
static void test_single_member(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 1, NULL, 3, NULL);
    cp_tick_all(&cl);
    struct engine_status st;
    cp_status(&cl, 0, &st);
    assert_string_equal(st.role, "leader");
    assert_int_equal(st.leader, 1);
    assert_int_equal(cl.nodes[0].leader, 1);
    for (uint64_t s = 1; s <= 5; s++)
        cp_submit(&cl, 0, 7, s);
    cp_flush(&cl, 0);
    /* Decided within the FLUSH step itself: nothing goes through the (empty) network. */
    assert_int_equal(cp_in_flight(&cl), 0);
    assert_int_equal(cp_batches_executed(&cl, 0), 1);
    cp_advance(&cl, 500);
    cp_status(&cl, 0, &st);
    assert_int_equal(st.highest_executed, cp_executed(&cl, 0));
    assert_true(st.log_instances <= 1);
    assert_int_equal(cl.nodes[0].sends[CHAIN_MSG_ACCEPT], 0);
    cp_free(&cl);
}

/* The first PREPAREs are lost (peers "not up yet"): the candidate resends every retransmit_ms
 * and wins once they get through. */
static void test_prepare_retransmitted(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 5, NULL, 4, NULL);
    for (size_t k = 1; k < 5; k++)
        cl.links[0][k].drop = true;
    cp_advance(&cl, 450); /* first PREPARE plus two resends, all lost */
    struct engine_status st;
    cp_status(&cl, 0, &st);
    assert_string_equal(st.role, "candidate");
    assert_int_equal(cl.nodes[0].sends[CHAIN_MSG_PREPARE], 12);
    for (size_t k = 1; k < 5; k++) {
        assert_int_equal(cl.nodes[k].leader, NODE_NONE);
        cl.links[0][k].drop = false;
    }
    assert_true(cp_elect(&cl, 1000));
    check_elected(&cl);
    cp_free(&cl);
}

/* Only some PREPAREs are lost: the candidate wins with a quorum, and the resend reaches the
 * remaining members, which then follow it too. */
static void test_prepare_partially_lost(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 5, NULL, 5, NULL);
    cl.links[0][3].drop = true;
    cl.links[0][4].drop = true;
    cp_advance(&cl, 50);
    struct engine_status st;
    cp_status(&cl, 0, &st);
    assert_string_equal(st.role, "leader"); /* 3 promises of 5: Q */
    assert_int_equal(cl.nodes[3].leader, NODE_NONE);
    cl.links[0][3].drop = false;
    cl.links[0][4].drop = false;
    /* The winner no longer resends PREPARE: the others learn the leader from its ACCEPTs (the
     * idle heartbeat NOOP). */
    cp_advance(&cl, 300);
    for (size_t k = 0; k < 5; k++)
        assert_int_equal(cl.nodes[k].leader, 1);
    /* PREPAREs were lost, not ACCEPTs: the chain reached everyone all along. */
    for (size_t k = 1; k < 5; k++)
        assert_true(cp_executed(&cl, k) + 2 >= cp_executed(&cl, 0));
    cp_free(&cl);
}

/* Ids need not be 1..N nor sorted: the chain follows the configured order. */
static void test_arbitrary_ids(void **state)
{
    (void)state;
    node_id ids[4] = {9, 2, 64, 17};
    struct cp_cluster cl;
    cp_init(&cl, 4, ids, 6, NULL);
    assert_true(cp_elect(&cl, 1000));
    check_elected(&cl);
    struct engine_status st;
    cp_status(&cl, 2, &st);
    for (size_t k = 0; k < 4; k++)
        assert_int_equal(st.chain[k], ids[k]);
    cp_submit(&cl, 3, 1, 1);
    cp_flush(&cl, 3);
    cp_advance(&cl, 300);
    for (size_t k = 0; k < 4; k++)
        assert_int_equal(cp_batches_executed(&cl, k), 1);
    cp_free(&cl);
}

/* Commands submitted before any leader is known are kept, then forwarded and executed. */
static void test_commands_before_leader(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 3, NULL, 7, NULL);
    for (size_t k = 0; k < 3; k++) {
        cp_submit(&cl, k, 1, 1);
        cp_submit(&cl, k, 1, 2);
        cp_flush(&cl, k);
    }
    assert_int_equal(cp_in_flight(&cl), 0);
    assert_true(cp_elect(&cl, 1000));
    for (size_t k = 0; k < 3; k++)
        cp_flush(&cl, k);
    cp_advance(&cl, 300);
    for (size_t k = 0; k < 3; k++)
        assert_true(cp_batches_executed(&cl, k) >= 1);
    size_t total = 0;
    for (size_t j = 0; j < cl.nodes[1].exec_count; j++)
        if (cl.nodes[1].execs[j].len)
            total += cl.nodes[1].exec_data.data[cl.nodes[1].execs[j].offset]; /* count, LE */
    assert_int_equal(total, 6);
    cp_free(&cl);
}

/* Invalid configurations are refused, not asserted on. */
static void test_invalid_config(void **state)
{
    (void)state;
    struct engine_config c = {.self = 1, .member_count = 0};
    assert_null(chainpaxos_engine_ops.create(&c));
    c = (struct engine_config){.self = 4, .members = {1, 2, 3}, .member_count = 3};
    assert_null(chainpaxos_engine_ops.create(&c));
    c = (struct engine_config){.self = 1, .members = {1, 2, 1}, .member_count = 3};
    assert_null(chainpaxos_engine_ops.create(&c));
    c = (struct engine_config){.self = 1, .members = {1, 0, 3}, .member_count = 3};
    assert_null(chainpaxos_engine_ops.create(&c));
    c = (struct engine_config){.self = 1, .members = {1}, .member_count = CATENA_MAX_NODES + 1};
    assert_null(chainpaxos_engine_ops.create(&c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elects_first_member_n3),
        cmocka_unit_test(test_elects_first_member_n5),
        cmocka_unit_test(test_single_member),
        cmocka_unit_test(test_prepare_retransmitted),
        cmocka_unit_test(test_prepare_partially_lost),
        cmocka_unit_test(test_arbitrary_ids),
        cmocka_unit_test(test_commands_before_leader),
        cmocka_unit_test(test_invalid_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
