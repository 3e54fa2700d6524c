/* Joining, rejoining and operators' membership changes (docs/protocols/chainpaxos-membership.md
 * §6).
 *
 * A replica outside the configuration (new, restarted without its state, or removed by
 * failure detection) sends JOIN, an ADD of itself, to the members it knows. The leader
 * proposes it once the stop rule allows: ADD at the tail (just before the leader on the ring),
 * or, if the replica is still a member, first a REMOVE of its old self (whatever it promised
 * and accepted is gone with its state). When a replica executes an ADD that makes the joiner
 * its next hop, it asks its state machine for a snapshot (EFFECT_SNAPSHOT), sends it with its
 * configuration in a STATE message, then forwards everything it accepted after it. The joiner
 * installs the state and is an ordinary member from then on. Nothing is decided without it
 * meanwhile only in the sense that the ack waits for the new tail: decisions need a quorum
 * of the first replicas of the chain, as always. */
#include "common/check.h"
#include "protocols/chainpaxos/internal.h"

#include <string.h>

bool chain_is_retired(const struct chain_engine *c, node_id id)
{
    return chain_list_index(c->retired, c->retired_count, id) >= 0;
}

instance_no chain_added_at(const struct chain_engine *c, node_id id)
{
    return id <= CATENA_MAX_NODES ? c->added_at[id] : 0;
}

/* `id` was brought in by an ADD that the chain's ack has not passed. */
static bool chain_awaits_state(const struct chain_engine *c, node_id id)
{
    instance_no added = chain_added_at(c, id);
    return added && c->ack <= added;
}

void chain_note_joined(struct chain_engine *c, instance_no from, instance_no to)
{
    for (size_t k = 0; k < c->n; k++) {
        node_id id = c->members[k];
        instance_no added = chain_added_at(c, id);
        if (added && from <= added && added < to)
            c->added_ms[id] = c->now_ms; /* its last JOINs may still be on their way */
    }
}

bool chain_joiner_waits(const struct chain_engine *c)
{
    for (size_t k = 0; k < c->n; k++)
        if (chain_awaits_state(c, c->members[k]))
            return true;
    return false;
}

/* After a state transfer: the state does not say which ADDs the ack has not passed, but the
 * last change is known. A member not among the previous ones was added by it, and if it is
 * this replica's next hop, only this replica can send it its state (chain_serve_state): the
 * simulator found a joiner whose predecessor had got its own state after the ADD, and refused
 * it for good (crashes profile, seed 740846 with --nodes mix). */
static void chain_note_last_add(struct chain_engine *c)
{
    if (c->ack > c->config_instance)
        return;
    for (size_t k = 0; k < c->n; k++) {
        node_id id = c->members[k];
        if (id <= CATENA_MAX_NODES && chain_list_index(c->prev_members, c->prev_n, id) < 0) {
            c->added_at[id] = c->config_instance;
            c->added_ms[id] = c->now_ms;
        }
    }
}

/* How long a JOIN from a member whose ADD the ack has not passed is taken for one sent before
 * its state arrived: beyond, its state is taken as lost on the way, and the member for one that
 * restarted, so that it is removed and added again rather than wait for ever. */
#define CHAIN_JOINER_PATIENCE_TIMEOUTS 20

/* A JOIN from `id` means it restarted without its state, if it is a member that has its
 * state. A replica just added keeps sending JOINs until its state arrives, which under load
 * took seconds (a forked child serializing 100+ MB), and those JOINs may still be on their way
 * for a while after the ack passed its ADD (added_ms is then when it did). */
static bool chain_join_means_restart(const struct chain_engine *c, node_id id)
{
    if (id == c->self || chain_member_index(c, id) < 0)
        return false;
    if (!chain_added_at(c, id))
        return true;
    uint64_t grace = (chain_awaits_state(c, id) ? CHAIN_JOINER_PATIENCE_TIMEOUTS : 2) *
                     c->leader_timeout_ms;
    return c->now_ms - c->added_ms[id] >= grace;
}

/* The leader let `id` back in (an operator's CATENA.ADD), and that has not expired. */
static bool chain_is_invited(const struct chain_engine *c, node_id id)
{
    return c->role == CHAIN_LEADER && id <= CATENA_MAX_NODES && c->now_ms < c->invited_until_ms[id];
}

