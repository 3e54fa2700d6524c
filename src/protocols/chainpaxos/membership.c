/* Configurations, the chain they define, and membership changes
 * (docs/protocols/chainpaxos-membership.md §1-§4, §6).
 *
 * `members` is the configuration after every executed change. Thanks to the stop rule it is
 * conf(i) for every instance this replica has not executed: a change decided at m is executed
 * by a replica before it accepts anything after m (the first ACCEPT after m carries
 * decided >= m).
 * At most one change is therefore accepted and not executed (`pending_change`), and it is the
 * replica's highest accepted instance. */
#include "common/check.h"
#include "protocols/chainpaxos/internal.h"

#include <string.h>

int chain_member_index(const struct chain_engine *c, node_id id)
{
    return chain_list_index(c->members, c->n, id);
}

int chain_list_index(const node_id *list, size_t n, node_id id)
{
    if (id == NODE_NONE)
        return -1;
    for (size_t k = 0; k < n; k++)
        if (list[k] == id)
            return (int)k;
    return -1;
}

size_t chain_list_remove(node_id *list, size_t n, size_t at)
{
    memmove(list + at, list + at + 1, (n - at - 1) * sizeof *list);
    return n - 1;
}

size_t chain_change_apply(const node_id *from, size_t n, const struct chain_change *change,
                          node_id *to)
{
    int at = chain_list_index(from, n, change->node);
    memcpy(to, from, n * sizeof *to);
    if (change->op == CHAIN_OP_REMOVE) {
        /* Removing a non-member, or the last member, changes nothing (ref §12 C8, C12). */
        if (at < 0 || n == 1)
            return n;
        return chain_list_remove(to, n, (size_t)at);
    }
    if (change->op == CHAIN_OP_MOVE) {
        /* The same members in another order: out of its place, back in before the anchor. */
        if (at < 0 || chain_list_index(from, n, change->anchor) < 0)
            return n;
        n = chain_list_remove(to, n, (size_t)at);
        size_t pos = (size_t)chain_list_index(to, n, change->anchor);
        memmove(to + pos + 1, to + pos, (n - pos) * sizeof *to);
        to[pos] = change->node;
        return n + 1;
    }
    if (at >= 0 || n == CATENA_MAX_NODES)
        return n; /* already a member, or no room: nothing changes */
    int anchor = chain_list_index(from, n, change->anchor);
    size_t pos = anchor >= 0 ? (size_t)anchor : n;
    memmove(to + pos + 1, to + pos, (n - pos) * sizeof *to);
    to[pos] = change->node;
    return n + 1;
}

/* The change held by a log entry; false if the entry is not a (valid) membership value. */
static bool chain_entry_change(const struct chain_entry *e, struct chain_change *change)
{
    return e && e->kind == CHAIN_VALUE_MEMBERSHIP &&
           chain_change_decode(e->body.data, e->body.len, change);
}

bool chain_pending_change(const struct chain_engine *c, struct chain_change *change)
{
    return c->pending_change &&
           chain_entry_change(chain_log_get(&c->log, c->pending_change), change);
}

node_id chain_pending_removal(const struct chain_engine *c)
{
    struct chain_change change;
    if (!chain_pending_change(c, &change) || change.op != CHAIN_OP_REMOVE)
        return NODE_NONE;
    return change.node;
}

void chain_config_set(struct chain_engine *c, const node_id *members, size_t n)
{
    CHECK(n >= 1 && n <= CATENA_MAX_NODES);
    memmove(c->members, members, n * sizeof *members);
    c->n = n;
    c->quorum = n / 2 + 1;
    c->skip_depth = 0;
    int self = chain_member_index(c, c->self);
    c->removed = self < 0;
    c->self_index = self >= 0 ? (size_t)self : 0;
    int leader = chain_member_index(c, c->leader);
    c->leader_index = leader >= 0 ? (size_t)leader : 0;
}

/* The member the chain goes around: the target of a pending REMOVE accepted in the current
 * ballot (one left over from an older ballot may not be chosen: the current leader's chain
 * still includes its target), as long as the members left make a quorum. Never the leader:
 * the tail acknowledges to it. */
static node_id chain_bypassed(const struct chain_engine *c)
{
    node_id skip = chain_pending_removal(c);
    if (skip == NODE_NONE || skip == c->leader || skip == c->self || c->n - 1 < c->quorum)
        return NODE_NONE;
    const struct chain_entry *e = chain_log_get(&c->log, c->pending_change);
    return ballot_eq(e->ballot, c->promised) ? skip : NODE_NONE;
}

