/* Phase 1: running for leadership and taking over (docs/protocols/chainpaxos.md §5.1,
 * chainpaxos-membership.md §2, §3).
 *
 * The first member runs at start-up. After that a replica runs when it has not heard of a
 * working leader for leader_timeout_ms plus a delay that grows with its distance from the
 * leader along the ring (the leader's successor, which holds the most of its log, goes first)
 * and a jitter drawn from the engine's seeded rng, so that two candidates rarely collide; a
 * candidate that does not win in time runs again with a higher round, after a new delay. */
#include "common/check.h"
#include "protocols/chainpaxos/internal.h"

void chain_election_delay(struct chain_engine *c)
{
    if (c->removed) {
        c->election_delay_ms = 0;
        return;
    }
    int anchor = chain_member_index(c, c->leader);
    size_t from = anchor >= 0 ? (size_t)anchor : 0;
    size_t distance = (c->self_index + c->n - from) % c->n;
    if (distance == 0)
        distance = c->n; /* the leader itself (or members[0]): last */
    c->election_delay_ms = (distance - 1) * c->retransmit_ms + rng_below(&c->rng, c->retransmit_ms);
}

static bool chain_has_promised(const struct chain_engine *c, node_id id)
{
    return chain_list_index(c->promisers, c->promiser_count, id) >= 0;
}

/* True if `to` is in a voter set before set s (it was sent the PREPARE already). */
static bool chain_voter_before(const struct chain_engine *c, size_t s, node_id to)
{
    for (size_t t = 0; t < s; t++)
        if (chain_list_index(c->voters[t], c->voter_count[t], to) >= 0)
            return true;
    return false;
}

/* PREPARE p to every voter (each once, over all voter sets) that has not promised yet. */
static void chain_send_prepares(struct chain_engine *c, const struct chain_prepare *p)
{
    for (size_t s = 0; s < c->voter_sets && c->role == CHAIN_CANDIDATE; s++)
        for (size_t k = 0; k < c->voter_count[s] && c->role == CHAIN_CANDIDATE; k++) {
            node_id to = c->voters[s][k];
            if (to != c->self && !chain_voter_before(c, s, to) && !chain_has_promised(c, to))
                chain_send_prepare(c, to, p);
        }
}

void chain_election_start(struct chain_engine *c)
{
    /* every round this replica learned was bounded */
    CHECK(c->promised.round < CHAIN_MAX_ROUND && c->own_round < CHAIN_MAX_ROUND);
    uint64_t round = c->promised.round > c->own_round ? c->promised.round : c->own_round;
    struct chain_prepare p = {
        .ballot = {.round = round + 1, .node = c->self},
        .from = c->ack + 1, /* everything <= ack is chosen and held by every member */
    };
    c->role = CHAIN_CANDIDATE;
    c->candidate_from = p.from;
    c->promiser_count = 0;
    c->recovered_max = 0;
    chain_voters(c);
    chain_log_reset(&c->recovered, p.from);
    c->last_prepare_ms = c->now_ms;
    /* Own PREPARE first: the candidate adopts its ballot and promises itself, so its own log
     * is part of the recovery. With Q = 1 this already wins. */
    chain_send_prepare(c, c->self, &p);
    /* Adopting its own ballot restarted the timer: a candidate that has not won after
     * leader_timeout_ms (plus a new delay) runs again. */
    chain_send_prepares(c, &p);
}

/* The same PREPARE again, to the voters that have not promised yet (peers may not have been
 * up, or a message was lost). */
static void chain_election_resend(struct chain_engine *c)
{
    struct chain_prepare p = {.ballot = c->promised, .from = c->candidate_from};
    c->last_prepare_ms = c->now_ms;
    chain_send_prepares(c, &p);
}

void chain_election_tick(struct chain_engine *c)
{
    /* A replica whose removal it accepted would not even promise itself. One that joined
     * holds a state, not the log, up to log.base - 1: it cannot re-propose what lies between
     * ack and that until ack passes it. */
    if (c->removed)
        return;
    bool silent = c->now_ms - c->leader_heard_ms >= c->leader_timeout_ms + c->election_delay_ms;
    if (c->ack + 1 < c->log.base || !chain_in_latest_config(c, c->self)) {
        /* Cannot run, but a long silence may mean the chain went around this replica and
         * removed it (or executed the removal it accepted last): a member answers a
         * non-member's ALIVE with NOT_MEMBER. */
        if (silent) {
            c->leader_heard_ms = c->now_ms;
            for (size_t k = 0; k < c->n; k++)
                if (c->members[k] != c->self)
                    chain_send_alive(c, c->members[k]);
        }
        return;
    }
    if (!c->election_started && (c->self_index == 0 || c->restart_election)) {
        c->election_started = true;
        if (c->leader == NODE_NONE) {
            chain_election_start(c);
            return;
        }
    }
    if (c->role == CHAIN_CANDIDATE && c->now_ms - c->last_prepare_ms >= c->retransmit_ms) {
        /* Outbid by a replica whose removal it accepted (recv_promise.c): its ballot cannot
         * win, so it runs again above that one instead of resending it. */
        if (c->own_round >= c->promised.round) {
            chain_election_start(c);
            return;
        }
        chain_election_resend(c);
    }
    if (c->role != CHAIN_LEADER && silent)
        chain_election_start(c);
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
    c->promiser_count = 0;
    c->leader_heard_ms = c->now_ms;
    c->stop_until = 0;
    c->window_bytes = c->undecided_bytes = 0;
    /* Re-proposals strictly first, in instance order (ref §12 C5), by chain_flush: the value
     * with the highest ballot any promise reported, or a NOOP where none did (such a value was
     * never chosen). Only then what clients sent while the election ran. */
    c->recover_next = from;
    c->recover_last = last;
    c->fence = last;
    /* Its ack is a fact learned in older ballots; every write those completed is <= fence, and
     * reads wait for the fence: from here on the ack is ordered before every new proposal. */
    chain_learn_ordered(c, c->ack);
    c->whole_ack = 0; /* only what this ballot's tail says (reads.c) */
    chain_flush(c);
}
