#include "runtime/runtime.h"

#include "common/check.h"
#include "common/log.h"

static void runtime_drain(struct runtime *r)
{
    for (size_t i = 0; i < r->outbox.count; i++) {
        const struct effect *e = &r->outbox.items[i];
        if (e->type == EFFECT_SEND && r->store)
            store_send(r->store, e->node, outbox_payload(&r->outbox, e), e->len);
        else if (e->type == EFFECT_SEND || e->type == EFFECT_SEND_NOW)
            peer_send(&r->peers, e->node, outbox_payload(&r->outbox, e), e->len);
        else if (e->type == EFFECT_PERSIST && r->store)
            store_persist(r->store, e->instance, e->node != NODE_NONE,
                          outbox_payload(&r->outbox, e), e->len);
        else
            r->on_effect(r->ctx, &r->outbox, e);
    }
    outbox_clear(&r->outbox);
}

void runtime_step(struct runtime *r, struct engine_event *event)
{
    CHECK(!r->stepping);
    if (r->stopping)
        return;
    r->stepping = true;
    event->now_ms = uv_now(r->loop);
    r->engine_ops->step(r->engine, event, &r->outbox);
    r->events_handled++;
    runtime_drain(r);
    r->stepping = false;
}

void runtime_on_peer_message(void *ctx, node_id from, const uint8_t *data, size_t len)
{
    struct engine_event event = {
        .type = ENGINE_EVENT_MESSAGE, .from = from, .data = data, .len = len};
    runtime_step(ctx, &event);
}

void runtime_on_peer_down(void *ctx, node_id peer)
{
    struct runtime *r = ctx;
    if (peer <= CATENA_MAX_NODES)
        r->peer_down[peer] = true;
}

static void runtime_send_all(struct runtime *r)
{
    peer_flush_all(&r->peers);
    client_flush_all(&r->clients);
}

/* End of a loop iteration: seal the batch, then one write per peer and per client (two if a
 * sync ran on the loop). */
static void runtime_end_round(struct runtime *r)
{
    if (r->on_round_end)
        r->on_round_end(r->ctx);
    struct engine_event event = {.type = ENGINE_EVENT_FLUSH};
    runtime_step(r, &event);
    /* What needs no sync leaves first (a leader's ACCEPTs, replies): a sync that runs on the
     * loop would hold it for its whole length, and the leader's fsync would add up with the
     * next replica's instead of overlapping it. */
    runtime_send_all(r);
    /* One sync for this iteration's records. One that ran on the loop made them durable now:
     * flush again for what waited for them (a durable leader's next batch); the next
     * iteration's sync takes the records that flush appends. */
    if (r->store && store_kick(r->store)) {
        event = (struct engine_event){.type = ENGINE_EVENT_FLUSH};
        runtime_step(r, &event);
        runtime_send_all(r);
    }
}

static void runtime_tick_cb(uv_timer_t *t)
{
    struct runtime *r = t->data;
    for (node_id id = 1; id <= CATENA_MAX_NODES; id++)
        if (r->peer_down[id]) {
            r->peer_down[id] = false;
            struct engine_event down = {.type = ENGINE_EVENT_PEER_DOWN, .from = id};
            runtime_step(r, &down);
        }
    struct engine_event event = {.type = ENGINE_EVENT_TICK};
    runtime_step(r, &event);
    /* Timers run before the loop waits for I/O: what the tick sent (heartbeats, resends,
     * probes) would otherwise wait up to a tick for the check phase, and a PROBE would measure
     * that wait. */
    runtime_end_round(r);
}

static void runtime_flush_cb(uv_check_t *h) { runtime_end_round(h->data); }

static void runtime_signal_cb(uv_signal_t *s, int signum)
{
    log_info("received %s, shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
    runtime_stop(s->data);
}

void runtime_init(struct runtime *r, uv_loop_t *loop, uint64_t tick_ms,
                  const struct engine_ops *ops, void *engine, runtime_effect_cb on_effect,
                  void *ctx)
{
    r->loop = loop;
    r->tick_ms = tick_ms;
    r->engine_ops = ops;
    r->engine = engine;
    r->on_effect = on_effect;
    r->ctx = ctx;
    outbox_init(&r->outbox);
    uv_timer_init(loop, &r->tick_timer);
    r->tick_timer.data = r;
    uv_timer_start(&r->tick_timer, runtime_tick_cb, tick_ms, tick_ms);
    uv_check_init(loop, &r->flush_check);
    r->flush_check.data = r;
    uv_check_start(&r->flush_check, runtime_flush_cb);
    uv_signal_init(loop, &r->sigint);
    uv_signal_init(loop, &r->sigterm);
    r->sigint.data = r->sigterm.data = r;
    uv_signal_start(&r->sigint, runtime_signal_cb, SIGINT);
    uv_signal_start(&r->sigterm, runtime_signal_cb, SIGTERM);
}

void runtime_stop(struct runtime *r)
{
    if (r->stopping)
        return;
    r->stopping = true;
    /* Replies already computed still go out before the sockets close. */
    client_flush_all(&r->clients);
    client_listener_close(&r->clients);
    peer_set_close(&r->peers);
    uv_close((uv_handle_t *)&r->tick_timer, NULL);
    uv_close((uv_handle_t *)&r->flush_check, NULL);
    uv_close((uv_handle_t *)&r->sigint, NULL);
    uv_close((uv_handle_t *)&r->sigterm, NULL);
    if (r->on_stop)
        r->on_stop(r->ctx);
}

void runtime_release(struct runtime *r)
{
    outbox_free(&r->outbox);
    peer_set_release(&r->peers);
    client_listener_release(&r->clients);
}
