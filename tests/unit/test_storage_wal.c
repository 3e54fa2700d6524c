/* The write-ahead log (src/storage/wal.h): round trips, rotation, torn tails, corruption, bit
 * flips, empty and missing directories, missing segments, the spare segment, records not
 * synced. Real files in a temporary folder. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/crc32c.h"
#include "storage/wal.h"
#include "tmpdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEGMENT 4096

static char dir[256];
static char err[512];

static int setup(void **state)
{
    (void)state;
    return tmpdir_create(dir, sizeof dir, "wal-test");
}

static int teardown(void **state)
{
    (void)state;
    tmpdir_remove(dir);
    return 0;
}

/* Record k's payload: "record <k>" repeated k % 7 + 1 times. */
static size_t payload(uint64_t k, char *out, size_t size)
{
    size_t n = 0;
    for (uint64_t r = 0; r <= k % 7; r++)
        n += (size_t)snprintf(out + n, size - n, "record %llu;", (unsigned long long)k);
    return n;
}

/* Bytes a segment holding records 1..n uses: its header, then each record's. */
static size_t written_bytes(uint64_t n)
{
    size_t bytes = 16;
    for (uint64_t k = 1; k <= n; k++) {
        char buf[256];
        bytes += 17 + payload(k, buf, sizeof buf);
    }
    return bytes;
}

static void append_records(struct wal *w, uint64_t from, uint64_t to)
{
    char buf[256];
    for (uint64_t k = from; k <= to; k++)
        assert_int_equal(wal_append(w, (uint8_t)(k % 3), buf, payload(k, buf, sizeof buf)), k);
    assert_int_equal(wal_sync(w), 0);
}

struct seen {
    uint64_t count, next;
    bool prefix_ok; /* every record matched what was appended */
};

static bool check_record(void *arg, uint64_t seq, uint8_t type, const uint8_t *data, size_t len)
{
    struct seen *s = arg;
    char buf[256];
    size_t n = payload(seq, buf, sizeof buf);
    if (seq != s->next || type != seq % 3 || len != n || memcmp(data, buf, n) != 0)
        s->prefix_ok = false;
    s->next++;
    s->count++;
    return true;
}

static struct seen replay_all(struct wal *w)
{
    struct seen s = {.next = wal_first_seq(w) ? wal_first_seq(w) : 1, .prefix_ok = true};
    assert_true(wal_replay(w, check_record, &s, err, sizeof err) >= 0);
    return s;
}

static void segment_path(uint64_t first, char *path, size_t size)
{
    snprintf(path, size, "%s/%016llx.wal", dir, (unsigned long long)first);
}

static size_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (size_t)st.st_size;
}

static void test_round_trip_and_reopen(void **state)
{
    (void)state;
    struct wal *w = wal_open(dir, SEGMENT, err, sizeof err);
    assert_non_null(w);
    assert_int_equal(wal_last_seq(w), 0);
    append_records(w, 1, 20);
    wal_close(w);
    w = wal_open(dir, SEGMENT, err, sizeof err);
    assert_non_null(w);
    assert_int_equal(wal_last_seq(w), 20);
    append_records(w, 21, 30); /* appends go on after the records found */
    struct seen s = replay_all(w);
    assert_true(s.prefix_ok);
    assert_int_equal(s.count, 30);
    wal_close(w);
}

static void test_rotation_and_drop(void **state)
{
    (void)state;
    struct wal *w = wal_open(dir, SEGMENT, err, sizeof err);
    assert_non_null(w);
    append_records(w, 1, 400); /* about 20 KB: several 4 KB segments */
    assert_true(wal_segment_count(w) >= 4);
    wal_close(w);
    w = wal_open(dir, SEGMENT, err, sizeof err);
    assert_non_null(w);
    struct seen s = replay_all(w);
    assert_true(s.prefix_ok);
    assert_int_equal(s.count, 400);
    size_t before = wal_segment_count(w);
    assert_true(wal_drop_before(w, 300) >= 1);
    assert_true(wal_segment_count(w) < before);
    assert_true(wal_first_seq(w) <= 300);
    s = replay_all(w);
    assert_true(s.prefix_ok);
    assert_int_equal(s.next, 401);
    wal_close(w);
}

