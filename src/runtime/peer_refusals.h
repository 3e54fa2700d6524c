/* Peer connections refused, on either side of a handshake (another cluster, an invalid id, a
 * missing or wrong cluster key, a replayed handshake): counted for INFO, and logged at most
 * once per remote address and reason every PEER_REFUSAL_LOG_MS, so that a peer retrying every
 * few milliseconds, or a flood of strangers, cannot fill the log. */
#ifndef CATENA_RUNTIME_PEER_REFUSALS_H
#define CATENA_RUNTIME_PEER_REFUSALS_H

#include <stdbool.h>
#include <stdint.h>

#define PEER_REFUSAL_LOG_MS 10000
#define PEER_REFUSAL_SLOTS 64 /* (address, reason) pairs remembered; the least recent goes */

struct peer_refusal_slot {
    char address[48];
    const char *why; /* a string literal: compared by address */
    uint64_t logged_ms;
    uint64_t unlogged; /* refusals not logged since */
};

struct peer_refusals {
    uint64_t refused;     /* handshakes refused, or abandoned by the other side */
    uint64_t auth_failed; /* of those, for the cluster key: missing, wrong, or a replay */
    struct peer_refusal_slot slots[PEER_REFUSAL_SLOTS];
};

/* Counts one refusal of a connection with `address` (the remote IP) and logs
 * "<context>: <why> (address <address>)" unless the same address and reason were logged
 * within PEER_REFUSAL_LOG_MS. why must be a string literal; auth: the cluster key is why. */
void peer_refusal_note(struct peer_refusals *r, uint64_t now_ms, const char *address,
                       const char *why, bool auth, const char *context);

#endif
