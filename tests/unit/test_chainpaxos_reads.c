/* Local linearizable reads: a read released at a replica has observed every instance executed
 * anywhere when it arrived, under random interleavings; an idle cluster releases reads within a
 * few ticks; and the planted "release without waiting" bug is caught by the same check. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "chainpaxos_harness.h"

struct read_run {
    uint64_t reads;
    uint64_t released;
    uint64_t stale;
};

/* Random writes and reads at random replicas with random delivery order, then quiescence. */
static struct read_run run_random(size_t n, uint64_t seed, uint32_t bugs)
{
    struct cp_cluster cl;
    struct engine_config tunables = {.planted_bugs = bugs};
    cp_init(&cl, n, NULL, seed, &tunables);
    assert_true(cp_elect(&cl, 1000));
    struct rng r;
    rng_seed(&r, seed ^ 0x5eed);
    struct read_run run = {0};
    for (int step = 0; step < 3000; step++) {
        size_t k = (size_t)rng_below(&r, n);
        uint64_t dice = rng_below(&r, 100);
        if (dice < 15) {
            cp_submit_next(&cl, k, rng_below(&r, 4));
            cp_end_iteration(&cl, k);
        } else if (dice < 35) {
            cp_read(&cl, k);
            cp_end_iteration(&cl, k);
            run.reads++;
        } else if (dice < 37) {
            cp_tick_all(&cl);
        } else {
            cp_deliver_one(&cl);
        }
    }
    cp_advance(&cl, 500);
    for (size_t k = 0; k < n; k++) {
        run.released += cl.nodes[k].reads_released;
        run.stale += cl.nodes[k].stale_reads;
        cp_check_commands(&cl, k);
    }
    cp_free(&cl);
    return run;
}

/* The same with durable replicas that crash and restart (losing what was in flight to and
 * from them), links that lose messages, and replicas that hear nothing for a while (suspected,
 * skipped, perhaps removed): replicas then take instances late, after the rest of the chain
 * acknowledged them, and acks reach them that their own accepts had no part in. */
static void run_with_faults(size_t n, uint64_t seed, struct read_run *run)
{
    struct cp_cluster cl;
    struct engine_config tunables = {.durable = true};
    cp_init(&cl, n, NULL, seed, &tunables);
    assert_true(cp_elect(&cl, 1000));
    struct rng r;
    rng_seed(&r, seed ^ 0xfa17);
    size_t deaf = n; /* n: none */
    uint64_t deaf_until = 0;
    for (uint64_t step = 0; step < 4000; step++) {
        size_t k = (size_t)rng_below(&r, n);
        uint64_t dice = rng_below(&r, 1000);
        if (step >= deaf_until)
            deaf = n;
        if (dice < 150) {
            cp_submit_next(&cl, k, rng_below(&r, 4));
            cp_end_iteration(&cl, k);
        } else if (dice < 350) {
            cp_read(&cl, k);
            cp_end_iteration(&cl, k);
            run->reads++;
        } else if (dice < 450) {
            cp_tick_all(&cl);
        } else if (dice < 452) {
            cp_restart(&cl, k); /* its waiting reads are lost with it */
        } else if (dice < 460) {
            size_t to = (size_t)rng_below(&r, n);
            if (cl.links[k][to].count > 0)
                cp_link_drop_head(&cl, k, to);
        } else if (dice < 463 && deaf == n) {
            deaf = k;
            deaf_until = step + rng_below(&r, 3000);
        } else {
            size_t from = (size_t)rng_below(&r, n), to = (size_t)rng_below(&r, n);
            if (to != deaf)
                cp_deliver_link(&cl, from, to);
        }
    }
    cp_advance(&cl, 3000);
    for (size_t k = 0; k < n; k++) { /* (commands sent to a replica that crashed may be lost) */
        run->released += cl.nodes[k].reads_released;
        run->stale += cl.nodes[k].stale_reads;
    }
    cp_free(&cl);
}

static void reads_are_never_stale_at_replicas_that_restart_or_lose_messages(void **state)
{
    (void)state;
    struct read_run run = {0};
    for (size_t n = 3; n <= 5; n += 2)
        for (uint64_t seed = 1; seed <= 100; seed++)
            run_with_faults(n, seed, &run);
    assert_true(run.released > run.reads / 4);
    assert_int_equal(run.stale, 0);
}

static void reads_are_never_stale_under_random_interleavings(void **state)
{
    (void)state;
    for (size_t n = 1; n <= 5; n += 2) {
        for (uint64_t seed = 1; seed <= 20; seed++) {
            struct read_run run = run_random(n, seed, 0);
            assert_true(run.reads > 0);
            assert_int_equal(run.released, run.reads);
            assert_int_equal(run.stale, 0);
        }
    }
}

