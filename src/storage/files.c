#include "storage/files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

uint8_t *storage_read_file(const char *path, size_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    uint8_t *data = NULL;
    if (fstat(fd, &st) == 0 && (data = malloc((size_t)st.st_size + 1)) != NULL) {
        size_t got = 0;
        while (got < (size_t)st.st_size) {
            ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
            if (n <= 0) {
                if (n == 0)
                    errno = EIO; /* shrank while read */
                free(data);
                data = NULL;
                break;
            }
            got += (size_t)n;
        }
        *size = got;
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return data;
}

static const uint8_t storage_empty[1];

const uint8_t *storage_map_file(const char *path, size_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    const uint8_t *data = NULL;
    if (fstat(fd, &st) == 0) {
        *size = (size_t)st.st_size;
        if (*size == 0) {
            data = storage_empty; /* mmap refuses a length of 0 */
        } else {
            void *p = mmap(NULL, *size, PROT_READ, MAP_PRIVATE, fd, 0);
            data = p == MAP_FAILED ? NULL : p;
        }
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return data;
}

void storage_unmap_file(const uint8_t *data, size_t size)
{
    if (data && data != storage_empty)
        munmap((void *)data, size);
}

int storage_fsync_dir(const char *dir)
{
    int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0)
        return -1;
    int rc = fsync(d);
    int saved = errno;
    close(d);
    errno = saved;
    return rc;
}

void storage_error(char *err, size_t err_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
}

int storage_pwrite_all(int fd, const void *data, size_t len, size_t offset)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
        offset += (size_t)n;
    }
    return 0;
}

int storage_write_all(int fd, const void *data, size_t len)
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

