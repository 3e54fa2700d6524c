#include "common/reader.h"

const uint8_t *reader_bytes(struct reader *r, size_t n)
{
    if (r->failed || reader_left(r) < n) {
        r->failed = true;
        return NULL;
    }
    const uint8_t *p = r->data + r->pos;
    r->pos += n;
    return p;
}

uint8_t reader_u8(struct reader *r)
{
    const uint8_t *p = reader_bytes(r, 1);
    return p ? p[0] : 0;
}

uint16_t reader_u16(struct reader *r)
{
    const uint8_t *p = reader_bytes(r, 2);
    return p ? (uint16_t)(p[0] | p[1] << 8) : 0;
}

uint32_t reader_u32(struct reader *r)
{
    const uint8_t *p = reader_bytes(r, 4);
    if (!p)
        return 0;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t reader_u64(struct reader *r)
{
    uint64_t lo = reader_u32(r);
    uint64_t hi = reader_u32(r);
    return lo | hi << 32;
}
