/* Functions shared between the files of the ChainPaxos engine. Not part of the public API.
 *
 * Every function takes the engine and runs inside a step: it may append effects to c->out.
 * "Any role" unless stated otherwise. Message structs passed to recv_* point into the message
 * bytes (or into the engine's own buffers for messages it hands itself) and are only read. */
#ifndef CATENA_PROTOCOLS_CHAINPAXOS_INTERNAL_H
#define CATENA_PROTOCOLS_CHAINPAXOS_INTERNAL_H

#include "protocols/chainpaxos/messages.h"
#include "protocols/chainpaxos/state.h"

/* How long a follower keeps sending an operator's change to the leader (membership §6.5). */
#define CHAIN_OPERATOR_PATIENCE_MS 10000
/* A follower that stays this many instances behind the leader (as the first such replica of
 * the chain) in CHAIN_SLOW_REPORTS PROGRESS reports in a row is moved to the tail. */
#define CHAIN_SLOW_BACKLOG 256
#define CHAIN_SLOW_REPORTS 3
/* So is one whose incoming hop, first along the chain, has a smoothed round trip of at least
 * CHAIN_SLOW_HOP_MS while the hop into the leader is CHAIN_SLOW_HOP_FACTOR times shorter, in as
 * many evaluations in a row (membership §7). */
#define CHAIN_SLOW_HOP_MS 20
#define CHAIN_SLOW_HOP_FACTOR 4
/* Proposals travel in at most this many instances per retransmission period (§5.6). */
#define CHAIN_RETRANSMIT_MAX_INSTANCES 1024
/* A candidate refuses a PROMISE whose entries end further than this beyond its first instance:
 * a real log never holds that many unacknowledged instances, and it bounds what a faulty peer
 * can make the candidate allocate. */
#define CHAIN_MAX_RECOVERY_SPAN ((instance_no)1 << 22)
#define CHAIN_FENCE_UNKNOWN UINT64_MAX
/* Ballot rounds at or beyond this are refused, so that `round + 1` never overflows. */
#define CHAIN_MAX_ROUND (UINT64_MAX / 4)

/* This replica's next candidacy runs above `round` (a ballot it must never run with again). */
static inline void chain_raise_own_round(struct chain_engine *c, uint64_t round)
{
    if (round > c->own_round)
        c->own_round = round;
}

/* ---- configurations and the chain (membership.c) ---- */

/* Index of `id` in members[] (or in list[0..n)), or -1 if it is not there. */
int chain_member_index(const struct chain_engine *c, node_id id);
int chain_list_index(const node_id *list, size_t n, node_id id);
/* The member after members[index] on the ring. */
static inline node_id chain_member_after(const struct chain_engine *c, size_t index)
{
    return c->members[(index + 1) % c->n];
}
/* Removes list[at]; returns the new length. */
size_t chain_list_remove(node_id *list, size_t n, size_t at);
/* Writes to `to` the configuration `from` (n members) with `change` applied; returns its size.
 * A change that cannot apply (remove a non-member or the last one, add a member) is a no-op. */
size_t chain_change_apply(const node_id *from, size_t n, const struct chain_change *change,
                          node_id *to);
/* Installs a configuration: members, quorum, own and leader's positions, `removed`. */
void chain_config_set(struct chain_engine *c, const node_id *members, size_t n);
/* The membership value accepted here and not executed yet, if any. */
bool chain_pending_change(const struct chain_engine *c, struct chain_change *change);
/* The target of a pending REMOVE, or NODE_NONE. */
node_id chain_pending_removal(const struct chain_engine *c);
/* Where this replica sends ACCEPTs: its successor, or the one after it if the successor is
 * pending removal (a bypass). Not for a removed replica. */
node_id chain_next_hop(const struct chain_engine *c);
/* True if this replica is the last of the current leader's chain (a leader must be known). */
bool chain_is_tail(const struct chain_engine *c);
/* True if `counter` replicas accepting an instance up to this one, inclusive, is all of them
 * on the chain: no replica before this one skipped a suspect. */
