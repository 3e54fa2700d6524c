/* One simulated run: set-up from the seed, the event loop over virtual time, the phases
 * (faults, healing, draining, final reads, settling; see sim.h) and the checks at the end. */
#include "common/check.h"
#include "protocols/chainpaxos/chainpaxos.h"
#include "sim/internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_PROBE_US 10000u
#define SIM_MAX_EVENTS 100000000ull

void sim_options_default(struct sim_options *o)
{
    *o = (struct sim_options){.nodes = 3, .ops = 2500, .duration_ms = 3000,
                              .liveness_ms = 5000, .trace_events = 200};
    sim_profile_find("chainpaxos", &o->profile);
}

const char *sim_check_name(enum sim_check_id id)
{
    static const char *names[SIM_CHECK_KINDS] = {
        "none", "linearizability", "digest agreement", "execution order", "convergence",
        "liveness", "reply format", "abort (engine CHECK)", "hang (wall-clock limit)",
        "stability"};
    return (unsigned)id < SIM_CHECK_KINDS ? names[id] : "?";
}

enum sim_check_id sim_check_find(const char *name)
{
    static const char *names[SIM_CHECK_KINDS] = {
        "none", "linearizability", "digest", "execution", "convergence", "liveness", "reply",
        "abort", "hang", "stability"};
    for (int k = 1; k < SIM_CHECK_KINDS; k++)
        if (strcmp(name, names[k]) == 0)
            return (enum sim_check_id)k;
    return SIM_CHECK_NONE;
}

void sim_violation(struct sim *s, enum sim_check_id check, const char *fmt, ...)
{
    if (s->res->verdict == SIM_VIOLATION)
        return; /* the first one is the one to explain */
    s->res->verdict = SIM_VIOLATION;
    s->res->failed = check;
    s->res->violation_time_us = s->now;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->res->message, sizeof s->res->message, fmt, ap);
    va_end(ap);
    s->stop = true;
}

static void sim_set_phase(struct sim *s, enum sim_phase phase)
{
    s->phase = phase;
    s->phase_start = s->now;
    sim_trace_event(s, SIM_TR_PHASE, 0, 0, phase, 0, NULL, 0);
}

static bool sim_clients_healed(const struct sim *s)
{
    for (uint32_t c = 0; c < s->client_count; c++)
        if (!s->clients[c].healed)
            return false;
    return true;
}

/* The execution logs of the replicas that must converge: every replica but those removed from
 * the configuration (a crashed one has no log: a failure). Returns how many. */
static size_t sim_current_logs(const struct sim *s, const struct sim_exec_log **logs)
{
    size_t count = 0;
    for (uint32_t r = 0; r < s->n; r++)
        if (!s->replicas[r].up || sim_replica_member(s, r))
            logs[count++] = s->replicas[r].log;
    return count;
}

/* Replicas that stayed behind `target` after the bound: a convergence failure. */
static void sim_convergence_failed(struct sim *s, enum sim_check_id check)
{
    const struct sim_exec_log *logs[SIM_MAX_NODES];
    char msg[256];
    size_t count = sim_current_logs(s, logs);
    for (uint32_t r = 0; r < s->n; r++)
        if (!s->replicas[r].up) {
            sim_violation(s, check, "replica %u is down after healing", r + 1);
            return;
        }
    if (!sim_check_convergence(logs, count, s->target, msg, sizeof msg))
        sim_violation(s, check, "%s", msg);
}

/* The first replica that is up but outside the configuration of any replica up, or that
 * still has an operator's change to carry out (it would change the membership during the
 * final reads), or -1. */
static int sim_left_out(const struct sim *s)
{
    for (uint32_t r = 0; r < s->n; r++) {
        if (!s->replicas[r].up)
            continue;
        struct engine_status st;
        s->ops->status(s->replicas[r].engine, &st);
        if (st.operator_change_waiting)
            return (int)r;
        for (uint32_t x = 0; x < s->n; x++) {
            bool in = false;
            for (size_t k = 0; k < st.chain_length; k++)
                in |= st.chain[k] == s->replicas[x].id;
            if (s->replicas[x].up && !in)
                return (int)x;
        }
    }
    return -1;
}

