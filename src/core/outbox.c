#include "core/outbox.h"

#include "common/check.h"

#include <stdlib.h>

void outbox_init(struct outbox *o)
{
    *o = (struct outbox){0};
    buf_init(&o->arena);
}

void outbox_free(struct outbox *o)
{
    free(o->items);
    buf_free(&o->arena);
    *o = (struct outbox){0};
}

void outbox_clear(struct outbox *o)
{
    o->count = 0;
    buf_clear(&o->arena);
}

void outbox_end(struct outbox *o, enum effect_type type, node_id node, instance_no instance,
                size_t start)
{
    CHECK(start <= o->arena.len);
    if (o->count == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 16;
        o->items = realloc(o->items, sizeof *o->items * o->cap);
        CHECK(o->items != NULL);
    }
    o->items[o->count++] = (struct effect){
        .type = type, .node = node, .instance = instance, .offset = start,
        .len = o->arena.len - start};
}

void outbox_push(struct outbox *o, enum effect_type type, node_id node, instance_no instance,
                 const void *payload, size_t len)
{
    size_t start = outbox_begin(o);
    buf_append(&o->arena, payload, len);
    outbox_end(o, type, node, instance, start);
}
