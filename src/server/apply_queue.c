#include "server/apply_queue.h"

#include "common/check.h"
#include "server/server.h"

#include <stdlib.h>
#include <string.h>

/* Records applied between two looks at the clock. */
#define APPLY_RECORDS_PER_CHECK 64

struct apply_item {
    struct apply_item *next;
    enum effect_type type;
    node_id node;
    instance_no instance;
    uint64_t queued_ms; /* the loop's clock when it started waiting */
    size_t len;
    uint8_t data[];
};

static bool apply_waits(const struct server *s)
{
    return s->applying.head || s->install.running;
}

/* True once this loop iteration's slice is used up (never before the loop runs, nor while too
 * much waits). The loop's clock moves once per iteration: a new value starts a new slice. */
static bool apply_slice_over(struct server *s)
{
    struct apply_queue *q = &s->applying;
    if (!q->sliced || q->bytes > APPLY_QUEUE_MAX_BYTES)
        return false;
    if (q->debug_tiny_slices)
        return true;
    uint64_t now_ns = uv_hrtime();
    if (uv_now(&s->loop) != q->slice_loop_ms) {
        q->slice_loop_ms = uv_now(&s->loop);
        q->slice_start_ns = now_ns;
    }
    return now_ns - q->slice_start_ns > (uint64_t)APPLY_SLICE_MS * 1000000;
}

/* Applies the batch at the cursor until it ends or the slice does; true when it ended. */
static bool apply_batch_slice(struct server *s)
{
    struct apply_queue *q = &s->applying;
    uint32_t per_check = q->debug_tiny_slices ? 1 : APPLY_RECORDS_PER_CHECK;
    while (!server_apply_records(s, &q->cursor, per_check)) {
        if (apply_slice_over(s)) {
            q->slices_cut++;
            return false;
        }
    }
    q->applied = q->cursor.instance;
    return true;
}

static struct apply_item *apply_item_copy(struct server *s, const struct effect *e,
                                          const uint8_t *data)
{
    struct apply_item *it = malloc(sizeof *it + e->len);
    CHECK(it != NULL);
    *it = (struct apply_item){.type = e->type, .node = e->node, .instance = e->instance,
                              .queued_ms = uv_now(&s->loop), .len = e->len};
    memcpy(it->data, data, e->len);
    return it;
}

static void apply_push(struct apply_queue *q, struct apply_item *it)
{
    if (q->tail)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    q->count++;
    q->bytes += it->len;
}

static void apply_pop(struct apply_queue *q)
{
    struct apply_item *it = q->head;
    q->head = it->next;
    if (!q->head)
        q->tail = NULL;
    q->count--;
    q->bytes -= it->len;
    free(it);
}

/* Debug only: how much longer the head must wait (CATENA_DEBUG_APPLY_HOLD_MS holds every
 * EXECUTE), 0 if it is due. */
static uint64_t apply_hold_left_ms(struct server *s)
{
    struct apply_queue *q = &s->applying;
    if (q->head->type != EFFECT_EXECUTE)
        return 0;
    uint64_t waited = uv_now(&s->loop) - q->head->queued_ms;
    return waited < q->debug_hold_ms ? q->debug_hold_ms - waited : 0;
}

static void apply_idle_cb(uv_idle_t *h);
static void apply_hold_cb(uv_timer_t *h);

/* The loop must not wait for I/O while effects wait to be applied, unless an install holds
 * them (its thread wakes the loop) or the head is held (its timer does). */
static void apply_idle_update(struct server *s)
{
    struct apply_queue *q = &s->applying;
    if (!q->idle_open)
        return;
    uint64_t hold = q->head ? apply_hold_left_ms(s) : 0;
    if (q->head && !s->install.running && !hold)
        uv_idle_start(&q->idle, apply_idle_cb);
    else
        uv_idle_stop(&q->idle);
    if (hold)
        uv_timer_start(&q->hold_timer, apply_hold_cb, hold, 0);
}

/* Applies one effect that does not wait; false if it is a batch cut at the end of the slice
 * (the cursor holds where). */
