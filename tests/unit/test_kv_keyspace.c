/* The keyspace hash table: content, accounting, growth and shrinking with incremental
 * rehashing, binary keys, and the order- and seed-independent digest (also through kv). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kv/keyspace.h"
#include "kv/kv.h"
#include "common/strint.h"

#include <stdio.h>
#include <string.h>

#define MANY 100000

static size_t key_of(char *buf, size_t size, const char *prefix, int i)
{
    return (size_t)snprintf(buf, size, "%s:%d", prefix, i);
}

static void assert_value(struct keyspace *ks, const void *key, size_t klen, const void *val,
                         size_t vlen)
{
    const struct ks_entry *e = keyspace_find(ks, key, klen);
    assert_non_null(e);
    assert_int_equal(ks_entry_key_len(e), klen);
    assert_memory_equal(ks_entry_key(e), key, klen);
    assert_int_equal(ks_entry_value_len(e), vlen);
    if (vlen)
        assert_memory_equal(ks_entry_value(e), val, vlen);
}

static void test_set_find_delete(void **state)
{
    (void)state;
    struct keyspace *ks = keyspace_create(0);
    assert_null(keyspace_find(ks, "k", 1));
    assert_true(keyspace_set(ks, "k", 1, "value", 5));
    assert_value(ks, "k", 1, "value", 5);
    assert_int_equal(keyspace_count(ks), 1);
    assert_int_equal(keyspace_bytes(ks), 6);
    /* Replacing with a longer, then a much shorter value exercises both reallocations. */
    assert_false(keyspace_set(ks, "k", 1, "a much longer value", 19));
    assert_value(ks, "k", 1, "a much longer value", 19);
    assert_int_equal(keyspace_bytes(ks), 20);
    assert_false(keyspace_set(ks, "k", 1, "s", 1));
    assert_value(ks, "k", 1, "s", 1);
    assert_false(keyspace_set(ks, "k", 1, "", 0));
    assert_value(ks, "k", 1, "", 0);
    assert_int_equal(keyspace_count(ks), 1);
    assert_int_equal(keyspace_bytes(ks), 1);
    assert_false(keyspace_delete(ks, "x", 1));
    assert_true(keyspace_delete(ks, "k", 1));
    assert_false(keyspace_delete(ks, "k", 1));
    assert_null(keyspace_find(ks, "k", 1));
    assert_int_equal(keyspace_count(ks), 0);
    assert_int_equal(keyspace_bytes(ks), 0);
    assert_int_equal(keyspace_digest(ks), 0);
    keyspace_destroy(ks);
}

static void test_binary_keys(void **state)
{
    (void)state;
    struct keyspace *ks = keyspace_create(0);
    assert_true(keyspace_set(ks, "k\0\r\n", 4, "v\0\r\n", 4));
    assert_true(keyspace_set(ks, "k", 1, "plain", 5));
    assert_true(keyspace_set(ks, "k\0", 2, "\0", 1));
    assert_true(keyspace_set(ks, "", 0, "empty key", 9));
    assert_int_equal(keyspace_count(ks), 4);
    assert_value(ks, "k\0\r\n", 4, "v\0\r\n", 4);
    assert_value(ks, "k", 1, "plain", 5);
    assert_value(ks, "k\0", 2, "\0", 1);
    assert_value(ks, "", 0, "empty key", 9);
    assert_null(keyspace_find(ks, "k\0\r", 3));
    assert_true(keyspace_delete(ks, "k\0", 2));
    assert_value(ks, "k", 1, "plain", 5);
    assert_value(ks, "k\0\r\n", 4, "v\0\r\n", 4);
    assert_int_equal(keyspace_bytes(ks), 8 + 6 + 9);
    keyspace_destroy(ks);
}