bool chain_counter_complete(const struct chain_engine *c, size_t counter);
/* Tail: true if it may acknowledge instance i to the leader (see the bypass, membership §4). */
bool chain_may_acknowledge(const struct chain_engine *c, instance_no i);
/* True if `id` is a member of the configuration this replica's log leads to (members with the
 * pending change applied): acceptors promise only to such candidates. */
bool chain_in_latest_config(const struct chain_engine *c, node_id id);
/* Candidate: fills voters[] with the configurations whose majorities phase 1 needs; again after
 * every promise (the changes it reports add configurations). */
void chain_voters(struct chain_engine *c);
bool chain_voters_satisfied(const struct chain_engine *c);
/* This replica is no longer a member: it stops taking part, and refuses reads and commands
 * (a joining one asks to be added back, membership §6). */
void chain_leave(struct chain_engine *c);
/* A member says this replica is not in its configuration of instance config_instance. */
void chain_recv_not_member(struct chain_engine *c, const struct chain_not_member *m);
/* Executes the membership value of instance i: new configuration, EFFECT_MEMBERSHIP. */
void chain_execute_change(struct chain_engine *c, instance_no i, const struct chain_entry *e);

/* ---- durability (durable.c): no-ops unless engine_config.durable ---- */

/* Records `promised` (and own_round): before any message that speaks for it. */
void chain_persist_ballot(struct chain_engine *c);
/* Records the value held for instance i. */
void chain_persist_accept(struct chain_engine *c, instance_no i, struct chain_entry *e);
/* Records that this replica left the configuration (its log and state are void). */
void chain_persist_left(struct chain_engine *c);
/* Records how far this replica executed, if that moved (at flushes). */
void chain_persist_executed(struct chain_engine *c);
/* Records a state transfer just installed (a checkpoint: it replaces every earlier record). */
void chain_persist_installed(struct chain_engine *c, const struct chain_state *m);
/* Asks the state machine for a checkpoint once enough records piled up. */
void chain_checkpoint_tick(struct chain_engine *c);
/* The log must keep the values after this instance (a checkpoint's snapshot is on its way). */
instance_no chain_checkpoint_keeps(const struct chain_engine *c);
/* The state machine's snapshot for a checkpoint (EFFECT_SNAPSHOT to itself); data NULL: by
 * reference (engine.h). */
void chain_checkpoint_ready(struct chain_engine *c, instance_no instance, const uint8_t *data,
                            size_t len);
/* ENGINE_EVENT_DURABLE: the first `records` records are durable. */
void chain_durable(struct chain_engine *c, uint64_t records);
/* ENGINE_EVENT_RESTORE: one record, or the end of them (len 0). */
void chain_restore(struct chain_engine *c, const uint8_t *data, size_t len);
/* The STATE message describing this replica at `instance` with state machine bytes data. */
void chain_state_describe(const struct chain_engine *c, instance_no instance,
                          const uint8_t *data, size_t len, struct chain_state *m);

/* ---- progress (progress.c) ---- */

/* Counts a message that was ignored (malformed, stale, unknown sender, useless). */
void chain_dropped(struct chain_engine *c);
/* Counts a message dropped because its bytes do not decode (also counted as dropped): a
 * replica sending these has a bug or is not a catena replica. */
void chain_malformed(struct chain_engine *c);
/* Adopts ballot b > promised: follows b.node (EFFECT_LEADER if it changes) and steps down if
 * this replica led or ran for another ballot. */
void chain_adopt_ballot(struct chain_engine *c, struct ballot b);
/* Learns an ack and a gc value (§5.3 step 3, §5.4): both only grow; gc never exceeds ack. */
void chain_learn(struct chain_engine *c, instance_no ack, instance_no gc);
/* Learns an ack carried in order (an ACCEPT taken as fresh, or ACCEPT_ACK at the leader):
 * read_ack grows, never beyond ack. */
