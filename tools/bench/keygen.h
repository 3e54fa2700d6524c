/* Which key each request names: uniform over --keys, or zipfian (YCSB's generator, from Gray
 * et al., "Quickly generating billion-record synthetic databases", SIGMOD 1994) with the ranks
 * scrambled by a hash so that the hot keys are spread over the key space instead of being
 * key:000000000000, key:000000000001, ... A keygen is read-only once initialised: worker
 * threads share one, each drawing with its own generator (common/rng, seeded from --seed). */
#ifndef CATENA_BENCH_KEYGEN_H
#define CATENA_BENCH_KEYGEN_H

#include "common/rng.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum bench_distribution { BENCH_UNIFORM, BENCH_ZIPFIAN };

struct bench_keygen {
    enum bench_distribution distribution;
    uint64_t keys;
    /* Zipfian only: the constants of Gray et al.'s generator for (keys, theta). */
    double theta;
    double zeta_keys; /* sum of 1 / i^theta for i = 1..keys */
    double alpha;     /* 1 / (1 - theta) */
    double eta;
    double second_rank_threshold; /* 1 + 0.5^theta */
};

/* keys >= 1; for BENCH_ZIPFIAN 0 < theta < 1. Takes time linear in keys for zipfian (computing
 * zeta: about 10 ms per million keys). False on invalid arguments. */
bool bench_keygen_init(struct bench_keygen *g, enum bench_distribution distribution,
                       uint64_t keys, double theta);
/* A popularity rank in [0, keys): rank 0 is the most frequent (zipfian) or any (uniform). */
uint64_t bench_keygen_rank(const struct bench_keygen *g, struct rng *rng);
/* The key index a request uses, in [0, keys): the rank itself for uniform, the rank scrambled
 * by a hash for zipfian (distinct ranks may share an index, as in YCSB). */
uint64_t bench_keygen_next(const struct bench_keygen *g, struct rng *rng);
/* Probability of rank 0 under zipfian (1 / zeta), for tests and reports. */
double bench_keygen_top_probability(const struct bench_keygen *g);
/* Writes "key:%012llu" with NUL into key (at least BENCH_KEY_SIZE bytes); returns its length. */
#define BENCH_KEY_SIZE 32
size_t bench_keygen_format(uint64_t index, char *key);
/* Uniform in [0, 1) with 53 random bits: the zipfian draw, and the read-or-write draw. */
static inline double bench_keygen_unit(struct rng *rng)
{
    return (double)(rng_next(rng) >> 11) * 0x1.0p-53;
}

#endif
