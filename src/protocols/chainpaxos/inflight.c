/* Commands in flight at their origin replica (docs/protocols/chainpaxos-membership.md §5).
 *
 * A command this replica submitted stays here, in submission order, until this replica executes
 * it. If it was sent (proposed or forwarded) but has not executed after resend_ms, or the leader
 * changed meanwhile, every such command is submitted again, in order: a FORWARD lost on a broken
 * link, or a batch lost with a deposed leader, is not lost for the client. The state machine's
 * session table runs each (origin, client, seq) once and in order, so the copies are harmless. */
#include "common/check.h"
#include "core/command.h"
#include "protocols/chainpaxos/internal.h"

void chain_inflight_add(struct chain_engine *c, const uint8_t *record, size_t len)
{
    struct command_header h;
    struct reader r = reader_make(record, len);
    CHECK(command_peek(&r, &h)); /* validated by the caller */
    if (h.origin != c->self)
        return; /* only the origin resubmits */
    struct chain_inflight *f = chain_fifo_push(&c->inflight, record, len);
    f->client = h.client;
    f->seq = h.seq;
    f->sent_ms = c->now_ms;
}

/* Marks command h executed if the state machine ran it: it did if h is the first unexecuted
 * command of its client here (the session table runs a client's commands strictly in order and
 * skips the others, which must then be resubmitted). */
static void chain_inflight_match(struct chain_engine *c, const struct command_header *h)
{
    for (size_t i = 0; i < chain_fifo_size(&c->inflight); i++) {
        struct chain_inflight *f = chain_fifo_at(&c->inflight, i);
        if (f->executed || f->client != h->client)
            continue;
        if (f->seq == h->seq)
            f->executed = true;
        return;
    }
}

static void chain_inflight_pop_executed(struct chain_engine *c)
{
    size_t done = 0;
    while (done < chain_fifo_size(&c->inflight) &&
           ((const struct chain_inflight *)chain_fifo_at(&c->inflight, done))->executed)
        done++;
    chain_fifo_pop(&c->inflight, done);
}

/* The batch decided at instance i was executed here: its commands from this replica are no
 * longer in flight, except those the state machine skipped as stale (kv/apply.h). Commands of
 * one client execute in order, so the match is almost always at the front. */
void chain_inflight_executed(struct chain_engine *c, instance_no i, const uint8_t *batch,
                             size_t len)
{
    if (chain_fifo_size(&c->inflight) == 0)
        return;
    struct reader r = reader_make(batch, len);
    uint32_t count = reader_u32(&r);
    for (uint32_t k = 0; k < count && !r.failed; k++) {
        struct command_header h;
        size_t size = chain_record_size(batch + r.pos, reader_left(&r));
        if (size == 0 || !command_peek(&r, &h))
            return;
        r.pos += size;
        if (h.origin == c->self && !command_stale(&h, i)) {
            chain_inflight_match(c, &h);
            chain_inflight_pop_executed(c); /* keeps the next match at the front */
        }
    }
}

/* Submits every unexecuted command again, in order. They join the pending batch, which leaves
 * at the next FLUSH: this may run in the middle of handling a message, where proposing is not
 * allowed. */
void chain_inflight_resubmit(struct chain_engine *c)
{
    for (size_t i = 0; i < chain_fifo_size(&c->inflight); i++) {
        struct chain_inflight *f = chain_fifo_at(&c->inflight, i);
        if (f->executed)
            continue;
        f->sent_ms = c->now_ms;
        c->resubmitted++;
        command_stamp(&c->inflight.data, f->record.offset, c->highest_executed);
        buf_append(&c->pending, chain_fifo_record(&c->inflight, f), f->record.len);
        c->pending_count++;
    }
}

void chain_inflight_tick(struct chain_engine *c)
{
    if (chain_fifo_size(&c->inflight) == 0 || !chain_can_send(c))
        return;
    const struct chain_inflight *oldest = chain_fifo_at(&c->inflight, 0);
    if (c->now_ms - oldest->sent_ms >= c->resend_ms)
        chain_inflight_resubmit(c);
}