static void test_append(void **state)
{
    (void)state;
    struct keyspace *ks = keyspace_create(0);
    assert_int_equal(keyspace_append(ks, "k", 1, "ab", 2), 2);
    assert_int_equal(keyspace_append(ks, "k", 1, "", 0), 2);
    assert_int_equal(keyspace_append(ks, "k", 1, "c\0d", 3), 5);
    assert_value(ks, "k", 1, "abc\0d", 5);
    assert_int_equal(keyspace_bytes(ks), 6);
    /* Thousands of small appends, past the point where growth turns linear. */
    static char expect[3 * 1024 * 1024];
    memcpy(expect, "abc\0d", 5);
    size_t len = 5;
    char piece[700];
    for (int i = 0; len + sizeof piece <= sizeof expect; i++) {
        memset(piece, 'a' + i % 26, sizeof piece);
        assert_int_equal(keyspace_append(ks, "k", 1, piece, sizeof piece), len + sizeof piece);
        memcpy(expect + len, piece, sizeof piece);
        len += sizeof piece;
    }
    assert_value(ks, "k", 1, expect, len);
    assert_int_equal(keyspace_bytes(ks), 1 + len);
    /* SET after APPEND shrinks the oversized room back. */
    assert_false(keyspace_set(ks, "k", 1, "x", 1));
    assert_value(ks, "k", 1, "x", 1);
    assert_int_equal(keyspace_bytes(ks), 2);
    keyspace_destroy(ks);
}

static void test_growth_and_delete_all(void **state)
{
    (void)state;
    struct keyspace *ks = keyspace_create(0);
    char key[32], val[32];
    bool saw_rehash = false;
    uint64_t bytes = 0;
    for (int i = 0; i < MANY; i++) {
        size_t kl = key_of(key, sizeof key, "key", i);
        size_t vl = key_of(val, sizeof val, "val", i);
        assert_true(keyspace_set(ks, key, kl, val, vl));
        bytes += kl + vl;
        saw_rehash |= keyspace_rehashing(ks);
        /* Keys stay findable while they are being moved between tables. */
        if (i % 97 == 0) {
            size_t ol = key_of(key, sizeof key, "key", i / 2);
            size_t ovl = key_of(val, sizeof val, "val", i / 2);
            assert_value(ks, key, ol, val, ovl);
        }
    }
    assert_true(saw_rehash);
    assert_int_equal(keyspace_count(ks), MANY);
    assert_int_equal(keyspace_bytes(ks), bytes);
    /* Load factor at most 1 once a resize completes (and at most 2 during one). */
    assert_true(keyspace_buckets(ks) * 2 >= MANY);
    for (int i = 0; i < MANY; i++) {
        size_t kl = key_of(key, sizeof key, "key", i);
        size_t vl = key_of(val, sizeof val, "val", i);
        assert_value(ks, key, kl, val, vl);
    }
    for (int i = MANY - 1; i >= 0; i--) {
        size_t kl = key_of(key, sizeof key, "key", i);
        assert_true(keyspace_delete(ks, key, kl));
        if (i % 101 == 0 && i > 0) {
            kl = key_of(key, sizeof key, "key", i - 1);
            assert_non_null(keyspace_find(ks, key, kl));
        }
    }
    assert_int_equal(keyspace_count(ks), 0);
    assert_int_equal(keyspace_bytes(ks), 0);
    assert_int_equal(keyspace_digest(ks), 0);
    /* The emptied table gives its buckets back (within a few steps of the last delete). */
    for (int i = 0; i < 64; i++)
        assert_null(keyspace_find(ks, "nope", 4));
    assert_false(keyspace_rehashing(ks));
    assert_true(keyspace_buckets(ks) <= 8);
    keyspace_destroy(ks);
}

/* Sets keys k:0, k:1, ... until at least `at_least` are in and a resize is under way. */
static void fill_into_rehash(struct keyspace *ks, int at_least)
{
    char key[32];
    for (int i = 0; !keyspace_rehashing(ks) || i < at_least; i++) {
        size_t kl = key_of(key, sizeof key, "k", i);
        keyspace_set(ks, key, kl, "v", 1);
    }
    assert_true(keyspace_rehashing(ks));
}

