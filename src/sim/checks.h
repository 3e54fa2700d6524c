/* The checks run after (and during) every simulated run, as plain functions over recorded data
 * so that tests can feed them tampered inputs and see each one fail.
 *
 * An execution log is one replica incarnation's record of what it executed: for each instance,
 * a hash of the decided payload and the state digest (kv_digest) right after applying it. */
#ifndef CATENA_SIM_CHECKS_H
#define CATENA_SIM_CHECKS_H

#include "check/history.h"
#include "core/types.h"
#include "sim/sim.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sim_exec_log {
    node_id node;
    uint32_t incarnation;  /* 0 at start, +1 per restart */
    instance_no first;     /* first instance this incarnation executed (0: none yet) */
    /* Its state before `first` is the agreed one: it started empty at instance 1, or installed
     * a state transfer whose digest matched. Only such logs compare digests. */
    bool agreed_start;
    instance_no installed; /* the state it started from: 0, or a state transfer's instance */
    size_t count;
    size_t cap;
    uint64_t *digests;     /* [i]: digest after instance first + i */
    uint64_t *payloads;    /* [i]: hash of the payload of instance first + i */
};

void sim_exec_log_init(struct sim_exec_log *l, node_id node, uint32_t incarnation);
void sim_exec_log_free(struct sim_exec_log *l);
/* Records one executed instance; false (nothing recorded) if it does not directly follow the
 * previous one, or if the first is not instance 1. */
bool sim_exec_log_append(struct sim_exec_log *l, instance_no instance, uint64_t payload_hash,
                         uint64_t digest);
static inline instance_no sim_exec_log_last(const struct sim_exec_log *l)
{
    return l->count ? l->first + l->count - 1 : l->installed;
}

/* Every two logs agree, at every instance both executed, on the payload and on the digest.
 * On failure writes which instance and which replicas to msg. */
bool sim_check_digests(const struct sim_exec_log *const *logs, size_t n, char *msg,
                       size_t size);
/* Every log executed at least up to target. */
bool sim_check_convergence(const struct sim_exec_log *const *logs, size_t n, instance_no target,
                           char *msg, size_t size);

/* History process ids: a simulated client reconnects after a timeout and continues as a new
 * process (one op outstanding per process, as linearizability assumes). */
#define SIM_PROCESS(client, connection) (((uint32_t)(client) << 16) | ((connection) & 0xffffu))
#define SIM_PROCESS_CLIENT(process) ((process) >> 16)

/* Liveness: each of clients 0 .. clients-1 completed (OK) an operation invoked at or after
 * `since` and completed no later than `until`. */
bool sim_check_liveness(const struct history *h, size_t clients, uint64_t since, uint64_t until,
                        char *msg, size_t size);

/* Linearizability (tools/check): PASS, VIOLATION (report in *report, malloc'd, may be NULL) or
 * GAVE_UP (the search budget ran out). */
enum sim_verdict sim_check_history(const struct history *h, uint64_t max_states, char *msg,
                                   size_t size, char **report, uint64_t *states);

#endif
