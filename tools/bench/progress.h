/* The line catena-bench prints every second on a terminal: time, ops/s and p99 so far. */
#ifndef CATENA_BENCH_PROGRESS_H
#define CATENA_BENCH_PROGRESS_H

#include "bench/worker.h"

#include <stdio.h>

void bench_progress_print(FILE *out, struct bench_worker *workers, size_t count,
                          const struct bench_timing *timing);

#endif
