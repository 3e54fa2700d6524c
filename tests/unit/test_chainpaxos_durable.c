/* ChainPaxos crash recovery from EFFECT_PERSIST records (docs/protocols/chainpaxos.md §5.9):
 * restarted replicas keep what they promised and accepted, execute again what they had
 * executed, and go on. The harness checks agreement on every EXECUTE, re-executions included. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "chainpaxos_harness.h"
#include "common/reader.h"

static void durable_cluster(struct cp_cluster *cl, size_t n, uint64_t seed)
{
    struct engine_config tunables = {.durable = true};
    cp_init(cl, n, NULL, seed, &tunables);
    assert_true(cp_elect(cl, 1000));
}

static void load(struct cp_cluster *cl, size_t k, size_t commands)
{
    for (size_t c = 0; c < commands; c++)
        cp_submit_next(cl, k, c % CP_CLIENTS);
    cp_flush(cl, k);
    cp_run(cl);
}

/* Every node executed the same instances and every command exactly once. */
static void check_converged(const struct cp_cluster *cl)
{
    for (size_t k = 0; k < cl->n; k++) {
        assert_int_equal(cp_executed(cl, k), cp_executed(cl, 0));
        cp_check_commands(cl, k);
    }
}

/* A follower restarts: it comes back with its ballot, its executed state and its ack, and the
 * cluster goes on with it. */
static void test_follower_restart(void **state)
{
    (void)state;
    struct cp_cluster cl;
    durable_cluster(&cl, 3, 11);
    load(&cl, 0, 40);
    cp_advance(&cl, 200);
    struct engine_status before, after;
    cp_status(&cl, 1, &before);
    assert_true(before.highest_executed > 0);
    assert_true(cl.nodes[1].records > 0);
    cp_restart(&cl, 1);
    cp_status(&cl, 1, &after);
    assert_int_equal(after.highest_executed, before.highest_executed);
    /* The ack it had learned too (EXECUTED records carry it): a replica that joined with a
     * state transfer can run for election only once its ack reaches that state (nemesis
     * seed 5: without it, a restart went back to the state's older ack). */
    assert_true(before.highest_acknowledged > 0);
    assert_int_equal(after.highest_acknowledged, before.highest_acknowledged);
    assert_true(ballot_eq(after.ballot, before.ballot));
    assert_string_equal(after.membership, "member");
    assert_int_equal(cl.nodes[1].leader, cl.nodes[0].id); /* follows the ballot it promised */
    load(&cl, 0, 40);
    load(&cl, 2, 40);
    cp_advance(&cl, 2000);
    check_converged(&cl);
    cp_free(&cl);
}

/* Every replica restarts at once (a power loss): none is lost, the old leader runs again at
 * once, and every executed instance comes back the same. */
static void test_whole_cluster_restart(void **state)
{
    (void)state;
    struct cp_cluster cl;
    durable_cluster(&cl, 3, 12);
    load(&cl, 0, 30);
    load(&cl, 1, 30);
    cp_advance(&cl, 300);
    instance_no executed = cp_executed(&cl, 0);
    struct engine_status old_leader;
    cp_status(&cl, 0, &old_leader);
    for (size_t k = 0; k < cl.n; k++)
        cp_restart(&cl, k);
    for (size_t k = 0; k < cl.n; k++)
        assert_int_equal(cp_executed(&cl, k), executed);
    /* It led: it runs at its first tick, well before a follower's timeout. */
    cp_advance(&cl, 100);
    struct engine_status st;
    cp_status(&cl, 0, &st);
    assert_string_equal(st.role, "leader");
    assert_true(st.ballot.round > old_leader.ballot.round);
    load(&cl, 0, 30);
    load(&cl, 2, 30);
    cp_advance(&cl, 2000);
    check_converged(&cl);
    cp_free(&cl);
}