/* Filling, half-deleting and clearing while resizes are in progress keeps everything right. */
static void test_clear_during_rehash(void **state)
{
    (void)state;
    struct keyspace *ks = keyspace_create(7);
    fill_into_rehash(ks, 1000);
    keyspace_clear(ks);
    assert_false(keyspace_rehashing(ks));
    assert_int_equal(keyspace_count(ks), 0);
    assert_int_equal(keyspace_bytes(ks), 0);
    assert_int_equal(keyspace_digest(ks), 0);
    assert_null(keyspace_find(ks, "k:0", 3));
    assert_true(keyspace_set(ks, "k:0", 3, "again", 5));
    assert_value(ks, "k:0", 3, "again", 5);
    keyspace_destroy(ks);
}

/* Freed a few keys at a time, also in the middle of a resize (both tables hold keys): every call
 * frees at most its budget, and the last frees the rest (the sanitizer build checks for leaks). */
static void test_destroy_in_slices(void **state)
{
    (void)state;
    struct keyspace *ks = keyspace_create(9);
    fill_into_rehash(ks, 5000);
    size_t keys = keyspace_count(ks), calls = 1;
    while (!keyspace_destroy_some(ks, 7))
        calls++;
    assert_true(calls >= keys / 7);
    assert_true(calls <= keys + 2);
    /* An empty one goes in one call. */
    assert_true(keyspace_destroy_some(keyspace_create(1), 1));
}

/* Equal content gives equal digests whatever the insertion order, history or table seed. */
static void test_digest(void **state)
{
    (void)state;
    struct keyspace *up = keyspace_create(0);
    struct keyspace *down = keyspace_create(12345);
    char key[32], val[32];
    for (int i = 0; i < 5000; i++) {
        keyspace_set(up, key, key_of(key, sizeof key, "k", i), val, key_of(val, sizeof val, "v", i));
        int j = 4999 - i;
        keyspace_set(down, key, key_of(key, sizeof key, "k", j), "tmp", 3);
        keyspace_set(down, key, key_of(key, sizeof key, "k", j), val, key_of(val, sizeof val, "v", j));
    }
    assert_int_equal(keyspace_digest(up), keyspace_digest(down));
    assert_int_not_equal(keyspace_digest(up), 0);
    keyspace_append(down, "k:7", 3, "x", 1);
    assert_int_not_equal(keyspace_digest(up), keyspace_digest(down));
    keyspace_set(down, "k:7", 3, "v:7", 3);
    assert_int_equal(keyspace_digest(up), keyspace_digest(down));
    keyspace_set(down, "extra", 5, "", 0);
    assert_int_not_equal(keyspace_digest(up), keyspace_digest(down));
    keyspace_delete(down, "extra", 5);
    assert_int_equal(keyspace_digest(up), keyspace_digest(down));
    keyspace_clear(up);
    assert_int_equal(keyspace_digest(up), 0);
    keyspace_destroy(up);
    keyspace_destroy(down);
}

#include "kv_test_apply.h"

/* The same guarantees seen through kv: digests of whole state machines. */
static void test_kv_digest_order_independent(void **state)
{
    (void)state;
    struct kv *up = kv_create();
    struct kv *down = kv_create();
    struct kv *other = kv_create();
    char key[32], val[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "key:%d", i);
        snprintf(val, sizeof val, "val:%d", i);
        APPLY(up, "set", key, val);
        snprintf(key, sizeof key, "key:%d", 999 - i);
        snprintf(val, sizeof val, "val:%d", 999 - i);
        APPLY(down, "set", key, val);
        APPLY(other, "set", key, i == 500 ? "changed" : val);
    }
    assert_int_equal(kv_digest(up), kv_digest(down));
    assert_int_not_equal(kv_digest(up), kv_digest(other));
    APPLY(other, "set", "key:499", "val:499");
    assert_int_equal(kv_digest(up), kv_digest(other));
    APPLY(other, "del", "key:0");
    assert_int_not_equal(kv_digest(up), kv_digest(other));
    kv_destroy(up);
    kv_destroy(down);
    kv_destroy(other);
}