/* An operator removed `id` and no operator has let it back in yet: its JOINs are refused. */
static bool chain_kept_out(const struct chain_engine *c, node_id id)
{
    return chain_is_retired(c, id) && !chain_is_invited(c, id);
}

void chain_retired_update(struct chain_engine *c, const struct chain_change *change)
{
    int at = chain_list_index(c->retired, c->retired_count, change->node);
    if (at >= 0)
        c->retired_count = chain_list_remove(c->retired, c->retired_count, (size_t)at);
    if (change->op != CHAIN_OP_REMOVE || !(change->flags & CHAIN_CHANGE_OPERATOR))
        return;
    if (c->retired_count == CATENA_MAX_NODES)
        c->retired_count = chain_list_remove(c->retired, c->retired_count, 0); /* the oldest */
    c->retired[c->retired_count++] = change->node;
}

/* ---- asking for a change ------------------------------------------------------------------- */

static void chain_want_change(struct chain_engine *c, const struct chain_change *change)
{
    if ((change->flags & CHAIN_CHANGE_OPERATOR) && change->op == CHAIN_OP_ADD &&
        chain_member_index(c, change->node) < 0) {
        /* An operator's ADD adds nobody: the replica itself joins. A process that comes back
         * with the state of an older membership (it was down while it was removed and added)
         * must never pass for the member an ADD brought in; its JOIN proves it discarded that
         * state. The ADD only lets it in for a while: its JOINs (chain_join_tick) are taken
         * then. */
        if (change->node <= CATENA_MAX_NODES)
            c->invited_until_ms[change->node] = c->now_ms + CHAIN_OPERATOR_PATIENCE_MS;
        return;
    }
    c->wanted = *change;
    memcpy(c->wanted_address, change->address, change->address_len);
    c->wanted.address = c->wanted_address;
    c->change_wanted = true;
}

void chain_join_tick(struct chain_engine *c)
{
    if (!c->removed || c->self_address_len == 0 || c->now_ms < c->join_next_ms)
        return;
    /* Removed by an operator, it asks less often: only once an operator lets it back in
     * (chain_is_invited) does the leader take its JOIN. */
    c->join_next_ms = c->now_ms + c->leader_timeout_ms / (c->joining ? 2 : 1);
    struct chain_change join = {.op = CHAIN_OP_ADD, .node = c->self,
                                .address = c->self_address, .address_len = c->self_address_len};
    /* The leader may be any of them, and this replica may not know which. */
    for (size_t k = 0; k < c->n; k++)
        if (c->members[k] != c->self)
            chain_send_change_request(c, c->members[k], &join);
}

static bool chain_serve_state(struct chain_engine *c, node_id from,
                              const struct chain_state_request *m);

void chain_recv_change_request(struct chain_engine *c, node_id from,
                               const struct chain_change *change)
{
    /* A JOIN comes from the replica it adds, or from a member that passed it on; an
     * operator's request from the member that took it. A REMOVE that is not an operator's
     * goes through monitoring (REMOVE_REQUEST). */
    bool operator = change->flags & CHAIN_CHANGE_OPERATOR;
    bool add = !operator && change->op == CHAIN_OP_ADD;
    bool join = add && change->node == from;
    bool member = chain_member_index(c, from) >= 0;
    /* A JOIN from a replica already added is one still waiting for its state (it gets no
     * ACCEPT to ask for it with while nobody leads): its predecessor sends it. */
    if (join && member && chain_serve_state(c, from, &(struct chain_state_request){0, 0}))
        return;
    /* Its old self is gone, as surely as if its link had broken: the chain goes around it
     * and elections start soon if it led, instead of after the timeouts of silence. Its
     * stateless answers to ACCEPTs must not pass for a live member (simulator, crashes
     * profile, seed 909093: two members restarted in a row held every leader for seconds). */
    if (join && chain_join_means_restart(c, from))
        chain_peer_down(c, from);
    if (c->role != CHAIN_LEADER) {
        /* The joiner knows the members of the configuration it left, which may not include
         * the leader: pass its JOIN on. */
        if (join && !c->removed && c->leader != NODE_NONE && c->leader != c->self)
            chain_send_change_request(c, c->leader, change);
        else
            chain_dropped(c);
        return;
    }
    /* A JOIN passed on by a member, or an operator's request from the member that took it.
     * A replica an operator removed asks in vain until one lets it back in. */
    if ((!join && !((add || operator) && member)) ||
        (add && chain_kept_out(c, change->node))) {
        chain_dropped(c);
        return;
    }
    chain_want_change(c, change);
}

