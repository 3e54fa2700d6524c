/* The pieces of catena-bench's etcd and ZooKeeper drivers that need no server: base64 (RFC 4648
 * test vectors), the CPU figure read from etcd's /metrics, the ZooKeeper results' outcomes,
 * the driver table and the flags the drivers read. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "bench/base64.h"
#include "bench/driver_etcd.h"
#include "bench/driver_zk_internal.h"
#include "bench/options.h"

#include <string.h>

static void base64_matches_the_rfc_vectors(void **state)
{
    (void)state;
    static const char *const vectors[][2] = {
        {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        char out[16];
        size_t len = strlen(vectors[i][0]);
        assert_int_equal(bench_base64_encode(vectors[i][0], len, out), bench_base64_length(len));
        assert_string_equal(out, vectors[i][1]);
    }
    /* Every byte value, including NUL and the ones that map to '+' and '/'. */
    const unsigned char bytes[] = {0x00, 0xfb, 0xff};
    char out[8];
    bench_base64_encode(bytes, sizeof bytes, out);
    assert_string_equal(out, "APv/");
}

static void etcd_cpu_comes_from_process_cpu_seconds_total(void **state)
{
    (void)state;
    static const char metrics[] =
        "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
        "# TYPE process_cpu_seconds_total counter\n"
        "process_cpu_seconds_total_other 9\n"
        "process_cpu_seconds_total 12.34\n"
        "process_max_fds 1024\n";
    struct bench_server_counters counters;
    bench_etcd_parse_metrics(metrics, sizeof metrics - 1, &counters);
    assert_true(counters.has_cpu);
    assert_true(counters.cpu_s > 12.339 && counters.cpu_s < 12.341);
    assert_false(counters.has_peer);
    bench_etcd_parse_metrics("process_max_fds 1024\n", 21, &counters);
    assert_false(counters.has_cpu);
}

static void zookeeper_results_map_to_outcomes(void **state)
{
    (void)state;
    struct zk_request r = {.op = BENCH_OP_READ, .rc = ZNONODE};
    assert_int_equal(zk_ops_outcome(&r), BENCH_OUTCOME_OK); /* a key never written */
    r.op = BENCH_OP_WRITE;
    assert_int_equal(zk_ops_outcome(&r), BENCH_OUTCOME_ERROR_REPLY);
    r.rc = ZOK;
    assert_int_equal(zk_ops_outcome(&r), BENCH_OUTCOME_OK);
    r.rc = ZCONNECTIONLOSS;
    assert_int_equal(zk_ops_outcome(&r), BENCH_OUTCOME_NO_REPLY);
    r.rc = ZCLOSING;
    assert_int_equal(zk_ops_outcome(&r), BENCH_OUTCOME_NO_REPLY);
    r.rc = ZNOAUTH;
    assert_int_equal(zk_ops_outcome(&r), BENCH_OUTCOME_ERROR_REPLY);
}

static void drivers_have_their_default_hosts_and_read_flags(void **state)
{
    (void)state;
    assert_non_null(bench_driver_find("etcd"));
    assert_non_null(bench_driver_find("zookeeper"));
    assert_null(bench_driver_find("consul"));
    static struct bench_options o;
    bool help;
    char *etcd[] = {"catena-bench", "--driver", "etcd", "--serializable-reads", "--cdf", "x"};
    assert_true(bench_options_parse(&o, 6, etcd, &help, stderr));
    assert_int_equal(o.hosts[0].port, 2379);
    assert_true(o.serializable_reads);
    assert_string_equal(o.cdf_path, "x");
    char *zk[] = {"catena-bench", "--driver", "zookeeper"};
    assert_true(bench_options_parse(&o, 3, zk, &help, stderr));
    assert_int_equal(o.hosts[0].port, 2181);
    assert_false(o.serializable_reads);
    assert_null(o.cdf_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(base64_matches_the_rfc_vectors),
        cmocka_unit_test(etcd_cpu_comes_from_process_cpu_seconds_total),
        cmocka_unit_test(zookeeper_results_map_to_outcomes),
        cmocka_unit_test(drivers_have_their_default_hosts_and_read_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
