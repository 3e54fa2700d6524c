/* The receiving side of a peer connection without a socket (runtime/peer_frames.h): frames
 * split however the bytes arrive, the keyless and the authenticated handshake, refusals. */
#include "runtime/peer_auth.h"
#include "runtime/peer_frames.h"
#include "runtime/peer_handshake.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static const struct peer_auth_key key = {.bytes = "a cluster key of 28 bytes...", .len = 28};
static const struct peer_auth_key no_key = {.len = 0};

static void fixed_nonce(uint8_t *nonce) { memset(nonce, 0xa5, PEER_NONCE_BYTES); }

static struct peer_frames_config config_for(const struct peer_auth_key *k)
{
    return (struct peer_frames_config){.self = 1, .cluster_id = "catena", .key = k,
                                       .max_frame_bytes = 1024, .nonce = fixed_nonce};
}

/* A HELLO frame from replica 2 to replica 1, with or without a key. */
static void put_hello(struct buf *out, bool auth)
{
    struct peer_handshake h = {.version = PEER_PROTOCOL_VERSION, .from = 2, .to = 1,
                               .port = 7102, .auth = auth};
    strcpy(h.cluster_id, "catena");
    strcpy(h.host, "127.0.0.1");
    memset(h.nonce, 0x3c, sizeof h.nonce);
    peer_handshake_encode(out, &h);
}

static void put_message(struct buf *out, const char *text)
{
    buf_put_u32(out, (uint32_t)strlen(text));
    buf_append_str(out, text);
}

/* Feeds data[0, len) and returns the next event; *used says how many bytes it took. */
static enum peer_frame_event next(struct peer_frames *f, const struct peer_frames_config *c,
                                  const struct buf *in, size_t at, size_t *used,
                                  struct buf *reply, struct peer_frame_result *r)
{
    peer_frames_next(f, c, in->data + at, in->len - at, used, reply, r);
    return r->event;
}

static void test_keyless_handshake_then_messages_byte_by_byte(void **state)
{
    (void)state;
    struct peer_frames_config c = config_for(&no_key);
    struct buf in, reply;
    buf_init(&in);
    buf_init(&reply);
    put_hello(&in, false);
    put_message(&in, "one");
    put_message(&in, "two");
    struct peer_frames f;
    peer_frames_init(&f);
    const char *expected[] = {NULL, "one", "two"};
    size_t at = 0, seen = 0;
    for (size_t avail = 0; avail <= in.len; avail++) {
        struct peer_frame_result r;
        size_t used;
        peer_frames_next(&f, &c, in.data + at, avail - at, &used, &reply, &r);
        if (r.event == PEER_FRAMES_MORE)
            continue;
        if (seen == 0) {
            assert_int_equal(r.event, PEER_FRAMES_ESTABLISHED);
            assert_int_equal(f.from, 2);
        } else {
            assert_int_equal(r.event, PEER_FRAMES_MESSAGE);
            assert_int_equal(r.len, strlen(expected[seen]));
            assert_memory_equal(r.body, expected[seen], r.len);
        }
        seen++;
        at += used;
    }
    assert_int_equal(seen, 3);
    assert_int_equal(at, in.len);
    buf_free(&in);
    buf_free(&reply);
}

