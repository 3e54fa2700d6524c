/* The linearizability checker on small hand-written histories (text format, README.md):
 * histories that must pass, anomalies that must be caught, and the report. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "check/check.h"
#include "check/history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void parse(const char *text, struct history *h)
{
    FILE *in = fmemopen((void *)text, strlen(text), "r");
    assert_non_null(in);
    history_init(h);
    char err[256] = "";
    bool ok = history_read(in, h, err, sizeof err);
    if (!ok)
        print_error("%s\n", err);
    assert_true(ok);
    fclose(in);
}

/* Checks text; returns the verdict and, when wanted, the report (to free). */
static enum check_verdict check_text(const char *text, uint64_t max_states, char **report,
                                     struct check_result *out)
{
    struct history h;
    parse(text, &h);
    struct check_limits limits = {.max_states = max_states};
    struct check_result r;
    check_history(&h, &limits, &r);
    enum check_verdict v = r.verdict;
    assert_true((v == CHECK_NOT_LINEARIZABLE) == (r.report != NULL));
    if (report) {
        *report = r.report;
        r.report = NULL;
    }
    if (out)
        *out = r;
    check_result_free(&r);
    history_free(&h);
    return v;
}

#define LINEARIZABLE(text) assert_int_equal(check_text(text, 0, NULL, NULL), CHECK_LINEARIZABLE)
#define NOT_LINEARIZABLE(text) \
    assert_int_equal(check_text(text, 0, NULL, NULL), CHECK_NOT_LINEARIZABLE)

static void test_empty(void **state)
{
    (void)state;
    struct check_result r;
    assert_int_equal(check_text("# nothing\n\n", 0, NULL, &r), CHECK_LINEARIZABLE);
    assert_int_equal(r.groups, 0);
    assert_int_equal(r.states, 0);
}

static void test_sequential(void **state)
{
    (void)state;
    LINEARIZABLE("0 1 invoke GET x\n1 1 ok nil\n"
                 "2 1 invoke SET x 1\n3 1 ok\n"
                 "4 1 invoke GET x\n5 1 ok 1\n"
                 "6 1 invoke INCR x\n7 1 ok 2\n"
                 "8 1 invoke APPEND x a\n9 1 ok 2\n"
                 "10 1 invoke GET x\n11 1 ok 2a\n"
                 "12 1 invoke DEL x\n13 1 ok 1\n"
                 "14 1 invoke DEL x\n15 1 ok 0\n"
                 "16 1 invoke INCR x\n17 1 ok 1\n"
                 "18 1 invoke APPEND y \"\"\n19 1 ok 0\n"
                 "20 1 invoke MGET x y z\n21 1 ok 1 \"\" nil\n"
                 "22 1 invoke MSET x \"a b\" z 7\n23 1 ok\n"
                 "24 1 invoke MGET z x\n25 1 ok 7 \"a b\"\n"
                 "26 1 invoke DEL x y z w\n27 1 ok 3\n");
}

static void test_redis_details(void **state)
{
    (void)state;
    /* DEL counts a key once; MSET's last value for a key wins; INCR of -1. */
    LINEARIZABLE("0 1 invoke SET x 1\n1 1 ok\n2 1 invoke DEL x x\n3 1 ok 1\n"
                 "4 1 invoke MSET x 1 x 2\n5 1 ok\n6 1 invoke GET x\n7 1 ok 2\n"
                 "8 1 invoke SET n -1\n9 1 ok\n10 1 invoke INCR n\n11 1 ok 0\n");
    /* Redis refuses INCR on "007", " 7" and "abc": an OK result there is impossible. */
    NOT_LINEARIZABLE("0 1 invoke SET x 007\n1 1 ok\n2 1 invoke INCR x\n3 1 ok 8\n");
    NOT_LINEARIZABLE("0 1 invoke SET x \" 7\"\n1 1 ok\n2 1 invoke INCR x\n3 1 ok 8\n");
    NOT_LINEARIZABLE("0 1 invoke SET x abc\n1 1 ok\n2 1 invoke INCR x\n3 1 ok 1\n");
    NOT_LINEARIZABLE("0 1 invoke SET x 9223372036854775807\n1 1 ok\n"
                     "2 1 invoke INCR x\n3 1 ok -9223372036854775808\n");
    /* APPEND to a missing key creates it, even when empty. */
    NOT_LINEARIZABLE("0 1 invoke APPEND x \"\"\n1 1 ok 0\n2 1 invoke GET x\n3 1 ok nil\n");
}

