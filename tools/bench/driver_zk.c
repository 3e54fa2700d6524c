/* ZooKeeper sessions on a worker's loop: connecting (session, then the parent znode), the
 * loop side of the bridge from the client's threads, and closing. */
#include "bench/driver_zk_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZK_SESSION_TIMEOUT_MS 10000
#define ZK_CONNECT_TIMEOUT_MS 5000

static pthread_once_t zk_once = PTHREAD_ONCE_INIT;

static void zk_quiet_once(void)
{
    /* The client logs on stderr, even at ERROR level several lines a second per connection
     * while a server refuses it; the bench reports the errors that matter itself. */
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    FILE *null = fopen("/dev/null", "w");
    if (null)
        zoo_set_log_stream(null);
}

void zk_conn_finished(struct bench_driver_conn *c, struct zk_request *r)
{
    pthread_mutex_lock(&c->lock);
    r->done_next = NULL;
    if (c->done_tail)
        c->done_tail->done_next = r;
    else
        c->done_head = r;
    c->done_tail = r;
    pthread_mutex_unlock(&c->lock);
    uv_async_send(&c->wake);
}

/* The client's watcher, on its threads: only session changes matter here. */
static void zk_watcher(zhandle_t *zh, int type, int state, const char *path, void *context)
{
    struct bench_driver_conn *c = context;
    (void)zh, (void)path;
    if (type != ZOO_SESSION_EVENT)
        return;
    pthread_mutex_lock(&c->lock);
    c->session_state = state;
    pthread_mutex_unlock(&c->lock);
    uv_async_send(&c->wake);
}

static void zk_parent_done(int rc, const char *path, const void *data)
{
    struct bench_driver_conn *c = (struct bench_driver_conn *)data;
    (void)path;
    pthread_mutex_lock(&c->lock);
    c->parent_rc = rc;
    pthread_mutex_unlock(&c->lock);
    uv_async_send(&c->wake);
}

static void zk_unlink(struct bench_driver_conn *c, struct zk_request *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        c->requests = r->next;
    if (r->next)
        r->next->prev = r->prev;
}

/* Handles the requests the client finished: each completes, in the order they finished. */
static void zk_handle_finished(struct bench_driver_conn *c)
{
    pthread_mutex_lock(&c->lock);
    struct zk_request *r = c->done_head;
    c->done_head = c->done_tail = NULL;
    pthread_mutex_unlock(&c->lock);
    while (r) {
        struct zk_request *next = r->done_next;
        zk_unlink(c, r);
        c->handled++;
        enum bench_outcome outcome = zk_ops_outcome(r);
        /* The client's own words (zerror) and code; requests cut off by our own close after a
         * lost connection: why we closed. */
        char why[sizeof c->close_error + 40];
        if (r->rc == ZCLOSING && c->close_error[0])
            snprintf(why, sizeof why, "%s", c->close_error);
        else
            snprintf(why, sizeof why, "%s (ZooKeeper error %d)", zerror(r->rc), r->rc);
        if (r->token)
            c->events->completed(r->token, outcome, outcome == BENCH_OUTCOME_OK ? NULL : why);
        free(r);
        r = next;
    }
}

