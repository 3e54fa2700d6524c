/* A FIFO of variable-length records with fixed-size metadata (the engine's waiting reads and its
 * commands in flight). Items are structs whose first member is a struct chain_fifo_item; their
 * records live in one buffer. Popping from the front is O(1); the space of popped items is
 * reclaimed when the queue empties, or in one move once they are the majority. */
#ifndef CATENA_PROTOCOLS_CHAINPAXOS_FIFO_H
#define CATENA_PROTOCOLS_CHAINPAXOS_FIFO_H

#include "common/buf.h"

#include <stddef.h>
#include <stdint.h>

struct chain_fifo_item {
    size_t offset, len; /* the record, in the fifo's data */
};

struct chain_fifo {
    uint8_t *items;
    size_t item_size;
    size_t head, count, cap; /* items[head .. count) are queued */
    struct buf data;
};

void chain_fifo_init(struct chain_fifo *q, size_t item_size);
void chain_fifo_free(struct chain_fifo *q);
/* Appends a copy of the record; returns its item, zeroed but for the header. */
void *chain_fifo_push(struct chain_fifo *q, const void *record, size_t len);
static inline size_t chain_fifo_size(const struct chain_fifo *q) { return q->count - q->head; }
/* The i-th queued item (0 is the front). */
static inline void *chain_fifo_at(const struct chain_fifo *q, size_t i)
{
    return q->items + (q->head + i) * q->item_size;
}
static inline const uint8_t *chain_fifo_record(const struct chain_fifo *q, const void *item)
{
    return q->data.data + ((const struct chain_fifo_item *)item)->offset;
}
/* Removes the n items at the front. */
void chain_fifo_pop(struct chain_fifo *q, size_t n);

#endif