static void test_concurrent_writes(void **state)
{
    (void)state;
    const char *writes = "0 1 invoke SET x 1\n0 2 invoke SET x 2\n100 1 ok\n100 2 ok\n";
    char text[512];
    /* Reads after both writes see one of them, the same one. */
    snprintf(text, sizeof text, "%s200 3 invoke GET x\n200 4 invoke GET x\n"
                                "300 3 ok 2\n300 4 ok 2\n", writes);
    LINEARIZABLE(text);
    snprintf(text, sizeof text, "%s200 3 invoke GET x\n200 4 invoke GET x\n"
                                "300 3 ok 1\n300 4 ok 1\n", writes);
    LINEARIZABLE(text);
    snprintf(text, sizeof text, "%s200 3 invoke GET x\n300 3 ok 1\n"
                                "400 4 invoke GET x\n500 4 ok 2\n", writes);
    NOT_LINEARIZABLE(text);
    /* Reads during the writes may see nil, 1 then 2, but not 2 then 1 then 2. */
    snprintf(text, sizeof text, "0 1 invoke SET x 1\n0 2 invoke SET x 2\n"
                                "10 3 invoke GET x\n20 3 ok nil\n30 3 invoke GET x\n40 3 ok 1\n"
                                "50 3 invoke GET x\n60 3 ok 2\n100 1 ok\n100 2 ok\n"
                                "200 3 invoke GET x\n300 3 ok 2\n");
    LINEARIZABLE(text);
    snprintf(text, sizeof text, "0 1 invoke SET x 1\n0 2 invoke SET x 2\n"
                                "10 3 invoke GET x\n20 3 ok 2\n30 3 invoke GET x\n40 3 ok 1\n"
                                "100 1 ok\n100 2 ok\n200 3 invoke GET x\n300 3 ok 2\n");
    NOT_LINEARIZABLE(text);
}

static void test_time_ties(void **state)
{
    (void)state;
    /* An op invoked at the time another returns is concurrent with it ... */
    LINEARIZABLE("100 1 invoke SET x 1\n200 2 invoke GET x\n200 1 ok\n300 2 ok nil\n");
    LINEARIZABLE("100 1 invoke SET x 1\n200 1 ok\n200 2 invoke GET x\n300 2 ok nil\n");
    /* ... one invoked strictly later follows it. */
    NOT_LINEARIZABLE("100 1 invoke SET x 1\n200 1 ok\n201 2 invoke GET x\n300 2 ok nil\n");
}

static void test_unknown_outcomes(void **state)
{
    (void)state;
    /* An unknown write observed later, or never. */
    LINEARIZABLE("100 1 invoke SET x 1\n- 1 unknown\n500 2 invoke GET x\n600 2 ok 1\n");
    LINEARIZABLE("100 1 invoke SET x 1\n- 1 unknown\n500 2 invoke GET x\n600 2 ok nil\n"
                 "700 2 invoke GET x\n800 2 ok nil\n");
    /* Taking effect late, after a read that missed it. */
    LINEARIZABLE("100 1 invoke SET x 1\n- 1 unknown\n500 2 invoke GET x\n600 2 ok nil\n"
                 "700 2 invoke GET x\n800 2 ok 1\n");
    /* Not before its invocation. */
    NOT_LINEARIZABLE("100 2 invoke GET x\n200 2 ok 1\n300 1 invoke SET x 1\n- 1 unknown\n");
    /* An unknown INCR seen through a later INCR's result; pending is the same. */
    LINEARIZABLE("0 1 invoke INCR x\n- 1 unknown\n100 2 invoke INCR x\n200 2 ok 2\n");
    LINEARIZABLE("0 1 invoke INCR x\n100 2 invoke INCR x\n200 2 ok 2\n");
    /* An unknown op takes effect once at most. */
    NOT_LINEARIZABLE("0 1 invoke INCR x\n- 1 unknown\n10 2 invoke GET x\n20 2 ok 1\n"
                     "30 2 invoke GET x\n40 2 ok 2\n");
    NOT_LINEARIZABLE("0 1 invoke APPEND x a\n- 1 unknown\n10 2 invoke APPEND x b\n20 2 ok 2\n"
                     "30 2 invoke GET x\n40 2 ok aab\n");
    /* A client that gave up on an op goes on with the next; unknown reads are ignored. */
    LINEARIZABLE("0 1 invoke SET x 1\n- 1 unknown\n10 1 invoke GET x\n- 1 unknown\n"
                 "20 1 invoke SET x 2\n30 1 ok\n40 1 invoke GET x\n50 1 ok 2\n");
}

