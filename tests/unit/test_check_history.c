/* The history text format: exact round trips through history_write and history_read, the
 * quoting of awkward values, FIFO completions per client, and malformed lines rejected with
 * their line number. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "check/history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *write_text(const struct history *h)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    assert_true(history_write(out, h));
    fclose(out);
    return text;
}

static bool read_text(const char *text, size_t len, struct history *h, char *err, size_t size)
{
    FILE *in = fmemopen((void *)text, len, "r");
    assert_non_null(in);
    history_init(h);
    bool ok = history_read(in, h, err, size);
    fclose(in);
    return ok;
}

static void assert_same_string(const char *a, const char *b)
{
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void assert_same_strings(char **a, char **b, uint32_t n)
{
    assert_true((a == NULL) == (b == NULL));
    for (uint32_t i = 0; a && i < n; i++)
        assert_same_string(a[i], b[i]);
}

static void assert_same_history(const struct history *a, const struct history *b)
{
    assert_int_equal(a->count, b->count);
    for (size_t i = 0; i < a->count; i++) {
        const struct op *x = &a->ops[i], *y = &b->ops[i];
        assert_int_equal(x->client, y->client);
        assert_int_equal(x->type, y->type);
        assert_int_equal(x->outcome, y->outcome);
        assert_true(x->invoke_time == y->invoke_time);
        assert_true(x->complete_time == y->complete_time);
        assert_int_equal(x->nkeys, y->nkeys);
        assert_true(x->integer == y->integer);
        assert_same_strings(x->keys, y->keys, x->nkeys);
        assert_same_strings(x->args, y->args, x->nkeys);
        assert_same_strings(x->values, y->values, x->nkeys);
    }
}

#define KEYS(...) ((const char *const[]){__VA_ARGS__})

static void build_awkward(struct history *h)
{
    history_init(h);
    size_t i = history_invoke(h, 1, 10, OP_SET, 1, KEYS("x"), KEYS("he said \"hi\"\n"));
    history_complete(h, i, 20, OUTCOME_OK, 0, NULL);
    i = history_invoke(h, 2, 15, OP_GET, 1, KEYS("x"), NULL);
    history_complete(h, i, 0, OUTCOME_UNKNOWN, 0, NULL);
    i = history_invoke(h, 2, 25, OP_MGET, 3, KEYS("x", "key with space", "nil"), NULL);
    history_complete(h, i, 30, OUTCOME_OK, 0, KEYS("tab\there", NULL, "nil"));
    i = history_invoke(h, 3, 30, OP_APPEND, 1, KEYS("\x01\xff\\"), KEYS(""));
    history_complete(h, i, 30, OUTCOME_OK, 0, NULL);
    i = history_invoke(h, 3, 30, OP_DEL, 2, KEYS("k1", "k2"), NULL);
    history_complete(h, i, 40, OUTCOME_FAIL, 0, NULL);
    /* Client 4 pipelines three INCRs; the middle one's outcome is unknown. */
    size_t a = history_invoke(h, 4, 50, OP_INCR, 1, KEYS("a"), NULL);
    size_t b = history_invoke(h, 4, 55, OP_INCR, 1, KEYS("a"), NULL);
    size_t c = history_invoke(h, 4, 60, OP_INCR, 1, KEYS("a"), NULL);
    history_complete(h, a, 70, OUTCOME_OK, INT64_MIN, NULL);
    history_complete(h, b, 0, OUTCOME_UNKNOWN, 0, NULL);
    history_complete(h, c, 80, OUTCOME_OK, INT64_MAX, NULL);
    history_invoke(h, 5, 90, OP_MSET, 2, KEYS("a", "b"), KEYS("1", "2")); /* pending */
    i = history_invoke(h, 6, 100, OP_SET, 1, KEYS("x"), KEYS(""));
    history_complete(h, i, 110, OUTCOME_OK, 0, NULL);
    i = history_invoke(h, 6, 120, OP_GET, 1, KEYS("x"), NULL);
    history_complete(h, i, UINT64_MAX - 1, OUTCOME_OK, 0, KEYS(""));
    i = history_invoke(h, 7, 130, OP_GET, 1, KEYS("y"), NULL);
    history_complete(h, i, 140, OUTCOME_OK, 0, NULL); /* values NULL: nil */
}