static void sim_probe_healing(struct sim *s)
{
    if (s->opt.profile.operator_changes)
        sim_operator_heal(s);
    if (sim_clients_healed(s) && sim_cluster_min_executed(s) >= s->target &&
        sim_left_out(s) < 0) {
        sim_clients_stop(s);
        sim_set_phase(s, SIM_PHASE_DRAINING);
        return;
    }
    if (s->now < s->fault_end + s->opt.liveness_ms * 1000)
        return;
    char msg[256];
    int out = sim_left_out(s);
    if (!sim_check_liveness(&s->history, s->client_count, s->fault_end, s->now, msg, sizeof msg))
        sim_violation(s, SIM_CHECK_LIVENESS, "%s", msg);
    else if (out >= 0)
        sim_violation(s, SIM_CHECK_LIVENESS, "replica %d is still outside the configuration "
                      "(or an operator's change waits there)", out + 1);
    else
        sim_convergence_failed(s, SIM_CHECK_LIVENESS);
}

static void sim_probe_final(struct sim *s)
{
    if (sim_clients_idle(s, true)) {
        /* A replica may learn that it was removed only now (NOT_MEMBER answers its next
         * message): then it refuses the read, as it should, even if it rejoins at once. */
        for (uint32_t k = 0; k < s->n; k++)
            if (s->clients[s->client_count + k].final_failed &&
                !s->replicas[k].removed && s->replicas[k].left_at < s->phase_start) {
                sim_violation(s, SIM_CHECK_LIVENESS,
                              "a final read at replica %u did not complete", k + 1);
                return;
            }
        s->target = sim_cluster_max_executed(s);
        sim_set_phase(s, SIM_PHASE_SETTLE);
    } else if (s->now >= s->phase_start + s->opt.liveness_ms * 1000) {
        sim_violation(s, SIM_CHECK_LIVENESS, "the final reads did not complete within %" PRIu64
                      " ms", s->opt.liveness_ms);
    }
}

static void sim_probe(struct sim *s)
{
    switch (s->phase) {
    case SIM_PHASE_FAULTS:
        break;
    case SIM_PHASE_HEALING:
        sim_probe_healing(s);
        break;
    case SIM_PHASE_DRAINING:
        /* Every outstanding op completes or times out within the client timeout. */
        if (sim_clients_idle(s, false)) {
            sim_clients_start_final(s);
            sim_set_phase(s, SIM_PHASE_FINAL);
        }
        break;
    case SIM_PHASE_FINAL:
        sim_probe_final(s);
        break;
    case SIM_PHASE_SETTLE:
        /* Every replica reaches the highest instance any of them executed, and every command
         * whose client gave up executes too (exactly-once: the origin resubmits it). */
        if (sim_cluster_min_executed(s) >= s->target && s->orphans_open == 0)
            sim_set_phase(s, SIM_PHASE_DONE);
        else if (s->now >= s->phase_start + s->opt.liveness_ms * 1000 && s->orphans_open)
            sim_orphans_stuck(s);
        else if (s->now >= s->phase_start + s->opt.liveness_ms * 1000)
            sim_convergence_failed(s, SIM_CHECK_CONVERGENCE);
        break;
    case SIM_PHASE_DONE:
        return;
    }
    if (s->phase != SIM_PHASE_DONE)
        sim_queue_push(&s->queue, &(struct sim_event){.time = s->now + SIM_PROBE_US,
                                                      .type = SIM_EV_PROBE});
}

/* Healing: every fault is over (the schedule ends here) and links become perfect. */
static void sim_heal(struct sim *s)
{
    sim_network_heal(s);
    s->target = sim_cluster_max_executed(s);
    sim_set_phase(s, SIM_PHASE_HEALING);
    sim_queue_push(&s->queue, &(struct sim_event){.time = s->now + SIM_PROBE_US,
                                                  .type = SIM_EV_PROBE});
}

/* Returns true if the event was pushed back (a paused replica): its data lives on. */
static bool sim_defer(struct sim *s, struct sim_event *e)
{
    uint64_t until;
    if (!sim_replica_available(s, e->node, &until) || !until)
        return false;
    e->time = until;
    sim_queue_push(&s->queue, e);
    return true;
}