static bool apply_one(struct server *s, const struct effect *e, const uint8_t *data)
{
    struct apply_queue *q = &s->applying;
    switch (e->type) {
    case EFFECT_EXECUTE:
        if (!q->in_batch) {
            server_apply_begin(s, &q->cursor, e->instance, data, e->len);
            q->in_batch = true;
        }
        if (!apply_batch_slice(s))
            return false;
        q->in_batch = false;
        return true;
    case EFFECT_INSTALL:
        install_begin(s, e->instance, data, e->len, q->sliced);
        return true;
    default:
        server_apply_effect(s, e->type, e->node, e->instance, data, e->len);
        return true;
    }
}

/* Applies what waits, in order, until the slice ends or an install holds the rest. */
static void apply_drain(struct server *s)
{
    struct apply_queue *q = &s->applying;
    while (q->head && !s->install.running && !apply_hold_left_ms(s)) {
        struct apply_item *it = q->head;
        struct effect e = {.type = it->type, .node = it->node, .instance = it->instance,
                           .len = it->len};
        if (!apply_one(s, &e, it->data))
            break;
        apply_pop(q);
        if (apply_slice_over(s))
            break;
    }
    apply_idle_update(s);
}

static void apply_idle_cb(uv_idle_t *h) { apply_drain(h->data); }
static void apply_hold_cb(uv_timer_t *h) { apply_drain(h->data); }

void apply_queue_effect(struct server *s, const struct outbox *o, const struct effect *e)
{
    struct apply_queue *q = &s->applying;
    const uint8_t *data = outbox_payload(o, e);
    if (e->type == EFFECT_LEADER || e->type == EFFECT_MEMBERSHIP) {
        server_apply_effect(s, e->type, e->node, e->instance, data, e->len);
        return;
    }
    bool debug_waits = q->sliced && (q->debug_tiny_slices ||
                                     (q->debug_hold_ms && e->type == EFFECT_EXECUTE));
    if (apply_waits(s) || debug_waits) {
        apply_push(q, apply_item_copy(s, e, data));
        apply_idle_update(s);
        return;
    }
    if (apply_one(s, e, data))
        return;
    /* The rest of the batch waits: its bytes go with it, and the cursor follows them. */
    struct apply_item *it = apply_item_copy(s, e, data);
    q->cursor.r.data = it->data;
    apply_push(q, it);
    apply_idle_update(s);
}

void apply_queue_resume(struct server *s) { apply_drain(s); }

bool apply_queue_caught_up(const struct server *s) { return !apply_waits(s); }

void apply_queue_init(struct server *s)
{
    struct apply_queue *q = &s->applying;
    CHECK(uv_idle_init(&s->loop, &q->idle) == 0);
    q->idle.data = s;
    q->idle_open = true;
    /* Debug only: every effect waits for a later loop iteration, and every slice ends after one
     * record, so that tests exercise the waiting path under ordinary loads
     * (integration/test_replication_sliced, test_reads_sliced). */
    q->debug_tiny_slices = getenv("CATENA_DEBUG_APPLY_SLICES") != NULL;
    /* Debug only: every batch waits this many ms before it executes, and what comes after it
     * waits behind it, so that a test can tell a read served after the writes before it from
     * one served ahead of them (integration/test_reads_held). */
    const char *hold = getenv("CATENA_DEBUG_APPLY_HOLD_MS");
    q->debug_hold_ms = hold ? strtoull(hold, NULL, 10) : 0;
    if (q->debug_hold_ms) {
        CHECK(uv_timer_init(&s->loop, &q->hold_timer) == 0);
        q->hold_timer.data = s;
        q->hold_timer_open = true;
    }
}

void apply_queue_start_slicing(struct server *s) { s->applying.sliced = true; }

void apply_queue_stop(struct server *s)
{
    struct apply_queue *q = &s->applying;
    if (q->idle_open) {
        uv_close((uv_handle_t *)&q->idle, NULL);
        q->idle_open = false;
    }
    if (q->hold_timer_open) {
        uv_close((uv_handle_t *)&q->hold_timer, NULL);
        q->hold_timer_open = false;
    }
}

void apply_queue_release(struct server *s)
{
    while (s->applying.head)
        apply_pop(&s->applying);
}