void chain_operator_change(struct chain_engine *c, const uint8_t *data, size_t len)
{
    struct reader r = reader_make(data, len);
    struct chain_change change = {.flags = CHAIN_CHANGE_OPERATOR};
    change.op = reader_u8(&r);
    change.node = reader_u32(&r);
    change.address_len = reader_left(&r);
    change.address = reader_bytes(&r, change.address_len);
    bool add = change.op == ENGINE_CHANGE_ADD;
    if (r.failed || change.node == NODE_NONE || c->removed ||
        (add ? change.address_len == 0 || change.address_len > CHAIN_MAX_ADDRESS
             : change.op != ENGINE_CHANGE_REMOVE || change.address_len != 0)) {
        chain_dropped(c);
        return;
    }
    change.op = add ? CHAIN_OP_ADD : CHAIN_OP_REMOVE;
    c->op = change;
    memcpy(c->op_address, change.address, change.address_len);
    c->op.address = c->op_address;
    c->op_waiting = true;
    c->op_since_ms = c->now_ms;
    c->op_sent_ms = 0;
    chain_operator_tick(c);
}

void chain_operator_tick(struct chain_engine *c)
{
    if (!c->op_waiting)
        return;
    if (c->removed || c->now_ms - c->op_since_ms >= CHAIN_OPERATOR_PATIENCE_MS) {
        c->op_waiting = false; /* the operator got TRYAGAIN by now */
        return;
    }
    /* Nothing left to do (another change did it, or one this replica skipped with a state
     * transfer): asking again would only undo a later change. */
    if ((chain_member_index(c, c->op.node) >= 0) == (c->op.op == CHAIN_OP_ADD)) {
        c->op_waiting = false;
        return;
    }
    if (c->op_sent_ms && c->now_ms - c->op_sent_ms < c->leader_timeout_ms)
        return;
    /* Kept until it executes (or patience runs out): a leader that steps down before it
     * proposed it forgets what it wanted, and the next leader gets the request from here. */
    if (c->role == CHAIN_LEADER) {
        c->op_sent_ms = c->now_ms;
        chain_want_change(c, &c->op);
    } else if (c->leader != NODE_NONE && c->leader != c->self) {
        c->op_sent_ms = c->now_ms;
        chain_send_change_request(c, c->leader, &c->op);
    }
}

void chain_operator_executed(struct chain_engine *c, const struct chain_change *change)
{
    if (c->op_waiting && change->node == c->op.node && change->op == c->op.op)
        c->op_waiting = false;
}

/* Leader: the wanted change, as it must be proposed now (false: nothing to propose). */
static bool chain_wanted_proposal(struct chain_engine *c, struct chain_change *change)
{
    bool restart = chain_wanted_restart(c);
    *change = c->wanted;
    c->change_wanted = false;
    bool operator = change->flags & CHAIN_CHANGE_OPERATOR;
    bool member = chain_member_index(c, change->node) >= 0;
    if (change->op == CHAIN_OP_REMOVE)
        return member && c->n >= 2 && chain_removal_keeps_quorum(c, change->node);
    if (!member) {
        /* Only a JOIN adds a replica (chain_want_change), and one at a time: two members
         * without their state left a configuration of four without a majority once power
         * failed everywhere (simulator, operator profile, seed 741425 with --nodes mix). */
        if (operator || chain_kept_out(c, change->node) || c->n == CATENA_MAX_NODES ||
            chain_joiner_waits(c))
            return false;
        change->anchor = c->self; /* just before the leader on the ring: the tail */
        return true;
    }
    /* A JOIN from a member: it restarted and lost its state. Its old self leaves first; its
     * next JOIN adds it back. Unless the member was just added: its JOINs from before it got
     * its state may still be on their way (a restarted replica keeps sending them). */
    if (!restart || c->n < 2 || !chain_removal_keeps_quorum(c, change->node))
        return false;
    *change = (struct chain_change){.op = CHAIN_OP_REMOVE, .node = change->node};
    return true;
}

bool chain_wanted_restart(const struct chain_engine *c)
{
    const struct chain_change *w = &c->wanted;
    return c->change_wanted && !(w->flags & CHAIN_CHANGE_OPERATOR) && w->op == CHAIN_OP_ADD &&
           chain_join_means_restart(c, w->node);
}

