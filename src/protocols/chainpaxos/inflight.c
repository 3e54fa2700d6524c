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

#include <stdlib.h>
#include <string.h>

void chain_inflight_add(struct chain_engine *c, const uint8_t *record, size_t len)
{
    struct command_header h;
    struct reader r = reader_make(record, len);
    CHECK(command_peek(&r, &h)); /* validated by the caller */
    if (h.origin != c->self)
        return; /* only the origin resubmits */
    if (c->inflight_count == c->inflight_cap) {
        c->inflight_cap = c->inflight_cap ? c->inflight_cap * 2 : 64;
        c->inflight = realloc(c->inflight, sizeof *c->inflight * c->inflight_cap);
        CHECK(c->inflight != NULL);
    }
    c->inflight[c->inflight_count++] = (struct chain_inflight){
        .client = h.client, .seq = h.seq, .offset = c->inflight_data.len, .len = len,
        .sent_ms = c->now_ms};
    buf_append(&c->inflight_data, record, len);
}

/* Drops executed commands from the front; compacts the storage now and then. */
static void chain_inflight_trim(struct chain_engine *c)
{
    while (c->inflight_head < c->inflight_count && c->inflight[c->inflight_head].executed)
        c->inflight_head++;
    if (c->inflight_head == c->inflight_count) {
        c->inflight_head = c->inflight_count = 0;
        buf_clear(&c->inflight_data);
        return;
    }
    if (c->inflight_head < 1024 || c->inflight_head * 2 < c->inflight_count)
        return;
    size_t first = c->inflight[c->inflight_head].offset;
    buf_consume(&c->inflight_data, first);
    size_t left = c->inflight_count - c->inflight_head;
    memmove(c->inflight, c->inflight + c->inflight_head, sizeof *c->inflight * left);
    for (size_t i = 0; i < left; i++)
        c->inflight[i].offset -= first;
    c->inflight_head = 0;
    c->inflight_count = left;
}

/* Marks command h executed if the state machine ran it: it did if h is the first unexecuted
 * command of its client here (the session table runs a client's commands strictly in order and
 * skips the others, which must then be resubmitted). */
static void chain_inflight_match(struct chain_engine *c, const struct command_header *h)
{
    for (size_t i = c->inflight_head; i < c->inflight_count; i++) {
        struct chain_inflight *f = &c->inflight[i];
        if (f->executed || f->client != h->client)
            continue;
        if (f->seq == h->seq)
            f->executed = true;
        return;
    }
}

/* A batch was executed here: its commands from this replica are no longer in flight. Commands
 * of one client execute in order, so the match is almost always at the front. */
void chain_inflight_executed(struct chain_engine *c, const uint8_t *batch, size_t len)
{
    if (c->inflight_head == c->inflight_count)
        return;
    struct reader r = reader_make(batch, len);
    uint32_t count = reader_u32(&r);
    for (uint32_t k = 0; k < count && !r.failed; k++) {
        struct command_header h;
        size_t size = chain_record_size(batch + r.pos, reader_left(&r));
        if (size == 0 || !command_peek(&r, &h))
            return;
        r.pos += size;
        if (h.origin == c->self)
            chain_inflight_match(c, &h);
    }
    chain_inflight_trim(c);
}

/* Submits every unexecuted command again, in order. They join the pending batch, which leaves
 * at the next FLUSH: this may run in the middle of handling a message, where proposing is not
 * allowed. */
void chain_inflight_resubmit(struct chain_engine *c)
{
    for (size_t i = c->inflight_head; i < c->inflight_count; i++) {
        struct chain_inflight *f = &c->inflight[i];
        if (f->executed)
            continue;
        f->sent_ms = c->now_ms;
        c->resubmitted++;
        buf_append(&c->pending, c->inflight_data.data + f->offset, f->len);
        c->pending_count++;
    }
}

void chain_inflight_tick(struct chain_engine *c)
{
    if (c->inflight_head == c->inflight_count || !chain_can_send(c))
        return;
    const struct chain_inflight *oldest = &c->inflight[c->inflight_head];
    if (c->now_ms - oldest->sent_ms >= c->resend_ms)
        chain_inflight_resubmit(c);
}

void chain_inflight_free(struct chain_engine *c)
{
    free(c->inflight);
    buf_free(&c->inflight_data);
}
