/* A replica that falls behind is moved to the tail of the chain, and decisions then run at
 * the speed of the others (docs/protocols/chainpaxos-membership.md §3.4). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "chainpaxos_harness.h"

#define SLOW 1 /* node index of the slow replica: the leader's successor */

/* One tick of a loaded cluster: the leader (node 0) proposes `load` instances of one command
 * each, then every link delivers what it holds, except that the slow replica takes at most
 * one message per link. */
static void loaded_step(struct cp_cluster *cl, uint64_t *seq, size_t load)
{
    for (size_t k = 0; k < load; k++) {
        cp_submit(cl, 0, 0, ++*seq);
        cp_flush(cl, 0);
    }
    for (size_t from = 0; from < cl->n; from++)
        for (size_t to = 0; to < cl->n; to++) {
            if (to == SLOW) {
                cp_deliver_link(cl, from, to);
                continue;
            }
            while (cp_deliver_link(cl, from, to))
                ;
        }
    cp_tick_all(cl);
}

static bool slow_is_tail(const struct cp_cluster *cl)
{
    struct engine_status st;
    cp_status(cl, 0, &st);
    return st.chain_length == 3 && st.chain[2] == cl->nodes[SLOW].id;
}

static void test_slow_replica_moves_to_tail(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 3, NULL, 61, NULL);
    assert_true(cp_elect(&cl, 1000));
    cp_advance(&cl, 300);
    uint64_t seq = 0;

    /* While the slow replica is the leader's successor, every decision waits for it. */
    assert_false(slow_is_tail(&cl));
    size_t steps = 0;
    while (steps < 3000 && !slow_is_tail(&cl)) {
        loaded_step(&cl, &seq, 4);
        steps++;
    }
    assert_true(slow_is_tail(&cl));

    /* At the tail it holds back only the whole chain's acknowledgement: the leader decides
     * with the quorum point, now the fast replica. Compare equal windows. */
    const size_t window = 100;
    instance_no start = cp_executed(&cl, 0);
    for (size_t k = 0; k < window; k++)
        loaded_step(&cl, &seq, 4);
    instance_no after = cp_executed(&cl, 0) - start;
    print_message("moved to the tail after %zu steps; then %llu instances decided in %zu steps\n",
                  steps, (unsigned long long)after, window);
    assert_true(slow_is_tail(&cl));
    /* Before the move, at most one instance per step got through the slow replica. */
    assert_true(after >= 3 * window);

    /* Once it is no longer slow, it catches up and stays a member. */
    cp_advance(&cl, 3000);
    for (size_t k = 0; k < cl.n; k++) {
        struct engine_status st;
        cp_status(&cl, k, &st);
        assert_string_equal(st.membership, "member");
        assert_int_equal(st.chain_length, 3);
        assert_int_equal(cp_executed(&cl, k), cp_executed(&cl, 0));
    }
    cp_free(&cl);
}

/* ---- closed-loop load: time, not backlog ------------------------------------------------- */

#define PERIOD 10 /* a throttled node runs 10 ms in every 100: a tenth of a CPU */

/* One 10 ms tick of closed-loop load: the leader submits its next batch of 4 commands only once
 * the previous one executed (clients that wait for their replies), so at most one instance is
 * ever outstanding and no backlog builds. A throttled node takes in its messages and its tick
 * only on one tick in PERIOD; the others on every tick, as fast as messages come. */
static void closed_loop_tick(struct cp_cluster *cl, uint64_t *seq, size_t *batches,
                             const bool *throttled, uint64_t tick)
{
    if (cp_batches_executed(cl, 0) >= *batches) {
        for (size_t k = 0; k < 4; k++)
            cp_submit(cl, 0, 0, ++*seq);
        cp_flush(cl, 0);
        ++*batches;
    }
    bool on = tick % PERIOD == 0;
    for (bool delivered = true; delivered;) {
        delivered = false;
        for (size_t from = 0; from < cl->n; from++)
            for (size_t to = 0; to < cl->n; to++)
                while ((on || !throttled[to]) && cp_deliver_link(cl, from, to))
                    delivered = true;
    }
    cl->now_ms += CP_TICK_MS;
    for (size_t k = 0; k < cl->n; k++)
        if (on || !throttled[k]) {
            cp_step(cl, k, (struct engine_event){.type = ENGINE_EVENT_TICK});
            cp_end_iteration(cl, k);
        }
}

/* Runs `ticks` ticks of closed-loop load; returns the batches executed at the leader. */
static size_t closed_loop(struct cp_cluster *cl, const bool *throttled, size_t ticks,
                          uint64_t *seq, size_t *batches)
{
    size_t start = cp_batches_executed(cl, 0);
    for (uint64_t t = 0; t < ticks; t++)
        closed_loop_tick(cl, seq, batches, throttled, t);
    return cp_batches_executed(cl, 0) - start;
}