static void test_failed_ops_ignored(void **state)
{
    (void)state;
    LINEARIZABLE("0 1 invoke SET x 1\n10 1 fail\n20 2 invoke GET x\n30 2 ok nil\n");
    LINEARIZABLE("0 1 invoke SET x abc\n10 1 ok\n20 1 invoke INCR x\n30 1 fail\n"
                 "40 1 invoke GET x\n50 1 ok abc\n");
    NOT_LINEARIZABLE("0 1 invoke SET x 1\n10 1 fail\n20 1 invoke SET x 2\n30 1 ok\n"
                     "40 2 invoke GET x\n50 2 ok 1\n");
}

static void test_anomalies(void **state)
{
    (void)state;
    /* Stale read. */
    NOT_LINEARIZABLE("0 1 invoke SET x 1\n10 1 ok\n20 1 invoke SET x 2\n30 1 ok\n"
                     "40 2 invoke GET x\n50 2 ok 1\n");
    /* Lost write. */
    NOT_LINEARIZABLE("0 1 invoke SET x 1\n10 1 ok\n20 2 invoke GET x\n30 2 ok nil\n");
    /* Duplicated INCR: the final read shows one too many, or a result skips a value. */
    NOT_LINEARIZABLE("0 1 invoke INCR x\n10 1 ok 1\n20 1 invoke INCR x\n30 1 ok 2\n"
                     "40 2 invoke GET x\n50 2 ok 3\n");
    NOT_LINEARIZABLE("0 1 invoke INCR x\n10 1 ok 1\n20 2 invoke INCR x\n30 2 ok 3\n");
    NOT_LINEARIZABLE("0 1 invoke INCR x\n0 2 invoke INCR x\n10 1 ok 1\n10 2 ok 1\n");
    /* Non-atomic MSET: a read sees one key updated and not the other. */
    NOT_LINEARIZABLE("0 1 invoke MSET x 1 y 1\n50 2 invoke MGET x y\n60 2 ok 1 nil\n"
                     "100 1 ok\n");
    NOT_LINEARIZABLE("0 1 invoke MSET x 1 y 1\n10 2 invoke GET x\n20 2 ok 1\n"
                     "30 2 invoke GET y\n40 2 ok nil\n100 1 ok\n");
    LINEARIZABLE("0 1 invoke MSET x 1 y 1\n10 2 invoke GET y\n20 2 ok nil\n"
                 "30 2 invoke GET x\n40 2 ok 1\n100 1 ok\n");
    /* A value never written. */
    NOT_LINEARIZABLE("0 1 invoke SET x 1\n10 1 ok\n20 2 invoke GET x\n30 2 ok zzz\n");
    /* APPEND's length and DEL's count. */
    NOT_LINEARIZABLE("0 1 invoke APPEND x ab\n10 1 ok 2\n20 1 invoke APPEND x c\n30 1 ok 4\n");
    NOT_LINEARIZABLE("0 1 invoke SET x 1\n10 1 ok\n20 1 invoke SET y 2\n30 1 ok\n"
                     "40 1 invoke DEL x y z\n50 1 ok 3\n");
    LINEARIZABLE("0 1 invoke SET x 1\n10 1 ok\n20 1 invoke SET y 2\n30 1 ok\n"
                 "40 1 invoke DEL x y z\n50 1 ok 2\n");
}

static void test_groups(void **state)
{
    (void)state;
    struct check_result r;
    assert_int_equal(check_text("0 1 invoke SET x 1\n1 1 ok\n2 1 invoke MSET y 1 z 2\n3 1 ok\n"
                                "4 1 invoke GET w\n5 1 ok nil\n6 1 invoke MGET x v\n7 1 ok 1 nil\n"
                                "8 1 invoke GET q\n9 1 fail\n",
                                0, NULL, &r),
                     CHECK_LINEARIZABLE);
    assert_int_equal(r.groups, 3); /* {x, v}, {y, z}, {w}; q only in a failed op */
    assert_true(r.states >= 4);
}

static void test_budget(void **state)
{
    (void)state;
    const char *text = "0 1 invoke SET x 1\n0 2 invoke SET x 2\n0 3 invoke SET x 3\n"
                       "100 1 ok\n100 2 ok\n100 3 ok\n200 4 invoke GET x\n300 4 ok 1\n";
    struct check_result r;
    assert_int_equal(check_text(text, 2, NULL, &r), CHECK_GAVE_UP);
    assert_int_equal(check_text(text, 0, NULL, &r), CHECK_LINEARIZABLE);
    /* A definite failure in one group wins over giving up in another. */
    char both[512];
    snprintf(both, sizeof both, "%s400 5 invoke GET y\n500 5 ok 1\n", text);
    assert_int_equal(check_text(both, 2, NULL, &r), CHECK_NOT_LINEARIZABLE);
}

