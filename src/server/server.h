/* The catena-server process: glue between the runtime (sockets, timers), the RESP front end,
 * one protocol engine and the key-value state machine. */
#ifndef CATENA_SERVER_SERVER_H
#define CATENA_SERVER_SERVER_H

#include "core/command.h"
#include "core/engine.h"
#include "kv/apply.h"
#include "kv/kv.h"
#include "server/apply_queue.h"
#include "server/reaper.h"
#include "server/auth.h"
#include "runtime/runtime.h"
#include "server/checkpoint.h"
#include "server/config.h"
#include "server/install.h"
#include "server/membership.h"

#include <stdint.h>
#include <uv.h>

/* The Redis version whose behaviour catena follows, reported to clients. */
#define CATENA_REDIS_VERSION "7.0.0"

struct session;

/* A state machine snapshot taken for a joiner or a checkpoint (EFFECT_SNAPSHOT), handed to the
 * engine once the outbox is drained (ENGINE_EVENT_SNAPSHOT). */
struct pending_snapshot {
    instance_no instance;
    node_id node; /* the joiner, or this replica for a checkpoint */
    struct buf bytes;
    struct pending_snapshot *next;
};

struct server_stats {
    uint64_t commands_received;  /* requests parsed from clients */
    uint64_t commands_replicated; /* of those, ordered through the engine */
    uint64_t commands_rejected;  /* refused by the engine (no leader, queue full) */
    uint64_t snapshot_pause_us;  /* the loop's pause for the last snapshot (fork or serialization) */
    uint64_t batches_executed;
    uint64_t protocol_errors;
    uint64_t reads_local;  /* linearizable reads served locally */
    uint64_t reads_stale;
    uint64_t client_input_pauses;   /* back-pressure: a client was not read further (session.h) */
    uint64_t client_waiting_peak;   /* the most requests one client had waiting for replies */
};

struct server {
    struct server_config config;
    uv_loop_t loop;
    struct runtime runtime;
    struct store store; /* when durable (runtime.store points here) */
    const struct engine_ops *engine_ops;
    void *engine;
    struct kv *kv;
    node_id leader;
    uint64_t start_time_ms;
    struct server_stats stats;
    struct kv_apply_stats apply_stats; /* commands executed, duplicates skipped */
    struct buf scratch; /* command record encoding */
    struct session *round_end_head; /* sessions with work at the end of the loop iteration */
    struct command_args exec_args; /* argument vectors of the command being executed */
    struct server_membership membership;
    struct pending_snapshot *snapshots; /* oldest first */
    struct server_checkpoint checkpoint; /* a checkpoint's background serialization */
    struct server_checkpoint transfer;   /* a joiner's (state transfer) */
    struct apply_queue applying; /* effects on the state machine waiting to be applied */
    struct server_install install; /* a state transfer loading on a thread */
    struct reaper reaper;          /* key spaces it replaced, being freed */
    struct server_auth auth;
    uint64_t end_all_bound;    /* this run's first client id: END_ALL ends the sessions below */
    uint64_t end_all_retry_ms; /* when to send END_ALL again (0: not due) */
};

/* At the end of this loop iteration, `se`'s held reads go to the engine if its writes are done,
 * and its input is read again if it was paused (sessions may not step the engine from inside an
 * effect callback). */
void server_revisit_at_round_end(struct server *s, struct session *se);
/* A closing session leaves that list. */
void server_forget_session(struct server *s, struct session *se);

/* Starts listening and connecting; 0 or a negative error (already logged). */
int server_start(struct server *s, const struct server_config *config);
/* Runs until SIGINT/SIGTERM; then releases everything. */
void server_run(struct server *s);

/* The runtime's callback for every effect but SEND. */
void server_on_effect(void *ctx, const struct outbox *o, const struct effect *e);
/* Applies an effect other than EXECUTE and INSTALL (those are the apply queue's). */
void server_apply_effect(struct server *s, enum effect_type type, node_id node,
                         instance_no instance, const uint8_t *data, size_t len);
/* A decided batch, in slices: begin, then records until it returns true (the batch ended). */
void server_apply_begin(struct server *s, struct kv_apply_cursor *cur, instance_no instance,
                        const uint8_t *data, size_t len);
bool server_apply_records(struct server *s, struct kv_apply_cursor *cur, uint32_t max);
/* A snapshot for the engine (ENGINE_EVENT_SNAPSHOT at the end of the loop iteration); takes
 * the bytes. */
void server_snapshot_taken(struct server *s, node_id node, instance_no instance,
                           struct buf *bytes);
/* Hands the snapshots taken during effect processing to the engine (never from inside a step). */
void server_deliver_snapshots(struct server *s);
void server_free_snapshots(struct server *s);

#endif
