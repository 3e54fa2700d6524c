/* Replies of the kv state machine, byte for byte. The expected bytes were taken from a real
 * redis-server 7.0.15 fed the same commands, except on lines marked catena-only: SET's expiry
 * options (not supported yet) and a local command reaching kv (the server answers it first). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/buf.h"
#include "kv/kv.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Prints bytes with C escapes so a failing comparison shows exactly what differs. */
static void print_escaped(const char *label, const uint8_t *p, size_t n)
{
    fprintf(stderr, "%s: \"", label);
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\r')
            fprintf(stderr, "\\r");
        else if (p[i] == '\n')
            fprintf(stderr, "\\n");
        else if (p[i] < 32 || p[i] > 126 || p[i] == '"' || p[i] == '\\')
            fprintf(stderr, "\\x%02x", p[i]);
        else
            fputc(p[i], stderr);
    }
    fprintf(stderr, "\"\n");
}

static void exec_check(struct kv *kv, int proto, const char *expect, size_t expect_len,
                       uint32_t argc, const char *const *args, const size_t *lens,
                       const char *file, int line)
{
    struct buf out;
    buf_init(&out);
    kv_execute(kv, argc, (const uint8_t *const *)args, lens, &out, proto);
    if (out.len != expect_len || memcmp(out.data, expect, expect_len) != 0) {
        fprintf(stderr, "%s:%d: reply to '%s' differs\n", file, line, args[0]);
        print_escaped("expected", (const uint8_t *)expect, expect_len);
        print_escaped("actual  ", out.data, out.len);
        buf_free(&out);
        fail();
    }
    buf_free(&out);
}

/* Text arguments (no NUL inside); the expected reply is a literal and may contain NULs. */
#define EXPECT_PROTO(kv, proto, expect, ...)                                                    \
    do {                                                                                        \
        const char *args_[] = {__VA_ARGS__};                                                    \
        size_t n_ = sizeof args_ / sizeof args_[0];                                             \
        size_t lens_[sizeof args_ / sizeof args_[0]];                                           \
        for (size_t i_ = 0; i_ < n_; i_++)                                                      \
            lens_[i_] = strlen(args_[i_]);                                                      \
        exec_check(kv, proto, expect, sizeof(expect) - 1, (uint32_t)n_, args_, lens_, __FILE__, \
                   __LINE__);                                                                   \
    } while (0)
#define EXPECT(kv, expect, ...) EXPECT_PROTO(kv, 2, expect, __VA_ARGS__)
#define EXPECT3(kv, expect, ...) EXPECT_PROTO(kv, 3, expect, __VA_ARGS__)

/* Binary-safe variant: arguments are string literals whose sizeof gives their length. */
#define A(lit) lit, sizeof(lit) - 1
static void exec_bin(struct kv *kv, const char *file, int line, const char *expect,
                     size_t expect_len, uint32_t argc, ...)
{
    const char *args[8];
    size_t lens[8];
    va_list ap;
    va_start(ap, argc);
    for (uint32_t i = 0; i < argc && i < 8; i++) {
        args[i] = va_arg(ap, const char *);
        lens[i] = va_arg(ap, size_t);
    }
    va_end(ap);
    exec_check(kv, 2, expect, expect_len, argc, args, lens, file, line);
}
#define EXPECT_BIN(kv, expect, argc, ...)                                                       \
    exec_bin(kv, __FILE__, __LINE__, expect, sizeof(expect) - 1, argc, __VA_ARGS__)

#include "kv_test_apply.h"

static int setup(void **state)
{
    *state = kv_create();
    return 0;
}

static int teardown(void **state)
{
    kv_destroy(*state);
    return 0;
}

