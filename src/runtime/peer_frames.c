#include "runtime/peer_frames.h"

#include "common/reader.h"

#include <string.h>

void peer_frames_init(struct peer_frames *f) { memset(f, 0, sizeof *f); }

static void frames_refuse(struct peer_frames *f, struct peer_frame_result *r, const char *why,
                          bool auth, bool hello_known)
{
    f->closed = true;
    r->event = PEER_FRAMES_REFUSED;
    r->why = why;
    r->auth = auth;
    r->hello_known = hello_known;
}

/* Why a decoded HELLO must be refused, or NULL; *auth tells whether the key is the reason. */
static const char *frames_hello_problem(const struct peer_frames_config *config,
                                        const struct peer_handshake *h, bool *auth)
{
    bool have_key = config->key && config->key->len > 0;
    *auth = false;
    if (h->version != PEER_PROTOCOL_VERSION)
        return "unsupported peer protocol version";
    if (strcmp(h->cluster_id, config->cluster_id) != 0)
        return "wrong cluster id";
    if (h->from == NODE_NONE || h->from > CATENA_MAX_NODES)
        return "invalid node id";
    if (h->from == config->self)
        return "same node id as this replica";
    if (h->to != config->self)
        return "addressed to another node id";
    *auth = have_key ? !h->auth : h->auth;
    if (*auth)
        return have_key ? "it has no cluster key (this replica requires one)"
                        : "it has a cluster key (this replica has none)";
    return NULL;
}

/* The first frame. Without a key an acceptable HELLO completes the handshake; with one this
 * side proves the key (CHALLENGE) and waits for the peer's PROOF. */
static void frames_on_hello(struct peer_frames *f, const struct peer_frames_config *config,
                            const uint8_t *body, size_t len, struct buf *reply,
                            struct peer_frame_result *r)
{
    const char *why = NULL;
    bool auth;
    if (!peer_handshake_decode(body, len, &f->hello, &why)) {
        frames_refuse(f, r, why, false, false);
        return;
    }
    if ((why = frames_hello_problem(config, &f->hello, &auth))) {
        frames_refuse(f, r, why, auth, true);
        return;
    }
    if (!config->key || config->key->len == 0) {
        f->from = f->hello.from;
        r->event = PEER_FRAMES_ESTABLISHED;
        return;
    }
    if (len > sizeof f->hello_body) { /* cannot be a HELLO that decoded: no room to keep it */
        frames_refuse(f, r, "malformed handshake", false, true);
        return;
    }
    memcpy(f->hello_body, body, len);
    f->hello_len = len;
    (config->nonce ? config->nonce : peer_auth_nonce)(f->nonce);
    uint8_t mac[PEER_MAC_BYTES];
    peer_auth_mac(config->key, PEER_AUTH_ACCEPTOR, body, len, f->nonce, mac);
    peer_handshake_encode_auth(reply, PEER_CHALLENGE, f->nonce, mac);
    f->waiting_proof = true;
    r->event = PEER_FRAMES_CHALLENGE;
    r->reply = reply;
}

/* The PROOF: the peer's MAC over its HELLO and this side's fresh nonce. */
static void frames_on_proof(struct peer_frames *f, const struct peer_frames_config *config,
                            const uint8_t *body, size_t len, struct peer_frame_result *r)
{
    uint8_t mac[PEER_MAC_BYTES];
    if (!peer_handshake_decode_auth(body, len, PEER_PROOF, NULL, mac) ||
        !peer_auth_verify(config->key, PEER_AUTH_CONNECTOR, f->hello_body, f->hello_len,
                          f->nonce, mac)) {
        frames_refuse(f, r,
                      "it did not prove the cluster key (a wrong key, or a replayed handshake)",
                      true, true);
        return;
    }
    f->waiting_proof = false;
    f->from = f->hello.from;
    r->event = PEER_FRAMES_ESTABLISHED;
}

void peer_frames_next(struct peer_frames *f, const struct peer_frames_config *config,
                      const uint8_t *data, size_t len, size_t *consumed, struct buf *reply,
                      struct peer_frame_result *result)
{
    *result = (struct peer_frame_result){.event = PEER_FRAMES_MORE};
    *consumed = 0;
    if (f->closed) {
        frames_refuse(f, result, "the connection was refused before", false, false);
        return;
    }
    if (len < 4)
        return;
    struct reader r = reader_make(data, 4);
    uint32_t frame_len = reader_u32(&r);
    bool known = f->from != NODE_NONE;
    if (frame_len > config->max_frame_bytes ||
        (!known && frame_len > PEER_FRAMES_HANDSHAKE_MAX_BYTES)) {
        frames_refuse(f, result, known ? "an oversized frame" : "an oversized first frame",
                      false, f->waiting_proof);
        return;
    }
    if (len - 4 < frame_len)
        return;
    const uint8_t *body = data + 4;
    *consumed = 4 + (size_t)frame_len;
    if (known) {
        result->event = PEER_FRAMES_MESSAGE;
        result->body = body;
        result->len = frame_len;
    } else if (f->waiting_proof) {
        frames_on_proof(f, config, body, frame_len, result);
    } else {
        frames_on_hello(f, config, body, frame_len, reply, result);
    }
    if (result->event == PEER_FRAMES_REFUSED)
        *consumed = 0;
}
