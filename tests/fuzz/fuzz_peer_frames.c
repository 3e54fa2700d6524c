/* libFuzzer target: the receiving side of a peer connection (src/runtime/peer_frames.c, with
 * peer_handshake.c and peer_auth.c): frame splitting, the HELLO, and with a cluster key the
 * CHALLENGE it sends and the PROOF it checks; also the connecting side's CHALLENGE decoder.
 *
 * Input: one options byte, then the bytes a peer sends. Options: bit 0 this replica has a
 * cluster key (the key and this side's nonce are fixed, so a seed can hold a valid PROOF and
 * reach the messages after it); bits 1-7 seed how the stream is cut into reads.
 *
 * What must hold: no crash, memory error, leak or undefined behaviour; events come in the
 * handshake's order (with a key: CHALLENGE, then ESTABLISHED; no message before ESTABLISHED,
 * nothing after REFUSED); a message comes from a valid id other than this replica's, within the
 * frame limit; a CHALLENGE proves the key over the HELLO as received; and the events are the
 * same whether the stream arrives at once or in reads of any size. */
#include "common/buf.h"
#include "fuzz_check.h"
#include "fuzz_peer_frames_input.h"
#include "runtime/peer_auth.h"
#include "runtime/peer_frames.h"
#include "runtime/peer_handshake.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SELF FUZZ_PEER_SELF
#define FUZZ_MAX_FRAME FUZZ_PEER_MAX_FRAME
/* A CHALLENGE frame as the connecting side reads it (peer_link.h, which needs libuv). */
#define FUZZ_CHALLENGE_FRAME_BYTES (4 + 4 + 1 + PEER_NONCE_BYTES + PEER_MAC_BYTES)

/* The cluster key of the seeds (tests/fuzz/gen_corpus_net.c writes PROOFs with it). */
static const struct peer_auth_key fuzz_key = {.bytes = FUZZ_PEER_KEY,
                                              .len = sizeof FUZZ_PEER_KEY - 1};
static const struct peer_auth_key fuzz_no_key = {.len = 0};

static void fuzz_nonce(uint8_t *nonce)
{
    memset(nonce, FUZZ_PEER_NONCE_BYTE, PEER_NONCE_BYTES);
}

/* What one connection saw, in order, for the comparison and the ordering checks. */
struct session {
    struct peer_frames frames;
    struct buf transcript;
    struct buf reply;
    bool challenged, established, refused;
};

static void session_event(struct session *s, const struct peer_frames_config *c,
                          const struct peer_frame_result *r)
{
    FUZZ_CHECK(!s->refused);
    buf_put_u8(&s->transcript, (uint8_t)r->event);
    switch (r->event) {
    case PEER_FRAMES_CHALLENGE: {
        FUZZ_CHECK(c->key->len > 0 && !s->challenged && !s->established);
        s->challenged = true;
        uint8_t nonce[PEER_NONCE_BYTES], mac[PEER_MAC_BYTES];
        FUZZ_CHECK(r->reply->len == FUZZ_CHALLENGE_FRAME_BYTES);
        FUZZ_CHECK(peer_handshake_decode_auth(r->reply->data + 4, r->reply->len - 4,
                                              PEER_CHALLENGE, nonce, mac));
        FUZZ_CHECK(peer_auth_verify(c->key, PEER_AUTH_ACCEPTOR, s->frames.hello_body,
                                    s->frames.hello_len, nonce, mac));
        break;
    }
    case PEER_FRAMES_ESTABLISHED:
        FUZZ_CHECK(!s->established && (c->key->len == 0 || s->challenged));
        s->established = true;
        FUZZ_CHECK(s->frames.from != NODE_NONE && s->frames.from <= CATENA_MAX_NODES);
        FUZZ_CHECK(s->frames.from != FUZZ_SELF && s->frames.hello.to == FUZZ_SELF);
        FUZZ_CHECK(strcmp(s->frames.hello.cluster_id, c->cluster_id) == 0);
        buf_put_u32(&s->transcript, s->frames.from);
        break;
    case PEER_FRAMES_MESSAGE:
        FUZZ_CHECK(s->established && r->len <= FUZZ_MAX_FRAME);
        buf_put_u32(&s->transcript, (uint32_t)r->len);
        buf_append(&s->transcript, r->body, r->len); /* ASan: the body is readable */
        break;
    case PEER_FRAMES_REFUSED:
        FUZZ_CHECK(r->why != NULL && r->why[0] != '\0');
        s->refused = true;
        buf_put_u8(&s->transcript, r->auth);
        break;
    case PEER_FRAMES_MORE:
        FUZZ_CHECK(false);
    }
}

