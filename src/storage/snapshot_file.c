#include "storage/snapshot_file.h"

#include "common/buf.h"
#include "common/crc32c.h"
#include "common/reader.h"
#include "storage/files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Version 2: a checkpoint's state machine bytes come last (protocols' STATE records). */
#define SNAPSHOT_MAGIC "CATSNAP3" /* 3: commands carry their submission, sessions end */
#define SNAPSHOT_HEADER_BYTES 28 /* magic, u64 seq, u64 length, u32 crc */
#define SNAPSHOT_CRC_AT 24
#define SNAPSHOT_COPY_CHUNK (1u << 20)
#define SNAPSHOT_TEMP "snapshot.tmp"

static void snapshot_path(const char *dir, uint64_t seq, char *path, size_t size)
{
    snprintf(path, size, "%s/snapshot-%016" PRIx64 ".snap", dir, seq);
}

/* The seq of a snapshot file name, or false if the name is not one. */
static bool snapshot_name_seq(const char *name, uint64_t *seq)
{
    char hex[17];
    if (strlen(name) != 30 || strncmp(name, "snapshot-", 9) != 0 ||
        strcmp(name + 25, ".snap") != 0)
        return false;
    memcpy(hex, name + 9, 16);
    hex[16] = '\0';
    char *end;
    errno = 0;
    unsigned long long v = strtoull(hex, &end, 16);
    if (errno || *end)
        return false;
    *seq = v;
    return true;
}

/* Deletes the snapshots of dir older than seq. */
static void snapshot_delete_older(const char *dir, uint64_t seq)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        uint64_t s;
        if (snapshot_name_seq(e->d_name, &s) && s < seq) {
            char path[4096];
            snapshot_path(dir, s, path, sizeof path);
            unlink(path);
        }
    }
    closedir(d);
}

/* Appends the contents of tail_fd (tail_len bytes from offset 0) to fd, folding them into
 * *crc. 0, or -1 with errno set (a tail shorter than tail_len is EIO). */
static int snapshot_copy_tail(int fd, int tail_fd, uint64_t tail_len, uint32_t *crc)
{
    uint8_t *chunk = malloc(SNAPSHOT_COPY_CHUNK);
    if (!chunk)
        return -1;
    uint64_t at = 0;
    int rc = 0;
    while (rc == 0 && at < tail_len) {
        size_t want = tail_len - at < SNAPSHOT_COPY_CHUNK ? (size_t)(tail_len - at)
                                                          : SNAPSHOT_COPY_CHUNK;
        ssize_t n = pread(tail_fd, chunk, want, (off_t)at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            errno = EIO;
        if (n <= 0 || storage_write_all(fd, chunk, (size_t)n) != 0) {
            rc = -1;
            break;
        }
        *crc = crc32c(*crc, chunk, (size_t)n);
        at += (uint64_t)n;
    }
    int saved = errno;
    free(chunk);
    errno = saved;
    return rc;
}

/* The temporary file with header and payload, fsynced. 0, or -1 with errno set. */
static int snapshot_write_temp(int fd, uint64_t seq, const void *data, size_t len, int tail_fd)
{
    uint64_t tail_len = 0;
    struct stat st;
    if (tail_fd >= 0) {
        if (fstat(tail_fd, &st) != 0)
            return -1;
        tail_len = (uint64_t)st.st_size;
    }
    uint32_t crc = crc32c(0, data, len);
    struct buf h;
    buf_init(&h);
    buf_append(&h, SNAPSHOT_MAGIC, 8);
    buf_put_u64(&h, seq);
    buf_put_u64(&h, len + tail_len);
    buf_put_u32(&h, 0); /* the crc, once the tail is read */
    int rc = storage_write_all(fd, h.data, h.len) != 0 || storage_write_all(fd, data, len) != 0
                 ? -1
                 : 0;
    if (rc == 0 && tail_fd >= 0)
        rc = snapshot_copy_tail(fd, tail_fd, tail_len, &crc);
    if (rc == 0) {
        buf_clear(&h);
        buf_put_u32(&h, crc);
        rc = pwrite(fd, h.data, 4, SNAPSHOT_CRC_AT) == 4 && fdatasync(fd) == 0 ? 0 : -1;
    }
    int saved = errno;
    buf_free(&h);
    errno = saved;
    return rc;
}

int snapshot_file_write(const char *dir, uint64_t seq, const void *data, size_t len, int tail_fd,
                        char *err, size_t err_size)
{
    char temp[4096], path[4096];
    snprintf(temp, sizeof temp, "%s/%s", dir, SNAPSHOT_TEMP);
    snapshot_path(dir, seq, path, sizeof path);
    int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = fd < 0 || snapshot_write_temp(fd, seq, data, len, tail_fd) != 0 ? -1 : 0;
    int saved = errno;
    if (fd >= 0)
        close(fd);
    if (rc == 0 && (rename(temp, path) != 0 || storage_fsync_dir(dir) != 0)) {
        rc = -1;
        saved = errno;
    }
    if (rc != 0) {
        unlink(temp);
        storage_error(err, err_size, "%s: %s", path, strerror(saved));
        return -1;
    }
    snapshot_delete_older(dir, seq);
    return 0;
}

int snapshot_file_load(const char *dir, uint64_t *seq, uint8_t **data, size_t *len, char *err,
                       size_t err_size)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        storage_error(err, err_size, "%s: %s", dir, strerror(errno));
        return -1;
    }
    bool found = false;
    uint64_t newest = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        uint64_t s;
        if (snapshot_name_seq(e->d_name, &s) && (!found || s > newest)) {
            newest = s;
            found = true;
        }
    }
    closedir(d);
    if (!found)
        return 0;
    char path[4096];
    snapshot_path(dir, newest, path, sizeof path);
    size_t size = 0;
    uint8_t *file = storage_read_file(path, &size);
    if (!file) {
        storage_error(err, err_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct reader r = reader_make(file, size);
    const uint8_t *magic = reader_bytes(&r, 8);
    uint64_t file_seq = reader_u64(&r);
    uint64_t length = reader_u64(&r);
    uint32_t crc = reader_u32(&r);
    const char *why = NULL;
    if (!r.failed && memcmp(magic, SNAPSHOT_MAGIC, 7) == 0 && magic[7] != SNAPSHOT_MAGIC[7])
        why = "written in another snapshot format version (this catena reads " SNAPSHOT_MAGIC
              ")";
    else if (r.failed || memcmp(magic, SNAPSHOT_MAGIC, 8) != 0)
        why = "not a catena snapshot (bad header)";
    else if (file_seq != newest)
        why = "its header names another sequence number";
    else if (length != size - SNAPSHOT_HEADER_BYTES)
        why = "its length does not match the file size";
    else if (crc32c(0, file + SNAPSHOT_HEADER_BYTES, length) != crc)
        why = "checksum mismatch";
    if (why) {
        storage_error(err, err_size, "%s: %s", path, why);
        free(file);
        return -1;
    }
    memmove(file, file + SNAPSHOT_HEADER_BYTES, length);
    *seq = newest;
    *data = file;
    *len = length;
    return 1;
}
