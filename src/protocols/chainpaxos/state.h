/* The state of one ChainPaxos replica (docs/protocols/chainpaxos.md §3).
 *
 * One struct per engine; nothing global. Every field is owned by the engine; `out` borrows the
 * caller's outbox for the duration of one step and is NULL between steps. */
#ifndef CATENA_PROTOCOLS_CHAINPAXOS_STATE_H
#define CATENA_PROTOCOLS_CHAINPAXOS_STATE_H

#include "common/buf.h"
#include "common/rng.h"
#include "core/engine.h"
#include "core/outbox.h"
#include "core/types.h"
#include "protocols/chainpaxos/fifo.h"
#include "protocols/chainpaxos/log.h"
#include "protocols/chainpaxos/messages.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A command this replica submitted, kept until it executes here (inflight.c). */
struct chain_inflight {
    struct chain_fifo_item record;
    uint64_t client, seq;
    uint64_t sent_ms; /* last (re)submission */
    bool executed;
};

/* A local read waiting to be released (reads.c). */
struct chain_read {
    struct chain_fifo_item record;
    instance_no slot; /* the first instance not accepted in the ballot when it arrived */
    /* Once an instance j proposed after every member accepted `slot` is here: j - 1, what must
     * be executed before the read (0: no such instance yet; reads.c). */
    instance_no need;
};

/* Configurations a candidate needs a majority of: its own and one per change it recovers. */
#define CHAIN_MAX_VOTER_SETS 8

enum chain_role {
    CHAIN_FOLLOWER,  /* follows `leader` (or nobody yet) */
    CHAIN_CANDIDATE, /* ran phase 1 with ballot `promised`, waiting for Q promises */
    CHAIN_LEADER,    /* won phase 1 with ballot `promised`; proposes */
};

struct chain_engine {
    /* ---- identity and tunables (fixed at create) ---- */
    node_id self;
    uint64_t retransmit_ms;
    uint64_t noop_interval_ms;
    uint64_t leader_timeout_ms; /* followers run for leadership after this much silence */
    uint64_t suspect_ms;        /* a successor silent this long, with work outstanding, is suspected */
    size_t max_batch_bytes;
    size_t max_pending_bytes;
    size_t max_window_bytes;
    struct rng rng; /* election jitter */

    /* ---- membership (membership.c, docs/protocols/chainpaxos-membership.md) ---- */
    /* The configuration after every executed membership value: chain order, read as a ring.
     * It is conf(i) of every instance this replica has not executed yet (the stop rule). */
    node_id members[CATENA_MAX_NODES];
    size_t n;          /* member count */
    size_t quorum;     /* Q = n / 2 + 1, for both phases */
    size_t self_index; /* members[self_index] == self, unless removed */
    /* The configuration before the last executed change, which executed at config_instance
     * (0: none yet): conf(i) for i <= config_instance. */
    node_id prev_members[CATENA_MAX_NODES];
    size_t prev_n;
    instance_no config_instance;
    /* A membership value accepted here and not executed yet (0: none); while it is a REMOVE,
     * its target is "pending removal" and the chain goes around it. */
    instance_no pending_change;
    bool removed; /* outside the configuration (removed, or not added yet): takes no part */
    /* Replicas an operator removed: they stay out until an operator adds them again (a JOIN
     * of theirs is refused). Part of the configuration; the oldest is forgotten when full. */
    node_id retired[CATENA_MAX_NODES];
    size_t retired_count;

