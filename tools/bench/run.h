/* One benchmark run: workers started and connected, warm-up, measured phase, drain; the
 * servers' counters read around the measured phase; everything gathered into a report. */
#ifndef CATENA_BENCH_RUN_H
#define CATENA_BENCH_RUN_H

#include "bench/driver.h"
#include "bench/options.h"
#include "bench/worker.h"

#include <stdio.h>

/* One --hosts entry's counters around the measured phase (when the driver reads them). */
struct bench_replica {
    struct bench_host host;
    bool measured; /* both readings succeeded */
    char error[256];
    struct bench_server_counters before, after;
};

struct bench_report {
    const struct bench_options *options;
    struct bench_op_stats read, write, all;
    double measured_s; /* from the start of the measured phase to its last reply */
    uint64_t warmup_errors, disconnects, reconnects;
    char first_error[256];
    struct bench_error_tally error_kinds; /* every failure, by host and error */
    bool has_counters; /* the driver reads server counters */
    size_t replica_count;
    struct bench_replica replicas[BENCH_MAX_HOSTS];
};

/* Runs the benchmark o describes with driver d into r (large: allocate it). Progress lines go
 * to progress when it is not NULL. False, with the reason on err, when the run could not be
 * made (a connection failed): exit status 1. */
bool bench_run(const struct bench_options *o, const struct bench_driver *d,
               struct bench_report *r, FILE *progress, FILE *err);

#endif
