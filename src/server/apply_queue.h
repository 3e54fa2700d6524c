/* The engine's effects on the state machine, applied in the engine's order without holding the
 * event loop for long.
 *
 * EXECUTE, READ, REJECT, ABANDON, SNAPSHOT and INSTALL are applied as the engine emits them,
 * unless something makes them wait:
 *   - a batch that takes longer than APPLY_SLICE_MS in this loop iteration (1 MiB batches take
 *     100-200 ms, seconds while a checkpoint child makes every write fault its page): the rest
 *     of it waits for the next iteration, so the loop keeps receiving, forwarding and answering
 *     probes meanwhile;
 *   - a state transfer being installed on a thread (install.h).
 * Once one waits, every later one waits behind it (copied), so each still sees exactly the state
 * after the effects before it: a read its preceding writes, a snapshot the executes before it.
 * Only the leader changes and membership changes, which do not touch the state machine, are
 * taken at once. Beyond APPLY_QUEUE_MAX_BYTES waiting, batches are applied whole again: the
 * queue does not grow without bound when execution cannot keep up. Before the loop runs
 * (recovery) everything is applied at once, as before. */
#ifndef CATENA_SERVER_APPLY_QUEUE_H
#define CATENA_SERVER_APPLY_QUEUE_H

#include "core/outbox.h"
#include "kv/apply.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define APPLY_SLICE_MS 20
#define APPLY_QUEUE_MAX_BYTES (256u << 20)

struct server;
struct apply_item;

struct apply_queue {
    struct apply_item *head, *tail;
    size_t count, bytes;
    bool sliced;   /* the loop runs: batches may be cut into slices */
    bool in_batch; /* the head EXECUTE is partly applied: `cursor` is where */
    struct kv_apply_cursor cursor;
    uint64_t slice_loop_ms, slice_start_ns; /* the slice of the current loop iteration */
    bool idle_open;
    uv_idle_t idle; /* keeps the loop from waiting while effects wait */
    instance_no applied; /* the last instance applied in full */
    uint64_t slices_cut; /* INFO: batches left unfinished at the end of a slice */
    bool debug_tiny_slices; /* CATENA_DEBUG_APPLY_SLICES (tests) */
    uint64_t debug_hold_ms; /* CATENA_DEBUG_APPLY_HOLD_MS (tests): every batch waits */
    bool hold_timer_open;
    uv_timer_t hold_timer; /* wakes the loop when the held head is due */
};

void apply_queue_init(struct server *s);
/* The loop runs from now on: batches may be cut into slices. */
void apply_queue_start_slicing(struct server *s);
/* An effect of the engine on the state machine (see above). */
void apply_queue_effect(struct server *s, const struct outbox *o, const struct effect *e);
/* An install finished: what waited is applied. */
void apply_queue_resume(struct server *s);
/* True if nothing waits and no install runs: the state machine is as the engine executed it. */
bool apply_queue_caught_up(const struct server *s);
void apply_queue_stop(struct server *s);
void apply_queue_release(struct server *s);

#endif
