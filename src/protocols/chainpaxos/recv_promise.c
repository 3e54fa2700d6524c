/* PROMISE and REJECT_PREPARE at a candidate (docs/protocols/chainpaxos.md §5.1). */
#include "common/check.h"
#include "protocols/chainpaxos/internal.h"

/* Keeps, per instance, the value reported with the highest ballot. */
static void chain_promise_merge(struct chain_engine *c, const struct chain_promised *p)
{
    struct chain_entry *e = chain_log_get(&c->recovered, p->instance);
    if (e && ballot_cmp(p->ballot, e->ballot) <= 0)
        return;
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
    int index = chain_member_index(c, from);
    CHECK(index >= 0);
    /* A repeated promise from the same member merges the same entries again: harmless. */
    struct reader r = m->entries;
    for (uint32_t k = 0; k < m->count; k++) {
        struct chain_promised p;
        chain_msg_next_promised(&r, &p);
        chain_promise_merge(c, &p);
    }
    c->promised_by |= (uint64_t)1 << index;
    if ((size_t)__builtin_popcountll(c->promised_by) >= c->quorum)
        chain_become_leader(c);
}

void chain_recv_reject(struct chain_engine *c, node_id from, const struct chain_reject *m)
{
    (void)from;
    if (c->role != CHAIN_CANDIDATE || !ballot_eq(m->refused, c->promised) ||
        ballot_cmp(m->promised, c->promised) <= 0 || m->promised.round >= CHAIN_MAX_ROUND) {
        chain_dropped(c);
        return;
    }
    /* Not adopted: the candidate only learns the round to beat, and runs again with a higher
     * one at its next retransmission (election.c). */
    if (m->promised.round > c->round_to_beat)
        c->round_to_beat = m->promised.round;
}
