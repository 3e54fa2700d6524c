#include "bench/keygen.h"

#include <math.h>
#include <stdio.h>
#include <xxhash.h>

static double keygen_zeta(uint64_t n, double theta)
{
    double sum = 0;
    for (uint64_t i = 1; i <= n; i++)
        sum += 1.0 / pow((double)i, theta);
    return sum;
}

bool bench_keygen_init(struct bench_keygen *g, enum bench_distribution distribution,
                       uint64_t keys, double theta)
{
    *g = (struct bench_keygen){.distribution = distribution, .keys = keys, .theta = theta};
    if (keys == 0)
        return false;
    if (distribution == BENCH_UNIFORM)
        return true;
    if (!(theta > 0 && theta < 1))
        return false;
    g->zeta_keys = keygen_zeta(keys, theta);
    g->alpha = 1.0 / (1.0 - theta);
    double zeta_two = keygen_zeta(2, theta);
    g->eta = (1.0 - pow(2.0 / (double)keys, 1.0 - theta)) / (1.0 - zeta_two / g->zeta_keys);
    g->second_rank_threshold = 1.0 + pow(0.5, theta);
    return true;
}

uint64_t bench_keygen_rank(const struct bench_keygen *g, struct rng *rng)
{
    if (g->distribution == BENCH_UNIFORM)
        return rng_below(rng, g->keys);
    double u = bench_keygen_unit(rng);
    double scaled = u * g->zeta_keys;
    /* The first two ranks exactly (probabilities 1/zeta and 0.5^theta/zeta), the rest from
     * the continuous approximation of the inverse distribution. */
    if (scaled < 1.0)
        return 0;
    if (scaled < g->second_rank_threshold)
        return g->keys > 1 ? 1 : 0;
    double rank = (double)g->keys * pow(g->eta * u - g->eta + 1.0, g->alpha);
    if (!(rank >= 0))
        return 0;
    uint64_t r = (uint64_t)rank;
    return r < g->keys ? r : g->keys - 1;
}

uint64_t bench_keygen_next(const struct bench_keygen *g, struct rng *rng)
{
    uint64_t rank = bench_keygen_rank(g, rng);
    if (g->distribution == BENCH_UNIFORM)
        return rank;
    return XXH64(&rank, sizeof rank, 0) % g->keys;
}

double bench_keygen_top_probability(const struct bench_keygen *g)
{
    return g->distribution == BENCH_ZIPFIAN ? 1.0 / g->zeta_keys : 1.0 / (double)g->keys;
}

size_t bench_keygen_format(uint64_t index, char *key)
{
    int n = snprintf(key, BENCH_KEY_SIZE, "key:%012llu", (unsigned long long)index);
    return n > 0 ? (size_t)n : 0;
}
