/* catena-bench's one clock: CLOCK_MONOTONIC in nanoseconds, shared by every thread (request
 * send times, completion times, the phase boundaries) and by the open-loop timerfd. */
#ifndef CATENA_BENCH_CLOCK_H
#define CATENA_BENCH_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t bench_clock_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

#endif