static void sim_dispatch(struct sim *s, struct sim_event *e)
{
    switch ((enum sim_event_type)e->type) {
    case SIM_EV_DELIVER:
        if (sim_defer(s, e))
            return;
        sim_replica_deliver(s, e);
        break;
    case SIM_EV_TICK:
        if (e->arg != s->replicas[e->node].incarnation)
            break; /* a crashed incarnation's timer */
        sim_replica_tick(s, e->node);
        sim_queue_push(&s->queue, &(struct sim_event){.time = s->now + SIM_TICK_US,
                                                      .type = SIM_EV_TICK, .node = e->node,
                                                      .arg = e->arg});
        break;
    case SIM_EV_REQUEST:
        if (sim_defer(s, e))
            return;
        sim_replica_request(s, e->node, e->client, e->arg);
        break;
    case SIM_EV_REPLY:
        sim_client_reply(s, e->client, e->arg, e->data, e->len);
        break;
    case SIM_EV_NEXT_OP:
        sim_client_next(s, e->client);
        break;
    case SIM_EV_TIMEOUT:
        sim_client_timeout(s, e->client, e->arg);
        break;
    case SIM_EV_FAULT:
        sim_faults_apply(s, e->arg);
        break;
    case SIM_EV_PHASE:
        sim_heal(s);
        break;
    case SIM_EV_PROBE:
        sim_probe(s);
        break;
    case SIM_EV_SYNC:
        if (e->arg != s->replicas[e->node].incarnation || !s->replicas[e->node].up)
            break; /* the replica crashed meanwhile: that fsync never completed */
        if (sim_defer(s, e))
            return; /* a paused process takes note when it resumes */
        sim_disk_synced(s, e->node);
        sim_replica_durable(s, e->node);
        break;
    case SIM_EV_RESUME:
        /* A later pause may have extended this one: its own resume comes then. */
        if (e->arg == s->replicas[e->node].incarnation)
            sim_replica_tick(s, e->node);
        break;
    case SIM_EV_SNAPSHOT_WRITTEN:
        if (e->arg != s->replicas[e->node].incarnation || !s->replicas[e->node].up)
            break; /* the replica crashed meanwhile: the temporary file was never renamed */
        if (sim_defer(s, e))
            return;
        sim_disk_checkpoint_written(s, e->node);
        sim_replica_durable(s, e->node);
        break;
    case SIM_EV_CHECKPOINT:
    case SIM_EV_TRANSFER:
        if (e->arg != s->replicas[e->node].incarnation || !s->replicas[e->node].up)
            break; /* the child died with the replica */
        if (sim_defer(s, e))
            return;
        if (e->type == SIM_EV_CHECKPOINT)
            sim_replica_checkpoint_ready(s, e->node);
        else
            sim_replica_transfer_ready(s, e->node);
        break;
    }
    free(e->data);
}

static void sim_loop(struct sim *s)
{
    struct sim_event e;
    while (!s->stop && s->phase != SIM_PHASE_DONE && sim_queue_pop(&s->queue, &e)) {
        CHECK(e.time >= s->now);
        s->now = e.time;
        s->res->events++;
        sim_dispatch(s, &e);
        if (s->res->events > SIM_MAX_EVENTS)
            sim_violation(s, SIM_CHECK_LIVENESS, "more than %llu events: an event storm",
                          (unsigned long long)SIM_MAX_EVENTS);
    }
}

/* The checker's report marks the operation that could not be placed with "!" and shows its
 * interval as "[invoked .. returned]": the trace is most useful up to its return. 0 if the
 * report does not say. */
static uint64_t sim_report_time(const char *report)
{
    const char *line = report ? strstr(report, "\n! ") : NULL;
    const char *open = line ? strchr(line + 1, '[') : NULL;
    const char *dots = open ? strstr(open, "..") : NULL;
    const char *eol = line ? strchr(line + 1, '\n') : NULL;
    if (!dots || (eol && dots > eol))
        return 0;
    return strtoull(dots + 2, NULL, 10);
}

/* The result of the run whose history is being checked for linearizability, else NULL. */
static struct sim_result *volatile sim_checking;

struct sim_result *sim_result_in_check(void) { return sim_checking; }

static void sim_final_checks(struct sim *s)
{
    char msg[512];
    const struct sim_exec_log *current[SIM_MAX_NODES];
    if (!sim_check_digests((const struct sim_exec_log *const *)s->logs, s->log_count, msg,
                           sizeof msg)) {
        sim_violation(s, SIM_CHECK_DIGEST, "%s", msg);
        return;
    }
    size_t count = sim_current_logs(s, current);
    if (!sim_check_convergence(current, count, s->target, msg, sizeof msg)) {
        sim_violation(s, SIM_CHECK_CONVERGENCE, "%s", msg);
        return;
    }
    char *report = NULL;
    sim_checking = s->res;
    enum sim_verdict v = sim_check_history(&s->history, s->opt.max_states, msg, sizeof msg,
                                           &report, &s->res->check_states);
    sim_checking = NULL;
    if (v == SIM_VIOLATION) {
        sim_violation(s, SIM_CHECK_LINEARIZABLE, "%s", msg);
        uint64_t when = sim_report_time(report);
        if (when)
            s->res->violation_time_us = when;
        if (s->opt.log && report)
            fprintf(s->opt.log, "%s\n", report);
    } else if (v == SIM_GAVE_UP) {
        s->res->verdict = SIM_GAVE_UP;
        snprintf(s->res->message, sizeof s->res->message, "%s", msg);
    }
    free(report);
}

