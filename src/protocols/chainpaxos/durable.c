/* Crash recovery: what a replica must not forget, as EFFECT_PERSIST records, and the restart
 * from them (docs/protocols/chainpaxos.md §5.9).
 *
 * An acceptor that forgets a promise or an accepted value after a crash can break Paxos:
 * it could promise a lower ballot again, or let a candidate miss a value that was chosen.
 * The caller makes each record durable before any message emitted after it leaves (outbox.h),
 * so every PROMISE, ACCEPT a follower passes on, ACCEPT_ACK and QUORUM_ACK speaks for records on
 * disk; the leader passes its own ACCEPTs on at once and says later when they are durable
 * (leader_disk.c).
 *
 * Records (u8 type first, little-endian):
 *   BALLOT  ballot (u64 round, u32 node), u64 own_round: `promised` changed.
 *   ACCEPT  u64 instance, ballot, u8 kind, u32 length, body: a value accepted (or re-accepted
 *           with a higher ballot: the last record of an instance is the one that counts).
 *   EXECUTED u64 instance, u64 ack: everything up to the instance was executed here, and the
 *           ack was learned (with a round's other records, else at the next tick; it needs no
 *           fsync of its own: a lost one only means executing later, or a lower ack). Without
 *           the ack a restart went back to the ack of the last STATE record, and after a state
 *           transfer at s that lies below s: the replica could not run for election
 *           (membership §6.4), and a two-member configuration whose members had both joined
 *           that way never elected anyone again (nemesis seed 5). Records of 8 bytes, written
 *           before the ack was added, still read.
 *   STATE   u64 log_base, u64 installed_at, ballot, u64 own_round, u32 length, the log's
 *           values from log_base on (`length` bytes, each as an ACCEPT record's fields), then
 *           a STATE message to the end (configuration and state machine at its instance; the
 *           state machine's bytes come last, so a checkpoint by reference is the record
 *           without them): a state transfer installed, or a checkpoint. Self-contained: it
 *           replaces every earlier record.
 *   LEFT    ballot, u64 own_round, u8 joining: the replica left the configuration; its log
 *           and state are void (it comes back outside, and asks to join if `joining`).
 *           Self-contained, like STATE.
 * A restarted replica executes again what it had executed (its values for those instances
 * are the chosen ones: a value is executed only once chosen, and a later ballot re-proposes
 * the chosen value), so it comes back with its configuration and state as they were; what
 * else it holds it treats like a replica that was cut off for a while. */
#include "common/check.h"
#include "common/reader.h"
#include "protocols/chainpaxos/internal.h"

#include <string.h>

enum chain_record_type {
    CHAIN_RECORD_BALLOT = 1,
    CHAIN_RECORD_ACCEPT = 2,
    CHAIN_RECORD_STATE = 3,
    CHAIN_RECORD_EXECUTED = 4,
    CHAIN_RECORD_LEFT = 5,
};

/* ---- records --------------------------------------------------------------------------- */

static size_t chain_persist_begin(struct chain_engine *c, uint8_t type)
{
    size_t start = outbox_begin(c->out);
    buf_put_u8(&c->out->arena, type);
    return start;
}

/* checkpoint: the record's instance if it is one; compaction: it says nothing the records
 * before it did not (outbox.h). */
static void chain_persist_end(struct chain_engine *c, size_t start, instance_no checkpoint,
                              bool compaction)
{
    c->records_emitted++;
    c->persisted_bytes += c->out->arena.len - start;
    outbox_end(c->out, EFFECT_PERSIST, compaction ? c->self : NODE_NONE, checkpoint, start);
}

static void chain_put_entry(struct buf *b, instance_no i, const struct chain_entry *e)
{
    buf_put_u64(b, i);
    chain_put_ballot(b, e->ballot);
    buf_put_u8(b, e->kind);
    buf_put_u32(b, (uint32_t)e->body.len);
    buf_append(b, e->body.data, e->body.len);
}

/* What this replica promised: ballot, u64 own_round (read back by chain_restore_ballot). */
static void chain_put_promised(struct chain_engine *c)
{
    chain_put_ballot(&c->out->arena, c->promised);
    buf_put_u64(&c->out->arena, c->own_round);
}

void chain_persist_accept(struct chain_engine *c, instance_no i, struct chain_entry *e)
{
    e->record = 0; /* durable at once, unless a record is written */
    if (!c->durable || c->restoring)
        return;
    size_t start = chain_persist_begin(c, CHAIN_RECORD_ACCEPT);
    chain_put_entry(&c->out->arena, i, e);
    chain_persist_end(c, start, 0, false);
    e->record = c->records_emitted;
}

void chain_persist_ballot(struct chain_engine *c)
{
    if (!c->durable || c->restoring)
        return;
    size_t start = chain_persist_begin(c, CHAIN_RECORD_BALLOT);
    chain_put_promised(c);
    chain_persist_end(c, start, 0, false);
}

