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

/* The next hop's link was reported lost: suspect it after retransmit_ms, not suspect_ms. */
static void chain_suspect_soon(struct chain_engine *c)
{
    uint64_t soon = c->now_ms - c->suspect_ms + c->retransmit_ms;
    if (c->now_ms >= c->suspect_ms && soon < c->successor_heard_ms)
        c->successor_heard_ms = soon;
}

/* True if the transport reported the link to `id` lost within the last `window_ms`. */
static bool chain_link_lost_within(const struct chain_engine *c, node_id id, uint64_t window_ms)
{
    for (size_t k = 0; k < CATENA_MAX_NODES; k++)
        if (c->link_down[k].node == id && c->now_ms - c->link_down[k].at_ms < window_ms)
            return true;
    return false;
}

void chain_successor_working(struct chain_engine *c, node_id from)
{
    /* A next hop that accepts new instances is alive and hears this replica: if the chain
     * is stuck, the fault lies further down. Without this a leader whose ACCEPTs reached its
     * next hop only as first copies after a partition healed (no ALIVE answers a first copy)
     * removed that live next hop instead of the dead replica after it, which its next hop
     * was about to report (simulator seed 617286 of the crashes profile). */
    if (from == c->monitored)
        c->successor_heard_ms = c->now_ms;
}

/* True if the leader can count on `id`: heard from within suspect_ms (every follower sends
 * PROGRESS each retransmit_ms), and its link not reported lost since, nor within suspect_ms:
 * messages it sent before it died may still arrive after the report (simulator, crashes
 * profile, seed 634762). */
static bool chain_heard_lately(const struct chain_engine *c, node_id id)
{
    if (id == c->self)
        return true;
    uint64_t heard = c->member_heard_ms[id];
    if (heard == 0 || c->now_ms - heard >= c->suspect_ms)
        return false;
    /* at or after `heard`, or within suspect_ms, whichever reaches back further */
    uint64_t since_heard_ms = c->now_ms - heard + 1;
    return !chain_link_lost_within(c, id,
                                   since_heard_ms > c->suspect_ms ? since_heard_ms : c->suspect_ms);
}