void sim_replay_command(const struct sim_options *o, char *out, size_t size)
{
    struct sim_options d;
    sim_options_default(&d);
    int n = snprintf(out, size, "catena-sim --seed %" PRIu64, o->seed);
#define SIM_ADD(...)                                                                            \
    do {                                                                                        \
        if (n >= 0 && (size_t)n < size)                                                         \
            n += snprintf(out + n, size - (size_t)n, __VA_ARGS__);                              \
    } while (0)
    if (o->nodes == SIM_NODES_MIX)
        SIM_ADD(" --nodes mix");
    else if (o->nodes && o->nodes != d.nodes)
        SIM_ADD(" --nodes %zu", o->nodes);
    if (o->clients)
        SIM_ADD(" --clients %zu", o->clients);
    if (o->ops && o->ops != d.ops)
        SIM_ADD(" --ops %" PRIu64, o->ops);
    if (o->duration_ms && o->duration_ms != d.duration_ms)
        SIM_ADD(" --duration %" PRIu64, o->duration_ms);
    if (o->liveness_ms && o->liveness_ms != d.liveness_ms)
        SIM_ADD(" --liveness %" PRIu64, o->liveness_ms);
    if (o->max_states)
        SIM_ADD(" --max-states %" PRIu64, o->max_states);
    if (o->unresolved_timeouts)
        SIM_ADD(" --unresolved-timeouts");
    if (o->profile.name && strcmp(o->profile.name, d.profile.name) != 0)
        SIM_ADD(" --profile %s", o->profile.name);
    for (size_t i = 0; sim_bug_name(i); i++)
        if (o->planted_bugs & sim_bug_find(sim_bug_name(i)))
            SIM_ADD(" --bug %s", sim_bug_name(i));
#undef SIM_ADD
}

/* Where each replica stands at the end of a failed run (with --trace). */
static void sim_print_replicas(const struct sim *s, FILE *out)
{
    for (uint32_t r = 0; r < s->n; r++) {
        if (!s->replicas[r].up) {
            fprintf(out, "  n%u: down\n", r + 1);
            continue;
        }
        struct engine_status st;
        s->ops->status(s->replicas[r].engine, &st);
        fprintf(out,
                "  n%u: %s %s leader=n%u ballot=%" PRIu64 ".%u accepted=%" PRIu64
                " executed=%" PRIu64 " ack=%" PRIu64 " gc=%" PRIu64 " chain=",
                r + 1, st.membership, st.role, st.leader, st.ballot.round, st.ballot.node,
                st.highest_accepted, st.highest_executed, st.highest_acknowledged,
                st.gc_horizon);
        for (size_t k = 0; k < st.chain_length; k++)
            fprintf(out, "%sn%u", k ? "," : "", st.chain[k]);
        fprintf(out, "\n");
    }
}

static void sim_report(const struct sim *s)
{
    FILE *out = s->opt.log;
    const struct sim_result *r = s->res;
    static const char *verdicts[] = {"PASS", "VIOLATION", "GAVE UP"};
    fprintf(out,
            "seed %" PRIu64 ": %s  nodes=%zu clients=%zu ops=%" PRIu64 " (ok %" PRIu64
            ", fail %" PRIu64 ", unknown %" PRIu64 ", timed out %" PRIu64 ") messages=%" PRIu64
            " executed=%" PRIu64 " virtual=%.3fs events=%" PRIu64 " trace=%016" PRIx64 "\n",
            s->opt.seed, verdicts[r->verdict], r->nodes, r->clients, r->ops, r->ops_ok,
            r->ops_fail, r->ops_unknown, r->ops_timed_out, r->messages, r->highest_executed,
            (double)r->end_time_us / 1e6, r->events, r->trace_hash);
    fprintf(out, "  faults:");
    for (int k = 0; k < SIM_FAULT_KINDS; k++)
        fprintf(out, " %s=%" PRIu64, sim_fault_name(k), r->faults[k]);
    fprintf(out, "\n");
    size_t trace_events = s->opt.trace_events ? s->opt.trace_events : 200;
    if (r->verdict == SIM_PASS) {
        if (s->opt.trace && s->opt.trace_at_us) /* to see how a run that passes went */
            sim_trace_print(s, out, s->opt.trace_at_us, trace_events);
        return;
    }
    char cmd[512];
    sim_replay_command(&s->opt, cmd, sizeof cmd);
    if (r->verdict == SIM_VIOLATION)
        fprintf(out, "  check failed: %s at t=%" PRIu64 " us: %s\n", sim_check_name(r->failed),
                r->violation_time_us, r->message);
    else
        fprintf(out, "  %s\n", r->message);
    fprintf(out, "  replay: %s%s\n", cmd, s->opt.trace ? " --trace" : "");
    if (s->opt.trace)
        sim_print_replicas(s, out);
    if (r->verdict == SIM_VIOLATION && s->opt.trace)
        sim_trace_print(s, out, s->opt.trace_at_us ? s->opt.trace_at_us : r->violation_time_us,
                        trace_events);
}

