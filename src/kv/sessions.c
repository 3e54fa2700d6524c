/* Open addressing with linear probing: one probe sequence per (origin, client), no deletion
 * (entries live as long as the state; a later issue expires them through the log). */
#include "kv/sessions.h"

#include "common/check.h"

#include <stdlib.h>

struct session_slot {
    uint64_t client;
    uint64_t seq;
    node_id origin; /* NODE_NONE: empty slot */
};

struct sessions {
    struct session_slot *slots;
    size_t cap; /* power of two */
    size_t count;
};

struct sessions *sessions_create(void)
{
    struct sessions *s = calloc(1, sizeof *s);
    CHECK(s != NULL);
    s->cap = 64;
    s->slots = calloc(s->cap, sizeof *s->slots);
    CHECK(s->slots != NULL);
    return s;
}

void sessions_destroy(struct sessions *s)
{
    if (!s)
        return;
    free(s->slots);
    free(s);
}

static size_t session_hash(node_id origin, uint64_t client)
{
    uint64_t x = client * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)origin << 32 | origin);
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ULL;
    return (size_t)(x ^ (x >> 32));
}

static struct session_slot *session_find(struct session_slot *slots, size_t cap, node_id origin,
                                         uint64_t client)
{
    size_t i = session_hash(origin, client) & (cap - 1);
    while (slots[i].origin != NODE_NONE &&
           (slots[i].origin != origin || slots[i].client != client))
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static void sessions_grow(struct sessions *s)
{
    size_t cap = s->cap * 2;
    struct session_slot *slots = calloc(cap, sizeof *slots);
    CHECK(slots != NULL);
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i].origin != NODE_NONE)
            *session_find(slots, cap, s->slots[i].origin, s->slots[i].client) = s->slots[i];
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
}

/* Fills the empty slot session_find returned for (origin, client). */
static void session_insert(struct sessions *s, struct session_slot *slot, node_id origin,
                           uint64_t client, uint64_t seq)
{
    *slot = (struct session_slot){.client = client, .seq = seq, .origin = origin};
    if (++s->count * 2 > s->cap)
        sessions_grow(s);
}

enum session_verdict sessions_admit(struct sessions *s, node_id origin, uint64_t client,
                                    uint64_t seq)
{
    CHECK(origin != NODE_NONE);
    struct session_slot *slot = session_find(s->slots, s->cap, origin, client);
    uint64_t last = slot->origin != NODE_NONE ? slot->seq : 0;
    if (seq <= last)
        return SESSION_DUPLICATE;
    if (seq > last + 1)
        return SESSION_GAP;
    if (slot->origin != NODE_NONE) {
        slot->seq = seq;
        return SESSION_NEXT;
    }
    session_insert(s, slot, origin, client, seq);
    return SESSION_NEXT;
}

size_t sessions_count(const struct sessions *s) { return s->count; }

void sessions_foreach(const struct sessions *s,
                      void (*fn)(node_id origin, uint64_t client, uint64_t seq, void *ctx),
                      void *ctx)
{
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i].origin != NODE_NONE)
            fn(s->slots[i].origin, s->slots[i].client, s->slots[i].seq, ctx);
}

bool sessions_restore(struct sessions *s, node_id origin, uint64_t client, uint64_t seq)
{
    CHECK(origin != NODE_NONE && seq >= 1);
    struct session_slot *slot = session_find(s->slots, s->cap, origin, client);
    if (slot->origin != NODE_NONE)
        return false;
    session_insert(s, slot, origin, client, seq);
    return true;
}
