/* The simulated disk of the durable profile (internal.h, struct sim_disk). fsyncs take a
 * latency drawn per run; one runs at a time per replica, covering what was written before it
 * started (group commit, like runtime/store.c). */
#include "common/check.h"
#include "common/reader.h"
#include "sim/internal.h"

#include <string.h>

void sim_disk_free(struct sim_disk *d)
{
    buf_free(&d->durable);
    buf_free(&d->written);
    held_free(&d->held);
}

void sim_disk_write(struct sim_disk *d, uint64_t checkpoint, const uint8_t *data, size_t len,
                    const uint8_t *tail, size_t tail_len)
{
    buf_put_u8(&d->written, checkpoint != 0);
    buf_put_u32(&d->written, (uint32_t)(len + tail_len));
    buf_append(&d->written, data, len);
    if (tail_len)
        buf_append(&d->written, tail, tail_len);
    d->appended++;
    d->records++;
}

void sim_disk_send(struct sim *s, uint32_t r, uint32_t to, const uint8_t *data, size_t len)
{
    struct sim_disk *d = &s->replicas[r].disk;
    if (held_empty(&d->held) && d->synced == d->appended)
        sim_network_send(s, r, to, data, len);
    else
        held_push(&d->held, d->appended, to, data, len);
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

/* Moves the synced records to `durable`; a checkpoint replaces what was there. */
static void sim_disk_settle(struct sim_disk *d)
{
    struct reader rd = reader_make(d->written.data, d->syncing_bytes);
    while (reader_left(&rd) > 0) {
        bool checkpoint = reader_u8(&rd);
        uint32_t len = reader_u32(&rd);
        const uint8_t *data = reader_bytes(&rd, len);
        CHECK(!rd.failed);
        if (checkpoint)
            buf_clear(&d->durable);
        buf_put_u32(&d->durable, len);
        buf_append(&d->durable, data, len);
    }
    buf_consume(&d->written, d->syncing_bytes);
    d->syncing_bytes = 0;
}

void sim_disk_synced(struct sim *s, uint32_t r)
{
    struct sim_disk *d = &s->replicas[r].disk;
    CHECK(d->sync_running);
    d->sync_running = false;
    d->fsyncs++;
    sim_disk_settle(d);
    d->synced = d->syncing_upto;
    struct sim_disk_sender sender = {s, r};
    held_release(&d->held, d->synced, sim_disk_release_one, &sender);
}

void sim_disk_crash(struct sim_disk *d)
{
    buf_clear(&d->written);
    held_clear(&d->held);
    d->syncing_bytes = 0;
    d->sync_running = false;
    d->appended = d->synced = d->syncing_upto = 0;
}
