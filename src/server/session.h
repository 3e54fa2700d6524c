/* Per-client-connection state: the RESP parser, the protocol version, and the queue that keeps
 * replies in request order while some requests wait for the log and others are answered at
 * once (pipelining: replies must leave in the order requests came). */
#ifndef CATENA_SERVER_SESSION_H
#define CATENA_SERVER_SESSION_H

#include "common/buf.h"
#include "resp/parser.h"
#include "runtime/client_conn.h"

#include <stdbool.h>
#include <stdint.h>

struct server;

/* Sequence numbers of commands that enter the log are 1, 2, 3... per connection (the session
 * table executes them strictly in that order); replies that wait without entering the log
 * (local reads, CATENA.ADD/REMOVE) count apart, with the top bit set so both kinds can wait
 * in one reply queue. */
#define SESSION_LOCAL_SEQ_BIT (1ull << 63)

enum read_mode {
    READ_LINEARIZABLE, /* local linearizable read (ENGINE_EVENT_READ): the default */
    READ_CHAIN,        /* ordered through the log like a write */
    READ_STALE,        /* this replica's current state, at once */
};

/* Back-pressure: a client with this many requests, or this many bytes of them, waiting for
 * their replies is not read further until half of them are answered. A pipelining client
 * thus cannot pile up commands that the log takes in more slowly than it sends them (the
 * leader's flow-control window, docs/protocols/chainpaxos.md §5.2): TCP holds them back. */
#define SESSION_MAX_WAITING_REQUESTS 16384
#define SESSION_MAX_WAITING_BYTES (8u << 20)

struct pending_reply {
    uint64_t seq;      /* sequence number of a replicated command; 0 for local replies */
    size_t request_bytes; /* of the request, as the client sent it */
    bool write;        /* an ordered write: later reads of the connection wait for it */
    bool done;         /* reply is complete in `reply` */
    bool close_after;  /* QUIT or protocol error: close once this reply is written */
    struct buf reply;
};

struct session {
    struct server *server;
    struct client_conn *conn;
    struct resp_parser parser;
    int proto; /* 2 or 3 (HELLO) */
    bool authenticated; /* AUTH done, or no password required (auth.h) */
    char *name;
    char lib_name[64], lib_ver[64];
    uint64_t next_seq;      /* commands ordered through the log */
    uint64_t next_read_seq; /* local reads and other deferred local replies */
    struct pending_reply *queue; /* ring */
    size_t queue_head, queue_count, queue_cap;
    size_t queued_reply_bytes; /* of completed replies waiting in the queue for earlier ones */
    size_t waiting_request_bytes; /* request_bytes of the queue */
    bool stop_reading; /* after QUIT or a protocol error */
    bool input_paused; /* back-pressure: too many requests waiting for their replies */
    enum read_mode read_mode;
    /* Read-your-writes on one connection: a read that follows a write not yet executed waits
     * here (records, in order) and goes to the engine once the writes are done. */
    uint64_t writes_outstanding;
    struct buf held_reads;
    uint32_t held_read_count;
    bool on_round_end_list;
    struct session *next_round_end;
};

void session_open(struct server *s, struct client_conn *c);
void session_close(struct session *se);
/* Parses and dispatches every complete request in the connection's input, until the client
 * has too many requests waiting for their replies (then pauses its input). */
void session_on_data(struct session *se);
/* Reads a paused client's input again (at the end of a loop iteration). */
void session_resume_input(struct session *se);

/* Reserves the reply slot of command `seq` (in request order); `write` if it is an ordered
 * write that later reads of this connection must observe. */
void session_track_replicated(struct session *se, uint64_t seq, bool write);
/* Reserves the reply slot of a local command answered later (CATENA.ADD waiting for its
 * change); returns the seq for session_replicated_begin/done. */
uint64_t session_track_deferred(struct session *se);
/* Where to write the reply for the command just dispatched if it is answered now. The caller
 * appends its reply to the returned buffer, then calls session_local_done. */
struct buf *session_local_begin(struct session *se);
void session_local_done(struct session *se, bool close_after);
/* Where to write the reply of replicated command `seq` (NULL if it is not waiting, or if the
 * client is over --max-client-output and about to be closed); call session_replicated_done
 * after writing. */
struct buf *session_replicated_begin(struct session *se, uint64_t seq);
void session_replicated_done(struct session *se, uint64_t seq);
/* The same, and the connection closes once this reply is written. */
void session_replicated_done_close(struct session *se, uint64_t seq);

#endif
