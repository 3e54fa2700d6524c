/* ChainPaxos phase 1 with values to recover (docs/protocols/chainpaxos.md §5.1).
 *
 * The tests play an earlier leader: they inject ACCEPTs of ballot (1, id 3) into one replica.
 * The first member's PREPARE is then refused with that ballot; it yields to it (follows it
 * instead of duelling), runs again after the election timeout with a higher round, wins and
 * re-proposes those values, strictly in order, before anything new. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "chainpaxos_harness.h"

static const struct ballot old_ballot = {.round = 1, .node = 3};

static void inject_accept(struct cp_cluster *cl, size_t to, node_id from, instance_no i,
                          const struct buf *batch)
{
    struct chain_accept m = {
        .ballot = old_ballot,
        .instance = i,
        .counter = 0, /* stored as 1: below Q = 2, so nothing is decided by the injection */
        .value = {.kind = CHAIN_VALUE_BATCH, .body = batch->data, .len = batch->len},
    };
    struct buf msg;
    buf_init(&msg);
    chain_msg_put_accept(&msg, &m);
    cp_inject(cl, to, from, &msg);
}

/* A one-command batch "SET k<client> v<seq>" from node k. */
static void make_batch(const struct cp_cluster *cl, size_t k, uint64_t client, uint64_t seq,
                       struct buf *out)
{
    buf_init(out);
    buf_put_u32(out, 1);
    cp_command(cl, k, client, seq, out);
}

/* Node 2 (index 1) holds instances 1 and 2 from the old ballot; node 3 never learns them and
 * the first member's PREPAREs to it are lost, so the first member must win through node 2. */
static void setup_old_values(struct cp_cluster *cl, struct buf *a, struct buf *b)
{
    cp_init(cl, 3, NULL, 500, NULL);
    make_batch(cl, 2, 0, 1, a);
    make_batch(cl, 2, 0, 2, b);
    inject_accept(cl, 1, 3, 1, a);
    inject_accept(cl, 1, 3, 2, b);
    assert_int_equal(cl->nodes[1].leader, 3);
    assert_int_equal(cp_executed(cl, 1), 0);
    cl->links[0][2].drop_types = 1u << CHAIN_MSG_PREPARE;
}

/* Ticks only node k (the others' timers stand still), delivering nothing. */
static void tick_only(struct cp_cluster *cl, size_t k)
{
    cl->now_ms += CP_TICK_MS;
    cp_step(cl, k, (struct engine_event){.type = ENGINE_EVENT_TICK});
    cp_end_iteration(cl, k);
}

static const char *role_of(const struct cp_cluster *cl, size_t k)
{
    struct engine_status st;
    cp_status(cl, k, &st);
    return st.role;
}

static void check_recovered(const struct cp_cluster *cl, const struct buf *a,
                            const struct buf *b)
{
    for (size_t k = 0; k < 3; k++) {
        const struct cp_node *node = &cl->nodes[k];
        assert_true(node->exec_count >= 2);
        assert_int_equal(node->execs[0].instance, 1);
        assert_int_equal(node->execs[0].len, a->len);
        assert_memory_equal(node->exec_data.data + node->execs[0].offset, a->data, a->len);
        assert_int_equal(node->execs[1].len, b->len);
        assert_memory_equal(node->exec_data.data + node->execs[1].offset, b->data, b->len);
        assert_int_equal(node->leader, cl->nodes[0].leader);
    }
}

static void test_reject_then_recover(void **state)
{
    (void)state;
    struct cp_cluster cl;
    struct buf a, b;
    setup_old_values(&cl, &a, &b);
    /* A command waiting at the first member must go after the recovered values. */
    cp_submit(&cl, 0, 1, 1);
    cp_advance(&cl, 20);
    struct engine_status st;
    cp_status(&cl, 0, &st);
    assert_string_equal(st.role, "follower"); /* yielded to the ballot the rejection reported */
    assert_int_equal(cl.nodes[1].sends[CHAIN_MSG_REJECT_PREPARE], 1);
    assert_true(ballot_eq(st.ballot, old_ballot));
    cp_advance(&cl, 1500);
    cp_status(&cl, 0, &st);
    assert_string_equal(st.role, "leader"); /* the old leader's successor runs first */
    assert_int_equal(st.ballot.round, 2);
    check_recovered(&cl, &a, &b);
    /* The waiting command: in instance 3, after the re-proposals. */
    assert_true(cl.nodes[0].exec_count >= 3);
    assert_int_equal(cl.nodes[0].execs[2].instance, 3);
    assert_true(cl.nodes[0].execs[2].len > 0);
    cl.links[0][2].drop_types = 0;
    cp_advance(&cl, 300);
    for (size_t k = 0; k < 3; k++)
        assert_true(cp_executed(&cl, k) + 2 >= cp_executed(&cl, 0));
    buf_free(&a);
    buf_free(&b);
    cp_free(&cl);
}

