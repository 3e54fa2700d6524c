/* Write-ahead log segments: scanning, torn-tail repair, append, sync, replay (see wal.h). */
#include "storage/wal.h"

#include "common/buf.h"
#include "common/crc32c.h"
#include "common/reader.h"
#include "storage/files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAL_MAGIC "CATWAL3" /* 8 bytes with its zero; 3: commands carry their submission */
#define WAL_HEADER_BYTES 16  /* magic, u64 first sequence number */
#define WAL_RECORD_HEADER 17 /* u32 length, u32 crc, u64 synced, u8 type */
#define WAL_TYPE_AT 16       /* where the type is in a record */
#define WAL_BLOCK 4096       /* direct I/O's unit: buffers, offsets and lengths are multiples */
#define WAL_TAIL_BYTES (64u << 10) /* the tail's room after each sync (it grows as needed) */
#define WAL_SPARE "spare.wal-next"  /* names wal_parse_name does not take for segments */
#define WAL_SPARE_TMP "spare.wal-tmp"

struct wal_segment {
    uint64_t first, last; /* last < first: no record yet */
    size_t end;           /* bytes written (header included) */
};

struct wal {
    char *dir;
    size_t segment_bytes;
    struct wal_segment *segs;
    size_t count, cap;
    int fd;            /* the last segment, open for direct, synchronous writes */
    bool new_segment;  /* the directory needs an fsync */
    uint64_t synced;   /* records up to this one are known durable */
    struct buf header; /* a record's or a segment's header being written */
    /* The last segment's bytes from tail_from (a block boundary) to its end, not written yet
     * but for the first block. */
    uint8_t *tail;
    size_t tail_from, tail_cap;
    struct wal_write *queued; /* for the next sync job: the ends of segments left behind */
    size_t queued_count;
    enum { WAL_SPARE_NONE, WAL_SPARE_MAKING, WAL_SPARE_READY } spare;
};

/* A little-endian u32 or u64 at p (the caller checked the bounds). */
static uint32_t wal_u32_at(const uint8_t *p)
{
    struct reader r = reader_make(p, 4);
    return reader_u32(&r);
}

static uint64_t wal_u64_at(const uint8_t *p)
{
    struct reader r = reader_make(p, 8);
    return reader_u64(&r);
}

static void wal_path(const struct wal *w, uint64_t first, char *path, size_t size)
{
    snprintf(path, size, "%s/%016" PRIx64 ".wal", w->dir, first);
}

/* CRC of a record: its header but the CRC itself, and its payload. */
static uint32_t wal_record_crc(const uint8_t *header, const uint8_t *data, size_t len)
{
    uint32_t crc = crc32c(0, header, 4);
    crc = crc32c(crc, header + 8, WAL_RECORD_HEADER - 8);
    return crc32c(crc, data, len);
}

/* Whether a valid record starts at data + pos (size bytes in all) whose `synced` field says
 * record `seq` was durable when it was written. */
static bool wal_vouches_for(const uint8_t *data, size_t size, size_t pos, uint64_t seq)
{
    if (pos + WAL_RECORD_HEADER > size)
        return false;
    uint32_t len = wal_u32_at(data + pos);
    uint64_t synced = wal_u64_at(data + pos + 8);
    /* A record after seq is at most one per header's worth of bytes further (a cheap filter
     * before the CRC). */
    return len >= 1 && len - 1 <= size - pos - WAL_RECORD_HEADER && synced >= seq &&
           synced - seq <= size / WAL_RECORD_HEADER &&
           wal_u32_at(data + pos + 4) ==
               wal_record_crc(data + pos, data + pos + WAL_RECORD_HEADER, len - 1);
}

/* Reads a whole file; NULL with errno set on failure. */
static bool wal_all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Walks a segment's records; calls fn (if any) on each. Sets *end to where the valid records
 * end and *last to the last sequence number. Returns 0, 1 when the segment ends with a torn
 * record (from *end on), or -1 (corruption, message in err).
 *
 * A bad record in the last segment is torn when no valid record after it says it had been
 * fsynced: the disk may write the pages of unsynced records in any order, so records after a
 * torn one may have reached it, but none of them was acknowledged (a sync covers every byte
 * before it). One that a later record vouches for was durable: corruption. */
