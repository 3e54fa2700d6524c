/* PROMISE at a candidate, REJECT_PREPARE at a candidate or a deposed leader (docs/protocols/chainpaxos.md §5.1). */
#include "common/check.h"
#include "protocols/chainpaxos/internal.h"

/* Keeps, per instance, the value reported with the highest ballot; for an instance this
 * replica executed, its own value, which is the chosen one. (Phase 1 needs no majority of the
 * configurations of executed instances, see chain_voters: the promises need not include one
 * that reports the chosen ballot, and a higher ballot reported may belong to a value that was
 * not chosen.) */
static void chain_promise_merge(struct chain_engine *c, node_id from,
                                const struct chain_promised *p)
{
    struct chain_entry *e = chain_log_get(&c->recovered, p->instance);
    if (p->instance <= c->highest_executed) {
        if (from != c->self)
            return;
    } else if (e && ballot_cmp(p->ballot, e->ballot) <= 0) {
        return;
    }
    e = chain_log_put(&c->recovered, p->instance);
    e->ballot = p->ballot;
    e->kind = p->value.kind;
    buf_clear(&e->body);
    buf_append(&e->body, p->value.body, p->value.len);
    if (p->instance > c->recovered_max)
        c->recovered_max = p->instance;
}

/* A promise's entries are contiguous (checked by the decoder); refuse one that reaches too far
 * beyond the candidate's first instance before allocating anything for it. */
static bool chain_promise_span_ok(const struct chain_engine *c, const struct chain_promise *m)
{
    if (m->count == 0)
        return true;
    struct reader r = m->entries;
    struct chain_promised first;
    chain_msg_next_promised(&r, &first);
    instance_no last = first.instance + (m->count - 1);
    return last - c->candidate_from < CHAIN_MAX_RECOVERY_SPAN;
}

void chain_recv_promise(struct chain_engine *c, node_id from, const struct chain_promise *m)
{
    if (c->role != CHAIN_CANDIDATE || !ballot_eq(m->ballot, c->promised) ||
        m->from != c->candidate_from || !chain_promise_span_ok(c, m)) {
        chain_dropped(c);
        return;
    }
    bool voter = false;
    for (size_t s = 0; s < c->voter_sets; s++)
        voter |= chain_list_index(c->voters[s], c->voter_count[s], from) >= 0;
    if (!voter) {
        chain_dropped(c);
        return;
    }
    /* A repeated promise from the same member merges the same entries again: harmless. */
    struct reader r = m->entries;
    for (uint32_t k = 0; k < m->count; k++) {
        struct chain_promised p;
        chain_msg_next_promised(&r, &p);
        chain_promise_merge(c, from, &p);
    }
    chain_voters(c);
    if (chain_list_index(c->promisers, c->promiser_count, from) < 0) {
        CHECK(c->promiser_count < sizeof c->promisers / sizeof c->promisers[0]);
        c->promisers[c->promiser_count++] = from;
    }
    if (chain_voters_satisfied(c))
        chain_become_leader(c);
}

void chain_recv_reject(struct chain_engine *c, node_id from, const struct chain_reject *m)
{
    (void)from;
    /* A ballot of this replica's own that it abandoned when it rejoined (join.c) still binds
     * a member that promised it: that member refuses the current leader's chain. Only the
     * leader can move the cluster past it: pass the news on (it steps down, and the next
     * election runs above that ballot). */
    if (m->promised.node == c->self && ballot_eq(m->refused, c->promised) &&
        ballot_cmp(m->promised, c->promised) > 0 && m->promised.round < CHAIN_MAX_ROUND &&
        c->role == CHAIN_FOLLOWER && c->leader != NODE_NONE && c->leader != c->self) {
        chain_raise_own_round(c, m->promised.round);
        chain_send_reject(c, c->leader, m);
        return;
    }
    /* Only news about this replica's own ballot counts: a higher ballot than the one it runs
     * or leads with (a candidate's PREPARE was refused, or a deposed leader's ACCEPT). The
     * replica follows it: a candidate yields instead of duelling, a deposed leader steps down
     * and its origin replicas resubmit what it had not decided. */
    if (!ballot_eq(m->refused, c->promised) || ballot_cmp(m->promised, c->promised) <= 0 ||
        m->promised.round >= CHAIN_MAX_ROUND || chain_member_index(c, m->promised.node) < 0 ||
        m->promised.node == c->self) {
        chain_dropped(c);
        return;
    }
    /* A ballot of a member whose removal this replica accepted: it would follow a leader it
     * refuses to promise (recv_prepare.c), and the removal would never be decided while that
     * member's candidacies keep deposing every leader (simulator, operator profile, seed
     * 951764). It keeps going, past that member (membership §4), and runs above it next. */
    if (!chain_in_latest_config(c, m->promised.node)) {
        chain_raise_own_round(c, m->promised.round);
        chain_dropped(c);
        return;
    }
    chain_adopt_ballot(c, m->promised);
}
