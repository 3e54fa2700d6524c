#include "common/buf.h"

#include "common/check.h"

#include <stdlib.h>

void buf_init(struct buf *b) { *b = (struct buf){0}; }

void buf_free(struct buf *b)
{
    free(b->data);
    *b = (struct buf){0};
}

void buf_reserve(struct buf *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len < extra)
        cap *= 2;
    b->data = realloc(b->data, cap);
    CHECK(b->data != NULL);
    b->cap = cap;
}

void buf_append(struct buf *b, const void *data, size_t len)
{
    if (len == 0)
        return;
    buf_reserve(b, len);
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

void buf_append_str(struct buf *b, const char *s) { buf_append(b, s, strlen(s)); }

void buf_consume(struct buf *b, size_t n)
{
    CHECK(n <= b->len);
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void buf_swap(struct buf *a, struct buf *b)
{
    struct buf t = *a;
    *a = *b;
    *b = t;
}

void buf_put_u8(struct buf *b, uint8_t v) { buf_append(b, &v, 1); }

void buf_put_u16(struct buf *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    buf_append(b, x, 2);
}

void buf_put_u32(struct buf *b, uint32_t v)
{
    buf_reserve(b, 4);
    buf_patch_u32(b, b->len, v);
    b->len += 4;
}

void buf_put_u64(struct buf *b, uint64_t v)
{
    buf_put_u32(b, (uint32_t)v);
    buf_put_u32(b, (uint32_t)(v >> 32));
}

void buf_patch_u64(struct buf *b, size_t offset, uint64_t v)
{
    buf_patch_u32(b, offset, (uint32_t)v);
    buf_patch_u32(b, offset + 4, (uint32_t)(v >> 32));
}

void buf_patch_u32(struct buf *b, size_t offset, uint32_t v)
{
    uint8_t *p = b->data + offset;
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
