/* The operator of the "operator" profile: CATENA.REMOVE and CATENA.ADD sent to a replica, as an
 * administrator would with redis-cli, and, once the faults are over, CATENA.ADD of every replica
 * left out, again every second: a replica that an operator removed waits outside until an
 * operator lets it back in, and that lasts only a while (join.c). */
#include "sim/internal.h"

#include <string.h>

#define SIM_OPERATOR_RETRY_US 1000000u

/* Replica `via`, or the next one after it that is up, not paused and a member (the others
 * answer the operator with an error); -1 if none is. */
static int sim_operator_target(const struct sim *s, uint32_t via)
{
    for (uint32_t k = 0; k < s->n; k++) {
        uint32_t r = (via + k) % s->n;
        uint64_t defer;
        if (sim_replica_available(s, r, &defer) && !defer && sim_replica_member(s, r))
            return (int)r;
    }
    return -1;
}

void sim_operator_request(struct sim *s, uint32_t via, uint32_t node, bool add)
{
    int r = sim_operator_target(s, via);
    if (r < 0)
        return;
    s->res->faults[SIM_FAULT_OPERATOR]++;
    sim_trace_event(s, SIM_TR_FAULT, node, (uint32_t)r, 0, add ? 8 : 7, NULL, 0);
    sim_replica_change(s, (uint32_t)r, node, add);
}

void sim_operator_heal(struct sim *s)
{
    for (uint32_t r = 0; r < s->n; r++) {
        struct sim_replica *rep = &s->replicas[r];
        if (!rep->up || s->now < rep->operator_next_add)
            continue;
        struct engine_status st;
        s->ops->status(rep->engine, &st);
        if (!st.membership || strcmp(st.membership, "member") == 0)
            continue;
        rep->operator_next_add = s->now + SIM_OPERATOR_RETRY_US;
        sim_operator_request(s, (r + 1 + (uint32_t)(s->now / SIM_OPERATOR_RETRY_US)) % s->n, r,
                             true);
    }
}
