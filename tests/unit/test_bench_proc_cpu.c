/* catena-bench's CPU time of a local process (proc_cpu.c, --server-pids): /proc/PID/stat lines
 * with awkward command names, and this process's own CPU growing as it works. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "bench/proc_cpu.h"

#include <time.h>
#include <unistd.h>

static void utime_and_stime_are_summed(void **state)
{
    (void)state;
    /* A JVM's line (fields 14 and 15: 1234 and 566 ticks), then a name with ") " inside. */
    const char *java = "4242 (java) S 1 4242 4242 0 -1 4194560 51234 0 12 0 1234 566 0 0 20 0 "
                       "41 0 123456 3000000000 50000 18446744073709551615";
    double cpu_s = 0;
    assert_true(bench_proc_parse_stat(java, 100, &cpu_s));
    assert_true(cpu_s > 17.99 && cpu_s < 18.01);
    const char *odd = "7 (a) b (c) S 1 7 7 0 -1 0 0 0 0 0 250 50 0 0 20 0 1 0 5 0 0 0";
    assert_true(bench_proc_parse_stat(odd, 100, &cpu_s));
    assert_true(cpu_s > 2.99 && cpu_s < 3.01);
}

static void other_text_is_refused(void **state)
{
    (void)state;
    double cpu_s;
    assert_false(bench_proc_parse_stat("", 100, &cpu_s));
    assert_false(bench_proc_parse_stat("12 (x) S 1 2 3", 100, &cpu_s));
    assert_false(bench_proc_parse_stat("no name 1 2 3 4 5 6 7 8 9 10 11 12 13", 100, &cpu_s));
    assert_false(bench_proc_parse_stat("7 (a) S 1 7 7 0 -1 0 0 0 0 0 250 50", 0, &cpu_s));
}

static void own_cpu_grows_while_working(void **state)
{
    (void)state;
    double before, after;
    char error[128];
    assert_true(bench_proc_cpu_s((int)getpid(), &before, error, sizeof error));
    /* Spin until the process has used 50 ms of CPU by its own clock (5 ticks of 10 ms). */
    struct timespec t0, t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    volatile uint64_t spin = 0;
    do {
        for (int i = 0; i < 100000; i++)
            spin += (uint64_t)i;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    } while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 < 0.05);
    assert_true(bench_proc_cpu_s((int)getpid(), &after, error, sizeof error));
    assert_true(after - before >= 0.02);
    assert_false(bench_proc_cpu_s(0x7ffffff0, &after, error, sizeof error));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utime_and_stime_are_summed),
        cmocka_unit_test(other_text_is_refused),
        cmocka_unit_test(own_cpu_grows_while_working),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
