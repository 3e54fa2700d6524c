#include "runtime/peer_inbound.h"

#include "common/check.h"
#include "common/log.h"
#include "common/reader.h"
#include "runtime/net.h"
#include "runtime/peer_auth.h"
#include "runtime/peer_handshake.h"

#include <stdlib.h>
#include <string.h>

/* With a cluster key: the HELLO, kept until the PROOF (whose MAC covers it) arrives. */
struct inbound_handshake {
    bool waiting_proof;
    struct peer_handshake hello;
    uint8_t hello_body[256]; /* a valid HELLO is at most 177 bytes */
    size_t hello_len;
    uint8_t nonce[PEER_NONCE_BYTES]; /* this side's, sent in the CHALLENGE */
};

struct inbound_conn {
    uv_tcp_t tcp;
    struct peer_set *set;
    node_id from; /* NODE_NONE until the handshake is accepted */
    struct buf in;
    uint64_t opened_ms;
    char address[48]; /* the remote IP, for refusals */
    struct inbound_handshake handshake;
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

/* Why a decoded HELLO must be refused, or NULL; *auth tells whether the key is the reason. */
static const char *inbound_hello_problem(const struct peer_set *s, const struct peer_handshake *h,
                                         bool *auth)
{
    *auth = false;
    if (h->version != PEER_PROTOCOL_VERSION)
        return "unsupported peer protocol version";
    if (strcmp(h->cluster_id, s->cluster_id) != 0)
        return "wrong cluster id";
    if (h->from == NODE_NONE || h->from > CATENA_MAX_NODES)
        return "invalid node id";
    if (h->from == s->self)
        return "same node id as this replica";
    if (h->to != s->self)
        return "addressed to another node id";
    *auth = s->key.len > 0 ? !h->auth : h->auth;
    if (*auth)
        return s->key.len > 0 ? "it has no cluster key (this replica requires one)"
                              : "it has a cluster key (this replica has none)";
    return NULL;
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

/* The first frame; false (after noting why) when the peer must be refused. With a cluster key
 * the peer is not in yet: this side proves the key and waits for the peer's PROOF. */
static bool inbound_on_hello(struct inbound_conn *c, const uint8_t *body, size_t len)
{
    struct peer_set *s = c->set;
    struct inbound_handshake *hs = &c->handshake;
    const char *reason = NULL;
    bool auth;
    if (!peer_handshake_decode(body, len, &hs->hello, &reason)) {
        inbound_refuse(c, NULL, false, reason);
        return false;
    }
    if ((reason = inbound_hello_problem(s, &hs->hello, &auth))) {
        inbound_refuse(c, &hs->hello, auth, reason);
        return false;
    }
    if (s->key.len == 0) {
        inbound_establish(c, &hs->hello);
        return true;
    }
    CHECK(len <= sizeof hs->hello_body);
    memcpy(hs->hello_body, body, len);
    hs->hello_len = len;
    peer_auth_nonce(hs->nonce);
    uint8_t mac[PEER_MAC_BYTES];
    peer_auth_mac(&s->key, PEER_AUTH_ACCEPTOR, body, len, hs->nonce, mac);
    struct buf challenge;
    buf_init(&challenge);
    peer_handshake_encode_auth(&challenge, PEER_CHALLENGE, hs->nonce, mac);
    net_write_copy((uv_stream_t *)&c->tcp, challenge.data, challenge.len);
    buf_free(&challenge);
    hs->waiting_proof = true;
    return true;
}

/* The PROOF: the peer's MAC over its HELLO and this side's fresh nonce. */
static bool inbound_on_proof(struct inbound_conn *c, const uint8_t *body, size_t len)
{
    struct inbound_handshake *hs = &c->handshake;
    uint8_t mac[PEER_MAC_BYTES];
    if (!peer_handshake_decode_auth(body, len, PEER_PROOF, NULL, mac) ||
        !peer_auth_verify(&c->set->key, PEER_AUTH_CONNECTOR, hs->hello_body, hs->hello_len,
                          hs->nonce, mac)) {
        inbound_refuse(c, &hs->hello, true,
                       "it did not prove the cluster key (a wrong key, or a replayed handshake)");
        return false;
    }
    hs->waiting_proof = false;
    inbound_establish(c, &hs->hello);
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
            if (c->from == NODE_NONE)
                inbound_refuse(c, NULL, false, "an oversized first frame");
            else
                log_warn("peer %u sent an oversized frame (%u bytes): closing", c->from, len);
            ok = false;
            break;
        }
        if (c->in.len - offset - 4 < len)
            break;
        const uint8_t *body = c->in.data + offset + 4;
        offset += 4 + (size_t)len;
        if (c->from == NODE_NONE) {
            ok = c->handshake.waiting_proof ? inbound_on_proof(c, body, len)
                                            : inbound_on_hello(c, body, len);
            if (!ok)
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
        else if (c->handshake.waiting_proof) /* the peer did not accept this side's proof */
            inbound_refuse(c, &c->handshake.hello, true,
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
        inbound_refuse(c, c->handshake.waiting_proof ? &c->handshake.hello : NULL,
                       c->handshake.waiting_proof, "handshake not completed within 5 s");
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
