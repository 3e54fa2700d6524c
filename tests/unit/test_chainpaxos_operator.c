/* Operators' membership changes taken by a follower reach the leader even when the first
 * CHANGE_REQUEST is lost, and a removed replica tells its clients that what it had in flight
 * has an unknown outcome (docs/protocols/chainpaxos-membership.md §6.5, §3.3). How failure
 * detection meets those changes: removals that keep a heard majority, suspicions that a change
 * makes stale, members that restarted without their state (§3). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "chainpaxos_harness.h"

/* An operator's REMOVE of `node` handed to node k (as CATENA.REMOVE does). */
static void operator_remove(struct cp_cluster *cl, size_t k, node_id node)
{
    cp_operator_change(cl, k, ENGINE_CHANGE_REMOVE, node);
}

static size_t chain_length(const struct cp_cluster *cl, size_t k)
{
    struct engine_status st;
    cp_status(cl, k, &st);
    return st.chain_length;
}

static void test_lost_change_request_is_resent(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 3, NULL, 71, NULL);
    assert_true(cp_elect(&cl, 1000));
    cp_advance(&cl, 300);
    operator_remove(&cl, 1, cl.nodes[2].id);
    /* The follower's CHANGE_REQUEST to the leader is lost. */
    assert_true(cl.links[1][0].count >= 1);
    cp_link_cut(&cl, 1, 0);
    cp_advance(&cl, 2000);
    assert_int_equal(chain_length(&cl, 0), 2);
    assert_int_equal(chain_length(&cl, 1), 2);
    cp_free(&cl);
}

static void test_change_waits_for_a_leader(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 3, NULL, 72, NULL);
    /* Taken before any leader is known: it goes to the first one. */
    operator_remove(&cl, 1, cl.nodes[2].id);
    assert_true(cp_elect(&cl, 1000));
    cp_advance(&cl, 2000);
    assert_int_equal(chain_length(&cl, 0), 2);
    cp_free(&cl);
}

static void test_removed_replica_abandons_its_commands(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 3, NULL, 73, NULL);
    assert_true(cp_elect(&cl, 1000));
    cp_advance(&cl, 300);
    /* Node 2's commands do not reach the leader (the FORWARD is lost), and the chain goes
     * around node 2 while its removal is decided: it learns of it only later (NOT_MEMBER). */
    for (uint64_t seq = 1; seq <= 5; seq++)
        cp_submit(&cl, 2, 0, seq);
    cp_flush(&cl, 2);
    cp_link_cut(&cl, 2, 0);
    operator_remove(&cl, 0, cl.nodes[2].id);
    for (int t = 0; t < 300 && chain_length(&cl, 2) > 0; t++)
        cp_advance(&cl, CP_TICK_MS);
    assert_int_equal(chain_length(&cl, 2), 0);
    assert_int_equal(cl.nodes[2].abandoned, 5);
    assert_int_equal(cl.nodes[2].rejects, 0);
    cp_free(&cl);
}

static bool in_chain(const struct cp_cluster *cl, size_t k, node_id id)
{
    struct engine_status st;
    cp_status(cl, k, &st);
    for (size_t m = 0; m < st.chain_length; m++)
        if (st.chain[m] == id)
            return true;
    return false;
}

/* Removing a live member while another is silent would leave a configuration whose majority
 * needs the silent one, and nothing could be decided again: the leader refuses the operator's
 * REMOVE and failure detection removes the silent member instead (membership §3.2). Without
 * the check the leader ends up alone, or with the silent member only. */
