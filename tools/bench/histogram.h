/* A log-bucketed latency histogram in the manner of HdrHistogram: values below 256 are kept
 * exactly, larger ones in buckets 1/128 of their power of two wide, so a reported percentile is
 * within 1/256 (0.4%) of the recorded value at that rank, over the whole 64-bit range. Fixed
 * size (58 KB), no allocation; recording is a few instructions. One histogram belongs to one
 * thread; bench_histogram_merge adds threads' histograms together. */
#ifndef CATENA_BENCH_HISTOGRAM_H
#define CATENA_BENCH_HISTOGRAM_H

#include <stdint.h>

#define BENCH_HISTOGRAM_SUB_BITS 7 /* 128 buckets per power of two */
/* Values 0..255 one bucket each, then 128 buckets for each power of two from 2^8 to 2^63. */
#define BENCH_HISTOGRAM_BUCKETS ((64 - BENCH_HISTOGRAM_SUB_BITS + 1) << BENCH_HISTOGRAM_SUB_BITS)
/* The bound on |reported - recorded| / recorded for percentiles. */
#define BENCH_HISTOGRAM_RELATIVE_ERROR (1.0 / 256)

struct bench_histogram {
    uint64_t count;
    uint64_t min; /* UINT64_MAX while empty */
    uint64_t max;
    double sum; /* for the mean */
    uint64_t buckets[BENCH_HISTOGRAM_BUCKETS];
};

void bench_histogram_init(struct bench_histogram *h);
void bench_histogram_record(struct bench_histogram *h, uint64_t value);
/* Adds every value recorded in src to dst. */
void bench_histogram_merge(struct bench_histogram *dst, const struct bench_histogram *src);
/* The value at percentile (0..100) of the recorded values, within the relative error above
 * (exact for the minimum and the maximum); 0 for an empty histogram. */
uint64_t bench_histogram_percentile(const struct bench_histogram *h, double percentile);
/* The exact mean; 0 for an empty histogram. */
double bench_histogram_mean(const struct bench_histogram *h);

#endif
