/* catena-sim: one seeded run (--seed S, replayed bit for bit) or a campaign of many seeds in
 * parallel child processes (--seeds K). See src/sim/sim.h. */
#include "sim/sim.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: catena-sim [--seed S | --seeds K [--first F] [--jobs J]] [options]\n"
            "  --seed S           one run, replayed bit for bit (default seed 1)\n"
            "  --seeds K          a campaign of K seeds: F .. F+K-1 (--first F, default 1),\n"
            "                     J child processes at a time (--jobs J, default: all cores)\n"
            "  --nodes N|mix      replicas (default 3; mix: 3 or 5 drawn per seed)\n"
            "  --clients C        simulated clients (default: 10..30 drawn per seed)\n"
            "  --ops N            operations the fault phase aims at (default 2500)\n"
            "  --duration MS      virtual length of the fault phase (default 3000)\n"
            "  --liveness MS      bound for progress after healing (default 5000)\n"
            "  --profile NAME     fault profile: %s\n"
            "  --bug NAME         plant an engine bug (repeatable): %s\n"
            "  --max-states N     linearizability search budget per key group\n"
            "  --trace            keep a readable trace; print it before the violation\n"
            "  --trace-at US      print the trace up to this virtual time instead\n"
            "  --trace-events N   how many trace events to print (default 200)\n"
            "  --history FILE     write the run's history (catena-check's format)\n"
            "  --unresolved-timeouts  record timed-out ops as unknown (as a real client)\n"
            "                     instead of resolving them from the replicas' execution\n"
            "  --expect-violation succeed only if a violation is found (a planted bug)\n"
            "  --expect-check C   ... and only if it is found by check C (linearizability,\n"
            "                     digest, execution, convergence, liveness, stability)\n"
            "  --timeout S        campaign: wall-clock limit per run (default 10); beyond it\n"
            "                     a run inside the checker gave up, elsewhere it hangs\n"
            "  --quiet            campaign: no progress lines\n",
            sim_profile_names(), sim_bug_names());
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s)
        return false;
    unsigned long long v = strtoull(s, &end, 0);
    if (*end)
        return false;
    *out = v;
    return true;
}

static void on_abort(int sig)
{
    (void)sig;
    sim_print_current_trace(stdout);
    fflush(stdout);
    signal(SIGABRT, SIG_DFL);
    abort();
}

struct args {
    struct sim_options o;
    struct sim_campaign c;
    bool campaign;
    bool expect_violation;
    enum sim_check_id expect_check;
    bool quiet;
};