    /* ---- joining and state transfer (join.c) ---- */
    bool joining;        /* removed (not by an operator) or new: asks to be added */
    uint64_t join_next_ms; /* when to send the next JOIN */
    instance_no installed_at; /* the last state transfer's instance (0: none) */
    uint8_t self_address[CHAIN_MAX_ADDRESS];
    size_t self_address_len;
    /* Leader: one change asked for (an operator's, or a JOIN), proposed once the stop rule
     * allows; a newer request replaces it. */
    bool change_wanted;
    struct chain_change wanted;
    uint8_t wanted_address[CHAIN_MAX_ADDRESS];
    /* Leader: a replica an operator let back in (CATENA.ADD), until when. An operator's ADD
     * adds nobody itself: it lifts an operator's removal for a while, and the replica joins
     * with a JOIN, which discards whatever state it held (join.c). */
    uint64_t invited_until_ms[CATENA_MAX_NODES + 1]; /* by node id */
    /* Per node id: the instance of the executed ADD that last brought it in (0: none since it
     * was last removed), and when, or when the chain's ack passed it. Its predecessor sends it
     * its state until the chain's ack passes that ADD, and JOINs it sent before it got its
     * state must not pass for a restart (join.c). Per node, as several replicas may be joining
     * at once. */
    instance_no added_at[CATENA_MAX_NODES + 1];
    uint64_t added_ms[CATENA_MAX_NODES + 1];
    /* An operator's change this follower took (ENGINE_EVENT_CHANGE) and sent to the leader:
     * sent again to each new leader and every leader_timeout_ms until it executes, for at
     * most CHAIN_OPERATOR_PATIENCE_MS (the CHANGE_REQUEST or the leader may be lost). */
    bool op_waiting;
    struct chain_change op;
    uint8_t op_address[CHAIN_MAX_ADDRESS];
    uint64_t op_since_ms, op_sent_ms;
    /* Predecessor of a joiner: the joiner the last state snapshot was asked for, and when;
     * when a STATE_REQUEST of that joiner was last served. */
    node_id state_for;
    uint64_t state_asked_ms;
    uint64_t state_served_ms;
    uint64_t state_done_ms, state_done_bytes; /* when the last of a state went out; its size */
    size_t state_part_bytes; /* a larger STATE goes in STATE_PARTs of this size */
    /* ... and such a STATE is kept whole, encoded, while the joiner pulls its parts, so that a
     * part lost with a broken link costs only the parts from there on (join.c). */
    struct buf xfer;       /* empty: none kept */
    node_id xfer_to;
    instance_no xfer_instance;
    uint64_t xfer_sent;    /* bytes of it sent so far */
    uint64_t xfer_sent_ms; /* when parts of it were last sent */
    /* Joiner: the STATE being reassembled from its parts (join.c). */
    struct buf state_in;
    node_id state_in_from;
    instance_no state_in_instance;
    uint64_t state_in_total;

    /* ---- the step in progress ---- */
    uint64_t now_ms;     /* time of the latest event; never goes backwards */
    bool clock_started;  /* the first event arrived (timers start there) */
    uint64_t last_tick_ms; /* when the last TICK came */
    bool tick_skipped;     /* the last TICK came late and judged nothing (timers.c) */
    struct outbox *out;  /* effects of the current step */
    struct buf scratch;  /* encoding space for messages the engine hands itself */
    struct buf command_copy; /* a client's command, stamped (chain_command) */
    struct buf batch;    /* a sealed batch on its way into the log or a FORWARD */

    /* ---- acceptor: every replica ---- */
    struct ballot promised; /* highest ballot seen in a PREPARE or ACCEPT; never decreases */
    node_id leader;         /* promised.node: the replica this one follows (NODE_NONE: none) */
    size_t leader_index;    /* members[leader_index] == leader, when a leader is known */
    enum chain_role role;
    struct chain_log log;   /* instances log.base .. highest_accepted */
    /* Every instance <= highest_accepted is held or collected: no gaps. */
    instance_no highest_accepted;
    /* Every instance <= highest_executed is decided and was emitted, in order (decided ==
     * executed: a replica executes as soon as it decides). */
    instance_no highest_executed;
    /* ack: the whole chain accepted (and holds the chosen value of) every instance <= ack. */
    instance_no ack;
    /* Ordered ack (<= ack): learned only from ACCEPTs taken in order and, at the leader, from
     * ACCEPT_ACK. An ack that arrives on a gap or a retransmission is a fact (good enough to
     * decide), but it may have overtaken an instance this replica has not received; only
     * read_ack is passed down the chain (gc rests on it, §5.4), and the leader releases its
     * reads on it (reads.c). */
    instance_no read_ack;
    /* Leader: the highest instance the tail said every member accepted, in this ballot, before
     * it did (ACCEPT_ACK.whole); stamped on every proposal, for followers' reads (reads.c).
     * Reset with the ballot. */
    instance_no whole_ack;
    /* The fence of the ballot `promised` (struct chain_accept), CHAIN_FENCE_UNKNOWN until an
     * ACCEPT of that ballot arrives. Ordered acks are learned only from instances above it,
     * and reads are released only once every instance <= fence is executed: the values the
     * ballot's leader recovered include every write completed under older ballots. */
    instance_no fence;
    /* Every instance <= decided is chosen (learned from ACCEPTs, and at the leader from
     * QUORUM_ACK): an instance <= decided held with ballot `promised` holds the chosen value,
     * as a ballot's leader proposes the chosen value wherever there is one. Reset when a
     * higher ballot is adopted. */
    instance_no decided;
    /* Follower: an instance's counter reached the quorum here; the leader gets a QUORUM_ACK
     * of highest_executed at the next flush. */
    bool quorum_ack_due;
    /* gc: every replica of the chain executed every instance <= gc. Kept <= ack. */
    instance_no gc;
    /* Every instance <= settled is <= ack or was accepted with ballot `promised`. An ACCEPT for
     * instance i is taken only if i - 1 <= settled: with a new ballot, the old ballot's entries
     * above ack must be overwritten in order before anything may follow them (see recv_accept.c,
     * "settled"). Reset to ack when a higher ballot is adopted. */
    instance_no settled;
    /* The highest instance accepted in ballot `promised` (0: none). After a restart the log may
     * hold such instances above `settled`; a read attaches above both (reads.c). */
    instance_no ballot_accepted;
    /* When ack last advanced, or when instances above ack last appeared or were resent: the
     * retransmission timer (§5.6). */
    uint64_t ack_progress_ms;
    instance_no resend_decided; /* `decided` when the retransmission timer last ran out */