static int wal_walk(const uint8_t *data, size_t size, uint64_t first, bool last_segment,
                    wal_record_fn fn, void *arg, size_t *end, uint64_t *last, char *err,
                    size_t err_size)
{
    size_t pos = WAL_HEADER_BYTES;
    uint64_t seq = first - 1;
    bool stop = false;
    while (!stop && pos + WAL_RECORD_HEADER <= size) {
        uint32_t len = wal_u32_at(data + pos);
        if (len == 0 && wal_all_zero(data + pos, size - pos))
            break; /* the preallocated, unwritten part */
        bool fits = len >= 1 && len <= WAL_MAX_RECORD_BYTES &&
                    len - 1 <= size - pos - WAL_RECORD_HEADER;
        bool ok = fits && wal_u32_at(data + pos + 4) ==
                              wal_record_crc(data + pos, data + pos + WAL_RECORD_HEADER, len - 1);
        if (!ok) {
            size_t witness = 0;
            for (size_t p = pos + 1; last_segment && !witness && p < size; p++)
                if (wal_vouches_for(data, size, p, seq + 1))
                    witness = p;
            if (last_segment && !witness) {
                *end = pos;
                *last = seq;
                return 1;
            }
            if (witness)
                storage_error(err, err_size,
                              "corrupt record %" PRIu64 " at byte %zu (fsynced: the record at "
                              "byte %zu, written later, says so)",
                              seq + 1, pos, witness);
            else
                storage_error(err, err_size, "corrupt record %" PRIu64 " at byte %zu", seq + 1,
                              pos);
            return -1;
        }
        if (seq == UINT64_MAX) {
            /* Numbered past 2^64 - 1 (a forged header): wal_append never writes it. */
            storage_error(err, err_size, "record at byte %zu is numbered past 2^64 - 1", pos);
            return -1;
        }
        seq++;
        if (fn)
            stop = !fn(arg, seq, data[pos + WAL_TYPE_AT], data + pos + WAL_RECORD_HEADER,
                       len - 1);
        pos += WAL_RECORD_HEADER + len - 1;
    }
    if (!stop && pos < size && pos + WAL_RECORD_HEADER > size &&
        !wal_all_zero(data + pos, size - pos)) {
        if (!last_segment) {
            storage_error(err, err_size, "corrupt record %" PRIu64 " at byte %zu", seq + 1, pos);
            return -1;
        }
        *end = pos;
        *last = seq;
        return 1; /* a record header cut short */
    }
    *end = pos;
    *last = seq;
    return 0;
}

/* Only the names wal_path writes (16 lower-case hex digits, ".wal"): "0x..", "+..", " .." or
 * upper-case spellings of the same number would make two files claim one sequence number. */
static bool wal_parse_name(const char *name, uint64_t *first)
{
    if (strlen(name) != 16 + 4 || strcmp(name + 16, ".wal") != 0)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < 16; i++) {
        char ch = name[i];
        if (ch >= '0' && ch <= '9')
            v = v << 4 | (uint64_t)(ch - '0');
        else if (ch >= 'a' && ch <= 'f')
            v = v << 4 | (uint64_t)(ch - 'a' + 10);
        else
            return false;
    }
    if (v == 0)
        return false;
    *first = v;
    return true;
}

static int wal_cmp_segments(const void *a, const void *b)
{
    uint64_t x = ((const struct wal_segment *)a)->first, y = ((const struct wal_segment *)b)->first;
    return x < y ? -1 : x > y;
}

static bool wal_push_segment(struct wal *w, uint64_t first)
{
    if (w->count == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 8;
        struct wal_segment *s = realloc(w->segs, cap * sizeof *s);
        if (!s)
            return false;
        w->segs = s;
        w->cap = cap;
    }
    w->segs[w->count++] = (struct wal_segment){.first = first, .last = first - 1};
    return true;
}

