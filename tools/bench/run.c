#include "bench/run.h"

#include "bench/clock.h"
#include "bench/proc_cpu.h"
#include "bench/progress.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Workers and what they share, for the length of a run. */
struct run_state {
    struct bench_setup setup;
    struct bench_worker *workers;
    size_t worker_count, workers_started;
};

static bool run_prepare(struct run_state *st, const struct bench_options *o,
                        const struct bench_driver *d, FILE *err)
{
    struct bench_setup *s = &st->setup;
    *s = (struct bench_setup){.options = o, .driver = d};
    if (!bench_keygen_init(&s->keygen, o->distribution, o->keys, o->theta)) {
        fprintf(err, "catena-bench: bad key distribution\n");
        return false;
    }
    /* Printable bytes, the same for a seed. */
    s->value = malloc(o->value_size_bytes + 1);
    st->workers = calloc(o->threads, sizeof *st->workers);
    if (!s->value || !st->workers) {
        fprintf(err, "catena-bench: out of memory\n");
        return false;
    }
    struct rng rng;
    rng_seed(&rng, ~o->seed);
    for (size_t i = 0; i < o->value_size_bytes; i++)
        s->value[i] = (char)('a' + rng_below(&rng, 26));
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&s->changed, &attributes);
    pthread_condattr_destroy(&attributes);
    pthread_mutex_init(&s->lock, NULL);
    return true;
}

/* Starts the workers, connection range and --ops share of each in proportion. */
static bool run_start_workers(struct run_state *st, FILE *err)
{
    const struct bench_options *o = st->setup.options;
    size_t threads = o->threads;
    for (size_t t = 0; t < threads; t++) {
        size_t first = o->connections * t / threads;
        size_t last = o->connections * (t + 1) / threads;
        uint64_t quota = (uint64_t)((unsigned __int128)o->ops * (t + 1) / threads -
                                    (unsigned __int128)o->ops * t / threads);
        struct bench_worker *w = &st->workers[t];
        bool ok = bench_worker_init(w, &st->setup, t, first, last - first, quota);
        w->load_first = (uint64_t)((unsigned __int128)o->ops * t / threads);
        st->worker_count++;
        if (!ok || !bench_worker_start(w)) {
            fprintf(err, "catena-bench: cannot start worker %zu\n", t);
            return false;
        }
        st->workers_started++;
    }
    return true;
}

/* Waits until count workers are counted in *counter, or until deadline_ns (0: no deadline).
 * Call with the lock held. */
static void run_wait_locked(struct bench_setup *s, const size_t *counter, size_t count,
                            uint64_t deadline_ns)
{
    struct timespec until = {.tv_sec = (time_t)(deadline_ns / 1000000000u),
                             .tv_nsec = (long)(deadline_ns % 1000000000u)};
    while (*counter < count) {
        if (!deadline_ns)
            pthread_cond_wait(&s->changed, &s->lock);
        else if (pthread_cond_timedwait(&s->changed, &s->lock, &until) == ETIMEDOUT)
            return;
    }
}

static void run_wait(struct bench_setup *s, const size_t *counter, size_t count,
                     uint64_t deadline_ns)
{
    pthread_mutex_lock(&s->lock);
    run_wait_locked(s, counter, count, deadline_ns);
    pthread_mutex_unlock(&s->lock);
}

/* Replica i's counters: the driver's (INFO, /metrics), and its process's CPU from /proc
 * instead when --server-pids names it. */
static bool run_read_replica(const struct bench_report *r, const struct bench_driver *d,
                             size_t i, struct bench_server_counters *c, char *error,
                             size_t error_size)
{
    const struct bench_options *o = r->options;
    *c = (struct bench_server_counters){0};
    if (d->server_counters && !d->server_counters(&r->replicas[i].host, c, error, error_size))
        return false;
    if (i < o->server_pid_count) {
        if (!bench_proc_cpu_s(o->server_pids[i], &c->cpu_s, error, error_size))
            return false;
        c->has_cpu = true;
    }
    return true;
}

static void run_read_counters(struct bench_report *r, const struct bench_driver *d, bool after)
{
    for (size_t i = 0; i < r->replica_count; i++) {
        struct bench_replica *p = &r->replicas[i];
        if (after && p->error[0])
            continue;
        struct bench_server_counters *c = after ? &p->after : &p->before;
        if (!run_read_replica(r, d, i, c, p->error, sizeof p->error))
            continue;
        p->measured = after;
    }
}

/* Until every worker has finished: reads the counters "before" once the measured phase
 * starts, and prints a progress line every second. */
