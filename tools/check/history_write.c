/* Writes a history as text (README.md): its events in time order, invocations before
 * completions at equal times; completions without a time (unknown, pending) right where the
 * client's FIFO order of completions puts them. */
#include "check/history.h"

#include "check/internal.h"
#include "common/check.h"

#include <inttypes.h>
#include <stdlib.h>

struct event {
    uint64_t time;
    uint32_t op;
    uint32_t completion; /* 0: invocation, 1: completion */
};

static int event_cmp(const void *pa, const void *pb)
{
    const struct event *a = pa, *b = pb;
    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    if (a->completion != b->completion)
        return a->completion < b->completion ? -1 : 1;
    return a->op < b->op ? -1 : a->op > b->op;
}

static struct event *sorted_events(const struct history *h, size_t *count)
{
    struct event *events = ck_malloc(2 * h->count * sizeof *events);
    size_t n = 0;
    for (size_t i = 0; i < h->count; i++) {
        const struct op *op = &h->ops[i];
        events[n++] = (struct event){op->invoke_time, (uint32_t)i, 0};
        if (op->outcome == OUTCOME_OK || op->outcome == OUTCOME_FAIL)
            events[n++] = (struct event){op->complete_time, (uint32_t)i, 1};
    }
    qsort(events, n, sizeof *events, event_cmp);
    *count = n;
    return events;
}

/* Each client's invoked ops, in invocation order, and how many of them are closed. */
struct client_queue {
    uint32_t *ops;
    size_t count, cap, closed;
};

struct writer {
    FILE *out;
    const struct history *h;
    struct u64map client_index;
    struct client_queue *queues;
    size_t nqueues, queues_cap;
    struct buf line;
};

static struct client_queue *queue_of(struct writer *w, uint32_t client)
{
    uint32_t index;
    if (!u64map_get(&w->client_index, client, &index)) {
        ck_grow(&w->queues, &w->queues_cap, w->nqueues + 1, sizeof *w->queues);
        index = (uint32_t)w->nqueues++;
        w->queues[index] = (struct client_queue){0};
        u64map_put(&w->client_index, client, index);
    }
    return &w->queues[index];
}

static void emit_line(struct writer *w)
{
    buf_append(&w->line, "\n", 1);
    fwrite(w->line.data, 1, w->line.len, w->out);
    buf_clear(&w->line);
}

static void emit_event(struct writer *w, const struct event *e)
{
    const struct op *op = &w->h->ops[e->op];
    ck_bprintf(&w->line, "%" PRIu64 " %" PRIu32 " ", e->time, op->client);
    if (!e->completion) {
        buf_append_str(&w->line, "invoke ");
        optext_call(&w->line, op);
    } else if (op->outcome == OUTCOME_FAIL) {
        buf_append_str(&w->line, "fail");
    } else {
        buf_append_str(&w->line, "ok");
        if (op->type != OP_SET && op->type != OP_MSET)
            buf_append(&w->line, " ", 1);
        optext_result(&w->line, op);
    }
    emit_line(w);
}

/* Closes the client's next ops while they have no completion time. */
static void emit_untimed(struct writer *w, struct client_queue *q)
{
    while (q->closed < q->count) {
        const struct op *op = &w->h->ops[q->ops[q->closed]];
        if (op->outcome != OUTCOME_UNKNOWN && op->outcome != OUTCOME_PENDING)
            return;
        ck_bprintf(&w->line, "- %" PRIu32 " %s", op->client,
                   op->outcome == OUTCOME_UNKNOWN ? "unknown" : "pending");
        emit_line(w);
        q->closed++;
    }
}

/* False when a client's completions are not in the order of its invocations. */
static bool write_events(struct writer *w, const struct event *events, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct event *e = &events[i];
        struct client_queue *q = queue_of(w, w->h->ops[e->op].client);
        if (!e->completion) {
            ck_grow(&q->ops, &q->cap, q->count + 1, sizeof *q->ops);
            q->ops[q->count++] = e->op;
        } else {
            if (q->closed >= q->count || q->ops[q->closed] != e->op)
                return false;
            q->closed++;
        }
        emit_event(w, e);
        emit_untimed(w, q);
    }
    return true;
}

bool history_write(FILE *out, const struct history *h)
{
    struct writer w = {.out = out, .h = h};
    u64map_init(&w.client_index);
    buf_init(&w.line);
    fputs("# catena history v1: <time> <client> invoke <OP> <args> | ok [result] | fail;"
          " - <client> unknown|pending\n",
          out);
    size_t n;
    struct event *events = sorted_events(h, &n);
    bool ok = write_events(&w, events, n);
    free(events);
    for (size_t i = 0; i < w.nqueues; i++)
        free(w.queues[i].ops);
    free(w.queues);
    u64map_free(&w.client_index);
    buf_free(&w.line);
    return ok && fflush(out) == 0 && !ferror(out);
}
