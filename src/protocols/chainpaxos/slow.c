/* A member that slows the chain down goes to the tail (docs/protocols/chainpaxos-membership.md
 * §7).
 *
 * A slow replica in the first part of the chain holds back every decision: the instances reach
 * the quorum point only through it. The leader moves it to the tail through a decided MOVE
 * (the members and quorums stay the same): decisions then run at the speed of the replicas
 * before it. Two measures find it, each reported by every follower in PROGRESS every
 * retransmit_ms:
 * - backlog: the first replica of the chain that lags by CHAIN_SLOW_BACKLOG instances or more,
 *   report after report (open-loop load builds such a backlog);
 * - time: the first hop of the chain whose round trip (probe.c) is long, evaluation after
 *   evaluation. Under closed-loop load nothing piles up (the clients wait, so the leader
 *   proposes only as fast as the slow replica lets decisions through), but every hop into the
 *   slow replica takes long. */
#include "protocols/chainpaxos/internal.h"

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

/* ---- backlog ---------------------------------------------------------------------------- */

/* True if the replica at ring distance `d` from the leader reported recently and lags. */
static bool chain_lags(struct chain_engine *c, size_t d)
{
    const struct chain_backlog *b =
        chain_backlog_find(c, c->members[(c->leader_index + d) % c->n]);
    return b && c->now_ms - b->at_ms <= 2 * c->retransmit_ms && b->lag >= CHAIN_SLOW_BACKLOG;
}

static void chain_note_backlog(struct chain_engine *c, struct chain_backlog *b, size_t at,
                               instance_no accepted)
{
    if (accepted > b->accepted)
        chain_successor_working(c, b->node);
    b->accepted = accepted;
    b->lag = c->highest_accepted - accepted;
    b->at_ms = c->now_ms;
    size_t d = (at + c->n - c->leader_index) % c->n;
    /* The first replica of the chain that lags is the slow one: the replicas after it lag
     * because they get everything through it. The tail holds nobody back. */
    bool first = b->lag >= CHAIN_SLOW_BACKLOG && d + 1 < c->n;
    for (size_t k = 1; first && k < d; k++)
        first = !chain_lags(c, k);
    b->strikes = first ? (uint8_t)(b->strikes + 1) : 0;
    if (b->strikes >= CHAIN_SLOW_REPORTS && c->move_wanted == NODE_NONE) {
        b->strikes = 0;
        c->move_wanted = b->node;
    }
}

/* ---- time ------------------------------------------------------------------------------- */

static void chain_note_hop(struct chain_engine *c, struct chain_backlog *b, node_id next,
                           uint32_t rtt_ms, uint32_t samples)
{
    b->hop_next = next;
    b->hop_rtt_ms = rtt_ms;
    if (samples > 0)
        b->hop_at_ms = c->now_ms;
}

/* The record of the hop `from` measured to `to` lately (suspect_ms), or NULL. */
static const struct chain_backlog *chain_hop(struct chain_engine *c, node_id from, node_id to)
{
    const struct chain_backlog *b = chain_backlog_find(c, from);
    if (!b || b->hop_next != to || b->hop_at_ms == 0 || c->now_ms - b->hop_at_ms > c->suspect_ms)
        return NULL;
    return b;
}

/* The member whose incoming hop is long (CHAIN_SLOW_HOP_MS), the first along the chain, if it
 * is not the tail. */
static node_id chain_slow_by_time(struct chain_engine *c)
{
    node_id tail = c->members[(c->leader_index + c->n - 1) % c->n];
    const struct chain_backlog *into_leader = chain_hop(c, tail, c->self);
    /* The hops after a slow member are often long too (it reads the answers late, and sends
     * late): the first long hop names it. */
    for (size_t d = 0; d + 2 < c->n; d++) {
        node_id from = c->members[(c->leader_index + d) % c->n];
        node_id to = c->members[(c->leader_index + d + 1) % c->n];
        const struct chain_backlog *h = chain_hop(c, from, to);
        if (!h || h->hop_rtt_ms < CHAIN_SLOW_HOP_MS)
            continue;
        /* A slow leader makes its own hops long, and the hop into it, measured by the tail,
         * too; so do replicas that are all slow alike (slow disks, all far apart): unless the
         * hop into the leader is much shorter, moving the next hop would only make room for
         * the next one. A far member among near ones is moved: the near ones decide faster. */
        if (into_leader && (uint64_t)into_leader->hop_rtt_ms * CHAIN_SLOW_HOP_FACTOR >=
                               h->hop_rtt_ms)
            return NODE_NONE;
        return to;
    }
    return NODE_NONE;
}

/* Leader, every retransmit_ms: its own measure, then the verdict. */
static void chain_evaluate_hops(struct chain_engine *c)
{
    struct chain_backlog *own = chain_backlog_of(c, c->self);
    if (own) {
        chain_note_hop(c, own, c->probe_hop, chain_probe_rtt_ms(c), c->probe_samples);
        c->probe_samples = 0;
    }
    node_id slow = chain_slow_by_time(c);
    if (slow == NODE_NONE || slow != c->slow_hop_target) {
        c->slow_hop_target = slow;
        c->slow_hop_strikes = slow != NODE_NONE;
    } else if (c->slow_hop_strikes < UINT8_MAX) {
        c->slow_hop_strikes++;
    }
    if (c->slow_hop_strikes >= CHAIN_SLOW_REPORTS && c->move_wanted == NODE_NONE) {
        c->slow_hop_strikes = 0;
        c->move_wanted = slow;
    }
}

/* ---- reports ---------------------------------------------------------------------------- */

void chain_progress_tick(struct chain_engine *c)
{
    if (c->leader == NODE_NONE || c->role == CHAIN_CANDIDATE || c->now_ms < c->progress_next_ms)
        return;
    c->progress_next_ms = c->now_ms + c->retransmit_ms;
    if (c->role == CHAIN_LEADER) {
        chain_evaluate_hops(c);
        return;
    }
    struct chain_progress p = {.ballot = c->promised,
                               .accepted = c->highest_accepted,
                               .next = c->probe_hop,
                               .hop_rtt_ms = chain_probe_rtt_ms(c),
                               .hop_samples = c->probe_samples};
    c->probe_samples = 0;
    chain_send_progress(c, c->leader, &p);
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
    chain_note_backlog(c, b, (size_t)at, m->accepted);
    chain_note_hop(c, b, m->next, m->hop_rtt_ms, m->hop_samples);
}

void chain_propose_move(struct chain_engine *c)
{
    node_id id = c->move_wanted;
    if (id == NODE_NONE || c->pending_change || !chain_may_propose(c))
        return;
    c->move_wanted = NODE_NONE;
    /* A move would change the configuration the joiner's snapshot must describe (or its
     * predecessor), and the transfer would start over (membership §6.3): under load, where
     * serializing the state takes seconds and makes replicas look slow, it never finished. The
     * member is reported again if it is still slow afterwards. */
    if (chain_joiner_waits(c))
        return;
    int at = chain_member_index(c, id);
    /* Already the tail (the member just before the leader on the ring): nothing to do. */
    if (at < 0 || id == c->self || chain_member_after(c, (size_t)at) == c->self)
        return;
    struct chain_change change = {.op = CHAIN_OP_MOVE, .node = id, .anchor = c->self};
    buf_clear(&c->batch);
    chain_change_put(&c->batch, &change);
    chain_propose(c, CHAIN_VALUE_MEMBERSHIP, &c->batch);
}