void chain_learn_ordered(struct chain_engine *c, instance_no ack);
/* Decides and executes, in order, every instance after highest_executed that is <= ack or whose
 * counter reached Q, or that is <= decided and held in the current ballot (§5.3 steps 4, 8). */
void chain_decide(struct chain_engine *c);
/* Restarting: executes again, in order, what the replica held and had executed, up to i. */
void chain_execute_restored(struct chain_engine *c, instance_no i);
/* Drops from the log every instance <= min(gc, highest_executed) (§5.5). */
void chain_collect(struct chain_engine *c);

/* ---- sending (send.c): a message to self is handled at once, never put in the outbox ---- */

void chain_send_prepare(struct chain_engine *c, node_id to, const struct chain_prepare *m);
/* PROMISE(ballot, from, gc, every log instance >= from). */
void chain_send_promise(struct chain_engine *c, node_id to, struct ballot ballot,
                        instance_no from);
void chain_send_reject(struct chain_engine *c, node_id to, const struct chain_reject *m);
/* ACCEPT of the held instance i with its stored ballot and counter and the current ack/gc. */
void chain_send_entry(struct chain_engine *c, node_id to, instance_no i);
void chain_send_accept(struct chain_engine *c, node_id to, const struct chain_accept *m);
/* The decided instance an ACCEPT carries: what this replica knows to be chosen. */
static inline instance_no chain_carried_decided(const struct chain_engine *c)
{
    return c->decided > c->highest_executed ? c->decided : c->highest_executed;
}
/* The ack an ACCEPT for instance i carries on: `ordered` above the fence; at a re-proposed
 * instance (<= fence) nobody learns an ordered ack, so the fact is passed on: a new leader's
 * ack from the old ballot settles the replicas that lack it (recv_accept.c), which could
 * otherwise never take the first re-proposal. */
static inline instance_no chain_carried_ack(const struct chain_engine *c, instance_no i,
                                            instance_no ordered)
{
    return i > c->fence ? ordered : c->ack;
}
void chain_send_accept_ack(struct chain_engine *c, node_id to, const struct chain_accept_ack *m);
void chain_send_quorum_ack(struct chain_engine *c, node_id to, const struct chain_quorum_ack *m);
/* Follower only: the leader is never self here. */
void chain_send_read_nudge(struct chain_engine *c, node_id to, const struct chain_read_nudge *m);
void chain_send_remove_request(struct chain_engine *c, node_id to, node_id id);
void chain_send_alive(struct chain_engine *c, node_id to);
void chain_send_progress(struct chain_engine *c, node_id to, const struct chain_progress *m);
/* The leader: DURABLE(its ballot, upto) to every other member. */
void chain_send_durable(struct chain_engine *c, instance_no upto);
/* A PROBE or PROBE_REPLY (type) carrying `sent_ms` and this replica's promised ballot. */
void chain_send_probe(struct chain_engine *c, node_id to, uint8_t type, uint64_t sent_ms);
void chain_send_not_member(struct chain_engine *c, node_id to);
void chain_send_change_request(struct chain_engine *c, node_id to,
                               const struct chain_change *m);
void chain_send_state_request(struct chain_engine *c, node_id to);
/* Sends the STATE whole if it fits in one part (true), else keeps it for STATE_PARTs (false:
 * join.c sends them as the joiner pulls). */
bool chain_send_state(struct chain_engine *c, node_id to, const struct chain_state *m);
/* STATE_PARTs of the kept transfer covering bytes [from, to). */
void chain_send_state_parts(struct chain_engine *c, uint64_t from, uint64_t to);
/* Sends the next hop every instance of the current ballot from `first` to `last` (at most
 * CHAIN_RETRANSMIT_MAX_INSTANCES), or from `first` on. */
void chain_send_range(struct chain_engine *c, instance_no first, instance_no last);
void chain_send_from(struct chain_engine *c, instance_no first);
/* Resends the instances above ack accepted with the current ballot, oldest first, to the next
 * hop (at most CHAIN_RETRANSMIT_MAX_INSTANCES). */
