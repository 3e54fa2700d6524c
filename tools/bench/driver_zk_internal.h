/* Shared by driver_zk.c (sessions, the loop side) and driver_zk_ops.c (requests and the
 * client's callbacks). */
#ifndef CATENA_BENCH_DRIVER_ZK_INTERNAL_H
#define CATENA_BENCH_DRIVER_ZK_INTERNAL_H

#include "bench/driver_zk.h"
#include "bench/keygen.h"

#include <pthread.h>
#include <zookeeper/zookeeper.h>

/* Where a write is: setData first; createNode if the znode was missing; setData again if
 * another session created it meanwhile. */
enum zk_write_stage { ZK_WRITE_SET, ZK_WRITE_CREATE, ZK_WRITE_SET_AGAIN };

#define ZK_PARENT_PENDING 1 /* no ZooKeeper result is positive */

/* One request, from submit until its result is handled on the loop. */
struct zk_request {
    struct zk_request *prev, *next; /* the connection's requests (loop thread only) */
    struct zk_request *done_next;   /* the finished queue (under the connection's lock) */
    struct bench_driver_conn *conn;
    void *token;
    enum bench_op op;
    enum zk_write_stage stage; /* client threads only, one callback at a time */
    int rc;                    /* the result, once finished */
    int value_len;
    char path[sizeof BENCH_ZK_PARENT + BENCH_KEY_SIZE];
    char value[]; /* a write's value, kept for the createNode that may follow */
};

struct bench_driver_conn {
    zhandle_t *zh;
    uv_loop_t *loop;
    uv_async_t wake;     /* the client's threads wake the loop */
    uv_timer_t deadline; /* the connect timeout; then the deferred close */
    uv_timer_t stall_timer; /* the stall watchdog (driver_zk_stall.c) */
    int handles_open;
    const struct bench_driver_events *events;
    void *owner;
    bool serializable;
    /* Under lock: written by the client's threads, read by the loop. */
    pthread_mutex_t lock;
    struct zk_request *done_head, *done_tail;
    int session_state;       /* the last state the watcher saw */
    int parent_rc;           /* the parent's createNode, ZK_PARENT_PENDING until answered */
    /* Loop thread only. */
    struct zk_request *requests; /* given to the client, not yet handled */
    bool parent_asked;           /* the parent's createNode was sent */
    bool connected;              /* connected(true) reported: closed() is owed */
    bool closing;
    char close_error[200];       /* why it broke; "" when close was asked for */
    uint64_t handled;            /* requests handled so far: the watchdog's sign of progress */
    uint64_t handled_at_tick;    /* handled at the watchdog's last tick */
    bool pending_at_tick;        /* requests were outstanding at that tick */
};

/* driver_zk_ops.c */
/* Hands a read or write to the client; false if it refused (the request is then freed). */
bool zk_ops_submit(struct bench_driver_conn *c, enum bench_op op, const char *key,
                   size_t key_len, const char *value, size_t value_len, void *token);
/* The outcome of a finished request's ZooKeeper result. */
enum bench_outcome zk_ops_outcome(const struct zk_request *r);

/* driver_zk_stall.c */
/* Starts the watchdog of a connected session (its timer is initialised by zk_connect). */
void zk_stall_watch(struct bench_driver_conn *c);
/* How many times, in the whole process, a stalled session was nudged. */
uint64_t zk_stall_nudges(void);

/* driver_zk.c */
/* From any thread: r is finished (r->rc set); the loop will handle it. */
void zk_conn_finished(struct bench_driver_conn *c, struct zk_request *r);

#endif
