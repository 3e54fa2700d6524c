#include "kv/keyspace.h"

#include "common/check.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define KS_INITIAL_SIZE 4
/* A rehash step gives up after this many empty buckets so one operation stays O(1) even
 * when it lands on a sparse stretch of the old table (Redis uses the same bound). */
#define KS_REHASH_EMPTY_VISITS 10
/* Past this size APPEND grows the value room linearly instead of doubling it (like sds). */
#define KS_GREEDY_LIMIT (1024 * 1024)

struct ks_entry {
    struct ks_entry *next;
    uint64_t hash; /* seeded hash of the key: buckets are found without rehashing keys */
    size_t klen;
    size_t vlen;
    size_t vcap;     /* room for the value; >= vlen */
    uint8_t data[];  /* klen key bytes, then vcap value bytes */
};

struct ks_table {
    struct ks_entry **buckets;
    size_t size; /* a power of two, or 0 when unused */
    size_t used; /* entries chained in this table */
};

struct keyspace {
    /* t[0] is the table; t[1] exists only during a resize, which moves t[0]'s buckets into
     * it one at a time (rehash_idx is the next bucket of t[0] to move). */
    struct ks_table t[2];
    size_t rehash_idx;
    size_t free_idx; /* keyspace_destroy_some: the next bucket to free */
    uint64_t seed;
    uint64_t bytes;
    uint64_t digest;
};

static void table_init(struct ks_table *t, size_t size)
{
    t->buckets = calloc(size, sizeof *t->buckets);
    CHECK(t->buckets != NULL);
    t->size = size;
    t->used = 0;
}

/* Frees t's entries from bucket *from on, at most *budget of them (counted down); true once t
 * is empty and its buckets are freed too. */
static bool table_free_some(struct ks_table *t, size_t *from, size_t *budget)
{
    for (; *from < t->size; (*from)++) {
        if (*budget == 0)
            return false;
        struct ks_entry *e = t->buckets[*from];
        for (; e && *budget > 0; (*budget)--) {
            struct ks_entry *next = e->next;
            free(e);
            e = next;
        }
        t->buckets[*from] = e;
        if (e)
            return false; /* the rest of this chain next time */
    }
    free(t->buckets);
    *t = (struct ks_table){0};
    *from = 0;
    return true;
}

static void table_free(struct ks_table *t)
{
    size_t from = 0, budget = SIZE_MAX;
    table_free_some(t, &from, &budget);
}

static bool rehashing(const struct keyspace *ks) { return ks->t[1].buckets != NULL; }

static uint64_t hash_key(const struct keyspace *ks, const void *key, size_t klen)
{
    return XXH3_64bits_withSeed(key, klen, ks->seed);
}

/* An entry's share of the digest. It uses an unseeded key hash so replicas with different
 * seeds agree, and seeds the value hash with it so (key, value) pairs cannot be confused by
 * moving bytes between key and value. With seed 0 the stored hash already is that key hash. */
static uint64_t entry_digest(const struct keyspace *ks, const struct ks_entry *e)
{
    uint64_t kh = ks->seed == 0 ? e->hash : XXH3_64bits(e->data, e->klen);
    return XXH3_64bits_withSeed(e->data + e->klen, e->vlen, kh);
}

/* Removes e's contribution to the totals; account_add puts it back after a change. */
static void account_sub(struct keyspace *ks, const struct ks_entry *e)
{
    ks->bytes -= e->klen + e->vlen;
    ks->digest -= entry_digest(ks, e);
}

static void account_add(struct keyspace *ks, const struct ks_entry *e)
{
    ks->bytes += e->klen + e->vlen;
    ks->digest += entry_digest(ks, e);
}

static size_t next_pow2(size_t n)
{
    size_t size = KS_INITIAL_SIZE;
    while (size < n)
        size *= 2;
    return size;
}

static void start_resize(struct keyspace *ks, size_t size)
{
    CHECK(!rehashing(ks));
    if (size == ks->t[0].size)
        return;
    table_init(&ks->t[1], size);
    ks->rehash_idx = 0;
}

/* Called before an insert: keeps the load factor (entries per bucket) at most 1. */
static void maybe_grow(struct keyspace *ks)
{
    if (!rehashing(ks) && ks->t[0].used + 1 > ks->t[0].size)
        start_resize(ks, ks->t[0].size * 2);
}

