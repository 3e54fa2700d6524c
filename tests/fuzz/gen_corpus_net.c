/* Seeds for the two targets that read what arrives on a socket: client requests (fuzz_resp:
 * an options byte, then the bytes a client sends) and peer connections (fuzz_peer_frames, laid
 * out as fuzz_peer_frames_input.h says), with handshakes this replica accepts, with and without
 * the cluster key, and some it refuses. */
#include "common/buf.h"
#include "fuzz_peer_frames_input.h"
#include "gen_corpus.h"
#include "runtime/peer_auth.h"
#include "runtime/peer_handshake.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Appends one multibulk request; args end at NULL. */
static void gen_multibulk(struct buf *out, const char *const *args)
{
    size_t argc = 0;
    while (args[argc])
        argc++;
    char header[32];
    snprintf(header, sizeof header, "*%zu\r\n", argc);
    buf_append_str(out, header);
    for (size_t i = 0; i < argc; i++) {
        snprintf(header, sizeof header, "$%zu\r\n", strlen(args[i]));
        buf_append_str(out, header);
        buf_append_str(out, args[i]);
        buf_append_str(out, "\r\n");
    }
}

static void gen_request_seed(const char *dir, const char *name, uint8_t options,
                             const char *const *const *requests, const char *raw)
{
    struct buf b;
    buf_init(&b);
    buf_put_u8(&b, options);
    for (size_t i = 0; requests && requests[i]; i++)
        gen_multibulk(&b, requests[i]);
    if (raw)
        buf_append_str(&b, raw);
    gen_write(dir, name, &b);
    buf_free(&b);
}

#define REQ(...) ((const char *const[]){__VA_ARGS__, NULL})

void gen_requests(const char *dir)
{
    /* Every data command with valid arguments, then errors the command table answers. */
    const char *const *const all[] = {
        REQ("SET", "k", "v"), REQ("SET", "k", "w", "NX"), REQ("SET", "k", "x", "XX", "GET"),
        REQ("GET", "k"), REQ("SETNX", "n", "1"), REQ("GETSET", "k", "y"), REQ("DEL", "k", "n"),
        REQ("EXISTS", "k", "a"), REQ("INCR", "c"), REQ("INCRBY", "c", "-42"), REQ("DECR", "c"),
        REQ("DECRBY", "c", "9223372036854775807"), REQ("APPEND", "s", "tail"),
        REQ("STRLEN", "s"), REQ("MSET", "a", "1", "b", "2"), REQ("MGET", "a", "b", "zz"),
        REQ("DBSIZE"), REQ("INCR", "a"), REQ("FLUSHALL"), REQ("nosuchcommand", "x"),
        REQ("GET"), REQ("set", "lower", "case"), NULL};
    gen_request_seed(dir, "seed-data-commands", 0, all, NULL);
    gen_request_seed(dir, "seed-data-commands-resp3", 4, all, NULL);
    const char *const *const session[] = {REQ("HELLO", "3"), REQ("AUTH", "secret"),
                                          REQ("PING"), REQ("CLIENT", "SETNAME", "x"), NULL};
    gen_request_seed(dir, "seed-unauthenticated", 1, session, "*11\r\n");
    gen_request_seed(dir, "seed-inline", 0, NULL,
                     "SET key \"a \\x41\\n quoted\" \r\nGET 'key'\nINCR counter\r\n\r\n"
                     "MSET a 1 b \"2\"\n");
    gen_request_seed(dir, "seed-empty-and-null", 0, NULL, "*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n");
    gen_request_seed(dir, "seed-bad-bulk", 0, NULL, "*2\r\n$3\r\nGET\r\n$-5\r\nkey\r\n");
    gen_request_seed(dir, "seed-tiny-limits", 2, all, NULL);
}

