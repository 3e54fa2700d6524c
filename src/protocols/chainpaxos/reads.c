/* Local linearizable reads (docs/protocols/chainpaxos.md §5.8).
 *
 * A read arriving at a replica attaches to k, the first instance it has not accepted in its
 * ballot (nor settled). A follower releases it once it holds an instance j whose leader had
 * learned, before proposing j, that every member accepted some instance >= k in that ballot
 * (the whole-chain ack j carries), and has executed everything before j: this replica accepted
 * it after the read arrived, so j was proposed after that, later than any write that completed
 * before, whatever path or delay brought the instances here. The leader, which numbers its own
 * proposals, releases a read once its ack covers k. No message is added in steady state: reads
 * ride on the writes' ACCEPTs. When no write comes, the replica asks the leader once for a
 * barrier NOOP (READ_NUDGE) instead of waiting for the heartbeat. */
#include "common/check.h"
#include "protocols/chainpaxos/internal.h"


/* The first instance not accepted in this ballot, nor settled. What the log holds above it are
 * values of older ballots, which the leader will overwrite. */
static instance_no chain_read_slot(const struct chain_engine *c)
{
    return (c->settled > c->ballot_accepted ? c->settled : c->ballot_accepted) + 1;
}

void chain_read(struct chain_engine *c, const uint8_t *record, size_t len)
{
    instance_no slot = chain_read_slot(c);
    if (c->removed) {
        /* No ack will ever reach a removed replica: the read cannot be served here. */
        outbox_push(c->out, EFFECT_REJECT, NODE_NONE, 0, record, len);
        return;
    }
    if (c->planted_bugs & ENGINE_BUG_READ_WITHOUT_WAIT) {
        outbox_push(c->out, EFFECT_READ, NODE_NONE, slot, record, len);
        return;
    }
    struct chain_read *r = chain_fifo_push(&c->reads, record, len);
    r->slot = slot;
    if (c->role == CHAIN_LEADER && slot > c->barrier_slot)
        c->barrier_slot = slot;
}

void chain_reads_stamp(struct chain_engine *c, instance_no i, instance_no whole)
{
    for (; c->reads_stamped < chain_fifo_size(&c->reads); c->reads_stamped++) {
        struct chain_read *r = chain_fifo_at(&c->reads, c->reads_stamped);
        if (r->slot > whole)
            break;
        r->need = i - 1;
    }
}

void chain_reads_rebase(struct chain_engine *c)
{
    /* A read not stamped yet arrived before this replica accepted anything of the ballot just
     * adopted, so every whole ack of that ballot comes after it: it may wait from the new slot
     * like a read arriving now. At its old slot, above values the new leader may never
     * propose again, it would wait until that leader proposed past it, one barrier at a time,
     * and hold back every read behind it. */
    instance_no slot = chain_read_slot(c);
    for (size_t k = c->reads_stamped; k < chain_fifo_size(&c->reads); k++) {
        struct chain_read *r = chain_fifo_at(&c->reads, k);
        if (r->slot > slot)
            r->slot = slot;
    }
}

static bool chain_read_ready(const struct chain_engine *c, const struct chain_read *r)
{
    if (r->need && r->need <= c->highest_executed)
        return true;
    /* The leader proposed every write completed before the read below the slot; an ack of
     * the slot in its own ballot also shows no higher ballot had won by then. */
    return c->role == CHAIN_LEADER && r->slot <= c->read_ack && r->slot <= c->highest_executed;
}

void chain_release_reads(struct chain_engine *c)
{
    if (c->fence == CHAIN_FENCE_UNKNOWN || c->highest_executed < c->fence)
        return; /* what the ballot's leader recovered is not all executed here yet */
    size_t released = 0;
    for (; released < chain_fifo_size(&c->reads); released++) {
        const struct chain_read *r = chain_fifo_at(&c->reads, released);
        if (!chain_read_ready(c, r))
            break;
        outbox_push(c->out, EFFECT_READ, NODE_NONE, r->slot, chain_fifo_record(&c->reads, r),
                    r->record.len);
    }
    chain_fifo_pop(&c->reads, released);
    c->reads_stamped = c->reads_stamped > released ? c->reads_stamped - released : 0;
}

/* Leader: a NOOP for reads waiting at an instance nothing has been proposed at; once it is
 * acknowledged, one more NOOP at once, so the ack reaches the waiting replicas without waiting
 * for the next tick. Neither happens while client batches flow: they carry the same facts. */
static void chain_reads_flush_leader(struct chain_engine *c)
{
    /* Not while re-proposals run (a NOOP would shift every recovered value by one instance)
     * nor while the stop rule holds: the reads wait for those proposals instead. */
    if (!chain_may_propose(c))
        return;
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
    size_t waiting = chain_fifo_size(&c->reads);
    if (waiting == 0)
        return;
    /* Not proposed as far as this replica knows, and not asked for yet. */
    instance_no newest = ((const struct chain_read *)chain_fifo_at(&c->reads, waiting - 1))->slot;
    if (c->role == CHAIN_FOLLOWER && c->leader != NODE_NONE && newest >= chain_read_slot(c) &&
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