/* Delivers everything queued on the links out of `from`. */
static void drain_from(struct cp_cluster *cl, size_t from)
{
    for (size_t to = 0; to < cl->n; to++)
        while (cp_deliver_link(cl, from, to))
            ;
}

/* The new leader re-proposes instances 1 and 2; ACCEPT(1) is lost on the way to node 2, which
 * still holds instance 1 from the old ballot. It must refuse ACCEPT(2) of the new ballot (a gap
 * in the new ballot, although not in instance numbers) rather than take it and later decide
 * its old value for 1 on an ack. */
static void test_new_ballot_gap_refused(void **state)
{
    (void)state;
    struct cp_cluster cl;
    struct buf a, b;
    setup_old_values(&cl, &a, &b);
    cl.manual_flush = true;
    drain_from(&cl, 1); /* the tail's ACCEPT_ACKs to the old "leader", ignored */
    cp_tick_all(&cl);   /* PREPARE (1, 1) */
    assert_true(cp_deliver_link(&cl, 0, 1));
    assert_true(cp_deliver_link(&cl, 1, 0)); /* REJECT_PREPARE: node 1 yields */
    assert_string_equal(role_of(&cl, 0), "follower");
    for (int t = 0; t < 200 && strcmp(role_of(&cl, 0), "candidate") != 0; t++) {
        tick_only(&cl, 0);
        drain_from(&cl, 1);
        drain_from(&cl, 2);
    }
    /* PREPARE (2, 1) after the election timeout; the PROMISE makes node 1 leader, which puts
     * ACCEPT(1) and ACCEPT(2) on the link to node 2. */
    assert_true(cp_deliver_link(&cl, 0, 1));
    assert_true(cp_deliver_link(&cl, 1, 0));
    struct engine_status st;
    cp_status(&cl, 0, &st);
    assert_string_equal(st.role, "leader");
    assert_int_equal(cl.links[0][1].count, 2);
    cp_link_drop_head(&cl, 0, 1); /* ACCEPT(1) lost */
    cp_status(&cl, 1, &st);
    uint64_t dropped = st.messages_dropped;
    size_t forwarded = cl.links[1][2].count;
    assert_true(cp_deliver_link(&cl, 0, 1)); /* ACCEPT(2) */
    cp_status(&cl, 1, &st);
    assert_int_equal(st.messages_dropped, dropped + 1);
    assert_int_equal(cl.links[1][2].count, forwarded); /* not passed on */
    assert_int_equal(cp_executed(&cl, 1), 0);
    /* Retransmission repairs it; everyone executes the recovered values. */
    cl.manual_flush = false;
    cp_advance(&cl, 1000);
    check_recovered(&cl, &a, &b);
    buf_free(&a);
    buf_free(&b);
    cp_free(&cl);
}

static void inject_accept_ballot(struct cp_cluster *cl, size_t to, struct ballot ballot,
                                 instance_no i, const struct buf *batch)
{
    struct chain_accept m = {
        .ballot = ballot,
        .instance = i,
        .value = {.kind = CHAIN_VALUE_BATCH, .body = batch->data, .len = batch->len},
    };
    struct buf msg;
    buf_init(&msg);
    chain_msg_put_accept(&msg, &m);
    cp_inject(cl, to, ballot.node, &msg);
}

static void cut_all_from(struct cp_cluster *cl, size_t from)
{
    for (size_t to = 0; to < cl->n; to++)
        cp_link_cut(cl, from, to);
}

/* Two promises report different values for instance 1: A accepted in (1, 3) by node 2, C in
 * (2, 2) by node 3. The candidate needs both (Q = 3 of 5, PREPAREs to nodes 4 and 5 lost) and
 * gets A first; it must re-propose C, the value of the highest ballot. */
