/* Building outgoing messages. Each is encoded straight into the outbox arena (no extra copy).
 * A message to this replica itself is never put in the outbox: the engine handles it at once,
 * which is how a candidate promises itself and how a single-member cluster acknowledges its own
 * proposals. */
#include "common/check.h"
#include "protocols/chainpaxos/internal.h"

static size_t chain_send_begin(struct chain_engine *c, node_id to)
{
    CHECK(to != c->self);
    return outbox_begin(c->out);
}

static void chain_send_end(struct chain_engine *c, node_id to, instance_no instance,
                           size_t start)
{
    outbox_end(c->out, EFFECT_SEND, to, instance, start);
}

void chain_send_prepare(struct chain_engine *c, node_id to, const struct chain_prepare *m)
{
    if (to == c->self) {
        chain_recv_prepare(c, to, m);
        return;
    }
    size_t start = chain_send_begin(c, to);
    chain_msg_put_prepare(&c->out->arena, m);
    chain_send_end(c, to, 0, start);
}

static void chain_put_promise(const struct chain_engine *c, struct buf *out,
                              struct ballot ballot, instance_no from)
{
    instance_no first = from > c->log.base ? from : c->log.base;
    instance_no count = c->highest_accepted >= first ? c->highest_accepted - first + 1 : 0;
    CHECK(count <= UINT32_MAX);
    chain_msg_put_promise_header(out, ballot, from, c->gc, (uint32_t)count);
    for (instance_no i = first; i <= c->highest_accepted; i++) {
        const struct chain_entry *e = chain_log_get(&c->log, i);
        CHECK(e != NULL); /* no gaps below highest_accepted */
        struct chain_value v = {.kind = e->kind, .body = e->body.data, .len = e->body.len};
        chain_msg_put_promised(out, i, e->ballot, &v);
    }
}

void chain_send_promise(struct chain_engine *c, node_id to, struct ballot ballot,
                        instance_no from)
{
    if (to != c->self) {
        size_t start = chain_send_begin(c, to);
        chain_put_promise(c, &c->out->arena, ballot, from);
        chain_send_end(c, to, 0, start);
        return;
    }
    /* Own promise (once per election): encoded and decoded like any other, so the candidate
     * merges it with the same code. The scratch buffer is not touched again until the next
     * election. */
    buf_clear(&c->scratch);
    chain_put_promise(c, &c->scratch, ballot, from);
    struct chain_promise m;
    CHECK(chain_msg_decode_promise(c->scratch.data, c->scratch.len, &m));
    chain_recv_promise(c, to, &m);
}

void chain_send_reject(struct chain_engine *c, node_id to, const struct chain_reject *m)
{
    size_t start = chain_send_begin(c, to);
    chain_msg_put_reject(&c->out->arena, m);
    chain_send_end(c, to, 0, start);
}

static void chain_send_accept_to(struct chain_engine *c, node_id to, const struct chain_accept *m)
{
    struct chain_accept out = *m;
    out.durable = chain_leader_durable(c, m->ballot);
    bool own = m->ballot.node == c->self;
    if (own && out.durable > c->leader_durable_told)
        c->leader_durable_told = out.durable;
    size_t start = chain_send_begin(c, to);
    chain_msg_put_accept(&c->out->arena, &out);
    /* The leader's own leave at once, before its record of them is durable (leader_disk.c);
     * anyone else's once it is. */
    outbox_end(c->out, own ? EFFECT_SEND_NOW : EFFECT_SEND, to, m->instance, start);
}

void chain_send_accept(struct chain_engine *c, node_id to, const struct chain_accept *m)
{
    chain_send_accept_to(c, to, m);
    /* Members the chain goes around on the way to the next hop get a copy too. A skipped
     * suspect that is alive answers the repeats with ALIVE, which ends the skip (monitor.c).
     * The target of a pending REMOVE that is alive accepts and passes the instance on with
     * its own vote counted (its successor recounts): without it, a second member failing
     * while the REMOVE is pending could leave too few acceptors to decide it. */
    if (c->removed || to != chain_next_hop(c))
        return;
    for (size_t k = 1; k < c->n; k++) {
        node_id skipped = c->members[(c->self_index + k) % c->n];
        if (skipped == to)
            break;
        if (skipped != c->self)
            chain_send_accept_to(c, skipped, m);
    }
}

