/* FORWARD: commands another replica sends to the leader it follows (docs/protocols/
 * chainpaxos.md §5.2). */
#include "protocols/chainpaxos/internal.h"

void chain_recv_forward(struct chain_engine *c, const struct chain_forward *m)
{
    const uint8_t *records = m->batch + 4;
    size_t len = m->batch_len - 4;
    bool holds = c->role != CHAIN_FOLLOWER || c->leader == NODE_NONE;
    if (!holds) {
        /* Not the leader: pass it on to the one this replica follows. Hops only grow while
         * replicas disagree about the leader; past N the batch is circling, drop it. */
        if (m->hops > c->n) {
            chain_dropped(c);
            return;
        }
        chain_send_forward(c, c->leader, (uint8_t)(m->hops + 1), m->batch, m->batch_len);
        return;
    }
    /* The leader (or a candidate, or a replica that knows no leader yet) takes the records
     * into its own pending batch, so forwarded commands share its next proposal. Beyond the
     * pending limit they are dropped: only the origin replica can answer their clients. */
    if (c->pending.len - 4 + len > c->max_pending_bytes) {
        chain_dropped(c);
        return;
    }
    chain_pending_add(c, records, len, m->count);
}
