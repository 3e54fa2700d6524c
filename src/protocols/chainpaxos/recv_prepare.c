/* PREPARE at any member (docs/protocols/chainpaxos.md §5.1). */
#include "protocols/chainpaxos/internal.h"

void chain_recv_prepare(struct chain_engine *c, node_id from, const struct chain_prepare *m)
{
    /* A candidate runs with its own ballot: anything else is forged or corrupt. Round 0 is
     * "no ballot"; huge rounds would let the next candidate's round + 1 overflow. */
    if (m->ballot.node != from || m->ballot.round == 0 || m->ballot.round >= CHAIN_MAX_ROUND) {
        chain_dropped(c);
        return;
    }
    int cmp = ballot_cmp(m->ballot, c->promised);
    if (cmp < 0) {
        /* Tell the candidate the round to beat instead of staying silent (ref §8.2). */
        struct chain_reject r = {.refused = m->ballot, .promised = c->promised};
        chain_send_reject(c, from, &r);
        return;
    }
    /* Equal ballot: a repeated PREPARE of the candidate already promised; answer it again, as
     * the first PROMISE may have been lost. */
    if (cmp > 0)
        chain_adopt_ballot(c, m->ballot);
    chain_send_promise(c, from, m->ballot, m->from);
}