static void test_authenticated_handshake(void **state)
{
    (void)state;
    struct peer_frames_config c = config_for(&key);
    struct buf in, reply;
    buf_init(&in);
    buf_init(&reply);
    put_hello(&in, true);
    struct peer_frames f;
    peer_frames_init(&f);
    struct peer_frame_result r;
    size_t used;
    assert_int_equal(next(&f, &c, &in, 0, &used, &reply, &r), PEER_FRAMES_CHALLENGE);
    assert_int_equal(used, in.len);
    assert_int_equal(reply.len, PEER_NONCE_BYTES + PEER_MAC_BYTES + 9);
    /* The connecting side checks the CHALLENGE and answers with its PROOF. */
    uint8_t nonce[PEER_NONCE_BYTES], mac[PEER_MAC_BYTES];
    assert_true(peer_handshake_decode_auth(reply.data + 4, reply.len - 4, PEER_CHALLENGE, nonce,
                                           mac));
    assert_true(peer_auth_verify(&key, PEER_AUTH_ACCEPTOR, in.data + 4, in.len - 4, nonce, mac));
    peer_auth_mac(&key, PEER_AUTH_CONNECTOR, in.data + 4, in.len - 4, nonce, mac);
    struct buf rest;
    buf_init(&rest);
    peer_handshake_encode_auth(&rest, PEER_PROOF, NULL, mac);
    put_message(&rest, "hello");
    assert_int_equal(next(&f, &c, &rest, 0, &used, &reply, &r), PEER_FRAMES_ESTABLISHED);
    assert_int_equal(f.from, 2);
    assert_int_equal(next(&f, &c, &rest, used, &used, &reply, &r), PEER_FRAMES_MESSAGE);
    assert_memory_equal(r.body, "hello", 5);
    buf_free(&rest);
    buf_free(&in);
    buf_free(&reply);
}

static void test_wrong_proof_refused(void **state)
{
    (void)state;
    struct peer_frames_config c = config_for(&key);
    struct buf in, reply;
    buf_init(&in);
    buf_init(&reply);
    put_hello(&in, true);
    uint8_t mac[PEER_MAC_BYTES] = {0};
    peer_handshake_encode_auth(&in, PEER_PROOF, NULL, mac);
    struct peer_frames f;
    peer_frames_init(&f);
    struct peer_frame_result r;
    size_t used, at;
    assert_int_equal(next(&f, &c, &in, 0, &at, &reply, &r), PEER_FRAMES_CHALLENGE);
    assert_int_equal(next(&f, &c, &in, at, &used, &reply, &r), PEER_FRAMES_REFUSED);
    assert_true(r.auth);
    assert_int_equal(f.from, NODE_NONE);
    /* Whatever comes next is refused too. */
    assert_int_equal(next(&f, &c, &in, at, &used, &reply, &r), PEER_FRAMES_REFUSED);
    buf_free(&in);
    buf_free(&reply);
}

static void test_refusals(void **state)
{
    (void)state;
    struct buf in, reply;
    buf_init(&in);
    buf_init(&reply);
    struct peer_frames f;
    struct peer_frame_result r;
    size_t used;
    /* A first frame over 4 KB, even if max_frame_bytes allows it. */
    struct peer_frames_config c = config_for(&no_key);
    c.max_frame_bytes = 1 << 20;
    buf_put_u32(&in, PEER_FRAMES_HANDSHAKE_MAX_BYTES + 1);
    peer_frames_init(&f);
    assert_int_equal(next(&f, &c, &in, 0, &used, &reply, &r), PEER_FRAMES_REFUSED);
    /* A keyed HELLO at a keyless replica, and the reverse: refused for the key. */
    buf_clear(&in);
    put_hello(&in, true);
    peer_frames_init(&f);
    assert_int_equal(next(&f, &c, &in, 0, &used, &reply, &r), PEER_FRAMES_REFUSED);
    assert_true(r.auth && r.hello_known);
    c = config_for(&key);
    buf_clear(&in);
    put_hello(&in, false);
    peer_frames_init(&f);
    assert_int_equal(next(&f, &c, &in, 0, &used, &reply, &r), PEER_FRAMES_REFUSED);
    assert_true(r.auth);
    /* After the handshake, a frame over max_frame_bytes. */
    c = config_for(&no_key);
    buf_clear(&in);
    put_hello(&in, false);
    buf_put_u32(&in, 1025);
    peer_frames_init(&f);
    assert_int_equal(next(&f, &c, &in, 0, &used, &reply, &r), PEER_FRAMES_ESTABLISHED);
    assert_int_equal(next(&f, &c, &in, used, &used, &reply, &r), PEER_FRAMES_REFUSED);
    assert_false(r.auth);
    buf_free(&in);
    buf_free(&reply);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keyless_handshake_then_messages_byte_by_byte),
        cmocka_unit_test(test_authenticated_handshake),
        cmocka_unit_test(test_wrong_proof_refused),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