/* Called after a delete or a finished resize: gives back most of the bucket array of a table
 * that emptied out, keeping room for twice the remaining entries so that alternating inserts
 * and deletes do not resize back and forth. */
static void maybe_shrink(struct keyspace *ks)
{
    struct ks_table *t = &ks->t[0];
    if (!rehashing(ks) && t->size > KS_INITIAL_SIZE && t->used * 8 < t->size)
        start_resize(ks, next_pow2(t->used * 2));
}

/* Moves one bucket of t[0] into t[1]; finishes the resize when t[0] is empty. */
static void rehash_step(struct keyspace *ks)
{
    if (!rehashing(ks))
        return;
    struct ks_table *from = &ks->t[0], *to = &ks->t[1];
    for (int empty = 0; from->used > 0 && from->buckets[ks->rehash_idx] == NULL; empty++) {
        if (empty == KS_REHASH_EMPTY_VISITS)
            return;
        ks->rehash_idx++;
    }
    if (from->used > 0) {
        struct ks_entry *e = from->buckets[ks->rehash_idx];
        from->buckets[ks->rehash_idx++] = NULL;
        while (e) {
            struct ks_entry *next = e->next;
            size_t idx = e->hash & (to->size - 1);
            e->next = to->buckets[idx];
            to->buckets[idx] = e;
            from->used--;
            to->used++;
            e = next;
        }
    }
    if (from->used == 0) {
        free(from->buckets);
        *from = *to;
        *to = (struct ks_table){0};
        ks->rehash_idx = 0;
        /* Deletes during a shrink may have left the new table too sparse as well. */
        maybe_shrink(ks);
    }
}

/* The link (bucket head or a predecessor's next) that points at key's entry, or NULL;
 * *table tells which table holds it. The link lets callers unlink or reallocate the entry. */
static struct ks_entry **lookup_link(struct keyspace *ks, const void *key, size_t klen,
                                     uint64_t hash, int *table)
{
    for (int i = 0; i <= (rehashing(ks) ? 1 : 0); i++) {
        struct ks_table *t = &ks->t[i];
        struct ks_entry **link = &t->buckets[hash & (t->size - 1)];
        for (; *link; link = &(*link)->next) {
            struct ks_entry *e = *link;
            if (e->hash == hash && e->klen == klen && memcmp(e->data, key, klen) == 0) {
                *table = i;
                return link;
            }
        }
    }
    return NULL;
}

static struct ks_entry *entry_new(uint64_t hash, const void *key, size_t klen, const void *val,
                                  size_t vlen)
{
    CHECK(klen <= SIZE_MAX / 2 && vlen <= SIZE_MAX / 2 - sizeof(struct ks_entry) - klen);
    struct ks_entry *e = malloc(sizeof *e + klen + vlen);
    CHECK(e != NULL);
    *e = (struct ks_entry){.hash = hash, .klen = klen, .vlen = vlen, .vcap = vlen};
    memcpy(e->data, key, klen);
    if (vlen)
        memcpy(e->data + klen, val, vlen);
    return e;
}

/* Changes the room for e's value (which stays, truncated to cap) and relinks the entry. */
static struct ks_entry *entry_resize(struct ks_entry **link, size_t cap)
{
    struct ks_entry *e = *link;
    CHECK(cap <= SIZE_MAX / 2 - sizeof(struct ks_entry) - e->klen);
    e = realloc(e, sizeof *e + e->klen + cap);
    CHECK(e != NULL);
    e->vcap = cap;
    if (e->vlen > cap)
        e->vlen = cap;
    *link = e;
    return e;
}

static void insert_new(struct keyspace *ks, struct ks_entry *e)
{
    maybe_grow(ks);
    /* During a resize new entries go straight to the new table, so the old one only shrinks. */
    struct ks_table *t = &ks->t[rehashing(ks) ? 1 : 0];
    size_t idx = e->hash & (t->size - 1);
    e->next = t->buckets[idx];
    t->buckets[idx] = e;
    t->used++;
    account_add(ks, e);
}

struct keyspace *keyspace_create(uint64_t seed)
{
    struct keyspace *ks = calloc(1, sizeof *ks);
    CHECK(ks != NULL);
    ks->seed = seed;
    table_init(&ks->t[0], KS_INITIAL_SIZE);
    return ks;
}

void keyspace_destroy(struct keyspace *ks)
{
    if (!ks)
        return;
    table_free(&ks->t[0]);
    table_free(&ks->t[1]);
    free(ks);
}