static void test_removal_keeps_a_heard_majority(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 3, NULL, 74, NULL);
    assert_true(cp_elect(&cl, 1000));
    cp_advance(&cl, 300);
    for (size_t k = 0; k < 2; k++)
        cl.links[2][k].drop = cl.links[k][2].drop = true;
    cp_advance(&cl, 1000); /* silent for more than suspect_ms */
    operator_remove(&cl, 0, cl.nodes[1].id);
    cp_advance(&cl, 3000);
    assert_int_equal(chain_length(&cl, 0), 2);
    assert_true(in_chain(&cl, 0, cl.nodes[1].id));
    assert_false(in_chain(&cl, 0, cl.nodes[2].id));
    instance_no before = cp_executed(&cl, 1);
    for (uint64_t seq = 1; seq <= 5; seq++)
        cp_submit(&cl, 0, 0, seq);
    cp_flush(&cl, 0);
    cp_advance(&cl, 500);
    assert_true(cp_executed(&cl, 1) > before);
    cp_free(&cl);
}

/* Four replicas led by the first, of which the third dies: the second skips it, reports it,
 * and the leader removes it. `lost_reports`: the second's REMOVE_REQUESTs are lost for that
 * long first. Returns whether the leader still leads, with the dead replica out of its chain
 * and the ack caught up. */
static bool dead_third_of_four_removed(uint64_t seed, uint64_t lost_reports)
{
    struct cp_cluster cl;
    cp_init(&cl, 4, NULL, seed, NULL);
    assert_true(cp_elect(&cl, 1000));
    cp_advance(&cl, 300);
    for (size_t k = 0; k < cl.n; k++)
        cl.links[2][k].drop = cl.links[k][2].drop = true;
    if (lost_reports) {
        cl.links[1][0].drop_types = 1u << CHAIN_MSG_REMOVE_REQUEST;
        cp_advance(&cl, lost_reports);
        assert_true(cl.links[1][0].dropped > 0);
        assert_true(in_chain(&cl, 0, cl.nodes[2].id));
        cl.links[1][0].drop_types = 0;
    }
    cp_advance(&cl, 1500);
    struct engine_status st;
    cp_status(&cl, 0, &st);
    bool done = strcmp(st.role, "leader") == 0 && !in_chain(&cl, 0, cl.nodes[2].id) &&
                st.highest_acknowledged == st.highest_accepted;
    cp_free(&cl);
    return done;
}

/* The REMOVE of a suspect that a replica skips is bypassed: the skip no longer counts it. It
 * did, and the member after the suspect was skipped too; in a chain of four the REMOVE then
 * reached two members of four, and only an election decided it (membership §4). */
static void test_a_dead_member_of_four_is_removed_by_its_leader(void **state)
{
    (void)state;
    assert_true(dead_third_of_four_removed(81, 0));
}

/* A replica that skips a suspect repeats its report until the suspect's removal is in the
 * log: nobody watches a skipped member, so one lost REMOVE_REQUEST left it skipped for good,
 * and the ack, which needs every member, stuck (membership §3; simulator, durable profile,
 * seed 760918 with --nodes mix). */
static void test_a_lost_report_is_repeated(void **state)
{
    (void)state;
    assert_true(dead_third_of_four_removed(81, 1500));
}

/* Four replicas led by the first, with an operator's REMOVE of the fourth just proposed: the
 * stop rule holds every other change until it is decided. Returns the leader's membership
 * changes before it. */
static size_t four_with_a_removal_in_flight(struct cp_cluster *cl, uint64_t seed)
{
    cp_init(cl, 4, NULL, seed, NULL);
    assert_true(cp_elect(cl, 1000));
    cp_advance(cl, 1000);
    size_t changes = cl->nodes[0].membership_changes;
    operator_remove(cl, 0, cl->nodes[3].id);
    return changes;
}

/* A suspicion the stop rule held while a change was pending is of the chain before that
 * change: when the change executes the leader forgets it, and monitoring reports a real
 * suspect again. Proposed late, it removed a live member (simulator, crashes profile, seed
 * 914937). */
