/* The deterministic simulator (issue 3; STYLE.md §7: TigerBeetle's VOPR, FoundationDB's
 * simulation).
 *
 * One run is a whole cluster in one thread: N replicas, each one engine (any engine_ops) plus
 * one struct kv plus the glue the real server has (src/server/dispatch.c and apply.c), a
 * virtual network, simulated clients, and an event queue ordered by (virtual time, sequence
 * number). Everything is drawn from one 64-bit seed, so `catena-sim --seed S` replays a run bit
 * for bit: nothing depends on wall time, hash order or pointer order.
 *
 * A run has four phases:
 *   faults   clients issue operations while the seed's fault schedule runs (loss, duplication,
 *            reordering, long delays, partitions; pauses and crashes when the profile allows);
 *   healing  every fault is off and links are perfect; it ends once every client completed an
 *            operation invoked after healing began and every replica executed what any replica
 *            had executed when it began (liveness), or fails at the liveness bound;
 *   draining clients stop and their last operations complete or time out;
 *   final    every key is read at every replica through the normal client path (recorded into
 *            the history, so a lost write shows as a non-linearizable read), then replicas
 *            must all reach the highest instance any of them executed, and every command whose
 *            client gave up must have executed (the origin resubmits it: exactly-once).
 * Then the checks (checks.c): linearizability of the history, equal state digests at equal
 * instances on every replica (also checked online as instances execute), convergence, liveness,
 * and, in a profile whose faults are all per message, that no replica was removed (stability).
 *
 * Operations whose client timed out are recorded with the outcome the replicas gave them
 * (outcome.c): the simulator sees everything, and unknown outcomes would make the
 * linearizability search explode on the long stalls faults produce. */
#ifndef CATENA_SIM_SIM_H
#define CATENA_SIM_SIM_H

#include "core/engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SIM_MAX_NODES 9
#define SIM_MAX_CLIENTS 64

/* Fault kinds, counted per run and summed by campaigns. */
enum sim_fault_kind {
    SIM_FAULT_LOSS,           /* a message dropped by a lossy link */
    SIM_FAULT_DUPLICATE,      /* a message delivered twice */
    SIM_FAULT_REORDER,        /* a message overtaken by a later one on its link */
    SIM_FAULT_DELAY,          /* a message held back by a long delay */
    SIM_FAULT_PARTITION,      /* a partition (symmetric or one-way) started */
    SIM_FAULT_PARTITION_DROP, /* a message lost to a partition */
    SIM_FAULT_PAUSE,          /* a replica stalled */
    SIM_FAULT_CRASH,          /* a replica crashed (and later restarted) */
    SIM_FAULT_POWER_LOSS,     /* every replica crashed at once (durable profile) */
    SIM_FAULT_RECOVERY,       /* a restarted replica recovered from its disk */
    SIM_FAULT_OPERATOR,       /* an operator's REMOVE or ADD reached a replica */
    SIM_FAULT_KINDS
};
const char *sim_fault_name(enum sim_fault_kind kind);

/* A fault profile: which kinds a run may draw. Each seed then picks its own mix and intensity
 * among the allowed kinds (swarm testing). */
struct sim_profile {
    const char *name;
    bool loss, duplicate, reorder, delay, partition, pause, crash;
    /* Replicas keep a disk (engine_config.durable): a crash loses only what was not fsynced,
     * a restart recovers from it, and any number of replicas may crash at once. */
    bool durable;
    /* The disk writes what is not fsynced yet in any order: a crash may keep some of it. The
     * log (storage/wal.h) then keeps the records up to the first one lost, so a random prefix
     * of the unsynced records survives. */
    bool disk_reorder;
    /* An operator removes replicas (CATENA.REMOVE through any replica) and adds them back
     * (CATENA.ADD); while healing, it adds back every replica still left out. */
    bool operator_changes;
};
/* Known names: "chainpaxos" (default: loss, duplication, reordering, delays, partitions),
 * "network" (the same), "none" (perfect links), "pauses" (adds pauses), "crashes" (adds pauses
 * and crash/restart, a crash losing the replica's state), "durable" (the same with durable
 * replicas, and whole-cluster crashes), "durable-reorder" (durable, and disks that reorder
 * unsynced writes), "operator" (durable, and an operator's membership changes). False for an
 * unknown name. */
bool sim_profile_find(const char *name, struct sim_profile *out);
const char *sim_profile_names(void);

/* Planted engine bugs by name: "read-without-wait", "accept-gaps", "no-retransmit",
 * "leader-vote-early". Returns the ENGINE_BUG_* bit, or 0 for an unknown name. */
uint32_t sim_bug_find(const char *name);
/* The name of the i-th planted bug, or NULL past the last. */
const char *sim_bug_name(size_t i);
const char *sim_bug_names(void);

