/* ACCEPT_ACK from the tail and QUORUM_ACK from the quorum point, at the leader
 * (docs/protocols/chainpaxos.md §5.4). */
#include "protocols/chainpaxos/internal.h"

void chain_recv_accept_ack(struct chain_engine *c, const struct chain_accept_ack *m)
{
    /* A late ack for another ballot, or one reaching a replica that no longer leads, carries
     * nothing this replica may use (ref §12 C13: Java dies here). An ack beyond what this
     * leader proposed cannot come from its chain. */
    if (c->role != CHAIN_LEADER || !ballot_eq(m->ballot, c->promised) ||
        m->instance > c->highest_accepted) {
        chain_dropped(c);
        return;
    }
    /* The tail accepted m->instance, and every replica before it accepted it (and everything
     * before it) before passing it on: the whole chain holds every instance <= m->instance.
     * Every replica on the path had processed ack m->ack, so executed everything <= it: gc. */
    c->leader_heard_ms = c->now_ms; /* the whole chain works */
    chain_learn(c, m->instance, m->ack);
    chain_learn_ordered(c, m->instance);
    if (m->whole && m->instance > c->whole_ack)
        c->whole_ack = m->instance; /* stamped on the next proposals, for reads (reads.c) */
    chain_decide(c);
    chain_collect(c);
}

void chain_recv_quorum_ack(struct chain_engine *c, node_id from, const struct chain_quorum_ack *m)
{
    if (c->role != CHAIN_LEADER || !ballot_eq(m->ballot, c->promised)) {
        chain_dropped(c);
        return;
    }
    /* The sender executed every instance <= m->instance: all chosen. The leader executes them
     * without waiting for the rest of the chain, so a slow or new tail does not hold its
     * clients back. A new leader may not have re-proposed that far yet (the sender executed
     * them in an older ballot): what it has proposed is chosen all the same, and a leader
     * held by the stop rule at a change would otherwise wait for the tail (operator seed
     * 936036: a tail that refused the ballot stalled every leader). */
    instance_no decided = m->instance < c->highest_accepted ? m->instance : c->highest_accepted;
    if (decided > c->decided) {
        chain_successor_working(c, from);
        c->decided = decided;
    }
    chain_decide(c);
}

void chain_report_quorum(struct chain_engine *c)
{
    /* What it reports is what it executed: every instance up to it is chosen, whatever path
     * each took (instances may reach it along different paths while a suspect is skipped). */
    instance_no executed = c->highest_executed;
    bool due = c->quorum_ack_due;
    c->quorum_ack_due = false;
    if (!due || executed == 0 || c->removed || c->role != CHAIN_FOLLOWER ||
        c->leader == NODE_NONE || (chain_is_tail(c) && chain_may_acknowledge(c, executed)))
        return; /* nobody to tell, or the tail's ACCEPT_ACK tells it */
    struct chain_quorum_ack q = {.ballot = c->promised, .instance = executed};
    chain_send_quorum_ack(c, c->leader, &q);
}
