/* The exactly-once session table: highest executed sequence number per (origin, client).
 * Part of the replicated state: every replica holds the same table after the same commands.
 *
 * A session ends with its connection's END record (or its replica's END_ALL after a restart,
 * core/command.h) and stays as a tombstone for COMMAND_WINDOW instances: a late copy of one of
 * its commands is a duplicate then, and too old to execute afterwards (command_stale), so the
 * entry can go. Ended sessions are forgotten in the order they ended. */
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
    SESSION_DUPLICATE, /* already executed, or the session ended */
    SESSION_GAP,       /* an earlier command of this connection has not executed yet: skip it;
                        * the origin resubmits everything in order (exactly-once, in order) */
};

/* Sequence numbers of a connection start at 1 and have no holes. */
enum session_verdict sessions_admit(struct sessions *s, node_id origin, uint64_t client,
                                    uint64_t seq);
/* Ends (origin, client), which sessions_admit just admitted, at instance `at` (>= 1). */
void sessions_end(struct sessions *s, node_id origin, uint64_t client, uint64_t at);
/* Ends every live session of origin whose client id is below `below`; returns how many. */
size_t sessions_end_all(struct sessions *s, node_id origin, uint64_t below, uint64_t at);
/* Forgets the sessions that ended more than COMMAND_WINDOW instances before `instance`. */
void sessions_purge(struct sessions *s, uint64_t instance);
size_t sessions_count(const struct sessions *s); /* live and ended */
size_t sessions_ended_count(const struct sessions *s);

/* Calls fn once per (origin, client) with its highest executed seq and the instance it ended
 * at (0: live), in table order (which depends on the insertion history, not only on the
 * content). */
void sessions_foreach(const struct sessions *s,
                      void (*fn)(node_id origin, uint64_t client, uint64_t seq, uint64_t ended_at,
                                 void *ctx),
                      void *ctx);
/* Records (origin, client) as having executed up to seq and ended at ended_at (0: live), when
 * restoring a snapshot: origin is not NODE_NONE and seq >= 1. Returns false, changing nothing,
 * if the pair is already present. Call sessions_restore_done after the last one. */
bool sessions_restore(struct sessions *s, node_id origin, uint64_t client, uint64_t seq,
                      uint64_t ended_at);
void sessions_restore_done(struct sessions *s);

#endif
