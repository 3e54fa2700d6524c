/* ChainPaxos wire messages (docs/protocols/chainpaxos.md §4): encoding into a buf and validating
 * decoders for bytes that came from a peer.
 *
 * Every message is one frame body; the first byte is the type. Fields are little-endian and fixed
 * width:
 *   ballot   u64 round, u32 node                                   (12 bytes)
 *   value    u8 kind, u32 length, length bytes of body
 *            kind 0 NOOP: length 0; kind 1 BATCH: u32 count >= 1, then exactly count command
 *            records (core/command.h); kind 2 MEMBERSHIP: u8 op (1 REMOVE, 2 ADD), u8 flags
 *            (1 OPERATOR: asked for by an operator; a replica an operator removed stays out
 *            until an operator adds it again), u32 node
 *            (not 0), u32 anchor (ADD: the new member goes just before this one in the ring,
 *            or last if it is not a member; REMOVE: 0), u16 address length, address bytes
 *            (REMOVE: none; ADD: 1..255, opaque to the engine: the new member's host:port).
 *
 *   1 PREPARE         ballot, u64 from_instance
 *   2 PROMISE         ballot, u64 from_instance, u64 gc, u32 count,
 *                     count x (u64 instance, ballot, value); instances contiguous and >= from
 *   3 REJECT_PREPARE  ballot refused, ballot promised
 *   4 ACCEPT          ballot, u64 instance, u16 counter, u64 ack, u64 gc, u64 fence,
 *                     u64 decided, u64 leader's durable instance, u64 whole-chain ack, value
 *   5 ACCEPT_ACK      ballot, u64 instance, u64 carried ack, u8 whole (1: every member
 *                     accepted the instance before the tail; 0: not known)
 *   6 FORWARD         u8 hops, then a batch (u32 count >= 1, records) filling the rest
 *   7 READ_NUDGE      u64 slot
 *   8 REMOVE_REQUEST  u32 node: the sender suspects `node` (its successor); to the leader
 *   9 ALIVE           (nothing): answer to a repeated or early ACCEPT from the predecessor
 *  10 NOT_MEMBER      u64 config instance, u8 retired: answer to a message from a replica that
 *                     is not a member of the sender's configuration (executed at that
 *                     instance); retired 1 if an operator removed it (it must not ask to rejoin)
 *  11 CHANGE_REQUEST  a MEMBERSHIP value body: a change for the leader to propose (an
 *                     operator's, passed on by the replica that took it, or a JOIN: an ADD of
 *                     the sender itself, sent by a replica outside the configuration)
 *  12 STATE_REQUEST   u64 instance, u64 offset: a joining replica asks its predecessor for
 *                     its state, holding the first `offset` bytes of the transfer at
 *                     `instance` (0, 0: nothing); sent when an ACCEPT arrives before its
 *                     state, and after each STATE_PART, to pull the next ones
 *  13 STATE           ballot, u64 instance, u64 ack, u64 gc, u64 fence, u64 config instance,
 *                     3 x (u8 count, count x u32 node): members, previous members, retired;
 *                     u32 length, state bytes (the state machine as of `instance`)
 *  14 QUORUM_ACK      ballot, u64 instance: every instance <= it is chosen; to the leader
 *  15 PROGRESS        ballot, u64 accepted, u32 next hop, u32 smoothed round trip to it in
 *                     ms, u32 replies since the last PROGRESS
 *  16 STATE_PART      u64 instance, u64 total, u64 offset, then bytes filling the rest
 *  17 PROBE           u64 the sender's clock, ballot: to the next hop, behind the ACCEPTs
 *  18 PROBE_REPLY     u64 the clock the PROBE carried, the replier's ballot; sent back once
 *                     durable as what preceded
 *  19 DURABLE         ballot, u64 instance: the ballot's leader has its records up to it on
 *                     disk; from the leader to every member
 *
 * Decoders never trust the input: they return false when the bytes are short, too long, of an
 * unknown type or kind, or when inner lengths do not add up. Decoded structs point into the input
 * (no copy): they are valid as long as the input bytes are. */
#ifndef CATENA_PROTOCOLS_CHAINPAXOS_MESSAGES_H
#define CATENA_PROTOCOLS_CHAINPAXOS_MESSAGES_H

