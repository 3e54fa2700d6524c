/* Applying a decided batch to the state machine, shared by the server and the simulator.
 *
 * Every command record carries (origin replica, client connection, sequence number), and the
 * sequence numbers of a connection's ordered commands are 1, 2, 3... The session table
 * remembers, per (origin, client), the highest one executed. A record is executed only if it is
 * the next one; at or below, it is a duplicate (duplicated by the network, or retried and also
 * recovered) and above, an earlier command was lost on the way: both are skipped on every
 * replica alike. The origin's engine resubmits unexecuted commands in order until they execute,
 * so every command runs exactly once and in the order the client sent it. A command decided
 * more than COMMAND_WINDOW instances after its submission is skipped too (command_stale), and
 * sessions end by END and END_ALL records (core/command.h, kv/sessions.h). */
#ifndef CATENA_KV_APPLY_H
#define CATENA_KV_APPLY_H

#include "common/buf.h"
#include "common/reader.h"
#include "core/command.h"
#include "kv/kv.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Called for each command executed whose origin is this replica: return the buffer to encode
 * its reply into (and set *proto), or NULL when nobody waits for it; then `done` is called
 * after the reply was written. */
struct kv_reply_target {
    struct buf *(*begin)(void *ctx, const struct command_header *h, int *proto);
    void (*done)(void *ctx, const struct command_header *h);
    void *ctx;
    node_id self;
};

struct kv_apply_stats {
    uint64_t commands_executed;
    uint64_t duplicates_skipped;
    uint64_t gaps_skipped;  /* waiting for an earlier command's resubmission */
    uint64_t stale_skipped; /* decided too long after their submission (COMMAND_WINDOW) */
    uint64_t sessions_ended; /* by END and END_ALL records */
    uint64_t malformed_batches;
};

/* Applies the batch (u32 count, records) decided at `instance`; an empty payload is a no-op
 * instance. Every instance must be applied, in order (sessions that ended long enough ago are
 * forgotten as instances pass). Returns false if the batch is malformed (every replica stops
 * at the same record). */
bool kv_apply_batch(struct kv *kv, uint64_t instance, const uint8_t *data, size_t len,
                    const struct kv_reply_target *target, struct command_args *scratch,
                    struct kv_apply_stats *stats);

/* The same in slices, for a caller that must not be held for a whole batch: kv_apply_start,
 * then kv_apply_some until it stops returning KV_APPLY_MORE. The batch's bytes must stay in
 * place meanwhile (or the cursor's reader be pointed at a copy, at the same position). */
struct kv_apply_cursor {
    uint64_t instance;
    struct reader r; /* at the next record */
    uint32_t left;   /* records not applied yet */
};
enum kv_apply_result { KV_APPLY_DONE, KV_APPLY_MORE, KV_APPLY_MALFORMED };
void kv_apply_start(struct kv *kv, struct kv_apply_cursor *cur, uint64_t instance,
                    const uint8_t *data, size_t len);
/* Applies up to `max` records. */
enum kv_apply_result kv_apply_some(struct kv *kv, struct kv_apply_cursor *cur, uint32_t max,
                                   const struct kv_reply_target *target,
                                   struct command_args *scratch, struct kv_apply_stats *stats);

/* The session table (exactly-once): true if seq is the next of (origin, client), recorded then;
 * otherwise counts the duplicate or the gap in stats (which may be NULL). */
bool kv_session_admit(struct kv *kv, node_id origin, uint64_t client, uint64_t seq,
                      struct kv_apply_stats *stats);
size_t kv_session_count(const struct kv *kv);       /* live and ended */
size_t kv_session_ended_count(const struct kv *kv); /* ended, not forgotten yet */

#endif
