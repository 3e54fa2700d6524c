/* Every check of the simulator passes on a clean run and can fail: tampered execution logs,
 * histories with a stale read or a lost write, a client without progress, and runs with each
 * planted engine bug, which must be caught by the check that is meant to catch it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "check/history.h"
#include "sim/checks.h"
#include "sim/sim.h"

#include <stdlib.h>
#include <string.h>

static void a_clean_run_passes_every_check(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        struct sim_options o;
        sim_options_default(&o);
        assert_true(sim_profile_find("none", &o.profile));
        o.seed = seed;
        o.nodes = seed % 2 ? 3 : 5;
        struct sim_result r;
        assert_int_equal(sim_run(&o, &r), SIM_PASS);
        assert_int_equal(r.failed, SIM_CHECK_NONE);
        assert_true(r.ops > 500);
        assert_int_equal(r.ops_unknown, 0);
        assert_int_equal(r.ops_fail, 0);
        assert_int_equal(r.ops_timed_out, 0);
        assert_int_equal(r.ops_ok, r.ops);
    }
}

static void a_faulty_run_passes_too(void **state)
{
    (void)state;
    struct sim_options o;
    sim_options_default(&o);
    o.seed = 2;
    struct sim_result r;
    assert_int_equal(sim_run(&o, &r), SIM_PASS);
}

/* Logs of three replicas that executed instances 1..n with the same payloads and digests. */
static void make_logs(struct sim_exec_log *logs, size_t count, instance_no n)
{
    for (size_t k = 0; k < count; k++) {
        sim_exec_log_init(&logs[k], (node_id)(k + 1), 0);
        for (instance_no i = 1; i <= n; i++)
            assert_true(sim_exec_log_append(&logs[k], i, i * 7, i * 13));
    }
}

static void free_logs(struct sim_exec_log *logs, size_t count)
{
    for (size_t k = 0; k < count; k++)
        sim_exec_log_free(&logs[k]);
}

static void a_tampered_digest_fails_the_digest_check(void **state)
{
    (void)state;
    struct sim_exec_log logs[3];
    const struct sim_exec_log *p[3] = {&logs[0], &logs[1], &logs[2]};
    char msg[256];
    make_logs(logs, 3, 50);
    assert_true(sim_check_digests(p, 3, msg, sizeof msg));
    logs[2].digests[20] ^= 1;
    assert_false(sim_check_digests(p, 3, msg, sizeof msg));
    assert_non_null(strstr(msg, "instance 21"));
    logs[2].digests[20] ^= 1;
    logs[1].payloads[40] ^= 1;
    assert_false(sim_check_digests(p, 3, msg, sizeof msg));
    assert_non_null(strstr(msg, "instance 41"));
    free_logs(logs, 3);
}

static void a_replica_behind_fails_convergence(void **state)
{
    (void)state;
    struct sim_exec_log logs[3];
    const struct sim_exec_log *p[3] = {&logs[0], &logs[1], &logs[2]};
    char msg[256];
    make_logs(logs, 3, 50);
    assert_true(sim_check_convergence(p, 3, 50, msg, sizeof msg));
    assert_true(sim_exec_log_append(&logs[0], 51, 1, 1));
    assert_false(sim_check_convergence(p, 3, 51, msg, sizeof msg));
    assert_non_null(strstr(msg, "replica 2"));
    free_logs(logs, 3);
}

static void execution_logs_refuse_gaps(void **state)
{
    (void)state;
    struct sim_exec_log l;
    sim_exec_log_init(&l, 1, 0);
    assert_false(sim_exec_log_append(&l, 0, 1, 1));
    assert_true(sim_exec_log_append(&l, 1, 1, 1));
    assert_false(sim_exec_log_append(&l, 3, 1, 1));
    assert_false(sim_exec_log_append(&l, 1, 1, 1));
    assert_true(sim_exec_log_append(&l, 2, 1, 1));
    assert_int_equal(sim_exec_log_last(&l), 2);
    sim_exec_log_free(&l);
}

static size_t set(struct history *h, uint32_t client, uint64_t t0, uint64_t t1, const char *v)
{
    const char *key = "x";
    size_t i = history_invoke(h, client, t0, OP_SET, 1, &key, &v);
    history_complete(h, i, t1, OUTCOME_OK, 0, NULL);
    return i;
}

static void get(struct history *h, uint32_t client, uint64_t t0, uint64_t t1, const char *v)
{
    const char *key = "x";
    size_t i = history_invoke(h, client, t0, OP_GET, 1, &key, NULL);
    history_complete(h, i, t1, OUTCOME_OK, 0, &v);
}

static enum sim_verdict check(const struct history *h)
{
    char msg[256], *report = NULL;
    uint64_t states;
    enum sim_verdict v = sim_check_history(h, 0, msg, sizeof msg, &report, &states);
    free(report);
    return v;
}

static void a_stale_read_fails_linearizability(void **state)
{
    (void)state;
    struct history h;
    history_init(&h);
    set(&h, SIM_PROCESS(0, 1), 0, 10, "a");
    set(&h, SIM_PROCESS(1, 1), 20, 30, "b");
    get(&h, SIM_PROCESS(2, 1), 25, 35, "a"); /* concurrent with b's SET: fine */
    assert_int_equal(check(&h), SIM_PASS);
    get(&h, SIM_PROCESS(2, 1), 40, 50, "a"); /* after b completed: stale */
    assert_int_equal(check(&h), SIM_VIOLATION);
    history_free(&h);
}

