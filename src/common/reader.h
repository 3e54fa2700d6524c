/* Bounds-checked little-endian reader for bytes that came from the network or a file.
 * Reading past the end never crashes: it sets `failed` and returns zeroes, so a decoder reads
 * every field and checks `failed` once at the end. */
#ifndef CATENA_COMMON_READER_H
#define CATENA_COMMON_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct reader {
    const uint8_t *data;
    size_t len;
    size_t pos;
    bool failed;
};

static inline struct reader reader_make(const void *data, size_t len)
{
    return (struct reader){.data = data, .len = len};
}
static inline size_t reader_left(const struct reader *r) { return r->len - r->pos; }

uint8_t reader_u8(struct reader *r);
uint16_t reader_u16(struct reader *r);
uint32_t reader_u32(struct reader *r);
uint64_t reader_u64(struct reader *r);
/* Returns a pointer to the next n bytes inside the input (no copy), or NULL on overrun. */
const uint8_t *reader_bytes(struct reader *r, size_t n);

#endif
