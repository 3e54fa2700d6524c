#include "bench/rng.h"

/* splitmix64's output function: a bijective mix of 64 bits. */
static uint64_t rng_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void bench_rng_seed(struct bench_rng *rng, uint64_t seed, uint64_t stream)
{
    rng->state = rng_mix(seed) ^ rng_mix(stream + 0x9e3779b97f4a7c15ull);
}

uint64_t bench_rng_next(struct bench_rng *rng)
{
    rng->state += 0x9e3779b97f4a7c15ull;
    return rng_mix(rng->state);
}

double bench_rng_unit(struct bench_rng *rng)
{
    return (double)(bench_rng_next(rng) >> 11) * 0x1.0p-53;
}

uint64_t bench_rng_below(struct bench_rng *rng, uint64_t bound)
{
    return (uint64_t)(((unsigned __int128)bench_rng_next(rng) * bound) >> 64);
}
