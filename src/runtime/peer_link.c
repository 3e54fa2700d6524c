/* Outbound side of the peer links: connect, handshake, coalesced writes, reconnect. */
#include "runtime/peer_link.h"

#include "common/check.h"
#include "common/log.h"
#include "runtime/net.h"
#include "runtime/peer_handshake.h"
#include "runtime/peer_inbound.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKOFF_MIN_MS 20
#define BACKOFF_MAX_MS 1000

static void link_connect(struct peer_link *l);
static void link_reconnect_cb(uv_timer_t *t);

static void link_closed_cb(uv_handle_t *handle) { free(handle); }

static void link_schedule_reconnect(struct peer_link *l)
{
    if (l->set->closing)
        return;
    l->backoff_ms = l->backoff_ms ? l->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (l->backoff_ms > BACKOFF_MAX_MS)
        l->backoff_ms = BACKOFF_MAX_MS;
    uv_timer_start(&l->reconnect_timer, link_reconnect_cb, l->backoff_ms, 0);
}

/* Drops the connection and whatever was being written on it, then retries later. */
static void link_disconnect(struct peer_link *l, const char *why)
{
    if (!l->tcp)
        return;
    if (l->connected) {
        log_warn("link to replica %u lost: %s", l->id, why);
        if (l->set->on_down)
            l->set->on_down(l->set->ctx, l->id);
    }
    uv_close((uv_handle_t *)l->tcp, link_closed_cb);
    l->tcp = NULL;
    l->connected = false;
    buf_clear(&l->writing);
    link_schedule_reconnect(l);
}

static void link_write_cb(uv_write_t *req, int status)
{
    struct peer_link *l = req->data;
    l->write_in_flight = false;
    buf_clear(&l->writing);
    if (status < 0) {
        if (status != UV_ECANCELED)
            link_disconnect(l, uv_strerror(status));
        return;
    }
    /* Frames queued while this write was in flight go out at the next flush. */
}

static void link_start_write(struct peer_link *l)
{
    if (!l->connected || l->write_in_flight || l->pending.len == 0)
        return;
    buf_swap(&l->pending, &l->writing);
    uv_buf_t b = uv_buf_init((char *)l->writing.data, (unsigned)l->writing.len);
    l->write_req.data = l;
    int rc = uv_write(&l->write_req, (uv_stream_t *)l->tcp, &b, 1, link_write_cb);
    if (rc < 0) {
        link_disconnect(l, uv_strerror(rc));
        return;
    }
    l->write_in_flight = true;
}

/* The outbound connection never carries data towards us; reading only detects a close. */
static void link_alloc_cb(uv_handle_t *h, size_t size, uv_buf_t *b)
{
    static char sink[512];
    (void)h;
    (void)size;
    *b = uv_buf_init(sink, sizeof sink);
}

static void link_read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *b)
{
    (void)b;
    struct peer_link *l = stream->data;
    if (nread < 0)
        link_disconnect(l, nread == UV_EOF ? "closed by peer" : uv_strerror((int)nread));
}

static void link_connect_cb(uv_connect_t *req, int status)
{
    struct peer_link *l = req->data;
    free(req);
    if (status == UV_ECANCELED)
        return;
    if (status < 0) {
        link_disconnect(l, uv_strerror(status));
        return;
    }
    l->connected = true;
    l->backoff_ms = 0;
    l->counters.connects++;
    log_info("link to replica %u up", l->id);
    uv_tcp_nodelay(l->tcp, 1);
    uv_read_start((uv_stream_t *)l->tcp, link_alloc_cb, link_read_cb);
    /* The handshake must precede the frames that queued up while disconnected. */
    struct buf hello;
    buf_init(&hello);
    struct peer_handshake h = {.version = PEER_PROTOCOL_VERSION, .from = l->set->self, .to = l->id,
                               .port = l->set->port};
    snprintf(h.host, sizeof h.host, "%s", l->set->host);
    snprintf(h.cluster_id, sizeof h.cluster_id, "%s", l->set->cluster_id);
    peer_handshake_encode(&hello, &h);
    buf_append(&hello, l->pending.data, l->pending.len);
    buf_swap(&hello, &l->pending);
    buf_free(&hello);
    link_start_write(l);
}

static void link_connect(struct peer_link *l)
{
    CHECK(l->tcp == NULL);
    l->tcp = malloc(sizeof *l->tcp);
    CHECK(l->tcp != NULL);
    uv_tcp_init(l->set->loop, l->tcp);
    l->tcp->data = l;
    uv_connect_t *req = malloc(sizeof *req);
    CHECK(req != NULL);
    req->data = l;
    int rc = uv_tcp_connect(req, l->tcp, (const struct sockaddr *)&l->address, link_connect_cb);
    if (rc < 0) {
        free(req);
        link_disconnect(l, uv_strerror(rc));
    }
}

