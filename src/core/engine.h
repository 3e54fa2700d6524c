/* The engine interface every protocol implements (DESIGN.md, "The engine interface").
 *
 * An engine is a pure state machine: the caller feeds it events (peer messages, clock ticks,
 * client commands, end-of-round flushes) through step(), and the engine appends effects to an
 * outbox that the caller drains after the call. An engine never performs I/O, never reads a
 * clock and never calls rand(): time arrives inside events and randomness comes from an rng
 * seeded through engine_config. Any number of engines may live in one process. */
#ifndef CATENA_CORE_ENGINE_H
#define CATENA_CORE_ENGINE_H

#include "core/outbox.h"
#include "core/types.h"

#include <stddef.h>
#include <stdint.h>

enum engine_event_type {
    /* A message body from peer `from` (data/len), exactly as a SEND effect produced it. The
     * bytes are untrusted: malformed messages are dropped and counted, never asserted on. */
    ENGINE_EVENT_MESSAGE,
    /* The clock advanced; drives retransmission, elections and idle no-ops. */
    ENGINE_EVENT_TICK,
    /* One client command record (core/command.h) to be ordered. The engine copies it. */
    ENGINE_EVENT_COMMAND,
    /* End of an I/O round (one event-loop iteration, or a simulator step): the engine seals
     * its pending batch and emits what it buffered. Batches form between two flushes. */
    ENGINE_EVENT_FLUSH,
    /* A linearizable read to serve locally: data is the read's command record (opaque to the
     * engine, copied). The engine answers with EFFECT_READ once the local state reflects
     * every write and read that completed anywhere before this event (ChainPaxos: when the
     * slot after this replica's highest accepted one is acknowledged). */
    ENGINE_EVENT_READ,
    /* An operator's membership change (CATENA.ADD / CATENA.REMOVE): data is
     * u8 op (ENGINE_CHANGE_ADD or ENGINE_CHANGE_REMOVE), u32 node, then for an ADD the new
     * member's peer address (host:port, 1-255 bytes). Any replica accepts it and passes it to
     * the leader; the change is done when EFFECT_MEMBERSHIP reports it. A replica removed by
     * an operator stays out until an operator adds it again; one removed by failure detection
     * asks to rejoin by itself. */
    ENGINE_EVENT_CHANGE,
    /* The answer to EFFECT_SNAPSHOT: data is the serialized state machine exactly as of the
     * effect's instance (given back in `instance`; the effect's node in `from`). It may come
     * steps later (the caller serializes in the background, e.g. in a forked child). For a
     * checkpoint (`from` is the engine itself) data may be NULL with len the snapshot's size:
     * the bytes stay with the caller, and the checkpoint record this step emits for
     * `instance` (EFFECT_PERSIST) is incomplete: the caller appends those len bytes to it.
     * A checkpoint answered with instance 0 failed: the engine asks again later. */
    ENGINE_EVENT_SNAPSHOT,
    /* The transport lost its connection to peer `from` (reset or closed): a hint, not a fact.
     * The peer may have died, or only the link; what was in flight on it is lost. */
    ENGINE_EVENT_PEER_DOWN,
    /* Durable engines, on a restart, before any other event: one EFFECT_PERSIST record per
     * event (data/len), in the order they were persisted, then one RESTORE with no data,
     * which ends the recovery (the engine emits INSTALL and EXECUTEs to rebuild the state
     * machine there). Records that do not decode are refused with the replica stopped:
     * the caller checksums them, so a bad one means a bug, not a bad disk. */
    ENGINE_EVENT_RESTORE,
    /* Durable engines: the first `instance` EFFECT_PERSIST records this engine emitted (since
     * it was created) are durable. Sent after an fsync; the count only grows. A value
     * accepted here counts towards its quorum only once durable. */
    ENGINE_EVENT_DURABLE,
};

enum { ENGINE_CHANGE_REMOVE = 1, ENGINE_CHANGE_ADD = 2 };

struct engine_event {
    enum engine_event_type type;
    uint64_t now_ms; /* every event carries the current time */
    node_id from;    /* MESSAGE, PEER_DOWN and SNAPSHOT */
    instance_no instance; /* SNAPSHOT, and DURABLE (a record count) */
    const uint8_t *data;
    size_t len;
};