    /* ---- leader ---- */
    instance_no next_instance;       /* where the next proposal goes */
    instance_no last_batch_instance; /* highest instance proposed with a BATCH (0: none) */
    /* Bytes of the client batches this leader proposed above ack, and above its executed
     * instance (flow control, propose.c). */
    uint64_t window_bytes, undecided_bytes;
    instance_no sent_ack;            /* highest ack sent down the chain */
    instance_no sent_gc;             /* highest gc sent down the chain */
    uint64_t last_proposal_ms;       /* time of the last proposal (heartbeat NOOP timer) */
    /* The stop rule: a membership value was proposed at stop_until; nothing more is proposed
     * until it is decided (highest_executed >= stop_until). */
    instance_no stop_until;
    node_id remove_wanted; /* a member to remove once proposing is allowed (NODE_NONE: none) */
    node_id move_wanted;   /* a slow member, to move to the tail (NODE_NONE: none) */
    /* Each member's last PROGRESS, its lag behind this leader then, and how many reports in
     * a row found it the first replica of the chain that fell behind; the round trip it
     * measured to its next hop (the leader's own record holds its own measure) (slow.c). */
    struct chain_backlog {
        node_id node;
        instance_no lag;
        instance_no accepted; /* its last report */
        uint64_t at_ms;
        uint8_t strikes;
        node_id hop_next;
        uint32_t hop_rtt_ms;
        uint64_t hop_at_ms; /* when a report with fresh replies last came (0: never) */
    } backlog[CATENA_MAX_NODES];
    uint64_t progress_next_ms; /* follower: when to send the next PROGRESS */
    /* Leader: the member the last evaluations found slow by time, and in how many in a row. */
    node_id slow_hop_target;
    uint8_t slow_hop_strikes;
    /* Recovery after phase 1: instances recover_next..recover_last are re-proposed (values
     * from `recovered`) before anything else, pausing at membership values (stop rule). */
    instance_no recover_next, recover_last;

    /* ---- failure detection (election.c, monitor.c) ---- */
    /* Follower: when the current ballot was last heard of (an ACCEPT of it, or its adoption);
     * leader: its chain's last ACCEPT_ACK; candidate: when it started. After leader_timeout_ms
     * plus election_delay_ms of silence, the replica runs for leadership. */
    uint64_t leader_heard_ms;
    uint64_t election_delay_ms; /* grows with the distance from the leader, plus jitter */
    node_id monitored;          /* the next hop this replica watches */
    /* Suspected members right after this one (the pending removal aside) that ACCEPTs skip
     * until the configuration or the ballot changes (monitor.c). */
    size_t skip_depth;
    uint64_t skip_reported_ms; /* when a suspect was last reported */
    /* Peers whose link the transport reported lost (PEER_DOWN), and when: one that becomes the
     * next hop soon after is suspected sooner (monitor.c). */
    struct chain_link_down {
        node_id node;
        uint64_t at_ms;
    } link_down[CATENA_MAX_NODES];
    size_t link_down_next;
    /* When each id (1..CATENA_MAX_NODES) was last heard from through a message that only a
     * replica holding its state sends (0: never): a removal must leave a configuration whose
     * majority the leader can still hear (monitor.c). */
    uint64_t member_heard_ms[CATENA_MAX_NODES + 1];
    uint64_t successor_heard_ms;
    uint64_t alive_next_ms;     /* ALIVE is sent at most once per retransmit_ms / 4 */
    /* The round trip of PROBEs to the next hop, smoothed like TCP's SRTT (probe.c). */
    node_id probe_hop;           /* the next hop measured (the measure restarts on a change) */
    uint64_t probe_next_ms;      /* when the next PROBE may leave */
    instance_no probe_accepted;  /* highest_accepted when the last PROBE left */
    uint32_t probe_rtt8;         /* 8 x the smoothed round trip in ms */
    uint32_t probe_samples;      /* replies since the last PROGRESS (or the leader's evaluation) */