static void test_round_trip(void **state)
{
    (void)state;
    struct history h, back;
    build_awkward(&h);
    char *text = write_text(&h);
    print_message("%s", text);
    char err[256] = "";
    assert_true(read_text(text, strlen(text), &back, err, sizeof err));
    assert_same_history(&h, &back);
    char *again = write_text(&back);
    assert_string_equal(text, again);
    assert_non_null(strstr(text, "10 1 invoke SET x \"he said \\\"hi\\\"\\n\"\n"));
    assert_non_null(strstr(text, "25 2 invoke MGET x \"key with space\" \"nil\"\n"));
    assert_non_null(strstr(text, "30 2 ok \"tab\\there\" nil \"nil\"\n"));
    assert_non_null(strstr(text, "30 3 invoke APPEND \"\\x01\\xff\\\\\" \"\"\n"));
    assert_non_null(strstr(text, "70 4 ok -9223372036854775808\n- 4 unknown\n80 4 ok"));
    assert_non_null(strstr(text, "- 5 pending\n"));
    free(text);
    free(again);
    history_free(&h);
    history_free(&back);
}

static void test_out_of_order_completions(void **state)
{
    (void)state;
    struct history h;
    history_init(&h);
    size_t a = history_invoke(&h, 1, 0, OP_GET, 1, KEYS("x"), NULL);
    size_t b = history_invoke(&h, 1, 5, OP_GET, 1, KEYS("x"), NULL);
    history_complete(&h, b, 10, OUTCOME_OK, 0, NULL);
    history_complete(&h, a, 20, OUTCOME_OK, 0, NULL);
    FILE *out = fopen("/dev/null", "w");
    assert_non_null(out);
    assert_false(history_write(out, &h)); /* one connection answers in order */
    fclose(out);
    history_free(&h);
}

static void test_lenient_input(void **state)
{
    (void)state;
    const char *text = "  # a comment with \"odd quoting\n"
                       "\n"
                       "1 7 invoke set x 5\r\n"
                       "2 8 invoke Mget x y\n"
                       "3 7 ok\n"
                       "4 8 ok 5 nil\n"
                       "5 7 invoke INCR x\n"
                       "9 7 unknown\n"
                       "10 7 invoke GET x\n";
    struct history h;
    char err[256] = "";
    assert_true(read_text(text, strlen(text), &h, err, sizeof err));
    assert_int_equal(h.count, 4);
    assert_int_equal(h.ops[0].type, OP_SET);
    assert_string_equal(h.ops[0].args[0], "5");
    assert_int_equal(h.ops[1].type, OP_MGET);
    assert_null(h.ops[1].values[1]);
    assert_int_equal(h.ops[2].outcome, OUTCOME_UNKNOWN);
    assert_true(h.ops[2].complete_time == UINT64_MAX);
    assert_int_equal(h.ops[3].outcome, OUTCOME_PENDING);
    history_free(&h);
}

struct bad_case {
    const char *text;
    const char *error;
};

