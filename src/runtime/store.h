/* A replica's durable storage on the event loop (issue 5): the engine's EFFECT_PERSIST records
 * go to the write-ahead log, checkpoints to a snapshot file, and peer messages emitted after
 * a record wait until it is durable.
 *
 * Group commit: records are appended (in memory) as the engine emits them; at the end of each
 * loop iteration one synchronous write makes everything so far durable (on the loop while
 * such writes are fast, else on libuv's thread pool while the loop goes on: store_kick). When
 * it completes, the messages that waited for those records leave, in the order the engine
 * emitted them, and the next sync takes what came meanwhile. So a replica's sync overlaps the
 * next replica's work along the chain, and under load one sync covers many commands. The
 * log's next segment is zero-filled on the thread pool. A checkpoint is written to its
 * snapshot file there as well; messages emitted after it wait for that too, and the log
 * segments it covers are deleted once it is durable.
 *
 * Layout of a data directory: wal/ (segments and the spare, storage/wal.h), snapshot-<seq>.snap
 * (storage/snapshot_file.h) and LOCK (held by the running replica). */
#ifndef CATENA_RUNTIME_STORE_H
#define CATENA_RUNTIME_STORE_H

#include "common/buf.h"
#include "core/held_sends.h"
#include "core/record_waits.h"
#include "core/types.h"
#include "runtime/peer_link.h"
#include "storage/wal.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* Syncs run on the loop once STORE_SYNCS_MEASURED have been timed and they take under
 * STORE_LOOP_SYNC_US on average (store_kick). */
#define STORE_LOOP_SYNC_US 200
#define STORE_SYNCS_MEASURED 8

struct store_checkpoint {
    uint64_t seq;    /* covers log records <= seq */
    uint64_t number; /* checkpoints issued before it, itself included */
    struct buf data;
    int tail_fd;     /* -1, or a file whose contents follow data (store_attach_state) */
    bool active;
};

/* What INFO persistence shows. */
struct store_stats {
    uint64_t fsyncs, fsync_us_total, fsync_us_max, fsync_us_last, syncs_on_loop;
    uint64_t records_written, bytes_written;
    uint64_t snapshots_written, snapshot_bytes_last, snapshot_us_last;
    int64_t snapshot_time_last; /* Unix time of the last snapshot written, 0: none yet */
};

struct store {
    uv_loop_t *loop;
    char *dir;
    struct wal *wal;
    struct peer_set *peers;
    int lock_fd;
    /* Log records: written up to `appended`, durable up to `durable`. */
    uint64_t appended, durable;
    bool syncing;
    uint64_t syncing_upto;
    uv_work_t sync_req;
    struct wal_sync_job sync_job;
    int sync_rc, sync_errno;
    uv_work_t spare_req; /* the log's next segment, zero-filled on the thread pool */
    struct wal_spare_job spare_job;
    int spare_rc, spare_errno;
    /* Checkpoints: how many are durable (numbered by `waits`), the one being written and the
     * next one. */
    uint64_t checkpoints_durable;
    struct store_checkpoint writing, next;
    int attached_fd; /* store_attach_state, not claimed yet (-1: none) */
    uint64_t attached_instance;
    uv_work_t checkpoint_req;
    int checkpoint_rc;
    char checkpoint_err[256];
    struct held_sends held; /* each waits for a count of durable engine records */
    /* The engine's records and what each waits for; their durable count is reported with
     * on_durable (ENGINE_EVENT_DURABLE). */
    struct record_waits waits;
    void (*on_durable)(void *ctx, uint64_t records);
    void *ctx;
    struct store_stats stats;
    uint64_t sync_us, checkpoint_us, checkpoint_tail_bytes; /* measured on the thread pool */
    uint64_t sync_us_avg; /* over about the last 8 syncs */
};

/* Opens (creating it) the data directory, locks it and opens its log. 0, or -1 with a
 * message in err, -2 when the log is damaged (or cannot be read). */
int store_open(struct store *s, uv_loop_t *loop, struct peer_set *peers, const char *dir,
               char *err, size_t err_size);
/* Hands every durable record, newest checkpoint first, to fn in order. Returns the number of
 * records, or -1 with a message in err (a corrupt log or snapshot: nothing is changed). */
long long store_recover(struct store *s, void (*fn)(void *ctx, const uint8_t *data, size_t len),
                        void *ctx, char *err, size_t err_size);
/* EFFECT_PERSIST: checkpoint is the effect's instance (0: an ordinary record); a compaction
 * (outbox.h) holds no send back. */
void store_persist(struct store *s, uint64_t checkpoint, bool compaction, const uint8_t *data,
                   size_t len);
/* A state machine serialized elsewhere (a forked child, into fd): the checkpoint record for
 * `instance` that the engine emits next is incomplete, and the snapshot file appends fd's
 * contents to it (engine.h, ENGINE_EVENT_SNAPSHOT by reference). The store owns fd. */
void store_attach_state(struct store *s, uint64_t instance, int fd);
/* After the step that answered it: closes an attached fd no checkpoint claimed (the engine
 * refused that snapshot). */
void store_detach_state(struct store *s);
/* A peer message: sent now if nothing it may depend on is still on its way to the disk,
 * held otherwise. */
void store_send(struct store *s, node_id to, const uint8_t *data, size_t len);
/* End of a loop iteration: syncs the log if records wait for it and no sync is running. While
 * the last syncs took under STORE_LOOP_SYNC_US on average, the sync runs on the loop, as
 * Redis' `appendfsync always` does: handing a fast write to the thread pool and back costs two
 * thread switches and a wake-up of the loop, more than the write itself (issue 5: 11% more
 * durable SETs at 50 clients here, with 2-3 us less CPU per write). A slow disk's syncs go to
 * the pool, so that the loop keeps serving reads and peers meanwhile, and so do all syncs while
 * this replica writes a snapshot file: behind one of 88 MB a sync took 756 ms (5M-key re-add
 * load), far longer than the average predicts. Returns true when the
 * sync ran on the loop: records became durable, and the messages held for them left, now. */
bool store_kick(struct store *s);
/* Closes the log; a write or fsync still running is waited for by uv_run's end. */
void store_close(struct store *s);

#endif
