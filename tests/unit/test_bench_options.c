/* catena-bench's flags (defaults, values, refusals) and the INFO fields its cost figures read. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "bench/driver_resp.h"
#include "bench/options.h"

#include <string.h>

static struct bench_options options;

/* Parses a NULL-terminated list of words after the program name; errors go to /dev/null. */
static bool parse(const char *const *words)
{
    char *argv[32] = {"catena-bench"};
    int argc = 1;
    while (*words)
        argv[argc++] = (char *)*words++;
    FILE *sink = fopen("/dev/null", "w");
    bool help;
    bool ok = bench_options_parse(&options, argc, argv, &help, sink);
    fclose(sink);
    return ok;
}

static void defaults_are_a_ten_second_run_against_make_run(void **state)
{
    (void)state;
    assert_true(parse((const char *[]){NULL}));
    assert_string_equal(options.driver_name, "catena");
    assert_int_equal(options.host_count, 3);
    assert_int_equal(options.hosts[2].port, 7003);
    assert_true(options.duration_s == 10 && options.ops == 0);
    assert_int_equal(options.connections, 50);
    assert_int_equal(options.distribution, BENCH_ZIPFIAN);
    assert_true(options.theta == 0.99);
    assert_true(parse((const char *[]){"--driver", "redis", NULL}));
    assert_int_equal(options.host_count, 1);
    assert_int_equal(options.hosts[0].port, 6379);
}

static void every_flag_is_read(void **state)
{
    (void)state;
    assert_true(parse((const char *[]){
        "--connections", "8", "--threads=2", "--ops", "1000", "--warmup", "0.5", "--read-ratio",
        "0.95", "--value-size", "0", "--keys", "77", "--distribution", "uniform", "--theta",
        "0.5", "--pipeline", "16", "--target-rate", "2500.5", "--hosts", "a:1,[::1]:2",
        "--seed", "18446744073709551615", "--allow-errors", "--json", "--reconnect-ms", "250",
        NULL}));
    assert_int_equal(options.connections, 8);
    assert_int_equal(options.threads, 2);
    assert_int_equal(options.ops, 1000);
    assert_true(options.duration_s == 0 && options.warmup_s == 0.5);
    assert_true(options.read_ratio == 0.95 && options.theta == 0.5);
    assert_int_equal(options.value_size_bytes, 0);
    assert_int_equal(options.keys, 77);
    assert_int_equal(options.distribution, BENCH_UNIFORM);
    assert_int_equal(options.pipeline, 16);
    assert_true(options.target_rate_ops == 2500.5);
    assert_int_equal(options.host_count, 2);
    assert_string_equal(options.hosts[1].name, "::1");
    assert_int_equal(options.hosts[1].port, 2);
    assert_true(options.seed == UINT64_MAX);
    assert_true(options.allow_errors);
    assert_int_equal(options.output, BENCH_OUTPUT_JSON);
    assert_true(options.reconnect_ms == 250);
}

static void load_writes_every_key_once(void **state)
{
    (void)state;
    assert_true(parse((const char *[]){"--load", "--keys", "77", "--read-ratio", "0.9",
                                       "--warmup", "3", NULL}));
    assert_true(options.load);
    assert_int_equal(options.ops, 77);
    assert_true(options.duration_s == 0 && options.warmup_s == 0 && options.read_ratio == 0);
}

static void server_pids_name_one_process_per_host(void **state)
{
    (void)state;
    assert_true(parse((const char *[]){"--driver", "zookeeper", "--hosts", "a:1,b:2,c:3",
                                       "--server-pids", "101,202,303", NULL}));
    assert_int_equal(options.server_pid_count, 3);
    assert_int_equal(options.server_pids[2], 303);
    assert_true(parse((const char *[]){"--driver", "redis", "--server-pids", "7", NULL}));
    assert_int_equal(options.server_pids[0], 7);
    assert_true(parse((const char *[]){NULL}));
    assert_int_equal(options.server_pid_count, 0);
    const char *const bad[] = {"101,202", "1,2,3,4", "0,1,2", "1,,2", "1,2,x", "-1,2,3",
                               "1,2,3,", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (parse((const char *[]){"--hosts", "a:1,b:2,c:3", "--server-pids", bad[i], NULL}))
            fail_msg("accepted --server-pids '%s' for 3 hosts", bad[i]);
}

static void bad_flags_are_refused(void **state)
{
    (void)state;
    const char *const bad[][3] = {
        {"--bogus", NULL}, {"--connections", "0"}, {"--connections", "2.5"},
        {"--connections", NULL}, {"--read-ratio", "1.1"}, {"--theta", "1"},
        {"--distribution", "pareto"}, {"--hosts", "nohost"}, {"--hosts", "h:0"},
        {"--hosts", "h:1,"}, {"--seed", "-1"}, {"--csv", "--json"},
        {"--duration", "1", NULL}, {"--threads", "60"}, {"positional", NULL},
        {"--reconnect-ms", "-1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *words[6] = {bad[i][0], bad[i][1], NULL};
        if (i == 12) { /* --duration with --ops */
            words[2] = "--ops";
            words[3] = "5";
        }
        if (!parse(words))
            continue;
        fail_msg("accepted %s %s", bad[i][0], bad[i][1] ? bad[i][1] : "");
    }
}

static void info_counters_are_read(void **state)
{
    (void)state;
    const char text[] = "# Replication\r\nrole:leader\r\nreplica_id:2\r\n# CPU\r\n"
                        "used_cpu_sys:1.500000\r\nused_cpu_user:0.250000\r\n# Peers\r\n"
                        "peer_1:connected=1,messages_sent=9\r\npeer_messages_sent:10\r\n"
                        "peer_bytes_sent:2000\r\npeer_messages_received:11\r\n"
                        "peer_bytes_received:3000\r\n";
    struct bench_server_counters c;
    bench_resp_parse_info(text, strlen(text), &c);
    assert_true(c.has_cpu && c.has_peer);
    assert_true(c.cpu_s == 1.75);
    assert_int_equal(c.peer_messages_sent, 10);
    assert_int_equal(c.peer_messages_received, 11);
    assert_int_equal(c.peer_bytes_sent, 2000);
    assert_int_equal(c.peer_bytes_received, 3000);
    assert_string_equal(c.id, "2");
    /* Redis: CPU only. */
    const char redis[] = "# CPU\r\nused_cpu_sys:0.5\r\nused_cpu_user:0.5\r\n";
    bench_resp_parse_info(redis, strlen(redis), &c);
    assert_true(c.has_cpu && !c.has_peer && c.cpu_s == 1.0);
    assert_string_equal(c.id, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_a_ten_second_run_against_make_run),
        cmocka_unit_test(every_flag_is_read),
        cmocka_unit_test(load_writes_every_key_once),
        cmocka_unit_test(server_pids_name_one_process_per_host),
        cmocka_unit_test(bad_flags_are_refused),
        cmocka_unit_test(info_counters_are_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