/* A HELLO from replica 2 to this replica, with the cluster key's nonce if auth. */
static void gen_hello(struct buf *out, uint16_t version, const char *cluster, bool auth)
{
    struct peer_handshake h = {.version = version, .from = 2, .to = FUZZ_PEER_SELF,
                               .port = 7102, .auth = auth};
    snprintf(h.cluster_id, sizeof h.cluster_id, "%s", cluster);
    snprintf(h.host, sizeof h.host, "127.0.0.1");
    memset(h.nonce, 0x17, sizeof h.nonce);
    peer_handshake_encode(out, &h);
}

static void gen_messages(struct buf *out)
{
    static const uint8_t alive[] = {9};
    static const uint8_t nudge[] = {7, 5, 0, 0, 0, 0, 0, 0, 0};
    buf_put_u32(out, sizeof alive);
    buf_append(out, alive, sizeof alive);
    buf_put_u32(out, sizeof nudge);
    buf_append(out, nudge, sizeof nudge);
    buf_put_u32(out, 0); /* an empty frame */
}

static void gen_peer_seed(const char *dir, const char *name, uint8_t options,
                          const struct buf *stream)
{
    struct buf b;
    buf_init(&b);
    buf_put_u8(&b, options);
    buf_append(&b, stream->data, stream->len);
    gen_write(dir, name, &b);
    buf_free(&b);
}

void gen_peer_frames(const char *dir)
{
    struct buf s;
    buf_init(&s);
    gen_hello(&s, PEER_PROTOCOL_VERSION, FUZZ_PEER_CLUSTER, false);
    gen_messages(&s);
    gen_peer_seed(dir, "seed-keyless", 0, &s);
    gen_peer_seed(dir, "seed-keyless-in-small-reads", 0xf0, &s);

    /* With the key: HELLO, then the PROOF this replica's fixed nonce calls for. */
    buf_clear(&s);
    gen_hello(&s, PEER_PROTOCOL_VERSION, FUZZ_PEER_CLUSTER, true);
    struct peer_auth_key key = {.len = sizeof FUZZ_PEER_KEY - 1};
    memcpy(key.bytes, FUZZ_PEER_KEY, key.len);
    uint8_t nonce[PEER_NONCE_BYTES], mac[PEER_MAC_BYTES];
    memset(nonce, FUZZ_PEER_NONCE_BYTE, sizeof nonce);
    peer_auth_mac(&key, PEER_AUTH_CONNECTOR, s.data + 4, s.len - 4, nonce, mac);
    peer_handshake_encode_auth(&s, PEER_PROOF, NULL, mac);
    gen_messages(&s);
    gen_peer_seed(dir, "seed-cluster-key", FUZZ_PEER_OPT_KEY, &s);
    gen_peer_seed(dir, "seed-cluster-key-at-keyless-replica", 0, &s);
    buf_clear(&s);
    gen_hello(&s, PEER_PROTOCOL_VERSION, FUZZ_PEER_CLUSTER, true);
    mac[0] ^= 1;
    peer_handshake_encode_auth(&s, PEER_PROOF, NULL, mac); /* for another HELLO */
    gen_messages(&s);
    gen_peer_seed(dir, "seed-cluster-key-wrong-proof", FUZZ_PEER_OPT_KEY, &s);

    buf_clear(&s);
    gen_hello(&s, 2, FUZZ_PEER_CLUSTER, false);
    gen_peer_seed(dir, "seed-old-version", 0, &s);
    buf_clear(&s);
    gen_hello(&s, PEER_PROTOCOL_VERSION, "another cluster", false);
    gen_peer_seed(dir, "seed-wrong-cluster", 0, &s);
    buf_clear(&s);
    gen_hello(&s, PEER_PROTOCOL_VERSION, FUZZ_PEER_CLUSTER, false);
    buf_put_u32(&s, FUZZ_PEER_MAX_FRAME + 1);
    gen_peer_seed(dir, "seed-oversized-frame", 0, &s);
    buf_free(&s);
}
