#include "runtime/peer_inbound.h"

#include "common/check.h"
#include "common/log.h"
#include "common/reader.h"
#include "runtime/net.h"
#include "runtime/peer_handshake.h"

#include <stdlib.h>
#include <string.h>

struct inbound_conn {
    uv_tcp_t tcp;
    struct peer_set *set;
    node_id from; /* NODE_NONE until the handshake is accepted */
    struct buf in;
    struct inbound_conn *next, *prev;
};

#define READ_CHUNK (64 * 1024)

static void inbound_closed_cb(uv_handle_t *h)
{
    struct inbound_conn *c = h->data;
    buf_free(&c->in);
    free(c);
}

static void inbound_close(struct inbound_conn *c)
{
    struct peer_set *s = c->set;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->inbound = c->next;
    if (c->next)
        c->next->prev = c->prev;
    uv_close((uv_handle_t *)&c->tcp, inbound_closed_cb);
}

static void inbound_alloc_cb(uv_handle_t *h, size_t size, uv_buf_t *b)
{
    (void)size;
    struct inbound_conn *c = h->data;
    buf_reserve(&c->in, READ_CHUNK);
    *b = uv_buf_init((char *)c->in.data + c->in.len, (unsigned)(c->in.cap - c->in.len));
}

/* Validates the first frame; false (after logging why) when the peer must be refused. */
static bool inbound_accept_handshake(struct inbound_conn *c, const uint8_t *body, size_t len)
{
    struct peer_set *s = c->set;
    struct peer_handshake h;
    const char *reason = NULL;
    if (!peer_handshake_decode(body, len, &h, &reason)) {
        log_warn("refused peer connection: %s", reason);
        return false;
    }
    if (h.version != PEER_PROTOCOL_VERSION)
        reason = "unsupported peer protocol version";
    else if (strcmp(h.cluster_id, s->cluster_id) != 0)
        reason = "wrong cluster id";
    else if (h.from == NODE_NONE || h.from > CATENA_MAX_NODES)
        reason = "invalid node id";
    else if (h.from == s->self)
        reason = "same node id as this replica";
    else if (h.to != s->self)
        reason = "addressed to another node id";
    if (reason) {
        log_warn("refused peer connection from node %u of cluster '%s': %s", h.from,
                 h.cluster_id, reason);
        return false;
    }
    c->from = h.from;
    log_info("link from replica %u up%s", h.from,
             s->links[h.from].configured ? "" : " (not in this replica's configuration)");
    /* A peer this replica had no address for (it joined after this replica started, or this
     * replica joined after it was added): connect back to where it says it listens. */
    if (!s->links[h.from].configured && h.host[0] && h.port &&
        peer_set_add(s, h.from, h.host, h.port) == 0)
        log_info("replica %u listens on %s:%u (from its handshake)", h.from, h.host, h.port);
    return true;
}

/* Delivers every complete frame in the buffer; false when the connection must close. */
static bool inbound_process(struct inbound_conn *c)
{
    struct peer_set *s = c->set;
    size_t offset = 0;
    bool ok = true;
    while (c->in.len - offset >= 4) {
        struct reader r = reader_make(c->in.data + offset, 4);
        uint32_t len = reader_u32(&r);
        /* Small frames only until the peer is known: a stranger cannot make us buffer 1 GB. */
        if (len > s->max_frame_bytes || (c->from == NODE_NONE && len > 4096)) {
            log_warn("peer %u sent an oversized frame (%u bytes): closing", c->from, len);
            ok = false;
            break;
        }
        if (c->in.len - offset - 4 < len)
            break;
        const uint8_t *body = c->in.data + offset + 4;
        offset += 4 + (size_t)len;
        if (c->from == NODE_NONE) {
            if (!(ok = inbound_accept_handshake(c, body, len)))
                break;
            continue;
        }
        struct peer_counters *counters = &s->links[c->from].counters;
        counters->messages_received++;
        counters->bytes_received += 4 + (size_t)len;
        s->on_message(s->ctx, c->from, body, len);
    }
    buf_consume(&c->in, offset);
    return ok;
}

static void inbound_read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *b)
{
    (void)b;
    struct inbound_conn *c = stream->data;
    if (nread < 0) {
        if (c->from != NODE_NONE)
            log_info("link from replica %u closed", c->from);
        inbound_close(c);
        return;
    }
    c->in.len += (size_t)nread;
    if (!inbound_process(c))
        inbound_close(c);
}

static void inbound_connection_cb(uv_stream_t *server, int status)
{
    struct peer_set *s = server->data;
    if (status < 0)
        return;
    struct inbound_conn *c = calloc(1, sizeof *c);
    CHECK(c != NULL);
    c->set = s;
    buf_init(&c->in);
    uv_tcp_init(s->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, inbound_closed_cb);
        return;
    }
    c->next = s->inbound;
    if (s->inbound)
        s->inbound->prev = c;
    s->inbound = c;
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, inbound_alloc_cb, inbound_read_cb);
}

int peer_inbound_listen(struct peer_set *s, const char *host, uint16_t port)
{
    return net_listen(s->loop, &s->listener, s, host, port, 128, inbound_connection_cb, "peers");
}

void peer_inbound_close_all(struct peer_set *s)
{
    while (s->inbound)
        inbound_close(s->inbound);
    uv_close((uv_handle_t *)&s->listener, NULL);
}
