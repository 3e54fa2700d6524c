/* The simulated disk of the durable profile (internal.h, struct sim_disk), modelled on the
 * runtime's store (runtime/store.c): log records are fsynced in groups, one fsync at a time
 * per replica, covering what was written before it started; checkpoints are written apart
 * (snapshot files) one at a time, each taking its own time. An engine record is durable once
 * its log records are and the last checkpoint that is not a compaction is; peer messages wait
 * for the records emitted before them. */
#include "common/check.h"
#include "common/reader.h"
#include "sim/internal.h"

#include <string.h>

static void sim_checkpoint_file_clear(struct sim_checkpoint_file *f)
{
    buf_clear(&f->data);
    f->active = false;
}

void sim_disk_init(struct sim_disk *d)
{
    memset(d, 0, sizeof *d);
    buf_init(&d->durable);
    buf_init(&d->written);
    buf_init(&d->snapshot);
    buf_init(&d->writing.data);
    buf_init(&d->next.data);
    record_waits_init(&d->waits);
    held_init(&d->held);
}

void sim_disk_free(struct sim_disk *d)
{
    buf_free(&d->durable);
    buf_free(&d->written);
    buf_free(&d->snapshot);
    buf_free(&d->writing.data);
    buf_free(&d->next.data);
    record_waits_free(&d->waits);
    held_free(&d->held);
}

struct sim_disk_sender {
    struct sim *s;
    uint32_t r;
};

static void sim_disk_release_one(void *ctx, node_id to, const uint8_t *data, size_t len)
{
    struct sim_disk_sender *x = ctx;
    sim_network_send(x->s, x->r, to, data, len);
}

/* Counts the engine records that became durable and lets go of the messages waiting for them. */
static void sim_disk_settle(struct sim *s, uint32_t r)
{
    struct sim_disk *d = &s->replicas[r].disk;
    record_waits_settle(&d->waits, d->synced, d->checkpoints_durable);
    struct sim_disk_sender sender = {s, r};
    held_release(&d->held, d->waits.durable, sim_disk_release_one, &sender);
}

/* The next checkpoint's write starts if none is running; it takes an fsync and up to
 * SIM_SNAPSHOT_WRITE_MAX_US more. */
static void sim_disk_checkpoint_start(struct sim *s, uint32_t r)
{
    struct sim_disk *d = &s->replicas[r].disk;
    if (d->writing.active || !d->next.active)
        return;
    struct sim_checkpoint_file t = d->writing;
    d->writing = d->next;
    d->next = t;
    sim_checkpoint_file_clear(&d->next);
    uint64_t latency = s->fsync_min_us + rng_below(&s->rng, s->fsync_spread_us + 1) +
                       rng_below(&s->rng, SIM_SNAPSHOT_WRITE_MAX_US + 1);
    sim_queue_push(&s->queue, &(struct sim_event){.time = s->now + latency,
                                                  .type = SIM_EV_SNAPSHOT_WRITTEN, .node = r,
                                                  .arg = s->replicas[r].incarnation});
}

void sim_disk_write(struct sim *s, uint32_t r, uint64_t checkpoint, bool compaction,
                    const uint8_t *data, size_t len, const uint8_t *tail, size_t tail_len)
{
    struct sim_disk *d = &s->replicas[r].disk;
    if (checkpoint) {
        /* A newer checkpoint replaces one that has not started (runtime/store.c). */
        sim_checkpoint_file_clear(&d->next);
        buf_append(&d->next.data, data, len);
        if (tail_len)
            buf_append(&d->next.data, tail, tail_len);
        d->next.seq = d->appended;
        d->next.number = record_waits_push_checkpoint(&d->waits, d->appended, compaction);
        d->next.active = true;
        sim_disk_checkpoint_start(s, r);
        return;
    }
    CHECK(tail_len == 0);
    d->appended++;
    buf_put_u64(&d->written, d->appended);
    buf_put_u32(&d->written, (uint32_t)len);
    buf_append(&d->written, data, len);
    record_waits_push(&d->waits, d->appended);
}

void sim_disk_send(struct sim *s, uint32_t r, uint32_t to, const uint8_t *data, size_t len)
{
    struct sim_disk *d = &s->replicas[r].disk;
    if (held_empty(&d->held) && d->waits.durable == d->waits.emitted)
        sim_network_send(s, r, to, data, len);
    else
        held_push(&d->held, d->waits.emitted, to, data, len);
}