static void test_get_set(void **state)
{
    struct kv *kv = *state;
    EXPECT(kv, "$-1\r\n", "get", "k");
    EXPECT(kv, "+OK\r\n", "set", "k", "v");
    EXPECT(kv, "$1\r\nv\r\n", "get", "k");
    EXPECT(kv, "+OK\r\n", "SeT", "k", "hello world");
    EXPECT(kv, "$11\r\nhello world\r\n", "GET", "k");
    EXPECT(kv, "+OK\r\n", "set", "empty", "");
    EXPECT(kv, "$0\r\n\r\n", "get", "empty");
    EXPECT(kv, ":2\r\n", "dbsize");
}

static void test_set_options(void **state)
{
    struct kv *kv = *state;
    EXPECT(kv, "+OK\r\n", "set", "k", "v");
    EXPECT(kv, "$1\r\nv\r\n", "set", "k", "v2", "get");
    EXPECT(kv, "$2\r\nv2\r\n", "set", "k", "v3", "GET", "nx");
    EXPECT(kv, "$2\r\nv2\r\n", "set", "k", "v3", "xx", "get");
    EXPECT(kv, "$2\r\nv3\r\n", "get", "k");
    EXPECT(kv, "$-1\r\n", "set", "nk", "v3", "xx", "get");
    EXPECT(kv, "$-1\r\n", "get", "nk");
    EXPECT(kv, "$-1\r\n", "set", "nk", "v3", "nx", "get");
    EXPECT(kv, "$2\r\nv3\r\n", "get", "nk");
    EXPECT(kv, "+OK\r\n", "set", "nk2", "a", "NX");
    EXPECT(kv, "$-1\r\n", "set", "nk2", "b", "nx");
    EXPECT(kv, "+OK\r\n", "set", "nk2", "c", "Xx");
    EXPECT(kv, "$-1\r\n", "set", "nk3", "c", "xx");
    EXPECT(kv, "$1\r\nc\r\n", "get", "nk2");
    EXPECT(kv, "$-1\r\n", "get", "nk3");
    EXPECT(kv, "$1\r\nc\r\n", "set", "nk2", "d", "get", "get");
    EXPECT(kv, "$-1\r\n", "set", "nk2", "e", "nx", "nx");
    EXPECT(kv, "+OK\r\n", "set", "nk2", "f", "xx", "xx");
    EXPECT(kv, "-ERR syntax error\r\n", "set", "k", "v", "nx", "xx");
    EXPECT(kv, "-ERR syntax error\r\n", "set", "k", "v", "xx", "nx");
    EXPECT(kv, "-ERR syntax error\r\n", "set", "k", "v", "get", "xx", "nx");
    EXPECT(kv, "-ERR syntax error\r\n", "set", "k", "v", "foo");
    EXPECT(kv, "-ERR syntax error\r\n", "set", "k", "v", "nxx");
    EXPECT(kv, "-ERR syntax error\r\n", "set", "k", "v", "ex");
    EXPECT(kv, "$2\r\nv3\r\n", "get", "k");
}

/* catena divergence: Redis accepts these (with an expiry); catena has no TTLs yet. */
static void test_set_expiry_options_unsupported(void **state)
{
    struct kv *kv = *state;
    EXPECT(kv, "-ERR syntax error\r\n", "set", "k", "v", "ex", "10"); /* catena-only */
    EXPECT(kv, "-ERR syntax error\r\n", "set", "k", "v", "px", "10"); /* catena-only */
    EXPECT(kv, "-ERR syntax error\r\n", "set", "k", "v", "keepttl"); /* catena-only */
    EXPECT(kv, "-ERR syntax error\r\n", "set", "k", "v", "nx", "exat", "1"); /* catena-only */
    EXPECT(kv, "$-1\r\n", "get", "k"); /* catena-only */
}

/* Redis compares option words as C strings: "nx\0zz" is NX. */
static void test_set_option_words_stop_at_nul(void **state)
{
    struct kv *kv = *state;
    EXPECT_BIN(kv, "+OK\r\n", 4, A("set"), A("k"), A("v"), A("nx\0zz"));
    EXPECT_BIN(kv, "$-1\r\n", 4, A("set"), A("k"), A("w"), A("nx\0"));
    EXPECT_BIN(kv, "$1\r\nv\r\n", 4, A("set"), A("k"), A("x"), A("get\0zz"));
    EXPECT_BIN(kv, "-ERR syntax error\r\n", 4, A("set"), A("k"), A("y"), A("\0nx"));
    EXPECT_BIN(kv, "+OK\r\n", 2, A("flushall"), A("sync\0zz"));
    EXPECT(kv, ":0\r\n", "dbsize");
}

