/* Sending requests and accounting for their completions. Closed loop: each completion sends
 * the next request on its connection at once, so every connection keeps --pipeline requests
 * outstanding. Open loop (--target-rate): connection i of C sends its k-th request at
 * start + (i + k * C) / rate, so the run as a whole sends at the rate, evenly spread; a
 * request that finds its connection's pipeline full waits, and its latency still counts from
 * the time it was meant to be sent (no coordinated omission). */
#include "bench/clock.h"
#include "bench/worker_internal.h"

#include <stdio.h>

/* May a request intended at intended_ns be sent? Ends the load at the end of the phase or when
 * the worker's share of --ops is sent, and counts measured requests against that share. */
static bool load_may_send(struct bench_worker *w, uint64_t intended_ns)
{
    const struct bench_timing *t = &w->setup->timing;
    if (!w->issuing)
        return false;
    if (intended_ns >= t->end_ns) {
        worker_stop_issuing(w);
        return false;
    }
    if (intended_ns >= t->measure_ns && t->end_ns == UINT64_MAX) {
        if (w->measured_issued == w->measured_quota) {
            worker_stop_issuing(w);
            return false;
        }
        w->measured_issued++;
    }
    return true;
}

static void load_account(struct bench_connection *c, const struct bench_slot *slot,
                         enum bench_outcome outcome, const char *error, uint64_t now_ns)
{
    struct bench_worker *w = c->worker;
    struct bench_op_stats *stats = slot->op == BENCH_OP_READ ? &w->result.read : &w->result.write;
    bool measured = slot->intended_ns >= w->setup->timing.measure_ns;
    if (outcome == BENCH_OUTCOME_OK) {
        if (!measured)
            return;
        stats->ok++;
        /* Only this thread writes it: a relaxed load and store, no locked instruction. */
        uint64_t ops = atomic_load_explicit(&w->progress_ops, memory_order_relaxed);
        atomic_store_explicit(&w->progress_ops, ops + 1, memory_order_relaxed);
        uint64_t latency_ns = now_ns > slot->intended_ns ? now_ns - slot->intended_ns : 0;
        bench_histogram_record(&stats->latency_ns, latency_ns);
        w->result.last_completion_ns = now_ns;
        return;
    }
    if (measured)
        stats->errors++;
    else
        w->result.warmup_errors++;
    char where[BENCH_HOST_NAME_SIZE + 32];
    snprintf(where, sizeof where, "%s:%d", c->host->name, c->host->port);
    worker_note_error(w, where, error);
}

static void load_release(struct bench_connection *c, struct bench_slot *slot)
{
    c->free_slots[c->free_count++] = slot;
    c->worker->outstanding--;
}

static void load_send(struct bench_connection *c, uint64_t intended_ns)
{
    struct bench_worker *w = c->worker;
    const struct bench_setup *s = w->setup;
    struct bench_slot *slot = c->free_slots[--c->free_count];
    slot->intended_ns = intended_ns;
    bool read = bench_keygen_unit(&w->rng) < s->options->read_ratio;
    slot->op = read ? BENCH_OP_READ : BENCH_OP_WRITE;
    char key[BENCH_KEY_SIZE];
    size_t key_len = bench_keygen_format(bench_keygen_next(&s->keygen, &w->rng), key);
    w->outstanding++;
    if (s->driver->submit(c->driver_conn, slot->op, key, key_len, s->value,
                          s->options->value_size_bytes, slot))
        return;
    /* The connection is going away: this request fails here and no more are sent on it. */
    c->usable = false;
    load_account(c, slot, BENCH_OUTCOME_NO_REPLY, "the request could not be sent",
                 bench_clock_ns());
    load_release(c, slot);
}

static void load_closed_connection(struct bench_connection *c, uint64_t now_ns)
{
    while (c->usable && c->free_count > 0 && load_may_send(c->worker, now_ns))
        load_send(c, now_ns);
}

/* The intended send time of connection c's next request in the open-loop schedule. */
static uint64_t load_schedule_ns(const struct bench_worker *w, const struct bench_connection *c)
{
    const struct bench_options *o = w->setup->options;
    double position = (double)c->index + (double)c->scheduled * (double)o->connections;
    return w->setup->timing.start_ns + (uint64_t)(position / o->target_rate_ops * 1e9);
}

static void load_open_connection(struct bench_connection *c, uint64_t now_ns)
{
    struct bench_worker *w = c->worker;
    while (c->usable && c->free_count > 0 && c->next_due_ns <= now_ns) {
        if (!load_may_send(w, c->next_due_ns))
            return;
        load_send(c, c->next_due_ns);
        c->scheduled++;
        c->next_due_ns = load_schedule_ns(w, c);
    }
    /* A connection with a full pipeline sends again from its next completion instead. */
    if (c->usable && c->free_count > 0 && w->issuing)
        worker_arm_due(w, c->next_due_ns);
}

void worker_load_due(struct bench_worker *w)
{
    uint64_t now_ns = bench_clock_ns();
    for (size_t i = 0; i < w->connection_count && w->issuing; i++)
        load_open_connection(&w->connections[i], now_ns);
}

void worker_load_resume(struct bench_connection *c)
{
    if (!c->worker->issuing)
        return;
    if (c->worker->setup->options->target_rate_ops > 0)
        load_open_connection(c, bench_clock_ns());
    else
        load_closed_connection(c, bench_clock_ns());
}

void worker_load_start(struct bench_worker *w)
{
    bool open_loop = w->setup->options->target_rate_ops > 0;
    uint64_t now_ns = bench_clock_ns();
    for (size_t i = 0; i < w->connection_count && w->issuing; i++) {
        struct bench_connection *c = &w->connections[i];
        if (open_loop) {
            c->scheduled = 0;
            c->next_due_ns = load_schedule_ns(w, c);
            load_open_connection(c, now_ns);
        } else {
            load_closed_connection(c, now_ns);
        }
    }
}

void worker_load_completed(void *token, enum bench_outcome outcome, const char *error)
{
    struct bench_slot *slot = token;
    struct bench_connection *c = slot->connection;
    struct bench_worker *w = c->worker;
    uint64_t now_ns = bench_clock_ns();
    load_account(c, slot, outcome, error, now_ns);
    if (outcome == BENCH_OUTCOME_NO_REPLY)
        c->usable = false;
    load_release(c, slot);
    if (w->finishing)
        return;
    if (!w->issuing) {
        if (w->outstanding == 0)
            worker_finish(w);
        return;
    }
    if (w->setup->options->target_rate_ops > 0)
        load_open_connection(c, now_ns);
    else
        load_closed_connection(c, now_ns);
}
