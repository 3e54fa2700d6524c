#include "bench/histogram.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#define HISTOGRAM_EXACT_LIMIT (2u << BENCH_HISTOGRAM_SUB_BITS) /* 256 */

/* Index of value: the value itself below 256; above, with s = (highest set bit) - 7, the
 * bucket (s << 7) + (value >> s), since value >> s lies in [128, 256). */
static size_t histogram_index(uint64_t value)
{
    if (value < HISTOGRAM_EXACT_LIMIT)
        return (size_t)value;
    unsigned shift = 63u - (unsigned)__builtin_clzll(value) - BENCH_HISTOGRAM_SUB_BITS;
    return ((size_t)shift << BENCH_HISTOGRAM_SUB_BITS) + (size_t)(value >> shift);
}

/* The middle of bucket index's range of values. */
static uint64_t histogram_bucket_middle(size_t index)
{
    if (index < HISTOGRAM_EXACT_LIMIT)
        return index;
    unsigned shift = (unsigned)(index >> BENCH_HISTOGRAM_SUB_BITS) - 1u;
    uint64_t mantissa = (index & ((1u << BENCH_HISTOGRAM_SUB_BITS) - 1u)) +
                        (1u << BENCH_HISTOGRAM_SUB_BITS);
    uint64_t low = mantissa << shift;
    return low + (((uint64_t)1 << shift) - 1u) / 2u;
}

void bench_histogram_init(struct bench_histogram *h)
{
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

void bench_histogram_record(struct bench_histogram *h, uint64_t value)
{
    size_t index = histogram_index(value);
    assert(index < BENCH_HISTOGRAM_BUCKETS);
    h->buckets[index]++;
    h->count++;
    h->sum += (double)value;
    if (value < h->min)
        h->min = value;
    if (value > h->max)
        h->max = value;
}

void bench_histogram_merge(struct bench_histogram *dst, const struct bench_histogram *src)
{
    if (src->count == 0)
        return;
    for (size_t i = 0; i < BENCH_HISTOGRAM_BUCKETS; i++)
        dst->buckets[i] += src->buckets[i];
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t bench_histogram_percentile(const struct bench_histogram *h, double percentile)
{
    if (h->count == 0)
        return 0;
    double wanted = ceil(percentile / 100.0 * (double)h->count);
    uint64_t rank = wanted < 1 ? 1 : wanted >= (double)h->count ? h->count : (uint64_t)wanted;
    if (rank == h->count)
        return h->max;
    uint64_t seen = 0;
    for (size_t i = 0; i < BENCH_HISTOGRAM_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            uint64_t value = histogram_bucket_middle(i);
            return value < h->min ? h->min : value > h->max ? h->max : value;
        }
    }
    return h->max;
}

double bench_histogram_mean(const struct bench_histogram *h)
{
    return h->count ? h->sum / (double)h->count : 0;
}
