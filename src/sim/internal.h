/* The simulator's shared state, seen by every file of src/sim (not part of the public API).
 *
 * Indices: replicas are 0 .. n-1 with node ids index + 1, chain order = index order. Clients
 * 0 .. client_count-1 are the workload's; one more per replica reads every key at the end. */
#ifndef CATENA_SIM_INTERNAL_H
#define CATENA_SIM_INTERNAL_H

#include "check/history.h"
#include "common/buf.h"
#include "common/rng.h"
#include "core/command.h"
#include "core/engine.h"
#include "core/held_sends.h"
#include "core/outbox.h"
#include "core/record_waits.h"
#include "kv/apply.h"
#include "kv/kv.h"
#include "sim/checks.h"
#include "sim/sim.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_TICK_US 10000u
#define SIM_MAX_KEYS 8
#define SIM_LOCAL_READ_SEQ_BIT ((uint64_t)1 << 63)
#define SIM_ALL_CLIENTS (SIM_MAX_CLIENTS + SIM_MAX_NODES)

/* ---- event queue (queue.c): a binary heap ordered by (time, seq) ---------------------- */

enum sim_event_type {
    SIM_EV_DELIVER,  /* a peer message reaches `node` from `from` (data owned by the event) */
    SIM_EV_TICK,     /* `node`'s timer */
    SIM_EV_REQUEST,  /* client `client`'s op `arg` (serial) reaches its replica */
    SIM_EV_REPLY,    /* a reply (data) for op `arg` reaches client `client` */
    SIM_EV_NEXT_OP,  /* client `client` invokes its next operation */
    SIM_EV_TIMEOUT,  /* client `client` gives up on op `arg` */
    SIM_EV_FAULT,    /* fault plan item `arg` */
    SIM_EV_PHASE,    /* the fault phase ends: healing starts */
    SIM_EV_PROBE,    /* periodic check of the phase's exit condition */
    SIM_EV_SYNC,     /* `node`'s fsync completes (arg: its incarnation) */
    SIM_EV_CHECKPOINT, /* `node`'s background checkpoint snapshot is ready (arg: incarnation) */
    SIM_EV_TRANSFER,   /* `node`'s background snapshot for a joiner is ready (arg: incarnation) */
    SIM_EV_SNAPSHOT_WRITTEN, /* `node`'s snapshot file is durable (arg: its incarnation) */
    SIM_EV_RESUME,     /* `node`'s pause ends: its timers run first (arg: incarnation) */
};

struct sim_event {
    uint64_t time;
    uint64_t seq;
    uint8_t type;
    uint32_t node;
    uint32_t from;
    uint32_t client;
    uint64_t arg;
    uint8_t *data;
    size_t len;
};

struct sim_queue {
    struct sim_event *heap;
    size_t count;
    size_t cap;
    uint64_t next_seq;
};

void sim_queue_init(struct sim_queue *q);
void sim_queue_free(struct sim_queue *q); /* frees pending events' data */
/* Copies e (its seq is assigned here, in push order: FIFO among equal times). */
void sim_queue_push(struct sim_queue *q, const struct sim_event *e);
bool sim_queue_pop(struct sim_queue *q, struct sim_event *out);

/* ---- network (network.c) ---------------------------------------------------------------- */

struct sim_link {
    uint64_t base_us;       /* every message takes at least this long */
    uint64_t jitter_us;     /* plus uniform [0, jitter] */
    uint32_t loss_ppm;      /* per million messages */
    uint32_t dup_ppm;
    uint32_t delay_ppm;     /* a long delay, uniform in [0, delay_max_us] extra */
    uint64_t delay_max_us;
    bool reorder;           /* independent delays; otherwise FIFO like TCP */
    int blocked;            /* partitions covering this direction */
    uint64_t last_delivery; /* FIFO: no message is delivered before its predecessor */
};

struct sim_network {
    size_t n;
    struct sim_link links[SIM_MAX_NODES][SIM_MAX_NODES];
    struct rng rng;
    bool perfect; /* healing: no loss, duplication, reordering or long delay */
};

/* ---- faults (faults.c) ------------------------------------------------------------------ */

