/* Campaigns: many seeds, each run in its own child process, `jobs` at a time. A child writes
 * its struct sim_result into a pipe and exits; a child that dies instead (an engine CHECK
 * aborts, or the wall-clock alarm fires) is a violation of its seed, and the campaign goes on.
 * The parent only counts: no run depends on another, or on the order they finish in. */
#include "sim/sim.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct sim_slot {
    pid_t pid;
    int fd;
    uint64_t seed;
};

static double sim_wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sim_child_fd = -1;

static bool sim_write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        len -= (size_t)w;
    }
    return true;
}

/* The wall-clock limit: inside the linearizability checker, the run is reported as "gave up"
 * (the search is exponential in the worst case); anywhere else the run hangs, and dies. */
static void sim_child_alarm(int sig)
{
    struct sim_result *r = sim_result_in_check();
    if (r) {
        static const char msg[] = "the linearizability check ran out of wall-clock time";
        r->verdict = SIM_GAVE_UP;
        memcpy(r->message, msg, sizeof msg);
        _exit(sim_write_all(sim_child_fd, r, sizeof *r) ? 0 : 3);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static _Noreturn void sim_child(const struct sim_options *options, uint64_t seed, int fd,
                                unsigned timeout_s)
{
    sim_child_fd = fd;
    signal(SIGALRM, sim_child_alarm);
    alarm(timeout_s);
    struct sim_options o = *options;
    o.seed = seed;
    o.log = NULL;
    o.trace = false;
    o.history_path = NULL;
    struct sim_result res;
    sim_run(&o, &res);
    alarm(0);
    _exit(sim_write_all(fd, &res, sizeof res) ? 0 : 3);
}

static bool sim_spawn(const struct sim_options *options, const struct sim_campaign *c,
                      struct sim_slot *slot, uint64_t seed)
{
    int fds[2];
    if (pipe(fds) != 0)
        return false;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return false;
    }
    if (pid == 0) {
        close(fds[0]);
        sim_child(options, seed, fds[1], c->run_timeout_s ? c->run_timeout_s : 10);
    }
    close(fds[1]);
    *slot = (struct sim_slot){.pid = pid, .fd = fds[0], .seed = seed};
    return true;
}

/* Reads the child's result; false if it did not write a whole one. */
static bool sim_collect(int fd, struct sim_result *res)
{
    uint8_t *p = (uint8_t *)res;
    size_t got = 0;
    while (got < sizeof *res) {
        ssize_t r = read(fd, p + got, sizeof *res - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

static void sim_account(struct sim_campaign_result *out, uint64_t seed,
                        const struct sim_result *r)
{
    out->runs++;
    out->ops += r->ops;
    out->ops_ok += r->ops_ok;
    out->ops_fail += r->ops_fail;
    out->ops_unknown += r->ops_unknown;
    out->ops_timed_out += r->ops_timed_out;
    out->messages += r->messages;
    out->removals += r->removals;
    out->leader_changes += r->leader_changes;
    out->parts_resumed += r->parts_resumed;
    for (int k = 0; k < SIM_FAULT_KINDS; k++)
        out->faults[k] += r->faults[k];
    switch (r->verdict) {
    case SIM_PASS:
        out->passed++;
        break;
    case SIM_VIOLATION:
        out->violations++;
        out->by_check[r->failed < SIM_CHECK_KINDS ? r->failed : SIM_CHECK_NONE]++;
        if (out->violation_seed_count < 32) {
            out->violation_checks[out->violation_seed_count] = r->failed;
            out->violation_seeds[out->violation_seed_count++] = seed;
        }
        break;
    case SIM_GAVE_UP:
        out->gave_up++;
        if (out->gave_up_seed_count < 32)
            out->gave_up_seeds[out->gave_up_seed_count++] = seed;
        break;
    }
}

static void sim_finish(struct sim_campaign_result *out, const struct sim_slot *slot, int status)
{
    struct sim_result r;
    bool ok = sim_collect(slot->fd, &r);
    close(slot->fd);
    if (ok && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        sim_account(out, slot->seed, &r);
        return;
    }
    memset(&r, 0, sizeof r);
    r.verdict = SIM_VIOLATION;
    r.failed = WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? SIM_CHECK_HANG
                                                                   : SIM_CHECK_ABORT;
    sim_account(out, slot->seed, &r);
}

bool sim_campaign_run(const struct sim_options *options, const struct sim_campaign *c,
                      struct sim_campaign_result *out)
{
    memset(out, 0, sizeof *out);
    size_t jobs = c->jobs;
    if (!jobs) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        jobs = online > 0 ? (size_t)online : 1;
    }
    struct sim_slot *slots = calloc(jobs, sizeof *slots);
    if (!slots)
        return false;
    double start = sim_wall_seconds(), last_progress = start;
    uint64_t next = 0;
    size_t running = 0;
    bool ok = true;
    while (running > 0 || (ok && next < c->count)) {
        while (ok && running < jobs && next < c->count) {
            size_t free_slot = 0;
            while (slots[free_slot].pid)
                free_slot++;
            if (!sim_spawn(options, c, &slots[free_slot], c->first + next))
                ok = false;
            else {
                next++;
                running++;
            }
        }
        if (!running)
            break;
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            ok = false;
            break;
        }
        for (size_t k = 0; k < jobs; k++)
            if (slots[k].pid == pid) {
                sim_finish(out, &slots[k], status);
                slots[k].pid = 0;
                running--;
                break;
            }
        double now = sim_wall_seconds();
        if (c->progress && now - last_progress >= 10.0) {
            last_progress = now;
            fprintf(c->progress,
                    "  ... %" PRIu64 "/%" PRIu64 " runs, %" PRIu64 " violations, %" PRIu64
                    " gave up, %.0f runs/s\n",
                    out->runs, c->count, out->violations, out->gave_up,
                    (double)out->runs / (now - start));
            fflush(c->progress);
        }
    }
    free(slots);
    out->wall_seconds = sim_wall_seconds() - start;
    return ok;
}

void sim_campaign_print(FILE *f, const struct sim_options *options,
                        const struct sim_campaign_result *r)
{
    fprintf(f,
            "runs %" PRIu64 ": %" PRIu64 " passed, %" PRIu64 " violations, %" PRIu64
            " gave up; wall %.1f s (%.1f runs/s)\n",
            r->runs, r->passed, r->violations, r->gave_up, r->wall_seconds,
            r->wall_seconds > 0 ? (double)r->runs / r->wall_seconds : 0.0);
    fprintf(f,
            "operations %" PRIu64 " (ok %" PRIu64 ", failed %" PRIu64 ", unknown %" PRIu64
            "; %" PRIu64 " timed out at the client), messages %" PRIu64 ", removals %" PRIu64
            ", leader changes %" PRIu64 ", state parts resent from the middle %" PRIu64 "\n",
            r->ops, r->ops_ok, r->ops_fail, r->ops_unknown, r->ops_timed_out, r->messages,
            r->removals, r->leader_changes, r->parts_resumed);
    fprintf(f, "faults injected:");
    for (int k = 0; k < SIM_FAULT_KINDS; k++)
        fprintf(f, " %s=%" PRIu64, sim_fault_name(k), r->faults[k]);
    fprintf(f, "\n");
    if (r->violations) {
        fprintf(f, "violations by check:");
        for (int k = 1; k < SIM_CHECK_KINDS; k++)
            if (r->by_check[k])
                fprintf(f, " %s=%" PRIu64, sim_check_name(k), r->by_check[k]);
        fprintf(f, "\nviolating seeds:");
        for (size_t i = 0; i < r->violation_seed_count; i++)
            fprintf(f, " %" PRIu64 " (%s)", r->violation_seeds[i],
                    sim_check_name(r->violation_checks[i]));
        fprintf(f, "%s\n", r->violations > r->violation_seed_count ? " ..." : "");
        struct sim_options o = *options;
        o.seed = r->violation_seeds[0];
        char cmd[512];
        sim_replay_command(&o, cmd, sizeof cmd);
        fprintf(f, "replay the first: %s --trace\n", cmd);
    }
    if (r->gave_up) {
        fprintf(f, "gave-up seeds:");
        for (size_t i = 0; i < r->gave_up_seed_count; i++)
            fprintf(f, " %" PRIu64, r->gave_up_seeds[i]);
        fprintf(f, "%s\n", r->gave_up > r->gave_up_seed_count ? " ..." : "");
    }
}