static void test_setnx_getset(void **state)
{
    struct kv *kv = *state;
    EXPECT(kv, ":1\r\n", "setnx", "k", "a");
    EXPECT(kv, ":0\r\n", "setnx", "k", "b");
    EXPECT(kv, "$1\r\na\r\n", "get", "k");
    EXPECT(kv, "$1\r\na\r\n", "getset", "k", "bb");
    EXPECT(kv, "$2\r\nbb\r\n", "get", "k");
    EXPECT(kv, "$-1\r\n", "getset", "new", "x");
    EXPECT(kv, "$1\r\nx\r\n", "get", "new");
}

static void test_del_exists(void **state)
{
    struct kv *kv = *state;
    EXPECT(kv, "+OK\r\n", "mset", "a", "1", "b", "2", "c", "3");
    EXPECT(kv, ":2\r\n", "exists", "a", "a", "nope");
    EXPECT(kv, ":0\r\n", "exists", "nope");
    EXPECT(kv, ":3\r\n", "exists", "a", "b", "c");
    EXPECT(kv, ":2\r\n", "del", "a", "nope", "a", "b");
    EXPECT(kv, ":0\r\n", "del", "a");
    EXPECT(kv, ":1\r\n", "exists", "a", "b", "c");
    EXPECT(kv, ":1\r\n", "dbsize");
}

static void test_incr_decr(void **state)
{
    struct kv *kv = *state;
    EXPECT(kv, ":1\r\n", "incr", "i");
    EXPECT(kv, ":11\r\n", "incrby", "i", "10");
    EXPECT(kv, ":10\r\n", "decr", "i");
    EXPECT(kv, ":5\r\n", "decrby", "i", "5");
    EXPECT(kv, ":-5\r\n", "decrby", "i", "10");
    EXPECT(kv, ":-5\r\n", "incrby", "i", "0");
    EXPECT(kv, ":0\r\n", "incrby", "i", "5");
    EXPECT(kv, "$1\r\n0\r\n", "get", "i");
    EXPECT(kv, ":-1\r\n", "decr", "d");
    EXPECT(kv, "$2\r\n-1\r\n", "get", "d");
    EXPECT(kv, ":-7\r\n", "incrby", "n", "-7");
    EXPECT(kv, ":7\r\n", "decrby", "m", "-7");
}

static void test_incr_bad_increments(void **state)
{
    struct kv *kv = *state;
    static const char *const bad[] = {
        "-0", "+1", " 1", "1 ", "01", "", "-", "1.5", "abc", "0x10",
        "9223372036854775808", "-9223372036854775809", "12345678901234567890",
        "99999999999999999999", "-09223372036854775808", "123456789012345678901",
    };
    EXPECT(kv, "+OK\r\n", "set", "i", "5");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        EXPECT(kv, "-ERR value is not an integer or out of range\r\n", "incrby", "i", bad[i]);
        EXPECT(kv, "-ERR value is not an integer or out of range\r\n", "decrby", "i", bad[i]);
    }
    EXPECT(kv, "$1\r\n5\r\n", "get", "i");
    EXPECT(kv, "-ERR value is not an integer or out of range\r\n", "incrby", "new", "+1");
    EXPECT(kv, ":0\r\n", "exists", "new");
}

