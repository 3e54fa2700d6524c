/* The memos of the searches: hash tables of visited configurations (Lowe's memoisation, as in
 * Porcupine). A configuration is a key (model state and placed completed ops) and an extra
 * set (placed unknown ops), all short arrays of words kept in one arena; each key holds a
 * chain of the extra sets stored with it, so that lookups can also match stored sets that
 * are subsets or supersets of the one asked about: placing an unknown op only ever takes an
 * option away, so where a configuration failed, one with more unknown ops placed and
 * otherwise the same fails too (and one that succeeded, with fewer, succeeds). */
#include "check/internal.h"

#include "common/check.h"

#include <stdlib.h>
#include <string.h>

void memo_init(struct memo *m) { *m = (struct memo){0}; }

void memo_free(struct memo *m)
{
    free(m->hashes);
    free(m->offsets);
    free(m->extras);
    free(m->arena);
    *m = (struct memo){0};
}

static void memo_rehash(struct memo *m)
{
    size_t old_size = m->hashes ? m->mask + 1 : 0;
    uint64_t *hashes = m->hashes, *offsets = m->offsets, *extras = m->extras;
    size_t size = old_size ? old_size * 2 : 1024;
    m->hashes = ck_malloc(size * sizeof *m->hashes);
    m->offsets = ck_calloc(size, sizeof *m->offsets);
    m->extras = ck_malloc(size * sizeof *m->extras);
    m->mask = size - 1;
    for (size_t i = 0; i < old_size; i++) {
        if (!offsets[i])
            continue;
        size_t j = hashes[i] & m->mask;
        while (m->offsets[j])
            j = (j + 1) & m->mask;
        m->hashes[j] = hashes[i];
        m->offsets[j] = offsets[i];
        m->extras[j] = extras[i];
    }
    free(hashes);
    free(offsets);
    free(extras);
}

/* The slot holding the key, or the empty slot where it would go. */
static size_t find(const struct memo *m, uint64_t hash, const uint64_t *key, size_t len)
{
    size_t i = hash & m->mask;
    for (; m->offsets[i]; i = (i + 1) & m->mask) {
        const uint64_t *stored = m->arena + m->offsets[i] - 1;
        if (m->hashes[i] == hash && stored[0] == len &&
            memcmp(stored + 1, key, len * sizeof *key) == 0)
            break;
    }
    return i;
}

/* Appends [head, len, words] and returns its offset + 1. */
static uint64_t append(struct memo *m, uint64_t head, const uint64_t *words, size_t len)
{
    ck_grow(&m->arena, &m->arena_cap, m->arena_len + 2 + len, sizeof *m->arena);
    uint64_t at = m->arena_len;
    m->arena[at] = head;
    m->arena[at + 1] = len;
    memcpy(m->arena + at + 2, words, len * sizeof *words);
    m->arena_len += 2 + len;
    return at + 1;
}

bool memo_find(const struct memo *m, uint64_t hash, const uint64_t *key, size_t len,
               const uint64_t *extra, enum memo_match match)
{
    if (!m->hashes)
        return false;
    size_t i = find(m, hash, key, len);
    if (!m->offsets[i])
        return false;
    for (uint64_t e = m->extras[i]; e; e = m->arena[e - 1]) {
        const uint64_t *stored = m->arena + e + 1;
        bool hit = match == MEMO_SUBSET ? bitset_words_subset(stored, extra)
                                        : bitset_words_subset(extra, stored);
        if (hit)
            return true;
    }
    return false;
}

void memo_add(struct memo *m, uint64_t hash, const uint64_t *key, size_t len,
              const uint64_t *extra, size_t extra_len)
{
    if (!m->hashes || (m->count + 1) * 2 > m->mask + 1)
        memo_rehash(m);
    size_t i = find(m, hash, key, len);
    if (!m->offsets[i]) {
        /* the key's blob: [unused, len, words]; offsets point past the unused word */
        m->offsets[i] = append(m, 0, key, len) + 1;
        m->hashes[i] = hash;
        m->extras[i] = 0;
        m->count++;
    }
    m->extras[i] = append(m, m->extras[i], extra, extra_len);
}

size_t memo_bytes(const struct memo *m)
{
    size_t slots = m->hashes ? m->mask + 1 : 0;
    return slots * 3 * sizeof(uint64_t) + m->arena_cap * sizeof(uint64_t);
}