static void test_report(void **state)
{
    (void)state;
    /* Two failing groups: the report shows the smaller one, {y}. */
    char *report = NULL;
    assert_int_equal(check_text("0 1 invoke SET x 1\n10 1 ok\n20 1 invoke SET x 2\n30 1 ok\n"
                                "40 2 invoke GET x\n50 2 ok 1\n55 4 invoke GET x\n56 4 ok 2\n"
                                "60 3 invoke SET y \"a b\"\n70 3 ok\n"
                                "80 3 invoke INCR y\n- 3 unknown\n"
                                "90 2 invoke GET y\n100 2 ok nil\n",
                                0, &report, NULL),
                     CHECK_NOT_LINEARIZABLE);
    print_message("%s", report);
    assert_non_null(strstr(report, "key group {y}: 3 ops (2 completed, 1 unknown)"));
    assert_non_null(strstr(report, "longest linearizable prefix: 1 of 2 completed ops"));
    assert_non_null(strstr(report, "leaving y=\"a b\""));
    assert_non_null(strstr(report, "client 2's GET y -> nil [90 .. 100] could not be placed"));
    assert_non_null(strstr(report, "+ client 3  [ 60 ..  70]  SET y \"a b\" -> OK\n"));
    assert_non_null(strstr(report, "  client 3  [ 80 ..   ?]  INCR y -> ?\n"));
    assert_non_null(strstr(report, "! client 2  [ 90 .. 100]  GET y -> nil\n"));
    assert_null(strstr(report, "GET x"));
    free(report);
}

static void test_unknown_ops_together(void **state)
{
    (void)state;
    /* Two unknown writes on different keys must both take effect before the DEL that sees
     * both (neither depends on the other). */
    LINEARIZABLE("0 1 invoke SET x 0\n- 1 unknown\n1 2 invoke SET y 1\n- 2 unknown\n"
                 "10 3 invoke DEL y x\n20 3 ok 2\n");
    /* An unknown write overwritten at once is as good as never done. */
    LINEARIZABLE("0 1 invoke SET x 0\n- 1 unknown\n1 2 invoke SET x 1\n2 2 ok\n"
                 "10 3 invoke GET x\n20 3 ok 1\n");
    /* Unknown MSET seen on one key: its other key must show it too. */
    NOT_LINEARIZABLE("0 1 invoke MSET x 1 y 1\n- 1 unknown\n10 2 invoke GET x\n20 2 ok 1\n"
                     "30 2 invoke GET y\n40 2 ok nil\n");
}

/* Builds a sequential history of n INCRs and GETs on one key; the last GET reads stale. */
static char *long_history(int n, bool stale)
{
    size_t cap = (size_t)n * 48 + 64, len = 0;
    char *text = malloc(cap);
    int64_t value = 0;
    for (int i = 0; i < n; i++) {
        uint64_t t = (uint64_t)i * 10;
        if (i % 2 == 0)
            len += (size_t)snprintf(text + len, cap - len, "%llu 1 invoke INCR x\n%llu 1 ok %lld\n",
                                    (unsigned long long)t, (unsigned long long)t + 5,
                                    (long long)++value);
        else
            len += (size_t)snprintf(text + len, cap - len, "%llu 2 invoke GET x\n%llu 2 ok %lld\n",
                                    (unsigned long long)t, (unsigned long long)t + 5,
                                    (long long)(stale && i == n - 1 ? value - 1 : value));
    }
    return text;
}

static void test_long_histories(void **state)
{
    (void)state;
    char *text = long_history(20000, false);
    struct check_result r;
    assert_int_equal(check_text(text, 0, NULL, &r), CHECK_LINEARIZABLE);
    free(text);
    text = long_history(20000, true);
    char *report = NULL;
    assert_int_equal(check_text(text, 0, &report, NULL), CHECK_NOT_LINEARIZABLE);
    assert_non_null(strstr(report, "key group {x}: 20000 ops"));
    assert_non_null(strstr(report, "earlier ops not shown"));
    assert_non_null(strstr(report, "! client 2  [199990 .. 199995]  GET x -> 9999\n"));
    free(report);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_sequential),
        cmocka_unit_test(test_redis_details),
        cmocka_unit_test(test_concurrent_writes),
        cmocka_unit_test(test_time_ties),
        cmocka_unit_test(test_unknown_outcomes),
        cmocka_unit_test(test_failed_ops_ignored),
        cmocka_unit_test(test_anomalies),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_unknown_ops_together),
        cmocka_unit_test(test_long_histories),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
