/* The authenticated peer handshake's frames and MACs: what a peer without the key, with
 * another key, or replaying a recorded handshake can and cannot prove. */
#include "runtime/peer_auth.h"
#include "runtime/peer_handshake.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

static const struct peer_auth_key key = {.bytes = "a cluster key of 28 bytes...", .len = 28};
static const struct peer_auth_key other = {.bytes = "another key, also 28 bytes..", .len = 28};

/* A HELLO from replica 2 to replica 1 with a fresh nonce; its body (no length) into body. */
static void hello_body(struct buf *body, struct peer_handshake *h)
{
    *h = (struct peer_handshake){.version = PEER_PROTOCOL_VERSION, .from = 2, .to = 1,
                                 .port = 7102, .auth = true};
    strcpy(h->cluster_id, "catena");
    strcpy(h->host, "127.0.0.1");
    peer_auth_nonce(h->nonce);
    struct buf frame;
    buf_init(&frame);
    peer_handshake_encode(&frame, h);
    buf_init(body);
    buf_append(body, frame.data + 4, frame.len - 4);
    buf_free(&frame);
}

static void test_hello_round_trip(void **state)
{
    (void)state;
    struct peer_handshake h, decoded;
    struct buf body;
    hello_body(&body, &h);
    const char *reason = NULL;
    assert_true(peer_handshake_decode(body.data, body.len, &decoded, &reason));
    assert_true(decoded.auth);
    assert_int_equal(decoded.from, 2);
    assert_int_equal(decoded.to, 1);
    assert_string_equal(decoded.cluster_id, "catena");
    assert_memory_equal(decoded.nonce, h.nonce, PEER_NONCE_BYTES);
    /* A truncated nonce is malformed, not a HELLO without authentication. */
    assert_false(peer_handshake_decode(body.data, body.len - 1, &decoded, &reason));
    buf_free(&body);
}

static void test_challenge_and_proof_frames(void **state)
{
    (void)state;
    uint8_t nonce[PEER_NONCE_BYTES], mac[PEER_MAC_BYTES], nonce_out[PEER_NONCE_BYTES],
        mac_out[PEER_MAC_BYTES];
    peer_auth_nonce(nonce);
    memset(mac, 7, sizeof mac);
    struct buf frame;
    buf_init(&frame);
    peer_handshake_encode_auth(&frame, PEER_CHALLENGE, nonce, mac);
    assert_true(peer_handshake_decode_auth(frame.data + 4, frame.len - 4, PEER_CHALLENGE,
                                           nonce_out, mac_out));
    assert_memory_equal(nonce_out, nonce, sizeof nonce);
    assert_memory_equal(mac_out, mac, sizeof mac);
    /* A CHALLENGE is not a PROOF. */
    assert_false(peer_handshake_decode_auth(frame.data + 4, frame.len - 4, PEER_PROOF, NULL,
                                            mac_out));
    buf_free(&frame);
}

static void test_only_the_key_proves(void **state)
{
    (void)state;
    struct peer_handshake h;
    struct buf body;
    hello_body(&body, &h);
    uint8_t nonce[PEER_NONCE_BYTES], mac[PEER_MAC_BYTES];
    peer_auth_nonce(nonce);
    peer_auth_mac(&key, PEER_AUTH_CONNECTOR, body.data, body.len, nonce, mac);
    assert_true(peer_auth_verify(&key, PEER_AUTH_CONNECTOR, body.data, body.len, nonce, mac));
    assert_false(peer_auth_verify(&other, PEER_AUTH_CONNECTOR, body.data, body.len, nonce, mac));
    /* One side's MAC reflected back is not the other side's. */
    assert_false(peer_auth_verify(&key, PEER_AUTH_ACCEPTOR, body.data, body.len, nonce, mac));
    /* Any change to the HELLO (here the receiver id) breaks the MAC. */
    body.data[10] ^= 1;
    assert_false(peer_auth_verify(&key, PEER_AUTH_CONNECTOR, body.data, body.len, nonce, mac));
    buf_free(&body);
}

/* A recorded HELLO and PROOF replayed on a new connection meet a new acceptor nonce. */
static void test_replayed_proof_is_refused(void **state)
{
    (void)state;
    struct peer_handshake h;
    struct buf body;
    hello_body(&body, &h);
    uint8_t first_nonce[PEER_NONCE_BYTES], second_nonce[PEER_NONCE_BYTES], mac[PEER_MAC_BYTES];
    peer_auth_nonce(first_nonce);
    peer_auth_nonce(second_nonce);
    assert_memory_not_equal(first_nonce, second_nonce, PEER_NONCE_BYTES);
    peer_auth_mac(&key, PEER_AUTH_CONNECTOR, body.data, body.len, first_nonce, mac);
    assert_false(
        peer_auth_verify(&key, PEER_AUTH_CONNECTOR, body.data, body.len, second_nonce, mac));
    buf_free(&body);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_round_trip),
        cmocka_unit_test(test_challenge_and_proof_frames),
        cmocka_unit_test(test_only_the_key_proves),
        cmocka_unit_test(test_replayed_proof_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
