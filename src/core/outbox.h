/* The effects an engine step produces, drained by the caller (runtime or simulator) after the
 * step returns. Effect payloads live in the outbox's arena and stay valid until outbox_clear. */
#ifndef CATENA_CORE_OUTBOX_H
#define CATENA_CORE_OUTBOX_H

#include "common/buf.h"
#include "core/types.h"

#include <stddef.h>

enum effect_type {
    /* Send `payload` to peer `node` (the caller frames it; delivery may fail silently: the
     * engine retransmits what matters). */
    EFFECT_SEND,
    /* Apply the decided batch `payload` of log position `instance` to the state machine. Emitted
     * exactly once per instance, in strictly increasing instance order without gaps. */
    EFFECT_EXECUTE,
    /* This replica now follows leader `node` (NODE_NONE: none known). */
    EFFECT_LEADER,
    /* The command record `payload` was not accepted for ordering (no leader known and the
     * pending queue is full): the caller answers its client with an error. */
    EFFECT_REJECT,
    /* The command record `payload`, sent for ordering from this replica, will not be seen
     * executed here (the replica left the configuration): it may or may not have been
     * applied; the caller tells its client so. */
    EFFECT_ABANDON,
    /* The read `payload` (the record given with ENGINE_EVENT_READ) may now be served from the
     * local state: every EXECUTE it must observe has already been emitted. */
    EFFECT_READ,
    /* The membership changed at log position `instance` (executed there, right after its
     * EXECUTE): payload = u8 MEMBERSHIP_REMOVED, MEMBERSHIP_ADDED or MEMBERSHIP_MOVED (to the
     * tail), then the new member's address (host:port, empty otherwise); `node` is the
     * member. The new chain is in the engine's status. */
    EFFECT_MEMBERSHIP,
    /* A joining replica needs the state, or the engine a checkpoint: serialize the state
     * machine as it is now (it reflects exactly the EXECUTEs emitted before this effect, up
     * to `instance`) and give the bytes back with ENGINE_EVENT_SNAPSHOT (same instance) once
     * the outbox is drained (a checkpoint's may come later). `node` is the joiner, or the
     * engine itself for a checkpoint. */
    EFFECT_SNAPSHOT,
    /* State transfer received: replace the state machine with the snapshot `payload`, taken at
     * `instance`; the next EXECUTE is instance + 1. A payload the state machine cannot load
     * means a peer is broken: the replica must stop rather than run with a wrong state. */
    EFFECT_INSTALL,
    /* Durable engines only (engine_config.durable): append the record `payload` (the engine's
     * own format) to stable storage. Every SEND emitted after it, in this step or a later
     * one, may leave the replica only once it is durable, and sends leave in the order they
     * were emitted: what a replica promised or accepted is on disk before anyone learns it
     * (group commit: the caller holds sends and releases them when an fsync completes).
     * A non-zero `instance` marks a checkpoint: a self-contained record that replaces every
     * earlier one, which the caller may delete once it is durable (it may write it apart,
     * in a snapshot file, as long as sends after it wait for it too). A checkpoint whose
     * `node` is the engine itself is a compaction: the records before it say everything it
     * says, so sends after it need not wait for it (only for those records), and a crash
     * before it is durable may lose it while keeping later records. On a
     * restart the caller gives back the durable records, from the newest checkpoint on, in
     * order, with ENGINE_EVENT_RESTORE. */
    EFFECT_PERSIST,
    /* Like EFFECT_SEND, but it need not wait for the EFFECT_PERSIST records before it: what it
     * says follows from records that are durable already (a decision) or from none (clients'
     * commands passed on). It may overtake held sends. Callers without durable storage treat
     * it as EFFECT_SEND. */
    EFFECT_SEND_NOW,
};

enum { MEMBERSHIP_REMOVED = 1, MEMBERSHIP_ADDED = 2, MEMBERSHIP_MOVED = 3 };

struct effect {
    enum effect_type type;
    node_id node;
    instance_no instance;
    size_t offset; /* into the arena */
    size_t len;
};

struct outbox {
    struct effect *items;
    size_t count;
    size_t cap;
    struct buf arena;
};

void outbox_init(struct outbox *o);
void outbox_free(struct outbox *o);
void outbox_clear(struct outbox *o);

static inline const uint8_t *outbox_payload(const struct outbox *o, const struct effect *e)
{
    return o->arena.data + e->offset;
}

/* Building an effect in place: start = outbox_begin(o); append the payload to o->arena;
 * outbox_end(o, type, node, instance, start). Saves a copy on every message. */
static inline size_t outbox_begin(struct outbox *o) { return o->arena.len; }
void outbox_end(struct outbox *o, enum effect_type type, node_id node, instance_no instance,
                size_t start);
/* Copies payload in one call. */
void outbox_push(struct outbox *o, enum effect_type type, node_id node, instance_no instance,
                 const void *payload, size_t len);

#endif
