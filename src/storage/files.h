/* File helpers shared by the storage modules. */
#ifndef CATENA_STORAGE_FILES_H
#define CATENA_STORAGE_FILES_H

#include <stddef.h>
#include <stdint.h>

/* The whole file, malloc'd (one spare byte at the end), or NULL with errno set. */
uint8_t *storage_read_file(const char *path, size_t *size);
/* write(2) until everything is written (EINTR retried). 0, or -1 with errno set. */
int storage_write_all(int fd, const void *data, size_t len);
/* pwrite(2) at offset until everything is written (EINTR retried). 0, or -1 with errno set. */
int storage_pwrite_all(int fd, const void *data, size_t len, size_t offset);
/* The whole file mapped read-only (*size bytes; a non-NULL pointer even when empty), or NULL
 * with errno set. Release with storage_unmap_file. The file must not shrink meanwhile. */
const uint8_t *storage_map_file(const char *path, size_t *size);
void storage_unmap_file(const uint8_t *data, size_t size);
/* fsync of a directory, so that names created, renamed or deleted in it last. 0 or -1. */
int storage_fsync_dir(const char *dir);
/* printf into err (err_size bytes). */
void storage_error(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