enum sim_plan_kind {
    SIM_PLAN_PARTITION_START,
    SIM_PLAN_PARTITION_END,
    SIM_PLAN_PAUSE,   /* node stalls until `until` */
    SIM_PLAN_CRASH,   /* node loses its volatile state */
    SIM_PLAN_RESTART, /* node comes back */
    SIM_PLAN_OPERATOR_REMOVE, /* the operator asks replica `via` to remove node */
    SIM_PLAN_OPERATOR_ADD,    /* ... and to add it (back) */
};

struct sim_plan_item {
    uint64_t time;
    enum sim_plan_kind kind;
    uint32_t node;
    uint64_t side;   /* partitions: bitmask of replicas on one side */
    bool one_way;    /* partitions: only side -> others is cut */
    uint64_t until;  /* pauses */
    bool skipped;    /* outside the fault model when its time came (faults.c) */
    bool power_loss; /* the first crash of a whole-cluster crash */
    uint32_t via;    /* operator's changes: the replica asked */
};

/* ---- durable storage (disk.c) ------------------------------------------------------------ */

/* A background checkpoint's snapshot comes back after up to this long (virtual us), and a
 * snapshot file takes up to this long to write on top of an fsync. */
#define SIM_CHECKPOINT_DELAY_MAX_US 50000
/* A joiner's snapshot comes back after up to this long (virtual us), as from a forked child
 * (server/checkpoint.h): taken where EFFECT_SNAPSHOT stood, later requests ignored meanwhile. */
#define SIM_TRANSFER_DELAY_MAX_US 50000
#define SIM_SNAPSHOT_WRITE_MAX_US 100000

struct sim_checkpoint_file {
    struct buf data;
    uint64_t seq;    /* replaces log records <= seq */
    uint64_t number; /* checkpoints issued before it, itself included */
    bool active;
};

/* A replica's disk under the durable profile, as the runtime's store uses it (runtime/store.h):
 * log records written, an fsync on its way for some of them, checkpoints written apart, peer
 * messages held until the engine records emitted before them are durable. A crash loses what
 * is not durable and what was held. */
struct sim_disk {
    /* The log: records u64 seq, u32 length, bytes. */
    struct buf durable;   /* fsynced */
    struct buf written;   /* not fsynced yet */
    size_t syncing_bytes; /* the prefix of `written` the running fsync covers */
    uint64_t appended, synced, syncing_upto; /* log sequence numbers */
    bool sync_running;
    /* Checkpoints: the durable one (replaces log records <= snapshot_seq), the one being
     * written and the next, and how many are durable (numbered by `waits`). */
    struct buf snapshot;
    uint64_t snapshot_seq;
    bool has_snapshot;
    struct sim_checkpoint_file writing, next;
    uint64_t checkpoints_durable;
    struct record_waits waits; /* the engine's records and what each waits for */
    struct held_sends held; /* each waits for a count of durable engine records */
};

/* ---- replicas (cluster.c) --------------------------------------------------------------- */

struct sim_conn {
    uint64_t id;        /* the replica's connection id (command_header.client) */
    uint32_t client;    /* simulated client index */
    uint64_t next_seq;  /* per-connection sequence numbers of ordered commands */
    uint64_t next_read_seq; /* and of local reads (sent with SIM_LOCAL_READ_SEQ_BIT) */
    uint64_t submitted; /* seq of the latest request handed to the engine */
    uint64_t waiting;   /* seq whose reply the client waits for (0: none) */
    uint64_t serial;    /* the client's op serial for that seq */
};

struct sim_replica {
    node_id id;
    void *engine;
    struct kv *kv;
    bool up;
    bool removed; /* outside the configuration (removed, or joining after a restart) */
    uint64_t left_at; /* virtual time it last found itself outside (us) */
    /* EFFECT_SNAPSHOT for a joiner: the state serialized where the effect stood, handed back to
     * the engine (ENGINE_EVENT_SNAPSHOT) by SIM_EV_TRANSFER. */
    struct buf snapshot;
    instance_no snapshot_instance;
    node_id snapshot_node;
    bool snapshot_pending;
    /* The STATE_PARTs it sent last, by joiner: their transfer and how far they went. */
    uint64_t part_instance[SIM_MAX_NODES + 1];
    uint64_t part_end[SIM_MAX_NODES + 1];
    /* Durable profile: a checkpoint's snapshot, serialized where EFFECT_SNAPSHOT stood and
     * handed back by reference after a delay (as a forked child would, server/checkpoint.h);
     * the disk appends it to the checkpoint record while `checkpoint_attached`. */
    struct buf checkpoint;
    instance_no checkpoint_instance;
    bool checkpoint_attached;
    uint64_t paused_until;
    uint32_t incarnation;
    struct sim_exec_log *log;
    struct sim_conn *conns; /* open connections */
    size_t conn_count;
    size_t conn_cap;
    uint64_t next_conn_id;
    node_id leader;
    struct command_args args;
    struct kv_apply_stats apply_stats;
    struct buf reply;
    struct buf record;
    instance_no last_executed;
    struct sim_disk disk;
    uint64_t operator_next_add; /* healing: when the operator next asks to add it back */
    bool end_all_due; /* restarted: END_ALL (core/command.h) goes out at the next tick */
    uint64_t end_all_bound; /* the first connection id of this incarnation */
};

