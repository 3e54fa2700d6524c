#include "runtime/client_conn.h"

#include "common/check.h"
#include "common/log.h"
#include "runtime/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define READ_CHUNK (16 * 1024)
#define SLOT_BITS 20 /* CLIENT_MAX_CONNECTIONS simultaneous connections */

/* Connection ids are exactly-once session keys in the replicated state, which outlives this
 * process: an id is (generation << SLOT_BITS | slot), and generations follow the clock, in
 * quarter milliseconds since 2020 (44 bits: until the 2150s), or the last one + 1 when
 * connections come faster. A restarted replica thus never reuses its last run's ids, unless
 * that run opened more than 4,000 connections per second for long enough to be ahead of the
 * clock by the time it took to restart; and every id of this run lies above the ids of the
 * earlier ones, which END_ALL relies on (core/command.h). */
static uint64_t clock_generation(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    const uint64_t since_2020_s = 1577836800;
    uint64_t s = (uint64_t)t.tv_sec > since_2020_s ? (uint64_t)t.tv_sec - since_2020_s : 0;
    return s * 4000 + (uint64_t)t.tv_nsec / 250000;
}

static void conn_closed_cb(uv_handle_t *h)
{
    struct client_conn *c = h->data;
    buf_free(&c->in);
    buf_free(&c->out);
    buf_free(&c->writing);
    free(c);
}

void client_conn_close(struct client_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    struct client_listener *l = c->listener;
    l->ops.on_close(l->ctx, c);
    l->slots[c->id & ((1u << SLOT_BITS) - 1)] = NULL;
    l->connected--;
    /* libuv runs close callbacks after the check phase of the same loop iteration, so a
     * connection still on the dirty list stays valid until client_flush_all has skipped it. */
    uv_close((uv_handle_t *)&c->tcp, conn_closed_cb);
}

struct client_conn *client_conn_find(struct client_listener *l, uint64_t id)
{
    size_t slot = id & ((1u << SLOT_BITS) - 1);
    if (slot >= l->slot_count)
        return NULL;
    struct client_conn *c = l->slots[slot];
    return c && c->id == id ? c : NULL;
}

struct buf *client_conn_output(struct client_conn *c)
{
    if (!c->dirty) {
        c->dirty = true;
        c->next_dirty = c->listener->dirty_head;
        c->listener->dirty_head = c;
    }
    return &c->out;
}

static void conn_alloc_cb(uv_handle_t *h, size_t size, uv_buf_t *b)
{
    (void)size;
    struct client_conn *c = h->data;
    buf_reserve(&c->in, READ_CHUNK);
    *b = uv_buf_init((char *)c->in.data + c->in.len, (unsigned)(c->in.cap - c->in.len));
}

static void conn_read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *b)
{
    (void)b;
    struct client_conn *c = stream->data;
    if (c->closing)
        return;
    if (nread < 0) {
        client_conn_close(c);
        return;
    }
    c->in.len += (size_t)nread;
    c->listener->bytes_in += (uint64_t)nread;
    c->listener->ops.on_data(c->listener->ctx, c);
}

static void conn_write_cb(uv_write_t *req, int status)
{
    struct client_conn *c = req->data;
    c->write_in_flight = false;
    buf_clear(&c->writing);
    if (c->closing)
        return;
    if (status < 0) {
        client_conn_close(c);
        return;
    }
    if (c->out.len)
        client_conn_output(c); /* more replies arrived meanwhile: next flush sends them */
    else if (c->close_after_flush)
        client_conn_close(c);
}

size_t client_conn_unsent_bytes(const struct client_conn *c)
{
    return c->out.len + (c->write_in_flight ? c->writing.len : 0);
}

void client_conn_pause_reading(struct client_conn *c)
{
    if (c->reading_paused || c->closing)
        return;
    c->reading_paused = true;
    uv_read_stop((uv_stream_t *)&c->tcp);
}

void client_conn_resume_reading(struct client_conn *c)
{
    if (!c->reading_paused || c->closing)
        return;
    c->reading_paused = false;
    uv_read_start((uv_stream_t *)&c->tcp, conn_alloc_cb, conn_read_cb);
}

void client_conn_mark_over_limit(struct client_conn *c)
{
    c->over_limit = true;
    client_conn_output(c); /* on the flush list */
}

/* Closes a client whose unread replies (waiting here, and handed to the socket but not
 * written) exceed --max-client-output, or that the server marked so; true if it did. */
static bool conn_over_limit(struct client_conn *c)
{
    struct client_listener *l = c->listener;
    size_t unread = client_conn_unsent_bytes(c);
    if (unread <= l->max_output_bytes && !c->over_limit)
        return false;
    l->output_limit_closes++;
    log_warn("client %s closed: %zu reply bytes unread (limit --max-client-output)",
             c->peer_address, unread);
    client_conn_close(c);
    return true;
}

