/* Circular array of instances (see log.h). */
#include "protocols/chainpaxos/log.h"

#include "common/check.h"

#include <stdlib.h>

/* A released slot keeps its buffer for the next instance unless the buffer is large: one huge
 * batch must not pin its memory in every slot it ever passed through. */
#define CHAIN_LOG_KEEP_BYTES (64u * 1024u)

static struct chain_entry *chain_log_slot(const struct chain_log *log, instance_no i)
{
    return &log->slots[i & (log->cap - 1)];
}

void chain_log_init(struct chain_log *log, instance_no base)
{
    CHECK(base >= 1);
    *log = (struct chain_log){.base = base, .end = base};
}

void chain_log_free(struct chain_log *log)
{
    for (size_t k = 0; k < log->cap; k++)
        buf_free(&log->slots[k].body);
    free(log->slots);
    *log = (struct chain_log){0};
}

struct chain_entry *chain_log_get(const struct chain_log *log, instance_no i)
{
    if (i < log->base || i >= log->end)
        return NULL;
    struct chain_entry *e = chain_log_slot(log, i);
    return e->used ? e : NULL;
}

/* Re-places the held range [base, end) into an array of at least `need` slots. Slots outside
 * the range hold no instance, only spare buffers, which are freed. */
static void chain_log_grow(struct chain_log *log, uint64_t need)
{
    size_t cap = log->cap ? log->cap : 16;
    while (cap < need) {
        CHECK(cap <= SIZE_MAX / 2 / sizeof(struct chain_entry));
        cap *= 2;
    }
    struct chain_entry *slots = calloc(cap, sizeof *slots);
    CHECK(slots != NULL);
    for (instance_no i = log->base; i < log->end; i++) {
        struct chain_entry *old = chain_log_slot(log, i);
        slots[i & (cap - 1)] = *old;
        *old = (struct chain_entry){0};
    }
    for (size_t k = 0; k < log->cap; k++)
        buf_free(&log->slots[k].body);
    free(log->slots);
    log->slots = slots;
    log->cap = cap;
}

struct chain_entry *chain_log_put(struct chain_log *log, instance_no i)
{
    CHECK(i >= log->base);
    if (i - log->base >= log->cap)
        chain_log_grow(log, i - log->base + 1);
    struct chain_entry *e = chain_log_slot(log, i);
    /* Instances in [end, i) map to slots that hold nothing: [base, base + cap) maps one to one
     * onto the array, and released slots are marked unused. So extending end is enough. */
    if (i >= log->end)
        log->end = i + 1;
    if (!e->used) {
        e->used = true;
        e->decided = false;
        e->counter = 0;
        e->ballot = (struct ballot){0};
        buf_clear(&e->body);
        log->used++;
    }
    return e;
}

static void chain_log_release_slot(struct chain_log *log, struct chain_entry *e)
{
    if (!e->used)
        return;
    e->used = false;
    e->decided = false;
    if (e->body.cap > CHAIN_LOG_KEEP_BYTES)
        buf_free(&e->body);
    buf_clear(&e->body);
    log->used--;
}

void chain_log_release_through(struct chain_log *log, instance_no i)
{
    if (i < log->base)
        return;
    instance_no stop = i < log->end ? i + 1 : log->end;
    for (instance_no j = log->base; j < stop; j++)
        chain_log_release_slot(log, chain_log_slot(log, j));
    log->base = i + 1;
    if (log->end < log->base)
        log->end = log->base;
}

void chain_log_reset(struct chain_log *log, instance_no base)
{
    CHECK(base >= 1);
    for (instance_no j = log->base; j < log->end; j++)
        chain_log_release_slot(log, chain_log_slot(log, j));
    CHECK(log->used == 0);
    log->base = base;
    log->end = base;
}