static const struct bad_case bad_cases[] = {
    {"0 1 invoke FOO x\n", "line 1: unknown operation 'FOO'"},
    {"0 1 invoke GET\n", "line 1: wrong number of arguments for GET"},
    {"0 1 invoke GET x y\n", "line 1: wrong number of arguments for GET"},
    {"0 1 invoke SET x\n", "line 1: wrong number of arguments for SET"},
    {"0 1 invoke MSET x 1 y\n", "line 1: wrong number of arguments for MSET"},
    {"0 1 invoke DEL\n", "line 1: wrong number of arguments for DEL"},
    {"0 1 invoke\n", "line 1: invoke needs an operation"},
    {"# c\n0 1 invoke GET x\n1 1 ok\n", "line 3: GET returns 1 value"},
    {"0 1 invoke MGET x y\n1 1 ok 1\n", "line 2: MGET returns 2 values"},
    {"0 1 invoke GET x\n1 2 ok 1\n", "line 2: client 2 has no operation in progress"},
    {"0 1 invoke GET x\n1 1 ok 1\n2 1 ok 1\n", "line 3: client 1 has no operation"},
    {"5 1 invoke GET x\n4 1 ok 1\n", "line 2: time 4 goes back (previous 5)"},
    {"x 1 invoke GET x\n", "line 1: bad time 'x'"},
    {"+1 1 invoke GET x\n", "line 1: bad time '+1'"},
    {"18446744073709551615 1 invoke GET x\n", "line 1: bad time"},
    {"99999999999999999999 1 invoke GET x\n", "line 1: bad time"},
    {"1 -1 invoke GET x\n", "line 1: bad client '-1'"},
    {"1 4294967296 invoke GET x\n", "line 1: bad client"},
    {"1 1 invoke GET \"x\n", "line 1: unterminated quoted string"},
    {"1 1 invoke GET \"x\\q\"\n", "line 1: unknown escape \\q"},
    {"1 1 invoke GET \"a\\x00\"\n", "line 1: \\x00 is not allowed"},
    {"1 1 invoke GET \"a\\x4\"\n", "line 1: \\x must be followed by two hex digits"},
    {"1 1 invoke GET \"a\"b\n", "line 1: a quoted string must be followed by a space"},
    {"1 1 invoke GET a\"b\n", "line 1: unexpected character 0x22"},
    {"1 1 invoke GET a\\b\n", "line 1: unexpected character 0x5c"},
    {"1 1 invoke GET nil\n", "line 1: nil is not a key or a value"},
    {"1 1 invoke SET x nil\n", "line 1: nil is not a key or a value"},
    {"1 1 invoke INCR x\n2 1 ok abc\n", "line 2: INCR returns one integer"},
    {"1 1 invoke INCR x\n2 1 ok 01\n", "line 2: INCR returns one integer"},
    {"1 1 invoke DEL x\n2 1 ok \"1\"\n", "line 2: DEL returns one integer"},
    {"1 1 invoke APPEND x y\n2 1 ok\n", "line 2: APPEND returns one integer"},
    {"1 1 invoke SET x 1\n2 1 ok OK\n", "line 2: SET returns nothing but ok"},
    {"1 1 invoke SET x 1\n2 1 fail boom\n", "line 2: fail takes no result"},
    {"1 1 invoke SET x 1\n- 1 ok\n", "line 2: ok needs a time"},
    {"- 1 invoke SET x 1\n", "line 1: invoke needs a time"},
    {"1 1 frobnicate\n", "line 1: unknown event 'frobnicate'"},
    {"1 1 \"ok\"\n", "line 1: unknown event 'ok'"},
    {"1 1\n", "line 1: expected <time> <client> <event>"},
    {"1 1 invoke GET x\n- 1 unknown extra\n", "line 2: unknown takes no result"},
    {"1 1 invoke GET x\n- 1 pending 5\n", "line 2: pending takes no result"},
};

static void test_malformed_lines(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        struct history h;
        char err[256] = "";
        assert_false(read_text(bad_cases[i].text, strlen(bad_cases[i].text), &h, err,
                               sizeof err));
        if (!strstr(err, bad_cases[i].error))
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, bad_cases[i].error);
        history_free(&h);
    }
    static const char nul[] = "1 1 invoke GET x\n2 1 ok \0x\n";
    struct history h;
    char err[256] = "";
    assert_false(read_text(nul, sizeof nul - 1, &h, err, sizeof err));
    assert_string_equal(err, "line 2: contains a NUL byte");
    assert_int_equal(h.count, 1); /* what was read stays, to be freed */
    history_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_out_of_order_completions),
        cmocka_unit_test(test_lenient_input),
        cmocka_unit_test(test_malformed_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
