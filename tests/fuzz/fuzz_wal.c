/* libFuzzer target: the write-ahead log reader (src/storage/wal.h) on any directory of segment
 * files, laid out from the input as fuzz_wal_input.h says, in a fresh temporary directory.
 *
 * A log either refuses to open with a message, or opens and then: replays without error,
 * visiting exactly its records first..last in order; takes one more record numbered last + 1;
 * reopens (after close) with that record last; and, after wal_drop_before(that record minus the
 * input's last byte), keeps every record from there on. No crash, leak (ASan), undefined behaviour
 * (UBSan, aborting), leaked file descriptor or endless loop (libFuzzer's -timeout). */
#include "common/crc32c.h"
#include "fuzz_wal_input.h"
#include "storage/wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FUZZ_WAL_MAX_SEGMENTS 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_err[512];

#define FUZZ_CHECK(cond)                                                                        \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "fuzz_wal: %s:%d: check failed: %s (last error: %s)\n", __FILE__,   \
                    __LINE__, #cond, fuzz_err);                                                 \
            abort();                                                                            \
        }                                                                                       \
    } while (0)

static uint32_t fuzz_u32_at(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t fuzz_u64_at(const uint8_t *p)
{
    return (uint64_t)fuzz_u32_at(p) | (uint64_t)fuzz_u32_at(p + 4) << 32;
}

/* The lowest free descriptor: it changes across a run only if the log leaked one. */
static int fuzz_lowest_free_fd(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    FUZZ_CHECK(fd >= 0);
    close(fd);
    return fd;
}

/* Under $TMPDIR (run.sh points it to a private folder, on tmpfs when there is one: the log
 * calls fdatasync), else /tmp. */
static void fuzz_make_dir(char *dir, size_t size)
{
    const char *base = getenv("TMPDIR") && getenv("TMPDIR")[0] ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, size, "%s/catena-fuzz-wal.XXXXXX", base);
    FUZZ_CHECK(mkdtemp(dir) != NULL);
}

static void fuzz_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    FUZZ_CHECK(d != NULL);
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            FUZZ_CHECK(unlink(path) == 0);
        }
    closedir(d);
    FUZZ_CHECK(rmdir(dir) == 0);
}

