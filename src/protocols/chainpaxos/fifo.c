#include "protocols/chainpaxos/fifo.h"

#include "common/check.h"

#include <stdlib.h>
#include <string.h>

void chain_fifo_init(struct chain_fifo *q, size_t item_size)
{
    CHECK(item_size >= sizeof(struct chain_fifo_item));
    *q = (struct chain_fifo){.item_size = item_size};
    buf_init(&q->data);
}

void chain_fifo_free(struct chain_fifo *q)
{
    free(q->items);
    buf_free(&q->data);
}

void *chain_fifo_push(struct chain_fifo *q, const void *record, size_t len)
{
    if (q->count == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 64;
        q->items = realloc(q->items, q->item_size * q->cap);
        CHECK(q->items != NULL);
    }
    struct chain_fifo_item *item = (void *)(q->items + q->count++ * q->item_size);
    memset(item, 0, q->item_size);
    item->offset = q->data.len;
    item->len = len;
    buf_append(&q->data, record, len);
    return item;
}

void chain_fifo_pop(struct chain_fifo *q, size_t n)
{
    CHECK(n <= chain_fifo_size(q));
    q->head += n;
    if (q->head == q->count) {
        q->head = q->count = 0;
        buf_clear(&q->data);
        return;
    }
    if (q->head < 1024 || q->head * 2 < q->count)
        return;
    size_t first = ((struct chain_fifo_item *)chain_fifo_at(q, 0))->offset;
    size_t left = chain_fifo_size(q);
    buf_consume(&q->data, first);
    memmove(q->items, chain_fifo_at(q, 0), q->item_size * left);
    for (size_t i = 0; i < left; i++)
        ((struct chain_fifo_item *)(q->items + i * q->item_size))->offset -= first;
    q->head = 0;
    q->count = left;
}
