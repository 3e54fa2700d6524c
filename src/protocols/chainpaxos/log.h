/* The ChainPaxos log: instances held in memory, in a circular array indexed by instance number
 * (docs/protocols/chainpaxos.md §3).
 *
 * The log holds instances in [base, end); everything below base has been released (collected).
 * Slots keep their value buffers after release, so a steady-state leader reuses memory instead
 * of allocating a buffer per instance. The array grows (doubling) when an instance beyond
 * base + capacity is stored; callers bound how far ahead they store (a replica only accepts the
 * next instance; the candidate's recovery log is bounded by validated PROMISE contents). */
#ifndef CATENA_PROTOCOLS_CHAINPAXOS_LOG_H
#define CATENA_PROTOCOLS_CHAINPAXOS_LOG_H

#include "common/buf.h"
#include "core/types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct chain_entry {
    struct ballot ballot; /* the ballot this value was accepted in */
    uint16_t counter;     /* replicas on the chain path that accepted it, this one included */
    uint8_t kind;         /* enum chain_value_kind */
    bool used;            /* the slot holds an instance */
    bool decided;         /* decided and emitted for execution */
    struct buf body;      /* BATCH: u32 count + records; NOOP: empty */
    /* The ordered ack this replica passes on with this instance (every time it sends it, so a
     * retransmission never carries an ack newer than the instance's place in the order). */
    instance_no ack_out;
    /* The whole-chain ack the instance was proposed with (struct chain_accept), passed on with
     * it; 0 once restored from the disk (it only delays reads). */
    instance_no whole_ack;
    /* Durable engines: the record (EFFECT_PERSIST number) of this replica's accept; 0 once
     * restored from the disk. The value counts as accepted here only once it is durable. */
    uint64_t record;
};

struct chain_log {
    struct chain_entry *slots; /* cap slots; instance i lives at i & (cap - 1) */
    size_t cap;                /* a power of two, or 0 before the first store */
    instance_no base;          /* lowest instance that may be held */
    instance_no end;           /* one past the highest instance stored (>= base) */
    size_t used;               /* slots in use */
};

/* An empty log whose first instance is `base` (>= 1). */
void chain_log_init(struct chain_log *log, instance_no base);
void chain_log_free(struct chain_log *log);

/* The entry of instance i, or NULL if it is not held. */
struct chain_entry *chain_log_get(const struct chain_log *log, instance_no i);

/* The slot of instance i (i >= base), growing the array if needed. A slot that was not in use
 * comes back marked used, with decided false and an empty body; a slot in use comes back as it
 * is, for the caller to overwrite. */
struct chain_entry *chain_log_put(struct chain_log *log, instance_no i);

/* Releases every instance <= i and moves base past it (no-op if i < base). */
void chain_log_release_through(struct chain_log *log, instance_no i);

/* Releases everything and restarts the log at `base`. */
void chain_log_reset(struct chain_log *log, instance_no base);

#endif
