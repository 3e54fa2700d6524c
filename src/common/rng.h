/* Seeded pseudo-random generator (xoshiro256**, seeded by splitmix64). Engines own one each,
 * seeded by their caller, so the simulator replays every run from its seed. */
#ifndef CATENA_COMMON_RNG_H
#define CATENA_COMMON_RNG_H

#include <stdint.h>

struct rng {
    uint64_t s[4];
};

void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
/* Uniform in [0, bound) for bound > 0. */
uint64_t rng_below(struct rng *r, uint64_t bound);

#endif