static size_t wal_round_down(size_t n) { return n & ~(size_t)(WAL_BLOCK - 1); }
static size_t wal_round_up(size_t n) { return wal_round_down(n + WAL_BLOCK - 1); }

/* A buffer of `bytes` (whole blocks) aligned for direct I/O, or NULL. */
static uint8_t *wal_alloc_blocks(size_t bytes)
{
    void *p = NULL;
    return posix_memalign(&p, WAL_BLOCK, bytes) == 0 ? p : NULL;
}

/* Opens a file with direct I/O, or without where the file system refuses it (EINVAL). */
static int wal_open_direct(const char *path, int flags, mode_t mode)
{
    int fd = open(path, flags | O_DIRECT | O_CLOEXEC, mode);
    if (fd < 0 && errno == EINVAL)
        fd = open(path, flags | O_CLOEXEC, mode);
    return fd;
}

/* Creates `path` (which must not exist) holding `bytes` zeros, synced. 0, or -1 with errno
 * set (and no file left). */
static int wal_make_zeroed(const char *path, size_t bytes)
{
    int fd = wal_open_direct(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0)
        return -1;
    size_t chunk = 1u << 20;
    uint8_t *zeros = wal_alloc_blocks(chunk);
    int rc = zeros ? 0 : -1;
    if (zeros)
        memset(zeros, 0, chunk);
    for (size_t at = 0; rc == 0 && at < bytes; at += chunk)
        rc = storage_pwrite_all(fd, zeros, wal_round_up(bytes - at < chunk ? bytes - at : chunk),
                                at);
    if (rc == 0)
        rc = fdatasync(fd);
    int saved = errno;
    free(zeros);
    close(fd);
    if (rc != 0) {
        unlink(path);
        errno = saved;
    }
    return rc;
}

static void wal_write_release(struct wal_write *x)
{
    if (x->fd >= 0)
        close(x->fd);
    free(x->data);
    *x = (struct wal_write){.fd = -1};
}

/* Queues the bytes of the tail up to `end` (the segment's) for the next sync job, as a write
 * of whole blocks (zero-padded) on fd, which the write then owns; the block holding the end
 * stays in the tail, to be written again with what follows. */
static int wal_queue_tail(struct wal *w, size_t end, int fd)
{
    struct wal_write *queued = realloc(w->queued, (w->queued_count + 1) * sizeof *queued);
    if (!queued)
        return -1;
    w->queued = queued;
    size_t keep_from = wal_round_down(end);
    uint8_t *fresh = wal_alloc_blocks(WAL_TAIL_BYTES);
    if (!fresh)
        return -1;
    memcpy(fresh, w->tail + (keep_from - w->tail_from), end - keep_from);
    size_t used = end - w->tail_from, len = wal_round_up(used);
    memset(w->tail + used, 0, len - used);
    queued[w->queued_count++] =
        (struct wal_write){.fd = fd, .data = w->tail, .offset = w->tail_from, .len = len};
    w->tail = fresh;
    w->tail_cap = WAL_TAIL_BYTES;
    w->tail_from = keep_from;
    return 0;
}

/* Room in the tail for the last segment's bytes up to `end`. */
static int wal_tail_reserve(struct wal *w, size_t end)
{
    size_t need = wal_round_up(end - w->tail_from);
    if (need <= w->tail_cap)
        return 0;
    size_t cap = w->tail_cap;
    while (cap < need)
        cap *= 2;
    uint8_t *grown = wal_alloc_blocks(cap);
    if (!grown)
        return -1;
    memcpy(grown, w->tail, w->segs[w->count - 1].end - w->tail_from);
    free(w->tail);
    w->tail = grown;
    w->tail_cap = cap;
    return 0;
}

static void wal_spare_path(const char *dir, const char *name, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", dir, name);
}

/* Creates a segment starting at `first` (from the spare when one is ready) and makes it the
 * one written. */
