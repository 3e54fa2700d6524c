/* Client connections: accept, read into a per-connection input buffer, write replies.
 *
 * The runtime owns sockets and buffers; the server owns what the bytes mean. on_data is called
 * after each read with the connection's whole unconsumed input in `in`; the server consumes
 * what it parsed. Replies are appended to `out` (client_conn_output) and written once per
 * event-loop iteration by client_flush_all(), so pipelined requests share one write.
 *
 * A connection whose unwritten replies exceed max_output_bytes (a client that never reads) is
 * closed, not buffered without end: at the flush, or at once marked for closing by the server
 * (client_conn_mark_over_limit), which also counts replies it holds back for ordering. */
#ifndef CATENA_RUNTIME_CLIENT_CONN_H
#define CATENA_RUNTIME_CLIENT_CONN_H

#include "common/buf.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct client_listener;

struct client_conn {
    uv_tcp_t tcp;
    struct client_listener *listener;
    uint64_t id; /* unique for the life of the process; names the connection in commands */
    struct buf in;
    struct buf out;     /* replies not yet handed to the kernel */
    struct buf writing; /* replies of the write in flight */
    uv_write_t write_req;
    bool write_in_flight;
    bool closing;
    bool close_after_flush; /* QUIT or a protocol error: close once replies are written */
    bool over_limit;        /* over max_output_bytes: closed at the next flush */
    bool dirty;             /* on the flush list */
    bool reading_paused;    /* client_conn_pause_reading: TCP holds the client's requests */
    struct client_conn *next_dirty;
    void *session; /* the server's per-connection state */
    char peer_address[64];
};

struct client_listener_ops {
    void (*on_open)(void *ctx, struct client_conn *c);
    void (*on_data)(void *ctx, struct client_conn *c);
    void (*on_close)(void *ctx, struct client_conn *c); /* before the memory goes away */
};

/* Most simultaneous connections a listener can hold (their ids have 20 bits of slot). */
#define CLIENT_MAX_CONNECTIONS ((size_t)1 << 20)

struct client_listener {
    uv_loop_t *loop;
    uv_tcp_t tcp;
    struct client_listener_ops ops;
    void *ctx;
    size_t max_clients;
    size_t max_output_bytes;
    struct client_conn **slots; /* by id & slot mask */
    size_t slot_count;
    size_t connected;
    uint64_t next_generation;
    struct client_conn *dirty_head;
    uint64_t total_connections, rejected_connections, output_limit_closes;
    uint64_t bytes_in, bytes_out;
};

/* The lowest id this listener will ever give (before its first connection): ids of earlier
 * runs of the process lie below it (END_ALL, core/command.h). */
uint64_t client_listener_first_id(const struct client_listener *l);
int client_listener_start(struct client_listener *l, uv_loop_t *loop, const char *host,
                          uint16_t port, size_t max_clients, size_t max_output_bytes,
                          const struct client_listener_ops *ops, void *ctx);
void client_listener_close(struct client_listener *l);
/* Frees the slot table once the loop has closed every handle. */
void client_listener_release(struct client_listener *l);

/* The buffer to append replies to; marks the connection for the next flush. */
struct buf *client_conn_output(struct client_conn *c);
/* Reply bytes the client has not read that this process still holds: waiting for the flush,
 * and handed to the socket but not yet written. */
size_t client_conn_unsent_bytes(const struct client_conn *c);
/* Stops reading the client's socket, so that the kernel's buffers and then TCP's flow control
 * hold back what it sends (back-pressure), and starts again. */
void client_conn_pause_reading(struct client_conn *c);
void client_conn_resume_reading(struct client_conn *c);
/* The client's output is over max_output_bytes: it is closed at the next flush (counted as
 * an output-limit disconnection). Safe from inside the server's callbacks, unlike a close. */
void client_conn_mark_over_limit(struct client_conn *c);
/* Closes now (replies not yet written are dropped). Safe to call twice. */
void client_conn_close(struct client_conn *c);
/* The connection with this id, or NULL if it has closed since. */
struct client_conn *client_conn_find(struct client_listener *l, uint64_t id);
/* Writes every connection's pending replies; once per event-loop iteration. */
void client_flush_all(struct client_listener *l);

#endif
