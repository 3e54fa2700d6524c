#include "server/reaper.h"

#include "common/check.h"
#include "kv/kv.h"
#include "server/server.h"

#include <stdlib.h>

/* Keys freed between two looks at the clock. */
#define REAPER_KEYS_PER_CHECK 4096
/* Above glibc's largest small block (1 KiB on 64-bit). */
#define REAPER_CONSOLIDATE_BYTES 4096

struct reaper_item {
    struct reaper_item *next;
    struct kv *kv;
};

static void reaper_idle_cb(uv_idle_t *h)
{
    struct server *s = h->data;
    struct reaper *r = &s->reaper;
    uint64_t start = uv_hrtime();
    while (r->head && uv_hrtime() - start < (uint64_t)REAPER_SLICE_MS * 1000000) {
        struct reaper_item *it = r->head;
        if (!kv_destroy_some(it->kv, REAPER_KEYS_PER_CHECK))
            continue;
        r->head = it->next;
        free(it);
    }
    /* glibc keeps small freed blocks apart (fastbins) until an allocation of a large block
     * consolidates them all: one now, so that this slice's blocks are consolidated within it,
     * not by whatever the loop allocates next after many slices. */
    free(malloc(REAPER_CONSOLIDATE_BYTES));
    if (!r->head)
        uv_idle_stop(&r->idle);
}

void reaper_init(struct server *s)
{
    struct reaper *r = &s->reaper;
    CHECK(uv_idle_init(&s->loop, &r->idle) == 0);
    r->idle.data = s;
    r->open = true;
}

void reaper_add(struct server *s, struct kv *kv)
{
    struct reaper *r = &s->reaper;
    if (!r->open) {
        kv_destroy(kv);
        return;
    }
    struct reaper_item *it = malloc(sizeof *it);
    CHECK(it != NULL);
    *it = (struct reaper_item){.next = r->head, .kv = kv};
    r->head = it;
    uv_idle_start(&r->idle, reaper_idle_cb);
}

void reaper_stop(struct server *s)
{
    struct reaper *r = &s->reaper;
    if (r->open) {
        uv_close((uv_handle_t *)&r->idle, NULL);
        r->open = false;
    }
}

void reaper_release(struct server *s)
{
    struct reaper *r = &s->reaper;
    while (r->head) {
        struct reaper_item *it = r->head;
        r->head = it->next;
        kv_destroy(it->kv);
        free(it);
    }
}
