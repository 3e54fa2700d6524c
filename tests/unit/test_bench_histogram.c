/* catena-bench's latency histogram: percentiles within the stated relative error of a sorted
 * array's, merging, the empty histogram, and the ends of the value range. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "bench/histogram.h"
#include "common/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The value at percentile p of sorted values, as the histogram defines it: the one at rank
 * ceil(p / 100 * n), ranks counted from 1. */
static uint64_t sorted_percentile(const uint64_t *sorted, size_t n, double p)
{
    double rank = ceil(p / 100.0 * (double)n);
    size_t r = rank < 1 ? 1 : rank > (double)n ? n : (size_t)rank;
    return sorted[r - 1];
}

static void assert_close(uint64_t got, uint64_t expected)
{
    double tolerance = (double)expected * BENCH_HISTOGRAM_RELATIVE_ERROR;
    if (fabs((double)got - (double)expected) > tolerance)
        fail_msg("got %llu, expected %llu within %.4f%%", (unsigned long long)got,
                 (unsigned long long)expected, BENCH_HISTOGRAM_RELATIVE_ERROR * 100);
}

static const double percentiles[] = {0, 0.1, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100};

/* Values spread over 40 powers of two (1 ns to 18 minutes), as latencies with long tails. */
static uint64_t *random_values(uint64_t seed, size_t n)
{
    struct rng rng;
    rng_seed(&rng, seed);
    uint64_t *values = malloc(n * sizeof *values);
    assert_non_null(values);
    for (size_t i = 0; i < n; i++)
        values[i] = rng_below(&rng, (uint64_t)1 << (1 + rng_below(&rng, 40)));
    return values;
}

static void percentiles_are_within_the_relative_error(void **state)
{
    (void)state;
    size_t n = 200000;
    uint64_t *values = random_values(7, n);
    static struct bench_histogram h;
    bench_histogram_init(&h);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        bench_histogram_record(&h, values[i]);
        sum += (double)values[i];
    }
    qsort(values, n, sizeof *values, compare_u64);
    for (size_t i = 0; i < sizeof percentiles / sizeof percentiles[0]; i++)
        assert_close(bench_histogram_percentile(&h, percentiles[i]),
                     sorted_percentile(values, n, percentiles[i]));
    assert_int_equal(h.count, n);
    assert_int_equal(h.min, values[0]);
    assert_int_equal(h.max, values[n - 1]);
    assert_int_equal(bench_histogram_percentile(&h, 100), values[n - 1]);
    assert_true(fabs(bench_histogram_mean(&h) - sum / (double)n) <= 1e-9 * sum / (double)n);
    free(values);
}

/* Every percentile of a few values, including the small ones kept exactly. */
static void small_sets_and_small_values_are_exact(void **state)
{
    (void)state;
    static struct bench_histogram h;
    bench_histogram_init(&h);
    uint64_t values[] = {3, 200, 255, 17, 0, 99};
    for (size_t i = 0; i < 6; i++)
        bench_histogram_record(&h, values[i]);
    qsort(values, 6, sizeof values[0], compare_u64);
    for (size_t i = 0; i < sizeof percentiles / sizeof percentiles[0]; i++)
        assert_int_equal(bench_histogram_percentile(&h, percentiles[i]),
                         sorted_percentile(values, 6, percentiles[i]));
}

static void merging_equals_recording_everything_in_one(void **state)
{
    (void)state;
    size_t n = 50000;
    uint64_t *a = random_values(1, n), *b = random_values(2, n);
    static struct bench_histogram ha, hb, both;
    bench_histogram_init(&ha);
    bench_histogram_init(&hb);
    bench_histogram_init(&both);
    for (size_t i = 0; i < n; i++) {
        bench_histogram_record(&ha, a[i]);
        bench_histogram_record(&hb, b[i] * 3); /* a different spread */
        bench_histogram_record(&both, a[i]);
        bench_histogram_record(&both, b[i] * 3);
    }
    bench_histogram_merge(&ha, &hb);
    assert_int_equal(ha.count, both.count);
    assert_int_equal(ha.min, both.min);
    assert_int_equal(ha.max, both.max);
    assert_memory_equal(ha.buckets, both.buckets, sizeof ha.buckets);
    for (size_t i = 0; i < sizeof percentiles / sizeof percentiles[0]; i++)
        assert_int_equal(bench_histogram_percentile(&ha, percentiles[i]),
                         bench_histogram_percentile(&both, percentiles[i]));
    free(a);
    free(b);
}

static void an_empty_histogram_reports_zero_and_merges_as_nothing(void **state)
{
    (void)state;
    static struct bench_histogram empty, h, copy;
    bench_histogram_init(&empty);
    assert_int_equal(empty.count, 0);
    assert_int_equal(bench_histogram_percentile(&empty, 50), 0);
    assert_int_equal(bench_histogram_percentile(&empty, 100), 0);
    assert_true(bench_histogram_mean(&empty) == 0);
    bench_histogram_init(&h);
    bench_histogram_record(&h, 1234567);
    copy = h;
    bench_histogram_merge(&h, &empty);
    assert_memory_equal(&h, &copy, sizeof h);
    bench_histogram_merge(&empty, &h);
    assert_int_equal(empty.count, 1);
    assert_int_equal(empty.min, 1234567);
    assert_int_equal(bench_histogram_percentile(&empty, 50), 1234567);
}

static void the_whole_64_bit_range_is_recorded(void **state)
{
    (void)state;
    static struct bench_histogram h;
    bench_histogram_init(&h);
    bench_histogram_record(&h, UINT64_MAX);
    bench_histogram_record(&h, (uint64_t)1 << 63);
    bench_histogram_record(&h, 0);
    assert_int_equal(h.count, 3);
    assert_int_equal(bench_histogram_percentile(&h, 100), UINT64_MAX);
    assert_int_equal(bench_histogram_percentile(&h, 10), 0);
    assert_close(bench_histogram_percentile(&h, 50), (uint64_t)1 << 63);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(percentiles_are_within_the_relative_error),
        cmocka_unit_test(small_sets_and_small_values_are_exact),
        cmocka_unit_test(merging_equals_recording_everything_in_one),
        cmocka_unit_test(an_empty_histogram_reports_zero_and_merges_as_nothing),
        cmocka_unit_test(the_whole_64_bit_range_is_recorded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