void chain_propose_wanted_change(struct chain_engine *c)
{
    struct chain_change change;
    if (!c->change_wanted || c->pending_change || !chain_may_propose(c) ||
        !chain_wanted_proposal(c, &change))
        return;
    buf_clear(&c->batch);
    chain_change_put(&c->batch, &change);
    chain_propose(c, CHAIN_VALUE_MEMBERSHIP, &c->batch);
}

/* ---- the joiner's predecessor -------------------------------------------------------------- */

/* STATE_PARTs of a kept transfer in flight at once: the joiner pulls the next as each arrives. */
#define CHAIN_STATE_WINDOW_PARTS 4

static void chain_xfer_drop(struct chain_engine *c)
{
    buf_free(&c->xfer);
    buf_init(&c->xfer);
}

void chain_xfer_check(struct chain_engine *c)
{
    if (c->xfer.len > 0 &&
        (c->removed || chain_next_hop(c) != c->xfer_to || c->ack > c->xfer_instance))
        chain_xfer_drop(c);
}

/* After the state, everything this replica accepted after it, in order. A joiner that is not
 * the tail (a new leader rotated the chain after its ADD) has a successor that may lack the
 * instances the state covers and the chain's ack has not passed. The joiner holds them only
 * as state and cannot resend them: it passes them on as they come (recv_accept.c,
 * CHAIN_HELD), so they go first. The simulator found them left out: the joiner's successor
 * starved while its predecessor, the leader, skipped its resends as decisions advanced, until
 * it deposed the leader (operator profile, seed 741626 with --nodes mix). */
static void chain_send_after_state(struct chain_engine *c, node_id joiner, instance_no instance,
                                   uint64_t bytes)
{
    c->state_done_ms = c->now_ms;
    c->state_done_bytes = bytes;
    int at = chain_member_index(c, joiner);
    if (at >= 0 && chain_member_after(c, (size_t)at) != c->leader)
        chain_send_range(c, c->ack + 1, instance);
    chain_send_from(c, instance + 1);
}

/* Sends the joiner, which holds the first `have` bytes, the parts up to a window beyond them.
 * Parts sent lately may still be on their way: it goes on after them, unless nothing was sent
 * for leader_timeout_ms (a broken link lost them; the joiner's `have` says from where). Once
 * the last part is out, the instances after the state follow, as after a whole STATE. */
static void chain_xfer_send(struct chain_engine *c, uint64_t have)
{
    uint64_t total = c->xfer.len;
    uint64_t window = (uint64_t)CHAIN_STATE_WINDOW_PARTS * c->state_part_bytes;
    uint64_t end = total - have <= window ? total : have + window;
    uint64_t from = have;
    if (have < c->xfer_sent && c->now_ms - c->xfer_sent_ms < c->leader_timeout_ms)
        from = c->xfer_sent;
    if (from >= end)
        return;
    chain_send_state_parts(c, from, end);
    c->xfer_sent = end;
    c->xfer_sent_ms = c->now_ms;
    if (end == total)
        chain_send_after_state(c, c->xfer_to, c->xfer_instance, total);
}

void chain_ask_state(struct chain_engine *c, node_id joiner)
{
    chain_xfer_drop(c); /* the new snapshot replaces it */
    c->state_for = joiner;
    c->state_asked_ms = c->now_ms;
    outbox_push(c->out, EFFECT_SNAPSHOT, joiner, c->highest_executed, NULL, 0);
}

/* Sends `from` its state if this replica precedes it and an executed ADD brought it in: one
 * that restarted without its state while still a member must be removed first (what it
 * promised and accepted is gone), then added; it gets its state then. False if not. */
static bool chain_serve_state(struct chain_engine *c, node_id from,
                              const struct chain_state_request *m)
{
    if (c->removed || c->leader == NODE_NONE || chain_next_hop(c) != from ||
        !chain_awaits_state(c, from))
        return false;
    if (from == c->monitored)
        c->successor_heard_ms = c->now_ms; /* alive, only waiting for its state */
    /* A kept transfer goes on from what the joiner holds (all of it lost: from 0). */
    chain_xfer_check(c);
    if (c->xfer.len > 0 && c->xfer_to == from && m->offset <= c->xfer.len &&
        (m->instance == c->xfer_instance || (m->instance == 0 && m->offset == 0))) {
        chain_xfer_send(c, m->offset);
        return true;
    }
    /* A state transfer may take a while: ask again only if the last one seems lost. */
    if (c->state_for != from || c->now_ms - c->state_asked_ms >= c->leader_timeout_ms)
        chain_ask_state(c, from);
    c->state_served_ms = c->now_ms;
    return true;
}