static void test_incr_non_integer_values(void **state)
{
    struct kv *kv = *state;
    static const char *const bad[] = {
        "01", "-0", " 1", "1 ", "+1", "1.5", "", "abc", "9223372036854775808",
        "-9223372036854775809", "00", "-01", "123456789012345678901",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        EXPECT(kv, "+OK\r\n", "set", "s", bad[i]);
        EXPECT(kv, "-ERR value is not an integer or out of range\r\n", "incr", "s");
        EXPECT(kv, "-ERR value is not an integer or out of range\r\n", "decrby", "s", "1");
    }
    EXPECT(kv, "$21\r\n123456789012345678901\r\n", "get", "s");
    EXPECT(kv, "+OK\r\n", "set", "s", "0");
    EXPECT(kv, ":1\r\n", "incr", "s");
    EXPECT(kv, "+OK\r\n", "set", "s", "-1");
    EXPECT(kv, ":0\r\n", "incr", "s");
    EXPECT_BIN(kv, "+OK\r\n", 3, A("set"), A("s"), A("1\0"));
    EXPECT(kv, "-ERR value is not an integer or out of range\r\n", "incr", "s");
}

static void test_incr_overflow(void **state)
{
    struct kv *kv = *state;
    EXPECT(kv, "+OK\r\n", "set", "m", "9223372036854775807");
    EXPECT(kv, "-ERR increment or decrement would overflow\r\n", "incr", "m");
    EXPECT(kv, "-ERR increment or decrement would overflow\r\n", "incrby", "m", "1");
    EXPECT(kv, ":9223372036854775807\r\n", "incrby", "m", "0");
    EXPECT(kv, ":9223372036854775806\r\n", "decr", "m");
    EXPECT(kv, ":9223372036854775807\r\n", "incr", "m");
    EXPECT(kv, ":-1\r\n", "incrby", "m", "-9223372036854775808");
    EXPECT(kv, "+OK\r\n", "set", "m", "-9223372036854775808");
    EXPECT(kv, "-ERR increment or decrement would overflow\r\n", "decr", "m");
    EXPECT(kv, "-ERR increment or decrement would overflow\r\n", "incrby", "m", "-1");
    EXPECT(kv, "-ERR decrement would overflow\r\n", "decrby", "m", "-9223372036854775808");
    EXPECT(kv, "-ERR increment or decrement would overflow\r\n", "decrby", "m",
           "9223372036854775807");
    EXPECT(kv, ":-1\r\n", "incrby", "m", "9223372036854775807");
    EXPECT(kv, "+OK\r\n", "set", "m", "5");
    EXPECT(kv, "-ERR decrement would overflow\r\n", "decrby", "m", "-9223372036854775808");
    EXPECT(kv, "-ERR decrement would overflow\r\n", "decrby", "missing", "-9223372036854775808");
    EXPECT(kv, "-ERR increment or decrement would overflow\r\n", "incrby", "m",
           "9223372036854775807");
    EXPECT(kv, ":-9223372036854775803\r\n", "incrby", "m", "-9223372036854775808");
    EXPECT(kv, "$20\r\n-9223372036854775803\r\n", "get", "m");
    EXPECT(kv, ":9223372036854775807\r\n", "incrby", "big", "9223372036854775807");
    EXPECT(kv, ":-9223372036854775807\r\n", "decrby", "small", "9223372036854775807");
    EXPECT(kv, ":-9223372036854775807\r\n", "decrby", "small2", "9223372036854775807");
    EXPECT(kv, ":-9223372036854775808\r\n", "decr", "small2");
    EXPECT(kv, "$20\r\n-9223372036854775808\r\n", "get", "small2");
}

static void test_append_strlen(void **state)
{
    struct kv *kv = *state;
    EXPECT(kv, ":0\r\n", "strlen", "k");
    EXPECT(kv, ":3\r\n", "append", "k", "abc");
    EXPECT(kv, ":3\r\n", "append", "k", "");
    EXPECT(kv, ":6\r\n", "append", "k", "def");
    EXPECT(kv, ":6\r\n", "strlen", "k");
    EXPECT(kv, "$6\r\nabcdef\r\n", "get", "k");
    EXPECT(kv, ":0\r\n", "append", "e", "");
    EXPECT(kv, ":1\r\n", "exists", "e");
    EXPECT(kv, "+OK\r\n", "set", "n", "41");
    EXPECT(kv, ":3\r\n", "append", "n", "9");
    EXPECT(kv, ":420\r\n", "incr", "n");
    EXPECT(kv, ":5\r\n", "append", "n", "xy");
    EXPECT(kv, "-ERR value is not an integer or out of range\r\n", "incr", "n");
}

