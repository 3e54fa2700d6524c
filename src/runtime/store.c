#include "runtime/store.h"

#include "common/check.h"
#include "common/log.h"
#include "common/reader.h"
#include "storage/snapshot_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { STORE_RECORD = 1 }; /* the log's record type for engine records */

/* An fsync or a checkpoint that failed leaves the records' fate unknown (retrying an fsync
 * after an error does not make the lost writes durable): stopping is the only safe answer,
 * and the replica recovers from what is on disk when restarted. */
static void store_fatal(const char *what, const char *detail)
{
    log_error("%s: %s; stopping (restart the replica: it recovers from its data directory)",
              what, detail);
    exit(EXIT_FAILURE);
}

/* mkdir -p */
static int store_mkdirs(const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(path, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

int store_open(struct store *s, uv_loop_t *loop, struct peer_set *peers, const char *dir,
               char *err, size_t err_size)
{
    memset(s, 0, sizeof *s);
    s->loop = loop;
    s->peers = peers;
    s->lock_fd = -1;
    held_init(&s->held);
    record_waits_init(&s->waits);
    buf_init(&s->writing.data);
    buf_init(&s->next.data);
    s->writing.tail_fd = s->next.tail_fd = s->attached_fd = -1;
    if (store_mkdirs(dir) != 0) {
        snprintf(err, err_size, "%s: %s", dir, strerror(errno));
        return -1;
    }
    s->dir = strdup(dir);
    CHECK(s->dir != NULL);
    char path[4096];
    snprintf(path, sizeof path, "%s/LOCK", dir);
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (s->lock_fd < 0 || flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, err_size, "%s: %s", path,
                 errno == EWOULDBLOCK ? "the data directory is in use by another process"
                                      : strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/wal", dir);
    s->wal = wal_open(path, 0, err, err_size);
    if (!s->wal)
        return -2;
    s->appended = s->durable = wal_last_seq(s->wal);
    return 0;
}

struct store_replay {
    uint64_t after; /* records the snapshot covers */
    void (*fn)(void *ctx, const uint8_t *data, size_t len);
    void *ctx;
    long long fed;
    bool foreign; /* a record of another type */
};

static bool store_replay_one(void *arg, uint64_t seq, uint8_t type, const uint8_t *data,
                             size_t len)
{
    struct store_replay *r = arg;
    if (seq <= r->after)
        return true;
    if (type != STORE_RECORD || len == 0) {
        r->foreign = true;
        return false;
    }
    r->fn(r->ctx, data, len);
    r->fed++;
    return true;
}

long long store_recover(struct store *s, void (*fn)(void *ctx, const uint8_t *data, size_t len),
                        void *ctx, char *err, size_t err_size)
{
    uint64_t snapshot_seq = 0;
    uint8_t *snapshot = NULL;
    size_t snapshot_len = 0;
    int found = snapshot_file_load(s->dir, &snapshot_seq, &snapshot, &snapshot_len, err,
                                   err_size);
    if (found < 0)
        return -1;
    struct store_replay r = {.after = snapshot_seq, .fn = fn, .ctx = ctx};
    if (found) {
        fn(ctx, snapshot, snapshot_len);
        free(snapshot);
        r.fed++;
    }
    if (wal_replay(s->wal, store_replay_one, &r, err, err_size) < 0)
        return -1;
    if (r.foreign) {
        snprintf(err, err_size, "%s/wal: a record that is not catena's", s->dir);
        return -1;
    }
    /* The log lost its unsynced tail, and the snapshot covers more than what is left: it goes
     * on after the snapshot (nothing after it was durable, so nothing is lost). */
    if (wal_last_seq(s->wal) < snapshot_seq) {
        if (wal_reset(s->wal, snapshot_seq + 1) != 0) {
            snprintf(err, err_size, "%s/wal: %s", s->dir, strerror(errno));
            return -1;
        }
        s->appended = s->durable = snapshot_seq;
    }
    s->checkpoints_durable = s->waits.checkpoints_issued = s->waits.checkpoint_required =
        found ? 1 : 0;
    return r.fed;
}

/* ---- messages waiting for the disk --------------------------------------------------------- */

void store_send(struct store *s, node_id to, const uint8_t *data, size_t len)
{
    if (held_empty(&s->held) && s->waits.durable == s->waits.emitted)
        peer_send(s->peers, to, data, len);
    else
        held_push(&s->held, s->waits.emitted, to, data, len);
}

static void store_release_one(void *ctx, node_id to, const uint8_t *data, size_t len)
{
    peer_send(ctx, to, data, len);
}

/* Counts the engine's records that became durable, lets go of the messages that waited for
 * them, and tells the engine. */
static void store_settle(struct store *s)
{
    if (!record_waits_settle(&s->waits, s->durable, s->checkpoints_durable))
        return;
    held_release(&s->held, s->waits.durable, store_release_one, s->peers);
    if (s->on_durable)
        s->on_durable(s->ctx, s->waits.durable);
}

/* ---- group commit ---------------------------------------------------------------------------- */

static void store_sync_work(uv_work_t *req)
{
    struct store *s = req->data;
    uint64_t start = uv_hrtime();
    s->sync_rc = wal_sync_run(&s->sync_job);
    s->sync_errno = errno;
    s->sync_us = (uv_hrtime() - start) / 1000;
}

static void store_sync_done(uv_work_t *req, int status)
{
    struct store *s = req->data;
    s->syncing = false;
    if (status != 0 || s->sync_rc != 0)
        store_fatal("fsync of the write-ahead log failed",
                    strerror(status != 0 ? -status : s->sync_errno));
    s->durable = s->syncing_upto;
    wal_mark_synced(s->wal, s->durable);
    s->stats.fsyncs++;
    s->sync_us_avg = s->stats.fsyncs == 1 ? s->sync_us : (s->sync_us_avg * 7 + s->sync_us) / 8;
    s->stats.fsync_us_total += s->sync_us;
    s->stats.fsync_us_last = s->sync_us;
    if (s->sync_us > s->stats.fsync_us_max)
        s->stats.fsync_us_max = s->sync_us;
    store_settle(s);
    /* What came in meanwhile is synced by the kick that ends this loop iteration, together
     * with what the engine does now that these records are durable. */
}

static void store_spare_work(uv_work_t *req)
{
    struct store *s = req->data;
    s->spare_rc = wal_spare_run(&s->spare_job);
    s->spare_errno = errno;
}

/* A spare that could not be made is not fatal: the next segment is zero-filled when needed,
 * and fails there if the disk is really full. */
static void store_spare_done(uv_work_t *req, int status)
{
    struct store *s = req->data;
    bool made = status == 0 && s->spare_rc == 0;
    if (!made)
        log_warn("cannot prepare the next log segment: %s",
                 strerror(status != 0 ? -status : s->spare_errno));
    wal_spare_done(s->wal, made);
}

bool store_kick(struct store *s)
{
    if (wal_spare_begin(s->wal, &s->spare_job)) {
        s->spare_req.data = s;
        CHECK(uv_queue_work(s->loop, &s->spare_req, store_spare_work, store_spare_done) == 0);
    }
    if (s->syncing || s->durable >= s->appended)
        return false;
    if (wal_sync_begin(s->wal, &s->sync_job) != 0)
        store_fatal("fsync of the write-ahead log", strerror(errno));
    s->syncing = true;
    s->syncing_upto = s->appended;
    s->sync_req.data = s;
    if (s->stats.fsyncs >= STORE_SYNCS_MEASURED && s->sync_us_avg < STORE_LOOP_SYNC_US &&
        !s->writing.active) {
        s->stats.syncs_on_loop++;
        store_sync_work(&s->sync_req);
        store_sync_done(&s->sync_req, 0);
        return true;
    }
    CHECK(uv_queue_work(s->loop, &s->sync_req, store_sync_work, store_sync_done) == 0);
    return false;
}

/* ---- checkpoints ----------------------------------------------------------------------------- */

/* Frees what a checkpoint holds (it stays usable). */
static void store_checkpoint_clear(struct store_checkpoint *k)
{
    buf_free(&k->data);
    buf_init(&k->data);
    if (k->tail_fd >= 0)
        close(k->tail_fd);
    k->tail_fd = -1;
}

static void store_checkpoint_work(uv_work_t *req)
{
    struct store *s = req->data;
    uint64_t start = uv_hrtime();
    s->checkpoint_rc = snapshot_file_write(s->dir, s->writing.seq, s->writing.data.data,
                                           s->writing.data.len, s->writing.tail_fd,
                                           s->checkpoint_err, sizeof s->checkpoint_err);
    struct stat st;
    s->checkpoint_tail_bytes =
        s->writing.tail_fd >= 0 && fstat(s->writing.tail_fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    s->checkpoint_us = (uv_hrtime() - start) / 1000;
}

static void store_checkpoint_start(struct store *s);

static void store_checkpoint_done(uv_work_t *req, int status)
{
    struct store *s = req->data;
    if (status != 0 || s->checkpoint_rc != 0)
        store_fatal("writing a snapshot failed",
                    status != 0 ? uv_strerror(status) : s->checkpoint_err);
    s->writing.active = false;
    s->checkpoints_durable = s->writing.number;
    s->stats.snapshots_written++;
    s->stats.snapshot_bytes_last = s->writing.data.len + s->checkpoint_tail_bytes;
    s->stats.snapshot_us_last = s->checkpoint_us;
    s->stats.snapshot_time_last = (int64_t)time(NULL);
    /* Messages emitted after it waited for it (unless a compaction): how long is worth a line. */
    log_info("snapshot of %llu bytes written and fsynced in %llu ms",
             (unsigned long long)s->stats.snapshot_bytes_last,
             (unsigned long long)(s->checkpoint_us / 1000));
    store_checkpoint_clear(&s->writing);
    if (wal_drop_before(s->wal, s->writing.seq + 1) < 0)
        log_warn("%s/wal: deleting segments a snapshot covers: %s", s->dir, strerror(errno));
    store_settle(s);
    store_checkpoint_start(s);
}

static void store_checkpoint_start(struct store *s)
{
    if (s->writing.active || !s->next.active)
        return;
    struct store_checkpoint t = s->writing;
    s->writing = s->next;
    s->next = t;
    s->next.active = false;
    s->checkpoint_req.data = s;
    CHECK(uv_queue_work(s->loop, &s->checkpoint_req, store_checkpoint_work,
                        store_checkpoint_done) == 0);
}

void store_persist(struct store *s, uint64_t checkpoint, bool compaction, const uint8_t *data,
                   size_t len)
{
    if (checkpoint) {
        /* A newer checkpoint replaces one that has not started: it says everything the older
         * one did. */
        store_checkpoint_clear(&s->next);
        buf_append(&s->next.data, data, len);
        if (s->attached_fd >= 0 && checkpoint == s->attached_instance) {
            s->next.tail_fd = s->attached_fd;
            s->attached_fd = -1;
        }
        s->next.seq = s->appended;
        s->next.number = record_waits_push_checkpoint(&s->waits, s->appended, compaction);
        s->next.active = true;
        store_checkpoint_start(s);
        return;
    }
    uint64_t seq = wal_append(s->wal, STORE_RECORD, data, len);
    if (seq == 0)
        store_fatal("writing to the write-ahead log failed", strerror(errno));
    s->appended = seq;
    s->stats.records_written++;
    s->stats.bytes_written += len;
    record_waits_push(&s->waits, seq);
}

void store_attach_state(struct store *s, uint64_t instance, int fd)
{
    store_detach_state(s);
    s->attached_fd = fd;
    s->attached_instance = instance;
}

void store_detach_state(struct store *s)
{
    if (s->attached_fd >= 0)
        close(s->attached_fd);
    s->attached_fd = -1;
}

void store_close(struct store *s)
{
    wal_close(s->wal);
    s->wal = NULL;
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    free(s->dir);
    held_free(&s->held);
    record_waits_free(&s->waits);
    store_checkpoint_clear(&s->writing);
    store_checkpoint_clear(&s->next);
    store_detach_state(s);
}
