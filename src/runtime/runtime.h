/* Runs one protocol engine against real I/O on a libuv loop (DESIGN.md "Layers": runtime).
 *
 * The runtime feeds the engine its events (peer messages, a tick every tick_ms, client
 * commands handed in by the server, a flush at the end of every loop iteration), sends the
 * engine's SEND effects over the peer links (through the store when durable) and passes every
 * other effect to the server's on_effect callback. At the end of each iteration it flushes
 * the engine, then writes every peer's and every client's queued bytes, one write each. */
#ifndef CATENA_RUNTIME_RUNTIME_H
#define CATENA_RUNTIME_RUNTIME_H

#include "core/engine.h"
#include "runtime/client_conn.h"
#include "runtime/peer_link.h"
#include "runtime/store.h"

#include <uv.h>

typedef void (*runtime_effect_cb)(void *ctx, const struct outbox *o, const struct effect *e);

struct runtime {
    uv_loop_t *loop;
    uv_timer_t tick_timer;
    uv_check_t flush_check;
    uv_signal_t sigint, sigterm;
    uint64_t tick_ms;
    const struct engine_ops *engine_ops;
    void *engine;
    struct outbox outbox;
    bool stepping; /* engines are not re-entrant */
    struct peer_set peers;
    struct client_listener clients;
    /* Durable storage (engine_config.durable), or NULL: EFFECT_PERSIST records go there, and
     * peer messages pass through it (they may have to wait for an fsync). */
    struct store *store;
    runtime_effect_cb on_effect;
    /* Called at the end of every loop iteration, before the engine's FLUSH: work deferred
     * from effect callbacks (which may not step the engine themselves) goes in here. */
    void (*on_round_end)(void *ctx);
    /* Called by runtime_stop: the caller closes the handles it opened on the loop. */
    void (*on_stop)(void *ctx);
    void *ctx;
    uint64_t events_handled;
    bool stopping;
    /* Peers whose link was lost, told to the engine (PEER_DOWN) at the next tick: the loss
     * may be noticed while the engine is stepping, which must not nest. */
    bool peer_down[CATENA_MAX_NODES + 1];
};

/* Binds the engine to the loop and starts its timers; peers and clients are started by the
 * caller on r->peers and r->clients before or after. */
void runtime_init(struct runtime *r, uv_loop_t *loop, uint64_t tick_ms,
                  const struct engine_ops *ops, void *engine, runtime_effect_cb on_effect,
                  void *ctx);
/* Steps the engine with one event (its now_ms is filled in) and drains the effects. */
void runtime_step(struct runtime *r, struct engine_event *event);
/* Message and link-loss callbacks for peer_set_start (ctx = the runtime). */
void runtime_on_peer_message(void *ctx, node_id from, const uint8_t *data, size_t len);
void runtime_on_peer_down(void *ctx, node_id peer);
/* Stops on SIGINT/SIGTERM or when called: closes every handle so uv_run returns. */
void runtime_stop(struct runtime *r);
void runtime_release(struct runtime *r);

#endif
