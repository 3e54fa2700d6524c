/* Snapshot files: the newest checkpoint of a replica, next to its write-ahead log (issue 5).
 *
 * `snapshot-<seq, 16 hex digits>.snap` holds a payload that replaces every log record up to
 * sequence number seq: an 8-byte magic (its last byte is the format version), u64 seq, u64
 * payload length, u32 crc32c of the payload, then the payload. It is written to a temporary file, fsynced and renamed, so a
 * crash leaves either the old snapshot or the new one, never half of one; older ones are
 * deleted after the rename. A snapshot that fails its checks is corruption (refused), not
 * a torn write. */
#ifndef CATENA_STORAGE_SNAPSHOT_FILE_H
#define CATENA_STORAGE_SNAPSHOT_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Writes the snapshot covering log records <= seq into dir and makes it durable; then
 * deletes the older snapshots. The payload is data, followed by the whole contents of the
 * file tail_fd if it is not -1 (read from offset 0; a state machine serialized by another
 * process). 0, or -1 with a message in err (nothing replaced). Blocking: run it off the
 * event loop for large payloads. */
int snapshot_file_write(const char *dir, uint64_t seq, const void *data, size_t len, int tail_fd,
                        char *err, size_t err_size);

/* Loads the newest snapshot of dir: 1 with *seq, *data (malloc'd) and *len set; 0 if there is
 * none; -1 with a message in err if it is unreadable or fails its checks. */
int snapshot_file_load(const char *dir, uint64_t *seq, uint8_t **data, size_t *len, char *err,
                       size_t err_size);

#endif