static int wal_new_segment(struct wal *w, uint64_t first)
{
    char path[4096], spare[4096];
    wal_path(w, first, path, sizeof path);
    wal_spare_path(w->dir, WAL_SPARE, spare, sizeof spare);
    bool from_spare = w->spare == WAL_SPARE_READY && rename(spare, path) == 0;
    if (w->spare == WAL_SPARE_READY)
        w->spare = WAL_SPARE_NONE;
    if (!from_spare && wal_make_zeroed(path, w->segment_bytes) != 0)
        return -1;
    int fd = wal_open_direct(path, O_RDWR | O_DSYNC, 0);
    if (fd < 0 || !wal_push_segment(w, first)) {
        int saved = errno;
        if (fd >= 0)
            close(fd);
        unlink(path);
        errno = saved;
        return -1;
    }
    /* The segment left behind gets its end written by the next sync job, before the new one's
     * records: they count as durable only once it is complete on disk. */
    if (w->fd >= 0 && wal_queue_tail(w, w->segs[w->count - 2].end, w->fd) != 0) {
        close(fd);
        w->count--;
        unlink(path);
        errno = ENOMEM;
        return -1;
    }
    w->fd = fd;
    w->segs[w->count - 1].end = WAL_HEADER_BYTES;
    w->new_segment = true;
    struct buf *h = &w->header;
    buf_clear(h);
    buf_append(h, WAL_MAGIC, 8);
    buf_put_u64(h, first);
    memcpy(w->tail, h->data, WAL_HEADER_BYTES);
    w->tail_from = 0;
    return 0;
}

