/* Snapshots of the kv state machine: round trips keep every key, value and session, and no
 * damaged or forged input is accepted, crashes, reads out of bounds or allocates much. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/buf.h"
#include "common/crc32c.h"
#include "common/rng.h"
#include "kv/apply.h"
#include "kv/kv.h"
#include "kv_test_apply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

#define SNAP_EMPTY_LEN 36 /* header, two counts, digest, CRC */

/* Reads from an exact-size copy, so a sanitizer build catches any read past the end. */
static struct kv *read_copy(const uint8_t *data, size_t len, char *err, size_t err_size)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, data, len);
    err[0] = '\0';
    struct kv *kv = kv_snapshot_read(copy, len, err, err_size);
    free(copy);
    return kv;
}

static struct kv *round_trip(const struct kv *kv)
{
    struct buf snap;
    buf_init(&snap);
    kv_snapshot_write(kv, &snap);
    char err[128];
    struct kv *loaded = read_copy(snap.data, snap.len, err, sizeof err);
    if (!loaded)
        fail_msg("round trip failed: %s", err);
    buf_free(&snap);
    return loaded;
}

/* Recomputes the trailing CRC after a deliberate edit, so only the later checks can object. */
static void reseal(uint8_t *data, size_t len)
{
    uint32_t crc = crc32c(0, data, len - 4);
    for (int i = 0; i < 4; i++)
        data[len - 4 + i] = (uint8_t)(crc >> (8 * i));
}

static void set_binary(struct kv *kv, const uint8_t *key, size_t klen, const uint8_t *val,
                       size_t vlen)
{
    const uint8_t *argv[3] = {(const uint8_t *)"SET", key, val};
    size_t lens[3] = {3, klen, vlen};
    kv_execute(kv, 3, argv, lens, NULL, 2);
}

/* key's value as GET answers it, compared with the expected bulk string. */
static void assert_value(struct kv *kv, const uint8_t *key, size_t klen, const uint8_t *val,
                         size_t vlen)
{
    const uint8_t *argv[2] = {(const uint8_t *)"GET", key};
    size_t lens[2] = {3, klen};
    struct buf reply, expect;
    buf_init(&reply);
    buf_init(&expect);
    kv_execute(kv, 2, argv, lens, &reply, 2);
    char head[32];
    buf_append(&expect, head, (size_t)snprintf(head, sizeof head, "$%zu\r\n", vlen));
    buf_append(&expect, val, vlen);
    buf_append_str(&expect, "\r\n");
    assert_int_equal(reply.len, expect.len);
    assert_memory_equal(reply.data, expect.data, expect.len);
    buf_free(&reply);
    buf_free(&expect);
}

static void empty_kv_round_trips(void **state)
{
    (void)state;
    struct kv *kv = kv_create();
    struct buf snap;
    buf_init(&snap);
    buf_append_str(&snap, "prefix"); /* appends, leaving what was there */
    kv_snapshot_write(kv, &snap);
    assert_int_equal(snap.len, 6 + SNAP_EMPTY_LEN);
    assert_memory_equal(snap.data, "prefixCATSNAP\x02", 14);
    char err[128];
    struct kv *loaded = read_copy(snap.data + 6, snap.len - 6, err, sizeof err);
    assert_non_null(loaded);
    struct kv_stats stats;
    kv_get_stats(loaded, &stats);
    assert_int_equal(stats.keys, 0);
    assert_int_equal(kv_digest(loaded), 0);
    assert_int_equal(kv_session_count(loaded), 0);
    kv_destroy(loaded);
    kv_destroy(kv);
    buf_free(&snap);
}

/* Key i: 4 bytes of i (zero bytes included) then random bytes; key 0 is the empty key. Every
 * seventh value is empty, the others random and full of zeroes. */
static size_t make_key(struct rng *r, uint32_t i, uint8_t *key)
{
    if (i == 0)
        return 0;
    memcpy(key, &i, 4);
    size_t extra = (size_t)rng_below(r, 12);
    for (size_t j = 0; j < extra; j++)
        key[4 + j] = (uint8_t)(rng_below(r, 3) ? 0 : rng_next(r));
    return 4 + extra;
}

