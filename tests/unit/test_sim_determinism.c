/* The simulator is a function of its seed: the same seed replays the same run (same trace
 * hash, same counts), different seeds differ, keeping a readable trace changes nothing, and
 * the virtual network draws the same delays, losses and duplicates from the same seed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "sim/internal.h"
#include "sim/sim.h"

#include <stdlib.h>
#include <string.h>

static struct sim_options small_run(uint64_t seed)
{
    struct sim_options o;
    sim_options_default(&o);
    o.seed = seed;
    o.ops = 300;
    o.duration_ms = 500;
    return o;
}

static void same_seed_same_trace(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 5; seed++) {
        struct sim_options o = small_run(seed);
        struct sim_result a, b;
        sim_run(&o, &a);
        sim_run(&o, &b);
        assert_int_equal(a.trace_hash, b.trace_hash);
        assert_int_equal(a.events, b.events);
        assert_int_equal(a.ops, b.ops);
        assert_int_equal(a.messages, b.messages);
        assert_int_equal(a.highest_executed, b.highest_executed);
        assert_int_equal(a.end_time_us, b.end_time_us);
        assert_memory_equal(a.faults, b.faults, sizeof a.faults);
        assert_int_equal(a.verdict, b.verdict);
        assert_true(a.events > 100);
    }
}

static void different_seeds_differ(void **state)
{
    (void)state;
    uint64_t hashes[8];
    for (uint64_t seed = 0; seed < 8; seed++) {
        struct sim_options o = small_run(seed + 100);
        struct sim_result r;
        sim_run(&o, &r);
        hashes[seed] = r.trace_hash;
        for (uint64_t j = 0; j < seed; j++)
            assert_true(hashes[j] != hashes[seed]);
    }
}

static void keeping_the_trace_changes_nothing(void **state)
{
    (void)state;
    struct sim_options o = small_run(7);
    struct sim_result plain, traced;
    sim_run(&o, &plain);
    o.trace = true;
    sim_run(&o, &traced);
    assert_int_equal(plain.trace_hash, traced.trace_hash);
    assert_int_equal(plain.events, traced.events);
}

static void bugs_and_profiles_change_the_run(void **state)
{
    (void)state;
    struct sim_options o = small_run(3);
    struct sim_result base, other;
    sim_run(&o, &base);
    o.nodes = 5;
    sim_run(&o, &other);
    assert_true(base.trace_hash != other.trace_hash);
    o = small_run(3);
    assert_true(sim_profile_find("none", &o.profile));
    sim_run(&o, &other);
    assert_true(base.trace_hash != other.trace_hash);
    for (int k = 0; k < SIM_FAULT_KINDS; k++)
        assert_int_equal(other.faults[k], 0);
}

/* Drives the network of a bare simulator: n replicas, links drawn from the seed, and a fixed
 * sequence of sends; returns a hash of every delivery (time, link, bytes) in queue order. */
static uint64_t network_run(uint64_t seed, uint64_t *delivered)
{
    struct sim *s = calloc(1, sizeof *s);
    struct sim_result res = {0};
    assert_non_null(s);
    sim_options_default(&s->opt);
    s->opt.seed = seed;
    s->res = &res;
    s->n = 5;
    rng_seed(&s->rng, seed);
    sim_queue_init(&s->queue);
    sim_trace_init(&s->trace, false);
    sim_network_setup(s);
    uint8_t msg[16];
    for (uint32_t i = 0; i < 2000; i++) {
        memset(msg, (int)i, sizeof msg);
        s->now = i * 100;
        uint32_t from = i % 5, to = (from + 1 + (i / 5) % 4) % 5;
        sim_network_send(s, from, to, msg, sizeof msg);
    }
    struct sim_event e;
    uint64_t h = 1;
    *delivered = 0;
    while (sim_queue_pop(&s->queue, &e)) {
        h = h * 31 + e.time;
        h = h * 31 + e.from * 8 + e.node;
        h = h * 31 + sim_hash_bytes(e.data, e.len);
        free(e.data);
        (*delivered)++;
    }
    h ^= s->trace.hash;
    sim_queue_free(&s->queue);
    sim_trace_free(&s->trace);
    free(s);
    return h;
}

static void the_network_is_deterministic(void **state)
{
    (void)state;
    uint64_t n1, n2, n3;
    uint64_t a = network_run(42, &n1);
    uint64_t b = network_run(42, &n2);
    uint64_t c = network_run(43, &n3);
    assert_int_equal(a, b);
    assert_int_equal(n1, n2);
    assert_true(a != c);
    assert_true(n1 > 0);
}

/* FIFO links never deliver out of order; the queue breaks time ties by push order. */
static void the_queue_orders_by_time_then_push_order(void **state)
{
    (void)state;
    struct sim_queue q;
    sim_queue_init(&q);
    uint64_t times[] = {5, 3, 5, 1, 3, 9, 5, 0};
    for (uint32_t i = 0; i < 8; i++)
        sim_queue_push(&q, &(struct sim_event){.time = times[i], .node = i});
    uint32_t expect[] = {7, 3, 1, 4, 0, 2, 6, 5};
    struct sim_event e;
    for (uint32_t i = 0; i < 8; i++) {
        assert_true(sim_queue_pop(&q, &e));
        assert_int_equal(e.node, expect[i]);
    }
    assert_false(sim_queue_pop(&q, &e));
    sim_queue_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_seed_same_trace),
        cmocka_unit_test(different_seeds_differ),
        cmocka_unit_test(keeping_the_trace_changes_nothing),
        cmocka_unit_test(bugs_and_profiles_change_the_run),
        cmocka_unit_test(the_network_is_deterministic),
        cmocka_unit_test(the_queue_orders_by_time_then_push_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
