/* Requests and the ZooKeeper client's completion callbacks. The callbacks run on the client's
 * completion thread (or, while a session closes, on the thread closing it): they may issue the
 * next step of a write, and otherwise only hand the request to the loop. */
#include "bench/driver_zk_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void zk_ops_finish(struct zk_request *r, int rc)
{
    r->rc = rc;
    zk_conn_finished(r->conn, r);
}

static void zk_ops_set_done(int rc, const struct Stat *stat, const void *data);

static void zk_ops_create_done(int rc, const char *path, const void *data)
{
    struct zk_request *r = (struct zk_request *)data;
    (void)path;
    if (rc != ZNODEEXISTS) {
        zk_ops_finish(r, rc);
        return;
    }
    /* Another session created it between our setData and createNode: set it now. */
    r->stage = ZK_WRITE_SET_AGAIN;
    rc = zoo_aset(r->conn->zh, r->path, r->value, r->value_len, -1, zk_ops_set_done, r);
    if (rc != ZOK)
        zk_ops_finish(r, rc);
}

static void zk_ops_set_done(int rc, const struct Stat *stat, const void *data)
{
    struct zk_request *r = (struct zk_request *)data;
    (void)stat;
    if (rc != ZNONODE || r->stage != ZK_WRITE_SET) {
        zk_ops_finish(r, rc);
        return;
    }
    /* The key's first write: its znode does not exist yet. */
    r->stage = ZK_WRITE_CREATE;
    rc = zoo_acreate(r->conn->zh, r->path, r->value, r->value_len, &ZOO_OPEN_ACL_UNSAFE, 0,
                     zk_ops_create_done, r);
    if (rc != ZOK)
        zk_ops_finish(r, rc);
}

static void zk_ops_get_done(int rc, const char *value, int value_len, const struct Stat *stat,
                            const void *data)
{
    struct zk_request *r = (struct zk_request *)data;
    (void)value, (void)value_len, (void)stat;
    zk_ops_finish(r, rc);
}

/* The sync of a linearizable read came back: now the getData (see zk_ops_read). */
static void zk_ops_sync_done(int rc, const char *path, const void *data)
{
    struct zk_request *r = (struct zk_request *)data;
    (void)path;
    if (rc == ZOK)
        rc = zoo_aget(r->conn->zh, r->path, 0, zk_ops_get_done, r);
    if (rc != ZOK)
        zk_ops_finish(r, rc);
}

enum bench_outcome zk_ops_outcome(const struct zk_request *r)
{
    switch (r->rc) {
    case ZOK:
        return BENCH_OUTCOME_OK;
    case ZNONODE: /* a read of a key never written */
        return r->op == BENCH_OP_READ ? BENCH_OUTCOME_OK : BENCH_OUTCOME_ERROR_REPLY;
    case ZCONNECTIONLOSS: case ZSESSIONEXPIRED: case ZCLOSING: case ZOPERATIONTIMEOUT:
    case ZINVALIDSTATE:
        return BENCH_OUTCOME_NO_REPLY;
    default:
        return BENCH_OUTCOME_ERROR_REPLY;
    }
}

/* A linearizable read: sync, then getData once the sync has come back (zk_ops_sync_done).
 * Sending both back to back would save a round trip (a server holds a session's read behind
 * that session's sync), but it stalls Debian's ZooKeeper 3.8.0: its CommitProcessor checks
 * for work outside its lock and can miss the wakeup for a request queued in that instant
 * (ZOOKEEPER-4537, fixed in 3.8.1). A getData queued while the server is still busy with the
 * sync hits that instant often, and with no other client to wake the server it waits until
 * the client gives up on the connection (2/3 of the session timeout): at one connection, most
 * 5-second runs failed that way. Sent after the sync's reply, it finds the server idle again
 * nearly always; driver_zk_stall.c wakes a server that forgot it all the same. */
static int zk_ops_read(struct bench_driver_conn *c, struct zk_request *r)
{
    if (c->serializable)
        return zoo_aget(c->zh, r->path, 0, zk_ops_get_done, r);
    return zoo_async(c->zh, r->path, zk_ops_sync_done, r);
}

bool zk_ops_submit(struct bench_driver_conn *c, enum bench_op op, const char *key,
                   size_t key_len, const char *value, size_t value_len, void *token)
{
    size_t kept = op == BENCH_OP_WRITE ? value_len : 0;
    if (key_len >= BENCH_KEY_SIZE || value_len > 0x7fffffff)
        return false;
    struct zk_request *r = malloc(sizeof *r + kept);
    if (!r)
        return false;
    *r = (struct zk_request){.conn = c, .token = token, .op = op, .value_len = (int)kept};
    snprintf(r->path, sizeof r->path, BENCH_ZK_PARENT "/%.*s", (int)key_len, key);
    if (kept) /* a read may come with no value at all */
        memcpy(r->value, value, kept);
    /* Linked before the call: its completion may arrive on another thread at once, but it is
     * handled (and unlinked) only on this loop. */
    r->next = c->requests;
    if (c->requests)
        c->requests->prev = r;
    c->requests = r;
    int rc = op == BENCH_OP_READ ? zk_ops_read(c, r)
                                 : zoo_aset(c->zh, r->path, r->value, r->value_len, -1,
                                            zk_ops_set_done, r);
    if (rc == ZOK)
        return true;
    /* Refused: nothing was sent, no callback will come. */
    c->requests = r->next;
    if (r->next)
        r->next->prev = NULL;
    free(r);
    return false;
}