/* Once per round, but only with the round's other records (in the same fsync): a round that
 * only executed would otherwise cost an fsync for this record alone, on every replica. A tick
 * lets it go alone, so it lags by a tick at most. */
void chain_persist_executed(struct chain_engine *c)
{
    bool due = c->records_emitted > c->records_flushed || c->executed_due;
    c->executed_due = false;
    if (c->durable && !c->restoring && due &&
        (c->highest_executed > c->persisted_executed || c->ack > c->persisted_ack)) {
        c->persisted_executed = c->highest_executed;
        c->persisted_ack = c->ack;
        size_t start = chain_persist_begin(c, CHAIN_RECORD_EXECUTED);
        buf_put_u64(&c->out->arena, c->highest_executed);
        buf_put_u64(&c->out->arena, c->ack);
        chain_persist_end(c, start, 0, false);
    }
    c->records_flushed = c->records_emitted;
}

/* One record with everything a restart needs: the ballot, the log from log_base on and the
 * state. The caller may keep it apart from the others (a snapshot file). A state whose bytes
 * are NULL is by reference: the record ends before them and the caller appends them. A
 * checkpoint of this replica's own state is a compaction: its earlier records, replayed,
 * rebuild the same state (a state transfer installed is not: it came from elsewhere). */
static void chain_persist_state(struct chain_engine *c, const struct chain_state *m,
                                instance_no log_base, bool compaction)
{
    size_t start = chain_persist_begin(c, CHAIN_RECORD_STATE);
    struct buf *b = &c->out->arena;
    buf_put_u64(b, log_base);
    buf_put_u64(b, c->installed_at);
    chain_put_promised(c);
    size_t length_at = b->len;
    buf_put_u32(b, 0);
    for (instance_no i = log_base; i <= c->highest_accepted; i++)
        chain_put_entry(b, i, chain_log_get(&c->log, i));
    CHECK(b->len - length_at - 4 <= UINT32_MAX);
    buf_patch_u32(b, length_at, (uint32_t)(b->len - length_at - 4));
    chain_msg_put_state(b, m);
    c->persisted_executed = m->instance; /* the next flush records what executed since */
    c->persisted_ack = m->ack;
    c->checkpoint_bytes_last = b->len - start + (m->state ? 0 : m->state_len);
    chain_persist_end(c, start, m->instance, compaction);
    c->persisted_bytes = 0;
}

void chain_persist_left(struct chain_engine *c)
{
    if (!c->durable || c->restoring)
        return;
    /* Without this, a replica removed and added back, then restarted before its state
     * transfer, would come back with its old log as a member of its old configuration. */
    size_t start = chain_persist_begin(c, CHAIN_RECORD_LEFT);
    chain_put_promised(c);
    buf_put_u8(&c->out->arena, c->joining);
    c->persisted_executed = c->persisted_ack = 0;
    chain_persist_end(c, start, 1, false);
    c->persisted_bytes = 0;
}

void chain_persist_installed(struct chain_engine *c, const struct chain_state *m)
{
    if (c->durable)
        chain_persist_state(c, m, m->instance + 1, false);
}

/* ---- checkpoints ----------------------------------------------------------------------- */

void chain_checkpoint_tick(struct chain_engine *c)
{
    /* Records grow with the log; a checkpoint costs a snapshot of the whole state machine.
     * Taking one once the records outgrow the last checkpoint keeps the disk within about
     * twice the state, and the snapshot work proportional to the writes (like Redis' AOF
     * rewrite at 100% growth). */
    size_t threshold = c->checkpoint_bytes;
    if (c->checkpoint_bytes_last > threshold)
        threshold = c->checkpoint_bytes_last;
    if (!c->durable || c->removed || c->checkpoint_asked || c->persisted_bytes < threshold ||
        c->highest_executed == 0)
        return;
    c->checkpoint_asked = true;
    c->checkpoint_at = c->highest_executed;
    outbox_push(c->out, EFFECT_SNAPSHOT, c->self, c->highest_executed, NULL, 0);
}

instance_no chain_checkpoint_keeps(const struct chain_engine *c)
{
    /* The snapshot may be taken in the background while the log moves on: the checkpoint
     * record needs the values that follow its instance. */
    return c->checkpoint_asked ? c->checkpoint_at : CHAIN_MAX_INSTANCE;
}