static void test_change_makes_a_suspicion_stale(void **state)
{
    (void)state;
    struct cp_cluster cl;
    size_t changes = four_with_a_removal_in_flight(&cl, 75);
    struct buf msg;
    buf_init(&msg);
    chain_msg_put_remove_request(&msg, cl.nodes[2].id);
    cp_inject(&cl, 0, cl.nodes[1].id, &msg); /* node 2 is suspected, but it is fine */
    cp_end_iteration(&cl, 0);
    cp_advance(&cl, 300);
    assert_int_equal(cl.nodes[0].membership_changes, changes + 1);
    assert_true(in_chain(&cl, 0, cl.nodes[2].id));
    assert_false(in_chain(&cl, 0, cl.nodes[3].id));
    cp_free(&cl);
}

/* A JOIN from a member says it restarted without its state, as surely as a broken link: the
 * replica before it goes around it after retransmit_ms, not after suspect_ms of silence. Here
 * the chain must get past it to decide a pending change, and until that change is decided
 * nothing removes the restarted member (simulator, crashes profile, seed 909093: two members
 * restarted in a row held every new leader's recovery for seconds). */
static void test_join_from_a_member_is_a_failure(void **state)
{
    (void)state;
    struct cp_cluster cl;
    size_t changes = four_with_a_removal_in_flight(&cl, 76);
    cp_deliver_link(&cl, 0, 1); /* the REMOVE reaches node 1; then node 2 crashes */
    for (size_t k = 0; k < cl.n; k++)
        cl.links[2][k].drop = cl.links[k][2].drop = true;
    cp_link_cut(&cl, 1, 2);
    static const uint8_t address[] = "127.0.0.1:7003";
    struct chain_change join = {.op = CHAIN_OP_ADD, .node = cl.nodes[2].id, .address = address,
                                .address_len = sizeof address - 1};
    struct buf msg;
    buf_init(&msg);
    chain_msg_put_change_request(&msg, &join);
    cp_inject(&cl, 1, cl.nodes[2].id, &msg); /* it restarted without its state */
    cp_end_iteration(&cl, 1);
    uint64_t start = cl.now_ms;
    while (cl.nodes[0].membership_changes == changes && cl.now_ms - start < 2000)
        cp_advance(&cl, CP_TICK_MS);
    assert_true(cl.nodes[0].membership_changes > changes);
    assert_true(cl.now_ms - start < 3 * CHAINPAXOS_DEFAULT_RETRANSMIT_MS);
    cp_free(&cl);
}

/* A candidate refused with the ballot of a member whose removal it accepted cannot follow that
 * ballot (the others refuse its node, membership §2), and resending its own, lower one cannot
 * win: at its next resend it runs again above it (simulator, durable-reorder profile, seed
 * 981415: the refused candidate retried for seconds while the removed member kept one voter). */
static void test_outbid_by_a_removed_member_runs_above_it(void **state)
{
    (void)state;
    struct cp_cluster cl;
    four_with_a_removal_in_flight(&cl, 77);
    assert_true(cp_deliver_link(&cl, 0, 1)); /* node 1 accepts the REMOVE of node 3 */
    for (size_t k = 0; k < cl.n; k++) /* nodes 0 and 1 cut off: node 1 runs */
        for (size_t other = 0; other < 2; other++)
            cl.links[other][k].drop = cl.links[k][other].drop = true;
    struct engine_status st;
    uint64_t start = cl.now_ms;
    do {
        cp_advance(&cl, CP_TICK_MS);
        cp_status(&cl, 1, &st);
    } while (strcmp(st.role, "candidate") != 0 && cl.now_ms - start < 3000);
    assert_string_equal(st.role, "candidate");
    struct ballot mine = st.ballot;
    struct chain_reject refusal = {
        .refused = mine, .promised = {.round = mine.round + 1, .node = cl.nodes[3].id}};
    struct buf msg;
    buf_init(&msg);
    chain_msg_put_reject(&msg, &refusal);
    cp_inject(&cl, 1, cl.nodes[2].id, &msg);
    cp_end_iteration(&cl, 1);
    cp_status(&cl, 1, &st);
    assert_string_equal(st.role, "candidate"); /* it does not yield to node 3 */
    cp_advance(&cl, CHAINPAXOS_DEFAULT_RETRANSMIT_MS + CP_TICK_MS);
    cp_status(&cl, 1, &st);
    assert_string_equal(st.role, "candidate");
    assert_int_equal(st.ballot.round, mine.round + 2);
    assert_int_equal(st.ballot.node, cl.nodes[1].id);
    cp_free(&cl);
}

