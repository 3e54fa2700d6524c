/* Local linearizable reads (docs/protocols/chainpaxos.md §6).
 *
 * A read arriving at a replica attaches to k = highest_accepted + 1, the first instance this
 * replica has not accepted, and is released once this replica's ack covers k, after every
 * instance <= ack was executed. Any write completed before the read arrived is in an instance
 * <= k or was decided before k was proposed, so it is executed by then; no message is added in
 * steady state: reads ride on the writes' ACCEPTs. When no write comes, the replica asks the
 * leader once for a barrier NOOP (READ_NUDGE) instead of waiting for the heartbeat. */
#include "common/check.h"
#include "protocols/chainpaxos/internal.h"

#include <stdlib.h>
#include <string.h>

static void chain_reads_emit(struct chain_engine *c, const struct chain_read *r)
{
    outbox_push(c->out, EFFECT_READ, NODE_NONE, r->slot, c->reads_data.data + r->offset, r->len);
}

void chain_read(struct chain_engine *c, const uint8_t *record, size_t len)
{
    struct chain_read r = {.slot = c->highest_accepted + 1, .offset = c->reads_data.len,
                           .len = len};
    if (c->planted_bugs & ENGINE_BUG_READ_WITHOUT_WAIT) {
        outbox_push(c->out, EFFECT_READ, NODE_NONE, r.slot, record, len);
        return;
    }
    if (c->reads_count == c->reads_cap) {
        c->reads_cap = c->reads_cap ? c->reads_cap * 2 : 64;
        c->reads = realloc(c->reads, sizeof *c->reads * c->reads_cap);
        CHECK(c->reads != NULL);
    }
    buf_append(&c->reads_data, record, len);
    c->reads[c->reads_count++] = r;
    if (c->role == CHAIN_LEADER && r.slot > c->barrier_slot)
        c->barrier_slot = r.slot;
}

/* Drops released reads from the front, keeping the memory of a busy queue bounded. */
static void chain_reads_compact(struct chain_engine *c)
{
    if (c->reads_head == c->reads_count) {
        c->reads_head = c->reads_count = 0;
        buf_clear(&c->reads_data);
        return;
    }
    if (c->reads_head < 1024 || c->reads_head * 2 < c->reads_count)
        return;
    size_t first = c->reads[c->reads_head].offset;
    buf_consume(&c->reads_data, first);
    size_t left = c->reads_count - c->reads_head;
    memmove(c->reads, c->reads + c->reads_head, sizeof *c->reads * left);
    for (size_t i = 0; i < left; i++)
        c->reads[i].offset -= first;
    c->reads_head = 0;
    c->reads_count = left;
}

void chain_release_reads(struct chain_engine *c)
{
    instance_no horizon = c->read_ack < c->highest_executed ? c->read_ack : c->highest_executed;
    size_t released = 0;
    while (c->reads_head < c->reads_count && c->reads[c->reads_head].slot <= horizon) {
        chain_reads_emit(c, &c->reads[c->reads_head++]);
        released++;
    }
    if (released)
        chain_reads_compact(c);
}

/* Leader: a NOOP for reads waiting at an instance nothing has been proposed at; once it is
 * acknowledged, one more NOOP at once, so the ack reaches the waiting replicas without waiting
 * for the next tick. Neither happens while client batches flow: they carry the same facts. */
static void chain_reads_flush_leader(struct chain_engine *c)
{
    if (c->barrier_slot >= c->next_instance) {
        c->barrier_instance = c->next_instance;
        chain_propose(c, CHAIN_VALUE_NOOP, NULL);
    }
    c->barrier_slot = 0;
    if (c->barrier_instance && c->ack >= c->barrier_instance && c->sent_ack < c->barrier_instance) {
        c->barrier_instance = 0;
        chain_propose(c, CHAIN_VALUE_NOOP, NULL);
    }
}

void chain_reads_flush(struct chain_engine *c)
{
    if (c->role == CHAIN_LEADER) {
        chain_reads_flush_leader(c);
        return;
    }
    if (c->reads_head == c->reads_count)
        return;
    /* Not proposed as far as this replica knows, and not asked for yet. */
    instance_no newest = c->reads[c->reads_count - 1].slot;
    if (c->role == CHAIN_FOLLOWER && c->leader != NODE_NONE && newest > c->highest_accepted &&
        newest > c->nudged_slot) {
        c->nudged_slot = newest;
        struct chain_read_nudge m = {.slot = newest};
        chain_send_read_nudge(c, c->leader, &m);
    }
}

void chain_recv_read_nudge(struct chain_engine *c, const struct chain_read_nudge *m)
{
    if (c->role != CHAIN_LEADER) {
        chain_dropped(c);
        return;
    }
    if (m->slot > c->barrier_slot)
        c->barrier_slot = m->slot;
}

void chain_reads_free(struct chain_engine *c)
{
    free(c->reads);
    buf_free(&c->reads_data);
}
