/* Growable byte buffer: the one container for frames, replies and log values.
 * Memory is owned by the buffer; pointers into it are valid until the next append.
 * Allocation failure aborts (like redis' zmalloc): there is no sane recovery from OOM. */
#ifndef CATENA_COMMON_BUF_H
#define CATENA_COMMON_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct buf {
    uint8_t *data;
    size_t len;
    size_t cap;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
/* Ensures room for `extra` more bytes after len. */
void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *data, size_t len);
void buf_append_str(struct buf *b, const char *s);
/* Drops the first n bytes (n <= len), moving the rest to the front. */
void buf_consume(struct buf *b, size_t n);
/* Keeps the storage, forgets the content. */
static inline void buf_clear(struct buf *b) { b->len = 0; }
void buf_swap(struct buf *a, struct buf *b);

/* Fixed-width little-endian appends (the wire and log formats of DESIGN.md). */
void buf_put_u8(struct buf *b, uint8_t v);
void buf_put_u16(struct buf *b, uint16_t v);
void buf_put_u32(struct buf *b, uint32_t v);
void buf_put_u64(struct buf *b, uint64_t v);
/* Overwrites a u32 previously appended at offset (for length prefixes filled in later). */
void buf_patch_u32(struct buf *b, size_t offset, uint32_t v);
void buf_patch_u64(struct buf *b, size_t offset, uint64_t v);

#endif