/* A JOIN from node k, as the leader (node 0) gets it. */
static void join_from(struct cp_cluster *cl, size_t k)
{
    struct engine_config own;
    cp_config_self(&own, cl->nodes[k].id);
    struct chain_change join = {.op = CHAIN_OP_ADD, .node = own.self,
                                .address = (const uint8_t *)own.self_address,
                                .address_len = strlen(own.self_address)};
    struct buf msg;
    buf_init(&msg);
    chain_msg_put_change_request(&msg, &join);
    cp_inject(cl, 0, own.self, &msg);
    cp_end_iteration(cl, 0);
}

/* A replica just added sends JOINs until its state arrives, which under a bulk load took
 * longer than 2 s: those JOINs are not taken for a restart while the chain's ack has not passed
 * its ADD, nor for 2 × leader_timeout_ms after it did (they may still be on their way). After
 * that, a JOIN means it restarted: it is removed (membership §6.2). */
static void test_joins_before_the_state_are_no_restart(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 4, NULL, 78, NULL);
    assert_true(cp_elect(&cl, 1000));
    cp_advance(&cl, 1000);
    cp_readd_waiting(&cl, 3);
    assert_true(in_chain(&cl, 0, cl.nodes[3].id));
    size_t changes = cl.nodes[0].membership_changes;
    cp_advance(&cl, 3000); /* 5 s after its ADD, still without its state */
    join_from(&cl, 3);
    cp_advance(&cl, 500);
    cp_hand_snapshot(&cl, 2);
    cp_advance(&cl, 100);
    join_from(&cl, 3); /* sent before the state arrived */
    cp_advance(&cl, 500);
    assert_int_equal(cl.nodes[0].membership_changes, changes);
    assert_int_equal(cp_executed(&cl, 3), cp_executed(&cl, 0));
    cp_advance(&cl, 2 * CHAINPAXOS_DEFAULT_LEADER_TIMEOUT_MS);
    join_from(&cl, 3); /* it restarted */
    cp_advance(&cl, 300);
    assert_true(cl.nodes[0].membership_changes > changes); /* its REMOVE (and maybe ADD) */
    cp_free(&cl);
}

/* A leader elected while a joiner waits for its state rotates the chain: the joiner is no
 * longer the tail, and its successor (the old leader) lacks the instances the state covers
 * that the ack has not passed, the ADD among them. The joiner holds them only as state, so
 * its predecessor sends them after the state for the joiner to pass on. Left out, the
 * successor starved: the leader, before the quorum point, skips resends while decisions
 * advance (core §5.6; simulator, operator profile, seed 741626 with --nodes mix). */
static void test_a_joiner_in_the_middle_passes_on_what_its_state_covers(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init_with_joiner(&cl, 3, 79, 2);
    assert_int_equal(cl.nodes[1].snapshot_for, cl.nodes[2].id);
    /* Node 1 stops hearing node 0's ACCEPTs and takes over: the chain is 1, 2, 0. */
    cl.links[0][1].drop_types = 1u << CHAIN_MSG_ACCEPT;
    uint64_t start = cl.now_ms;
    while (cl.nodes[0].leader != cl.nodes[1].id && cl.now_ms - start < 5000)
        cp_advance(&cl, CP_TICK_MS);
    assert_int_equal(cl.nodes[0].leader, cl.nodes[1].id);
    cl.links[0][1].drop_types = 0;
    struct engine_status st;
    cp_status(&cl, 1, &st);
    assert_int_equal(st.chain[1], cl.nodes[2].id);
    size_t leader_effects = cl.nodes[0].leader_effects;

    cp_hand_snapshot(&cl, 1);
    cp_advance(&cl, 300); /* less than a leader timeout */
    assert_int_equal(cp_executed(&cl, 0), cp_executed(&cl, 1));
    assert_int_equal(cp_executed(&cl, 2), cp_executed(&cl, 1));
    assert_int_equal(cl.nodes[0].leader_effects, leader_effects);
    cp_status(&cl, 1, &st);
    assert_int_equal(st.highest_acknowledged, st.highest_accepted);
    cp_free(&cl);
}

