/* The interface between catena-bench's load loop and a system under test. A driver opens
 * asynchronous connections on a worker's libuv loop, submits reads and writes on them, and
 * reports each request's completion through a callback, run from that loop (the loop is the
 * poll: uv_run delivers completions as replies arrive). Requests on one connection may be
 * pipelined up to the worker's limit; the driver keeps no limit of its own.
 *
 * catena and redis share the RESP driver (driver_resp.c); etcd (driver_etcd.c) speaks HTTP/JSON
 * through libcurl, ZooKeeper (driver_zk.c) its own protocol through its C client. */
#ifndef CATENA_BENCH_DRIVER_H
#define CATENA_BENCH_DRIVER_H

#include "bench/options.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

enum bench_op { BENCH_OP_READ, BENCH_OP_WRITE };

enum bench_outcome {
    BENCH_OUTCOME_OK,          /* any reply that is not an error (a read of a missing key too) */
    BENCH_OUTCOME_ERROR_REPLY, /* the server answered with an error */
    BENCH_OUTCOME_NO_REPLY,    /* the connection broke or was closed before the reply */
};

struct bench_driver_conn; /* one connection, owned by the driver */

/* What a connection reports to its owner; context is the owner's pointer given to connect. */
struct bench_driver_events {
    /* Once per connection: ok, or not with a reason (the connection is then gone). */
    void (*connected)(void *context, bool ok, const char *error);
    /* Once per submitted request, with the token given to submit. error is the server's
     * error text or the connection's, NULL when ok; valid during the call only. */
    void (*completed)(void *token, enum bench_outcome outcome, const char *error);
    /* Once, after a connection that was connected is gone (every pending request has
     * completed with BENCH_OUTCOME_NO_REPLY by then). error is NULL when bench_driver.close
     * asked for it, or says why the connection broke. The connection is freed after. */
    void (*closed)(void *context, const char *error);
};

/* Server-side counters of one server, read before and after the measured phase to give the
 * cost per operation. A driver fills the ones its server exposes and marks them present. */
struct bench_server_counters {
    bool has_cpu, has_peer;
    double cpu_s; /* user + system CPU of the server process */
    uint64_t peer_messages_sent, peer_messages_received;
    uint64_t peer_bytes_sent, peer_bytes_received;
    char id[64]; /* how the server names itself (a replica id), or "" */
};

struct bench_driver {
    const char *name;
    /* Starts connecting to host on loop; completion through events->connected. NULL (with
     * error filled) if it could not even start. */
    struct bench_driver_conn *(*connect)(uv_loop_t *loop, const struct bench_options *options,
                                         const struct bench_host *host,
                                         const struct bench_driver_events *events,
                                         void *context, char *error, size_t error_size);
    /* Sends a request (value unused for reads). False if it could not be queued: then no
     * completion comes for it. */
    bool (*submit)(struct bench_driver_conn *c, enum bench_op op, const char *key,
                   size_t key_len, const char *value, size_t value_len, void *token);
    /* Closes a connection: pending requests complete with NO_REPLY, then events->closed. */
    void (*close)(struct bench_driver_conn *c);
    /* Optional (NULL: no cost figures): reads host's counters synchronously, from any
     * thread. False with error filled when the server cannot be asked. */
    bool (*server_counters)(const struct bench_host *host, struct bench_server_counters *out,
                            char *error, size_t error_size);
    /* Optional: after the run, prints what the driver did that the report does not show (a
     * workaround it had to use), one line each, or nothing. */
    void (*print_notes)(FILE *out);
};

/* The driver named name, or NULL. */
const struct bench_driver *bench_driver_find(const char *name);
/* "catena, redis": for messages. */
const char *bench_driver_names(void);

#endif