/* While a run is in progress (for the abort handler of catena-sim --trace). */
static struct sim *sim_current;

static void sim_setup(struct sim *s, const struct sim_options *options, struct sim_result *res)
{
    struct sim_options d;
    sim_options_default(&d);
    s->opt = *options;
    if (!s->opt.ops)
        s->opt.ops = d.ops;
    if (!s->opt.duration_ms)
        s->opt.duration_ms = d.duration_ms;
    if (!s->opt.liveness_ms)
        s->opt.liveness_ms = d.liveness_ms;
    if (!s->opt.profile.name)
        s->opt.profile = d.profile;
    memset(res, 0, sizeof *res);
    s->res = res;
    rng_seed(&s->rng, s->opt.seed);
    rng_seed(&s->client_rng, s->opt.seed ^ 0x636c69656e7473ull); /* "clients" */
    if (s->opt.nodes == SIM_NODES_MIX)
        s->n = rng_below(&s->rng, 2) ? 5 : 3;
    else
        s->n = s->opt.nodes ? s->opt.nodes : 3;
    CHECK(s->n >= 1 && s->n <= SIM_MAX_NODES);
    s->ops = &chainpaxos_engine_ops;
    s->fault_end = s->opt.duration_ms * 1000;
    sim_queue_init(&s->queue);
    history_init(&s->history);
    sim_trace_init(&s->trace, s->opt.trace);
    sim_network_setup(s);
    sim_cluster_init(s);
    sim_clients_init(s);
    sim_faults_plan(s);
    sim_queue_push(&s->queue, &(struct sim_event){.time = s->fault_end, .type = SIM_EV_PHASE});
    res->nodes = s->n;
    res->clients = s->client_count;
}

static void sim_teardown(struct sim *s)
{
    sim_cluster_free(s);
    sim_queue_free(&s->queue);
    history_free(&s->history);
    sim_trace_free(&s->trace);
    free(s->plan);
    free(s->orphans);
    command_args_free(&s->orphan_args);
    free(s);
}

void sim_print_current_trace(FILE *out)
{
    if (!sim_current)
        return;
    fprintf(out, "engine CHECK failed at t=%" PRIu64 " us\n", sim_current->now);
    sim_trace_print(sim_current, out, sim_current->now,
                    sim_current->opt.trace_events ? sim_current->opt.trace_events : 200);
}

enum sim_verdict sim_run(const struct sim_options *options, struct sim_result *res)
{
    struct sim *s = calloc(1, sizeof *s);
    CHECK(s != NULL);
    sim_setup(s, options, res);
    sim_current = s;
    sim_loop(s);
    if (!s->stop && s->phase != SIM_PHASE_DONE)
        sim_violation(s, SIM_CHECK_LIVENESS, "the event queue ran dry");
    res->end_time_us = s->now;
    res->highest_executed = sim_cluster_max_executed(s);
    if (!s->stop)
        sim_orphans_finish(s);
    /* Written before the checks, so that a history the checker chokes on is kept. */
    if (s->opt.history_path) {
        FILE *f = fopen(s->opt.history_path, "w");
        if (!f || !history_write(f, &s->history))
            fprintf(stderr, "catena-sim: cannot write %s\n", s->opt.history_path);
        if (f)
            fclose(f);
    }
    if (!s->stop)
        sim_final_checks(s);
    res->trace_hash = s->trace.hash;
    if (s->opt.log)
        sim_report(s);
    sim_current = NULL;
    sim_teardown(s);
    return res->verdict;
}