/* A record whose write stopped half-way: the log opens with the records before it. */
static void test_torn_tail(void **state)
{
    (void)state;
    struct wal *w = wal_open(dir, SEGMENT, err, sizeof err);
    append_records(w, 1, 3);
    wal_close(w);
    char path[512];
    segment_path(1, path, sizeof path);
    /* Zero the last 10 bytes of record 3 (its end), as if only its start reached the disk. */
    size_t end = written_bytes(3);
    int fd = open(path, O_WRONLY);
    char zeros[10] = {0};
    assert_int_equal(pwrite(fd, zeros, sizeof zeros, (off_t)(end - sizeof zeros)), 10);
    close(fd);
    w = wal_open(dir, SEGMENT, err, sizeof err);
    assert_non_null(w);
    assert_int_equal(wal_last_seq(w), 2);
    append_records(w, 3, 5);
    wal_close(w);
    w = wal_open(dir, SEGMENT, err, sizeof err);
    assert_non_null(w);
    struct seen s = replay_all(w);
    assert_true(s.prefix_ok);
    assert_int_equal(s.count, 5);
    wal_close(w);
}

/* Flips a bit of byte `at` of segment `first`; returns the segment's path in path. */
static void flip_byte(uint64_t first, off_t at, char *path, size_t size)
{
    segment_path(first, path, size);
    int fd = open(path, O_RDWR);
    uint8_t byte;
    assert_int_equal(pread(fd, &byte, 1, at), 1);
    byte ^= 0x40;
    assert_int_equal(pwrite(fd, &byte, 1, at), 1);
    close(fd);
}

/* A damaged record that a later record says was fsynced is corruption: refused, nothing
 * changed. */
static void test_corrupt_middle_refused(void **state)
{
    (void)state;
    struct wal *w = wal_open(dir, SEGMENT, err, sizeof err);
    append_records(w, 1, 1);
    append_records(w, 2, 3); /* written after record 1's sync: they vouch for it */
    wal_close(w);
    char path[512];
    off_t at = 16 + 17 + 3; /* inside record 1's payload */
    flip_byte(1, at, path, sizeof path);
    size_t size = file_size(path);
    w = wal_open(dir, SEGMENT, err, sizeof err);
    assert_null(w);
    assert_non_null(strstr(err, "corrupt record 1 "));
    assert_non_null(strstr(err, "fsynced"));
    assert_int_equal(file_size(path), size);
    flip_byte(1, at, path, sizeof path); /* repaired by hand: it opens again with every record */
    w = wal_open(dir, SEGMENT, err, sizeof err);
    assert_non_null(w);
    assert_int_equal(wal_last_seq(w), 3);
    wal_close(w);
}

/* The disk wrote unsynced records out of order before a crash: record 3 of 2..4 (appended
 * after the sync of record 1, synced together) is damaged but 4 reached the disk. No record
 * says 3 was durable, so it is a torn tail: the log keeps 1 and 2 and erases the rest. The
 * same damage to record 1, which records 2 to 4 say was durable, is refused. */
static void test_unsynced_reordered_tail_cut(void **state)
{
    (void)state;
    struct wal *w = wal_open(dir, SEGMENT, err, sizeof err);
    append_records(w, 1, 1);
    append_records(w, 2, 4);
    wal_close(w);
    char path[512];
    flip_byte(1, (off_t)written_bytes(2) + 17 + 1, path, sizeof path); /* record 3's payload */
    w = wal_open(dir, SEGMENT, err, sizeof err);
    assert_non_null(w);
    assert_int_equal(wal_last_seq(w), 2);
    struct seen s = replay_all(w);
    assert_true(s.prefix_ok);
    assert_int_equal(s.count, 2);
    assert_int_equal(wal_append(w, 1, "x", 1), 3); /* and the log goes on from there */
    wal_close(w);
    flip_byte(1, 16 + 17 + 1, path, sizeof path); /* record 1 */
    assert_null(wal_open(dir, SEGMENT, err, sizeof err));
    assert_non_null(strstr(err, "corrupt record 1 "));
}

/* Every single bit flip in the written part either is refused or leaves a log whose records
 * are exactly a prefix of what was written: never a wrong record. */
