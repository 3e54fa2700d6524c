/* A small seeded pseudo-random generator for catena-bench (splitmix64): every draw of keys,
 * operation kinds and value bytes comes from one of these, so a --seed reproduces a run's
 * request sequence. Not thread-safe: each worker thread owns its own, seeded from --seed and
 * the thread's index. */
#ifndef CATENA_BENCH_RNG_H
#define CATENA_BENCH_RNG_H

#include <stdint.h>

struct bench_rng {
    uint64_t state;
};

/* Seeds the generator; stream picks one of several independent sequences per seed (a worker
 * thread's index), so threads never draw the same numbers. */
void bench_rng_seed(struct bench_rng *rng, uint64_t seed, uint64_t stream);
uint64_t bench_rng_next(struct bench_rng *rng);
/* Uniform in [0, 1), with 53 random bits. */
double bench_rng_unit(struct bench_rng *rng);
/* Uniform in [0, bound) for bound > 0 (multiply-shift: bias below 2^-64 per draw). */
uint64_t bench_rng_below(struct bench_rng *rng, uint64_t bound);

#endif
