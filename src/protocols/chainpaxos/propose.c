/* Client commands, batching and proposals (docs/protocols/chainpaxos.md §5.2, §5.3).
 *
 * `pending` is a BATCH body in the making: a 4-byte count placeholder, then records. Records
 * accumulate between two FLUSH events, so a batch holds what arrived in one event-loop
 * iteration; a batch is sealed early at max_batch_bytes. Sealing swaps buffers instead of
 * copying: pending becomes the log entry's body, and the entry's old (empty) buffer becomes the
 * next pending. */
#include "common/check.h"
#include "core/command.h"
#include "protocols/chainpaxos/internal.h"

static void chain_pending_restart(struct chain_engine *c)
{
    buf_clear(&c->pending);
    buf_put_u32(&c->pending, 0);
    c->pending_count = 0;
}

bool chain_can_send(const struct chain_engine *c)
{
    return c->role == CHAIN_LEADER || (c->role == CHAIN_FOLLOWER && c->leader != NODE_NONE);
}

/* Moves the first batch of pending into c->batch: everything if it fits in max_batch_bytes (the
 * usual case, no copy), else as many whole records as fit (at least one). Only a replica that
 * gathered commands while no leader was known ever takes the slow path. */
static void chain_seal(struct chain_engine *c)
{
    CHECK(c->pending_count > 0);
    if (c->pending.len <= c->max_batch_bytes || c->pending_count == 1) {
        buf_patch_u32(&c->pending, 0, c->pending_count);
        buf_swap(&c->batch, &c->pending);
        chain_pending_restart(c);
        return;
    }
    size_t cut = 4;
    uint32_t n = 0;
    while (n < c->pending_count) {
        size_t size = chain_record_size(c->pending.data + cut, c->pending.len - cut);
        CHECK(size > 0); /* records were validated when they entered pending */
        if (n > 0 && cut + size > c->max_batch_bytes)
            break;
        cut += size;
        n++;
    }
    buf_clear(&c->batch);
    buf_put_u32(&c->batch, n);
    buf_append(&c->batch, c->pending.data + 4, cut - 4);
    memmove(c->pending.data + 4, c->pending.data + cut, c->pending.len - cut);
    c->pending.len -= cut - 4;
    c->pending_count -= n;
}

static bool chain_recovering(const struct chain_engine *c)
{
    return c->recover_next <= c->recover_last;
}

/* The stop rule waits for the change's decision (executed here), not for the whole chain's
 * ack: a dead tail would otherwise block the removal that follows. A member past the quorum
 * point may then miss several changes; phase 1 copes (chain_voters). */
bool chain_may_propose(const struct chain_engine *c)
{
    return c->role == CHAIN_LEADER && c->highest_executed >= c->stop_until &&
           !chain_recovering(c);
}

/* Re-proposes what phase 1 recovered, in order, pausing after a membership value until it is
 * decided (membership §1: a new leader obeys the stop rule too). */
static void chain_recover(struct chain_engine *c)
{
    while (chain_recovering(c) && c->highest_executed >= c->stop_until) {
        instance_no i = c->recover_next++;
        struct chain_entry *e = chain_log_get(&c->recovered, i);
        if (e && e->kind != CHAIN_VALUE_NOOP)
            chain_propose(c, e->kind, &e->body);
        else
            chain_propose(c, CHAIN_VALUE_NOOP, NULL);
    }
    if (!chain_recovering(c) && c->recovered_max) {
        c->recovered_max = 0;
        chain_log_reset(&c->recovered, 1);
    }
}

/* A removal asked for by monitoring, once nothing else is in flight. Only with three members or
 * more: the chain can then go around the suspect while the REMOVE is decided, and the members
 * left still make a quorum (membership §4); a two-member cluster waits for its member to come back. */
static void chain_propose_removal(struct chain_engine *c)
{
    node_id id = c->remove_wanted;
    c->remove_wanted = NODE_NONE;
    if (chain_member_index(c, id) < 0 || id == c->self || c->n < 3 || c->pending_change ||
        !chain_removal_keeps_quorum(c, id))
        return;
    struct chain_change change = {.op = CHAIN_OP_REMOVE, .node = id};
    buf_clear(&c->batch);
    chain_change_put(&c->batch, &change);
    chain_propose(c, CHAIN_VALUE_MEMBERSHIP, &c->batch);
}

/* A durable leader seals the next batch once its last proposal is on disk (or the batch is
 * full): the commands that arrive during an fsync would wait for the next one anyway, and one
 * instance per fsync instead of one per loop iteration means fewer records, messages and fsyncs
 * down the chain for the same latency. */
static bool chain_batch_ready(const struct chain_engine *c)
{
    return !c->durable || c->proposal_record <= c->records_durable ||
           c->pending.len >= c->max_batch_bytes;
}

/* Flow control: the leader proposes no new client batch while those it proposed above ack hold
 * max_window_bytes. Without a bound, a burst (a pipelined bulk load) queued tens of MB in the
 * sockets along the chain; the acks the ACCEPTs carry were then as old as the queue was long,
 * and a tail's predecessor, seeing no progress for suspect_ms, removed the live tail. Commands
 * wait in `pending` meanwhile and make the next batch bigger. While the ack waits for a reason
 * other than load (a suspect is reported or being removed, a new member has not acknowledged
 * its ADD yet: its state transfer may take seconds) the window counts what is not decided
 * instead. Left open then, a leader under a bulk load reached 3.2 GB of RSS in a run where a
 * joiner waited 11 s for its state, and the leader changed 24 times. */