/* ---- clients (client.c) ----------------------------------------------------------------- */

#define SIM_MAX_ARGS 5
#define SIM_ARG_BYTES 48

struct sim_client {
    uint32_t index;
    uint32_t replica;
    bool final_reader;   /* reads every key once at the end */
    bool stopped;        /* issues no more operations */
    uint64_t conn;       /* connection id at the replica (0: not connected) */
    uint32_t connection; /* connections opened so far (the history process number) */
    bool busy;           /* an op is outstanding */
    uint64_t serial;     /* op serial, +1 per op */
    size_t hist;         /* history index of the outstanding op */
    enum op_type type;
    uint32_t argc;
    char argv[SIM_MAX_ARGS][SIM_ARG_BYTES];
    uint64_t counter;    /* makes written values unique */
    uint64_t think_max_us;
    size_t final_key;    /* final reader: next key */
    uint64_t invoked;    /* invocation time of the outstanding op */
    bool healed;         /* completed an op invoked after healing started */
    bool final_failed;   /* final reader: a read did not complete */
};

/* ---- trace (trace.c) -------------------------------------------------------------------- */

enum sim_trace_kind {
    SIM_TR_SEND, SIM_TR_DELIVER, SIM_TR_LOSS, SIM_TR_DUP, SIM_TR_PARTITION_DROP,
    SIM_TR_DOWN_DROP, SIM_TR_TICK, SIM_TR_REQUEST, SIM_TR_REPLY, SIM_TR_TIMEOUT,
    SIM_TR_EXECUTE, SIM_TR_READ, SIM_TR_REJECT, SIM_TR_LEADER, SIM_TR_FAULT, SIM_TR_PHASE,
    SIM_TR_MEMBERSHIP, SIM_TR_INSTALL,
    SIM_TR_KINDS
};

struct sim_trace_rec {
    uint64_t time;
    uint8_t kind;
    uint32_t node;
    uint32_t peer;
    uint64_t a;
    uint64_t b;
    uint32_t len;
    char text[112];
};

struct sim_trace {
    uint64_t hash;
    bool keep;     /* keep readable records (replays with --trace) */
    struct sim_trace_rec *recs;
    size_t count;
    size_t cap;
};

/* ---- one run ------------------------------------------------------------------------------ */

enum sim_phase {
    SIM_PHASE_FAULTS, SIM_PHASE_HEALING, SIM_PHASE_DRAINING, SIM_PHASE_FINAL, SIM_PHASE_SETTLE,
    SIM_PHASE_DONE,
};

struct sim {
    struct sim_options opt;
    struct sim_result *res;
    const struct engine_ops *ops;
    struct engine_config config;
    struct rng rng;         /* set-up draws */
    struct rng client_rng;  /* workload draws */
    uint64_t now;           /* virtual microseconds */
    struct sim_queue queue;
    struct outbox out;
    size_t n;
    struct sim_replica replicas[SIM_MAX_NODES];
    node_id last_leader; /* the last leader any replica followed (none at first) */
    struct sim_network net;
    size_t client_count;    /* workload clients; final readers follow */
    struct sim_client clients[SIM_ALL_CLIENTS];
    struct history history;

    /* workload */
    size_t key_count;
    char keys[SIM_MAX_KEYS][8];
    bool counter_key[SIM_MAX_KEYS];
    unsigned weights[7];    /* by enum op_type */
    uint64_t timeout_us;
    uint64_t client_latency_us;

    /* durable profile: fsync latency (virtual us) and the engines' checkpoint threshold */
    uint64_t fsync_min_us, fsync_spread_us;

