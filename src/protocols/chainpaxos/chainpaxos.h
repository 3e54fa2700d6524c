/* ChainPaxos engine (docs/protocols/chainpaxos.md), behind the common engine interface
 * (core/engine.h).
 *
 * create() copies the configuration and returns NULL if it is invalid: no members, more than
 * CATENA_MAX_NODES, a zero or repeated id, or `self` not among the members. Zero tunables take
 * the defaults of the doc's §8 (retransmit_ms 200, noop_interval_ms 100, leader_timeout_ms 1000,
 * max_batch_bytes 1 MiB, max_pending_bytes 64 MiB, max_window_bytes 4 MiB). Keep retransmit_ms
 * above noop_interval_ms (plus a tick): followers learn that their last instance went around
 * the chain only from the next ACCEPT, so with rarer heartbeats an idle follower resends its
 * last NOOP every retransmit_ms (harmless duplicates, but wasted messages).
 *
 * Effects of step():
 *   EFFECT_SEND      node = peer, payload = one message (protocols/chainpaxos/messages.h)
 *   EFFECT_SEND_NOW  the same, for QUORUM_ACK (durable engines: not held behind records)
 *   EFFECT_EXECUTE   instance = log position, payload = the batch (u32 count + command records)
 *                    or empty for a NOOP; exactly once per instance, in order from 1, no gaps
 *   EFFECT_LEADER    node = the leader this replica now follows
 *   EFFECT_REJECT    payload = a command record that was not taken (malformed, or no leader
 *                    known and max_pending_bytes reached) */
#ifndef CATENA_PROTOCOLS_CHAINPAXOS_CHAINPAXOS_H
#define CATENA_PROTOCOLS_CHAINPAXOS_CHAINPAXOS_H

#include "core/engine.h"

extern const struct engine_ops chainpaxos_engine_ops;

/* Defaults for zero tunables. */
#define CHAINPAXOS_DEFAULT_RETRANSMIT_MS 200
#define CHAINPAXOS_DEFAULT_NOOP_INTERVAL_MS 100
#define CHAINPAXOS_DEFAULT_LEADER_TIMEOUT_MS 1000
#define CHAINPAXOS_DEFAULT_MAX_BATCH_BYTES ((size_t)1 << 20)
#define CHAINPAXOS_DEFAULT_MAX_PENDING_BYTES ((size_t)64 << 20)
#define CHAINPAXOS_DEFAULT_MAX_WINDOW_BYTES ((size_t)4 << 20)
#define CHAINPAXOS_DEFAULT_CHECKPOINT_BYTES ((size_t)64 << 20)
#define CHAINPAXOS_DEFAULT_STATE_PART_BYTES ((size_t)1 << 20)

#endif