static bool parse_args(int argc, char **argv, struct args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t v = 0;
        bool numeric = parse_u64(val, &v);
        if (strcmp(opt, "--trace") == 0) {
            a->o.trace = true;
            continue;
        }
        if (strcmp(opt, "--expect-violation") == 0) {
            a->expect_violation = true;
            continue;
        }
        if (strcmp(opt, "--unresolved-timeouts") == 0) {
            a->o.unresolved_timeouts = true;
            continue;
        }
        if (strcmp(opt, "--quiet") == 0) {
            a->quiet = true;
            continue;
        }
        if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        if (!val) {
            fprintf(stderr, "catena-sim: %s needs a value\n", opt);
            return false;
        }
        i++;
        if (strcmp(opt, "--profile") == 0) {
            if (!sim_profile_find(val, &a->o.profile)) {
                fprintf(stderr, "catena-sim: unknown profile %s\n", val);
                return false;
            }
        } else if (strcmp(opt, "--bug") == 0) {
            uint32_t bit = sim_bug_find(val);
            if (!bit) {
                fprintf(stderr, "catena-sim: unknown bug %s (known: %s)\n", val,
                        sim_bug_names());
                return false;
            }
            a->o.planted_bugs |= bit;
        } else if (strcmp(opt, "--expect-check") == 0) {
            a->expect_check = sim_check_find(val);
            a->expect_violation = true;
            if (a->expect_check == SIM_CHECK_NONE) {
                fprintf(stderr, "catena-sim: unknown check %s\n", val);
                return false;
            }
        } else if (strcmp(opt, "--history") == 0) {
            a->o.history_path = val;
        } else if (strcmp(opt, "--nodes") == 0 && strcmp(val, "mix") == 0) {
            a->o.nodes = SIM_NODES_MIX;
        } else if (!numeric) {
            fprintf(stderr, "catena-sim: %s needs a number, got %s\n", opt, val);
            return false;
        } else if (strcmp(opt, "--seed") == 0) {
            a->o.seed = v;
        } else if (strcmp(opt, "--seeds") == 0) {
            a->c.count = v;
            a->campaign = true;
        } else if (strcmp(opt, "--first") == 0) {
            a->c.first = v;
        } else if (strcmp(opt, "--jobs") == 0) {
            a->c.jobs = (size_t)v;
        } else if (strcmp(opt, "--timeout") == 0) {
            a->c.run_timeout_s = (unsigned)v;
        } else if (strcmp(opt, "--nodes") == 0 && v >= 1 && v <= SIM_MAX_NODES) {
            a->o.nodes = (size_t)v;
        } else if (strcmp(opt, "--clients") == 0 && v >= 1 && v <= SIM_MAX_CLIENTS) {
            a->o.clients = (size_t)v;
        } else if (strcmp(opt, "--ops") == 0 && v >= 1) {
            a->o.ops = v;
        } else if (strcmp(opt, "--duration") == 0 && v >= 10) {
            a->o.duration_ms = v;
        } else if (strcmp(opt, "--liveness") == 0 && v >= 100) {
            a->o.liveness_ms = v;
        } else if (strcmp(opt, "--max-states") == 0) {
            a->o.max_states = v;
        } else if (strcmp(opt, "--trace-at") == 0) {
            a->o.trace_at_us = v;
        } else if (strcmp(opt, "--trace-events") == 0) {
            a->o.trace_events = (size_t)v;
        } else {
            fprintf(stderr, "catena-sim: bad option or value: %s %s\n", opt, val);
            return false;
        }
    }
    return true;
}

static int run_campaign(struct args *a)
{
    if (!a->c.first)
        a->c.first = 1;
    a->c.progress = a->quiet ? NULL : stdout;
    char cmd[512];
    sim_replay_command(&a->o, cmd, sizeof cmd);
    printf("campaign: %" PRIu64 " seeds from %" PRIu64 " (each: %s)\n", a->c.count, a->c.first,
           cmd);
    fflush(stdout);
    struct sim_campaign_result r;
    if (!sim_campaign_run(&a->o, &a->c, &r)) {
        fprintf(stderr, "catena-sim: could not run the campaign (fork/pipe failed)\n");
        return 2;
    }
    sim_campaign_print(stdout, &a->o, &r);
    if (a->expect_violation) {
        uint64_t found = a->expect_check ? r.by_check[a->expect_check] : r.violations;
        const char *by = a->expect_check ? sim_check_name(a->expect_check) : "any check";
        if (found) {
            printf("expected violations found by %s in %" PRIu64 " of %" PRIu64
                   " runs: the harness catches the planted bug\n",
                   by, found, r.runs);
            return 0;
        }
        printf("NO VIOLATION FOUND BY %s: the harness missed the planted bug\n", by);
        return 1;
    }
    return r.violations ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct args a = {0};
    sim_options_default(&a.o);
    a.o.seed = 1;
    if (!parse_args(argc, argv, &a)) {
        usage(stderr);
        return 2;
    }
    if (a.campaign)
        return run_campaign(&a);
    a.o.log = stdout;
    if (a.o.trace)
        signal(SIGABRT, on_abort);
    struct sim_result r;
    enum sim_verdict v = sim_run(&a.o, &r);
    if (a.expect_violation)
        return v == SIM_VIOLATION && (!a.expect_check || r.failed == a.expect_check) ? 0 : 1;
    return v == SIM_VIOLATION ? 1 : 0;
}