#include "common/buf.h"
#include "common/reader.h"
#include "core/types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum chain_msg_type {
    CHAIN_MSG_PREPARE = 1,
    CHAIN_MSG_PROMISE = 2,
    CHAIN_MSG_REJECT_PREPARE = 3,
    CHAIN_MSG_ACCEPT = 4,
    CHAIN_MSG_ACCEPT_ACK = 5,
    CHAIN_MSG_FORWARD = 6,
    CHAIN_MSG_READ_NUDGE = 7,
    CHAIN_MSG_REMOVE_REQUEST = 8,
    CHAIN_MSG_ALIVE = 9,
    CHAIN_MSG_NOT_MEMBER = 10,
    CHAIN_MSG_CHANGE_REQUEST = 11,
    CHAIN_MSG_STATE_REQUEST = 12,
    CHAIN_MSG_STATE = 13,
    CHAIN_MSG_QUORUM_ACK = 14,
    CHAIN_MSG_PROGRESS = 15,
    CHAIN_MSG_STATE_PART = 16,
    CHAIN_MSG_PROBE = 17,
    CHAIN_MSG_PROBE_REPLY = 18,
    CHAIN_MSG_DURABLE = 19,
};

enum chain_value_kind {
    CHAIN_VALUE_NOOP = 0,
    CHAIN_VALUE_BATCH = 1,
    CHAIN_VALUE_MEMBERSHIP = 2,
};

enum chain_membership_op {
    CHAIN_OP_REMOVE = 1,
    CHAIN_OP_ADD = 2,
    CHAIN_OP_MOVE = 3, /* a member moves to just before `anchor` (to the tail: the leader) */
};

enum { CHAIN_CHANGE_OPERATOR = 1 };

#define CHAIN_MAX_ADDRESS 255

/* Instance numbers beyond this are refused on the wire, so that `instance + 1` and the log's
 * index arithmetic can never overflow whatever a peer sends. */
#define CHAIN_MAX_INSTANCE (UINT64_MAX / 4)

/* Fixed sizes, used by decoders and by tests that build or truncate messages. */
#define CHAIN_BALLOT_BYTES 12
#define CHAIN_VALUE_HEADER_BYTES 5
#define CHAIN_PREPARE_BYTES (1 + CHAIN_BALLOT_BYTES + 8)
#define CHAIN_PROMISE_HEADER_BYTES (1 + CHAIN_BALLOT_BYTES + 8 + 8 + 4)
#define CHAIN_REJECT_BYTES (1 + 2 * CHAIN_BALLOT_BYTES)
#define CHAIN_ACCEPT_HEADER_BYTES (1 + CHAIN_BALLOT_BYTES + 8 + 2 + 8 + 8 + 8 + 8 + 8 + 8)
#define CHAIN_ACCEPT_ACK_BYTES (1 + CHAIN_BALLOT_BYTES + 8 + 8 + 1)
#define CHAIN_QUORUM_ACK_BYTES (1 + CHAIN_BALLOT_BYTES + 8)

/* A value as it travels: kind plus body bytes (for BATCH: u32 count + records). */
struct chain_value {
    uint8_t kind;
    const uint8_t *body;
    size_t len;
};

struct chain_prepare {
    struct ballot ballot;
    instance_no from;
};

/* PROMISE header; the entries are read with chain_msg_next_promised from `entries`. */
struct chain_promise {
    struct ballot ballot;
    instance_no from;
    instance_no gc;
    uint32_t count;
    struct reader entries; /* positioned at the first entry, already validated */
};

struct chain_promised {
    instance_no instance;
    struct ballot ballot;
    struct chain_value value;
};

struct chain_reject {
    struct ballot refused;
    struct ballot promised;
};

struct chain_accept {
    struct ballot ballot;
    instance_no instance;
    uint16_t counter; /* replicas on the path that accepted, the sender included */
    instance_no ack;
    instance_no gc;
    /* The last instance the ballot's leader re-proposed after its phase 1 (the same in every
     * ACCEPT of a ballot): the ack carried by an instance <= fence says nothing about the
     * order of older proposals, so reads never rely on it (docs/protocols/chainpaxos.md §5.8). */
    instance_no fence;
    /* The sender's decided instance (every instance <= it is chosen: max of what it learned
     * and what it executed): a replica that holds the ballot's values up to it may execute them
     * without waiting for the whole chain's ack (docs/protocols/chainpaxos.md §5.3). */
    instance_no decided;
    /* How far the ballot's leader has its records on disk, as far as the sender knows: the
     * leader's vote, which every counter includes, counts only up to there (leader_disk.c). */
    instance_no durable;
    /* The leader's whole-chain ack when it proposed this instance in this ballot: every member
     * of the configuration had accepted that instance before the tail acknowledged it, so this
     * instance was proposed after each of them accepted it. Reads rest on it
     * (docs/protocols/chainpaxos.md §5.8). Passed on unchanged. */
    instance_no whole_ack;
    struct chain_value value;
};