struct engine_config {
    node_id self;
    /* Initial membership in chain order (ChainPaxos: the ring; members[0] leads first). */
    node_id members[CATENA_MAX_NODES];
    size_t member_count;
    /* Join a running cluster instead of founding it: members[] are the replicas to ask (this
     * replica may be one of them: a restart with an old identity, whose state is gone). The
     * replica serves nothing until it was added and received a state transfer. */
    bool join;
    char self_address[256]; /* this replica's peer address, host:port (for a join) */
    uint64_t seed; /* for the engine's own rng */
    /* Crash-recovery: emit EFFECT_PERSIST records of what must survive a crash, and take a
     * checkpoint (a snapshot of the state machine through EFFECT_SNAPSHOT to itself) after
     * checkpoint_bytes of records (0: the protocol's default). Without it, a restarted
     * replica has lost its state and must join again. */
    bool durable;
    size_t checkpoint_bytes;
    /* Tunables; zero means the protocol's default. */
    uint64_t retransmit_ms;   /* resend unacknowledged messages after this much silence */
    uint64_t noop_interval_ms; /* an idle leader proposes a no-op this often */
    uint64_t leader_timeout_ms;
    size_t max_batch_bytes;    /* a batch is sealed early once it holds this many bytes */
    size_t max_pending_bytes;  /* commands buffered while no leader is known; beyond: REJECT */
    /* Client batches a leader may have proposed and not yet acknowledged by the whole chain;
     * beyond it new commands wait (flow control). */
    size_t max_window_bytes;
    size_t state_part_bytes;   /* a state transfer travels in messages of at most this much */
    /* Test-only: known protocol bugs to plant (ENGINE_BUG_* bits), so the simulator can prove
     * it finds them. Always 0 in catena-server. */
    uint32_t planted_bugs;
};

/* Bugs the simulator must catch (engine_config.planted_bugs). */
enum engine_planted_bug {
    ENGINE_BUG_READ_WITHOUT_WAIT = 1u << 0, /* release local reads at once: stale reads */
    ENGINE_BUG_ACCEPT_GAPS = 1u << 1,       /* accept past a missing instance (as a no-op) */
    ENGINE_BUG_NO_RETRANSMIT = 1u << 2,     /* never resend lost messages: the chain stalls */
    /* count the leader's vote before its record is durable: a crash can lose a decided value */
    ENGINE_BUG_LEADER_VOTE_EARLY = 1u << 3,
};

/* A snapshot of the engine's state for INFO and CATENA.STATUS. */
struct engine_status {
    const char *role; /* "leader", "follower", "candidate" */
    node_id leader;
    struct ballot ballot;
    instance_no highest_accepted;
    instance_no highest_decided;
    instance_no highest_executed;
    instance_no highest_acknowledged; /* accepted by the whole chain */
    instance_no gc_horizon;           /* executed everywhere and dropped from the log */
    size_t log_instances;             /* instances held in memory */
    node_id chain[CATENA_MAX_NODES];  /* current chain order, leader first */
    size_t chain_length;
    /* The configuration this replica's log leads to: the members with the membership change
     * it accepted and has not executed yet applied (the chain itself while there is none). */
    node_id next_members[CATENA_MAX_NODES];
    size_t next_member_count;
    uint64_t messages_dropped; /* malformed or stale messages ignored */
    uint64_t messages_malformed; /* of those: bytes that did not decode as a message */
    node_id next_hop;          /* where this replica passes instances on (NODE_NONE: nowhere) */
    uint32_t next_hop_rtt_ms;  /* the smoothed round trip to it, as measured (0: none yet) */
    size_t reads_waiting;      /* local reads not yet released */
    /* "member", "joining" (asking to be added, or waiting for its state transfer) or
     * "removed" (by an operator: waits to be added again). */
    const char *membership;
    bool operator_change_waiting; /* an operator's change taken here has not executed yet */
};

struct engine_ops {
    const char *name;
    void *(*create)(const struct engine_config *config);
    void (*destroy)(void *engine);
    void (*step)(void *engine, const struct engine_event *event, struct outbox *out);
    void (*status)(const void *engine, struct engine_status *status);
};

#endif