static void the_planted_read_bug_is_caught(void **state)
{
    (void)state;
    uint64_t stale = 0;
    for (uint64_t seed = 1; seed <= 20; seed++)
        stale += run_random(3, seed, ENGINE_BUG_READ_WITHOUT_WAIT).stale;
    assert_true(stale > 0);
}

static void idle_reads_are_released_within_a_few_ticks(void **state)
{
    (void)state;
    for (size_t n = 1; n <= 5; n += 2) {
        struct cp_cluster cl;
        cp_init(&cl, n, NULL, 7, NULL);
        assert_true(cp_elect(&cl, 1000));
        cp_advance(&cl, 300); /* idle: only heartbeats */
        for (size_t k = 0; k < n; k++) {
            cp_read(&cl, k);
            cp_end_iteration(&cl, k);
        }
        cp_run(&cl);
        cp_advance(&cl, 2 * CP_TICK_MS);
        for (size_t k = 0; k < n; k++) {
            assert_int_equal(cl.nodes[k].reads_released, 1);
            assert_int_equal(cl.nodes[k].stale_reads, 0);
        }
        cp_free(&cl);
    }
}

static void a_read_at_the_leader_waits_for_a_write_decided_elsewhere(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 3, NULL, 3, NULL);
    assert_true(cp_elect(&cl, 1000));
    cl.manual_flush = true;
    cp_submit_next(&cl, 0, 1);
    cp_flush(&cl, 0);
    /* Replica 2 decides the write on arrival (counter 2 = Q); the leader does not know yet. */
    assert_true(cp_deliver_link(&cl, 0, 1));
    assert_int_equal(cp_executed(&cl, 1), cp_executed(&cl, 0) + 1);
    cp_read(&cl, 0);
    cp_flush(&cl, 0);
    assert_int_equal(cl.nodes[0].reads_released, 0);
    cl.manual_flush = false;
    cp_run(&cl);
    cp_advance(&cl, 3 * CP_TICK_MS);
    assert_int_equal(cl.nodes[0].reads_released, 1);
    assert_int_equal(cl.nodes[0].stale_reads, 0);
    cp_free(&cl);
}

/* The tail (replica 3) attaches a read at k while replica 2 has already decided k + 1. The
 * ACCEPT of k + 1 to the tail is lost, and the next ACCEPT reaches it as a gap carrying ack k.
 * That ack is a fact (everyone holds k), but releasing the read on it would miss k + 1, which
 * completed before the read arrived: reads wait for an ack that came in order. */
static void a_read_is_not_released_by_an_ack_that_overtook_a_lost_instance(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 3, NULL, 11, NULL);
    assert_true(cp_elect(&cl, 1000));
    cp_advance(&cl, 300);
    instance_no k = cp_executed(&cl, 2) + 1;
    for (int w = 0; w < 2; w++) { /* instances k and k + 1, decided at replica 2 */
        cp_submit_next(&cl, 0, 1);
        cp_end_iteration(&cl, 0);
        assert_true(cp_deliver_link(&cl, 0, 1));
    }
    assert_int_equal(cp_executed(&cl, 1), k + 1);
    cp_read(&cl, 2); /* must observe k + 1 */
    cp_end_iteration(&cl, 2);
    assert_true(cp_deliver_link(&cl, 1, 2));    /* ACCEPT(k): the tail acks it */
    cp_link_drop_head(&cl, 1, 2);               /* ACCEPT(k + 1) is lost */
    while (cp_deliver_link(&cl, 2, 0))          /* the leader learns ack k */
        ;
    cp_submit_next(&cl, 0, 1);                  /* k + 2 carries ack k down the chain */
    cp_end_iteration(&cl, 0);
    assert_true(cp_deliver_link(&cl, 0, 1));
    while (cp_deliver_link(&cl, 1, 2))
        ;
    assert_int_equal(cl.nodes[2].stale_reads, 0);
    cp_advance(&cl, 1000); /* retransmission fills the hole; then the read is released */
    assert_int_equal(cl.nodes[2].reads_released, 1);
    assert_int_equal(cl.nodes[2].stale_reads, 0);
    cp_free(&cl);
}

static void inject(struct cp_cluster *cl, size_t to, node_id from, const struct chain_accept *m)
{
    struct buf msg;
    buf_init(&msg);
    chain_msg_put_accept(&msg, m);
    cp_inject(cl, to, from, &msg);
    cp_end_iteration(cl, to);
}

