/* Open-addressing hash tables: string interning (keys, and each group's values) and a map from
 * 64-bit keys to 32-bit values (the model's cache of APPEND and INCR results). */
#include "check/internal.h"

#include "common/check.h"

#include <stdlib.h>
#include <string.h>

void strtab_init(struct strtab *t) { *t = (struct strtab){0}; }

void strtab_free(struct strtab *t)
{
    for (size_t i = 0; i < t->count; i++)
        free(t->entries[i].s);
    free(t->entries);
    free(t->slots);
    *t = (struct strtab){0};
}

static void strtab_rehash(struct strtab *t, size_t nslots)
{
    free(t->slots);
    t->slots = ck_calloc(nslots, sizeof *t->slots);
    t->mask = nslots - 1;
    for (size_t i = 0; i < t->count; i++) {
        size_t s = t->entries[i].hash & t->mask;
        while (t->slots[s])
            s = (s + 1) & t->mask;
        t->slots[s] = (uint32_t)i + 1;
    }
}

static int64_t find_hashed(const struct strtab *t, const char *s, size_t len, uint64_t hash)
{
    if (!t->slots)
        return -1;
    for (size_t i = hash & t->mask; t->slots[i]; i = (i + 1) & t->mask) {
        const struct strtab_entry *e = &t->entries[t->slots[i] - 1];
        if (e->hash == hash && e->len == len && (len == 0 || memcmp(e->s, s, len) == 0))
            return t->slots[i] - 1;
    }
    return -1;
}

int64_t strtab_find(const struct strtab *t, const char *s, size_t len)
{
    return find_hashed(t, s, len, ck_hash_bytes(s, len));
}

uint32_t strtab_intern(struct strtab *t, const char *s, size_t len)
{
    uint64_t hash = ck_hash_bytes(s, len);
    int64_t found = find_hashed(t, s, len, hash);
    if (found >= 0)
        return (uint32_t)found;
    CHECK(t->count < UINT32_MAX - 1);
    ck_grow(&t->entries, &t->cap, t->count + 1, sizeof *t->entries);
    char *copy = ck_malloc(len + 1);
    if (len)
        memcpy(copy, s, len);
    copy[len] = '\0';
    t->entries[t->count] = (struct strtab_entry){.s = copy, .len = len, .hash = hash};
    t->count++;
    t->bytes += len + 1;
    if (!t->slots || t->count * 2 > t->mask + 1)
        strtab_rehash(t, t->slots ? (t->mask + 1) * 2 : 64);
    else {
        size_t i = hash & t->mask;
        while (t->slots[i])
            i = (i + 1) & t->mask;
        t->slots[i] = (uint32_t)t->count;
    }
    return (uint32_t)t->count - 1;
}

void u64map_init(struct u64map *m) { *m = (struct u64map){0}; }

void u64map_free(struct u64map *m)
{
    free(m->keys);
    free(m->values);
    *m = (struct u64map){0};
}

bool u64map_get(const struct u64map *m, uint64_t key, uint32_t *value)
{
    if (!m->keys)
        return false;
    for (size_t i = ck_mix64(key) & m->mask; m->values[i]; i = (i + 1) & m->mask) {
        if (m->keys[i] == key) {
            *value = m->values[i] - 1;
            return true;
        }
    }
    return false;
}

static void u64map_place(struct u64map *m, uint64_t key, uint32_t stored)
{
    size_t i = ck_mix64(key) & m->mask;
    while (m->values[i] && m->keys[i] != key)
        i = (i + 1) & m->mask;
    if (!m->values[i])
        m->count++;
    m->keys[i] = key;
    m->values[i] = stored;
}

void u64map_put(struct u64map *m, uint64_t key, uint32_t value)
{
    CHECK(value < UINT32_MAX);
    if (!m->keys || (m->count + 1) * 2 > m->mask + 1) {
        struct u64map old = *m;
        size_t n = old.keys ? (old.mask + 1) * 2 : 64;
        m->keys = ck_malloc(n * sizeof *m->keys);
        m->values = ck_calloc(n, sizeof *m->values);
        m->mask = n - 1;
        m->count = 0;
        for (size_t i = 0; old.keys && i <= old.mask; i++)
            if (old.values[i])
                u64map_place(m, old.keys[i], old.values[i]);
        u64map_free(&old);
    }
    u64map_place(m, key, value + 1);
}
