/* Peer messages held back until the EFFECT_PERSIST records emitted before them are durable
 * (the contract in core/outbox.h), released in the order they were emitted. The runtime's
 * store and the simulator's disk both keep one. */
#ifndef CATENA_CORE_HELD_SENDS_H
#define CATENA_CORE_HELD_SENDS_H

#include "common/buf.h"
#include "core/types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct held_sends {
    struct buf bytes; /* u64 waits_for, u32 to, u32 length, message; from pos on */
    size_t pos;
};

typedef void (*held_send_fn)(void *ctx, node_id to, const uint8_t *data, size_t len);

void held_init(struct held_sends *h);
void held_free(struct held_sends *h);
/* Drops every held message (a crash). */
void held_clear(struct held_sends *h);
bool held_empty(const struct held_sends *h);
/* Holds a message until held_release is called with durable >= waits_for. */
void held_push(struct held_sends *h, uint64_t waits_for, node_id to, const uint8_t *data,
               size_t len);
/* Sends, in order, the messages up to the first one that waits for more than `durable`. */
void held_release(struct held_sends *h, uint64_t durable, held_send_fn send, void *ctx);

#endif