void chain_checkpoint_ready(struct chain_engine *c, instance_no instance, const uint8_t *data,
                            size_t len)
{
    if (!c->checkpoint_asked || (instance != c->checkpoint_at && instance != 0))
        return; /* not the snapshot asked for (a caller's error) */
    c->checkpoint_asked = false;
    if (instance == 0)
        return; /* the caller could not take it: the next tick asks again */
    /* More may have executed since the snapshot was taken: fine, as long as its
     * configuration is the snapshot's and the log still holds what follows it. */
    if (c->removed || instance > c->highest_executed || c->config_instance > instance ||
        c->log.base > instance + 1 || len > UINT32_MAX)
        return; /* the next tick asks again */
    struct chain_state m;
    chain_state_describe(c, instance, data, len, &m);
    /* The log from the ack on: a candidate re-proposes from its ack, so a restarted replica
     * must still hold what lies between its ack and its state. */
    instance_no log_base = m.ack + 1;
    if (log_base < c->log.base)
        log_base = c->log.base;
    chain_persist_state(c, &m, log_base, true);
}

/* ---- restart --------------------------------------------------------------------------- */

static void chain_restore_ballot(struct chain_engine *c, struct reader *r)
{
    struct ballot b = chain_read_ballot(r);
    uint64_t own_round = reader_u64(r);
    CHECK(!r->failed && b.round < CHAIN_MAX_ROUND && own_round < CHAIN_MAX_ROUND);
    c->promised = b; /* the last record says it all: a forgotten candidacy lowers it */
    chain_raise_own_round(c, own_round);
}

/* One value (an ACCEPT record's fields); false at the end of the input. */
static bool chain_restore_entry(struct chain_engine *c, struct reader *r)
{
    if (reader_left(r) == 0)
        return false;
    instance_no i = reader_u64(r);
    struct ballot b = chain_read_ballot(r);
    uint8_t kind = reader_u8(r);
    uint32_t len = reader_u32(r);
    const uint8_t *body = reader_bytes(r, len);
    CHECK(!r->failed && i >= 1);
    /* Records after a checkpoint whose own write did not complete (the caller held every
     * message that depended on them) may follow an older state: they are dropped. */
    if (i < c->log.base || i > c->highest_accepted + 1)
        return true;
    struct chain_entry *e = chain_log_put(&c->log, i);
    e->ballot = b;
    e->counter = 1;
    e->record = 0;
    e->whole_ack = 0;
    e->kind = kind;
    e->decided = i <= c->highest_executed; /* part of the restored state */
    buf_clear(&e->body);
    buf_append(&e->body, body, len);
    if (kind == CHAIN_VALUE_MEMBERSHIP && !e->decided)
        c->pending_change = i;
    else if (c->pending_change == i)
        c->pending_change = 0;
    if (i > c->highest_accepted)
        c->highest_accepted = i;
    return true;
}

static void chain_restore_state(struct chain_engine *c, struct reader *r)
{
    instance_no log_base = reader_u64(r);
    instance_no installed_at = reader_u64(r);
    chain_restore_ballot(c, r);
    uint32_t length = reader_u32(r);
    struct reader values = reader_make(reader_bytes(r, length), length);
    size_t msg_len = reader_left(r);
    struct chain_state m;
    CHECK(!r->failed && chain_msg_decode_state(reader_bytes(r, msg_len), msg_len, &m) &&
          log_base >= 1 && log_base <= m.instance + 1 && m.ack <= m.instance);
    memcpy(c->prev_members, m.prev, m.prev_n * sizeof *m.prev);
    c->prev_n = m.prev_n;
    c->config_instance = m.config_instance;
    memcpy(c->retired, m.retired, m.retired_count * sizeof *m.retired);
    c->retired_count = m.retired_count;
    chain_config_set(c, m.members, m.n);
    chain_log_reset(&c->log, log_base);
    c->highest_executed = m.instance;
    c->highest_accepted = log_base - 1;
    c->installed_at = installed_at;
    c->ack = c->read_ack = m.ack;
    c->gc = m.gc;
    c->pending_change = 0;
    c->restore_executed = 0;
    buf_clear(&c->restore_state);
    buf_append(&c->restore_state, m.state, m.state_len);
    c->restore_state_at = m.instance;
    c->restore_left = false;
    while (chain_restore_entry(c, &values))
        ;
    /* Its values reach the instance it describes (at least to the state's own). */
    CHECK(c->highest_accepted >= c->highest_executed);
}

static void chain_restore_executed(struct chain_engine *c, struct reader *r)
{
    instance_no i = reader_u64(r);
    instance_no ack = reader_left(r) > 0 ? reader_u64(r) : 0;
    CHECK(!r->failed && reader_left(r) == 0);
    if (i > c->restore_executed && i <= c->highest_accepted)
        c->restore_executed = i;
    /* A fact learned before the crash: everything up to it is chosen and every member held
     * it. Clamped like a received ack (progress.c). */
    if (ack > c->highest_accepted)
        ack = c->highest_accepted;
    if (ack > c->ack)
        c->ack = ack;
}