    /* faults */
    struct sim_plan_item *plan;
    size_t plan_count;
    uint64_t fault_end;     /* healing starts */

    /* phases */
    enum sim_phase phase;
    uint64_t phase_start;
    instance_no target;     /* instance every replica must reach */
    bool stop;              /* a violation ended the run */

    /* execution logs, one per replica incarnation, and the online agreement check */
    struct sim_exec_log **logs;
    size_t log_count;
    size_t log_cap;
    uint64_t *agreed_digest;
    uint64_t *agreed_payload;
    uint32_t *agreed_node;  /* node id that first executed the instance (0: none yet) */
    size_t agreed_cap;

    struct sim_trace trace;

    struct sim_orphan *orphans;
    size_t orphan_count;
    size_t orphan_cap;
    size_t orphans_open; /* unresolved */
    struct command_args orphan_args;
};

/* run.c */
void sim_violation(struct sim *s, enum sim_check_id check, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
uint64_t sim_hash_bytes(const uint8_t *p, size_t len);

/* network.c */
void sim_network_setup(struct sim *s);
void sim_network_send(struct sim *s, uint32_t from, uint32_t to, const uint8_t *data,
                      size_t len);
/* True if a message arriving now on from->to must be dropped (a partition cut the link). */
bool sim_network_cut(const struct sim *s, uint32_t from, uint32_t to);
void sim_network_heal(struct sim *s);

/* faults.c */
void sim_faults_plan(struct sim *s);
/* True if the profile injects message faults only: no replica fails or is cut off. */
bool sim_only_message_faults(const struct sim *s);
/* Replica r was just removed: a violation if the profile's faults were all per message. */
void sim_check_stability(struct sim *s, uint32_t r);
/* Replica r follows `leader` (not none): counts a change of leader, checked like a removal. */
void sim_note_leader(struct sim *s, uint32_t r, node_id leader);
void sim_faults_apply(struct sim *s, uint64_t item);

/* cluster.c */
void sim_cluster_init(struct sim *s);
void sim_cluster_free(struct sim *s);
void sim_disk_init(struct sim_disk *d);
void sim_disk_free(struct sim_disk *d);
/* An engine record of replica r (EFFECT_PERSIST); tail (tail_len bytes, may be NULL) is
 * appended to it (a checkpoint by reference). */
void sim_disk_write(struct sim *s, uint32_t r, uint64_t checkpoint, bool compaction,
                    const uint8_t *data, size_t len, const uint8_t *tail, size_t tail_len);
/* A peer message from replica r: sent now, or held until what it may depend on is durable. */
void sim_disk_send(struct sim *s, uint32_t r, uint32_t to, const uint8_t *data, size_t len);
/* End of r's round: an fsync starts for what was written, if none is running. */
void sim_disk_kick(struct sim *s, uint32_t r);
/* SIM_EV_SYNC: the fsync completed; held messages leave. */
void sim_disk_synced(struct sim *s, uint32_t r);
/* SIM_EV_SNAPSHOT_WRITTEN: the checkpoint being written is durable. */
void sim_disk_checkpoint_written(struct sim *s, uint32_t r);
/* Hands fn the durable records in order: the snapshot, then the log after it; returns their
 * count. */
size_t sim_disk_recover(struct sim *s, uint32_t r,
                        void (*fn)(struct sim *s, uint32_t r, const uint8_t *data, size_t len));
/* The crash: what is not durable is gone (with disk_reorder, but for a random prefix of the
 * unsynced log records). */
void sim_disk_crash(struct sim *s, uint32_t r);
/* SIM_EV_CHECKPOINT: the background snapshot goes to r's engine by reference. */
void sim_replica_checkpoint_ready(struct sim *s, uint32_t r);
/* SIM_EV_TRANSFER: the snapshot for a joiner goes to r's engine. */
void sim_replica_transfer_ready(struct sim *s, uint32_t r);
/* Tells r's engine how many of its records are durable now (ENGINE_EVENT_DURABLE). */
void sim_replica_durable(struct sim *s, uint32_t r);

void sim_replica_start(struct sim *s, uint32_t r);
void sim_replica_crash(struct sim *s, uint32_t r);
void sim_replica_deliver(struct sim *s, const struct sim_event *e);
void sim_replica_tick(struct sim *s, uint32_t r);
void sim_replica_request(struct sim *s, uint32_t r, uint32_t client, uint64_t serial);
/* Opens a connection for client c at replica r; returns its id (0 if r is down). */
uint64_t sim_replica_connect(struct sim *s, uint32_t r, uint32_t client);
void sim_replica_disconnect(struct sim *s, uint32_t r, uint64_t conn);
/* When a replica can take an event now: false if down; *defer_until set if paused. */
/* The seq of client op `serial` if it was handed to the engine on connection conn, else 0. */
uint64_t sim_replica_submitted(const struct sim *s, uint32_t r, uint64_t conn, uint64_t serial);
bool sim_replica_available(const struct sim *s, uint32_t r, uint64_t *defer_until);
instance_no sim_cluster_max_executed(const struct sim *s);
instance_no sim_cluster_min_executed(const struct sim *s);
/* True if replica r is up and still a member (not removed from the configuration). */
bool sim_replica_member(const struct sim *s, uint32_t r);

/* An operator's request (CATENA.ADD or CATENA.REMOVE of `node`) reaches replica r. */
void sim_replica_change(struct sim *s, uint32_t r, uint32_t node, bool add);

/* operator.c */
/* The operator asks replica `via` (or, if it is down or paused, the next one up) to remove
 * or add `node`. */
void sim_operator_request(struct sim *s, uint32_t via, uint32_t node, bool add);
/* Healing: the operator adds back, about once a second, every replica up but left out of the
 * configuration. */
void sim_operator_heal(struct sim *s);

/* client.c */
void sim_clients_init(struct sim *s);
void sim_client_next(struct sim *s, uint32_t c);
void sim_client_reply(struct sim *s, uint32_t c, uint64_t serial, const uint8_t *data,
                      size_t len);
void sim_client_timeout(struct sim *s, uint32_t c, uint64_t serial);
/* Parses a RESP reply into the history (OK or, for an error reply, FAIL) at the current time;
 * false if it does not parse as the reply of that command. */
bool sim_record_reply(struct sim *s, size_t hist, enum op_type type, const uint8_t *data,
                      size_t len);
/* The replica of client c went down: its outstanding op's outcome is unknown. */
void sim_client_disconnected(struct sim *s, uint32_t c);
void sim_clients_start_final(struct sim *s);
void sim_clients_stop(struct sim *s);
bool sim_clients_idle(const struct sim *s, bool final_readers);

/* outcome.c: operations whose client gave up (orphans), resolved from what really happened */
struct sim_orphan {
    uint32_t client;
    uint64_t serial;
    uint32_t replica;  /* origin */
    uint64_t conn;
    uint64_t seq;
    size_t hist;
    enum op_type type;
    bool executed;     /* some replica executed it */
    bool resolved;
};
void sim_orphan_add(struct sim *s, uint32_t client, uint64_t serial, uint32_t r, uint64_t conn,
                    uint64_t seq, size_t hist, enum op_type type);
/* The unresolved orphan submitted as (r, conn, seq), or -1. */
long sim_orphan_find(const struct sim *s, uint32_t r, uint64_t conn, uint64_t seq);
/* Its reply, computed now: recorded as the op's completion. */
void sim_orphan_resolve(struct sim *s, long index, const uint8_t *reply, size_t len);
/* A reply that reached a client after it gave up. */
void sim_orphan_reply(struct sim *s, uint32_t client, uint64_t serial, const uint8_t *data,
                      size_t len);
/* Marks orphans whose records are in this executed batch. */
void sim_orphans_executed(struct sim *s, uint64_t instance, const uint8_t *batch, size_t len);
/* Replica r crashed: its orphans' fate is unknowable. */
void sim_orphans_crash(struct sim *s, uint32_t r);
/* Orphans left after the liveness bound: a liveness violation naming one. */
void sim_orphans_stuck(struct sim *s);
/* End of the run: orphans never executed anywhere did not take effect. */
void sim_orphans_finish(struct sim *s);

/* trace.c */
void sim_trace_init(struct sim_trace *t, bool keep);
void sim_trace_free(struct sim_trace *t);
void sim_trace_event(struct sim *s, enum sim_trace_kind kind, uint32_t node, uint32_t peer,
                     uint64_t a, uint64_t b, const uint8_t *data, size_t len);
void sim_trace_print(const struct sim *s, FILE *out, uint64_t until, size_t count);
/* A one-line description of a ChainPaxos message. */
void sim_describe_message(const uint8_t *data, size_t len, char *out, size_t size);

#endif