bool chain_removal_keeps_quorum(const struct chain_engine *c, node_id id)
{
    /* The chain goes around `id` while its REMOVE is pending (membership §4), so the others
     * must make a quorum of the configuration now, which is also one of the next. */
    size_t heard = 0;
    for (size_t k = 0; k < c->n; k++)
        heard += c->members[k] != id && chain_heard_lately(c, c->members[k]);
    return heard >= c->n / 2 + 1;
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
        bool fresh = next != c->monitored;
        c->monitored = next;
        c->successor_heard_ms = c->now_ms;
        /* A dead old leader becomes an ordinary member of the new chain (the tail, if its
         * successor won): its link was reported lost already. */
        if (fresh && next != c->leader && chain_link_lost_within(c, next, c->leader_timeout_ms))
            chain_suspect_soon(c);
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
        if (chain_next_hop(c) == next)
            c->skip_depth--; /* no one left to go to but the suspect (the bypass took one) */
        else
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

void chain_peer_down(struct chain_engine *c, node_id id)
{
    if (c->removed || id == NODE_NONE || id == c->self)
        return;
    /* Moving the last-heard times back: a link that comes back with the peer proves nothing
     * new, and a live leader's next ACCEPT resets the timer anyway. */
    if (id == c->leader && c->role == CHAIN_FOLLOWER) {
        uint64_t soon = c->now_ms - c->leader_timeout_ms + c->retransmit_ms;
        if (c->now_ms >= c->leader_timeout_ms && soon < c->leader_heard_ms)
            c->leader_heard_ms = soon;
    }
    if (id == c->monitored)
        chain_suspect_soon(c);
    c->link_down[c->link_down_next] = (struct chain_link_down){.node = id, .at_ms = c->now_ms};
    c->link_down_next = (c->link_down_next + 1) % CATENA_MAX_NODES;
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

/* ---- a replica that falls behind goes to the tail ------------------------------------------
 *
 * A slow replica in the first part of the chain holds back every decision: the instances reach
 * the quorum point only through it. Each follower reports its highest accepted instance every
 * retransmit_ms; the leader measures its lag, and when the same replica is, report after
 * report, the first of the chain to lag by CHAIN_SLOW_BACKLOG instances or more, it moves it
 * to the tail through a decided MOVE (the members and quorums stay the same): decisions then
 * run at the speed of the replicas before it. */

void chain_progress_tick(struct chain_engine *c)
{
    if (c->role != CHAIN_FOLLOWER || c->leader == NODE_NONE || c->leader == c->self ||
        c->now_ms < c->progress_next_ms)
        return;
    c->progress_next_ms = c->now_ms + c->retransmit_ms;
    struct chain_progress p = {.ballot = c->promised, .accepted = c->highest_accepted};
    chain_send_progress(c, c->leader, &p);
}

static struct chain_backlog *chain_backlog_find(struct chain_engine *c, node_id id)
{
    for (size_t k = 0; k < CATENA_MAX_NODES; k++)
        if (c->backlog[k].node == id)
            return &c->backlog[k];
    return NULL;
}

/* The record of member `id`, made in a free slot (or one of a former member) if it has none. */
static struct chain_backlog *chain_backlog_of(struct chain_engine *c, node_id id)
{
    struct chain_backlog *b = chain_backlog_find(c, id);
    for (size_t k = 0; !b && k < CATENA_MAX_NODES; k++)
        if (c->backlog[k].node == NODE_NONE || chain_member_index(c, c->backlog[k].node) < 0) {
            b = &c->backlog[k];
            *b = (struct chain_backlog){.node = id};
        }
    return b;
}

/* True if the replica at ring distance `d` from the leader reported recently and lags. */
static bool chain_lags(struct chain_engine *c, size_t d)
{
    const struct chain_backlog *b =
        chain_backlog_find(c, c->members[(c->leader_index + d) % c->n]);
    return b && c->now_ms - b->at_ms <= 2 * c->retransmit_ms && b->lag >= CHAIN_SLOW_BACKLOG;
}

void chain_recv_progress(struct chain_engine *c, node_id from, const struct chain_progress *m)
{
    int at = chain_member_index(c, from);
    struct chain_backlog *b = at >= 0 ? chain_backlog_of(c, from) : NULL;
    if (c->role != CHAIN_LEADER || !ballot_eq(m->ballot, c->promised) || !b ||
        m->accepted > c->highest_accepted) {
        chain_dropped(c);
        return;
    }
    if (m->accepted > b->accepted)
        chain_successor_working(c, from);
    b->accepted = m->accepted;
    b->lag = c->highest_accepted - m->accepted;
    b->at_ms = c->now_ms;
    size_t d = ((size_t)at + c->n - c->leader_index) % c->n;
    /* The first replica of the chain that lags is the slow one: the replicas after it lag
     * because they get everything through it. The tail holds nobody back. */
    bool first = b->lag >= CHAIN_SLOW_BACKLOG && d + 1 < c->n;
    for (size_t k = 1; first && k < d; k++)
        first = !chain_lags(c, k);
    b->strikes = first ? (uint8_t)(b->strikes + 1) : 0;
    if (b->strikes >= CHAIN_SLOW_REPORTS && c->move_wanted == NODE_NONE) {
        b->strikes = 0;
        c->move_wanted = from;
    }
}

void chain_propose_move(struct chain_engine *c)
{
    node_id id = c->move_wanted;
    if (id == NODE_NONE || c->pending_change || !chain_may_propose(c))
        return;
    c->move_wanted = NODE_NONE;
    int at = chain_member_index(c, id);
    /* Already the tail (the member just before the leader on the ring): nothing to do. */
    if (at < 0 || id == c->self || c->members[((size_t)at + 1) % c->n] == c->self)
        return;
    struct chain_change change = {.op = CHAIN_OP_MOVE, .node = id, .anchor = c->self};
    buf_clear(&c->batch);
    chain_change_put(&c->batch, &change);
    chain_propose(c, CHAIN_VALUE_MEMBERSHIP, &c->batch);
}
