/* Identifiers shared by every protocol: node ids, ballots, instance numbers. */
#ifndef CATENA_CORE_TYPES_H
#define CATENA_CORE_TYPES_H

#include <stdbool.h>
#include <stdint.h>

/* Replica id as given on the command line (--id, --cluster 1=...,2=...): 1..CATENA_MAX_NODES.
 * 0 means "none". */
typedef uint32_t node_id;
#define NODE_NONE 0u
#define CATENA_MAX_NODES 64

/* Log position. Instances start at 1; 0 means "none yet". */
typedef uint64_t instance_no;

/* Paxos ballot: ordered by round, then node. round 0 with node 0 is "no ballot". */
struct ballot {
    uint64_t round;
    node_id node;
};

static inline int ballot_cmp(struct ballot a, struct ballot b)
{
    if (a.round != b.round)
        return a.round < b.round ? -1 : 1;
    if (a.node != b.node)
        return a.node < b.node ? -1 : 1;
    return 0;
}
static inline bool ballot_eq(struct ballot a, struct ballot b) { return ballot_cmp(a, b) == 0; }

#endif