static void chain_order(const struct cp_cluster *cl, node_id *order)
{
    struct engine_status st;
    cp_status(cl, 0, &st);
    assert_int_equal(st.chain_length, cl->n);
    memcpy(order, st.chain, cl->n * sizeof *order);
}

static void test_throttled_replica_moves_to_tail_under_closed_loop(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 3, NULL, 62, NULL);
    assert_true(cp_elect(&cl, 1000));
    cp_advance(&cl, 300);
    bool throttled[3] = {[SLOW] = true};
    uint64_t seq = 0;
    size_t batches = cp_batches_executed(&cl, 0);

    /* Every decision waits for the throttled successor: about one batch per 100 ms. */
    size_t before = closed_loop(&cl, throttled, 100, &seq, &batches);
    assert_false(slow_is_tail(&cl));
    assert_true(before <= 12);
    /* Its round trips are long: the leader moves it to the tail within a few seconds. */
    size_t steps = 0;
    while (steps < 500 && !slow_is_tail(&cl))
        steps += 10, closed_loop(&cl, throttled, 10, &seq, &batches);
    assert_true(slow_is_tail(&cl));
    size_t after = closed_loop(&cl, throttled, 100, &seq, &batches);
    print_message("1 s of closed loop: %zu batches with the throttled replica second, moved "
                  "after %zu ms more, then %zu batches in 1 s\n",
                  before, steps * CP_TICK_MS, after);
    assert_true(after >= 5 * before);
    cp_free(&cl);
}

/* No member is moved for a slowness that is not its own: a throttled leader makes its own hop
 * and the one into it long alike, and replicas that are all equally slow have no slow one. */
static void check_nobody_moves(const bool *throttled)
{
    struct cp_cluster cl;
    cp_init(&cl, 3, NULL, 63, NULL);
    assert_true(cp_elect(&cl, 1000));
    cp_advance(&cl, 300);
    node_id order[3], later[3];
    chain_order(&cl, order);
    uint64_t seq = 0;
    size_t batches = cp_batches_executed(&cl, 0);
    size_t done = closed_loop(&cl, throttled, 1000, &seq, &batches);
    chain_order(&cl, later);
    assert_memory_equal(order, later, sizeof order);
    assert_true(done >= 50); /* load went through all along */
    cp_free(&cl);
}

static void test_throttled_leader_moves_nobody(void **state)
{
    (void)state;
    check_nobody_moves((bool[3]){[0] = true});
}

static void test_equally_throttled_replicas_move_nobody(void **state)
{
    (void)state;
    check_nobody_moves((bool[3]){true, true, true});
}

/* Node 1 (the middle replica) under load while the tail's messages to the leader are lost, so
 * the whole chain's ack stops and only the tail's answers to node 1 show it alive: the ALIVEs
 * unless `alive` is false, the PROBE_REPLYs unless `replies` is false. With `fake_round` 0 or
 * more, every 50 ms a PROBE_REPLY from the tail is handed to node 1 as well, in node 1's
 * ballot with its round raised by fake_round. Returns the REMOVE_REQUESTs node 1 sent in 1.5 s. */
static uint64_t suspicions_of_a_live_tail(bool alive, bool replies, int fake_round)
{
    struct cp_cluster cl;
    cp_init(&cl, 3, NULL, 64, NULL);
    assert_true(cp_elect(&cl, 1000));
    cp_advance(&cl, 300);
    node_id order[3];
    chain_order(&cl, order);
    assert_int_equal(order[1], cl.nodes[1].id);
    cl.links[2][0].drop = true;
    cl.links[2][1].drop_types = (alive ? 0 : 1u << CHAIN_MSG_ALIVE) |
                                (replies ? 0 : 1u << CHAIN_MSG_PROBE_REPLY);
    uint64_t before = cl.nodes[1].sends[CHAIN_MSG_REMOVE_REQUEST];
    struct engine_status st;
    cp_status(&cl, 1, &st);
    struct ballot fake = {.round = st.ballot.round + (uint64_t)fake_round, .node = st.ballot.node};
    uint64_t seq = 0;
    for (uint64_t ms = 0; ms < 1500; ms += CP_TICK_MS) {
        cp_submit(&cl, 0, 0, ++seq);
        cp_flush(&cl, 0);
        cp_advance(&cl, CP_TICK_MS);
        if (fake_round >= 0 && ms % 50 == 0) {
            struct buf msg;
            buf_init(&msg);
            chain_msg_put_probe(&msg, CHAIN_MSG_PROBE_REPLY,
                                &(struct chain_probe){.sent_ms = cl.now_ms, .ballot = fake});
            cp_inject(&cl, 1, cl.nodes[2].id, &msg);
        }
    }
    uint64_t reports = cl.nodes[1].sends[CHAIN_MSG_REMOVE_REQUEST] - before;
    cp_free(&cl);
    return reports;
}