void chain_resend_outstanding(struct chain_engine *c);
void chain_send_forward(struct chain_engine *c, node_id to, uint8_t hops, const uint8_t *batch,
                        size_t len);

/* ---- message handlers (recv_*.c) ---- */

void chain_recv_message(struct chain_engine *c, node_id from, const uint8_t *data, size_t len);
void chain_recv_prepare(struct chain_engine *c, node_id from, const struct chain_prepare *m);
void chain_recv_promise(struct chain_engine *c, node_id from, const struct chain_promise *m);
void chain_recv_reject(struct chain_engine *c, node_id from, const struct chain_reject *m);
/* Handles an ACCEPT, the leader's own proposals included (from == self). When `steal` is given
 * it holds the value body (m->value points into it) and is swapped into the log instead of
 * copied; it comes back empty. Returns true if the instance was accepted (stored). */
bool chain_recv_accept(struct chain_engine *c, node_id from, const struct chain_accept *m,
                       struct buf *steal);
/* Leader only (others ignore it). */
void chain_recv_accept_ack(struct chain_engine *c, const struct chain_accept_ack *m);
void chain_recv_quorum_ack(struct chain_engine *c, node_id from, const struct chain_quorum_ack *m);
/* `from` showed it accepts new instances: if it is the monitored next hop, it is not the
 * fault (monitor.c). */
void chain_successor_working(struct chain_engine *c, node_id from);
/* Follower: reports quorum_ack_due to the leader (QUORUM_ACK), at flushes and ticks. */
void chain_report_quorum(struct chain_engine *c);
void chain_recv_forward(struct chain_engine *c, const struct chain_forward *m);

/* ---- phase 1 (election.c) ---- */

/* Runs for leadership with a ballot above every round seen: PREPARE to every member. */
void chain_election_start(struct chain_engine *c);
/* Tick: the first member starts phase 1 on its first tick; a candidate resends its PREPARE
 * every retransmit_ms; a replica that has not heard of a working leader for
 * leader_timeout_ms + election_delay_ms runs for leadership (again). */
void chain_election_tick(struct chain_engine *c);
/* Draws the delay before this replica runs: later the further it is from the leader (its
 * successor goes first), plus jitter from the seeded rng so that candidates do not duel. */
void chain_election_delay(struct chain_engine *c);
/* Candidate with majorities of its voters: re-proposes the recovered instances (through
 * chain_pump), then the pending commands. */
void chain_become_leader(struct chain_engine *c);

/* ---- failure detection of the successor (monitor.c) ---- */

/* Tick: a replica with ACCEPTs outstanding whose next hop neither answered (ALIVE) nor let the
 * ack move for suspect_ms suspects it: the leader removes it, others ask the leader to. */
void chain_monitor_tick(struct chain_engine *c);
/* Leader: true if a majority of the configuration without `id` was heard from lately. A
 * removal that leaves a majority needing a replica that may be gone (down, or restarted
 * without its state) could never be followed by another change: nothing could be decided
 * again. Like etcd's strict reconfiguration check (membership §3.2). */
bool chain_removal_keeps_quorum(const struct chain_engine *c, node_id id);
/* Leader: remembers to propose REMOVE(id) as soon as the stop rule allows. */
void chain_want_removal(struct chain_engine *c, node_id id);
/* A REMOVE just became pending: a suspect it removes is bypassed, no longer skipped. */
void chain_skip_bypassed(struct chain_engine *c);
void chain_recv_remove_request(struct chain_engine *c, node_id from, node_id id);
void chain_recv_alive(struct chain_engine *c, node_id from);
/* ENGINE_EVENT_PEER_DOWN: the link to `id` broke. If it is the leader, the election comes after
 * retransmit_ms (plus the usual delay) instead of leader_timeout_ms; if it is the next hop, it
 * is suspected after retransmit_ms instead of suspect_ms. A hint only: timers run as before. */
void chain_peer_down(struct chain_engine *c, node_id id);
/* True if this replica holds an instance of the current ballot its next hop has not
 * acknowledged. */