static size_t make_value(struct rng *r, uint32_t i, uint8_t *val)
{
    size_t vlen = i % 7 == 0 ? 0 : (size_t)rng_below(r, 100);
    for (size_t j = 0; j < vlen; j++)
        val[j] = (uint8_t)(rng_below(r, 2) ? 0 : rng_next(r));
    return vlen;
}

static void ten_thousand_binary_keys_round_trip(void **state)
{
    (void)state;
    enum { N = 10000 };
    struct kv *kv = kv_create();
    struct rng r;
    rng_seed(&r, 1);
    for (uint32_t i = 0; i < N; i++) {
        uint8_t key[16], val[100];
        size_t klen = make_key(&r, i, key), vlen = make_value(&r, i, val);
        set_binary(kv, key, klen, val, vlen);
    }
    APPLY(kv, "SET", "overwritten", "old");
    APPLY(kv, "SET", "overwritten", "new");
    APPLY(kv, "SET", "deleted", "x");
    APPLY(kv, "DEL", "deleted");
    struct kv *loaded = round_trip(kv);
    struct kv_stats before, after;
    kv_get_stats(kv, &before);
    kv_get_stats(loaded, &after);
    assert_int_equal(before.keys, N + 1);
    assert_int_equal(after.keys, before.keys);
    assert_int_equal(after.bytes, before.bytes);
    assert_int_equal(kv_digest(loaded), kv_digest(kv));
    rng_seed(&r, 1); /* the same keys and values again */
    for (uint32_t i = 0; i < N; i++) {
        uint8_t key[16], val[100];
        size_t klen = make_key(&r, i, key), vlen = make_value(&r, i, val);
        assert_value(loaded, key, klen, val, vlen);
    }
    assert_value(loaded, (const uint8_t *)"overwritten", 11, (const uint8_t *)"new", 3);
    kv_destroy(loaded);
    kv_destroy(kv);
}

/* One snapshot after every insert and delete: catches entries missed while the table is
 * growing, shrinking or rehashing. */
static void every_table_state_round_trips(void **state)
{
    (void)state;
    struct kv *kv = kv_create();
    char key[16];
    for (int step = 0; step < 600; step++) {
        snprintf(key, sizeof key, "k%d", step < 300 ? step : step - 300);
        if (step < 300)
            APPLY(kv, "SET", key, key);
        else
            APPLY(kv, "DEL", key);
        struct kv *loaded = round_trip(kv);
        struct kv_stats a, b;
        kv_get_stats(kv, &a);
        kv_get_stats(loaded, &b);
        assert_int_equal(a.keys, b.keys);
        assert_int_equal(kv_digest(loaded), kv_digest(kv));
        kv_destroy(loaded);
    }
    kv_destroy(kv);
}

static void sessions_survive(void **state)
{
    (void)state;
    struct kv *kv = kv_create();
    for (uint64_t seq = 1; seq <= 3; seq++)
        assert_true(kv_session_admit(kv, 1, 7, seq, NULL));
    assert_true(kv_session_admit(kv, 2, 7, 1, NULL));
    assert_true(kv_session_admit(kv, CATENA_MAX_NODES, UINT64_MAX, 1, NULL));
    for (uint64_t client = 100; client < 3100; client++)
        for (uint64_t seq = 1; seq <= client % 4 + 1; seq++)
            assert_true(kv_session_admit(kv, 3, client, seq, NULL));
    struct kv *loaded = round_trip(kv);
    assert_int_equal(kv_session_count(loaded), kv_session_count(kv));
    assert_int_equal(kv_session_count(loaded), 3 + 3000);
    struct kv_apply_stats stats = {0};
    assert_false(kv_session_admit(loaded, 1, 7, 3, &stats)); /* executed before the snapshot */
    assert_int_equal(stats.duplicates_skipped, 1);
    assert_false(kv_session_admit(loaded, 1, 7, 5, &stats)); /* 4 has not run yet */
    assert_int_equal(stats.gaps_skipped, 1);
    assert_true(kv_session_admit(loaded, 1, 7, 4, &stats));
    assert_false(kv_session_admit(loaded, 2, 7, 1, &stats));
    assert_true(kv_session_admit(loaded, 2, 7, 2, &stats));
    assert_false(kv_session_admit(loaded, CATENA_MAX_NODES, UINT64_MAX, 1, &stats));
    for (uint64_t client = 100; client < 3100; client++) {
        uint64_t last = client % 4 + 1;
        assert_false(kv_session_admit(loaded, 3, client, last, &stats));
        assert_true(kv_session_admit(loaded, 3, client, last + 1, &stats));
    }
    assert_true(kv_session_admit(loaded, 4, 1, 1, &stats)); /* a new session */
    kv_destroy(loaded);
    kv_destroy(kv);
}