static void chain_restore_left(struct chain_engine *c, struct reader *r)
{
    chain_restore_ballot(c, r);
    c->restore_left_joining = reader_u8(r) != 0;
    CHECK(!r->failed && reader_left(r) == 0);
    c->restore_left = true;
    c->prev_n = 0;
    c->config_instance = 0;
    c->retired_count = 0;
    chain_log_reset(&c->log, 1);
    c->highest_accepted = c->highest_executed = c->restore_executed = 0;
    c->installed_at = c->ack = c->read_ack = c->gc = 0;
    c->pending_change = 0;
    c->restore_state_at = 0;
    buf_clear(&c->restore_state);
}

static void chain_restore_record(struct chain_engine *c, const uint8_t *data, size_t len)
{
    CHECK(!c->restored); /* records come before anything else */
    c->restoring = true;
    c->persisted_bytes += len;
    struct reader r = reader_make(data, len);
    switch (reader_u8(&r)) {
    case CHAIN_RECORD_BALLOT:
        chain_restore_ballot(c, &r);
        CHECK(reader_left(&r) == 0);
        break;
    case CHAIN_RECORD_ACCEPT:
        chain_restore_entry(c, &r);
        CHECK(reader_left(&r) == 0);
        break;
    case CHAIN_RECORD_STATE:
        chain_restore_state(c, &r);
        break;
    case CHAIN_RECORD_EXECUTED:
        chain_restore_executed(c, &r);
        break;
    case CHAIN_RECORD_LEFT:
        chain_restore_left(c, &r);
        break;
    default:
        CHECK(!"unknown durable record");
    }
}

/* End of the records: the state machine is rebuilt, and the replica starts as a follower of
 * the ballot it promised, as if it had been cut off for a while. */
static void chain_restore_finish(struct chain_engine *c)
{
    c->restored = true;
    if (!c->restoring) {
        /* Nothing on disk: a first start. One that joins records so, in case it restarts
         * before its state transfer: it must not come back as a founding member with an
         * empty log (it may have been one, with a log it lost, e.g. --repair). */
        if (c->joining)
            chain_persist_left(c);
        return;
    }
    if (c->restore_state_at) {
        outbox_push(c->out, EFFECT_INSTALL, NODE_NONE, c->restore_state_at, c->restore_state.data,
                    c->restore_state.len);
        buf_free(&c->restore_state);
    }
    /* Values between the ack and the state: executed, kept for a candidacy (checkpoints). */
    for (instance_no i = c->log.base; i <= c->highest_accepted; i++)
        CHECK(chain_log_get(&c->log, i) != NULL); /* accepted in order: no gaps */
    chain_execute_restored(c, c->restore_executed);
    c->persisted_executed = c->highest_executed;
    c->persisted_ack = c->ack;
    c->restoring = false;
    c->settled = c->highest_executed > c->ack ? c->highest_executed : c->ack;
    if (c->settled < c->log.base - 1)
        c->settled = c->log.base - 1;
    for (instance_no i = c->highest_accepted; i >= c->log.base && !c->ballot_accepted; i--)
        if (ballot_eq(chain_log_get(&c->log, i)->ballot, c->promised))
            c->ballot_accepted = i;
    c->decided = c->ack;
    c->fence = CHAIN_FENCE_UNKNOWN;
    c->checkpoint_bytes_last = 0;
    if (c->restore_left) {
        c->removed = true;
        c->joining = c->restore_left_joining;
        return;
    }
    if (c->removed) {
        c->joining = !chain_is_retired(c, c->self);
        return;
    }
    c->joining = false;
    if (c->promised.node == c->self) {
        /* It led, or ran: that candidacy ended with the crash. A higher round it takes next
         * time; at once, since the others may still be waiting for it. */
        chain_raise_own_round(c, c->promised.round);
        c->election_started = false;
        c->restart_election = true;
    } else if (c->promised.node != NODE_NONE && chain_member_index(c, c->promised.node) >= 0) {
        c->leader = c->promised.node;
        c->leader_index = (size_t)chain_member_index(c, c->leader);
        outbox_push(c->out, EFFECT_LEADER, c->leader, 0, NULL, 0);
    }
    chain_election_delay(c);
}

void chain_durable(struct chain_engine *c, uint64_t records)
{
    if (records > c->records_emitted)
        records = c->records_emitted; /* a caller's error; never count what was not sent */
    if (records <= c->records_durable)
        return;
    c->records_durable = records;
    chain_leader_disk_moved(c);
    instance_no executed = c->highest_executed;
    chain_decide(c); /* a value counted by its quorum point waits for this */
    if (c->highest_executed > executed)
        c->quorum_ack_due = true; /* the leader learns it at the next flush */
    chain_collect(c);
}

void chain_restore(struct chain_engine *c, const uint8_t *data, size_t len)
{
    if (len == 0)
        chain_restore_finish(c);
    else
        chain_restore_record(c, data, len);
}