static void a_lost_write_fails_linearizability(void **state)
{
    (void)state;
    struct history h;
    history_init(&h);
    set(&h, SIM_PROCESS(0, 1), 0, 10, "a");
    get(&h, SIM_PROCESS(1, 1), 20, 30, NULL); /* the final read finds nothing */
    assert_int_equal(check(&h), SIM_VIOLATION);
    history_free(&h);
}

static void a_client_without_progress_fails_liveness(void **state)
{
    (void)state;
    struct history h;
    history_init(&h);
    char msg[256];
    set(&h, SIM_PROCESS(0, 1), 0, 10, "a");
    set(&h, SIM_PROCESS(1, 1), 0, 10, "b");
    set(&h, SIM_PROCESS(0, 2), 100, 110, "c"); /* client 0 after healing (t=100) */
    assert_false(sim_check_liveness(&h, 2, 100, 200, msg, sizeof msg));
    assert_non_null(strstr(msg, "client 1"));
    set(&h, SIM_PROCESS(1, 3), 150, 160, "d");
    assert_true(sim_check_liveness(&h, 2, 100, 200, msg, sizeof msg));
    assert_false(sim_check_liveness(&h, 2, 100, 155, msg, sizeof msg)); /* too late */
    history_free(&h);
}

/* Runs seeds until the planted bug shows; the check that fires must be the expected one. */
static void planted_bug_is_caught(const char *bug, enum sim_check_id expected, size_t nodes)
{
    struct sim_options o;
    sim_options_default(&o);
    o.planted_bugs = sim_bug_find(bug);
    o.nodes = nodes;
    assert_true(o.planted_bugs != 0);
    for (uint64_t seed = 1; seed <= 40; seed++) {
        o.seed = seed;
        struct sim_result r;
        if (sim_run(&o, &r) == SIM_VIOLATION) {
            assert_int_equal(r.failed, expected);
            return;
        }
    }
    fail_msg("the planted bug %s was not found in 40 seeds", bug);
}

static void read_without_wait_is_a_stale_read(void **state)
{
    (void)state;
    planted_bug_is_caught("read-without-wait", SIM_CHECK_LINEARIZABLE, 3);
}

static void accept_gaps_diverge_the_replicas(void **state)
{
    (void)state;
    planted_bug_is_caught("accept-gaps", SIM_CHECK_DIGEST, 3);
}

static void no_retransmit_stalls_the_cluster(void **state)
{
    (void)state;
    planted_bug_is_caught("no-retransmit", SIM_CHECK_LIVENESS, 5);
}

/* Each seed runs in a child process: a CHECK that aborts is a violation of that seed. */
static void an_abort_is_a_violation_of_its_seed(void **state)
{
    (void)state;
    struct sim_options o;
    sim_options_default(&o);
    o.nodes = 100; /* more than SIM_MAX_NODES: the run's set-up CHECK fails */
    struct sim_campaign c = {.first = 5, .count = 3, .jobs = 2};
    struct sim_campaign_result r;
    assert_true(sim_campaign_run(&o, &c, &r));
    assert_int_equal(r.runs, 3);
    assert_int_equal(r.violations, 3);
    assert_int_equal(r.by_check[SIM_CHECK_ABORT], 3);
    assert_int_equal(r.violation_seed_count, 3);
    uint64_t sum = 0;
    for (size_t i = 0; i < 3; i++)
        sum += r.violation_seeds[i];
    assert_int_equal(sum, 5 + 6 + 7);
}

static void a_campaign_sums_its_runs(void **state)
{
    (void)state;
    struct sim_options o;
    sim_options_default(&o);
    o.ops = 200;
    o.duration_ms = 400;
    struct sim_campaign c = {.first = 1, .count = 6, .jobs = 3};
    struct sim_campaign_result r;
    assert_true(sim_campaign_run(&o, &c, &r));
    assert_int_equal(r.runs, 6);
    assert_int_equal(r.passed + r.gave_up, 6);
    uint64_t ops = 0;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        struct sim_result one;
        o.seed = seed;
        sim_run(&o, &one);
        ops += one.ops;
    }
    assert_int_equal(r.ops, ops);
}

static void replay_command_names_every_flag(void **state)
{
    (void)state;
    struct sim_options o;
    sim_options_default(&o);
    o.seed = 77;
    o.nodes = 5;
    o.ops = 2000;
    o.planted_bugs = sim_bug_find("accept-gaps");
    assert_true(sim_profile_find("lossy", &o.profile));
    char cmd[256];
    sim_replay_command(&o, cmd, sizeof cmd);
    assert_string_equal(cmd, "catena-sim --seed 77 --nodes 5 --ops 2000 --profile lossy "
                             "--bug accept-gaps");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_clean_run_passes_every_check),
        cmocka_unit_test(a_faulty_run_passes_too),
        cmocka_unit_test(a_tampered_digest_fails_the_digest_check),
        cmocka_unit_test(a_replica_behind_fails_convergence),
        cmocka_unit_test(execution_logs_refuse_gaps),
        cmocka_unit_test(a_stale_read_fails_linearizability),
        cmocka_unit_test(a_lost_write_fails_linearizability),
        cmocka_unit_test(a_client_without_progress_fails_liveness),
        cmocka_unit_test(read_without_wait_is_a_stale_read),
        cmocka_unit_test(accept_gaps_diverge_the_replicas),
        cmocka_unit_test(no_retransmit_stalls_the_cluster),
        cmocka_unit_test(an_abort_is_a_violation_of_its_seed),
        cmocka_unit_test(a_campaign_sums_its_runs),
        cmocka_unit_test(replay_command_names_every_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
