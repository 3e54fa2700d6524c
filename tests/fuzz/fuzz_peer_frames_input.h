/* The fixed side of fuzz_peer_frames' connection, shared with the seed generator so that the
 * seeds' handshakes (and PROOFs) are the ones this replica accepts. Input: one options byte
 * (bit 0: this replica has FUZZ_PEER_KEY; bits 1-7 seed how the rest is cut into reads), then
 * the bytes the peer sends. */
#ifndef CATENA_TESTS_FUZZ_PEER_FRAMES_INPUT_H
#define CATENA_TESTS_FUZZ_PEER_FRAMES_INPUT_H

#define FUZZ_PEER_SELF 1
#define FUZZ_PEER_CLUSTER "fuzz"
#define FUZZ_PEER_KEY "catena fuzz cluster key"
#define FUZZ_PEER_NONCE_BYTE 0x5e /* every byte of this replica's CHALLENGE nonce */
#define FUZZ_PEER_MAX_FRAME 2048
#define FUZZ_PEER_OPT_KEY 1

#endif
