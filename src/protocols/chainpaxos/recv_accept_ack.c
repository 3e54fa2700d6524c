/* ACCEPT_ACK at the leader (docs/protocols/chainpaxos.md §5.4). */
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
    chain_decide(c);
    chain_collect(c);
}
