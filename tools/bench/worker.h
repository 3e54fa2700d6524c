/* A worker thread: its own libuv loop, a share of the connections, its own random generator
 * and its own histograms. The run (run.c) starts the workers, waits until each has connected,
 * sets the phase boundaries, tells them to start, and joins them; nothing else is shared
 * except the progress snapshot a worker publishes every second. */
#ifndef CATENA_BENCH_WORKER_H
#define CATENA_BENCH_WORKER_H

#include "bench/driver.h"
#include "bench/error_tally.h"
#include "bench/histogram.h"
#include "bench/keygen.h"
#include "bench/options.h"

#include <pthread.h>
#include <stdatomic.h>
#include <uv.h>

/* Phase boundaries on bench_clock_ns: requests intended before measure_ns are warm-up, from
 * measure_ns to end_ns measured (end_ns is UINT64_MAX when the run counts --ops). */
struct bench_timing {
    uint64_t start_ns, measure_ns, end_ns;
};

/* What every worker reads and none writes once the workers run. */
struct bench_setup {
    const struct bench_options *options;
    const struct bench_driver *driver;
    struct bench_keygen keygen;
    char *value; /* options->value_size_bytes bytes, the value of every SET */
    struct bench_timing timing; /* written before BENCH_WORKER_START is posted */
    bool progress;              /* workers publish a snapshot every second */
    /* Workers report here once each of their connections has connected or failed. */
    pthread_mutex_t lock;
    pthread_cond_t changed;
    size_t workers_ready, workers_failed, workers_finished;
    char connect_error[256]; /* the first connection failure */
};

struct bench_op_stats {
    uint64_t ok;     /* measured requests answered without error */
    uint64_t errors; /* measured requests answered with an error or never answered */
    struct bench_histogram latency_ns; /* of the ok ones, from intended send time to reply */
};

struct bench_worker_result {
    struct bench_op_stats read, write;
    uint64_t warmup_errors; /* failed requests of the warm-up */
    uint64_t disconnects;   /* connections the server or the network closed */
    uint64_t reconnects;    /* of them, opened again (--reconnect-ms) */
    uint64_t last_completion_ns;
    char first_error[200];
    struct bench_error_tally error_kinds; /* every failure noted, by host and error */
};

enum bench_worker_command { BENCH_WORKER_WAIT, BENCH_WORKER_START, BENCH_WORKER_ABORT };

struct bench_connection;

struct bench_worker {
    size_t index;
    struct bench_setup *setup;
    size_t first_connection, connection_count;
    pthread_t thread;
    _Atomic int command; /* enum bench_worker_command, posted with wake */
    uv_loop_t loop;
    uv_async_t wake;
    uv_timer_t stop_timer, drain_timer, publish_timer;
    uv_poll_t due_poll; /* the open-loop timerfd */
    int due_fd;
    uint64_t due_armed_ns; /* when the timerfd fires, UINT64_MAX if disarmed */
    struct rng rng;
    struct bench_connection *connections;
    size_t connects_pending, connections_open;
    size_t outstanding;                   /* requests sent and not completed */
    uint64_t measured_quota, measured_issued; /* --ops: this worker's share */
    uint64_t load_first, load_sent; /* --load: this worker's share of the keys, and how many */
    bool issuing, finishing;
    struct bench_worker_result result;
    /* Progress, read by the run while the worker runs: the count of successful measured
     * requests, and a latency snapshot taken every 250 ms under published_lock. */
    _Atomic uint64_t progress_ops;
    pthread_mutex_t published_lock;
    struct bench_histogram published_latency_ns;
};

/* Prepares worker index of count to own connections [first, first + n) of the run; quota is
 * its share of --ops. Allocates; false when out of memory. */
bool bench_worker_init(struct bench_worker *w, struct bench_setup *setup, size_t index,
                       size_t first, size_t n, uint64_t quota);
/* Starts the thread: it connects, reports readiness in setup, then waits for a command. */
bool bench_worker_start(struct bench_worker *w);
/* Posts START (after setup->timing is set) or ABORT; any thread. */
void bench_worker_post(struct bench_worker *w, enum bench_worker_command command);
/* Waits for the thread to end; its result is then final. */
void bench_worker_join(struct bench_worker *w);
/* Progress (any thread): successful measured requests so far; the latencies of those of
 * them up to the last snapshot (at most 250 ms old) are merged into latency_ns. */
uint64_t bench_worker_progress(struct bench_worker *w, struct bench_histogram *latency_ns);
void bench_worker_free(struct bench_worker *w);

#endif
