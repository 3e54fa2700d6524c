/* Failure detection inside the chain (docs/protocols/chainpaxos-membership.md §3).
 *
 * Each replica watches its next hop. While ACCEPTs it passed on are unacknowledged it resends
 * them every retransmit_ms; a live next hop answers a repeat with ALIVE, so only the replica
 * just before a dead (or cut off) one stays unanswered: the ones further up hear ALIVE from
 * their own next hops. After suspect_ms without ALIVE and without ack progress, the suspect is
 * reported to the leader (or removed by it, if this replica leads). The leader itself is
 * watched by everyone through the election timeout instead. */
#include "protocols/chainpaxos/internal.h"

/* Only while this holds does silence mean something. */
bool chain_awaiting_next_hop(const struct chain_engine *c)
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

static void chain_report(struct chain_engine *c, node_id suspect)
{
    if (c->role == CHAIN_LEADER)
        chain_want_removal(c, suspect);
    else
        chain_send_remove_request(c, c->leader, suspect);
}

/* Nobody watches a skipped suspect, so a lost report would leave it skipped for good, and the
 * ack (which needs every member) stuck: the report is repeated every suspect_ms until the
 * suspect's removal is in the log, or it proves alive (simulator, durable profile, seed 760918
 * with --nodes mix: a re-added replica crashed before its state arrived). */
static void chain_report_skipped(struct chain_engine *c)
{
    node_id suspect = chain_member_after(c, c->self_index);
    if (c->skip_depth == 0 || c->now_ms - c->skip_reported_ms < c->suspect_ms ||
        chain_pending_removal(c) == suspect)
        return;
    c->skip_reported_ms = c->now_ms;
    chain_report(c, suspect);
}

/* A joiner writes the state it got to disk before it sends anything more (the checkpoint holds
 * what it emits after it, core §5.9): under the 5M-key load 123-152 MB took 478-725 ms, and its
 * predecessor had it removed for that silence right after its state arrived. It is allowed the
 * write at half the speed measured, on top of suspect_ms. */
#define CHAIN_JOINER_WRITE_BYTES_PER_MS 100000

static bool chain_successor_writes_state(const struct chain_engine *c, node_id next)
{
    return next == c->state_for &&
           c->now_ms - c->state_done_ms <
               c->suspect_ms + c->state_done_bytes / CHAIN_JOINER_WRITE_BYTES_PER_MS;
}

void chain_monitor_tick(struct chain_engine *c)
{
    if (c->leader == NODE_NONE || c->role == CHAIN_CANDIDATE)
        return;
    chain_report_skipped(c);
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
    if (c->now_ms - c->successor_heard_ms < c->suspect_ms || chain_successor_writes_state(c, next))
        return;
    c->successor_heard_ms = c->now_ms; /* report again only after another suspect_ms */
    c->skip_reported_ms = c->now_ms;
    chain_report(c, next);
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

void chain_skip_bypassed(struct chain_engine *c)
{
    /* The pending removal is bypassed (membership §4), and skip_depth counts the suspects
     * after this replica with it left aside. One this replica skipped already no longer
     * counts: still counted, the member after it was skipped as well, and in a chain of four
     * the REMOVE reached too few members to be decided until an election. */
    node_id removed = chain_pending_removal(c);
    for (size_t k = 1; k <= c->skip_depth && k < c->n; k++) {
        node_id m = c->members[(c->self_index + k) % c->n];
        if (m == c->leader)
            return;
        if (m == removed) {
            c->skip_depth--;
            return;
        }
    }
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
