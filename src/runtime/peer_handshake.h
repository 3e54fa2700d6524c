/* The first frame on a peer connection: who is talking, in which cluster, to whom, and where
 * it listens for peers (so that a replica that does not know its address can connect back:
 * a replica that joined knows only the members named on its command line). */
#ifndef CATENA_RUNTIME_PEER_HANDSHAKE_H
#define CATENA_RUNTIME_PEER_HANDSHAKE_H

#include "common/buf.h"
#include "core/types.h"

#include <stdbool.h>
#include <stddef.h>

#define PEER_HANDSHAKE_MAGIC 0x4e544143u /* "CATN" */
#define PEER_PROTOCOL_VERSION 2

struct peer_handshake {
    uint16_t version;
    node_id from;
    node_id to;
    char cluster_id[64];
    char host[64];  /* the sender's peer address; empty if it has none to give */
    uint16_t port;
};

/* Appends the handshake as one frame (length prefix included). */
void peer_handshake_encode(struct buf *out, const struct peer_handshake *h);
/* Decodes a frame body; false with a reason when it is not a handshake. */
bool peer_handshake_decode(const uint8_t *body, size_t len, struct peer_handshake *h,
                           const char **reason);

#endif
