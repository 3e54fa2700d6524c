/* Ballot adoption and the monotonic progress of a replica: ack, gc, decisions, execution and
 * collection (docs/protocols/chainpaxos.md §3, §5.3-§5.5). */
#include "common/check.h"
#include "protocols/chainpaxos/internal.h"

#include <string.h>

void chain_dropped(struct chain_engine *c) { c->messages_dropped++; }

void chain_malformed(struct chain_engine *c)
{
    c->messages_malformed++;
    chain_dropped(c);
}

static void chain_step_down(struct chain_engine *c)
{
    /* Pending commands stay: they are forwarded to the new leader at the next flush. */
    c->role = CHAIN_FOLLOWER;
    c->promiser_count = 0;
    c->recovered_max = 0;
    c->recover_next = c->recover_last = 0;
    c->stop_until = 0;
    c->remove_wanted = NODE_NONE;
    c->change_wanted = false; /* its requesters ask the next leader (join.c) */
    chain_log_reset(&c->recovered, 1);
}

void chain_adopt_ballot(struct chain_engine *c, struct ballot b)
{
    CHECK(ballot_cmp(b, c->promised) > 0);
    int index = chain_member_index(c, b.node);
    CHECK(index >= 0); /* callers only adopt ballots of members */
    c->promised = b;
    chain_persist_ballot(c);
    /* Instances above ack were accepted in older ballots: the new leader overwrites them, in
     * order, before anything may be accepted after them. */
    c->settled = c->ack;
    /* Below the log it holds no value that could be stale: executed, or a state transfer. */
    if (c->settled < c->log.base - 1)
        c->settled = c->log.base - 1;
    c->fence = CHAIN_FENCE_UNKNOWN;
    c->ballot_accepted = 0;
    c->whole_ack = 0;   /* stamps are facts of one ballot (reads.c) */
    c->nudged_slot = 0; /* a read's slot counts this ballot's instances only */
    chain_reads_rebase(c);
    c->decided = c->ack;
    c->quorum_ack_due = false;
    c->leader_heard_ms = c->now_ms;
    /* The next hop is watched afresh: a silence measured under the old ballot (or while this
     * replica ran for leadership, when nothing is watched) says nothing about the new chain. */
    c->monitored = NODE_NONE;
    c->skip_depth = 0;
    memset(c->backlog, 0, sizeof c->backlog);
    c->move_wanted = NODE_NONE;
    c->slow_hop_target = NODE_NONE;
    c->slow_hop_strikes = 0;
    if (b.node != c->self && c->role != CHAIN_FOLLOWER)
        chain_step_down(c);
    if (b.node != c->leader) {
        bool had_leader = c->leader != NODE_NONE;
        c->op_sent_ms = 0; /* an operator's change waiting here goes to the new leader */
        c->leader = b.node;
        c->leader_index = (size_t)index;
        outbox_push(c->out, EFFECT_LEADER, b.node, 0, NULL, 0);
        /* What went to the old leader may be lost with it: the new one gets it all again. */
        if (had_leader)
            chain_inflight_resubmit(c);
    }
    chain_election_delay(c); /* measured from the new leader */
}

void chain_learn(struct chain_engine *c, instance_no ack, instance_no gc)
{
    /* A correct ack never exceeds highest_accepted: it says the whole chain, this replica
     * included, accepted everything <= ack. Clamping changes nothing for correct peers and
     * keeps gc <= ack <= highest_accepted whatever bytes arrive. */
    if (ack > c->highest_accepted)
        ack = c->highest_accepted;
    if (ack > c->ack) {
        if (c->role == CHAIN_LEADER)
            chain_window_acked(c, c->ack, ack);
        chain_note_joined(c, c->ack, ack);
        c->ack = ack;
        c->ack_progress_ms = c->now_ms;
        c->successor_heard_ms = c->now_ms; /* the chain after this replica works */
        /* Everything <= ack is chosen and held by the whole chain: settled by definition. */
        if (c->settled < ack)
            c->settled = ack;
    }
    /* gc <= ack holds for every value a correct peer sends; clamping keeps the invariant (and
     * the retransmission window above gc) whatever arrives. */
    if (gc > c->ack)
        gc = c->ack;
    if (gc > c->gc)
        c->gc = gc;
}

void chain_learn_ordered(struct chain_engine *c, instance_no ack)
{
    if (ack > c->ack)
        ack = c->ack;
    if (ack > c->read_ack)
        c->read_ack = ack;
}

static void chain_execute(struct chain_engine *c, instance_no i, struct chain_entry *e)
{
    CHECK(i == c->highest_executed + 1);
    CHECK(!e->decided);
    e->decided = true;
    c->highest_executed = i;
    /* The payload is the batch exactly as formed from the command records; a NOOP has none. */
    if (e->kind == CHAIN_VALUE_BATCH) {
        if (c->role == CHAIN_LEADER && ballot_eq(e->ballot, c->promised))
            c->undecided_bytes -= e->body.len < c->undecided_bytes ? e->body.len
                                                                   : c->undecided_bytes;
        outbox_push(c->out, EFFECT_EXECUTE, NODE_NONE, i, e->body.data, e->body.len);
        chain_inflight_executed(c, i, e->body.data, e->body.len);
        return;
    }
    /* The state machine sees a membership value as a no-op; the engine changes its chain. */
    outbox_push(c->out, EFFECT_EXECUTE, NODE_NONE, i, NULL, 0);
    if (e->kind == CHAIN_VALUE_MEMBERSHIP)
        chain_execute_change(c, i, e);
}

void chain_decide(struct chain_engine *c)
{
    while (c->highest_executed < c->highest_accepted && !c->removed) {
        instance_no i = c->highest_executed + 1;
        struct chain_entry *e = chain_log_get(&c->log, i);
        /* The log has no gaps up to highest_accepted and only collects executed instances. */
        CHECK(e != NULL);
        /* Evidence that this value is chosen: an ack (the whole chain accepted it), a counter
         * >= Q on a chain path, or the decided instance of the ballot it was accepted in. A
         * counter that needs this replica's own accept counts once that is durable; the
         * predecessors' are (they passed it on only then), but for the leader's, which is
         * known to be durable only when it says so (leader_disk.c). */
        bool decided = i <= c->decided && ballot_eq(e->ballot, c->promised);
        bool counted = (e->counter > c->quorum ||
                        (e->counter == c->quorum && e->record <= c->records_durable)) &&
                       chain_vote_durable(c, i, e);
        if (i > c->ack && !counted && !decided)
            break;
        chain_execute(c, i, e);
    }
    chain_release_reads(c);
}

void chain_execute_restored(struct chain_engine *c, instance_no last)
{
    while (c->highest_executed < last && c->highest_executed < c->highest_accepted &&
           !c->removed) {
        instance_no i = c->highest_executed + 1;
        chain_execute(c, i, chain_log_get(&c->log, i));
    }
}

void chain_collect(struct chain_engine *c)
{
    instance_no h = c->gc < c->highest_executed ? c->gc : c->highest_executed;
    instance_no keep = chain_checkpoint_keeps(c);
    chain_log_release_through(&c->log, h < keep ? h : keep);
}
