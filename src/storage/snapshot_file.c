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
#include <unistd.h>

#define SNAPSHOT_MAGIC "CATSNAP1"
#define SNAPSHOT_HEADER_BYTES 28 /* magic, u64 seq, u64 length, u32 crc */
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

static int snapshot_write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
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

int snapshot_file_write(const char *dir, uint64_t seq, const void *data, size_t len, char *err,
                        size_t err_size)
{
    char temp[4096], path[4096];
    snprintf(temp, sizeof temp, "%s/%s", dir, SNAPSHOT_TEMP);
    snapshot_path(dir, seq, path, sizeof path);
    struct buf h;
    buf_init(&h);
    buf_append(&h, SNAPSHOT_MAGIC, 8);
    buf_put_u64(&h, seq);
    buf_put_u64(&h, len);
    buf_put_u32(&h, crc32c(0, data, len));
    int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = fd < 0 || snapshot_write_all(fd, h.data, h.len) != 0 ||
                     snapshot_write_all(fd, data, len) != 0 || fdatasync(fd) != 0
                 ? -1
                 : 0;
    int saved = errno;
    buf_free(&h);
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
    if (r.failed || memcmp(magic, SNAPSHOT_MAGIC, 8) != 0)
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
