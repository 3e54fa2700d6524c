/* Address resolution and listening sockets shared by the client listener and the peer links. */
#ifndef CATENA_RUNTIME_NET_H
#define CATENA_RUNTIME_NET_H

#include <netinet/in.h>
#include <stdint.h>
#include <uv.h>

/* Resolves host (name or address literal) and port; 0 or -1. */
int net_resolve(const char *host, uint16_t port, struct sockaddr_storage *out);
/* Initialises tcp (tcp->data = data) and listens on host:port; 0 or a libuv error, logged with
 * `what` ("clients", "peers"). */
int net_listen(uv_loop_t *loop, uv_tcp_t *tcp, void *data, const char *host, uint16_t port,
               int backlog, uv_connection_cb on_connection, const char *what);
/* The remote end of a connection as text: its IP address into host ("?" if unknown), and its
 * port into *port (0 if unknown). */
void net_peer_name(const uv_tcp_t *tcp, char *host, size_t host_size, uint16_t *port);
/* Writes a copy of len bytes to the stream and forgets it: for the few small frames of a
 * handshake, whose failure the reading side sees as a broken connection anyway. */
void net_write_copy(uv_stream_t *stream, const void *data, size_t len);

#endif
