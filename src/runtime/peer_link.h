/* Links between replicas (DESIGN.md "Wire format between replicas").
 *
 * Every replica opens one outbound TCP connection to each other member and sends on it only;
 * it receives on the connections its peers opened. A connection starts with a handshake
 * (peer_handshake.h, docs/protocols/peer-transport.md): a HELLO frame (magic, version, cluster
 * id, sender id, receiver id, the sender's listening host and port); with a cluster key, also
 * a challenge-response in which both sides prove the key (peer_auth.h), and the connecting side
 * sends nothing else until the acceptor has proved it. The acceptor refuses a wrong cluster
 * id, an invalid sender id, a wrong receiver, a missing or wrong key; refusals are counted and
 * logged at most once per address every 10 s (peer_refusals.h); a handshake not done within
 * PEER_HANDSHAKE_TIMEOUT_MS is abandoned. A sender that is not in this replica's configuration
 * is accepted (a replica asking to join): the engine decides what it may do; this replica opens
 * a link back to where it listens. Frames are `u32 length | body`; before the handshake only
 * small frames are accepted.
 *
 * peer_send() only appends a frame to the peer's buffer; peer_flush_all(), called once per
 * event-loop iteration, turns everything queued for a peer into one write. While a peer is
 * unreachable its frames stay queued (bounded by max_buffer_bytes, then dropped and counted;
 * an empty queue always takes one frame, so a state transfer larger than the bound still goes)
 * and the link reconnects with exponential back-off. Messages to an id without a link (a
 * member whose address is not known yet) are dropped and counted. What was in flight when a
 * link broke is lost: the protocol engine retransmits what matters. */
#ifndef CATENA_RUNTIME_PEER_LINK_H
#define CATENA_RUNTIME_PEER_LINK_H

#include "common/buf.h"
#include "core/types.h"
#include "runtime/peer_auth.h"
#include "runtime/peer_refusals.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct peer_counters {
    uint64_t messages_sent, bytes_sent;
    uint64_t messages_received, bytes_received;
    uint64_t messages_dropped; /* queued while unreachable beyond the buffer limit */
    uint64_t connects;
};

struct peer_set;

#define PEER_HANDSHAKE_TIMEOUT_MS 5000
/* A CHALLENGE frame: length, magic, type, nonce, MAC. */
#define PEER_CHALLENGE_FRAME_BYTES (4 + 4 + 1 + PEER_NONCE_BYTES + PEER_MAC_BYTES)

/* The connecting side of an authenticated handshake, between HELLO and the CHALLENGE. */
struct peer_link_handshake {
    bool waiting;         /* HELLO sent, CHALLENGE not yet checked */
    struct buf hello;     /* the HELLO body as sent: both MACs cover it */
    uint8_t challenge[PEER_CHALLENGE_FRAME_BYTES]; /* bytes received so far */
    size_t challenge_len;
};

struct peer_link {
    struct peer_set *set;
    node_id id;
    struct sockaddr_storage address;
    bool configured;
    uv_tcp_t *tcp; /* outbound connection, NULL while disconnected */
    bool connected; /* and the handshake done: frames may be sent */
    struct peer_link_handshake handshake;
    uv_timer_t reconnect_timer;
    uint64_t backoff_ms;
    uint64_t up_since_ms; /* when the handshake last completed */
    struct buf pending; /* frames not yet handed to the kernel */
    struct buf writing; /* frames of the write in flight */
    uv_write_t write_req;
    bool write_in_flight;
    struct peer_counters counters; /* also counts inbound traffic of ids without a link */
};

typedef void (*peer_message_cb)(void *ctx, node_id from, const uint8_t *data, size_t len);
/* The established connection to `peer` was lost (called from libuv callbacks, never from
 * inside peer_send). */
typedef void (*peer_down_cb)(void *ctx, node_id peer);

struct peer_set {
    uv_loop_t *loop;
    node_id self;
    char cluster_id[64];
    size_t max_buffer_bytes;
    size_t max_frame_bytes;
    uv_tcp_t listener;
    struct peer_link links[CATENA_MAX_NODES + 1]; /* indexed by node id */
    struct inbound_conn *inbound;                 /* accepted connections */
    char host[64]; /* where this replica listens, told to peers in the handshake */
    uint16_t port;
    peer_message_cb on_message;
    peer_down_cb on_down;
    void *ctx;
    bool closing;
    uint64_t unroutable_dropped; /* SENDs to an id without a link */
    uint64_t oversized_dropped;  /* SENDs larger than max_frame_bytes */
    struct peer_auth_key key;    /* --cluster-key; len 0 without one */
    struct peer_refusals refusals;
    uv_timer_t handshake_timer;  /* closes inbound connections whose handshake is too slow */
};

struct peer_set_config {
    node_id self;
    const char *cluster_id;
    const char *listen_host;
    uint16_t listen_port;
    size_t max_buffer_bytes;
    size_t max_frame_bytes;
    const uint8_t *cluster_key; /* copied; NULL or length 0 for none */
    size_t cluster_key_len;     /* at most PEER_KEY_MAX_BYTES */
};

/* Starts listening; returns 0 or a libuv error code (message logged). */
int peer_set_start(struct peer_set *s, uv_loop_t *loop, const struct peer_set_config *config,
                   peer_message_cb on_message, peer_down_cb on_down, void *ctx);
/* Declares member `id` at host:port and starts connecting to it; if it already has a link at
 * another address, the link moves there (frames still queued follow). Returns 0 or -1 when
 * the address does not resolve (logged; an existing link is left as it was). */
int peer_set_add(struct peer_set *s, node_id id, const char *host, uint16_t port);
void peer_send(struct peer_set *s, node_id to, const uint8_t *body, size_t len);
void peer_flush_all(struct peer_set *s);
/* Closes every handle; the loop then runs until their close callbacks have fired. */
void peer_set_close(struct peer_set *s);
/* Frees buffers once the loop has finished closing the handles. */
void peer_set_release(struct peer_set *s);

#endif