void chain_send_durable(struct chain_engine *c, instance_no upto)
{
    c->leader_durable_told = upto;
    for (size_t k = 0; k < c->n; k++) {
        node_id to = c->members[k];
        if (to == c->self)
            continue;
        size_t start = chain_send_begin(c, to);
        chain_msg_put_durable(&c->out->arena, c->promised, upto);
        outbox_end(c->out, EFFECT_SEND_NOW, to, 0, start);
    }
}

void chain_send_entry(struct chain_engine *c, node_id to, instance_no i)
{
    const struct chain_entry *e = chain_log_get(&c->log, i);
    CHECK(e != NULL);
    struct chain_accept m = {
        .ballot = e->ballot,
        .instance = i,
        .counter = e->counter,
        .ack = chain_carried_ack(c, i, e->ack_out),
        .gc = c->gc,
        .fence = c->fence,
        .decided = chain_carried_decided(c),
        .whole_ack = e->whole_ack,
        .value = {.kind = e->kind, .body = e->body.data, .len = e->body.len},
    };
    chain_send_accept(c, to, &m);
}

void chain_send_accept_ack(struct chain_engine *c, node_id to, const struct chain_accept_ack *m)
{
    if (!chain_may_acknowledge(c, m->instance))
        return;
    /* Whole: the counter counts every member, none skipped or bypassed (reads rest on it). */
    const struct chain_entry *e = chain_log_get(&c->log, m->instance);
    struct chain_accept_ack a = *m;
    a.whole = e && e->counter >= c->n;
    if (to == c->self) {
        chain_recv_accept_ack(c, &a);
        return;
    }
    size_t start = chain_send_begin(c, to);
    chain_msg_put_accept_ack(&c->out->arena, &a);
    chain_send_end(c, to, m->instance, start);
    if (m->instance > c->tail_acked)
        c->tail_acked = m->instance;
}

/* Not held behind this replica's newer records: it reports decisions, which rest on records
 * already durable, and the leader's clients wait for it. */
void chain_send_quorum_ack(struct chain_engine *c, node_id to, const struct chain_quorum_ack *m)
{
    size_t start = chain_send_begin(c, to);
    chain_msg_put_quorum_ack(&c->out->arena, m);
    outbox_end(c->out, EFFECT_SEND_NOW, to, m->instance, start);
}

/* Not held behind this replica's records either: clients' commands promise nothing about what
 * this replica accepted, and its fsync would otherwise add up with the leader's and the quorum
 * point's on every write sent to a follower. */
void chain_send_forward(struct chain_engine *c, node_id to, uint8_t hops, const uint8_t *batch,
                        size_t len)
{
    size_t start = chain_send_begin(c, to);
    chain_msg_put_forward(&c->out->arena, hops, batch, len);
    outbox_end(c->out, EFFECT_SEND_NOW, to, 0, start);
}

void chain_send_read_nudge(struct chain_engine *c, node_id to, const struct chain_read_nudge *m)
{
    size_t start = chain_send_begin(c, to);
    chain_msg_put_read_nudge(&c->out->arena, m);
    chain_send_end(c, to, m->slot, start);
}

void chain_send_remove_request(struct chain_engine *c, node_id to, node_id id)
{
    size_t start = chain_send_begin(c, to);
    chain_msg_put_remove_request(&c->out->arena, id);
    chain_send_end(c, to, 0, start);
}

void chain_send_alive(struct chain_engine *c, node_id to)
{
    size_t start = chain_send_begin(c, to);
    chain_msg_put_alive(&c->out->arena);
    chain_send_end(c, to, 0, start);
}

void chain_send_probe(struct chain_engine *c, node_id to, uint8_t type, uint64_t sent_ms)
{
    size_t start = chain_send_begin(c, to);
    chain_msg_put_probe(&c->out->arena, type,
                        &(struct chain_probe){.sent_ms = sent_ms, .ballot = c->promised});
    chain_send_end(c, to, 0, start);
}