bool chain_awaiting_next_hop(const struct chain_engine *c);

/* ---- the leader's disk (leader_disk.c) ---- */

/* How far the leader of `b` has its records durable, as this replica knows (0: unknown); the
 * leader itself first counts its own. */
instance_no chain_leader_durable(struct chain_engine *c, struct ballot b);
/* True if the vote of e's ballot leader for instance i is on its disk. */
bool chain_vote_durable(const struct chain_engine *c, instance_no i, const struct chain_entry *e);
/* Learns what an ACCEPT says of its leader's disk; true if that is news. */
bool chain_note_leader_durable(struct chain_engine *c, struct ballot b, instance_no upto);
/* The tail acknowledges what it held back for the leader's disk (anyone else: nothing). */
void chain_ack_leader_durable(struct chain_engine *c);
/* DURABLE: learns it, and decides or acknowledges what waited for it. */
void chain_recv_durable(struct chain_engine *c, struct ballot b, instance_no upto);
/* Leader, its records became durable: tells the chain how far. */
void chain_leader_disk_moved(struct chain_engine *c);

/* ---- round trips to the next hop (probe.c) ---- */

/* Tick: a PROBE to the next hop every retransmit_ms / 4 while instances are on the way. */
void chain_probe_tick(struct chain_engine *c);
void chain_recv_probe(struct chain_engine *c, node_id from, const struct chain_probe *m);
void chain_recv_probe_reply(struct chain_engine *c, node_id from, const struct chain_probe *m);
/* The smoothed round trip in ms (0 before any reply). */
uint32_t chain_probe_rtt_ms(const struct chain_engine *c);

/* ---- slow members go to the tail (slow.c) ---- */

/* Tick: a follower sends PROGRESS to the leader every retransmit_ms; the leader evaluates the
 * round trips of the hops as often. */
void chain_progress_tick(struct chain_engine *c);
/* Leader: records a member's backlog and hop round trip; decides when it is slow enough to
 * move. */
void chain_recv_progress(struct chain_engine *c, node_id from, const struct chain_progress *m);
/* Leader flush: proposes the move of a slow member to the tail. */
void chain_propose_move(struct chain_engine *c);

/* ---- commands, batches, proposals (propose.c) ---- */

/* True if pending commands can leave now: this replica leads, or follows a known leader. */
bool chain_can_send(const struct chain_engine *c);
/* A COMMAND event: one record, copied into pending, or REJECTed. */
void chain_command(struct chain_engine *c, const uint8_t *record, size_t len);
/* Appends `count` validated records to pending, sealing batches early at max_batch_bytes. */
void chain_pending_add(struct chain_engine *c, const uint8_t *records, size_t len,
                       uint32_t count);
/* FLUSH: proposes (leader) or forwards (follower) everything pending, in batches. A leader
 * first re-proposes what phase 1 recovered, then a wanted removal, all under the stop rule. */
void chain_flush(struct chain_engine *c);
/* Leader: true if the stop rule and recovery allow a new proposal now. */
bool chain_may_propose(const struct chain_engine *c);
/* Leader only: proposes a value in next_instance. body (BATCH) is stolen; NULL for NOOP. */
void chain_propose(struct chain_engine *c, uint8_t kind, struct buf *body);
/* Leader: the ack moved from `from` to `to`; the batches acknowledged leave the flow-control
 * window. */
void chain_window_acked(struct chain_engine *c, instance_no from, instance_no to);

/* ---- local linearizable reads (reads.c) ---- */

/* A READ event: attaches the read to the first instance not accepted in this ballot (nor
 * settled). */
void chain_read(struct chain_engine *c, const uint8_t *record, size_t len);
/* A fresh instance i, proposed with whole-chain ack `whole`, was stored: every read whose
 * slot is <= whole needs every instance before i executed. */
