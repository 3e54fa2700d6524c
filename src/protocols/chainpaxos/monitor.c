/* Failure detection inside the chain (docs/protocols/chainpaxos-membership.md §3).
 *
 * Each replica watches its next hop. While ACCEPTs it passed on are unacknowledged it resends
 * them every retransmit_ms; a live next hop answers a repeat with ALIVE, so only the replica
 * just before a dead (or cut off) one stays unanswered: the ones further up hear ALIVE from
 * their own next hops. After suspect_ms without ALIVE and without ack progress, the suspect is
 * reported to the leader (or removed by it, if this replica leads). The leader itself is
 * watched by everyone through the election timeout instead. */
#include "protocols/chainpaxos/internal.h"

/* True if this replica holds an instance of the current ballot its next hop has not
 * acknowledged: only then does silence mean something. */
static bool chain_awaiting_next_hop(const struct chain_engine *c)
{
    if (c->highest_accepted <= c->ack)
        return false;
    const struct chain_entry *e = chain_log_get(&c->log, c->highest_accepted);
    return e && ballot_eq(e->ballot, c->promised);
}

void chain_want_removal(struct chain_engine *c, node_id id)
{
    if (c->role == CHAIN_LEADER && c->remove_wanted == NODE_NONE)
        c->remove_wanted = id;
}

void chain_monitor_tick(struct chain_engine *c)
{
    if (c->leader == NODE_NONE || c->role == CHAIN_CANDIDATE)
        return;
    node_id next = chain_next_hop(c);
    if (next != c->monitored || next == c->leader || !chain_awaiting_next_hop(c)) {
        c->monitored = next;
        c->successor_heard_ms = c->now_ms;
        return;
    }
    if (c->now_ms - c->successor_heard_ms < c->suspect_ms)
        return;
    c->successor_heard_ms = c->now_ms; /* report again only after another suspect_ms */
    if (c->role == CHAIN_LEADER)
        chain_want_removal(c, next);
    else
        chain_send_remove_request(c, c->leader, next);
    /* Until the suspect's removal executes, ACCEPTs go around it: the replicas after it still
     * count towards the quorum, so the removal (or the one pending) can be decided even if a
     * second member of the chain failed. Only while the next hop after it is not the leader. */
    if (c->skip_depth + 2 < c->n) {
        c->skip_depth++;
        chain_resend_outstanding(c);
    }
}

void chain_recv_remove_request(struct chain_engine *c, node_id from, node_id id)
{
    /* Only a member can report, and only another member (its successor, or one after it that
     * it skips); the leader is watched through elections instead. */
    if (c->role != CHAIN_LEADER || chain_member_index(c, from) < 0 || id == from ||
        id == c->self || chain_member_index(c, id) < 0) {
        chain_dropped(c);
        return;
    }
    chain_want_removal(c, id);
}

/* True if `id` lies strictly between this replica and its next hop on the ring: skipped. */
static bool chain_is_skipped(const struct chain_engine *c, node_id id)
{
    if (c->skip_depth == 0 || c->removed)
        return false;
    node_id next = chain_next_hop(c);
    for (size_t k = 1; k < c->n; k++) {
        node_id m = c->members[(c->self_index + k) % c->n];
        if (m == next)
            return false;
        if (m == id)
            return true;
    }
    return false;
}

void chain_recv_alive(struct chain_engine *c, node_id from)
{
    if (chain_is_skipped(c, from)) {
        /* A skipped suspect is alive after all: the chain goes through it again. */
        c->skip_depth = 0;
        c->monitored = NODE_NONE;
        chain_resend_outstanding(c);
        return;
    }
    if (from == c->monitored)
        c->successor_heard_ms = c->now_ms;
}