bool keyspace_destroy_some(struct keyspace *ks, size_t budget)
{
    for (int k = 1; k >= 0; k--)
        if (!table_free_some(&ks->t[k], &ks->free_idx, &budget))
            return false;
    free(ks);
    return true;
}

const struct ks_entry *keyspace_find(struct keyspace *ks, const void *key, size_t klen)
{
    rehash_step(ks);
    int table;
    struct ks_entry **link = lookup_link(ks, key, klen, hash_key(ks, key, klen), &table);
    return link ? *link : NULL;
}

bool keyspace_set(struct keyspace *ks, const void *key, size_t klen, const void *val,
                  size_t vlen)
{
    rehash_step(ks);
    uint64_t hash = hash_key(ks, key, klen);
    int table;
    struct ks_entry **link = lookup_link(ks, key, klen, hash, &table);
    if (!link) {
        insert_new(ks, entry_new(hash, key, klen, val, vlen));
        return true;
    }
    struct ks_entry *e = *link;
    account_sub(ks, e);
    /* Reuse the allocation unless it is too small or would waste more than half of itself. */
    if (vlen > e->vcap || vlen < e->vcap / 2)
        e = entry_resize(link, vlen);
    if (vlen)
        memcpy(e->data + e->klen, val, vlen);
    e->vlen = vlen;
    account_add(ks, e);
    return false;
}

size_t keyspace_append(struct keyspace *ks, const void *key, size_t klen, const void *data,
                       size_t len)
{
    rehash_step(ks);
    uint64_t hash = hash_key(ks, key, klen);
    int table;
    struct ks_entry **link = lookup_link(ks, key, klen, hash, &table);
    if (!link) {
        /* Most appended-to keys start here; give them exactly the first piece like Redis. */
        insert_new(ks, entry_new(hash, key, klen, data, len));
        return len;
    }
    struct ks_entry *e = *link;
    account_sub(ks, e);
    size_t need = e->vlen + len;
    if (need > e->vcap)
        e = entry_resize(link, need < KS_GREEDY_LIMIT ? need * 2 : need + KS_GREEDY_LIMIT);
    if (len)
        memcpy(e->data + e->klen + e->vlen, data, len);
    e->vlen = need;
    account_add(ks, e);
    return need;
}

bool keyspace_delete(struct keyspace *ks, const void *key, size_t klen)
{
    rehash_step(ks);
    int table;
    struct ks_entry **link = lookup_link(ks, key, klen, hash_key(ks, key, klen), &table);
    if (!link)
        return false;
    struct ks_entry *e = *link;
    *link = e->next;
    ks->t[table].used--;
    account_sub(ks, e);
    free(e);
    maybe_shrink(ks);
    return true;
}

/* Frees everything synchronously: FLUSHALL ASYNC has no background thread to hand it to. */
void keyspace_clear(struct keyspace *ks)
{
    table_free(&ks->t[0]);
    table_free(&ks->t[1]);
    table_init(&ks->t[0], KS_INITIAL_SIZE);
    ks->rehash_idx = 0;
    ks->bytes = 0;
    ks->digest = 0;
}

/* Both tables during a resize: every entry is in exactly one of them. */
void keyspace_foreach(const struct keyspace *ks, void (*fn)(const struct ks_entry *e, void *ctx),
                      void *ctx)
{
    for (int i = 0; i < 2; i++)
        for (size_t b = 0; b < ks->t[i].size; b++)
            for (const struct ks_entry *e = ks->t[i].buckets[b]; e; e = e->next)
                fn(e, ctx);
}

size_t keyspace_count(const struct keyspace *ks) { return ks->t[0].used + ks->t[1].used; }
uint64_t keyspace_bytes(const struct keyspace *ks) { return ks->bytes; }
uint64_t keyspace_digest(const struct keyspace *ks) { return ks->digest; }
size_t keyspace_buckets(const struct keyspace *ks) { return ks->t[0].size; }
bool keyspace_rehashing(const struct keyspace *ks) { return rehashing(ks); }

const uint8_t *ks_entry_key(const struct ks_entry *e) { return e->data; }
size_t ks_entry_key_len(const struct ks_entry *e) { return e->klen; }
const uint8_t *ks_entry_value(const struct ks_entry *e) { return e->data + e->klen; }
size_t ks_entry_value_len(const struct ks_entry *e) { return e->vlen; }