/* Two keys (one empty value, one with a zero byte) and two sessions. */
static void small_snapshot(struct buf *snap)
{
    struct kv *kv = kv_create();
    set_binary(kv, (const uint8_t *)"a", 1, (const uint8_t *)"", 0);
    set_binary(kv, (const uint8_t *)"b\0c", 3, (const uint8_t *)"v\0w", 3);
    assert_true(kv_session_admit(kv, 1, 5, 1, NULL));
    assert_true(kv_session_admit(kv, 2, 6, 1, NULL));
    buf_init(snap);
    kv_snapshot_write(kv, snap);
    kv_destroy(kv);
}

static void every_truncation_is_rejected(void **state)
{
    (void)state;
    struct buf snap;
    small_snapshot(&snap);
    char err[128];
    for (size_t len = 0; len < snap.len; len++) {
        assert_null(read_copy(snap.data, len, err, sizeof err));
        assert_true(err[0] != '\0');
        if (len < SNAP_EMPTY_LEN)
            assert_non_null(strstr(err, "truncated"));
    }
    assert_string_equal(err, "snapshot checksum mismatch (corrupt or truncated)");
    struct kv *kv = read_copy(snap.data, snap.len, err, sizeof err);
    assert_non_null(kv);
    kv_destroy(kv);
    buf_free(&snap);
}

static void every_bit_flip_is_rejected(void **state)
{
    (void)state;
    struct buf snap;
    small_snapshot(&snap);
    char err[128];
    for (size_t bit = 0; bit < snap.len * 8; bit++) {
        snap.data[bit / 8] ^= (uint8_t)(1u << bit % 8);
        assert_null(read_copy(snap.data, snap.len, err, sizeof err));
        assert_true(err[0] != '\0');
        snap.data[bit / 8] ^= (uint8_t)(1u << bit % 8);
    }
    buf_free(&snap);
}

static void foreign_and_future_files_are_named(void **state)
{
    (void)state;
    char err[128];
    assert_null(read_copy((const uint8_t *)"*1\r\n$4\r\nPING\r\n", 14, err, sizeof err));
    assert_string_equal(err, "not a catena snapshot");
    struct buf snap;
    small_snapshot(&snap);
    snap.data[7] = 7;
    reseal(snap.data, snap.len);
    assert_null(read_copy(snap.data, snap.len, err, sizeof err));
    assert_string_equal(err, "unsupported snapshot version 7");
    assert_null(kv_snapshot_read(snap.data, snap.len, NULL, 0)); /* no room for a message */
    buf_free(&snap);
}

