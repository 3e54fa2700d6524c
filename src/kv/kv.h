/* The deterministic key-value state machine: an in-memory keyspace of strings with Redis
 * semantics. Every replica executes the same decided commands in the same order and reaches
 * the same state; only the replica the client is connected to encodes a reply.
 *
 * kv_execute runs one data command (a command table entry flagged READ or WRITE). The caller
 * has checked the command exists and its arity; kv still validates everything else (syntax,
 * integer parsing) deterministically and answers with Redis' exact error text. */
#ifndef CATENA_KV_KV_H
#define CATENA_KV_KV_H

#include "common/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kv;

struct kv_stats {
    uint64_t keys;
    uint64_t bytes; /* keys plus values */
    uint64_t commands_executed;
};

struct kv *kv_create(void);
void kv_destroy(struct kv *kv);
/* Frees at most `budget` keys (then the rest of kv); true once kv is gone (keyspace.h). */
bool kv_destroy_some(struct kv *kv, size_t budget);

/* argv[0] is the command name (any case). When out is NULL the reply is not encoded (other
 * replicas), otherwise it is appended to out in protocol version proto (2 or 3). */
void kv_execute(struct kv *kv, uint32_t argc, const uint8_t *const *argv, const size_t *lens,
                struct buf *out, int proto);

void kv_get_stats(const struct kv *kv, struct kv_stats *stats);
/* Order-independent digest of the whole keyspace (maintained incrementally, O(1)): two
 * replicas with equal digests hold the same keys and values, with overwhelming probability. */
uint64_t kv_digest(const struct kv *kv);

/* Snapshots of the whole replicated state, keyspace and session table, for state transfer
 * and durability (format in snapshot.c). Executed-command stats are not part of it. */
void kv_snapshot_write(const struct kv *kv, struct buf *out); /* appends to out */
/* A new kv holding exactly the snapshot's content, or NULL with a one-line reason in err
 * (when err_size > 0). Any bytes may be passed: they are validated, never trusted, and
 * memory use is bounded by len. */
struct kv *kv_snapshot_read(const uint8_t *data, size_t len, char *err, size_t err_size);

#endif
