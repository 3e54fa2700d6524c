#include "runtime/peer_auth.h"

#include <sodium.h>
#include <string.h>

_Static_assert(PEER_MAC_BYTES == crypto_auth_hmacsha256_BYTES, "MAC size");

void peer_auth_nonce(uint8_t *nonce) { randombytes_buf(nonce, PEER_NONCE_BYTES); }

void peer_auth_mac(const struct peer_auth_key *key, enum peer_auth_role role,
                   const uint8_t *hello, size_t hello_len, const uint8_t *acceptor_nonce,
                   uint8_t *mac)
{
    /* The terminating NUL is part of the label, so neither label is a prefix of the other. */
    static const char acceptor[] = "catena peer acceptor", connector[] = "catena peer connector";
    const char *label = role == PEER_AUTH_ACCEPTOR ? acceptor : connector;
    size_t label_len = role == PEER_AUTH_ACCEPTOR ? sizeof acceptor : sizeof connector;
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, key->bytes, key->len);
    crypto_auth_hmacsha256_update(&state, (const uint8_t *)label, label_len);
    crypto_auth_hmacsha256_update(&state, hello, hello_len);
    crypto_auth_hmacsha256_update(&state, acceptor_nonce, PEER_NONCE_BYTES);
    crypto_auth_hmacsha256_final(&state, mac);
    sodium_memzero(&state, sizeof state);
}

bool peer_auth_verify(const struct peer_auth_key *key, enum peer_auth_role role,
                      const uint8_t *hello, size_t hello_len, const uint8_t *acceptor_nonce,
                      const uint8_t *mac)
{
    uint8_t expected[PEER_MAC_BYTES];
    peer_auth_mac(key, role, hello, hello_len, acceptor_nonce, expected);
    return crypto_verify_32(expected, mac) == 0;
}