/* READ_NUDGE: reads wait at this replica for instance `slot`, which it has not seen proposed;
 * an idle leader proposes a NOOP so they need not wait for the heartbeat. */
struct chain_read_nudge {
    instance_no slot;
};

/* A MEMBERSHIP value body, decoded. */
struct chain_change {
    uint8_t op; /* enum chain_membership_op */
    uint8_t flags; /* CHAIN_CHANGE_OPERATOR or 0 */
    node_id node;
    node_id anchor;         /* ADD and MOVE */
    const uint8_t *address; /* ADD only */
    size_t address_len;
};

/* NOT_MEMBER, decoded. */
struct chain_not_member {
    instance_no config_instance;
    bool retired;
};

/* STATE (state transfer to a joining replica), decoded; state points into the message. */
struct chain_state {
    struct ballot ballot;
    instance_no instance, ack, gc, fence, config_instance;
    node_id members[CATENA_MAX_NODES], prev[CATENA_MAX_NODES], retired[CATENA_MAX_NODES];
    size_t n, prev_n, retired_count;
    const uint8_t *state;
    size_t state_len;
};

struct chain_accept_ack {
    struct ballot ballot;
    instance_no instance;
    instance_no ack; /* the ack that came to the tail with this instance's ACCEPT */
    bool whole;      /* every member accepted the instance before the tail did */
};

/* QUORUM_ACK: the replica where an instance's counter reached the quorum tells the leader
 * that every instance <= `instance` (what it executed) is chosen. */
struct chain_quorum_ack {
    struct ballot ballot;
    instance_no instance;
};

/* PROGRESS: a follower's highest accepted instance in `ballot`, sent to the leader every
 * retransmit_ms, so that it can measure each replica's backlog, and the round trips of PROBEs
 * to its next hop `next`, with the number of replies since its last report (slow.c). */
struct chain_progress {
    struct ballot ballot;
    instance_no accepted;
    node_id next;        /* NODE_NONE: no hop measured */
    uint32_t hop_rtt_ms; /* smoothed round trip to `next` */
    uint32_t hop_samples;
};

/* STATE_PART: a slice of a STATE message too large for one frame (join.c). `instance` names
 * the transfer (the STATE's instance); the parts of one transfer arrive in offset order. */
struct chain_state_part {
    instance_no instance;
    uint64_t total, offset;
    const uint8_t *bytes;
    size_t len;
};
#define CHAIN_STATE_PART_MAX_TOTAL ((uint64_t)1 << 40)

/* STATE_REQUEST: what the joiner holds of the transfer at `instance` (join.c). */
struct chain_state_request {
    instance_no instance;
    uint64_t offset;
};

struct chain_forward {
    uint8_t hops;
    uint32_t count;
    const uint8_t *batch; /* u32 count + records, as a BATCH value body */
    size_t batch_len;
};

/* Encoders append one whole message to `out`. */
void chain_msg_put_prepare(struct buf *out, const struct chain_prepare *m);
/* A PROMISE is the header followed by `count` chain_msg_put_promised calls. */
void chain_msg_put_promise_header(struct buf *out, struct ballot ballot, instance_no from,
                                  instance_no gc, uint32_t count);
void chain_msg_put_promised(struct buf *out, instance_no instance, struct ballot ballot,
                            const struct chain_value *value);
void chain_msg_put_reject(struct buf *out, const struct chain_reject *m);
void chain_msg_put_accept(struct buf *out, const struct chain_accept *m);
void chain_msg_put_accept_ack(struct buf *out, const struct chain_accept_ack *m);
void chain_msg_put_quorum_ack(struct buf *out, const struct chain_quorum_ack *m);
void chain_msg_put_progress(struct buf *out, const struct chain_progress *m);
void chain_msg_put_state_part(struct buf *out, const struct chain_state_part *m);
void chain_msg_put_read_nudge(struct buf *out, const struct chain_read_nudge *m);
void chain_msg_put_remove_request(struct buf *out, node_id node);
void chain_msg_put_alive(struct buf *out);
/* DURABLE: the leader of `ballot` has its records up to `instance` on disk. */
void chain_msg_put_durable(struct buf *out, struct ballot ballot, instance_no instance);
/* PROBE and its reply carry the prober's own clock, which only the prober reads, and the
 * sender's promised ballot (probe.c). */
