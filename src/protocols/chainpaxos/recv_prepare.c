/* PREPARE at any member (docs/protocols/chainpaxos.md §5.1, chainpaxos-membership.md §2, §3). */
#include "protocols/chainpaxos/internal.h"

/* A replica that heard from a working leader within leader_timeout_ms does not help another
 * replica depose it (a follower that lost touch, or a replica that was partitioned away, would
 * otherwise interrupt a healthy cluster each time its timer fires). The candidate keeps asking;
 * once the leader is really gone, the same PREPARE is promised. Only progress in its ballot
 * proves a leader (membership §3.1): a candidate this replica promised may be one the other
 * members refuse, and waiting for it would stall the election (simulator, durable-reorder
 * profile, seed 981415). */
static bool chain_leader_is_healthy(const struct chain_engine *c, node_id candidate)
{
    return c->leader != NODE_NONE && c->leader != candidate && c->role != CHAIN_CANDIDATE &&
           c->ballot_accepted > 0 && c->now_ms - c->leader_heard_ms < c->leader_timeout_ms;
}

void chain_recv_prepare(struct chain_engine *c, node_id from, const struct chain_prepare *m)
{
    /* A candidate runs with its own ballot: anything else is forged or corrupt. Round 0 is
     * "no ballot"; huge rounds would let the next candidate's round + 1 overflow. A member
     * promises only to a member of both its configuration and the one its log leads to: a
     * replica whose removal it accepted cannot lead it (membership §2), nor one whose ADD it
     * has not executed yet. */
    if (m->ballot.node != from || m->ballot.round == 0 || m->ballot.round >= CHAIN_MAX_ROUND ||
        chain_member_index(c, from) < 0 || !chain_in_latest_config(c, from)) {
        chain_dropped(c);
        return;
    }
    int cmp = ballot_cmp(m->ballot, c->promised);
    if (cmp < 0 || (cmp > 0 && from != c->self && chain_leader_is_healthy(c, from))) {
        /* Tell the candidate the ballot to beat instead of staying silent (ref §8.2); when
         * it is lower than the candidate's, the candidate only learns it was not helped. */
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
