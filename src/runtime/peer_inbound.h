/* Inbound side of the peer links: accept, check the handshake, split frames, deliver. */
#ifndef CATENA_RUNTIME_PEER_INBOUND_H
#define CATENA_RUNTIME_PEER_INBOUND_H

#include "runtime/peer_link.h"

int peer_inbound_listen(struct peer_set *s, const char *host, uint16_t port);
void peer_inbound_close_all(struct peer_set *s);

#endif
