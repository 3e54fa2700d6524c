/* What happens on TICK events: elections and PREPARE resends, the leader's NOOPs (§5.4),
 * retransmission after silence (§5.6), successor monitoring and command resubmission. The runtime ticks about every 10 ms; every timer here is
 * a comparison of now_ms with a stored time, so ticks may come at any rate. */
#include "protocols/chainpaxos/internal.h"

/* Leader: NOOPs carry ack and gc down the chain when no client batch does. A NOOP is due when
 * the ack or gc covers the last batch instance but has not been sent yet (at most two NOOPs
 * follow a batch: one for the ack, one for the gc that its ACCEPT_ACK brings), and every
 * noop_interval_ms when idle, as a heartbeat. */
static void chain_noop_tick(struct chain_engine *c)
{
    if (!chain_may_propose(c))
        return;
    instance_no last = c->last_batch_instance;
    bool ack_due = last && c->ack >= last && c->sent_ack < last;
    bool gc_due = last && c->gc >= last && c->sent_gc < last;
    bool idle = c->now_ms - c->last_proposal_ms >= c->noop_interval_ms;
    if (ack_due || gc_due || idle)
        chain_propose(c, CHAIN_VALUE_NOOP, NULL);
}

/* The tail resends its acknowledgement of the highest instance it accepted. */
static void chain_retransmit_ack(struct chain_engine *c)
{
    const struct chain_entry *e = chain_log_get(&c->log, c->highest_accepted);
    if (!e || !ballot_eq(e->ballot, c->promised))
        return;
    struct chain_accept_ack a = {
        .ballot = e->ballot, .instance = c->highest_accepted, .ack = c->read_ack};
    chain_send_accept_ack(c, c->leader, &a);
}

/* While a member waits for its state the chain's ack stands still, however well the rest of
 * the chain works, and resending everything above it every retransmit_ms flooded the chain
 * with copies (up to 1024 batches of up to 1 MiB each under a bulk load). The joiner's
 * predecessor sends it the instances after its state instead: a next hop that asked for its
 * state lately answers ACCEPTs with STATE_REQUESTs. A replica before the quorum point sees
 * its successor work as instances get decided: each passed through it. Neither holds when an
 * ACCEPT to a member just added was lost, which leaves the ack at its ADD too. */
static bool chain_works_despite_joiner(struct chain_engine *c)
{
    if (chain_next_hop(c) == c->state_for &&
        c->now_ms - c->state_served_ms < c->leader_timeout_ms)
        return true;
    if (!chain_joiner_waits(c))
        return false;
    size_t position = (c->self_index + c->n - c->leader_index) % c->n;
    if (position + 1 >= c->quorum)
        return false;
    bool moved = c->decided > c->resend_decided || c->decided >= c->highest_accepted;
    c->resend_decided = c->decided;
    return moved;
}

/* A replica whose ack did not advance for retransmit_ms while it holds instances above it
 * resends them to its successor, oldest first, with their stored counters. Instances of older
 * ballots are left out: the leader of the current ballot re-proposes them. */
static void chain_retransmit_tick(struct chain_engine *c)
{
    if (c->leader == NODE_NONE || c->role == CHAIN_CANDIDATE ||
        (c->planted_bugs & ENGINE_BUG_NO_RETRANSMIT))
        return;
    if (c->highest_accepted <= c->ack || c->now_ms - c->ack_progress_ms < c->retransmit_ms)
        return;
    c->ack_progress_ms = c->now_ms;
    if (chain_works_despite_joiner(c))
        return;
    if (chain_is_tail(c))
        chain_retransmit_ack(c);
    else
        chain_resend_outstanding(c);
}

/* A tick this long after the last one means this replica itself stood still: a long copy or
 * sync on its event loop, a SIGSTOP, a pause. */
#define CHAIN_TICK_LATE_MS 100

/* True if this tick must judge nothing. An event loop runs its timers before it polls for I/O,
 * so after a stall the first tick comes while everything the peers sent meanwhile is still
 * unread: the silences it would measure are this replica's own. A joiner whose loop spent
 * 0.9 s copying its new 88 MB state ran for leader on that tick, with the leader's ACCEPTs
 * waiting in its socket, and was removed again. The next tick comes after the poll. Never two
 * in a row: a replica whose every round is slow still ticks. */
static bool chain_tick_after_stall(struct chain_engine *c)
{
    bool late = c->last_tick_ms != 0 && c->now_ms - c->last_tick_ms > CHAIN_TICK_LATE_MS;
    c->last_tick_ms = c->now_ms;
    c->tick_skipped = late && !c->tick_skipped;
    return c->tick_skipped;
}

void chain_tick(struct chain_engine *c)
{
    if (chain_tick_after_stall(c))
        return;
    if (c->removed) {
        chain_join_tick(c); /* takes no part, but may ask to be added */
        return;
    }
    chain_report_quorum(c);
    chain_operator_tick(c);
    chain_election_tick(c);
    chain_noop_tick(c);
    chain_retransmit_tick(c);
    chain_monitor_tick(c);
    chain_probe_tick(c);
    chain_xfer_check(c);
    chain_progress_tick(c);
    chain_inflight_tick(c);
    chain_checkpoint_tick(c);
}