static void test_bit_flips(void **state)
{
    (void)state;
    struct wal *w = wal_open(dir, SEGMENT, err, sizeof err);
    append_records(w, 1, 6);
    wal_close(w);
    char path[512];
    segment_path(1, path, sizeof path);
    size_t written = written_bytes(6);
    int fd = open(path, O_RDWR);
    uint8_t *original = malloc(written);
    assert_int_equal(pread(fd, original, written, 0), (ssize_t)written);
    size_t refused = 0, prefixes = 0;
    for (size_t bit = 0; bit < written * 8; bit++) {
        uint8_t flipped = original[bit / 8] ^ (uint8_t)(1u << (bit % 8));
        assert_int_equal(pwrite(fd, &flipped, 1, (off_t)(bit / 8)), 1);
        w = wal_open(dir, SEGMENT, err, sizeof err);
        if (!w) {
            refused++;
        } else {
            struct seen s = replay_all(w);
            assert_true(s.prefix_ok);
            assert_true(s.count < 6); /* the flipped record is gone */
            prefixes++;
            wal_close(w);
        }
        /* Restore the whole written part (a torn-tail repair may have zeroed some of it). */
        assert_int_equal(pwrite(fd, original, written, 0), (ssize_t)written);
    }
    close(fd);
    free(original);
    print_message("%zu bit flips: %zu refused, %zu opened with a shorter log\n", written * 8,
                  refused, prefixes);
    assert_true(refused > 0 && prefixes > 0);
}

static void test_empty_and_missing(void **state)
{
    (void)state;
    struct wal *w = wal_open(dir, SEGMENT, err, sizeof err); /* empty folder */
    assert_non_null(w);
    assert_int_equal(wal_last_seq(w), 0);
    assert_int_equal(replay_all(w).count, 0);
    wal_close(w);
    char sub[512];
    snprintf(sub, sizeof sub, "%s/new", dir); /* missing folder: created */
    w = wal_open(sub, SEGMENT, err, sizeof err);
    assert_non_null(w);
    append_records(w, 1, 2);
    wal_close(w);
    char path[600];
    snprintf(path, sizeof path, "%s/%016llx.wal", sub, 1ull);
    unlink(path);
    rmdir(sub);
    /* A file that is not a segment of this log is refused, not overwritten. */
    segment_path(1, path, sizeof path);
    FILE *f = fopen(path, "w");
    fputs("this is not a log segment at all", f);
    fclose(f);
    w = wal_open(dir, SEGMENT, err, sizeof err);
    assert_null(w);
    assert_non_null(strstr(err, "bad header"));
}

static void test_missing_segment_refused(void **state)
{
    (void)state;
    struct wal *w = wal_open(dir, SEGMENT, err, sizeof err);
    append_records(w, 1, 400);
    assert_true(wal_segment_count(w) >= 3);
    wal_close(w);
    DIR *d = opendir(dir);
    struct dirent *e;
    char names[64][32];
    size_t n = 0;
    while ((e = readdir(d)) != NULL && n < 64)
        if (e->d_name[0] != '.' && strlen(e->d_name) < sizeof names[0])
            memcpy(names[n++], e->d_name, strlen(e->d_name) + 1);
    closedir(d);
    qsort(names, n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, names[1]); /* a segment in the middle */
    unlink(path);
    w = wal_open(dir, SEGMENT, err, sizeof err);
    assert_null(w);
    assert_non_null(strstr(err, "missing"));
}

static void in_dir(const char *name, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", dir, name);
}

static bool exists(const char *name)
{
    char path[512];
    in_dir(name, path, sizeof path);
    return access(path, F_OK) == 0;
}

/* The spare is asked for once the last segment is half full, made off the writer's thread (run
 * here), and becomes the next segment; one left by an earlier run is deleted at open. */
static void test_spare_segment(void **state)
{
    (void)state;
    struct wal *w = wal_open(dir, SEGMENT, err, sizeof err);
    assert_non_null(w);
    struct wal_spare_job job;
    uint64_t k = 0;
    while (!wal_spare_begin(w, &job)) {
        append_records(w, k + 1, k + 1);
        k++;
        assert_int_equal(wal_segment_count(w), 1);
    }
    assert_true(written_bytes(k) >= SEGMENT / 2);
    struct wal_spare_job again;
    assert_false(wal_spare_begin(w, &again)); /* one is under way */
    assert_int_equal(wal_spare_run(&job), 0);
    assert_true(exists("spare.wal-next"));
    wal_spare_done(w, true);
    assert_false(wal_spare_begin(w, &again)); /* one is ready */
    size_t before = wal_segment_count(w);
    while (wal_segment_count(w) == before) {
        append_records(w, k + 1, k + 1);
        k++;
    }
    assert_false(exists("spare.wal-next")); /* it is the new segment now */
    char path[512];
    segment_path(k, path, sizeof path);
    assert_int_equal(file_size(path), SEGMENT); /* zero-filled to the segment's size */
    wal_close(w);
    char spare[512]; /* a leftover spare, as if a run had stopped while making it */
    in_dir("spare.wal-next", spare, sizeof spare);
    FILE *f = fopen(spare, "w");
    fputs("garbage", f);
    fclose(f);
    w = wal_open(dir, SEGMENT, err, sizeof err);
    assert_non_null(w);
    assert_false(exists("spare.wal-next"));
    struct seen s = replay_all(w);
    assert_true(s.prefix_ok);
    assert_int_equal(s.count, k);
    wal_close(w);
}