static void test_highest_ballot_value_wins(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 5, NULL, 502, NULL);
    struct buf a, c;
    make_batch(&cl, 1, 0, 1, &a);
    make_batch(&cl, 2, 0, 1, &c);
    inject_accept_ballot(&cl, 1, (struct ballot){.round = 1, .node = 3}, 1, &a);
    inject_accept_ballot(&cl, 2, (struct ballot){.round = 2, .node = 2}, 1, &c);
    cl.manual_flush = true;
    for (size_t k = 1; k < 5; k++)
        cut_all_from(&cl, k);
    cl.links[0][3].drop_types = 1u << CHAIN_MSG_PREPARE;
    cl.links[0][4].drop_types = 1u << CHAIN_MSG_PREPARE;
    /* PREPARE (1, 1) is refused by both; node 1 yields to (1, 3), runs again with (2, 1),
     * is refused by node 3 with (2, 2), yields, and wins with (3, 1). Node 2's answers
     * (promises reporting A) always arrive before node 3's (reporting C). */
    for (int t = 0; t < 1000 && strcmp(role_of(&cl, 0), "leader") != 0; t++) {
        tick_only(&cl, 0);
        while (cp_deliver_link(&cl, 0, 1) || cp_deliver_link(&cl, 0, 2))
            ;
        while (cp_deliver_link(&cl, 1, 0))
            ;
        while (cp_deliver_link(&cl, 2, 0))
            ;
        for (size_t k = 1; k < 5; k++)
            cut_all_from(&cl, k); /* their other messages */
    }
    struct engine_status st;
    cp_status(&cl, 0, &st);
    assert_string_equal(st.role, "leader");
    assert_int_equal(st.ballot.round, 3);
    cl.manual_flush = false;
    cp_advance(&cl, 500);
    for (size_t k = 0; k < 5; k++) {
        const struct cp_node *node = &cl.nodes[k];
        assert_true(node->exec_count >= 1);
        assert_int_equal(node->execs[0].len, c.len);
        assert_memory_equal(node->exec_data.data + node->execs[0].offset, c.data, c.len);
    }
    buf_free(&a);
    buf_free(&c);
    cp_free(&cl);
}

/* Forwarded commands that reach the leader before its FLUSH share its next batch. */
static void test_forwards_share_leader_batch(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 3, NULL, 501, NULL);
    assert_true(cp_elect(&cl, 1000));
    cp_advance(&cl, 300);
    cl.manual_flush = true;
    size_t batches = cp_batches_executed(&cl, 0);
    cp_submit_next(&cl, 1, 0);
    cp_flush(&cl, 1);
    cp_submit_next(&cl, 2, 0);
    cp_submit_next(&cl, 2, 1);
    cp_flush(&cl, 2);
    cp_submit_next(&cl, 0, 0);
    assert_true(cp_deliver_link(&cl, 1, 0));
    assert_true(cp_deliver_link(&cl, 2, 0));
    assert_int_equal(cp_in_flight(&cl), 0); /* nothing proposed before the flush */
    cp_flush(&cl, 0);
    cp_run(&cl);
    assert_int_equal(cp_batches_executed(&cl, 0), batches + 1);
    cl.manual_flush = false;
    cp_advance(&cl, 200);
    for (size_t k = 0; k < 3; k++)
        cp_check_commands(&cl, k);
    cp_free(&cl);
}

static void inject_prepare(struct cp_cluster *cl, size_t to, struct ballot ballot)
{
    struct chain_prepare m = {.ballot = ballot, .from = 1};
    struct buf msg;
    buf_init(&msg);
    chain_msg_put_prepare(&msg, &m);
    cp_inject(cl, to, ballot.node, &msg);
    cp_end_iteration(cl, to);
}

static struct ballot ballot_of(const struct cp_cluster *cl, size_t k)
{
    struct engine_status st;
    cp_status(cl, k, &st);
    return st.ballot;
}

/* A member sticks to a leader that has shown progress in its ballot, not to a candidate it
 * has only promised: that candidate may be one the other members refuse, and a higher
 * candidate must still be able to win (simulator, durable-reorder profile, seed 981415). */
static void test_a_promise_is_not_a_working_leader(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 3, NULL, 503, NULL);
    struct ballot first = {.round = 1, .node = cl.nodes[1].id};
    struct ballot higher = {.round = 2, .node = cl.nodes[0].id};
    inject_prepare(&cl, 2, first);
    assert_true(ballot_eq(ballot_of(&cl, 2), first));
    inject_prepare(&cl, 2, higher); /* at once: node 1 has sent nothing of its ballot */
    assert_true(ballot_eq(ballot_of(&cl, 2), higher));
    cp_free(&cl);

    /* A working leader's followers refuse the same. */
    cp_init(&cl, 3, NULL, 504, NULL);
    assert_true(cp_elect(&cl, 1000));
    cp_advance(&cl, 300);
    struct ballot led = ballot_of(&cl, 2);
    inject_prepare(&cl, 2, (struct ballot){.round = led.round + 1, .node = cl.nodes[1].id});
    assert_true(ballot_eq(ballot_of(&cl, 2), led));
    cp_free(&cl);
}

/* Advances the clock by ms while node k stands still: it neither ticks nor reads, and what is
 * sent to it waits in its links. */
