/* Snapshot files (src/storage/snapshot_file.h): round trips with and without a tail file (the
 * state machine a forked child serialized), the newest one wins and older ones go, and what is
 * refused: a flipped byte, a truncated file, another format version. Real files in a
 * temporary folder. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "storage/snapshot_file.h"
#include "tmpdir.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];
static char err[512];

static int setup(void **state)
{
    (void)state;
    return tmpdir_create(dir, sizeof dir, "snapshot-test");
}

static int teardown(void **state)
{
    (void)state;
    tmpdir_remove(dir);
    return 0;
}

static void snapshot_file_name(uint64_t seq, char *path, size_t size)
{
    snprintf(path, size, "%s/snapshot-%016llx.snap", dir, (unsigned long long)seq);
}

/* An unlinked file holding len bytes of a pattern, as the checkpoint child leaves it. */
static int tail_file(size_t len, uint8_t *copy)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tail", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    unlink(path);
    for (size_t i = 0; i < len; i++)
        copy[i] = (uint8_t)(i * 7 + i / 4096);
    assert_int_equal(write(fd, copy, len), (ssize_t)len);
    return fd;
}

static void expect_loaded(uint64_t seq, const void *data, size_t len)
{
    uint64_t got_seq = 0;
    uint8_t *got = NULL;
    size_t got_len = 0;
    assert_int_equal(snapshot_file_load(dir, &got_seq, &got, &got_len, err, sizeof err), 1);
    assert_int_equal(got_seq, seq);
    assert_int_equal(got_len, len);
    assert_memory_equal(got, data, len);
    free(got);
}

static void test_round_trip_newest_wins(void **state)
{
    (void)state;
    uint64_t seq;
    uint8_t *data;
    size_t len;
    assert_int_equal(snapshot_file_load(dir, &seq, &data, &len, err, sizeof err), 0);
    assert_int_equal(snapshot_file_write(dir, 5, "first", 5, -1, err, sizeof err), 0);
    expect_loaded(5, "first", 5);
    assert_int_equal(snapshot_file_write(dir, 9, "second!", 7, -1, err, sizeof err), 0);
    expect_loaded(9, "second!", 7);
    char path[512];
    snapshot_file_name(5, path, sizeof path);
    assert_int_equal(access(path, F_OK), -1); /* the older one is gone */
}

/* The payload is the head followed by the tail file's whole contents, across copy chunks. */
static void test_tail_file_appended(void **state)
{
    (void)state;
    size_t tail_len = (3u << 20) + 12345; /* more than one 1 MB copy chunk */
    uint8_t *expected = malloc(10 + tail_len);
    memcpy(expected, "head bytes", 10);
    int fd = tail_file(tail_len, expected + 10);
    assert_int_equal(snapshot_file_write(dir, 42, "head bytes", 10, fd, err, sizeof err), 0);
    close(fd);
    expect_loaded(42, expected, 10 + tail_len);
    free(expected);
}

static void test_damage_refused(void **state)
{
    (void)state;
    uint8_t tail[1000];
    int fd = tail_file(sizeof tail, tail);
    assert_int_equal(snapshot_file_write(dir, 7, "abc", 3, fd, err, sizeof err), 0);
    close(fd);
    char path[512];
    snapshot_file_name(7, path, sizeof path);
    uint64_t seq;
    uint8_t *data;
    size_t len;
    /* A byte of the tail flipped. */
    fd = open(path, O_RDWR);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, 28 + 500), 1);
    b ^= 0x10;
    assert_int_equal(pwrite(fd, &b, 1, 28 + 500), 1);
    assert_int_equal(snapshot_file_load(dir, &seq, &data, &len, err, sizeof err), -1);
    assert_non_null(strstr(err, "checksum mismatch"));
    /* Truncated. */
    assert_int_equal(ftruncate(fd, 28 + 100), 0);
    assert_int_equal(snapshot_file_load(dir, &seq, &data, &len, err, sizeof err), -1);
    assert_non_null(strstr(err, "length does not match"));
    /* Another format version (the last byte of the magic). */
    assert_int_equal(pwrite(fd, "CATSNAP1", 8, 0), 8);
    assert_int_equal(snapshot_file_load(dir, &seq, &data, &len, err, sizeof err), -1);
    assert_non_null(strstr(err, "another snapshot format version"));
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_newest_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tail_file_appended, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