static bool chain_window_open(const struct chain_engine *c)
{
    /* Open below the usual bound: what is acknowledged was decided, so undecided_bytes is at
     * most window_bytes. */
    if (c->window_bytes < c->max_window_bytes)
        return true;
    return (c->remove_wanted != NODE_NONE || c->pending_change || chain_joiner_waits(c)) &&
           c->undecided_bytes < c->max_window_bytes;
}

/* The ack moved from `from` to `to`: those batches left the window. */
void chain_window_acked(struct chain_engine *c, instance_no from, instance_no to)
{
    for (instance_no i = from + 1; i <= to && c->window_bytes > 0; i++) {
        const struct chain_entry *e = chain_log_get(&c->log, i);
        if (e && e->kind == CHAIN_VALUE_BATCH && ballot_eq(e->ballot, c->promised))
            c->window_bytes -= e->body.len < c->window_bytes ? e->body.len : c->window_bytes;
    }
}

void chain_flush(struct chain_engine *c)
{
    if (c->role == CHAIN_LEADER) {
        chain_recover(c);
        /* A member that restarted without its state is a failure known for sure: it leaves
         * first. Removing a suspect before it could leave the restarted one in a smaller
         * configuration whose majority it breaks. Monitoring reports a real suspect again. */
        if (chain_wanted_restart(c))
            c->remove_wanted = NODE_NONE;
        if (c->remove_wanted != NODE_NONE && chain_may_propose(c))
            chain_propose_removal(c);
        chain_propose_wanted_change(c);
        chain_propose_move(c);
        while (c->pending_count > 0 && chain_may_propose(c) && chain_batch_ready(c) &&
               chain_window_open(c)) {
            chain_seal(c);
            chain_propose(c, CHAIN_VALUE_BATCH, &c->batch);
        }
        return;
    }
    chain_report_quorum(c);
    while (c->pending_count > 0 && chain_can_send(c)) {
        chain_seal(c);
        chain_send_forward(c, c->leader, 0, c->batch.data, c->batch.len);
        buf_clear(&c->batch);
    }
}

void chain_pending_add(struct chain_engine *c, const uint8_t *records, size_t len,
                       uint32_t count)
{
    bool can_send = chain_can_send(c);
    if (can_send && c->pending_count > 0 && c->pending.len + len > c->max_batch_bytes)
        chain_flush(c);
    buf_append(&c->pending, records, len);
    c->pending_count += count;
    if (can_send && c->pending.len >= c->max_batch_bytes)
        chain_flush(c);
}

void chain_command(struct chain_engine *c, const uint8_t *record, size_t len)
{
    /* A record the state machine could not decode would poison the whole batch it joins, at
     * every replica: refuse it here. Beyond max_pending_bytes (no leader to send to), refuse
     * rather than grow without bound; the client gets an error and nothing is half-done. */
    if (c->removed || len == 0 || chain_record_size(record, len) != len ||
        c->pending.len - 4 + len > c->max_pending_bytes) {
        outbox_push(c->out, EFFECT_REJECT, NODE_NONE, 0, record, len);
        return;
    }
    /* Stamped with how far this replica executed: a copy decided much later is skipped
     * (COMMAND_WINDOW), and resubmitted with a new stamp. Stamped in a copy: the caller's
     * bytes are read-only, and the in-flight queue may move its own while the batch flushes. */
    buf_clear(&c->command_copy);
    buf_append(&c->command_copy, record, len);
    command_stamp(&c->command_copy, 0, c->highest_executed);
    chain_inflight_add(c, c->command_copy.data, len);
    chain_pending_add(c, c->command_copy.data, len, 1);
}

void chain_propose(struct chain_engine *c, uint8_t kind, struct buf *body)
{
    CHECK(c->role == CHAIN_LEADER);
    instance_no i = c->next_instance++;
    struct chain_accept m = {
        .ballot = c->promised,
        .instance = i,
        .counter = 0,
        .ack = c->ack,
        .gc = c->gc,
        .fence = c->fence,
        .decided = chain_carried_decided(c),
        .whole_ack = c->whole_ack,
        .value = {.kind = kind, .body = body ? body->data : NULL, .len = body ? body->len : 0},
    };
    if (kind == CHAIN_VALUE_BATCH) {
        c->last_batch_instance = i;
        c->window_bytes += body->len;
        c->undecided_bytes += body->len;
    }
    if (kind == CHAIN_VALUE_MEMBERSHIP)
        c->stop_until = i; /* the stop rule (membership §1) */
    /* The leader's ACCEPT carries its current ack and gc down the chain. */
    c->sent_ack = c->ack;
    c->sent_gc = c->gc;
    c->last_proposal_ms = c->now_ms;
    /* The leader handles its own ACCEPT exactly as any replica does (counter 0 -> 1). */
    bool accepted = chain_recv_accept(c, c->self, &m, body);
    CHECK(accepted);
    c->proposal_record = c->records_emitted;
}
