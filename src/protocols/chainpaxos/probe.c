/* Round trips to the next hop (docs/protocols/chainpaxos-membership.md §7).
 *
 * While it has instances on the way, a replica sends its next hop a PROBE carrying its own
 * clock every retransmit_ms / 4. The PROBE travels the FIFO link behind the ACCEPTs, and the
 * answer leaves the next hop only once what it received before is durable (like any message it
 * sends). The round trip is thus how long the next hop takes to take in what it is sent: its
 * input queue, its CPU, its disk and the link. A throttled replica that catches up whenever it
 * runs shows no backlog, but its round trips are long. Only the prober reads the clock it sent,
 * so no two clocks are ever compared. */
#include "protocols/chainpaxos/internal.h"

/* A round trip longer than this (about 3 days) is clamped: 8 x the smoothed value fits a u32. */
#define CHAIN_PROBE_MAX_RTT_MS ((uint64_t)1 << 28)

void chain_probe_tick(struct chain_engine *c)
{
    if (c->leader == NODE_NONE || c->role == CHAIN_CANDIDATE || c->n < 2)
        return;
    node_id next = chain_next_hop(c);
    if (next != c->probe_hop) {
        c->probe_hop = next; /* a new hop is measured from scratch */
        c->probe_rtt8 = 0;
        c->probe_samples = 0;
    }
    bool busy = c->highest_accepted != c->probe_accepted || chain_awaiting_next_hop(c);
    if (!busy || c->now_ms < c->probe_next_ms)
        return;
    c->probe_next_ms = c->now_ms + c->retransmit_ms / 4;
    c->probe_accepted = c->highest_accepted;
    chain_send_probe(c, next, CHAIN_MSG_PROBE, c->now_ms);
}

void chain_recv_probe(struct chain_engine *c, node_id from, const struct chain_probe *m)
{
    if (chain_member_index(c, from) < 0) {
        chain_dropped(c);
        return;
    }
    chain_send_probe(c, from, CHAIN_MSG_PROBE_REPLY, m->sent_ms);
}

void chain_recv_probe_reply(struct chain_engine *c, node_id from, const struct chain_probe *m)
{
    uint64_t sent_ms = m->sent_ms;
    if (from != c->probe_hop || sent_ms > c->now_ms) {
        chain_dropped(c);
        return;
    }
    /* A sign of life, like ALIVE (monitor.c): the next hop took in everything this replica
     * sent before the PROBE, and it follows the same ballot, so it takes this replica's
     * ACCEPTs. It answers in one hop, where ack progress needs the whole ring, every member's
     * loop and disk included. Only sent_ms is certain: a hop that takes longer than suspect_ms
     * to answer is still suspected. */
    if (from == c->monitored && ballot_eq(m->ballot, c->promised) &&
        sent_ms > c->successor_heard_ms)
        c->successor_heard_ms = sent_ms;
    uint64_t rtt = c->now_ms - sent_ms;
    if (rtt > CHAIN_PROBE_MAX_RTT_MS)
        rtt = CHAIN_PROBE_MAX_RTT_MS;
    /* srtt = 7/8 srtt + 1/8 rtt, kept times 8 (TCP's SRTT, RFC 6298): one late reply moves it
     * by an eighth, a hop that stays slow moves it all the way. */
    c->probe_rtt8 = (uint32_t)(c->probe_rtt8 - c->probe_rtt8 / 8 + rtt);
    c->probe_samples++;
}

uint32_t chain_probe_rtt_ms(const struct chain_engine *c) { return c->probe_rtt8 / 8; }
