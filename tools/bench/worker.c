#include "bench/clock.h"
#include "bench/worker_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

bool bench_worker_init(struct bench_worker *w, struct bench_setup *setup, size_t index,
                       size_t first, size_t n, uint64_t quota)
{
    const struct bench_options *o = setup->options;
    *w = (struct bench_worker){.index = index, .setup = setup, .first_connection = first,
                               .connection_count = n, .measured_quota = quota, .due_fd = -1,
                               .due_armed_ns = UINT64_MAX};
    /* Threads draw different sequences: the seeds differ, and splitmix64 spreads them. */
    rng_seed(&w->rng, o->seed + index * 0x9e3779b97f4a7c15ull);
    bench_histogram_init(&w->result.read.latency_ns);
    bench_histogram_init(&w->result.write.latency_ns);
    bench_histogram_init(&w->published_latency_ns);
    pthread_mutex_init(&w->published_lock, NULL);
    w->connections = calloc(n, sizeof *w->connections);
    if (!w->connections)
        return false;
    for (size_t i = 0; i < n; i++) {
        struct bench_connection *c = &w->connections[i];
        c->worker = w;
        c->index = first + i;
        c->host = &o->hosts[c->index % o->host_count];
        c->slots = calloc(o->pipeline, sizeof *c->slots);
        c->free_slots = calloc(o->pipeline, sizeof *c->free_slots);
        if (!c->slots || !c->free_slots)
            return false;
        for (size_t s = 0; s < o->pipeline; s++) {
            c->slots[s].connection = c;
            c->free_slots[c->free_count++] = &c->slots[s];
        }
    }
    return true;
}

void bench_worker_free(struct bench_worker *w)
{
    for (size_t i = 0; w->connections && i < w->connection_count; i++) {
        free(w->connections[i].slots);
        free(w->connections[i].free_slots);
    }
    free(w->connections);
    pthread_mutex_destroy(&w->published_lock);
}

void worker_note_error(struct bench_worker *w, const char *host, const char *error)
{
    if (!error)
        error = "unknown error";
    if (!w->result.first_error[0])
        /* Both cut to fit: a first error is a hint, not a log. */
        snprintf(w->result.first_error, sizeof w->result.first_error, "%.80s: %.110s", host,
                 error);
    char kind[BENCH_ERROR_TEXT_SIZE];
    snprintf(kind, sizeof kind, "%.80s: %.110s", host, error);
    bench_error_tally_add(&w->result.error_kinds, kind, 1);
}

