/* The exactly-once session table: highest executed sequence number per (origin, client).
 * Part of the replicated state: every replica holds the same table after the same commands. */
#ifndef CATENA_KV_SESSIONS_H
#define CATENA_KV_SESSIONS_H

#include "core/types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sessions;

struct sessions *sessions_create(void);
void sessions_destroy(struct sessions *s);
enum session_verdict {
    SESSION_NEXT,      /* seq is the next one of (origin, client): execute it (recorded) */
    SESSION_DUPLICATE, /* already executed */
    SESSION_GAP,       /* an earlier command of this connection has not executed yet: skip it;
                        * the origin resubmits everything in order (exactly-once, in order) */
};

/* Sequence numbers of a connection start at 1 and have no holes. */
enum session_verdict sessions_admit(struct sessions *s, node_id origin, uint64_t client,
                                    uint64_t seq);
size_t sessions_count(const struct sessions *s);

/* Calls fn once per (origin, client) with its highest executed seq, in table order (which
 * depends on the insertion history, not only on the content). */
void sessions_foreach(const struct sessions *s,
                      void (*fn)(node_id origin, uint64_t client, uint64_t seq, void *ctx),
                      void *ctx);
/* Records (origin, client) as having executed up to seq (restoring a snapshot): origin is not
 * NODE_NONE and seq >= 1. Returns false, changing nothing, if the pair is already present. */
bool sessions_restore(struct sessions *s, node_id origin, uint64_t client, uint64_t seq);

#endif