/* Runs every complete frame of conn through the splitter, as peer_inbound.c does; false once
 * the connection is refused. */
static bool session_process(struct session *s, const struct peer_frames_config *c,
                            struct buf *conn)
{
    size_t offset = 0, consumed;
    bool open = true;
    while (open) {
        struct peer_frame_result r;
        buf_clear(&s->reply);
        peer_frames_next(&s->frames, c, conn->data + offset, conn->len - offset, &consumed,
                         &s->reply, &r);
        if (r.event == PEER_FRAMES_MORE)
            break;
        FUZZ_CHECK(consumed <= conn->len - offset);
        FUZZ_CHECK(r.event == PEER_FRAMES_REFUSED ? consumed == 0 : consumed >= 4);
        session_event(s, c, &r);
        offset += consumed;
        open = r.event != PEER_FRAMES_REFUSED;
    }
    buf_consume(conn, offset);
    return open;
}

/* Feeds the stream at once, or in reads of pseudo-random sizes. */
static void session_run(struct session *s, const struct peer_frames_config *c,
                        const uint8_t *in, size_t len, uint32_t seed, bool at_once)
{
    memset(s, 0, sizeof *s);
    peer_frames_init(&s->frames);
    buf_init(&s->transcript);
    buf_init(&s->reply);
    struct buf conn;
    buf_init(&conn);
    uint32_t rng = 2463534242u ^ seed;
    for (size_t fed = 0; fed < len;) {
        rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5; /* xorshift32 */
        size_t chunk = at_once ? len : 1 + rng % (rng & 1 ? 5 : 200);
        if (chunk > len - fed)
            chunk = len - fed;
        buf_append(&conn, in + fed, chunk);
        fed += chunk;
        if (!session_process(s, c, &conn))
            break;
    }
    buf_free(&conn);
}

static void session_free(struct session *s)
{
    buf_free(&s->transcript);
    buf_free(&s->reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool keyed = data[0] & FUZZ_PEER_OPT_KEY;
    struct peer_frames_config c = {.self = FUZZ_SELF, .cluster_id = FUZZ_PEER_CLUSTER,
                                   .key = keyed ? &fuzz_key : &fuzz_no_key,
                                   .max_frame_bytes = FUZZ_MAX_FRAME, .nonce = fuzz_nonce};
    struct session whole, reads;
    session_run(&whole, &c, data + 1, size - 1, 0, true);
    session_run(&reads, &c, data + 1, size - 1, data[0] >> 1, false);
    FUZZ_CHECK(fuzz_bufs_equal(&whole.transcript, &reads.transcript));
    session_free(&whole);
    session_free(&reads);

    /* The connecting side reads exactly one CHALLENGE frame's bytes and decodes its body. */
    if (size - 1 >= FUZZ_CHALLENGE_FRAME_BYTES) {
        uint8_t nonce[PEER_NONCE_BYTES], mac[PEER_MAC_BYTES];
        if (peer_handshake_decode_auth(data + 1 + 4, FUZZ_CHALLENGE_FRAME_BYTES - 4,
                                       PEER_CHALLENGE, nonce, mac))
            (void)peer_auth_verify(&fuzz_key, PEER_AUTH_ACCEPTOR, data + 1, 8, nonce, mac);
    }
    return 0;
}