/* Tells the run that every connection of this worker has connected or failed. */
static void worker_report_ready(struct bench_worker *w)
{
    struct bench_setup *s = w->setup;
    pthread_mutex_lock(&s->lock);
    s->workers_ready++;
    if (w->connections_open < w->connection_count) {
        s->workers_failed++;
        if (!s->connect_error[0])
            snprintf(s->connect_error, sizeof s->connect_error, "%s", w->result.first_error);
    }
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

static void worker_connect_done(struct bench_worker *w)
{
    if (--w->connects_pending == 0)
        worker_report_ready(w);
}

static const struct bench_driver_events worker_events;
static void worker_reconnect_later(struct bench_connection *c);

static void worker_reconnect_cb(uv_timer_t *t)
{
    struct bench_connection *c = t->data;
    struct bench_worker *w = c->worker;
    if (w->finishing)
        return;
    char error[256];
    c->reconnecting = true;
    c->driver_conn = w->setup->driver->connect(&w->loop, w->setup->options, c->host,
                                               &worker_events, c, error, sizeof error);
    if (!c->driver_conn) {
        c->reconnecting = false;
        worker_reconnect_later(c);
    }
}

/* --reconnect-ms: the connection is opened again later, until it connects or the run ends. */
static void worker_reconnect_later(struct bench_connection *c)
{
    if (c->worker->finishing)
        return;
    if (!c->reconnect_timer_ready) {
        uv_timer_init(&c->worker->loop, &c->reconnect_timer);
        c->reconnect_timer.data = c;
        c->reconnect_timer_ready = true;
    }
    uv_timer_start(&c->reconnect_timer, worker_reconnect_cb,
                   (uint64_t)c->worker->setup->options->reconnect_ms, 0);
}

static void worker_on_connected(void *context, bool ok, const char *error)
{
    struct bench_connection *c = context;
    struct bench_worker *w = c->worker;
    if (c->reconnecting) {
        c->reconnecting = false;
        if (!ok) {
            c->driver_conn = NULL;
            worker_reconnect_later(c);
            return;
        }
        c->open = c->usable = true;
        w->connections_open++;
        w->result.reconnects++;
        worker_load_resume(c);
        return;
    }
    char where[BENCH_HOST_NAME_SIZE + 32];
    snprintf(where, sizeof where, "cannot connect to %s:%d", c->host->name, c->host->port);
    if (ok) {
        c->open = c->usable = true;
        w->connections_open++;
    } else {
        c->driver_conn = NULL;
        worker_note_error(w, where, error);
    }
    worker_connect_done(w);
}

static void worker_on_closed(void *context, const char *error)
{
    struct bench_connection *c = context;
    struct bench_worker *w = c->worker;
    c->open = c->usable = false;
    c->driver_conn = NULL;
    w->connections_open--;
    if (error && !w->finishing) {
        char where[BENCH_HOST_NAME_SIZE + 32];
        snprintf(where, sizeof where, "%s:%d", c->host->name, c->host->port);
        w->result.disconnects++;
        worker_note_error(w, where, error);
        if (w->setup->options->reconnect_ms > 0) {
            worker_reconnect_later(c);
            return;
        }
    }
    /* Every connection is gone: nothing is left to measure. */
    if (w->connections_open == 0 && w->connects_pending == 0 && !w->finishing)
        worker_finish(w);
}

static const struct bench_driver_events worker_events = {
    .connected = worker_on_connected,
    .completed = worker_load_completed,
    .closed = worker_on_closed,
};

static void worker_handle_closed(uv_handle_t *handle)
{
    (void)handle;
}

static void worker_close_handle(uv_handle_t *handle)
{
    if (handle->type != UV_UNKNOWN_HANDLE && !uv_is_closing(handle))
        uv_close(handle, worker_handle_closed);
}

void worker_finish(struct bench_worker *w)
{
    w->finishing = true;
    w->issuing = false;
    for (size_t i = 0; i < w->connection_count; i++) {
        struct bench_connection *c = &w->connections[i];
        struct bench_driver_conn *driver_conn = c->driver_conn;
        if (c->reconnect_timer_ready)
            worker_close_handle((uv_handle_t *)&c->reconnect_timer);
        if ((c->open || c->reconnecting) && driver_conn) {
            /* Cleared first: closing completes the connection's pending requests, whose
             * callbacks must not use it, nor close it again. */
            c->driver_conn = NULL;
            c->usable = false;
            w->setup->driver->close(driver_conn);
        }
    }
    worker_close_handle((uv_handle_t *)&w->stop_timer);
    worker_close_handle((uv_handle_t *)&w->drain_timer);
    worker_close_handle((uv_handle_t *)&w->publish_timer);
    if (w->due_fd >= 0)
        worker_close_handle((uv_handle_t *)&w->due_poll);
    /* The wake handle stays open until the run's one command has arrived (worker_woken): the
     * run may post it at any time, and posting to a closed handle is not allowed. */
}

static void worker_drain_expired(uv_timer_t *timer)
{
    struct bench_worker *w = timer->data;
    char what[96];
    snprintf(what, sizeof what, "%zu requests unanswered after --drain-timeout", w->outstanding);
    worker_note_error(w, "drain", what);
    /* Closing completes what is still outstanding as unanswered: counted as errors. */
    worker_finish(w);
}

static uint64_t worker_ms_until(uint64_t when_ns)
{
    uint64_t now = bench_clock_ns();
    return when_ns > now ? (when_ns - now + 999999u) / 1000000u : 0;
}

void worker_stop_issuing(struct bench_worker *w)
{
    if (!w->issuing)
        return;
    w->issuing = false;
    uv_timer_stop(&w->stop_timer);
    if (w->outstanding == 0) {
        worker_finish(w);
        return;
    }
    uint64_t drain_ms = (uint64_t)(w->setup->options->drain_timeout_s * 1000.0 + 0.5);
    uv_timer_start(&w->drain_timer, worker_drain_expired, drain_ms ? drain_ms : 1, 0);
}

static void worker_stop_expired(uv_timer_t *timer)
{
    worker_stop_issuing(timer->data);
}

static void worker_publish(uv_timer_t *timer)
{
    struct bench_worker *w = timer->data;
    pthread_mutex_lock(&w->published_lock);
    w->published_latency_ns = w->result.read.latency_ns;
    bench_histogram_merge(&w->published_latency_ns, &w->result.write.latency_ns);
    pthread_mutex_unlock(&w->published_lock);
}

uint64_t bench_worker_progress(struct bench_worker *w, struct bench_histogram *latency_ns)
{
    pthread_mutex_lock(&w->published_lock);
    bench_histogram_merge(latency_ns, &w->published_latency_ns);
    pthread_mutex_unlock(&w->published_lock);
    return atomic_load_explicit(&w->progress_ops, memory_order_relaxed);
}

void worker_arm_due(struct bench_worker *w, uint64_t due_ns)
{
    if (due_ns >= w->due_armed_ns)
        return;
    w->due_armed_ns = due_ns;
    struct itimerspec when = {.it_value = {.tv_sec = (time_t)(due_ns / 1000000000u),
                                           .tv_nsec = (long)(due_ns % 1000000000u)}};
    timerfd_settime(w->due_fd, TFD_TIMER_ABSTIME, &when, NULL);
}

static void worker_due_ready(uv_poll_t *poll, int status, int events)
{
    struct bench_worker *w = poll->data;
    uint64_t expirations;
    (void)events;
    if (status < 0 || read(w->due_fd, &expirations, sizeof expirations) < 0)
        return;
    w->due_armed_ns = UINT64_MAX;
    worker_load_due(w);
}

/* START: the phase boundaries are set; run the load until end_ns or the quota. */
static void worker_begin(struct bench_worker *w)
{
    const struct bench_setup *s = w->setup;
    w->issuing = true;
    if (s->timing.end_ns != UINT64_MAX)
        uv_timer_start(&w->stop_timer, worker_stop_expired, worker_ms_until(s->timing.end_ns),
                       0);
    if (s->progress)
        uv_timer_start(&w->publish_timer, worker_publish, 250, 250);
    if (w->due_fd >= 0)
        uv_poll_start(&w->due_poll, UV_READABLE, worker_due_ready);
    worker_load_start(w);
}

static void worker_woken(uv_async_t *wake)
{
    struct bench_worker *w = wake->data;
    int command = atomic_load_explicit(&w->command, memory_order_acquire);
    if (command == BENCH_WORKER_WAIT)
        return;
    worker_close_handle((uv_handle_t *)&w->wake); /* the run posts one command only */
    if (w->finishing)
        return;
    if (command == BENCH_WORKER_ABORT)
        worker_finish(w);
    else
        worker_begin(w);
}

static void worker_init_handles(struct bench_worker *w)
{
    uv_loop_init(&w->loop);
    uv_async_init(&w->loop, &w->wake, worker_woken);
    uv_timer_init(&w->loop, &w->stop_timer);
    uv_timer_init(&w->loop, &w->drain_timer);
    uv_timer_init(&w->loop, &w->publish_timer);
    w->wake.data = w->stop_timer.data = w->drain_timer.data = w->publish_timer.data = w;
    if (w->setup->options->target_rate_ops > 0) {
        w->due_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (w->due_fd >= 0) {
            uv_poll_init(&w->loop, &w->due_poll, w->due_fd);
            w->due_poll.data = w;
        }
    }
}

static void worker_connect_all(struct bench_worker *w)
{
    const struct bench_driver *driver = w->setup->driver;
    char error[256];
    w->connects_pending = w->connection_count;
    for (size_t i = 0; i < w->connection_count; i++) {
        struct bench_connection *c = &w->connections[i];
        c->driver_conn = driver->connect(&w->loop, w->setup->options, c->host, &worker_events,
                                         c, error, sizeof error);
        if (!c->driver_conn) {
            char where[BENCH_HOST_NAME_SIZE + 32];
            snprintf(where, sizeof where, "cannot connect to %s:%d", c->host->name,
                     c->host->port);
            worker_note_error(w, where, error);
            worker_connect_done(w);
        }
    }
}

static void *worker_main(void *arg)
{
    struct bench_worker *w = arg;
    worker_init_handles(w);
    if (w->setup->options->target_rate_ops > 0 && w->due_fd < 0) {
        worker_note_error(w, "timerfd", "cannot create the open-loop timer");
        w->connects_pending = 1;
        worker_connect_done(w);
    } else {
        worker_connect_all(w);
    }
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_loop_close(&w->loop);
    if (w->due_fd >= 0)
        close(w->due_fd);
    struct bench_setup *s = w->setup;
    pthread_mutex_lock(&s->lock);
    s->workers_finished++;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

bool bench_worker_start(struct bench_worker *w)
{
    return pthread_create(&w->thread, NULL, worker_main, w) == 0;
}

void bench_worker_post(struct bench_worker *w, enum bench_worker_command command)
{
    atomic_store_explicit(&w->command, command, memory_order_release);
    uv_async_send(&w->wake);
}

void bench_worker_join(struct bench_worker *w)
{
    pthread_join(w->thread, NULL);
}