static void link_reconnect_cb(uv_timer_t *t)
{
    struct peer_link *l = t->data;
    if (!l->tcp && !l->set->closing)
        link_connect(l);
}

/* An existing link moves to a new address: drop the connection, reconnect at once. */
static void link_repoint(struct peer_link *l, const struct sockaddr_storage *address)
{
    if (memcmp(&l->address, address, sizeof *address) == 0)
        return;
    l->address = *address;
    log_info("replica %u moved: reconnecting to its new address", l->id);
    l->backoff_ms = 0;
    if (l->tcp) {
        uv_close((uv_handle_t *)l->tcp, link_closed_cb);
        l->tcp = NULL;
        l->connected = false;
        buf_clear(&l->writing);
    }
    uv_timer_start(&l->reconnect_timer, link_reconnect_cb, 0, 0);
}

int peer_set_add(struct peer_set *s, node_id id, const char *host, uint16_t port)
{
    CHECK(id > 0 && id <= CATENA_MAX_NODES && id != s->self);
    struct peer_link *l = &s->links[id];
    struct sockaddr_storage address;
    memset(&address, 0, sizeof address); /* compared whole by link_repoint */
    if (net_resolve(host, port, &address) != 0) {
        log_error("cannot resolve replica %u address %s:%u", id, host, port);
        return -1;
    }
    if (l->configured) {
        link_repoint(l, &address);
        return 0;
    }
    /* Inbound counters of an id that talked to us before it had a link are kept. */
    struct peer_counters counters = l->counters;
    *l = (struct peer_link){.set = s, .id = id, .configured = true, .counters = counters};
    l->address = address;
    uv_timer_init(s->loop, &l->reconnect_timer);
    l->reconnect_timer.data = l;
    link_connect(l);
    return 0;
}

void peer_send(struct peer_set *s, node_id to, const uint8_t *body, size_t len)
{
    if (to == NODE_NONE || to > CATENA_MAX_NODES || !s->links[to].configured) {
        s->unroutable_dropped++;
        return;
    }
    struct peer_link *l = &s->links[to];
    if (len > s->max_frame_bytes) {
        /* The receiver would refuse it and drop the connection with everything queued. */
        log_warn("message of %zu bytes to replica %u exceeds --max-peer-frame: dropped", len, to);
        s->oversized_dropped++;
        l->counters.messages_dropped++;
        return;
    }
    if (l->pending.len > 0 && l->pending.len + len + 4 > s->max_buffer_bytes) {
        l->counters.messages_dropped++;
        return;
    }
    buf_put_u32(&l->pending, (uint32_t)len);
    buf_append(&l->pending, body, len);
    l->counters.messages_sent++;
    l->counters.bytes_sent += len + 4;
}

void peer_flush_all(struct peer_set *s)
{
    for (node_id id = 1; id <= CATENA_MAX_NODES; id++)
        if (s->links[id].configured)
            link_start_write(&s->links[id]);
}

void peer_set_close(struct peer_set *s)
{
    s->closing = true;
    for (node_id id = 1; id <= CATENA_MAX_NODES; id++) {
        struct peer_link *l = &s->links[id];
        if (!l->configured)
            continue;
        if (l->tcp) {
            uv_close((uv_handle_t *)l->tcp, link_closed_cb);
            l->tcp = NULL;
        }
        uv_close((uv_handle_t *)&l->reconnect_timer, NULL);
    }
    peer_inbound_close_all(s);
}

void peer_set_release(struct peer_set *s)
{
    for (node_id id = 1; id <= CATENA_MAX_NODES; id++) {
        buf_free(&s->links[id].pending);
        buf_free(&s->links[id].writing);
    }
}

int peer_set_start(struct peer_set *s, uv_loop_t *loop, const struct peer_set_config *config,
                   peer_message_cb on_message, peer_down_cb on_down, void *ctx)
{
    memset(s, 0, sizeof *s);
    s->loop = loop;
    s->self = config->self;
    snprintf(s->cluster_id, sizeof s->cluster_id, "%s", config->cluster_id);
    s->max_buffer_bytes = config->max_buffer_bytes;
    s->max_frame_bytes = config->max_frame_bytes;
    snprintf(s->host, sizeof s->host, "%s", config->listen_host);
    s->port = config->listen_port;
    s->on_message = on_message;
    s->on_down = on_down;
    s->ctx = ctx;
    return peer_inbound_listen(s, config->listen_host, config->listen_port);
}