/* Tries a direct write first (most replies fit the socket buffer); queues the rest. */
static void conn_flush(struct client_conn *c)
{
    struct client_listener *l = c->listener;
    /* A client that does not read keeps a write in flight forever: replies pile up behind it,
     * and must be counted there too, or they grow without bound. */
    if ((c->write_in_flight || c->over_limit) && conn_over_limit(c))
        return;
    if (c->write_in_flight || c->out.len == 0) {
        if (!c->write_in_flight && c->close_after_flush)
            client_conn_close(c);
        return;
    }
    uv_buf_t b = uv_buf_init((char *)c->out.data, (unsigned)c->out.len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n == UV_EAGAIN)
        n = 0;
    if (n < 0) {
        client_conn_close(c);
        return;
    }
    l->bytes_out += (uint64_t)n;
    buf_consume(&c->out, (size_t)n);
    if (c->out.len == 0) {
        if (c->close_after_flush)
            client_conn_close(c);
        return;
    }
    if (conn_over_limit(c))
        return;
    buf_swap(&c->out, &c->writing);
    b = uv_buf_init((char *)c->writing.data, (unsigned)c->writing.len);
    c->write_req.data = c;
    l->bytes_out += c->writing.len;
    if (uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, conn_write_cb) < 0) {
        client_conn_close(c);
        return;
    }
    c->write_in_flight = true;
}

void client_flush_all(struct client_listener *l)
{
    struct client_conn *c = l->dirty_head;
    l->dirty_head = NULL;
    while (c) {
        struct client_conn *next = c->next_dirty;
        c->dirty = false;
        if (!c->closing)
            conn_flush(c);
        c = next;
    }
}

static void conn_setup(struct client_listener *l, struct client_conn *c, size_t slot)
{
    c->listener = l;
    uint64_t now = clock_generation();
    l->next_generation = now > l->next_generation ? now : l->next_generation + 1;
    c->id = (l->next_generation << SLOT_BITS) | slot;
    l->slots[slot] = c;
    l->connected++;
    l->total_connections++;
    char host[48];
    uint16_t port;
    net_peer_name(&c->tcp, host, sizeof host, &port);
    snprintf(c->peer_address, sizeof c->peer_address, "%s:%u", host, port);
}

/* A free slot index, growing the table when full; SIZE_MAX when at max_clients. */
static size_t listener_free_slot(struct client_listener *l)
{
    if (l->connected >= l->max_clients)
        return SIZE_MAX;
    for (size_t i = 0; i < l->slot_count; i++)
        if (!l->slots[(l->next_generation + i) % l->slot_count])
            return (l->next_generation + i) % l->slot_count;
    size_t old = l->slot_count;
    l->slot_count = old ? old * 2 : 64;
    l->slots = realloc(l->slots, sizeof *l->slots * l->slot_count);
    CHECK(l->slots != NULL);
    memset(l->slots + old, 0, sizeof *l->slots * (l->slot_count - old));
    return old;
}

static void listener_connection_cb(uv_stream_t *server, int status)
{
    struct client_listener *l = server->data;
    if (status < 0)
        return;
    struct client_conn *c = calloc(1, sizeof *c);
    CHECK(c != NULL);
    uv_tcp_init(l->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, conn_closed_cb);
        return;
    }
    size_t slot = listener_free_slot(l);
    if (slot == SIZE_MAX) {
        /* Like Redis: tell the client why before closing. */
        static const char msg[] = "-ERR max number of clients reached\r\n";
        uv_buf_t b = uv_buf_init((char *)msg, sizeof msg - 1);
        uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        l->rejected_connections++;
        uv_close((uv_handle_t *)&c->tcp, conn_closed_cb);
        return;
    }
    conn_setup(l, c, slot);
    uv_tcp_nodelay(&c->tcp, 1);
    l->ops.on_open(l->ctx, c);
    uv_read_start((uv_stream_t *)&c->tcp, conn_alloc_cb, conn_read_cb);
}

int client_listener_start(struct client_listener *l, uv_loop_t *loop, const char *host,
                          uint16_t port, size_t max_clients, size_t max_output_bytes,
                          const struct client_listener_ops *ops, void *ctx)
{
    memset(l, 0, sizeof *l);
    l->loop = loop;
    l->ops = *ops;
    l->ctx = ctx;
    l->max_clients = max_clients;
    l->max_output_bytes = max_output_bytes;
    l->next_generation = clock_generation(); /* see clock_generation */
    CHECK(max_clients <= CLIENT_MAX_CONNECTIONS);
    return net_listen(loop, &l->tcp, l, host, port, 511, listener_connection_cb, "clients");
}

void client_listener_close(struct client_listener *l)
{
    for (size_t i = 0; i < l->slot_count; i++)
        if (l->slots[i])
            client_conn_close(l->slots[i]);
    uv_close((uv_handle_t *)&l->tcp, NULL);
}

void client_listener_release(struct client_listener *l)
{
    free(l->slots);
    l->slots = NULL;
}

uint64_t client_listener_first_id(const struct client_listener *l)
{
    return (l->next_generation + 1) << SLOT_BITS;
}
