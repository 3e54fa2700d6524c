/* The MACs of the authenticated peer handshake (docs/protocols/peer-transport.md): HMAC-SHA256
 * keyed with the cluster key over a label naming the side that proves, the HELLO frame body as
 * sent (version, cluster id, sender and receiver ids, address, the connecting side's nonce) and
 * the accepting side's nonce. Each side's MAC covers a nonce the other just drew, so a
 * recorded handshake proves nothing on a new connection; the labels differ, so one side's MAC
 * cannot be reflected back as the other's. */
#ifndef CATENA_RUNTIME_PEER_AUTH_H
#define CATENA_RUNTIME_PEER_AUTH_H

#include "runtime/peer_handshake.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PEER_KEY_MAX_BYTES 1024

struct peer_auth_key {
    uint8_t bytes[PEER_KEY_MAX_BYTES];
    size_t len; /* 0: no key, peers are not authenticated */
};

enum peer_auth_role {
    PEER_AUTH_ACCEPTOR,  /* the replica that accepted the connection (CHALLENGE) */
    PEER_AUTH_CONNECTOR, /* the replica that opened it (PROOF) */
};

/* Fills nonce with PEER_NONCE_BYTES from the system's random source. */
void peer_auth_nonce(uint8_t *nonce);
/* The MAC `role` sends: PEER_MAC_BYTES into mac. */
void peer_auth_mac(const struct peer_auth_key *key, enum peer_auth_role role,
                   const uint8_t *hello, size_t hello_len, const uint8_t *acceptor_nonce,
                   uint8_t *mac);
/* Whether mac is the one `role` must send; compared in constant time. */
bool peer_auth_verify(const struct peer_auth_key *key, enum peer_auth_role role,
                      const uint8_t *hello, size_t hello_len, const uint8_t *acceptor_nonce,
                      const uint8_t *mac);

#endif