/* Gives every complete record after the header its right CRC (the layout of wal.h). */
static void fuzz_reseal(uint8_t *p, size_t n)
{
    size_t pos = 16;
    while (pos + 17 <= n) { /* u32 length, u32 crc, u64 synced, u8 type */
        uint32_t len = fuzz_u32_at(p + pos);
        if (len == 0 || len - 1 > n - pos - 17)
            break;
        uint32_t crc = crc32c(0, p + pos, 4);
        crc = crc32c(crc, p + pos + 8, 9);
        crc = crc32c(crc, p + pos + 17, len - 1);
        for (int i = 0; i < 4; i++)
            p[pos + 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
        pos += 17 + (size_t)len - 1;
    }
}

static void fuzz_write_segment(const char *dir, uint8_t control, uint8_t name,
                               const uint8_t *content, size_t len)
{
    uint64_t header = len >= 16 ? fuzz_u64_at(content + 8) : 1;
    uint64_t first = name == FUZZ_WAL_NAME_FROM_HEADER ? header
                     : name < 128 ? name
                                  : header + (uint64_t)name - FUZZ_WAL_NAME_OFFSET;
    char path[4096];
    snprintf(path, sizeof path, "%s/%016" PRIx64 ".wal", dir, first);
    uint8_t *copy = malloc(len ? len : 1);
    FUZZ_CHECK(copy != NULL);
    memcpy(copy, content, len);
    if (control & FUZZ_WAL_RESEAL)
        fuzz_reseal(copy, len);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(write(fd, copy, len) == (ssize_t)len);
    if ((control & FUZZ_WAL_PAD) && len < FUZZ_WAL_SEGMENT_BYTES)
        FUZZ_CHECK(ftruncate(fd, FUZZ_WAL_SEGMENT_BYTES) == 0);
    close(fd);
    free(copy);
}

/* Writes the segments; returns where the appended record's payload starts. */
static size_t fuzz_write_segments(const char *dir, const uint8_t *data, size_t size)
{
    size_t pos = 1, count = (size_t)(data[0] & 3) + 1;
    for (size_t s = 0; s < count && s < FUZZ_WAL_MAX_SEGMENTS && pos + 3 <= size; s++) {
        uint8_t name = data[pos];
        size_t len = (size_t)data[pos + 1] | (size_t)data[pos + 2] << 8;
        pos += 3;
        if (len > size - pos)
            len = size - pos;
        fuzz_write_segment(dir, data[0], name, data + pos, len);
        pos += len;
    }
    return pos;
}

struct fuzz_replay {
    uint64_t next;  /* the sequence number expected next */
    uint64_t count; /* records visited */
    bool ordered;   /* every record came with the number expected */
    uint64_t want_seq; /* the appended record, once there is one (0: none) */
    uint8_t want_type;
    const uint8_t *want_data;
    size_t want_len;
    bool want_seen;
};

static bool fuzz_on_record(void *arg, uint64_t seq, uint8_t type, const uint8_t *data,
                           size_t len)
{
    struct fuzz_replay *r = arg;
    if (seq != r->next)
        r->ordered = false;
    r->next = seq + 1;
    r->count++;
    if (r->want_seq && seq == r->want_seq)
        r->want_seen = type == r->want_type && len == r->want_len &&
                       (len == 0 || memcmp(data, r->want_data, len) == 0);
    return true;
}

/* Replays the whole log: exactly the records first..last, in order, without error. */
static void fuzz_replay_all(struct wal *w, struct fuzz_replay *r)
{
    uint64_t first = wal_first_seq(w), last = wal_last_seq(w);
    r->next = first;
    r->count = 0;
    r->ordered = true;
    long long visited = wal_replay(w, fuzz_on_record, r, fuzz_err, sizeof fuzz_err);
    FUZZ_CHECK(visited >= 0);
    FUZZ_CHECK((uint64_t)visited == r->count);
    FUZZ_CHECK(r->ordered);
    if (last == 0) {
        FUZZ_CHECK(first == 0 && r->count == 0);
    } else {
        FUZZ_CHECK(first >= 1 && first <= last);
        FUZZ_CHECK(r->count == last - first + 1);
    }
}

/* Dropping the segments before record `before` keeps every record from there on, and the
 * log still replays as one run of records. */
static void fuzz_check_drop(struct wal *w, uint64_t before)
{
    uint64_t first = wal_first_seq(w), last = wal_last_seq(w);
    FUZZ_CHECK(wal_drop_before(w, before) >= 0);
    FUZZ_CHECK(wal_last_seq(w) == last);
    FUZZ_CHECK(wal_first_seq(w) <= (before > first ? before : first));
    struct fuzz_replay r = {0};
    fuzz_replay_all(w, &r);
}

static void fuzz_check_log(const char *dir, uint8_t type, const uint8_t *payload, size_t len,
                           uint8_t drop_back)
{
    fuzz_err[0] = '\0';
    struct wal *w = wal_open(dir, FUZZ_WAL_SEGMENT_BYTES, fuzz_err, sizeof fuzz_err);
    if (!w) {
        FUZZ_CHECK(fuzz_err[0] != '\0'); /* a refusal always says why */
        return;
    }
    struct fuzz_replay r = {0};
    fuzz_replay_all(w, &r);
    uint64_t last = wal_last_seq(w);
    errno = 0;
    uint64_t seq = wal_append(w, type, payload, len);
    if (last == UINT64_MAX) { /* a forged header used every sequence number */
        FUZZ_CHECK(seq == 0 && errno == EOVERFLOW);
        wal_close(w);
        return;
    }
    FUZZ_CHECK(seq != 0);
    FUZZ_CHECK(last == 0 || seq == last + 1);
    FUZZ_CHECK(wal_last_seq(w) == seq);
    FUZZ_CHECK(wal_sync(w) == 0);
    wal_close(w);

    w = wal_open(dir, FUZZ_WAL_SEGMENT_BYTES, fuzz_err, sizeof fuzz_err);
    FUZZ_CHECK(w != NULL); /* the log it just wrote */
    FUZZ_CHECK(wal_last_seq(w) == seq);
    r = (struct fuzz_replay){
        .want_seq = seq, .want_type = type, .want_data = payload, .want_len = len};
    fuzz_replay_all(w, &r);
    FUZZ_CHECK(r.want_seen);
    fuzz_check_drop(w, seq > drop_back ? seq - drop_back : 1);
    wal_close(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int fd_before = fuzz_lowest_free_fd();
    char dir[4096];
    fuzz_make_dir(dir, sizeof dir);
    size_t payload = fuzz_write_segments(dir, data, size);
    fuzz_check_log(dir, data[0] >> 4, data + payload, size - payload, data[size - 1]);
    fuzz_remove_dir(dir);
    FUZZ_CHECK(fuzz_lowest_free_fd() == fd_before); /* no descriptor leaked */
    return 0;
}