void sim_disk_kick(struct sim *s, uint32_t r)
{
    struct sim_replica *rep = &s->replicas[r];
    struct sim_disk *d = &rep->disk;
    if (d->sync_running || d->synced == d->appended)
        return;
    d->sync_running = true;
    d->syncing_upto = d->appended;
    d->syncing_bytes = d->written.len;
    uint64_t latency = s->fsync_min_us + rng_below(&s->rng, s->fsync_spread_us + 1);
    sim_queue_push(&s->queue, &(struct sim_event){.time = s->now + latency,
                                                  .type = SIM_EV_SYNC, .node = r,
                                                  .arg = rep->incarnation});
}

void sim_disk_synced(struct sim *s, uint32_t r)
{
    struct sim_disk *d = &s->replicas[r].disk;
    CHECK(d->sync_running);
    d->sync_running = false;
    buf_append(&d->durable, d->written.data, d->syncing_bytes);
    buf_consume(&d->written, d->syncing_bytes);
    d->syncing_bytes = 0;
    d->synced = d->syncing_upto;
    sim_disk_settle(s, r);
}

void sim_disk_checkpoint_written(struct sim *s, uint32_t r)
{
    struct sim_disk *d = &s->replicas[r].disk;
    CHECK(d->writing.active);
    buf_clear(&d->snapshot);
    buf_append(&d->snapshot, d->writing.data.data, d->writing.data.len);
    d->snapshot_seq = d->writing.seq;
    d->has_snapshot = true;
    d->checkpoints_durable = d->writing.number;
    sim_checkpoint_file_clear(&d->writing);
    /* The log records it covers are deleted (the runtime drops whole segments: same thing). */
    struct buf kept;
    buf_init(&kept);
    struct reader rd = reader_make(d->durable.data, d->durable.len);
    while (reader_left(&rd) > 0) {
        size_t start = rd.pos;
        uint64_t seq = reader_u64(&rd);
        uint32_t len = reader_u32(&rd);
        reader_bytes(&rd, len);
        CHECK(!rd.failed);
        if (seq > d->snapshot_seq)
            buf_append(&kept, d->durable.data + start, rd.pos - start);
    }
    buf_free(&d->durable);
    d->durable = kept;
    sim_disk_settle(s, r);
    sim_disk_checkpoint_start(s, r);
}

size_t sim_disk_recover(struct sim *s, uint32_t r,
                        void (*fn)(struct sim *s, uint32_t r, const uint8_t *data, size_t len))
{
    struct sim_disk *d = &s->replicas[r].disk;
    size_t n = 0;
    if (d->has_snapshot) {
        fn(s, r, d->snapshot.data, d->snapshot.len);
        n++;
    }
    struct reader rd = reader_make(d->durable.data, d->durable.len);
    while (reader_left(&rd) > 0) {
        uint64_t seq = reader_u64(&rd);
        uint32_t len = reader_u32(&rd);
        const uint8_t *data = reader_bytes(&rd, len);
        CHECK(!rd.failed);
        if (seq > d->snapshot_seq) {
            fn(s, r, data, len);
            n++;
        }
    }
    return n;
}

/* Moves the first `count` records of `written` to `durable`. */
static void sim_disk_keep_unsynced(struct sim_disk *d, uint64_t count)
{
    struct reader rd = reader_make(d->written.data, d->written.len);
    for (uint64_t k = 0; k < count; k++) {
        d->synced = reader_u64(&rd);
        reader_bytes(&rd, reader_u32(&rd));
        CHECK(!rd.failed);
    }
    buf_append(&d->durable, d->written.data, rd.pos);
}

void sim_disk_crash(struct sim *s, uint32_t r)
{
    struct sim_disk *d = &s->replicas[r].disk;
    if (s->opt.profile.disk_reorder)
        sim_disk_keep_unsynced(d, rng_below(&s->rng, d->appended - d->synced + 1));
    buf_clear(&d->written);
    record_waits_clear(&d->waits);
    held_clear(&d->held);
    sim_checkpoint_file_clear(&d->writing);
    sim_checkpoint_file_clear(&d->next);
    d->syncing_bytes = 0;
    d->sync_running = false;
    /* The log goes on after what survived, and after the snapshot if it covers more. */
    if (d->has_snapshot && d->snapshot_seq > d->synced)
        d->synced = d->snapshot_seq;
    d->appended = d->syncing_upto = d->synced;
    /* The restarted engine counts its checkpoints from zero. */
    d->checkpoints_durable = 0;
}