/* While a joiner waits for its state, no other replica is added: with two members without
 * their state a configuration of four had no majority left once power failed everywhere
 * (simulator, operator profile, seed 741425 with --nodes mix). The second joins once the first
 * has its state (membership §6.2). */
static void test_one_joiner_at_a_time(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init_with_joiner(&cl, 5, 80, 4);
    node_id first = cl.nodes[4].id, second = cl.nodes[1].id;
    assert_true(in_chain(&cl, 0, first));
    operator_remove(&cl, 0, second);
    cp_advance(&cl, 500);
    assert_false(in_chain(&cl, 0, second));
    cp_operator_change(&cl, 0, ENGINE_CHANGE_ADD, second);
    cp_advance(&cl, 3000); /* three of its JOINs */
    assert_false(in_chain(&cl, 0, second));
    /* The first gets its state (the removal changed the configuration: a new snapshot). */
    for (int tries = 0; tries < 3 && cl.nodes[3].snapshot_for == first; tries++) {
        cp_hand_snapshot(&cl, 3);
        cp_advance(&cl, 100);
    }
    assert_int_equal(cp_executed(&cl, 4), cp_executed(&cl, 0));
    cp_advance(&cl, 2000);
    assert_true(in_chain(&cl, 0, second));
    cp_free(&cl);
}

/* A joiner writes the state it got to disk before it sends anything more, and under the 5M-key
 * load its predecessor had it removed for that silence. The predecessor allows it suspect_ms
 * plus the write at 100 MB/s: for 30 MB, 900 ms (membership §3.2). */
static void test_a_joiner_writing_its_state_is_not_suspected(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init_with_joiner(&cl, 3, 82, 2);
    node_id joiner = cl.nodes[2].id;
    size_t len = 30u << 20;
    uint8_t *bytes = calloc(len, 1);
    assert_non_null(bytes);
    cp_hand_snapshot_of(&cl, 1, bytes, len);
    cp_run(&cl); /* every part pulled, at once */
    free(bytes);
    struct engine_status st;
    cp_status(&cl, 2, &st);
    assert_string_equal(st.membership, "member");
    for (size_t k = 0; k < cl.n; k++) /* silent from here on */
        cl.links[2][k].drop = true;
    cp_advance(&cl, 800);
    assert_true(in_chain(&cl, 0, joiner));
    cp_advance(&cl, 1500);
    assert_false(in_chain(&cl, 0, joiner)); /* a joiner that died is still removed */
    cp_free(&cl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lost_change_request_is_resent),
        cmocka_unit_test(test_change_waits_for_a_leader),
        cmocka_unit_test(test_removed_replica_abandons_its_commands),
        cmocka_unit_test(test_removal_keeps_a_heard_majority),
        cmocka_unit_test(test_a_dead_member_of_four_is_removed_by_its_leader),
        cmocka_unit_test(test_a_lost_report_is_repeated),
        cmocka_unit_test(test_change_makes_a_suspicion_stale),
        cmocka_unit_test(test_join_from_a_member_is_a_failure),
        cmocka_unit_test(test_outbid_by_a_removed_member_runs_above_it),
        cmocka_unit_test(test_joins_before_the_state_are_no_restart),
        cmocka_unit_test(test_a_joiner_in_the_middle_passes_on_what_its_state_covers),
        cmocka_unit_test(test_one_joiner_at_a_time),
        cmocka_unit_test(test_a_joiner_writing_its_state_is_not_suspected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