/* Appends live in memory until a sync: those after the last one are gone after close, as after
 * a crash, and the block they shared with synced records keeps those intact. */
static void test_unsynced_records_lost_on_close(void **state)
{
    (void)state;
    struct wal *w = wal_open(dir, SEGMENT, err, sizeof err);
    append_records(w, 1, 5);
    char buf[256];
    for (uint64_t k = 6; k <= 8; k++)
        assert_int_equal(wal_append(w, (uint8_t)(k % 3), buf, payload(k, buf, sizeof buf)), k);
    wal_close(w);
    w = wal_open(dir, SEGMENT, err, sizeof err);
    assert_non_null(w);
    assert_int_equal(wal_last_seq(w), 5);
    append_records(w, 6, 9); /* numbered again from 6 */
    struct seen s = replay_all(w);
    assert_true(s.prefix_ok);
    assert_int_equal(s.count, 9);
    wal_close(w);
}

/* A segment by hand: the header with sequence number `first`, then `records` one-byte records,
 * each with its right CRC. */
static void write_forged_segment(uint64_t first, int records)
{
    uint8_t data[16 + 2 * 18] = "CATWAL3";
    for (int i = 0; i < 8; i++)
        data[8 + i] = (uint8_t)(first >> (8 * i));
    size_t n = 16;
    for (int r = 0; r < records; r++, n += 18) {
        uint8_t *rec = data + n; /* u32 length, u32 crc, u64 synced (0), u8 type, payload */
        memcpy(rec, "\x02\0\0\0", 4); /* length: type and a one-byte payload */
        rec[16] = 1;
        rec[17] = (uint8_t)('a' + r);
        uint32_t crc = crc32c(crc32c(0, rec, 4), rec + 8, 10);
        for (int i = 0; i < 4; i++)
            rec[4 + i] = (uint8_t)(crc >> (8 * i));
    }
    char path[512];
    segment_path(first, path, sizeof path);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Found by tests/fuzz/fuzz_wal (crash-c038419d...): a forged header numbering records up to
 * 2^64 - 1 made the next record 0, wal_append's error value, and a log reporting no record. */
static void test_sequence_numbers_exhausted(void **state)
{
    (void)state;
    write_forged_segment(UINT64_MAX, 1); /* record 2^64 - 1: valid, and the last possible */
    struct wal *w = wal_open(dir, SEGMENT, err, sizeof err);
    assert_non_null(w);
    assert_true(wal_last_seq(w) == UINT64_MAX);
    assert_int_equal(replay_all(w).count, 1);
    errno = 0;
    assert_true(wal_append(w, 1, "b", 1) == 0);
    assert_int_equal(errno, EOVERFLOW);
    wal_close(w);
    w = wal_open(dir, SEGMENT, err, sizeof err); /* nothing was written */
    assert_non_null(w);
    assert_true(wal_last_seq(w) == UINT64_MAX);
    wal_close(w);
    write_forged_segment(UINT64_MAX, 2); /* a second record has no number: corruption */
    assert_null(wal_open(dir, SEGMENT, err, sizeof err));
    assert_non_null(strstr(err, "numbered past"));
}

/* Only the names the log writes are segments: "0x" prefixes, signs, spaces or upper case
 * spelling segment 1's number again are other files, left alone. */
static void test_noncanonical_names_ignored(void **state)
{
    (void)state;
    struct wal *w = wal_open(dir, SEGMENT, err, sizeof err);
    append_records(w, 1, 3);
    wal_close(w);
    const char *others[] = {"0x00000000000001.wal", "+000000000000001.wal",
                            " 000000000000001.wal", "000000000000000A.wal"};
    char path[600], canonical[512];
    segment_path(1, canonical, sizeof canonical);
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, others[i]);
        assert_int_equal(link(canonical, path), 0);
    }
    w = wal_open(dir, SEGMENT, err, sizeof err);
    assert_non_null(w);
    assert_int_equal(wal_segment_count(w), 1);
    assert_int_equal(replay_all(w).count, 3);
    wal_close(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_and_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_middle_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsynced_reordered_tail_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bit_flips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_and_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_segment_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sequence_numbers_exhausted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_noncanonical_names_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spare_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsynced_records_lost_on_close, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
