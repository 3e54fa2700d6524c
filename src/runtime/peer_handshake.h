/* The frames that open a peer connection (docs/protocols/peer-transport.md).
 *
 * HELLO, from the connecting replica: who is talking, in which cluster, to whom, where it
 * listens for peers (so that a replica that does not know its address can connect back: a
 * replica that joined knows only the members named on its command line), and whether it
 * authenticates. Without a cluster key that is all: the acceptor checks it and the frames that
 * follow are protocol messages. With a key (auth set, nonce filled in) the acceptor answers
 * CHALLENGE (its own nonce and a MAC proving it knows the key) and the connecting replica
 * answers PROOF (its MAC) before sending anything else; peer_auth.h computes the MACs. */
#ifndef CATENA_RUNTIME_PEER_HANDSHAKE_H
#define CATENA_RUNTIME_PEER_HANDSHAKE_H

#include "common/buf.h"
#include "core/types.h"

#include <stdbool.h>
#include <stddef.h>

#define PEER_HANDSHAKE_MAGIC 0x4e544143u /* "CATN" */
/* 3: HELLO gained the auth byte and nonce; CHALLENGE and PROOF are new. 4: the engine's
 * PROGRESS carries hop round trips, PROBE and PROBE_REPLY are new. 5: ACCEPT carries the
 * leader's durable instance, DURABLE is new. 6: STATE_REQUEST says how much the joiner holds.
 * 7: PROBE and PROBE_REPLY carry the sender's ballot. (Replicas of another version would drop
 * such messages as malformed, so they are refused at the handshake instead.) */
#define PEER_PROTOCOL_VERSION 7
#define PEER_NONCE_BYTES 32
#define PEER_MAC_BYTES 32

enum peer_handshake_type { PEER_CHALLENGE = 2, PEER_PROOF = 3 };

struct peer_handshake {
    uint16_t version;
    node_id from;
    node_id to;
    char cluster_id[64];
    char host[64];  /* the sender's peer address; empty if it has none to give */
    uint16_t port;
    bool auth;      /* the sender has a cluster key and will prove it */
    uint8_t nonce[PEER_NONCE_BYTES]; /* fresh per connection; only with auth */
};

/* Appends the HELLO as one frame (length prefix included). */
void peer_handshake_encode(struct buf *out, const struct peer_handshake *h);
/* Decodes a HELLO frame body; false with a reason when it is not one. A HELLO of another
 * version decodes as far as its version (the caller refuses it by that). */
bool peer_handshake_decode(const uint8_t *body, size_t len, struct peer_handshake *h,
                           const char **reason);

/* CHALLENGE: nonce and MAC; PROOF: MAC only (nonce NULL). Whole frames, length included. */
void peer_handshake_encode_auth(struct buf *out, enum peer_handshake_type type,
                                const uint8_t *nonce, const uint8_t *mac);
/* Decodes a CHALLENGE (nonce non-NULL) or PROOF frame body; false when it is not one. */
bool peer_handshake_decode_auth(const uint8_t *body, size_t len, enum peer_handshake_type type,
                                uint8_t *nonce, uint8_t *mac);

#endif