/* A value grown by many appends (its entry is reallocated along the way) stays intact. */
static void test_append_many(void **state)
{
    struct kv *kv = *state;
    char piece[2] = {0};
    for (int i = 0; i < 5000; i++) {
        piece[0] = (char)('a' + i % 26);
        APPLY(kv, "append", "grow", piece);
    }
    EXPECT(kv, ":5000\r\n", "strlen", "grow");
    const char *args[] = {"get", "grow"};
    size_t lens[] = {3, 4};
    struct buf out;
    buf_init(&out);
    kv_execute(kv, 2, (const uint8_t *const *)args, lens, &out, 2);
    assert_int_equal(out.len, 7 + 5000 + 2);
    assert_memory_equal(out.data, "$5000\r\n", 7);
    for (int i = 0; i < 5000; i++)
        assert_int_equal(out.data[7 + i], 'a' + i % 26);
    buf_free(&out);
}

/* APPEND refuses to build a string over 512 MB. The argument's length is announced but its
 * bytes are never read, because the limit is checked first. */
static void test_append_limit(void **state)
{
    struct kv *kv = *state;
    EXPECT(kv, "+OK\r\n", "set", "k", "a");
    const char *args[] = {"append", "k", "x"};
    size_t lens[] = {6, 1, (size_t)512 * 1024 * 1024};
    exec_check(kv, 2, "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n", 63,
               3, args, lens, __FILE__, __LINE__);
    EXPECT(kv, ":1\r\n", "strlen", "k");
}

static void test_mget_mset(void **state)
{
    struct kv *kv = *state;
    EXPECT(kv, "-ERR wrong number of arguments for 'mset' command\r\n", "mset", "a", "1", "b");
    EXPECT(kv, ":0\r\n", "dbsize");
    EXPECT(kv, "+OK\r\n", "mset", "a", "1", "b", "2");
    EXPECT(kv, "*2\r\n$1\r\n1\r\n$1\r\n2\r\n", "mget", "a", "b");
    EXPECT(kv, "+OK\r\n", "mset", "a", "x", "a", "y");
    EXPECT(kv, "*4\r\n$1\r\ny\r\n$-1\r\n$1\r\n2\r\n$1\r\ny\r\n", "mget", "a", "nope", "b", "a");
    EXPECT(kv, "*1\r\n$-1\r\n", "mget", "nope");
}

static void test_dbsize_flushall(void **state)
{
    struct kv *kv = *state;
    EXPECT(kv, ":0\r\n", "dbsize");
    EXPECT(kv, "+OK\r\n", "mset", "a", "1", "b", "2");
    EXPECT(kv, ":2\r\n", "dbsize");
    EXPECT(kv, "-ERR syntax error\r\n", "flushall", "foo");
    EXPECT(kv, "-ERR syntax error\r\n", "flushall", "sync", "async");
    EXPECT(kv, "-ERR syntax error\r\n", "flushall", "asyncx");
    EXPECT(kv, ":2\r\n", "dbsize");
    EXPECT(kv, "+OK\r\n", "flushall");
    EXPECT(kv, ":0\r\n", "dbsize");
    EXPECT(kv, "+OK\r\n", "set", "a", "1");
    EXPECT(kv, "+OK\r\n", "flushall", "ASYNC");
    EXPECT(kv, ":0\r\n", "dbsize");
    EXPECT(kv, "+OK\r\n", "set", "a", "1");
    EXPECT(kv, "+OK\r\n", "FLUSHALL", "Sync");
    EXPECT(kv, "$-1\r\n", "get", "a");
}