/* Edits behind a valid CRC: what a bug in a writer, or an attacker, could produce. */
static void forged_content_is_rejected(void **state)
{
    (void)state;
    struct buf snap;
    small_snapshot(&snap);
    char err[128];
    snap.data[snap.len - 12] ^= 1; /* the digest */
    reseal(snap.data, snap.len);
    assert_null(read_copy(snap.data, snap.len, err, sizeof err));
    assert_non_null(strstr(err, "snapshot digest mismatch"));
    snap.data[snap.len - 12] ^= 1;

    struct buf longer; /* a byte between the sessions and the digest */
    buf_init(&longer);
    buf_append(&longer, snap.data, snap.len - 12);
    buf_put_u8(&longer, 0);
    buf_append(&longer, snap.data + snap.len - 12, 12);
    reseal(longer.data, longer.len);
    assert_null(read_copy(longer.data, longer.len, err, sizeof err));
    assert_non_null(strstr(err, "trailing"));
    buf_free(&longer);

    struct buf dup; /* hand-built: the same key twice, then a session of origin 0 */
    buf_init(&dup);
    buf_append(&dup, "CATSNAP\x02", 8);
    buf_put_u64(&dup, 2);
    for (int i = 0; i < 2; i++) {
        buf_put_u32(&dup, 1);
        buf_append(&dup, "k", 1);
        buf_put_u32(&dup, 0);
    }
    buf_put_u64(&dup, 0);
    buf_put_u64(&dup, 0);
    buf_put_u32(&dup, 0);
    reseal(dup.data, dup.len);
    assert_null(read_copy(dup.data, dup.len, err, sizeof err));
    assert_string_equal(err, "snapshot has a duplicate key at byte 25");
    buf_clear(&dup);
    buf_append(&dup, "CATSNAP\x02", 8);
    buf_put_u64(&dup, 0);
    buf_put_u64(&dup, 1);
    buf_put_u32(&dup, 0);
    buf_put_u64(&dup, 1);
    buf_put_u64(&dup, 1);
    buf_put_u64(&dup, 0); /* live */
    buf_put_u64(&dup, 0);
    buf_put_u32(&dup, 0);
    reseal(dup.data, dup.len);
    assert_null(read_copy(dup.data, dup.len, err, sizeof err));
    assert_string_equal(err, "snapshot has an invalid session at byte 24");
    buf_free(&dup);
    buf_free(&snap);
}

/* Caps the address space a little above what the process uses, so a reader that trusted a
 * length field and allocated gigabytes would abort here. Sanitizers reserve terabytes of
 * address space, so they only get the functional check. */
static bool limit_address_space(struct rlimit *saved)
{
#if defined(TEST_ASAN) || !defined(__linux__)
    (void)saved;
    return false;
#else
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (!f)
        return false;
    bool ok = fscanf(f, "%lu", &pages) == 1;
    fclose(f);
    if (!ok || getrlimit(RLIMIT_AS, saved) != 0)
        return false;
    struct rlimit cap = *saved;
    rlim_t want = (rlim_t)pages * 4096 + ((rlim_t)256 << 20);
    if (cap.rlim_cur == RLIM_INFINITY || cap.rlim_cur > want)
        cap.rlim_cur = want;
    return setrlimit(RLIMIT_AS, &cap) == 0;
#endif
}

static void forged_lengths_allocate_nothing(void **state)
{
    (void)state;
    struct buf snap;
    small_snapshot(&snap);
    const size_t key_count_at = 8, first_key_len_at = 16;
    const size_t session_count_at = snap.len - 12 - 2 * 28 - 8;
    char err[128];
    struct rlimit saved;
    bool limited = limit_address_space(&saved);
    for (int forge = 0; forge < 4; forge++) {
        uint8_t *p = malloc(snap.len);
        assert_non_null(p);
        memcpy(p, snap.data, snap.len);
        if (forge == 0)
            memset(p + first_key_len_at, 0xff, 4); /* a 4 GB key */
        else if (forge == 1)
            memset(p + first_key_len_at + 4 + 1, 0xff, 4); /* a 4 GB value */
        else if (forge == 2)
            memset(p + key_count_at, 0xff, 8); /* 2^64 - 1 keys */
        else
            memset(p + session_count_at, 0xff, 8); /* 2^64 - 1 sessions */
        reseal(p, snap.len);
        assert_null(kv_snapshot_read(p, snap.len, err, sizeof err));
        assert_non_null(strstr(err, "truncated at byte"));
        free(p);
    }
    if (limited)
        assert_int_equal(setrlimit(RLIMIT_AS, &saved), 0);
    buf_free(&snap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_kv_round_trips),
        cmocka_unit_test(ten_thousand_binary_keys_round_trip),
        cmocka_unit_test(every_table_state_round_trips),
        cmocka_unit_test(sessions_survive),
        cmocka_unit_test(every_truncation_is_rejected),
        cmocka_unit_test(every_bit_flip_is_rejected),
        cmocka_unit_test(foreign_and_future_files_are_named),
        cmocka_unit_test(forged_content_is_rejected),
        cmocka_unit_test(forged_lengths_allocate_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
