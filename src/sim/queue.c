/* The event queue: a binary min-heap on (time, seq). seq is assigned at push, so events due at
 * the same virtual time run in the order they were scheduled: a total order that depends on
 * nothing but the run's own history. */
#include "common/check.h"
#include "sim/internal.h"

#include <stdlib.h>

void sim_queue_init(struct sim_queue *q) { *q = (struct sim_queue){0}; }

void sim_queue_free(struct sim_queue *q)
{
    for (size_t i = 0; i < q->count; i++)
        free(q->heap[i].data);
    free(q->heap);
    *q = (struct sim_queue){0};
}

static bool sim_event_before(const struct sim_event *a, const struct sim_event *b)
{
    return a->time != b->time ? a->time < b->time : a->seq < b->seq;
}

void sim_queue_push(struct sim_queue *q, const struct sim_event *e)
{
    if (q->count == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 1024;
        q->heap = realloc(q->heap, q->cap * sizeof *q->heap);
        CHECK(q->heap != NULL);
    }
    size_t i = q->count++;
    struct sim_event item = *e;
    item.seq = q->next_seq++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!sim_event_before(&item, &q->heap[parent]))
            break;
        q->heap[i] = q->heap[parent];
        i = parent;
    }
    q->heap[i] = item;
}

bool sim_queue_pop(struct sim_queue *q, struct sim_event *out)
{
    if (q->count == 0)
        return false;
    *out = q->heap[0];
    struct sim_event last = q->heap[--q->count];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= q->count)
            break;
        if (child + 1 < q->count && sim_event_before(&q->heap[child + 1], &q->heap[child]))
            child++;
        if (!sim_event_before(&q->heap[child], &last))
            break;
        q->heap[i] = q->heap[child];
        i = child;
    }
    if (q->count > 0)
        q->heap[i] = last;
    return true;
}
