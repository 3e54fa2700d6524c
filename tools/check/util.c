/* Allocation that aborts on failure (like the rest of catena), hashing, buffer printing. */
#include "check/internal.h"

#include "common/check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *ck_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    CHECK(p != NULL);
    return p;
}

void *ck_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    CHECK(p != NULL);
    return p;
}

void ck_grow(void *array_ptr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return;
    size_t n = *cap ? *cap : 8;
    while (n < need) {
        CHECK(n <= SIZE_MAX / 2 / elem);
        n *= 2;
    }
    void **array = array_ptr;
    void *p = realloc(*array, n * elem);
    CHECK(p != NULL);
    *array = p;
    *cap = n;
}

char *ck_strdup(const char *s)
{
    size_t len = strlen(s);
    char *copy = ck_malloc(len + 1);
    memcpy(copy, s, len + 1);
    return copy;
}

uint64_t ck_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t ck_hash_bytes(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ len;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = ck_mix64(h ^ w) + 0x9e3779b97f4a7c15ULL;
        p += 8;
        len -= 8;
    }
    uint64_t w = 0;
    if (len)
        memcpy(&w, p, len);
    return ck_mix64(h ^ w ^ ((uint64_t)len << 56));
}

void ck_bprintf(struct buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    CHECK(n >= 0);
    if ((size_t)n < sizeof small) {
        buf_append(b, small, (size_t)n);
        return;
    }
    buf_reserve(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

const char *ck_cstr(struct buf *b)
{
    buf_reserve(b, 1);
    b->data[b->len] = '\0';
    return (const char *)b->data;
}