/* A next hop that answers PROBEs in the leader's ballot is alive, however long the rest of
 * the ring takes to bring the ack back: under a bulk load on 2 cores, the ack's ring through
 * three busy event loops took longer than suspect_ms while the tail answered in one hop, and
 * the middle replica had the live tail removed (membership §3.2). */
static void test_probe_replies_show_a_next_hop_alive(void **state)
{
    (void)state;
    assert_int_equal(suspicions_of_a_live_tail(true, true, -1), 0);
    assert_int_equal(suspicions_of_a_live_tail(false, true, -1), 0);
    /* With neither ALIVE nor a PROBE_REPLY it is suspected; a reply in another ballot (the
     * tail follows someone else) does not count. */
    assert_true(suspicions_of_a_live_tail(false, false, -1) > 0);
    assert_true(suspicions_of_a_live_tail(false, false, 1) > 0);
    assert_int_equal(suspicions_of_a_live_tail(false, false, 0), 0);
}

/* Where `id` stands in the leader's chain, or -1. */
static int chain_position(const struct cp_cluster *cl, node_id id)
{
    struct engine_status st;
    cp_status(cl, 0, &st);
    for (size_t k = 0; k < st.chain_length; k++)
        if (st.chain[k] == id)
            return (int)k;
    return -1;
}

/* `steps` loaded steps, then every message delivered: a move the leader proposed is decided. */
static void load_then_settle(struct cp_cluster *cl, uint64_t *seq, size_t steps)
{
    for (size_t k = 0; k < steps; k++)
        loaded_step(cl, seq, 4);
    cp_advance(cl, 1000);
}

/* While a member that an ADD brought in waits for its state, no slow member is moved: each
 * move changed the configuration the joiner's snapshot must describe, and under a bulk load,
 * where serializing the state took seconds, the transfer started over and over (membership
 * §7). Once it has its state, the wanted move goes ahead. The wait holds nothing else up:
 * decisions go on, the joiner is not taken for a restarted member, and nobody resends the
 * instances the joiner holds back the ack for (membership §6.2, core §5.6). */
static void test_no_move_while_a_joiner_waits(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init_with_joiner(&cl, 4, 65, 3);
    node_id joiner = cl.nodes[3].id;
    assert_int_equal(chain_position(&cl, joiner), 3);
    assert_int_equal(cl.nodes[2].snapshot_for, joiner); /* asked, left unanswered */
    size_t changes = cl.nodes[0].membership_changes;

    /* Longer than the slow replica takes to be moved with no joiner (the first test). */
    uint64_t seq = 0;
    instance_no start = cp_executed(&cl, 0);
    uint64_t resent = cl.nodes[0].sends[CHAIN_MSG_ACCEPT];
    load_then_settle(&cl, &seq, 1500);
    assert_int_equal(chain_position(&cl, cl.nodes[SLOW].id), SLOW);
    assert_int_equal(cl.nodes[0].membership_changes, changes);
    assert_true(cp_executed(&cl, 0) - start >= 1000); /* decisions went on without the joiner */
    /* One ACCEPT per proposal (4 per step) and nothing resent: the links are FIFO and lose
     * nothing here. */
    assert_true(cl.nodes[0].sends[CHAIN_MSG_ACCEPT] - resent <= 4 * 1500 + 200);

    /* Its state arrives; the same load then gets the slow replica moved. */
    cp_hand_snapshot(&cl, 2);
    cp_advance(&cl, 1000);
    assert_int_equal(cp_executed(&cl, 3), cp_executed(&cl, 0));
    size_t steps = 0;
    while (steps < 1500 && chain_position(&cl, cl.nodes[SLOW].id) != 3) {
        loaded_step(&cl, &seq, 4);
        steps++;
    }
    print_message("moved after %zu steps once the joiner had its state\n", steps);
    assert_int_equal(chain_position(&cl, cl.nodes[SLOW].id), 3);
    cp_free(&cl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_replica_moves_to_tail),
        cmocka_unit_test(test_throttled_replica_moves_to_tail_under_closed_loop),
        cmocka_unit_test(test_throttled_leader_moves_nobody),
        cmocka_unit_test(test_equally_throttled_replicas_move_nobody),
        cmocka_unit_test(test_probe_replies_show_a_next_hop_alive),
        cmocka_unit_test(test_no_move_while_a_joiner_waits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
