#include "runtime/peer_inbound.h"

#include "common/check.h"
#include "common/log.h"
#include "runtime/net.h"
#include "runtime/peer_frames.h"

#include <stdlib.h>
#include <string.h>

struct inbound_conn {
    uv_tcp_t tcp;
    struct peer_set *set;
    node_id from; /* NODE_NONE until the handshake is accepted */
    struct buf in;
    uint64_t opened_ms;
    char address[48]; /* the remote IP, for refusals */
    struct peer_frames frames; /* the frame splitter and handshake (no I/O) */
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

/* Counts and (rate-limited) logs a refused handshake; the caller closes the connection. */
static void inbound_refuse(struct inbound_conn *c, const struct peer_handshake *h, bool auth,
                           const char *why)
{
    struct peer_set *s = c->set;
    char context[160] = "refused peer connection";
    if (h)
        snprintf(context, sizeof context, "refused peer connection from node %u of cluster '%s'",
                 h->from, h->cluster_id);
    peer_refusal_note(&s->refusals, uv_now(s->loop), c->address, why, auth, context);
}

/* The peer is in: from now on its frames are protocol messages. */
static void inbound_establish(struct inbound_conn *c, const struct peer_handshake *h)
{
    struct peer_set *s = c->set;
    c->from = h->from;
    log_info("link from replica %u up%s%s", h->from, s->key.len ? " (cluster key proved)" : "",
             s->links[h->from].configured ? "" : " (not in this replica's configuration)");
    /* A peer this replica had no address for (it joined after this replica started, or this
     * replica joined after it was added): connect back to where it says it listens. */
    if (!s->links[h->from].configured && h->host[0] && h->port &&
        peer_set_add(s, h->from, h->host, h->port) == 0)
        log_info("replica %u listens on %s:%u (from its handshake)", h->from, h->host, h->port);
}

/* Acts on what the frame splitter made of one frame; false when the connection must close. */
static bool inbound_handle(struct inbound_conn *c, const struct peer_frame_result *r)
{
    struct peer_set *s = c->set;
    switch (r->event) {
    case PEER_FRAMES_MESSAGE: {
        struct peer_counters *counters = &s->links[c->from].counters;
        counters->messages_received++;
        counters->bytes_received += 4 + r->len;
        s->on_message(s->ctx, c->from, r->body, r->len);
        return true;
    }
    case PEER_FRAMES_CHALLENGE:
        net_write_copy((uv_stream_t *)&c->tcp, r->reply->data, r->reply->len);
        return true;
    case PEER_FRAMES_ESTABLISHED:
        inbound_establish(c, &c->frames.hello);
        return true;
    case PEER_FRAMES_REFUSED:
        if (c->from != NODE_NONE)
            log_warn("peer %u: %s: closing", c->from, r->why);
        else
            inbound_refuse(c, r->hello_known ? &c->frames.hello : NULL, r->auth, r->why);
        return false;
    case PEER_FRAMES_MORE:
        break;
    }
    return true;
}

/* Delivers every complete frame in the buffer; false when the connection must close. */
static bool inbound_process(struct inbound_conn *c)
{
    struct peer_set *s = c->set;
    struct peer_frames_config config = {.self = s->self, .cluster_id = s->cluster_id,
                                        .key = &s->key, .max_frame_bytes = s->max_frame_bytes};
    struct buf reply;
    buf_init(&reply);
    size_t offset = 0, consumed;
    bool ok = true;
    for (;;) {
        struct peer_frame_result r;
        buf_clear(&reply);
        peer_frames_next(&c->frames, &config, c->in.data + offset, c->in.len - offset,
                         &consumed, &reply, &r);
        if (r.event == PEER_FRAMES_MORE)
            break;
        offset += consumed;
        if (!(ok = inbound_handle(c, &r)))
            break;
    }
    buf_free(&reply);
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
        else if (c->frames.waiting_proof) /* the peer did not accept this side's proof */
            inbound_refuse(c, &c->frames.hello, true,
                           "it closed the connection before proving the cluster key (it has "
                           "another key?)");
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
    peer_frames_init(&c->frames);
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
    c->opened_ms = uv_now(s->loop);
    uint16_t port;
    net_peer_name(&c->tcp, c->address, sizeof c->address, &port);
    uv_read_start((uv_stream_t *)&c->tcp, inbound_alloc_cb, inbound_read_cb);
}

/* Closes the connections whose handshake has taken longer than PEER_HANDSHAKE_TIMEOUT_MS: a
 * stranger cannot keep connections (and their buffers) open by saying nothing. */
static void inbound_handshake_timer_cb(uv_timer_t *t)
{
    struct peer_set *s = t->data;
    uint64_t now_ms = uv_now(s->loop);
    for (struct inbound_conn *c = s->inbound, *next; c; c = next) {
        next = c->next;
        if (c->from != NODE_NONE || now_ms - c->opened_ms < PEER_HANDSHAKE_TIMEOUT_MS)
            continue;
        inbound_refuse(c, c->frames.waiting_proof ? &c->frames.hello : NULL,
                       c->frames.waiting_proof, "handshake not completed within 5 s");
        inbound_close(c);
    }
}

int peer_inbound_listen(struct peer_set *s, const char *host, uint16_t port)
{
    uv_timer_init(s->loop, &s->handshake_timer);
    s->handshake_timer.data = s;
    uv_timer_start(&s->handshake_timer, inbound_handshake_timer_cb, 1000, 1000);
    return net_listen(s->loop, &s->listener, s, host, port, 128, inbound_connection_cb, "peers");
}

void peer_inbound_close_all(struct peer_set *s)
{
    while (s->inbound)
        inbound_close(s->inbound);
    uv_close((uv_handle_t *)&s->handshake_timer, NULL);
    uv_close((uv_handle_t *)&s->listener, NULL);
}
