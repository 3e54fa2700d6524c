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

/* Closes the connection, with whatever was being written on it or half done. */
static void link_drop_connection(struct peer_link *l)
{
    uv_close((uv_handle_t *)l->tcp, link_closed_cb);
    l->tcp = NULL;
    l->connected = false;
    l->handshake.waiting = false;
    buf_clear(&l->writing);
}

/* Drops the connection and whatever was being written on it, then retries later. */
static void link_disconnect(struct peer_link *l, const char *why)
{
    if (!l->tcp)
        return;
    if (l->connected) {
        /* Back-off starts again only after a link that lasted: a peer that refuses this one
         * right after the handshake (another cluster) is retried ever more slowly. */
        if (uv_now(l->set->loop) - l->up_since_ms >= BACKOFF_MAX_MS)
            l->backoff_ms = 0;
        log_warn("link to replica %u lost: %s", l->id, why);
        if (l->set->on_down)
            l->set->on_down(l->set->ctx, l->id);
    }
    link_drop_connection(l);
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

/* The handshake is done: `first` (the connecting side's last handshake frame) goes out ahead
 * of the frames that queued up while disconnected. */
static void link_established(struct peer_link *l, const struct buf *first)
{
    l->connected = true;
    l->handshake.waiting = false;
    l->up_since_ms = uv_now(l->set->loop);
    l->counters.connects++;
    log_info("link to replica %u up%s", l->id, l->set->key.len ? " (cluster key proved)" : "");
    struct buf out;
    buf_init(&out);
    buf_append(&out, first->data, first->len);
    buf_append(&out, l->pending.data, l->pending.len);
    buf_swap(&out, &l->pending);
    buf_free(&out);
    link_start_write(l);
}

/* The handshake with the replica failed on this side: noted, then retried later. */
static void link_refuse(struct peer_link *l, bool auth, const char *why)
{
    char address[48] = "?", context[64];
    const struct sockaddr *a = (const struct sockaddr *)&l->address;
    if (a->sa_family == AF_INET6)
        uv_ip6_name((const struct sockaddr_in6 *)a, address, sizeof address);
    else
        uv_ip4_name((const struct sockaddr_in *)a, address, sizeof address);
    snprintf(context, sizeof context, "link to replica %u refused", l->id);
    peer_refusal_note(&l->set->refusals, uv_now(l->set->loop), address, why, auth, context);
    link_disconnect(l, why);
}

/* Checks the acceptor's CHALLENGE once it is complete, and answers it with the PROOF. */
static void link_check_challenge(struct peer_link *l)
{
    struct peer_link_handshake *hs = &l->handshake;
    if (hs->challenge_len < sizeof hs->challenge)
        return;
    uint8_t nonce[PEER_NONCE_BYTES], mac[PEER_MAC_BYTES];
    const struct peer_auth_key *key = &l->set->key;
    if (!peer_handshake_decode_auth(hs->challenge + 4, sizeof hs->challenge - 4,
                                    PEER_CHALLENGE, nonce, mac) ||
        !peer_auth_verify(key, PEER_AUTH_ACCEPTOR, hs->hello.data, hs->hello.len, nonce, mac)) {
        link_refuse(l, true, "it did not prove the cluster key (a different key, or not a "
                             "catena replica of this version)");
        return;
    }
    uv_timer_stop(&l->reconnect_timer); /* the handshake deadline */
    peer_auth_mac(key, PEER_AUTH_CONNECTOR, hs->hello.data, hs->hello.len, nonce, mac);
    struct buf proof;
    buf_init(&proof);
    peer_handshake_encode_auth(&proof, PEER_PROOF, NULL, mac);
    link_established(l, &proof);
    buf_free(&proof);
}

/* The outbound connection carries data towards us only during an authenticated handshake (the
 * CHALLENGE); after it, reading only detects a close. */
static void link_alloc_cb(uv_handle_t *h, size_t size, uv_buf_t *b)
{
    static char sink[512];
    (void)size;
    struct peer_link *l = h->data;
    struct peer_link_handshake *hs = &l->handshake;
    if (hs->waiting && hs->challenge_len < sizeof hs->challenge)
        *b = uv_buf_init((char *)hs->challenge + hs->challenge_len,
                         (unsigned)(sizeof hs->challenge - hs->challenge_len));
    else
        *b = uv_buf_init(sink, sizeof sink);
}

static void link_read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *b)
{
    (void)b;
    struct peer_link *l = stream->data;
    if (nread < 0 && l->handshake.waiting) {
        link_refuse(l, false, "it closed the connection during the handshake (it refused "
                              "this replica: see its log)");
    } else if (nread < 0) {
        link_disconnect(l, nread == UV_EOF ? "closed by peer" : uv_strerror((int)nread));
    } else if (l->handshake.waiting) {
        l->handshake.challenge_len += (size_t)nread; /* link_alloc_cb read into it */
        link_check_challenge(l);
    }
}

static void link_handshake_timeout_cb(uv_timer_t *t)
{
    struct peer_link *l = t->data;
    if (l->handshake.waiting)
        link_refuse(l, false, "no answer to the handshake within 5 s");
}

/* Sends the HELLO; without a cluster key the link is up at once. */
static void link_send_hello(struct peer_link *l)
{
    struct peer_set *s = l->set;
    struct peer_handshake h = {.version = PEER_PROTOCOL_VERSION, .from = s->self, .to = l->id,
                               .port = s->port, .auth = s->key.len > 0};
    snprintf(h.host, sizeof h.host, "%s", s->host);
    snprintf(h.cluster_id, sizeof h.cluster_id, "%s", s->cluster_id);
    if (h.auth)
        peer_auth_nonce(h.nonce);
    struct buf hello;
    buf_init(&hello);
    peer_handshake_encode(&hello, &h);
    if (!h.auth) {
        link_established(l, &hello);
    } else {
        struct peer_link_handshake *hs = &l->handshake;
        hs->waiting = true;
        hs->challenge_len = 0;
        buf_clear(&hs->hello);
        buf_append(&hs->hello, hello.data + 4, hello.len - 4); /* without the length */
        net_write_copy((uv_stream_t *)l->tcp, hello.data, hello.len);
        uv_timer_start(&l->reconnect_timer, link_handshake_timeout_cb,
                       PEER_HANDSHAKE_TIMEOUT_MS, 0);
    }
    buf_free(&hello);
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
    uv_tcp_nodelay(l->tcp, 1);
    uv_read_start((uv_stream_t *)l->tcp, link_alloc_cb, link_read_cb);
    link_send_hello(l);
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
    if (l->tcp)
        link_drop_connection(l);
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
        if (l->tcp)
            link_drop_connection(l);
        uv_close((uv_handle_t *)&l->reconnect_timer, NULL);
    }
    peer_inbound_close_all(s);
}

void peer_set_release(struct peer_set *s)
{
    for (node_id id = 1; id <= CATENA_MAX_NODES; id++) {
        buf_free(&s->links[id].pending);
        buf_free(&s->links[id].writing);
        buf_free(&s->links[id].handshake.hello);
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
    CHECK(config->cluster_key_len <= sizeof s->key.bytes);
    if (config->cluster_key_len)
        memcpy(s->key.bytes, config->cluster_key, config->cluster_key_len);
    s->key.len = config->cluster_key_len;
    snprintf(s->host, sizeof s->host, "%s", config->listen_host);
    s->port = config->listen_port;
    s->on_message = on_message;
    s->on_down = on_down;
    s->ctx = ctx;
    return peer_inbound_listen(s, config->listen_host, config->listen_port);
}