/* An instance chosen by the first two replicas of the chain, executed at the second only;
 * then both crash. Restarted, they still hold it: the third, which never saw it, cannot have
 * it replaced by a NOOP (without the records, phase 1 would find no value and fill one). */
static void test_chosen_value_survives(void **state)
{
    (void)state;
    struct cp_cluster cl;
    durable_cluster(&cl, 3, 13);
    cp_advance(&cl, 100);
    /* Cut what would tell node 3 or the leader: node 2 alone learns the decision. */
    cl.links[1][2].drop = true;
    cl.links[1][0].drop = true;
    load(&cl, 0, 1);
    instance_no chosen = cp_executed(&cl, 1);
    assert_true(chosen > cp_executed(&cl, 2));
    assert_true(cl.nodes[1].execs[cl.nodes[1].exec_count - 1].len > 0); /* the batch */
    cp_restart(&cl, 0);
    cp_restart(&cl, 1);
    cl.links[1][2].drop = false;
    cl.links[1][0].drop = false;
    cp_advance(&cl, 3000);
    /* The harness failed already if any node executed something else at `chosen`. */
    for (size_t k = 0; k < cl.n; k++)
        assert_true(cp_executed(&cl, k) >= chosen);
    load(&cl, 0, 10);
    cp_advance(&cl, 1000);
    check_converged(&cl);
    cp_free(&cl);
}

/* The instance of the last EXECUTED record (type 4) on node k's disk; 0 if none. */
static instance_no last_executed_record(const struct cp_cluster *cl, size_t k)
{
    struct reader r = reader_make(cl->nodes[k].disk.data, cl->nodes[k].disk.len);
    instance_no last = 0;
    while (reader_left(&r) > 0) {
        uint32_t len = reader_u32(&r);
        struct reader rec = reader_make(reader_bytes(&r, len), len);
        assert_false(r.failed);
        if (reader_u8(&rec) == 4)
            last = reader_u64(&rec);
    }
    return last;
}

/* How far a replica executed is recorded with its round's other records, never alone in a
 * round that only executed (that would cost an fsync for it alone on every replica); a tick
 * records it then, so it lags by a tick at most. */
static void test_executed_recorded_with_other_records(void **state)
{
    (void)state;
    struct cp_cluster cl;
    durable_cluster(&cl, 3, 14);
    cp_advance(&cl, 100);
    load(&cl, 0, 10);
    /* The leader executed its batch in a round that wrote nothing else. */
    instance_no executed = cp_executed(&cl, 0);
    assert_true(last_executed_record(&cl, 0) < executed);
    cp_tick_all(&cl);
    assert_true(last_executed_record(&cl, 0) >= executed);
    cp_free(&cl);
}

/* Restarts in the middle of the load, of every node in turn, the leader included. */
static void test_rolling_restarts(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        struct cp_cluster cl;
        durable_cluster(&cl, 3, 100 + seed);
        for (size_t round = 0; round < 6; round++) {
            size_t victim = (size_t)rng_below(&cl.rng, cl.n);
            size_t client = (victim + 1) % cl.n;
            for (size_t c = 0; c < 8; c++)
                cp_submit_next(&cl, client, c % CP_CLIENTS);
            cp_flush(&cl, client);
            for (size_t d = rng_below(&cl.rng, 40); d > 0 && cp_deliver_one(&cl); d--)
                ;
            struct engine_status before, after;
            cp_status(&cl, victim, &before);
            cp_restart(&cl, victim);
            cp_status(&cl, victim, &after);
            assert_true(ballot_cmp(after.ballot, before.ballot) >= 0);
            cp_advance(&cl, 3000);
        }
        cp_advance(&cl, 2000);
        check_converged(&cl);
        cp_free(&cl);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_follower_restart),
        cmocka_unit_test(test_whole_cluster_restart),
        cmocka_unit_test(test_chosen_value_survives),
        cmocka_unit_test(test_rolling_restarts),
        cmocka_unit_test(test_executed_recorded_with_other_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