static void zk_handle_closed(uv_handle_t *handle)
{
    struct bench_driver_conn *c = handle->data;
    if (--c->handles_open > 0)
        return;
    if (c->connected)
        c->events->closed(c->owner, c->close_error[0] ? c->close_error : NULL);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* Ends the session (this waits for the client's threads), completes what it left, frees. */
static void zk_teardown(uv_timer_t *timer)
{
    struct bench_driver_conn *c = timer->data;
    if (c->zh)
        zookeeper_close(c->zh); /* pending requests finish with ZCLOSING meanwhile */
    c->zh = NULL;
    zk_handle_finished(c);
    while (c->requests) {
        struct zk_request *r = c->requests;
        zk_unlink(c, r);
        if (r->token)
            c->events->completed(r->token, BENCH_OUTCOME_NO_REPLY, "session closed");
        free(r);
    }
    uv_close((uv_handle_t *)&c->wake, zk_handle_closed);
    uv_close((uv_handle_t *)&c->deadline, zk_handle_closed);
    uv_close((uv_handle_t *)&c->stall_timer, zk_handle_closed);
}

/* Closes on the next loop iteration, outside any callback of this connection. */
static void zk_close_soon(struct bench_driver_conn *c, const char *why)
{
    if (c->closing)
        return;
    c->closing = true;
    snprintf(c->close_error, sizeof c->close_error, "%s", why ? why : "");
    uv_timer_start(&c->deadline, zk_teardown, 0, 0);
}

static void zk_fail_connect(struct bench_driver_conn *c, const char *why)
{
    c->events->connected(c->owner, false, why);
    zk_close_soon(c, why);
}

/* Session changes, as the loop sees them: connected, then the parent znode, then ready; lost. */
static void zk_handle_session(struct bench_driver_conn *c, int state, int parent_rc)
{
    if (c->closing)
        return;
    if (c->connected) {
        /* The client would reconnect by itself, but the bench counts the connection lost. */
        if (state != ZOO_CONNECTED_STATE)
            zk_close_soon(c, state == ZOO_EXPIRED_SESSION_STATE ? "session expired"
                                                                : "connection lost");
        return;
    }
    if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE) {
        zk_fail_connect(c, "session refused");
        return;
    }
    if (state != ZOO_CONNECTED_STATE)
        return; /* still connecting */
    if (!c->parent_asked) {
        c->parent_asked = true;
        if (zoo_acreate(c->zh, BENCH_ZK_PARENT, "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, zk_parent_done,
                        c) != ZOK)
            zk_fail_connect(c, "cannot create " BENCH_ZK_PARENT);
        return;
    }
    if (parent_rc == ZK_PARENT_PENDING)
        return;
    if (parent_rc != ZOK && parent_rc != ZNODEEXISTS) {
        zk_fail_connect(c, zerror(parent_rc));
        return;
    }
    uv_timer_stop(&c->deadline);
    c->connected = true;
    zk_stall_watch(c);
    c->events->connected(c->owner, true, NULL);
}

static void zk_woken(uv_async_t *wake)
{
    struct bench_driver_conn *c = wake->data;
    zk_handle_finished(c);
    pthread_mutex_lock(&c->lock);
    int state = c->session_state, parent_rc = c->parent_rc;
    pthread_mutex_unlock(&c->lock);
    zk_handle_session(c, state, parent_rc);
}

static void zk_connect_expired(uv_timer_t *timer)
{
    struct bench_driver_conn *c = timer->data;
    char why[64];
    snprintf(why, sizeof why, "no ZooKeeper session within %d ms", ZK_CONNECT_TIMEOUT_MS);
    zk_fail_connect(c, why);
}

static struct bench_driver_conn *zk_connect(uv_loop_t *loop, const struct bench_options *o,
                                            const struct bench_host *host,
                                            const struct bench_driver_events *events,
                                            void *owner, char *error, size_t error_size)
{
    pthread_once(&zk_once, zk_quiet_once);
    struct bench_driver_conn *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(error, error_size, "out of memory");
        return NULL;
    }
    *c = (struct bench_driver_conn){.loop = loop, .events = events, .owner = owner,
                                    .serializable = o->serializable_reads,
                                    .parent_rc = ZK_PARENT_PENDING};
    pthread_mutex_init(&c->lock, NULL);
    uv_async_init(loop, &c->wake, zk_woken);
    uv_timer_init(loop, &c->deadline);
    uv_timer_init(loop, &c->stall_timer);
    c->wake.data = c->deadline.data = c->stall_timer.data = c;
    c->handles_open = 3;
    char address[BENCH_HOST_NAME_SIZE + 16];
    const char *open = strchr(host->name, ':') ? "[" : "", *close = *open ? "]" : "";
    snprintf(address, sizeof address, "%s%s%s:%d", open, host->name, close, host->port);
    /* The client's threads start here, and may call zk_watcher before this returns: c->zh
     * is read only on the loop, after. */
    c->zh = zookeeper_init(address, zk_watcher, ZK_SESSION_TIMEOUT_MS, NULL, c, 0);
    if (!c->zh) {
        snprintf(error, error_size, "zookeeper_init failed for %s", address);
        c->closing = true;
        zk_teardown(&c->deadline);
        return NULL;
    }
    uv_timer_start(&c->deadline, zk_connect_expired, ZK_CONNECT_TIMEOUT_MS, 0);
    return c;
}

static bool zk_submit(struct bench_driver_conn *c, enum bench_op op, const char *key,
                      size_t key_len, const char *value, size_t value_len, void *token)
{
    return !c->closing && zk_ops_submit(c, op, key, key_len, value, value_len, token);
}

static void zk_close(struct bench_driver_conn *c)
{
    zk_close_soon(c, NULL);
}

static void zk_print_notes(FILE *out)
{
    uint64_t nudges = zk_stall_nudges();
    if (nudges)
        fprintf(out, "catena-bench: %llu times a ZooKeeper session waited over a quarter of "
                     "a second for a reply; each time an exists was sent to wake its server, in "
                     "case it had lost the request's wakeup (ZooKeeper 3.8.0, ZOOKEEPER-4537; a "
                     "merely slow server gets such a nudge too)\n",
                (unsigned long long)nudges);
}

const struct bench_driver bench_driver_zookeeper = {
    .name = "zookeeper", .connect = zk_connect, .submit = zk_submit, .close = zk_close,
    .print_notes = zk_print_notes,
};