node_id chain_next_hop(const struct chain_engine *c)
{
    CHECK(!c->removed);
    node_id bypassed = chain_bypassed(c);
    size_t skip = c->skip_depth;
    node_id first = NODE_NONE;
    for (size_t k = 1; k < c->n; k++) {
        node_id next = c->members[(c->self_index + k) % c->n];
        if (next == bypassed)
            continue;
        if (first == NODE_NONE)
            first = next;
        if (next == c->leader || skip == 0)
            return next; /* never past the leader: the chain ends there */
        skip--;
    }
    /* Skipping more than there is to skip (the bypass took one): nothing is skipped. */
    return first != NODE_NONE ? first : chain_member_after(c, c->self_index);
}

/* Replicas from the leader to this one, inclusive, on the chain (the bypassed one left out):
 * the counter an instance has here when no replica before skipped a suspect. */
static size_t chain_position(const struct chain_engine *c)
{
    node_id bypassed = chain_bypassed(c);
    size_t count = 1;
    for (size_t k = c->leader_index; c->members[k] != c->self; k = (k + 1) % c->n)
        count += c->members[k] != bypassed;
    return count;
}

bool chain_counter_complete(const struct chain_engine *c, size_t counter)
{
    return counter >= chain_position(c);
}

bool chain_may_acknowledge(const struct chain_engine *c, instance_no i)
{
    /* A replica that skips a suspect, or the tail of a chain where one was skipped (the
     * instance's counter is short), cannot speak for the suspect, which does not hold it: no
     * acknowledgement (the leader still learns decisions through QUORUM_ACK). */
    const struct chain_entry *e = chain_log_get(&c->log, i);
    if (c->skip_depth > 0 || (e && !chain_counter_complete(c, e->counter)))
        return false;
    /* The leader's vote is in the ack too: not before its record is durable. */
    if (e && !chain_vote_durable(c, i, e))
        return false;
    /* A replica that is the tail only because the chain goes around its successor speaks for
     * the chain only about the REMOVE and what follows: an ack of the REMOVE's instance means
     * it was chosen, so the suspect really leaves; an ack of an earlier instance, without the
     * suspect, would be a lie should the REMOVE not be chosen (a new leader may drop it), and
     * would let every replica collect instances the suspect never got. */
    if (chain_member_after(c, c->self_index) == c->leader)
        return true;
    return i >= c->pending_change;
}

bool chain_is_tail(const struct chain_engine *c)
{
    CHECK(c->leader != NODE_NONE);
    return chain_next_hop(c) == c->leader;
}

bool chain_in_latest_config(const struct chain_engine *c, node_id id)
{
    struct chain_change change;
    if (chain_pending_change(c, &change) && change.node == id && change.op != CHAIN_OP_MOVE)
        return change.op == CHAIN_OP_ADD;
    return chain_member_index(c, id) >= 0;
}

void chain_voters(struct chain_engine *c)
{
    /* Phase 1 has nothing to learn about the instances this replica executed: they are
     * decided, and it holds their chosen values (from ack + 1 on, in its log; recv_promise.c).
     * It needs a majority of every configuration the instances after highest_executed can be
     * in: `members` (the stop rule makes it conf(i) for the first instances not executed),
     * then the configuration each membership value the merged promises hold makes, in
     * instance order. A change chosen in a configuration is reported by its majority, which
     * then shows the next configuration whose majority is needed, and so on: a member that
     * missed several changes (the stop rule waits for a change's decision, not for the whole
     * chain) cannot win with a majority of an old configuration alone. */
    memcpy(c->voters[0], c->members, c->n * sizeof *c->members);
    c->voter_count[0] = c->n;
    c->voter_sets = 1;
    c->voters_overflow = false;
    for (instance_no i = c->highest_executed + 1; i <= c->recovered_max; i++) {
        struct chain_change change;
        if (!chain_entry_change(chain_log_get(&c->recovered, i), &change))
            continue;
        if (c->voter_sets == CHAIN_MAX_VOTER_SETS) {
            c->voters_overflow = true; /* never satisfied: another candidate will do */
            return;
        }
        size_t s = c->voter_sets++;
        c->voter_count[s] =
            chain_change_apply(c->voters[s - 1], c->voter_count[s - 1], &change, c->voters[s]);
    }
}

bool chain_voters_satisfied(const struct chain_engine *c)
{
    if (c->voters_overflow)
        return false;
    for (size_t s = 0; s < c->voter_sets; s++) {
        size_t votes = 0;
        for (size_t k = 0; k < c->promiser_count; k++)
            votes += chain_list_index(c->voters[s], c->voter_count[s], c->promisers[k]) >= 0;
        if (votes < c->voter_count[s] / 2 + 1)
            return false;
    }
    return true;
}