static void inject_accept(struct cp_cluster *cl, size_t to, node_id from, instance_no i,
                          instance_no ack, instance_no whole_ack)
{
    struct chain_accept m = {
        .ballot = {.round = 1, .node = 1},
        .instance = i,
        .counter = 2, /* stored as 3 >= Q: decided on arrival */
        .ack = ack,
        .decided = i,
        .whole_ack = whole_ack,
        .value = {.kind = CHAIN_VALUE_NOOP},
    };
    inject(cl, to, from, &m);
}

/* A read arriving at replica k that must observe instance `required`. */
static void read_requiring(struct cp_cluster *cl, size_t k, instance_no required)
{
    cp_step(cl, k,
            (struct engine_event){.type = ENGINE_EVENT_READ, .data = (const uint8_t *)&required,
                                  .len = sizeof required});
    cp_end_iteration(cl, k);
}

/* Replica 3 lags: instances 1..5 completed elsewhere before a read arrives there, and the
 * rest of the chain acknowledged instance 1 without it (it was skipped, or restarting). The
 * ACCEPT of 2 brings that ack in order, but releasing the read on it would miss 3..5. The read
 * waits for an instance proposed once every member, this one included, had accepted 1. */
static void a_lagging_replica_waits_for_an_instance_proposed_after_it_accepted(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 3, NULL, 21, NULL);
    read_requiring(&cl, 2, 5); /* 5 completed elsewhere: the read must observe it */
    inject_accept(&cl, 2, 2, 1, 0, 0);
    inject_accept(&cl, 2, 2, 2, 1, 0);
    assert_int_equal(cp_executed(&cl, 2), 2);
    assert_int_equal(cl.nodes[2].reads_released, 0);
    for (instance_no i = 3; i <= 5; i++)
        inject_accept(&cl, 2, 2, i, i - 1, 0);
    assert_int_equal(cl.nodes[2].reads_released, 0);
    inject_accept(&cl, 2, 2, 6, 5, 1); /* proposed after every member accepted 1 */
    assert_int_equal(cl.nodes[2].reads_released, 1);
    assert_int_equal(cl.nodes[2].stale_reads, 0);
    cp_free(&cl);
}

/* Replica 2 (of 5) accepted 1..10 in ballot 1.1, none decided (the chain broke after it), when
 * a read arrives: its slot is 11. The next leader, 3, never learned of those values and
 * proposes from 1 in ballot 2.3. The read arrived before replica 2 accepted anything of that
 * ballot, so the first whole ack of the ballot serves it; left at slot 11 it would wait until
 * the new leader proposed past 11, one barrier at a time. */
static void a_read_from_before_a_ballot_change_waits_from_the_new_slot(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 5, NULL, 23, NULL);
    struct chain_accept m = {.ballot = {.round = 1, .node = 1},
                             .counter = 1, /* stored as 2 < Q */
                             .value = {.kind = CHAIN_VALUE_NOOP}};
    for (m.instance = 1; m.instance <= 10; m.instance++)
        inject(&cl, 1, 1, &m);
    assert_int_equal(cp_executed(&cl, 1), 0);
    read_requiring(&cl, 1, 0);
    /* Ballot 2.3's chain is 3, 4, 5, 1, 2: replica 2 is its tail. */
    m = (struct chain_accept){.ballot = {.round = 2, .node = 3},
                              .counter = 4,
                              .value = {.kind = CHAIN_VALUE_NOOP}};
    for (m.instance = 1; m.instance <= 3; m.instance++) {
        m.ack = m.whole_ack = m.instance - 1;
        m.decided = m.instance;
        inject(&cl, 1, 1, &m);
    }
    assert_int_equal(cp_executed(&cl, 1), 3);
    assert_int_equal(cl.nodes[1].reads_released, 1);
    assert_int_equal(cl.nodes[1].stale_reads, 0);
    cp_free(&cl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_are_never_stale_under_random_interleavings),
        cmocka_unit_test(reads_are_never_stale_at_replicas_that_restart_or_lose_messages),
        cmocka_unit_test(the_planted_read_bug_is_caught),
        cmocka_unit_test(idle_reads_are_released_within_a_few_ticks),
        cmocka_unit_test(a_read_at_the_leader_waits_for_a_write_decided_elsewhere),
        cmocka_unit_test(a_read_is_not_released_by_an_ack_that_overtook_a_lost_instance),
        cmocka_unit_test(a_lagging_replica_waits_for_an_instance_proposed_after_it_accepted),
        cmocka_unit_test(a_read_from_before_a_ballot_change_waits_from_the_new_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
