/* Post-run checks over recorded data (see checks.h). */
#include "sim/checks.h"

#include "check/check.h"
#include "common/check.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

void sim_exec_log_init(struct sim_exec_log *l, node_id node, uint32_t incarnation)
{
    *l = (struct sim_exec_log){.node = node, .incarnation = incarnation, .agreed_start = true};
}

void sim_exec_log_free(struct sim_exec_log *l)
{
    free(l->digests);
    free(l->payloads);
    *l = (struct sim_exec_log){0};
}

bool sim_exec_log_append(struct sim_exec_log *l, instance_no instance, uint64_t payload_hash,
                         uint64_t digest)
{
    if (l->count == 0) {
        if (instance == 0 || (l->installed && instance != l->installed + 1))
            return false;
        l->first = instance;
    } else if (instance != sim_exec_log_last(l) + 1) {
        return false;
    }
    if (l->count == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->digests = realloc(l->digests, l->cap * sizeof *l->digests);
        l->payloads = realloc(l->payloads, l->cap * sizeof *l->payloads);
        CHECK(l->digests != NULL && l->payloads != NULL);
    }
    l->digests[l->count] = digest;
    l->payloads[l->count] = payload_hash;
    l->count++;
    return true;
}

/* Compares two logs over the instances both executed. Digests only compare when both started
 * from the same (empty) state, at instance 1; payloads always do. */
static bool sim_logs_agree(const struct sim_exec_log *a, const struct sim_exec_log *b, char *msg,
                           size_t size)
{
    if (!a->count || !b->count)
        return true;
    instance_no lo = a->first > b->first ? a->first : b->first;
    instance_no hi_a = sim_exec_log_last(a), hi_b = sim_exec_log_last(b);
    instance_no hi = hi_a < hi_b ? hi_a : hi_b;
    bool digests = a->agreed_start && b->agreed_start;
    for (instance_no i = lo; i <= hi; i++) {
        size_t ia = (size_t)(i - a->first), ib = (size_t)(i - b->first);
        if (a->payloads[ia] != b->payloads[ib]) {
            snprintf(msg, size,
                     "instance %" PRIu64 ": replica %u (incarnation %u) and replica %u "
                     "(incarnation %u) executed different payloads",
                     i, a->node, a->incarnation, b->node, b->incarnation);
            return false;
        }
        if (digests && a->digests[ia] != b->digests[ib]) {
            snprintf(msg, size,
                     "instance %" PRIu64 ": state digest %016" PRIx64 " at replica %u "
                     "(incarnation %u) but %016" PRIx64 " at replica %u (incarnation %u)",
                     i, a->digests[ia], a->node, a->incarnation, b->digests[ib], b->node,
                     b->incarnation);
            return false;
        }
    }
    return true;
}

bool sim_check_digests(const struct sim_exec_log *const *logs, size_t n, char *msg,
                       size_t size)
{
    for (size_t a = 0; a < n; a++)
        for (size_t b = a + 1; b < n; b++)
            if (!sim_logs_agree(logs[a], logs[b], msg, size))
                return false;
    return true;
}

bool sim_check_convergence(const struct sim_exec_log *const *logs, size_t n, instance_no target,
                           char *msg, size_t size)
{
    for (size_t k = 0; k < n; k++)
        if (sim_exec_log_last(logs[k]) < target) {
            snprintf(msg, size,
                     "replica %u executed up to instance %" PRIu64 " only, another replica "
                     "reached %" PRIu64,
                     logs[k]->node, sim_exec_log_last(logs[k]), target);
            return false;
        }
    return true;
}

bool sim_check_liveness(const struct history *h, size_t clients, uint64_t since, uint64_t until,
                        char *msg, size_t size)
{
    bool *progressed = calloc(clients ? clients : 1, sizeof *progressed);
    CHECK(progressed != NULL);
    for (size_t i = 0; i < h->count; i++) {
        const struct op *o = &h->ops[i];
        uint32_t c = SIM_PROCESS_CLIENT(o->client);
        if (c < clients && o->outcome == OUTCOME_OK && o->invoke_time >= since &&
            o->complete_time <= until)
            progressed[c] = true;
    }
    size_t stuck = 0, first = 0;
    for (size_t c = 0; c < clients; c++)
        if (!progressed[c] && stuck++ == 0)
            first = c;
    free(progressed);
    if (stuck) {
        snprintf(msg, size,
                 "%zu of %zu clients completed no operation invoked after healing started "
                 "(t=%" PRIu64 " us) by t=%" PRIu64 " us (first: client %zu)",
                 stuck, clients, since, until, first);
        return false;
    }
    return true;
}

enum sim_verdict sim_check_history(const struct history *h, uint64_t max_states, char *msg,
                                   size_t size, char **report, uint64_t *states)
{
    struct check_limits limits = {.max_states = max_states};
    struct check_result r = {0};
    check_history(h, &limits, &r);
    *states = r.states;
    *report = NULL;
    enum sim_verdict v = SIM_PASS;
    switch (r.verdict) {
    case CHECK_LINEARIZABLE:
        break;
    case CHECK_NOT_LINEARIZABLE:
        v = SIM_VIOLATION;
        snprintf(msg, size, "the history of %zu operations is not linearizable", h->count);
        *report = r.report;
        r.report = NULL;
        break;
    case CHECK_GAVE_UP:
        v = SIM_GAVE_UP;
        snprintf(msg, size, "the linearizability search gave up (%" PRIu64 " states)",
                 r.states);
        break;
    }
    check_result_free(&r);
    return v;
}