void chain_execute_change(struct chain_engine *c, instance_no i, const struct chain_entry *e)
{
    struct chain_change change;
    CHECK(chain_entry_change(e, &change)); /* validated when it was accepted */
    if (c->pending_change == i)
        c->pending_change = 0;
    node_id next[CATENA_MAX_NODES];
    size_t n = chain_change_apply(c->members, c->n, &change, next);
    memcpy(c->prev_members, c->members, c->n * sizeof *c->members);
    c->prev_n = c->n;
    c->config_instance = i;
    chain_config_set(c, next, n);
    chain_retired_update(c, &change);
    /* A suspicion was of the chain before this change: monitoring reports a real suspect of
     * the new one again within suspect_ms. Proposed late (the stop rule held it), a stale one
     * removed a live member while the other one had restarted without its state, and the
     * configuration left could never decide again (simulator, crashes profile, seed 914937). */
    c->remove_wanted = NODE_NONE;
    chain_operator_executed(c, &change);
    size_t start = outbox_begin(c->out);
    buf_put_u8(&c->out->arena, change.op == CHAIN_OP_REMOVE ? MEMBERSHIP_REMOVED
                               : change.op == CHAIN_OP_ADD  ? MEMBERSHIP_ADDED
                                                            : MEMBERSHIP_MOVED);
    buf_append(&c->out->arena, change.address, change.address_len);
    outbox_end(c->out, EFFECT_MEMBERSHIP, change.node, i, start);
    if (c->removed) {
        /* Its removal may be decided here only (the quorum point), and it passes nothing on
         * from now: the leader learns it from this replica or never. */
        if (c->role == CHAIN_FOLLOWER && c->leader != NODE_NONE && c->leader != c->self &&
            !c->restoring) {
            struct chain_quorum_ack q = {.ballot = c->promised, .instance = i};
            chain_send_quorum_ack(c, c->leader, &q);
        }
        chain_leave(c); /* falsely suspected, or out of reach, or an operator's decision */
        c->joining = !(change.flags & CHAIN_CHANGE_OPERATOR);
        chain_persist_left(c);
        return;
    }
    if (change.node <= CATENA_MAX_NODES && change.op != CHAIN_OP_MOVE) {
        c->added_at[change.node] = change.op == CHAIN_OP_ADD ? i : 0;
        c->added_ms[change.node] = change.op == CHAIN_OP_ADD ? c->now_ms : 0;
    }
    if (change.op == CHAIN_OP_ADD && change.node != c->self && !c->restoring &&
        chain_next_hop(c) == change.node)
        chain_ask_state(c, change.node); /* this replica precedes the new member */
    if (change.op == CHAIN_OP_MOVE && c->role == CHAIN_LEADER)
        chain_resend_outstanding(c); /* the next hop may have changed */
    if (chain_member_index(c, c->leader) < 0) {
        /* The leader was removed: nobody leads until the next election. */
        c->leader = NODE_NONE;
        c->leader_heard_ms = c->now_ms;
        outbox_push(c->out, EFFECT_LEADER, NODE_NONE, 0, NULL, 0);
    }
}

void chain_leave(struct chain_engine *c)
{
    c->removed = true;
    c->role = CHAIN_FOLLOWER;
    c->remove_wanted = NODE_NONE;
    c->change_wanted = false;
    /* An operator's change it took: whether it executed is unknown here, and asking again
     * after the replica rejoins could undo a later change (the operator gets TRYAGAIN). */
    c->op_waiting = false;
    c->recover_next = 1;
    c->recover_last = 0;
    if (c->leader != NODE_NONE) {
        c->leader = NODE_NONE;
        outbox_push(c->out, EFFECT_LEADER, NODE_NONE, 0, NULL, 0);
    }
    /* Its commands in flight may still be decided elsewhere, but never executed here: their
     * clients learn that the outcome is unknown instead of waiting for ever. */
    for (size_t k = 0; k < chain_fifo_size(&c->inflight); k++) {
        const struct chain_inflight *f = chain_fifo_at(&c->inflight, k);
        if (!f->executed)
            outbox_push(c->out, EFFECT_ABANDON, NODE_NONE, 0, chain_fifo_record(&c->inflight, f),
                        f->record.len);
    }
    chain_fifo_pop(&c->inflight, chain_fifo_size(&c->inflight));
    buf_clear(&c->pending);
    buf_put_u32(&c->pending, 0); /* count placeholder, see propose.c */
    c->pending_count = 0;
    /* No ack will reach this replica again: its waiting reads cannot be served here. */
    for (size_t k = 0; k < chain_fifo_size(&c->reads); k++) {
        const struct chain_read *r = chain_fifo_at(&c->reads, k);
        outbox_push(c->out, EFFECT_REJECT, NODE_NONE, 0, chain_fifo_record(&c->reads, r),
                    r->record.len);
    }
    chain_fifo_pop(&c->reads, chain_fifo_size(&c->reads));
    c->reads_stamped = 0;
}

void chain_recv_not_member(struct chain_engine *c, const struct chain_not_member *m)
{
    /* Only a configuration newer than this replica's own can have removed it (an older one
     * may simply not have added it yet). */
    if (m->config_instance <= c->config_instance) {
        chain_dropped(c);
        return;
    }
    chain_leave(c);
    c->joining = !m->retired;
    chain_persist_left(c);
}
