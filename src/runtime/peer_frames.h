/* The receiving side of a peer connection without its socket (docs/protocols/peer-transport.md):
 * splits the bytes received into `u32 length | body` frames, runs the handshake (HELLO, and with
 * a cluster key the CHALLENGE this side answers and the PROOF it checks), then hands out the
 * protocol messages. It does no I/O and keeps no pointer to the caller's buffer, so
 * peer_inbound.c runs it on libuv and the fuzz target (tests/fuzz/fuzz_peer_frames.c) on bytes.
 *
 * Nothing received is trusted: a frame larger than the limit (4 KB until the handshake is done,
 * max_frame_bytes after), a malformed or refused HELLO, a wrong PROOF, or anything after one of
 * those ends the connection with a reason; it never asserts on the bytes. */
#ifndef CATENA_RUNTIME_PEER_FRAMES_H
#define CATENA_RUNTIME_PEER_FRAMES_H

#include "common/buf.h"
#include "core/types.h"
#include "runtime/peer_auth.h"
#include "runtime/peer_handshake.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Frames accepted before the peer is known: a stranger cannot make this side buffer 1 GB. */
#define PEER_FRAMES_HANDSHAKE_MAX_BYTES 4096

struct peer_frames_config {
    node_id self;
    const char *cluster_id;
    const struct peer_auth_key *key; /* len 0: no cluster key */
    size_t max_frame_bytes;
    /* Draws this side's CHALLENGE nonce; NULL for peer_auth_nonce (the system's random
     * source). Tests pass a fixed one so that a recorded PROOF is valid. */
    void (*nonce)(uint8_t *nonce);
};

/* One connection's progress; zero it (peer_frames_init) when the connection opens. */
struct peer_frames {
    node_id from;       /* NODE_NONE until the handshake is done */
    bool waiting_proof; /* with a key: HELLO accepted, CHALLENGE sent, PROOF not yet in */
    bool closed;        /* refused: nothing more is read */
    struct peer_handshake hello;
    uint8_t hello_body[256]; /* the HELLO as sent (at most 177 bytes): the MACs cover it */
    size_t hello_len;
    uint8_t nonce[PEER_NONCE_BYTES]; /* this side's, sent in the CHALLENGE */
};

enum peer_frame_event {
    PEER_FRAMES_MORE,       /* no complete frame: wait for more bytes */
    PEER_FRAMES_MESSAGE,    /* a protocol message from `from`: body, len */
    PEER_FRAMES_CHALLENGE,  /* HELLO accepted; send `reply` (the CHALLENGE), wait for PROOF */
    PEER_FRAMES_ESTABLISHED, /* the handshake is done: the peer is `from` (hello says more) */
    PEER_FRAMES_REFUSED,    /* close the connection: why, auth (the key is the reason) */
};

struct peer_frame_result {
    enum peer_frame_event event;
    const uint8_t *body; /* MESSAGE: points into the caller's bytes */
    size_t len;
    struct buf *reply;   /* CHALLENGE: the frame to send, appended to the caller's buffer */
    const char *why;     /* REFUSED: a reason for the log */
    bool auth;           /* REFUSED: about the cluster key */
    bool hello_known;    /* REFUSED: f->hello holds the peer's decoded HELLO */
};

void peer_frames_init(struct peer_frames *f);
/* Looks at the start of data[0, len), the bytes received and not yet consumed, and handles at
 * most one frame: *consumed is how many bytes it took (0 for MORE and REFUSED). reply receives
 * a CHALLENGE frame when there is one to send. After REFUSED, every call returns REFUSED. */
void peer_frames_next(struct peer_frames *f, const struct peer_frames_config *config,
                      const uint8_t *data, size_t len, size_t *consumed, struct buf *reply,
                      struct peer_frame_result *result);

#endif