void chain_recv_state_request(struct chain_engine *c, node_id from,
                              const struct chain_state_request *m)
{
    if (!chain_serve_state(c, from, m))
        chain_dropped(c);
}

void chain_state_describe(const struct chain_engine *c, instance_no instance,
                          const uint8_t *data, size_t len, struct chain_state *m)
{
    *m = (struct chain_state){
        .ballot = c->promised,
        .instance = instance,
        .ack = c->ack < instance ? c->ack : instance,
        .fence = c->fence,
        .config_instance = c->config_instance,
        .n = c->n,
        .prev_n = c->prev_n,
        .retired_count = c->retired_count,
        .state = data,
        .state_len = len,
    };
    m->gc = c->gc < m->ack ? c->gc : m->ack;
    memcpy(m->members, c->members, c->n * sizeof *c->members);
    memcpy(m->prev, c->prev_members, c->prev_n * sizeof *c->prev_members);
    memcpy(m->retired, c->retired, c->retired_count * sizeof *c->retired);
}

void chain_snapshot_ready(struct chain_engine *c, instance_no instance, const uint8_t *data,
                          size_t len)
{
    node_id to = c->state_for;
    if (c->removed || to == NODE_NONE || c->leader == NODE_NONE || chain_next_hop(c) != to ||
        !chain_awaits_state(c, to) || instance > c->highest_executed || len > UINT32_MAX) {
        chain_dropped(c);
        return;
    }
    if (c->config_instance > instance) {
        /* The configuration changed after the snapshot's instance: take a new one, so that
         * state and configuration describe the same point. */
        chain_ask_state(c, to);
        return;
    }
    struct chain_state m;
    chain_state_describe(c, instance, data, len, &m);
    if (chain_send_state(c, to, &m))
        chain_send_after_state(c, to, instance, len);
    else
        chain_xfer_send(c, 0); /* after its last part */
}

/* ---- the joiner ---------------------------------------------------------------------------- */

bool chain_recv_state_part(struct chain_engine *c, node_id from, const struct chain_state_part *m)
{
    /* Parts come in order over a link. One that does not continue the reassembly (an earlier
     * part was lost, or a duplicate) is dropped: the joiner keeps asking with what it holds,
     * and its predecessor goes on from there. A first part always starts the reassembly
     * again: a sender that restarted may serialize the same instance into other bytes, which
     * must not be spliced onto the old ones. */
    if (m->offset == 0) {
        buf_clear(&c->state_in);
        c->state_in_from = from;
        c->state_in_instance = m->instance;
        c->state_in_total = m->total;
    } else if (from != c->state_in_from || m->instance != c->state_in_instance ||
               m->total != c->state_in_total || m->offset != c->state_in.len) {
        chain_dropped(c);
        return true;
    }
    buf_append(&c->state_in, m->bytes, m->len);
    if (c->state_in.len < c->state_in_total) {
        chain_send_state_request(c, from); /* pulls the next part */
        return true;
    }
    struct chain_state state;
    bool ok = chain_msg_decode_state(c->state_in.data, c->state_in.len, &state);
    if (ok)
        chain_recv_state(c, from, &state);
    buf_free(&c->state_in); /* not kept at the size of the state machine */
    buf_init(&c->state_in);
    c->state_in_total = 0;
    return ok;
}