void chain_send_progress(struct chain_engine *c, node_id to, const struct chain_progress *m)
{
    size_t start = chain_send_begin(c, to);
    chain_msg_put_progress(&c->out->arena, m);
    chain_send_end(c, to, 0, start);
}

void chain_send_not_member(struct chain_engine *c, node_id to)
{
    struct chain_not_member m = {.config_instance = c->config_instance,
                                 .retired = chain_is_retired(c, to)};
    size_t start = chain_send_begin(c, to);
    chain_msg_put_not_member(&c->out->arena, &m);
    chain_send_end(c, to, 0, start);
}

void chain_send_change_request(struct chain_engine *c, node_id to, const struct chain_change *m)
{
    size_t start = chain_send_begin(c, to);
    chain_msg_put_change_request(&c->out->arena, m);
    chain_send_end(c, to, 0, start);
}

void chain_send_state_request(struct chain_engine *c, node_id to)
{
    /* What it holds of a transfer from `to`, so that the predecessor goes on from there. */
    struct chain_state_request m = {0, 0};
    if (c->state_in_total > 0 && c->state_in_from == to)
        m = (struct chain_state_request){c->state_in_instance, c->state_in.len};
    size_t start = chain_send_begin(c, to);
    chain_msg_put_state_request(&c->out->arena, &m);
    chain_send_end(c, to, 0, start);
}

void chain_send_state_parts(struct chain_engine *c, uint64_t from, uint64_t to)
{
    while (from < to) {
        size_t n = to - from < c->state_part_bytes ? to - from : c->state_part_bytes;
        size_t start = chain_send_begin(c, c->xfer_to);
        struct chain_state_part p = {.instance = c->xfer_instance, .total = c->xfer.len,
                                     .offset = from, .bytes = c->xfer.data + from, .len = n};
        chain_msg_put_state_part(&c->out->arena, &p);
        chain_send_end(c, c->xfer_to, c->xfer_instance, start);
        from += n;
    }
}

bool chain_send_state(struct chain_engine *c, node_id to, const struct chain_state *m)
{
    /* The STATE is its header (which ends with the state's length) and the state machine's
     * bytes: one message, built from where they are, if it fits in a part. */
    struct chain_state head = *m;
    head.state = NULL;
    buf_clear(&c->scratch);
    chain_msg_put_state(&c->scratch, &head);
    if (c->scratch.len + m->state_len <= c->state_part_bytes) {
        size_t start = chain_send_begin(c, to);
        buf_append(&c->out->arena, c->scratch.data, c->scratch.len);
        buf_append(&c->out->arena, m->state, m->state_len);
        chain_send_end(c, to, m->instance, start);
        return true;
    }
    /* Larger: kept whole and sent as STATE_PARTs, which the joiner pulls (join.c), so that no
     * frame holds the whole state machine, other messages to the joiner travel between them,
     * and only a window of parts waits in the link at a time. */
    buf_clear(&c->xfer);
    buf_append(&c->xfer, c->scratch.data, c->scratch.len);
    buf_append(&c->xfer, m->state, m->state_len);
    c->xfer_to = to;
    c->xfer_instance = m->instance;
    c->xfer_sent = 0;
    return false;
}

void chain_send_range(struct chain_engine *c, instance_no first, instance_no last)
{
    if (last > c->highest_accepted)
        last = c->highest_accepted;
    if (first > last)
        return;
    if (last - first >= CHAIN_RETRANSMIT_MAX_INSTANCES)
        last = first + CHAIN_RETRANSMIT_MAX_INSTANCES - 1;
    node_id next = chain_next_hop(c);
    for (instance_no i = first; i <= last; i++) {
        const struct chain_entry *e = chain_log_get(&c->log, i);
        if (e && ballot_eq(e->ballot, c->promised))
            chain_send_entry(c, next, i);
    }
}

void chain_send_from(struct chain_engine *c, instance_no first)
{
    chain_send_range(c, first, c->highest_accepted);
}

void chain_resend_outstanding(struct chain_engine *c)
{
    if (c->planted_bugs & ENGINE_BUG_NO_RETRANSMIT)
        return;
    chain_send_from(c, c->ack + 1);
    if (c->role == CHAIN_LEADER)
        c->sent_gc = c->gc; /* resent instances carry their own (older) acks, the current gc */
}
