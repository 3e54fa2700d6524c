/* The leader's disk (docs/protocols/chainpaxos.md §5.9).
 *
 * A durable replica passes an instance on only once its own record of it is durable, so along
 * the chain the fsyncs of the leader and of its successors would add up. The leader is the
 * exception: it passes its ACCEPTs on at once, and its fsync overlaps the network and the
 * next replica's fsync. Its vote, which every counter on the chain includes, then counts only
 * once its record is durable. So the leader says how far its records are durable in its
 * ballot, in every ACCEPT it sends and, when that moves between proposals, in a DURABLE; every
 * replica passes what it learned down the chain, in its ACCEPTs and in DURABLEs of its own.
 * An instance is decided by its counter, and acknowledged by the tail, only up to there. A
 * crash of the leader can lose its vote only for instances nobody counted yet. */
#include "protocols/chainpaxos/internal.h"

/* The leader: how far its own records are durable in its ballot. Instances up to ack are
 * decided whatever is said of them, so the count starts there. */
static void chain_leader_disk_scan(struct chain_engine *c)
{
    if (!ballot_eq(c->leader_durable_ballot, c->promised)) {
        c->leader_durable_ballot = c->promised;
        c->leader_durable = 0;
        c->leader_durable_told = 0;
    }
    instance_no i = c->leader_durable > c->ack ? c->leader_durable : c->ack;
    for (;;) {
        const struct chain_entry *e = chain_log_get(&c->log, i + 1);
        if (!e || !ballot_eq(e->ballot, c->promised) || e->record > c->records_durable)
            break;
        i++;
    }
    c->leader_durable = i;
}

instance_no chain_leader_durable(struct chain_engine *c, struct ballot b)
{
    if (b.node == c->self && ballot_eq(b, c->promised))
        chain_leader_disk_scan(c);
    return ballot_eq(c->leader_durable_ballot, b) ? c->leader_durable : 0;
}

bool chain_vote_durable(const struct chain_engine *c, instance_no i, const struct chain_entry *e)
{
    if (c->planted_bugs & ENGINE_BUG_LEADER_VOTE_EARLY)
        return true;
    if (e->ballot.node == c->self) /* its own ballot: its own records */
        return e->record <= c->records_durable;
    return ballot_eq(c->leader_durable_ballot, e->ballot) && c->leader_durable >= i;
}

/* The tail acknowledges what it held back for the leader's disk. */
static void chain_ack_leader_durable(struct chain_engine *c)
{
    if (c->leader == NODE_NONE || c->role != CHAIN_FOLLOWER || !chain_is_tail(c))
        return;
    instance_no i = c->leader_durable < c->highest_accepted ? c->leader_durable
                                                            : c->highest_accepted;
    const struct chain_entry *e = chain_log_get(&c->log, i);
    if (i <= c->tail_acked || !e || !ballot_eq(e->ballot, c->promised))
        return;
    struct chain_accept_ack a = {.ballot = e->ballot, .instance = i, .ack = c->read_ack};
    chain_send_accept_ack(c, c->leader, &a);
}

bool chain_note_leader_durable(struct chain_engine *c, struct ballot b, instance_no upto)
{
    /* Only the current ballot's leader speaks for its disk; it knows it itself. */
    if (!ballot_eq(b, c->promised) || b.node == c->self ||
        (ballot_eq(c->leader_durable_ballot, b) && upto <= c->leader_durable))
        return false;
    c->leader_durable_ballot = b;
    c->leader_durable = upto;
    return true;
}

void chain_recv_durable(struct chain_engine *c, struct ballot b, instance_no upto)
{
    if (!chain_note_leader_durable(c, b, upto)) {
        chain_dropped(c);
        return;
    }
    chain_send_durable(c, b, upto);
    instance_no executed = c->highest_executed;
    chain_decide(c); /* a value counted by its quorum point may wait for this */
    if (c->highest_executed > executed)
        c->quorum_ack_due = true;
    chain_ack_leader_durable(c);
    chain_collect(c);
}

void chain_leader_disk_moved(struct chain_engine *c)
{
    if (c->role != CHAIN_LEADER || c->removed)
        return;
    chain_leader_disk_scan(c);
    if (c->leader_durable > c->leader_durable_told && c->leader_durable > c->ack)
        chain_send_durable(c, c->promised, c->leader_durable);
}