void chain_reads_stamp(struct chain_engine *c, instance_no i, instance_no whole);
/* A ballot was adopted: the reads waiting for a stamp wait from the new ballot's read slot. */
void chain_reads_rebase(struct chain_engine *c);
/* Releases (EFFECT_READ) every read whose wait is over; after each decide. */
void chain_release_reads(struct chain_engine *c);
/* FLUSH: a follower with reads waiting for an unproposed slot nudges the leader once per slot;
 * a leader proposes a barrier NOOP when reads wait for its next instance and nothing else is
 * pending. */
void chain_reads_flush(struct chain_engine *c);
void chain_recv_read_nudge(struct chain_engine *c, const struct chain_read_nudge *m);

/* ---- this replica's commands in flight (inflight.c) ---- */

/* Remembers a COMMAND record (if this replica is its origin) until it executes here. */
void chain_inflight_add(struct chain_engine *c, const uint8_t *record, size_t len);
/* An executed batch: its commands from this replica are done. */
void chain_inflight_executed(struct chain_engine *c, instance_no i, const uint8_t *batch,
                             size_t len);
/* Submits every unexecuted command again, in order (after a leader change, or resend_ms). */
void chain_inflight_resubmit(struct chain_engine *c);
void chain_inflight_tick(struct chain_engine *c);

/* ---- timers (timers.c) ---- */

void chain_tick(struct chain_engine *c);

/* join.c */
bool chain_is_retired(const struct chain_engine *c, node_id id);
/* Keeps the retired set in step with an executed change. */
void chain_retired_update(struct chain_engine *c, const struct chain_change *change);
void chain_join_tick(struct chain_engine *c);
void chain_recv_change_request(struct chain_engine *c, node_id from,
                               const struct chain_change *change);
/* ENGINE_EVENT_CHANGE. */
void chain_operator_change(struct chain_engine *c, const uint8_t *data, size_t len);
/* Tick: a follower resends the operator's change it holds; a new leader takes it itself. */
void chain_operator_tick(struct chain_engine *c);
/* An executed change: the operator's change it matches is done. */
void chain_operator_executed(struct chain_engine *c, const struct chain_change *change);
/* Leader: the wanted change is a JOIN from a member (it restarted and lost its state), not
 * one sent before its state transfer by a replica just added. */
bool chain_wanted_restart(const struct chain_engine *c);
/* The instance of the executed ADD that brought `id` in, 0 if none since it was removed. */
instance_no chain_added_at(const struct chain_engine *c, node_id id);
/* The ack moves from `from` to `to`: members whose ADD it passes have their state. */
void chain_note_joined(struct chain_engine *c, instance_no from, instance_no to);
/* Some member was brought in by an ADD that the chain's ack has not passed: it may still be
 * waiting for its state (or an ACCEPT to it was lost, or its acknowledgement is on its way). */
bool chain_joiner_waits(const struct chain_engine *c);
void chain_propose_wanted_change(struct chain_engine *c);
/* Asks the state machine for a snapshot for `joiner` (EFFECT_SNAPSHOT). */
void chain_ask_state(struct chain_engine *c, node_id joiner);
void chain_recv_state_request(struct chain_engine *c, node_id from,
                              const struct chain_state_request *m);
/* Frees the STATE kept for a joiner once nobody can want it (its joiner installed it: the
 * chain's ack passed it; or it is no longer the next hop). */
void chain_xfer_check(struct chain_engine *c);
/* ENGINE_EVENT_SNAPSHOT: sends STATE, then the instances after it. */
void chain_snapshot_ready(struct chain_engine *c, instance_no instance, const uint8_t *data,
                          size_t len);
/* A part of a STATE sent in pieces; false if the reassembled STATE does not decode. */
bool chain_recv_state_part(struct chain_engine *c, node_id from, const struct chain_state_part *m);
void chain_recv_state(struct chain_engine *c, node_id from, const struct chain_state *m);
/* A replica outside the configuration takes only STATE and NOT_MEMBER; an ACCEPT means it was
 * added and waits for its state (STATE_REQUEST). */
void chain_recv_as_outsider(struct chain_engine *c, node_id from, const uint8_t *data,
                            size_t len);

#endif
