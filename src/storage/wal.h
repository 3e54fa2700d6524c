/* Write-ahead log: typed records appended to segment files in one directory (issue 5).
 *
 * A segment is `<first sequence number, 16 hex digits>.wal`: an 8-byte magic, the u64 sequence
 * number of its first record, then records `u32 length | u32 crc32c | u64 synced | u8 type |
 * payload`, where length counts type and payload, the CRC covers the rest of the header and
 * the payload, and `synced` is the last record known durable (its sync completed) when this
 * one was appended. Segments are zero-filled to segment_bytes when they are made, so a zero
 * length marks the end of the written part; a new segment starts when a record does not fit.
 *
 * Writing: an append copies the record into memory; a sync writes what came since the last
 * one, in whole 4 KB blocks, with one direct (O_DIRECT) and synchronous (O_DSYNC) write, which
 * is durable when it returns. The block holding the end is written again by the next sync,
 * with the same bytes before the end, so a torn write of it cannot damage a synced record.
 * Because the segment's blocks were written (with zeros) beforehand, such a write changes no
 * file metadata: no extent conversion, no inode update, only the data and the device's flush.
 * This costs a third less CPU per sync than write(2) plus fdatasync on ext4 (issue 5's
 * measurements in the README). Where direct I/O is refused (tmpfs), the same writes go
 * through the page cache, still O_DSYNC. Zero-filling 64 MB takes 50-100 ms, so the next
 * segment (the spare) is made off the writer's thread once the current one is half full.
 *
 * Opening scans every segment. A record of the last segment that fails its checks is a torn
 * write (the process or the machine stopped before its sync, and the disk wrote what it
 * had in any order) unless a valid record after it says, by its `synced` field, that it was
 * durable: it is erased with everything after it, and the log goes on from the record
 * before. Anything else (a bad record vouched for, a bad record in an older segment, a
 * segment missing from the sequence, a bad header) is corruption: the log refuses to open,
 * says where, and changes nothing. What cannot be told apart: damage to records of the last
 * sync before a crash that no later record vouches for is taken for a torn write. Records not
 * synced are lost on close, as in a crash. Not thread-safe; one writer. */
#ifndef CATENA_STORAGE_WAL_H
#define CATENA_STORAGE_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WAL_DEFAULT_SEGMENT_BYTES (64u << 20)
#define WAL_MAX_RECORD_BYTES (1u << 30)

struct wal;

/* Opens the log in `dir` (created if missing), or NULL with a message in err. */
struct wal *wal_open(const char *dir, size_t segment_bytes, char *err, size_t err_size);
void wal_close(struct wal *w);

/* Appends a record (written, not yet durable); returns its sequence number, or 0 with errno
 * set on an I/O error, a record over WAL_MAX_RECORD_BYTES or no sequence number left after
 * 2^64 - 1 (EOVERFLOW). */
uint64_t wal_append(struct wal *w, uint8_t type, const void *data, size_t len);
/* Makes every appended record durable (written; the directory synced too after a new
 * segment). 0, or -1 with errno set. */
int wal_sync(struct wal *w);
/* Records up to seq are durable (a wal_sync_run completed): the next records say so. */
void wal_mark_synced(struct wal *w, uint64_t seq);

/* The same off the writer's thread (group commit): wal_sync_begin, on the writer's thread,
 * takes what must reach the disk for every record appended so far; wal_sync_run, on any
 * thread, writes it and releases the job (0, or -1 with errno set: then the records' fate is
 * unknown, and the writer must stop rather than retry). Records appended after begin are not
 * covered. One job at a time: the next begins after the last one ran (each rewrites the
 * block where the last ended). A job writes the end of the segments left behind first. */
struct wal_write {
    int fd; /* the job's own, closed when it ran */
    uint8_t *data;
    size_t offset, len; /* multiples of the 4 KB block */
};
struct wal_sync_job {
    struct wal_write *writes;
    size_t count;
    char *dir; /* the directory to fsync too, or NULL */
};
int wal_sync_begin(struct wal *w, struct wal_sync_job *job);
int wal_sync_run(struct wal_sync_job *job);

/* The spare segment, made off the writer's thread: wal_spare_begin says whether to make one now
 * (the last segment is half full and none is ready or under way) and fills job; wal_spare_run,
 * on any thread, makes it and releases the job (0, or -1 with errno set); wal_spare_done tells
 * the log the outcome. A segment started without a spare is zero-filled on the spot. */
struct wal_spare_job {
    char *dir;
    size_t bytes;
};
bool wal_spare_begin(struct wal *w, struct wal_spare_job *job);
int wal_spare_run(struct wal_spare_job *job);
void wal_spare_done(struct wal *w, bool made);

/* Calls fn on every record in order, from the oldest kept; stops early when fn returns false.
 * Reads the files: records not synced yet are not there (recovery replays before appending).
 * Returns the number of records visited, or -1 with a message in err on an I/O error. */
typedef bool (*wal_record_fn)(void *arg, uint64_t seq, uint8_t type, const uint8_t *data,
                              size_t len);
long long wal_replay(struct wal *w, wal_record_fn fn, void *arg, char *err, size_t err_size);

/* Deletes the segments whose records all come before `seq` (a snapshot covers them); the
 * segment being written is kept. Returns the number of segments deleted, or -1. */
int wal_drop_before(struct wal *w, uint64_t seq);

/* Deletes every segment and goes on with sequence number next_seq, which must be above every
 * record (a snapshot covers them all, up to next_seq - 1). 0, or -1 with errno set. */
int wal_reset(struct wal *w, uint64_t next_seq);

uint64_t wal_last_seq(const struct wal *w);  /* 0: no record */
uint64_t wal_first_seq(const struct wal *w); /* the oldest record kept (0: none) */
size_t wal_segment_count(const struct wal *w);

#endif