/* The digest depends on the content only, not on how it was reached. */
static void test_kv_digest_history_independent(void **state)
{
    (void)state;
    struct kv *a = kv_create();
    struct kv *b = kv_create();
    APPLY(a, "set", "n", "6");
    APPLY(a, "set", "s", "hello");
    for (int i = 0; i < 6; i++)
        APPLY(b, "incr", "n");
    APPLY(b, "append", "s", "he");
    APPLY(b, "append", "s", "llo");
    APPLY(b, "set", "gone", "x");
    APPLY(b, "del", "gone");
    assert_int_equal(kv_digest(a), kv_digest(b));
    APPLY(b, "set", "empty", "");
    assert_int_not_equal(kv_digest(a), kv_digest(b));
    kv_destroy(a);
    kv_destroy(b);
}

static void test_kv_digest_distinguishes_pairs(void **state)
{
    (void)state;
    struct kv *a = kv_create();
    struct kv *b = kv_create();
    APPLY(a, "set", "ab", "c");
    APPLY(b, "set", "a", "bc");
    assert_int_not_equal(kv_digest(a), kv_digest(b));
    APPLY(a, "flushall");
    APPLY(b, "flushall");
    assert_int_equal(kv_digest(a), kv_digest(b));
    APPLY(a, "mset", "x", "1", "y", "2");
    APPLY(b, "mset", "x", "2", "y", "1");
    assert_int_not_equal(kv_digest(a), kv_digest(b));
    APPLY(b, "mset", "y", "2", "x", "1");
    assert_int_equal(kv_digest(a), kv_digest(b));
    kv_destroy(a);
    kv_destroy(b);
}

static void test_strint(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        bool ok;
        int64_t v;
    } cases[] = {
        {"0", true, 0}, {"1", true, 1}, {"-1", true, -1}, {"10", true, 10},
        {"9223372036854775807", true, INT64_MAX}, {"-9223372036854775808", true, INT64_MIN},
        {"9223372036854775808", false, 0}, {"-9223372036854775809", false, 0},
        {"18446744073709551615", false, 0}, {"18446744073709551616", false, 0},
        {"99999999999999999999", false, 0}, {"-0", false, 0}, {"00", false, 0},
        {"01", false, 0}, {"+1", false, 0}, {" 1", false, 0}, {"1 ", false, 0},
        {"", false, 0}, {"-", false, 0}, {"1a", false, 0}, {"0x1", false, 0},
        {"-09223372036854775808", false, 0}, {"000000000000000000001", false, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t v = 42;
        bool ok = strint_parse((const uint8_t *)cases[i].s, strlen(cases[i].s), &v);
        if (ok != cases[i].ok)
            fail_msg("strint_parse(\"%s\") returned %d", cases[i].s, ok);
        if (ok)
            assert_true(v == cases[i].v);
    }
    assert_false(strint_parse((const uint8_t *)"1\0", 2, &(int64_t){0}));
    char out[STRINT_MAX_LEN];
    assert_int_equal(strint_format(INT64_MIN, out), 20);
    assert_memory_equal(out, "-9223372036854775808", 20);
    assert_int_equal(strint_format(INT64_MAX, out), 19);
    assert_memory_equal(out, "9223372036854775807", 19);
    assert_int_equal(strint_format(0, out), 1);
    assert_memory_equal(out, "0", 1);
    assert_int_equal(strint_format(-42, out), 3);
    assert_memory_equal(out, "-42", 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_find_delete),
        cmocka_unit_test(test_binary_keys),
        cmocka_unit_test(test_append),
        cmocka_unit_test(test_growth_and_delete_all),
        cmocka_unit_test(test_clear_during_rehash),
        cmocka_unit_test(test_destroy_in_slices),
        cmocka_unit_test(test_digest),
        cmocka_unit_test(test_kv_digest_order_independent),
        cmocka_unit_test(test_kv_digest_history_independent),
        cmocka_unit_test(test_kv_digest_distinguishes_pairs),
        cmocka_unit_test(test_strint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