struct sim_options {
    uint64_t seed;
    size_t nodes;           /* 0: 3; SIM_NODES_MIX: 3 or 5, drawn from the seed */
    size_t clients;         /* 0: 10..30, drawn from the seed */
    uint64_t ops;           /* operations the fault phase aims at (0: 2500) */
    uint64_t duration_ms;   /* virtual length of the fault phase (0: 3000) */
    uint64_t liveness_ms;   /* bound for liveness after healing starts (0: 5000) */
    uint64_t max_states;    /* linearizability search budget per key group (0: checker's) */
    struct sim_profile profile;
    uint32_t planted_bugs;  /* engine_config.planted_bugs */
    bool trace;             /* keep every event for a readable trace (replays) */
    uint64_t trace_at_us;   /* print the trace up to this time (0: up to the violation) */
    size_t trace_events;    /* how many events to print (0: 200) */
    /* Record a timed-out operation as unknown, as a real client must, instead of resolving
     * its outcome from what the replicas did (outcome.c). Many unknown writes on one key make
     * the linearizability search exponential: expect "gave up". */
    bool unresolved_timeouts;
    FILE *log;              /* progress and reports (NULL: silent) */
    const char *history_path; /* write the history here (catena-check's text format) */
};
#define SIM_NODES_MIX ((size_t)-1)

void sim_options_default(struct sim_options *o);

enum sim_check_id {
    SIM_CHECK_NONE,
    SIM_CHECK_LINEARIZABLE, /* the history is not linearizable (stale read, lost write...) */
    SIM_CHECK_DIGEST,       /* two replicas hold different states after the same instance */
    SIM_CHECK_EXECUTION,    /* EXECUTE out of order, with a gap, or a malformed batch */
    SIM_CHECK_CONVERGENCE,  /* replicas did not reach the same instance after healing */
    SIM_CHECK_LIVENESS,     /* a client made no progress after healing, within the bound */
    SIM_CHECK_REPLY,        /* a reply that does not parse as the command's RESP reply */
    SIM_CHECK_ABORT,        /* the process died (an engine CHECK failed): campaigns only */
    SIM_CHECK_HANG,         /* the run exceeded its wall-clock limit: campaigns only */
    SIM_CHECK_STABILITY,    /* a replica was removed though only messages were faulty */
    SIM_CHECK_KINDS
};
const char *sim_check_name(enum sim_check_id id);
/* By short name: linearizability, digest, execution, convergence, liveness, reply, abort,
 * hang, stability. SIM_CHECK_NONE if unknown. */
enum sim_check_id sim_check_find(const char *name);

enum sim_verdict { SIM_PASS, SIM_VIOLATION, SIM_GAVE_UP };

struct sim_result {
    enum sim_verdict verdict;
    enum sim_check_id failed; /* the first check that failed */
    uint64_t violation_time_us;
    char message[512];
    uint64_t trace_hash;
    uint64_t events;
    size_t nodes;
    size_t clients;
    uint64_t ops, ops_ok, ops_fail, ops_unknown;
    uint64_t ops_timed_out; /* clients gave up (the outcome is then resolved, see client.c) */
    uint64_t messages;
    uint64_t faults[SIM_FAULT_KINDS];
    uint64_t removals; /* times a replica found itself outside the configuration */
    uint64_t leader_changes; /* times a replica followed another leader than the last one any
                              * replica followed */
    /* STATE_PARTs sent again from the middle of a transfer: a joiner that lost parts got the
     * rest, not the whole state again (a resumed transfer). */
    uint64_t parts_resumed;
    uint64_t highest_executed;
    uint64_t end_time_us;
    uint64_t check_states;
};

/* One run. Returns the verdict (also in result). Aborts if an engine CHECK fails. */
enum sim_verdict sim_run(const struct sim_options *options, struct sim_result *result);

/* The trace of the run in progress up to now (for an abort handler: an engine CHECK failed
 * inside sim_run). Prints nothing outside a run or without options.trace. */
void sim_print_current_trace(FILE *out);

/* While sim_run is inside the linearizability checker: that run's result (the other checks
 * passed), so that a wall-clock alarm can report "gave up" instead of a hang. Else NULL. */
struct sim_result *sim_result_in_check(void);

/* The command that replays a run, written to out (always NUL-terminated). */
void sim_replay_command(const struct sim_options *options, char *out, size_t size);

/* A campaign: seeds first .. first + count - 1, each run in its own child process (fork), at
 * most `jobs` at a time, so an abort is a violation with its seed, not the end of the
 * campaign. `options` is the template (its seed is replaced). */
struct sim_campaign {
    uint64_t first;
    uint64_t count;
    size_t jobs;               /* 0: every online core */
    unsigned run_timeout_s;    /* wall-clock limit per run (0: 10) */
    FILE *progress;            /* a progress line now and then (NULL: none) */
};

struct sim_campaign_result {
    uint64_t runs;
    uint64_t passed, violations, gave_up;
    uint64_t ops, ops_ok, ops_fail, ops_unknown, ops_timed_out;
    uint64_t messages;
    uint64_t faults[SIM_FAULT_KINDS];
    uint64_t removals;
    uint64_t leader_changes;
    uint64_t parts_resumed;
    uint64_t by_check[SIM_CHECK_KINDS];
    /* The first violating and gave-up seeds. */
    uint64_t violation_seeds[32];
    enum sim_check_id violation_checks[32];
    size_t violation_seed_count;
    uint64_t gave_up_seeds[32];
    size_t gave_up_seed_count;
    double wall_seconds;
};

/* Returns false if the campaign could not run (fork or pipe failed). */
bool sim_campaign_run(const struct sim_options *options, const struct sim_campaign *campaign,
                      struct sim_campaign_result *result);
void sim_campaign_print(FILE *out, const struct sim_options *options,
                        const struct sim_campaign_result *result);

#endif