struct chain_probe {
    uint64_t sent_ms;
    struct ballot ballot;
};
void chain_msg_put_probe(struct buf *out, uint8_t type, const struct chain_probe *m);
void chain_msg_put_not_member(struct buf *out, const struct chain_not_member *m);
void chain_msg_put_change_request(struct buf *out, const struct chain_change *m);
void chain_msg_put_state_request(struct buf *out, const struct chain_state_request *m);
void chain_msg_put_state(struct buf *out, const struct chain_state *m);
/* A MEMBERSHIP value body (not a message). */
void chain_change_put(struct buf *out, const struct chain_change *m);
/* batch: u32 count + records (a BATCH body). */
void chain_msg_put_forward(struct buf *out, uint8_t hops, const uint8_t *batch, size_t len);

/* A ballot's wire form (u64 round, u32 node), also used by the durable records. */
void chain_put_ballot(struct buf *out, struct ballot b);
struct ballot chain_read_ballot(struct reader *r);

/* The type byte, or 0 for an empty message. */
uint8_t chain_msg_type(const uint8_t *data, size_t len);

/* Decoders: true iff `data` is exactly one well-formed message of that type. */
bool chain_msg_decode_prepare(const uint8_t *data, size_t len, struct chain_prepare *m);
bool chain_msg_decode_promise(const uint8_t *data, size_t len, struct chain_promise *m);
/* Reads the next entry of a PROMISE that chain_msg_decode_promise accepted. */
void chain_msg_next_promised(struct reader *r, struct chain_promised *e);
bool chain_msg_decode_reject(const uint8_t *data, size_t len, struct chain_reject *m);
bool chain_msg_decode_accept(const uint8_t *data, size_t len, struct chain_accept *m);
bool chain_msg_decode_accept_ack(const uint8_t *data, size_t len, struct chain_accept_ack *m);
bool chain_msg_decode_quorum_ack(const uint8_t *data, size_t len, struct chain_quorum_ack *m);
bool chain_msg_decode_progress(const uint8_t *data, size_t len, struct chain_progress *m);
bool chain_msg_decode_state_part(const uint8_t *data, size_t len, struct chain_state_part *m);
bool chain_msg_decode_read_nudge(const uint8_t *data, size_t len, struct chain_read_nudge *m);
bool chain_msg_decode_forward(const uint8_t *data, size_t len, struct chain_forward *m);
bool chain_msg_decode_remove_request(const uint8_t *data, size_t len, node_id *node);
bool chain_msg_decode_alive(const uint8_t *data, size_t len);
bool chain_msg_decode_probe(const uint8_t *data, size_t len, uint8_t type,
                            struct chain_probe *m);
bool chain_msg_decode_durable(const uint8_t *data, size_t len, struct ballot *ballot,
                              instance_no *instance);
bool chain_msg_decode_not_member(const uint8_t *data, size_t len, struct chain_not_member *m);
bool chain_msg_decode_change_request(const uint8_t *data, size_t len, struct chain_change *m);
bool chain_msg_decode_state_request(const uint8_t *data, size_t len,
                                    struct chain_state_request *m);
bool chain_msg_decode_state(const uint8_t *data, size_t len, struct chain_state *m);
/* A message of any type, decoded: its type byte and the fields of that type. */
struct chain_msg {
    uint8_t type;
    union {
        struct chain_prepare prepare;
        struct chain_promise promise;
        struct chain_reject reject;
        struct chain_accept accept;
        struct chain_accept_ack accept_ack;
        struct chain_quorum_ack quorum_ack;
        struct chain_progress progress;
        struct chain_state_part state_part;
        struct chain_state_request state_request;
        struct chain_forward forward;
        struct chain_read_nudge nudge;
        node_id suspect; /* REMOVE_REQUEST */
        struct chain_not_member not_member;
        struct chain_change change;
        struct chain_state state;
        struct chain_probe probe; /* PROBE, PROBE_REPLY */
        struct {
            struct ballot ballot;
            instance_no upto;
        } durable;
    } u;
};
/* True iff `data` is exactly one well-formed message of a known type: the one decoder of
 * everything a replica receives (recv.c) and of what the fuzzer calls well-formed. */
bool chain_msg_decode(const uint8_t *data, size_t len, struct chain_msg *m);
/* True iff body is a well-formed MEMBERSHIP value body. */
bool chain_change_decode(const uint8_t *body, size_t len, struct chain_change *m);

/* Size of the well-formed command record at the start of p (at most len bytes), or 0 if the
 * bytes do not hold one (core/command.h layout; argc must be 1..COMMAND_MAX_ARGS). */
size_t chain_record_size(const uint8_t *p, size_t len);
/* True iff body is u32 count >= 1 followed by exactly count well-formed records; sets *count. */
bool chain_batch_valid(const uint8_t *body, size_t len, uint32_t *count);

#endif