    /* ---- commands not yet proposed or forwarded (every role) ---- */
    struct buf pending;      /* u32 count placeholder, then records: a BATCH body in the making */
    uint32_t pending_count;  /* records in `pending` */

    /* ---- candidate ---- */
    bool election_started;     /* members[0] starts phase 1 on its first tick, once */
    uint64_t own_round; /* a round it ran with and forgot on rejoining (join.c): never reused */
    instance_no candidate_from; /* first instance of the PREPARE: ack + 1 when it was sent */
    /* Phase 1 needs a majority of each configuration the candidate's log can produce from
     * candidate_from on (joint quorums): conf(from), and the one its pending change makes. */
    node_id voters[CHAIN_MAX_VOTER_SETS][CATENA_MAX_NODES];
    size_t voter_count[CHAIN_MAX_VOTER_SETS];
    size_t voter_sets;
    bool voters_overflow; /* more changes than voter sets: cannot win */
    node_id promisers[2 * CATENA_MAX_NODES]; /* who promised the current ballot */
    size_t promiser_count;
    uint64_t last_prepare_ms;
    /* Highest-ballot value reported per instance by the promises (ballot and value only). */
    struct chain_log recovered;
    instance_no recovered_max; /* highest instance any promise reported (0: none) */

    /* ---- local reads (reads.c): FIFO; slots grow within a ballot ---- */
    struct chain_fifo reads;  /* of struct chain_read */
    size_t reads_stamped;     /* the first reads_stamped reads have their `need` set */
    instance_no nudged_slot;  /* follower: highest slot a READ_NUDGE was sent for */
    instance_no barrier_slot; /* leader: reads wait (here or at a nudging follower) for this */
    instance_no barrier_instance; /* leader: the last NOOP proposed for waiting reads */
    uint32_t planted_bugs;    /* test-only (engine_config.planted_bugs) */

    /* ---- this replica's commands until they execute (inflight.c) ---- */
    struct chain_fifo inflight; /* of struct chain_inflight, in submission order */
    uint64_t resend_ms; /* resubmit what has not executed after this long */
    uint64_t resubmitted;

    /* ---- durability (durable.c) ---- */
    bool durable;                 /* emits EFFECT_PERSIST records */
    size_t checkpoint_bytes;      /* records before a checkpoint, at least */
    size_t persisted_bytes;       /* records since the last checkpoint */
    size_t checkpoint_bytes_last; /* size of the last checkpoint */
    instance_no persisted_executed; /* the last EXECUTED record */
    instance_no persisted_ack;      /* the ack of the last EXECUTED or STATE record */
    instance_no restore_executed;   /* restarting: the last EXECUTED record found */
    uint64_t records_flushed; /* records_emitted when the last FLUSH ended */
    bool executed_due;        /* a tick passed: an EXECUTED record may go alone */
    uint64_t records_emitted, records_durable; /* EFFECT_PERSIST records, ENGINE_EVENT_DURABLE */
    /* What this replica knows of the disk of its ballot's leader, which passes its ACCEPTs on
     * before its own records of them are durable: they are, up to `leader_durable`, in
     * `leader_durable_ballot` (leader_disk.c). The leader: what it last told, and the highest
     * instance its successor has acknowledged as the tail (tail: what it acknowledged). */
    struct ballot leader_durable_ballot;
    instance_no leader_durable;
    instance_no leader_durable_told;
    instance_no tail_acked;
    uint64_t proposal_record; /* the leader's last proposal: its ACCEPT record */
    bool checkpoint_asked;        /* EFFECT_SNAPSHOT to itself sent, answer not back yet */
    instance_no checkpoint_at;    /* its instance */
    bool restoring;               /* RESTORE records are arriving */
    bool restored;                /* the RESTORE that ends them came */
    bool restart_election;        /* restarted after leading: runs at the first tick */
    struct buf restore_state;     /* the state machine of the last STATE record */
    instance_no restore_state_at; /* its instance (0: none) */
    bool restore_left, restore_left_joining; /* the last state record was a LEFT */

    /* ---- counters ---- */
    uint64_t messages_dropped; /* malformed, from unknown senders, stale, or otherwise ignored */
    uint64_t messages_malformed; /* of those: bytes that did not decode as a message */
};

#endif
