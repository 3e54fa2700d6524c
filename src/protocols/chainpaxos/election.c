/* Phase 1: running for leadership and taking over (docs/protocols/chainpaxos.md §5.1).
 *
 * In this version only the first member runs, at start-up; failover will reuse the same code. */
#include "common/check.h"
#include "protocols/chainpaxos/internal.h"

void chain_election_start(struct chain_engine *c)
{
    uint64_t round = c->promised.round > c->round_to_beat ? c->promised.round : c->round_to_beat;
    CHECK(round < CHAIN_MAX_ROUND); /* every round this replica learned was bounded */
    struct chain_prepare p = {
        .ballot = {.round = round + 1, .node = c->self},
        .from = c->ack + 1, /* everything <= ack is chosen and held by every member */
    };
    c->role = CHAIN_CANDIDATE;
    c->candidate_from = p.from;
    c->promised_by = 0;
    c->recovered_max = 0;
    chain_log_reset(&c->recovered, p.from);
    c->last_prepare_ms = c->now_ms;
    /* Own PREPARE first: the candidate adopts its ballot and promises itself, so its own log
     * is part of the recovery. With Q = 1 this already wins. */
    chain_send_prepare(c, c->self, &p);
    for (size_t k = 0; k < c->n && c->role == CHAIN_CANDIDATE; k++)
        if (c->members[k] != c->self)
            chain_send_prepare(c, c->members[k], &p);
}

/* The same PREPARE again, to the members that have not promised yet (peers may not have been
 * up, or a message was lost). */
static void chain_election_resend(struct chain_engine *c)
{
    struct chain_prepare p = {.ballot = c->promised, .from = c->candidate_from};
    c->last_prepare_ms = c->now_ms;
    for (size_t k = 0; k < c->n; k++)
        if (c->members[k] != c->self && !(c->promised_by & ((uint64_t)1 << k)))
            chain_send_prepare(c, c->members[k], &p);
}

void chain_election_tick(struct chain_engine *c)
{
    if (!c->election_started && c->self_index == 0) {
        c->election_started = true;
        if (c->leader == NODE_NONE)
            chain_election_start(c);
        return;
    }
    if (c->role != CHAIN_CANDIDATE || c->now_ms - c->last_prepare_ms < c->retransmit_ms)
        return;
    if (c->round_to_beat >= c->promised.round)
        chain_election_start(c); /* refused: run again with a round above the one reported */
    else
        chain_election_resend(c);
}

void chain_become_leader(struct chain_engine *c)
{
    CHECK(c->role == CHAIN_CANDIDATE);
    instance_no from = c->candidate_from;
    instance_no last = c->recovered_max >= from ? c->recovered_max : from - 1;
    /* The candidate's own promise reported its whole log from `from` on. */
    CHECK(c->highest_accepted <= last);
    c->role = CHAIN_LEADER;
    c->next_instance = from;
    c->promised_by = 0;
    /* Re-proposals strictly first, in instance order (ref §12 C5): the value with the highest
     * ballot any promise reported, or a NOOP where none did (such a value was never chosen). */
    for (instance_no i = from; i <= last; i++) {
        struct chain_entry *e = chain_log_get(&c->recovered, i);
        if (e && e->kind == CHAIN_VALUE_BATCH)
            chain_propose(c, CHAIN_VALUE_BATCH, &e->body);
        else
            chain_propose(c, CHAIN_VALUE_NOOP, NULL);
    }
    CHECK(c->next_instance == last + 1);
    c->recovered_max = 0;
    chain_log_reset(&c->recovered, 1);
    /* Only then what clients sent while the election ran. */
    chain_flush(c);
}