static void test_resp3_nulls(void **state)
{
    struct kv *kv = *state;
    EXPECT3(kv, "_\r\n", "get", "nope");
    EXPECT3(kv, "+OK\r\n", "set", "k", "v", "nx");
    EXPECT3(kv, "_\r\n", "set", "k", "v", "nx");
    EXPECT3(kv, "*2\r\n$1\r\nv\r\n_\r\n", "mget", "k", "nope");
    EXPECT3(kv, "$1\r\nv\r\n", "set", "k", "w", "get");
    EXPECT3(kv, "_\r\n", "set", "nope", "v", "xx", "get");
    EXPECT3(kv, "_\r\n", "getset", "nope2", "x");
    EXPECT3(kv, ":2\r\n", "dbsize");
}

static void test_binary_keys_values(void **state)
{
    struct kv *kv = *state;
    EXPECT_BIN(kv, "+OK\r\n", 3, A("set"), A("k\0\r\n"), A("v\0\r\nx"));
    EXPECT_BIN(kv, "$5\r\nv\0\r\nx\r\n", 2, A("get"), A("k\0\r\n"));
    EXPECT_BIN(kv, "$-1\r\n", 2, A("get"), A("k"));
    EXPECT_BIN(kv, "$-1\r\n", 2, A("get"), A("k\0"));
    EXPECT_BIN(kv, "+OK\r\n", 3, A("set"), A("k\0"), A("\0"));
    EXPECT_BIN(kv, "+OK\r\n", 3, A("set"), A(""), A("empty key"));
    EXPECT_BIN(kv, "$9\r\nempty key\r\n", 2, A("get"), A(""));
    EXPECT_BIN(kv, "*3\r\n$1\r\n\0\r\n$5\r\nv\0\r\nx\r\n$-1\r\n", 4, A("mget"), A("k\0"),
               A("k\0\r\n"), A("k"));
    EXPECT_BIN(kv, ":7\r\n", 3, A("append"), A("k\0\r\n"), A("\r\n"));
    EXPECT_BIN(kv, ":7\r\n", 2, A("strlen"), A("k\0\r\n"));
    EXPECT_BIN(kv, ":3\r\n", 1, A("dbsize"));
    EXPECT_BIN(kv, ":1\r\n", 3, A("del"), A("k\0"), A("k"));
    EXPECT_BIN(kv, ":2\r\n", 3, A("exists"), A("k\0\r\n"), A(""));
}

/* The server filters these earlier; kv still answers like Redis would. */
static void test_unknown_and_arity(void **state)
{
    struct kv *kv = *state;
    EXPECT(kv, "-ERR unknown command 'nosuch', with args beginning with: 'a' 'b' \r\n",
           "nosuch", "a", "b");
    EXPECT(kv, "-ERR unknown command 'ping', with args beginning with: \r\n", /* catena-only */
           "ping");
    EXPECT(kv, "-ERR wrong number of arguments for 'get' command\r\n", "get");
    EXPECT(kv, "-ERR wrong number of arguments for 'set' command\r\n", "set", "k");
    EXPECT(kv, "-ERR wrong number of arguments for 'dbsize' command\r\n", "dbsize", "x");
    struct kv_stats st;
    kv_get_stats(kv, &st);
    assert_int_equal(st.commands_executed, 0);
}

static void test_stats(void **state)
{
    struct kv *kv = *state;
    EXPECT(kv, "+OK\r\n", "set", "key", "value");
    EXPECT(kv, "+OK\r\n", "set", "k2", "");
    EXPECT(kv, "$5\r\nvalue\r\n", "get", "key");
    EXPECT(kv, "-ERR value is not an integer or out of range\r\n", "incr", "key");
    struct kv_stats st;
    kv_get_stats(kv, &st);
    assert_int_equal(st.keys, 2);
    assert_int_equal(st.bytes, 3 + 5 + 2);
    assert_int_equal(st.commands_executed, 4);
    EXPECT(kv, "+OK\r\n", "flushall");
    kv_get_stats(kv, &st);
    assert_int_equal(st.keys, 0);
    assert_int_equal(st.bytes, 0);
    assert_int_equal(st.commands_executed, 5);
}

