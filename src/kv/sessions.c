/* Open addressing with linear probing, one probe sequence per (origin, client); ended sessions
 * are deleted by backward shifting, so no tombstone slots ever slow the probes. */
#include "kv/sessions.h"

#include "common/check.h"
#include "core/command.h"

#include <stdlib.h>
#include <string.h>

struct session_slot {
    uint64_t client;
    uint64_t seq;
    uint64_t ended_at; /* 0: live */
    node_id origin;    /* NODE_NONE: empty slot */
};

/* An ended session, in the order they ended (the order they are forgotten in). */
struct session_end {
    uint64_t client;
    uint64_t ended_at;
    node_id origin;
};

struct sessions {
    struct session_slot *slots;
    size_t cap; /* power of two */
    size_t count;
    struct session_end *ended; /* ended[head .. tail) */
    size_t head, tail, ended_cap;
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
    free(s->ended);
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
                           uint64_t client, uint64_t seq, uint64_t ended_at)
{
    *slot = (struct session_slot){
        .client = client, .seq = seq, .ended_at = ended_at, .origin = origin};
    if (++s->count * 2 > s->cap)
        sessions_grow(s);
}

/* Empties slot i and moves later entries of its cluster back, so that every entry stays
 * reachable from its home slot without passing an empty one. */
static void session_delete(struct sessions *s, size_t i)
{
    size_t mask = s->cap - 1;
    for (size_t j = (i + 1) & mask; s->slots[j].origin != NODE_NONE; j = (j + 1) & mask) {
        size_t home = session_hash(s->slots[j].origin, s->slots[j].client) & mask;
        /* Entry j may move to i only if its home is not in the cyclic range (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays)
            continue;
        s->slots[i] = s->slots[j];
        i = j;
    }
    s->slots[i].origin = NODE_NONE;
    s->count--;
}

enum session_verdict sessions_admit(struct sessions *s, node_id origin, uint64_t client,
                                    uint64_t seq)
{
    CHECK(origin != NODE_NONE);
    struct session_slot *slot = session_find(s->slots, s->cap, origin, client);
    if (slot->origin != NODE_NONE && slot->ended_at)
        return SESSION_DUPLICATE; /* its connection is gone: nobody waits for a reply */
    uint64_t last = slot->origin != NODE_NONE ? slot->seq : 0;
    if (seq <= last)
        return SESSION_DUPLICATE;
    if (seq > last + 1)
        return SESSION_GAP;
    if (slot->origin != NODE_NONE) {
        slot->seq = seq;
        return SESSION_NEXT;
    }
    session_insert(s, slot, origin, client, seq, 0);
    return SESSION_NEXT;
}

static void sessions_push_ended(struct sessions *s, node_id origin, uint64_t client,
                                uint64_t at)
{
    if (s->tail == s->ended_cap) {
        if (s->head > 0) { /* reclaim what was forgotten */
            memmove(s->ended, s->ended + s->head, (s->tail - s->head) * sizeof *s->ended);
            s->tail -= s->head;
            s->head = 0;
        }
        if (s->tail == s->ended_cap) {
            s->ended_cap = s->ended_cap ? s->ended_cap * 2 : 64;
            s->ended = realloc(s->ended, s->ended_cap * sizeof *s->ended);
            CHECK(s->ended != NULL);
        }
    }
    s->ended[s->tail++] = (struct session_end){.client = client, .ended_at = at, .origin = origin};
}

void sessions_end(struct sessions *s, node_id origin, uint64_t client, uint64_t at)
{
    struct session_slot *slot = session_find(s->slots, s->cap, origin, client);
    CHECK(slot->origin != NODE_NONE && slot->ended_at == 0 && at >= 1);
    slot->ended_at = at;
    sessions_push_ended(s, origin, client, at);
}

size_t sessions_end_all(struct sessions *s, node_id origin, uint64_t below, uint64_t at)
{
    CHECK(at >= 1);
    size_t ended = 0;
    for (size_t i = 0; i < s->cap; i++) {
        struct session_slot *slot = &s->slots[i];
        if (slot->origin == origin && slot->client < below && slot->ended_at == 0) {
            slot->ended_at = at;
            sessions_push_ended(s, origin, slot->client, at);
            ended++;
        }
    }
    return ended;
}

void sessions_purge(struct sessions *s, uint64_t instance)
{
    while (s->head < s->tail && instance > s->ended[s->head].ended_at &&
           instance - s->ended[s->head].ended_at > COMMAND_WINDOW) {
        const struct session_end *e = &s->ended[s->head++];
        struct session_slot *slot = session_find(s->slots, s->cap, e->origin, e->client);
        CHECK(slot->origin != NODE_NONE && slot->ended_at == e->ended_at);
        session_delete(s, (size_t)(slot - s->slots));
    }
    if (s->head == s->tail)
        s->head = s->tail = 0;
}

size_t sessions_count(const struct sessions *s) { return s->count; }

size_t sessions_ended_count(const struct sessions *s) { return s->tail - s->head; }

void sessions_foreach(const struct sessions *s,
                      void (*fn)(node_id origin, uint64_t client, uint64_t seq, uint64_t ended_at,
                                 void *ctx),
                      void *ctx)
{
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i].origin != NODE_NONE)
            fn(s->slots[i].origin, s->slots[i].client, s->slots[i].seq, s->slots[i].ended_at,
               ctx);
}

bool sessions_restore(struct sessions *s, node_id origin, uint64_t client, uint64_t seq,
                      uint64_t ended_at)
{
    CHECK(origin != NODE_NONE && seq >= 1);
    struct session_slot *slot = session_find(s->slots, s->cap, origin, client);
    if (slot->origin != NODE_NONE)
        return false;
    session_insert(s, slot, origin, client, seq, ended_at);
    if (ended_at)
        sessions_push_ended(s, origin, client, ended_at);
    return true;
}

static int session_end_order(const void *a, const void *b)
{
    uint64_t x = ((const struct session_end *)a)->ended_at;
    uint64_t y = ((const struct session_end *)b)->ended_at;
    return x < y ? -1 : x > y;
}

void sessions_restore_done(struct sessions *s)
{
    /* Only the instance matters to sessions_purge, so ties may come in any order. */
    if (s->tail > s->head) /* none: s->ended may be NULL, and NULL + 0 is undefined */
        qsort(s->ended + s->head, s->tail - s->head, sizeof *s->ended, session_end_order);
}