static void advance_stalled(struct cp_cluster *cl, size_t k, uint64_t ms)
{
    for (uint64_t t = 0; t < ms; t += CP_TICK_MS) {
        cl->now_ms += CP_TICK_MS;
        for (size_t j = 0; j < cl->n; j++)
            if (j != k) {
                cp_step(cl, j, (struct engine_event){.type = ENGINE_EVENT_TICK});
                cp_end_iteration(cl, j);
            }
        for (bool moved = true; moved;) {
            moved = false;
            for (size_t a = 0; a < cl->n; a++)
                for (size_t b = 0; b < cl->n; b++)
                    if (b != k)
                        moved |= cp_deliver_link(cl, a, b);
        }
    }
}

static void tick_one(struct cp_cluster *cl, size_t k, uint64_t after_ms)
{
    cl->now_ms += after_ms;
    cp_step(cl, k, (struct engine_event){.type = ENGINE_EVENT_TICK});
    cp_end_iteration(cl, k);
}

/* A replica whose own loop stood still judges nothing on the first tick after: an event loop
 * runs its timers before it reads what arrived meanwhile (a joiner that spent 0.9 s copying
 * its new state ran for leader on that tick, and was removed again). */
static void test_a_stalled_replica_reads_before_it_judges(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 3, NULL, 505, NULL);
    assert_true(cp_elect(&cl, 1000));
    cp_advance(&cl, 300);
    struct ballot led = ballot_of(&cl, 2);
    advance_stalled(&cl, 2, 1500); /* beyond leader_timeout and node 2's election delay */
    tick_one(&cl, 2, CP_TICK_MS);
    struct engine_status st;
    cp_status(&cl, 2, &st);
    assert_string_equal(st.role, "follower");
    assert_true(ballot_eq(st.ballot, led));
    /* Then it reads what waited (it was removed meanwhile) and never runs against the leader. */
    cp_run(&cl); /* the rest of its loop iteration: the poll */
    cp_advance(&cl, 3000);
    assert_true(ballot_eq(ballot_of(&cl, 0), led));
    assert_true(ballot_cmp(ballot_of(&cl, 2), led) <= 0);
    cp_free(&cl);

    /* Never twice in a row: a replica that hears nothing runs for leader on its next tick,
     * however late every tick is. */
    cp_init(&cl, 3, NULL, 506, NULL);
    assert_true(cp_elect(&cl, 1000));
    cp_advance(&cl, 300);
    advance_stalled(&cl, 2, 1500);
    tick_one(&cl, 2, CP_TICK_MS);
    tick_one(&cl, 2, 200);
    cp_status(&cl, 2, &st);
    assert_string_equal(st.role, "candidate");
    cp_free(&cl);
}

/* A joiner may get its state from a member that promised the joiner's own candidacy, run before
 * it was removed. It gave that candidacy up when it left, and must not follow itself: it took
 * itself for the leader and forwarded commands to itself (simulator, pauses profile, seed 801860
 * with ticks run before what arrived during a pause: an engine CHECK). */
static void test_a_state_in_the_joiners_own_ballot_names_no_leader(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init_with_joiner(&cl, 3, 507, 2); /* node 2 waits for its state from node 1 */
    struct ballot led = ballot_of(&cl, 1);
    cl.now_ms += CHAINPAXOS_DEFAULT_LEADER_TIMEOUT_MS; /* node 1 no longer sticks to node 0 */
    struct ballot own = {.round = led.round + 1, .node = cl.nodes[2].id};
    inject_prepare(&cl, 1, own);
    assert_true(ballot_eq(ballot_of(&cl, 1), own));
    cp_hand_snapshot(&cl, 1);
    while (cp_deliver_link(&cl, 1, 2))
        ;
    struct engine_status st;
    cp_status(&cl, 2, &st);
    assert_string_equal(st.membership, "member");
    assert_int_not_equal(cl.nodes[2].leader, cl.nodes[2].id);
    cp_submit_next(&cl, 2, 1); /* forwarded to itself, it aborted */
    cp_flush(&cl, 2);
    /* The cluster elects a leader above that ballot and executes the command. */
    cp_advance(&cl, 5000);
    assert_true(ballot_cmp(ballot_of(&cl, 0), own) > 0);
    assert_int_equal(cp_executed(&cl, 2), cp_executed(&cl, 0));
    cp_free(&cl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reject_then_recover),
        cmocka_unit_test(test_new_ballot_gap_refused),
        cmocka_unit_test(test_highest_ballot_value_wins),
        cmocka_unit_test(test_forwards_share_leader_batch),
        cmocka_unit_test(test_a_promise_is_not_a_working_leader),
        cmocka_unit_test(test_a_stalled_replica_reads_before_it_judges),
        cmocka_unit_test(test_a_state_in_the_joiners_own_ballot_names_no_leader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