static void run_follow(struct run_state *st, struct bench_report *r, FILE *progress)
{
    struct bench_setup *s = &st->setup;
    const struct bench_timing *t = &s->timing;
    uint64_t tick_ns = t->start_ns + 1000000000u;
    bool before_read = !r->has_counters;
    for (;;) {
        uint64_t deadline_ns = tick_ns;
        if (!before_read && t->measure_ns < deadline_ns)
            deadline_ns = t->measure_ns;
        pthread_mutex_lock(&s->lock);
        run_wait_locked(s, &s->workers_finished, st->worker_count, deadline_ns);
        bool done = s->workers_finished == st->worker_count;
        pthread_mutex_unlock(&s->lock);
        uint64_t now_ns = bench_clock_ns();
        if (!before_read && (now_ns >= t->measure_ns || done)) {
            run_read_counters(r, s->driver, false);
            before_read = true;
        }
        if (done)
            return;
        if (now_ns >= tick_ns) {
            if (progress)
                bench_progress_print(progress, st->workers, st->worker_count, t);
            tick_ns += 1000000000u;
        }
    }
}

static void run_add_stats(struct bench_op_stats *sum, const struct bench_op_stats *part)
{
    sum->ok += part->ok;
    sum->errors += part->errors;
    bench_histogram_merge(&sum->latency_ns, &part->latency_ns);
}

static void run_collect(const struct run_state *st, struct bench_report *r)
{
    uint64_t last_ns = 0;
    for (size_t i = 0; i < st->worker_count; i++) {
        const struct bench_worker_result *w = &st->workers[i].result;
        run_add_stats(&r->read, &w->read);
        run_add_stats(&r->write, &w->write);
        r->warmup_errors += w->warmup_errors;
        r->disconnects += w->disconnects;
        r->reconnects += w->reconnects;
        if (!r->first_error[0] && w->first_error[0])
            snprintf(r->first_error, sizeof r->first_error, "%s", w->first_error);
        bench_error_tally_merge(&r->error_kinds, &w->error_kinds);
        if (w->last_completion_ns > last_ns)
            last_ns = w->last_completion_ns;
    }
    run_add_stats(&r->all, &r->read);
    run_add_stats(&r->all, &r->write);
    const struct bench_timing *t = &st->setup.timing;
    if (last_ns > t->measure_ns)
        r->measured_s = (double)(last_ns - t->measure_ns) / 1e9;
}

static void run_report_init(struct bench_report *r, const struct bench_options *o,
                            const struct bench_driver *d)
{
    memset(r, 0, sizeof *r);
    r->options = o;
    bench_histogram_init(&r->read.latency_ns);
    bench_histogram_init(&r->write.latency_ns);
    bench_histogram_init(&r->all.latency_ns);
    r->has_counters = d->server_counters != NULL || o->server_pid_count > 0;
    r->replica_count = r->has_counters ? o->host_count : 0;
    for (size_t i = 0; i < r->replica_count; i++)
        r->replicas[i].host = o->hosts[i];
}

/* Once every worker has connected: sets the phases and lets the workers go. False (and the
 * workers told to stop) if a connection failed. */
static bool run_begin(struct run_state *st, FILE *err)
{
    struct bench_setup *s = &st->setup;
    const struct bench_options *o = s->options;
    run_wait(s, &s->workers_ready, st->worker_count, 0);
    bool ok = s->workers_failed == 0;
    if (!ok) {
        fprintf(err, "catena-bench: %s\n", s->connect_error);
    } else {
        struct bench_timing *t = &s->timing;
        t->start_ns = bench_clock_ns() + 1000000u;
        t->measure_ns = t->start_ns + (uint64_t)(o->warmup_s * 1e9);
        t->end_ns = o->ops ? UINT64_MAX : t->measure_ns + (uint64_t)(o->duration_s * 1e9);
    }
    for (size_t i = 0; i < st->worker_count; i++)
        bench_worker_post(&st->workers[i], ok ? BENCH_WORKER_START : BENCH_WORKER_ABORT);
    return ok;
}

bool bench_run(const struct bench_options *o, const struct bench_driver *d,
               struct bench_report *r, FILE *progress, FILE *err)
{
    struct run_state st = {0};
    run_report_init(r, o, d);
    bool ok = run_prepare(&st, o, d, err);
    st.setup.progress = progress != NULL;
    ok = ok && run_start_workers(&st, err);
    /* Workers that started are waited for even when others could not start. */
    if (!ok) {
        run_wait(&st.setup, &st.setup.workers_ready, st.workers_started, 0);
        for (size_t i = 0; i < st.workers_started; i++)
            bench_worker_post(&st.workers[i], BENCH_WORKER_ABORT);
    } else if ((ok = run_begin(&st, err))) {
        run_follow(&st, r, progress);
    }
    for (size_t i = 0; i < st.workers_started; i++)
        bench_worker_join(&st.workers[i]);
    if (ok) {
        run_collect(&st, r);
        if (r->has_counters)
            run_read_counters(r, d, true);
    }
    for (size_t i = 0; i < st.worker_count; i++)
        bench_worker_free(&st.workers[i]);
    free(st.workers);
    free(st.setup.value);
    return ok;
}
