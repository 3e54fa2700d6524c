/* Bitsets of placed ops, with a short canonical form for the memos: ops are placed roughly in
 * invocation order, so a set is mostly full words, a few mixed ones, then empty words. */
#include "check/internal.h"

#include <stdlib.h>
#include <string.h>

void bitset_init(struct bitset *b, size_t nbits)
{
    b->nwords = (nbits + 63) / 64;
    b->w = ck_calloc(b->nwords, sizeof *b->w);
    b->lo = b->hi = 0;
}

void bitset_free(struct bitset *b)
{
    free(b->w);
    *b = (struct bitset){0};
}

void bitset_flip(struct bitset *b, uint32_t bit)
{
    size_t word = bit / 64;
    b->w[word] ^= (uint64_t)1 << (bit % 64);
    if (word < b->lo)
        b->lo = word;
    if (word >= b->hi)
        b->hi = word + 1;
}

bool bitset_test(const struct bitset *b, uint32_t bit)
{
    return b->w[bit / 64] >> (bit % 64) & 1;
}

/* Moves lo up and hi down to the exact bounds. */
static void tighten(struct bitset *b)
{
    while (b->lo < b->nwords && b->w[b->lo] == UINT64_MAX)
        b->lo++;
    while (b->hi > b->lo && b->w[b->hi - 1] == 0)
        b->hi--;
    if (b->hi < b->lo)
        b->hi = b->lo;
}

uint32_t bitset_first_zero(struct bitset *b)
{
    tighten(b);
    if (b->lo == b->nwords)
        return (uint32_t)(b->nwords * 64);
    return (uint32_t)(b->lo * 64 + (size_t)__builtin_ctzll(~b->w[b->lo]));
}

size_t bitset_serialize(struct bitset *b, uint64_t *out)
{
    tighten(b);
    size_t count = b->hi - b->lo;
    out[0] = (uint64_t)b->lo << 32 | count;
    memcpy(out + 1, b->w + b->lo, count * sizeof *out);
    return 1 + count;
}

/* Word w of a serialized set. */
static uint64_t word_of(const uint64_t *s, size_t w)
{
    size_t lo = s[0] >> 32, count = s[0] & UINT32_MAX;
    if (w < lo)
        return UINT64_MAX;
    return w < lo + count ? s[1 + w - lo] : 0;
}

bool bitset_words_subset(const uint64_t *a, const uint64_t *b)
{
    size_t a_lo = a[0] >> 32, b_lo = b[0] >> 32;
    size_t a_end = a_lo + (a[0] & UINT32_MAX), b_end = b_lo + (b[0] & UINT32_MAX);
    size_t end = a_end > b_end ? a_end : b_end;
    for (size_t w = a_lo < b_lo ? a_lo : b_lo; w < end; w++)
        if (word_of(a, w) & ~word_of(b, w))
            return false;
    return true;
}