/* Scans segment s; on a torn tail erases it (zeros) when `repair`. */
static int wal_scan_segment(struct wal *w, size_t s, char *err, size_t err_size)
{
    char path[4096];
    struct wal_segment *seg = &w->segs[s];
    wal_path(w, seg->first, path, sizeof path);
    size_t size = 0;
    const uint8_t *data = storage_map_file(path, &size);
    if (!data) {
        storage_error(err, err_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    bool last_segment = s + 1 == w->count;
    if (size < WAL_HEADER_BYTES || memcmp(data, WAL_MAGIC, 8) != 0 ||
        wal_u64_at(data + 8) != seg->first) {
        /* A last segment whose header was never completely written holds no record. */
        if (last_segment && (size < WAL_HEADER_BYTES || wal_all_zero(data, size))) {
            storage_unmap_file(data, size);
            seg->end = 0;
            return 1;
        }
        if (size >= 8 && memcmp(data, WAL_MAGIC, 6) == 0 && memcmp(data, WAL_MAGIC, 8) != 0)
            storage_error(err, err_size,
                          "%s: written in another log format version (this catena reads %s)",
                          path, WAL_MAGIC);
        else
            storage_error(err, err_size, "%s: not a catena log segment (bad header)", path);
        storage_unmap_file(data, size);
        return -1;
    }
    char why[160];
    int rc = wal_walk(data, size, seg->first, last_segment, NULL, NULL, &seg->end, &seg->last,
                      why, sizeof why);
    storage_unmap_file(data, size);
    if (rc < 0)
        storage_error(err, err_size, "%s: %s", path, why);
    return rc;
}

static int wal_load(struct wal *w, char *err, size_t err_size)
{
    DIR *d = opendir(w->dir);
    if (!d) {
        storage_error(err, err_size, "%s: %s", w->dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    uint64_t first;
    while ((e = readdir(d)) != NULL)
        if (wal_parse_name(e->d_name, &first) && !wal_push_segment(w, first)) {
            closedir(d);
            storage_error(err, err_size, "out of memory");
            return -1;
        }
    closedir(d);
    /* An empty folder leaves segs NULL, which qsort must not get even for zero elements. */
    if (w->count > 1)
        qsort(w->segs, w->count, sizeof *w->segs, wal_cmp_segments);
    for (size_t s = 0; s < w->count; s++) {
        if (s > 0 && w->segs[s].first != w->segs[s - 1].last + 1) {
            storage_error(err, err_size,
                      "%s: segment %016" PRIx64 " follows one ending at record %" PRIu64
                      " (a segment is missing or damaged)",
                      w->dir, w->segs[s].first, w->segs[s - 1].last);
            return -1;
        }
        int rc = wal_scan_segment(w, s, err, err_size);
        if (rc < 0)
            return -1;
        if (rc == 1 && s + 1 == w->count) {
            /* Erase the torn record so that it is not read again after the next appends. */
            char path[4096];
            wal_path(w, w->segs[s].first, path, sizeof path);
            if (w->segs[s].end == 0) {
                unlink(path);
                w->count--;
                break;
            }
            int fd = open(path, O_RDWR | O_CLOEXEC);
            struct stat st;
            if (fd < 0 || fstat(fd, &st) != 0) {
                storage_error(err, err_size, "%s: %s", path, strerror(errno));
                if (fd >= 0)
                    close(fd);
                return -1;
            }
            size_t n = (size_t)st.st_size - w->segs[s].end;
            uint8_t *zeros = calloc(1, n ? n : 1);
            bool done = zeros && pwrite(fd, zeros, n, (off_t)w->segs[s].end) == (ssize_t)n &&
                        fdatasync(fd) == 0;
            free(zeros);
            close(fd);
            if (!done) {
                storage_error(err, err_size, "%s: cannot erase a torn record", path);
                return -1;
            }
        }
    }
    return 0;
}

/* Reads the last segment's block where its records end into the tail, for appends. */
static int wal_load_tail(struct wal *w, const char *path)
{
    size_t end = w->segs[w->count - 1].end;
    w->tail_from = wal_round_down(end);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = end - w->tail_from;
    ssize_t n = len > 0 ? pread(fd, w->tail, len, (off_t)w->tail_from) : 0;
    int saved = errno;
    close(fd);
    if (n != (ssize_t)len) {
        errno = n < 0 ? saved : EIO;
        return -1;
    }
    return 0;
}

struct wal *wal_open(const char *dir, size_t segment_bytes, char *err, size_t err_size)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        storage_error(err, err_size, "%s: %s", dir, strerror(errno));
        return NULL;
    }
    struct wal *w = calloc(1, sizeof *w);
    if (!w || !(w->dir = strdup(dir))) {
        free(w);
        storage_error(err, err_size, "out of memory");
        return NULL;
    }
    w->fd = -1;
    buf_init(&w->header);
    w->segment_bytes = segment_bytes ? segment_bytes : WAL_DEFAULT_SEGMENT_BYTES;
    if (w->segment_bytes < 4096)
        w->segment_bytes = 4096;
    w->tail_cap = WAL_TAIL_BYTES;
    if (!(w->tail = wal_alloc_blocks(w->tail_cap))) {
        wal_close(w);
        storage_error(err, err_size, "out of memory");
        return NULL;
    }
    /* A spare left by an earlier run may be incomplete: it is made again when needed. */
    char spare[4096];
    wal_spare_path(dir, WAL_SPARE, spare, sizeof spare);
    unlink(spare);
    wal_spare_path(dir, WAL_SPARE_TMP, spare, sizeof spare);
    unlink(spare);
    if (wal_load(w, err, err_size) != 0) {
        wal_close(w);
        return NULL;
    }
    int rc;
    if (w->count == 0) {
        rc = wal_new_segment(w, 1) == 0 ? wal_sync(w) : -1;
    } else {
        char path[4096];
        wal_path(w, w->segs[w->count - 1].first, path, sizeof path);
        rc = wal_load_tail(w, path);
        /* What is on disk now counts as durable from here on (after a process crash, some of
         * it may be in the page cache only). */
        if (rc == 0 && (w->fd = wal_open_direct(path, O_RDWR | O_DSYNC, 0)) < 0)
            rc = -1;
        if (rc == 0)
            rc = fdatasync(w->fd);
    }
    if (rc != 0) {
        storage_error(err, err_size, "%s: %s", dir, strerror(errno));
        wal_close(w);
        return NULL;
    }
    w->synced = wal_last_seq(w);
    return w;
}

void wal_close(struct wal *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    for (size_t i = 0; i < w->queued_count; i++)
        wal_write_release(&w->queued[i]);
    free(w->queued);
    free(w->tail);
    free(w->segs);
    buf_free(&w->header);
    free(w->dir);
    free(w);
}

uint64_t wal_append(struct wal *w, uint8_t type, const void *data, size_t len)
{
    if (len >= WAL_MAX_RECORD_BYTES) {
        errno = EMSGSIZE;
        return 0;
    }
    struct wal_segment *seg = &w->segs[w->count - 1];
    if (seg->last == UINT64_MAX) {
        errno = EOVERFLOW; /* no sequence number left (the log opened with a forged header) */
        return 0;
    }
    size_t size = WAL_RECORD_HEADER + len;
    /* A record that does not fit starts a new segment (one larger than a segment gets a
     * segment of its own, grown past the preallocated size). */
    if (seg->end + size > w->segment_bytes && seg->last >= seg->first) {
        if (wal_new_segment(w, seg->last + 1) != 0)
            return 0;
        seg = &w->segs[w->count - 1];
    }
    struct buf *h = &w->header;
    buf_clear(h);
    buf_put_u32(h, (uint32_t)(len + 1));
    buf_put_u32(h, 0); /* the CRC, which covers the rest of the header */
    buf_put_u64(h, w->synced);
    buf_put_u8(h, type);
    buf_patch_u32(h, 4, wal_record_crc(h->data, data, len));
    if (wal_tail_reserve(w, seg->end + size) != 0)
        return 0;
    uint8_t *at = w->tail + (seg->end - w->tail_from);
    memcpy(at, h->data, h->len);
    if (len)
        memcpy(at + h->len, data, len);
    seg->end += size;
    return ++seg->last;
}

int wal_sync(struct wal *w)
{
    struct wal_sync_job job;
    if (wal_sync_begin(w, &job) != 0 || wal_sync_run(&job) != 0)
        return -1;
    wal_mark_synced(w, wal_last_seq(w));
    return 0;
}

void wal_mark_synced(struct wal *w, uint64_t seq)
{
    if (seq > w->synced)
        w->synced = seq;
}

int wal_sync_begin(struct wal *w, struct wal_sync_job *job)
{
    *job = (struct wal_sync_job){0};
    char *dir = w->new_segment ? strdup(w->dir) : NULL;
    int fd = dup(w->fd);
    if ((w->new_segment && !dir) || fd < 0 ||
        wal_queue_tail(w, w->segs[w->count - 1].end, fd) != 0) {
        if (fd >= 0)
            close(fd);
        free(dir);
        return -1;
    }
    *job = (struct wal_sync_job){.writes = w->queued, .count = w->queued_count, .dir = dir};
    w->queued = NULL;
    w->queued_count = 0;
    w->new_segment = false;
    return 0;
}

int wal_sync_run(struct wal_sync_job *job)
{
    int rc = 0, saved = 0;
    /* In order: a segment's end before the records of the next one. O_DSYNC: each write is
     * durable when it returns. */
    for (size_t i = 0; i < job->count; i++) {
        struct wal_write *x = &job->writes[i];
        if (rc == 0 && storage_pwrite_all(x->fd, x->data, x->len, x->offset) != 0) {
            rc = -1;
            saved = errno;
        }
        wal_write_release(x);
    }
    if (rc == 0 && job->dir && storage_fsync_dir(job->dir) != 0) {
        rc = -1;
        saved = errno;
    }
    free(job->writes);
    free(job->dir);
    *job = (struct wal_sync_job){0};
    errno = saved;
    return rc;
}

bool wal_spare_begin(struct wal *w, struct wal_spare_job *job)
{
    if (w->spare != WAL_SPARE_NONE || w->segs[w->count - 1].end < w->segment_bytes / 2)
        return false;
    char *dir = strdup(w->dir);
    if (!dir)
        return false;
    *job = (struct wal_spare_job){.dir = dir, .bytes = w->segment_bytes};
    w->spare = WAL_SPARE_MAKING;
    return true;
}

int wal_spare_run(struct wal_spare_job *job)
{
    char tmp[4096], spare[4096];
    wal_spare_path(job->dir, WAL_SPARE_TMP, tmp, sizeof tmp);
    wal_spare_path(job->dir, WAL_SPARE, spare, sizeof spare);
    unlink(tmp);
    int rc = wal_make_zeroed(tmp, job->bytes);
    if (rc == 0 && (rc = rename(tmp, spare)) != 0)
        unlink(tmp);
    int saved = errno;
    free(job->dir);
    job->dir = NULL;
    errno = saved;
    return rc;
}

void wal_spare_done(struct wal *w, bool made)
{
    w->spare = made ? WAL_SPARE_READY : WAL_SPARE_NONE;
}

struct wal_replay_ctx {
    wal_record_fn fn;
    void *arg;
    long long visited;
    bool stopped;
};

static bool wal_replay_one(void *arg, uint64_t seq, uint8_t type, const uint8_t *data,
                           size_t len)
{
    struct wal_replay_ctx *r = arg;
    r->visited++;
    r->stopped = !r->fn(r->arg, seq, type, data, len);
    return !r->stopped;
}

long long wal_replay(struct wal *w, wal_record_fn fn, void *arg, char *err, size_t err_size)
{
    struct wal_replay_ctx ctx = {.fn = fn, .arg = arg};
    for (size_t s = 0; s < w->count && !ctx.stopped; s++) {
        char path[4096];
        wal_path(w, w->segs[s].first, path, sizeof path);
        size_t mapped = 0;
        const uint8_t *data = storage_map_file(path, &mapped);
        if (!data) {
            storage_error(err, err_size, "%s: %s", path, strerror(errno));
            return -1;
        }
        /* Records end at seg.end: what lies beyond is preallocated zeros. */
        size_t size = mapped > w->segs[s].end ? w->segs[s].end : mapped;
        size_t end;
        uint64_t last;
        char why[160];
        int rc = wal_walk(data, size, w->segs[s].first, false, wal_replay_one, &ctx, &end, &last,
                          why, sizeof why);
        storage_unmap_file(data, mapped);
        if (rc != 0) {
            storage_error(err, err_size, "%s: %s (changed since it was opened)", path, why);
            return -1;
        }
    }
    return ctx.visited;
}

int wal_drop_before(struct wal *w, uint64_t seq)
{
    size_t drop = 0;
    while (drop + 1 < w->count && w->segs[drop].last < seq)
        drop++;
    for (size_t s = 0; s < drop; s++) {
        char path[4096];
        wal_path(w, w->segs[s].first, path, sizeof path);
        if (unlink(path) != 0)
            return -1;
    }
    memmove(w->segs, w->segs + drop, (w->count - drop) * sizeof *w->segs);
    w->count -= drop;
    return (int)drop;
}

int wal_reset(struct wal *w, uint64_t next_seq)
{
    if (next_seq <= wal_last_seq(w)) {
        errno = EINVAL;
        return -1;
    }
    for (size_t s = 0; s < w->count; s++) {
        char path[4096];
        wal_path(w, w->segs[s].first, path, sizeof path);
        if (unlink(path) != 0)
            return -1;
    }
    w->count = 0;
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    for (size_t i = 0; i < w->queued_count; i++)
        wal_write_release(&w->queued[i]);
    w->queued_count = 0;
    w->synced = next_seq - 1; /* in the snapshot */
    return wal_new_segment(w, next_seq);
}

uint64_t wal_last_seq(const struct wal *w)
{
    for (size_t s = w->count; s > 0; s--)
        if (w->segs[s - 1].last >= w->segs[s - 1].first)
            return w->segs[s - 1].last;
    return 0;
}

uint64_t wal_first_seq(const struct wal *w)
{
    return w->count && wal_last_seq(w) ? w->segs[0].first : 0;
}

size_t wal_segment_count(const struct wal *w) { return w->count; }