/* Writes, failing writes and reads: a replica that does not reply must end in the same state. */
static const char *const replica_script[][8] = {
    {"set", "a", "1"}, {"incr", "a"}, {"incrby", "a", "40"}, {"append", "a", "x"},
    {"incr", "a"}, {"set", "b", "v", "nx"}, {"set", "b", "w", "nx"},
    {"set", "b", "z", "xx", "get"}, {"set", "c", "q", "xx"}, {"set", "c", "q", "ex", "5"},
    {"mset", "d", "1", "e", "2", "d", "3"}, {"mset", "odd", "1", "x"}, {"getset", "e", "9"},
    {"setnx", "f", "0"}, {"setnx", "f", "1"}, {"decrby", "f", "-9223372036854775808"},
    {"decr", "f"}, {"del", "e", "nope"}, {"get", "a"}, {"mget", "a", "b"}, {"exists", "a"},
    {"strlen", "a"}, {"dbsize"}, {"flushall", "bad"}, {"decrby", "g", "-5"},
};

static void run_replica_script(struct kv *kv, bool reply)
{
    struct buf out;
    buf_init(&out);
    for (size_t i = 0; i < sizeof replica_script / sizeof replica_script[0]; i++) {
        const char *const *args = replica_script[i];
        size_t lens[8];
        uint32_t argc = 0;
        while (argc < 8 && args[argc]) {
            lens[argc] = strlen(args[argc]);
            argc++;
        }
        kv_execute(kv, argc, (const uint8_t *const *)args, lens, reply ? &out : NULL, 2);
    }
    assert_true(reply ? out.len > 0 : out.len == 0);
    buf_free(&out);
}

static void assert_same_reply(struct kv *a, struct kv *b, const char *cmd, const char *key)
{
    const char *args[] = {cmd, key};
    size_t lens[] = {strlen(cmd), strlen(key)};
    struct buf ra, rb;
    buf_init(&ra);
    buf_init(&rb);
    kv_execute(a, 2, (const uint8_t *const *)args, lens, &ra, 2);
    kv_execute(b, 2, (const uint8_t *const *)args, lens, &rb, 2);
    assert_int_equal(ra.len, rb.len);
    assert_memory_equal(ra.data, rb.data, ra.len);
    buf_free(&ra);
    buf_free(&rb);
}

static void test_replica_without_reply_same_state(void **state)
{
    struct kv *replying = *state;
    struct kv *silent = kv_create();
    run_replica_script(replying, true);
    run_replica_script(silent, false);
    assert_int_equal(kv_digest(replying), kv_digest(silent));
    struct kv_stats sa, sb;
    kv_get_stats(replying, &sa);
    kv_get_stats(silent, &sb);
    assert_int_equal(sa.keys, 5); /* a b d f g: c was never set, e was deleted */
    assert_memory_equal(&sa, &sb, sizeof sa);
    static const char *const keys[] = {"a", "b", "c", "d", "e", "f", "g", "odd"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_same_reply(replying, silent, "get", keys[i]);
    EXPECT(replying, "$3\r\n42x\r\n", "get", "a");
    EXPECT(silent, "$1\r\n5\r\n", "get", "g");
    APPLY(silent, "flushall");
    struct kv *fresh = kv_create();
    assert_int_equal(kv_digest(silent), kv_digest(fresh));
    assert_int_not_equal(kv_digest(silent), kv_digest(replying));
    kv_destroy(fresh);
    kv_destroy(silent);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_expiry_options_unsupported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_option_words_stop_at_nul, setup, teardown),
        cmocka_unit_test_setup_teardown(test_setnx_getset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_del_exists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incr_decr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incr_bad_increments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incr_non_integer_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incr_overflow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_strlen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mget_mset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dbsize_flushall, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resp3_nulls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_keys_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_and_arity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replica_without_reply_same_state, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