void chain_recv_state(struct chain_engine *c, node_id from, const struct chain_state *m)
{
    (void)from;
    /* Only a configuration newer than its own can have added this replica back. A member
     * gets a STATE when it was removed without learning it (the chain went around it). */
    if (chain_list_index(m->members, m->n, c->self) < 0 ||
        m->config_instance <= c->config_instance || m->ballot.round >= CHAIN_MAX_ROUND ||
        chain_list_index(m->members, m->n, m->ballot.node) < 0) {
        chain_dropped(c);
        return;
    }
    if (!c->removed)
        chain_leave(c); /* what it held as a member (role, reads) ends here */
    memcpy(c->prev_members, m->prev, m->prev_n * sizeof *m->prev);
    c->prev_n = m->prev_n;
    c->config_instance = m->config_instance;
    memcpy(c->retired, m->retired, m->retired_count * sizeof *m->retired);
    c->retired_count = m->retired_count;
    chain_config_set(c, m->members, m->n);
    c->joining = false;
    c->pending_change = 0;
    /* A promise this replica made to another before it left still binds it: it keeps the
     * higher ballot. Its own candidacy it abandoned when it left (nobody else proposes with
     * that ballot, and its log is replaced): it forgets it, or it would refuse the chain. Its
     * next candidacy still runs with a higher round, so no ballot is used twice. */
    if (c->promised.node == c->self && ballot_cmp(c->promised, m->ballot) > 0) {
        chain_raise_own_round(c, c->promised.round);
        c->promised = (struct ballot){0};
    }
    if (m->ballot.node == c->self) {
        /* Its own candidacy, which a member promised and then sent this state with. This
         * replica gave it up when it left, and must not follow itself: with itself as leader it
         * forwarded commands to itself (simulator, pauses profile, seed 801860 with ticks run
         * before what arrived during a pause, an engine CHECK). It knows no leader; the ballot
         * binds as a promise, so its next candidacy runs above it. */
        if (ballot_cmp(m->ballot, c->promised) > 0)
            c->promised = m->ballot;
        if (c->leader != NODE_NONE) {
            c->leader = NODE_NONE;
            outbox_push(c->out, EFFECT_LEADER, NODE_NONE, 0, NULL, 0);
        }
    } else if (ballot_cmp(m->ballot, c->promised) > 0) {
        chain_adopt_ballot(c, m->ballot);
    } else if (ballot_eq(m->ballot, c->promised)) {
        c->leader = m->ballot.node;
        c->leader_index = (size_t)chain_member_index(c, c->leader);
        outbox_push(c->out, EFFECT_LEADER, c->leader, 0, NULL, 0);
    }
    instance_no e = m->instance;
    outbox_push(c->out, EFFECT_INSTALL, NODE_NONE, e, m->state, m->state_len);
    chain_log_reset(&c->log, e + 1);
    c->highest_accepted = c->highest_executed = c->settled = e;
    c->ballot_accepted = 0; /* its log starts after the state */
    c->installed_at = e;
    c->ack = c->read_ack = m->ack;
    c->gc = m->gc;
    c->fence = ballot_eq(m->ballot, c->promised) ? m->fence : CHAIN_FENCE_UNKNOWN;
    c->leader_heard_ms = c->ack_progress_ms = c->successor_heard_ms = c->now_ms;
    c->monitored = NODE_NONE;
    chain_election_delay(c);
    chain_note_last_add(c);
    chain_persist_installed(c, m);
}

void chain_recv_as_outsider(struct chain_engine *c, node_id from, const uint8_t *data,
                            size_t len)
{
    union {
        struct chain_state state;
        struct chain_state_part part;
        struct chain_not_member not_member;
    } m;
    switch (chain_msg_type(data, len)) {
    case CHAIN_MSG_STATE:
        if (!chain_msg_decode_state(data, len, &m.state))
            break;
        chain_recv_state(c, from, &m.state);
        return;
    case CHAIN_MSG_STATE_PART:
        if (!chain_msg_decode_state_part(data, len, &m.part) ||
            !chain_recv_state_part(c, from, &m.part))
            break; /* false: the reassembled state did not decode */
        return;
    case CHAIN_MSG_NOT_MEMBER:
        if (!chain_msg_decode_not_member(data, len, &m.not_member))
            break;
        c->joining = !m.not_member.retired;
        return;
    case CHAIN_MSG_ACCEPT:
    case CHAIN_MSG_PROBE:
        /* This replica was added (it is someone's next hop) and its state has not arrived.
         * A PROBE gets the same answer: while no ACCEPT came its way, the predecessor took
         * its silence for a crash and had it removed. */
        if (c->now_ms >= c->alive_next_ms) {
            c->alive_next_ms = c->now_ms + c->retransmit_ms;
            chain_send_state_request(c, from);
        }
        chain_dropped(c);
        return;
    default: {
        uint8_t type = chain_msg_type(data, len);
        if (type >= CHAIN_MSG_PREPARE && type <= CHAIN_MSG_DURABLE) { /* the highest type */
            chain_dropped(c); /* a known type a non-member has no use for */
            return;
        }
        break;
    }
    }
    chain_malformed(c);
}
