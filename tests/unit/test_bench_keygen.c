/* catena-bench's key choice: zipfian ranks in range, with the theoretical frequency of the top
 * ranks; a seed repeats the sequence; uniform reaches every key; the key text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "bench/keygen.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void zipfian_ranks_and_keys_stay_in_range(void **state)
{
    (void)state;
    uint64_t sizes[] = {1, 2, 3, 10, 1000, 123457};
    struct rng rng;
    rng_seed(&rng, 11);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        struct bench_keygen g;
        assert_true(bench_keygen_init(&g, BENCH_ZIPFIAN, sizes[s], 0.99));
        for (int i = 0; i < 100000; i++) {
            assert_true(bench_keygen_rank(&g, &rng) < sizes[s]);
            assert_true(bench_keygen_next(&g, &rng) < sizes[s]);
        }
    }
}

/* Gray et al.'s generator gives rank 0 probability 1/zeta(n, theta) and rank 1
 * 0.5^theta/zeta exactly: over a million draws both frequencies are within 2% of that (the
 * standard deviation of the first is about 0.25%). */
static void top_ranks_have_their_theoretical_frequency(void **state)
{
    (void)state;
    const uint64_t keys = 1000, draws = 1000000;
    struct bench_keygen g;
    assert_true(bench_keygen_init(&g, BENCH_ZIPFIAN, keys, 0.99));
    double zeta = 0;
    for (uint64_t i = 1; i <= keys; i++)
        zeta += 1.0 / pow((double)i, 0.99);
    assert_true(fabs(bench_keygen_top_probability(&g) - 1.0 / zeta) < 1e-12);
    uint64_t *counts = calloc(keys, sizeof *counts);
    assert_non_null(counts);
    struct rng rng;
    rng_seed(&rng, 99);
    for (uint64_t i = 0; i < draws; i++)
        counts[bench_keygen_rank(&g, &rng)]++;
    double top = (double)counts[0] / (double)draws, second = (double)counts[1] / (double)draws;
    assert_true(fabs(top / (1.0 / zeta) - 1) < 0.02);
    assert_true(fabs(second / (pow(0.5, 0.99) / zeta) - 1) < 0.02);
    /* And the popularity falls with the rank: the first ten outweigh the last ten by far. */
    uint64_t head = 0, tail = 0;
    for (uint64_t i = 0; i < 10; i++) {
        head += counts[i];
        tail += counts[keys - 1 - i];
    }
    assert_true(head > 50 * tail);
    free(counts);
}

static void a_seed_repeats_the_sequence(void **state)
{
    (void)state;
    struct bench_keygen zipf, uniform;
    assert_true(bench_keygen_init(&zipf, BENCH_ZIPFIAN, 100000, 0.99));
    assert_true(bench_keygen_init(&uniform, BENCH_UNIFORM, 100000, 0));
    struct rng a, b, c;
    rng_seed(&a, 42);
    rng_seed(&b, 42);
    rng_seed(&c, 43);
    int differences = 0;
    for (int i = 0; i < 10000; i++) {
        const struct bench_keygen *g = i % 2 ? &zipf : &uniform;
        uint64_t x = bench_keygen_next(g, &a);
        assert_int_equal(x, bench_keygen_next(g, &b));
        differences += x != bench_keygen_next(g, &c);
    }
    assert_true(differences > 5000);
}

static void uniform_reaches_every_key(void **state)
{
    (void)state;
    const uint64_t keys = 1000;
    struct bench_keygen g;
    assert_true(bench_keygen_init(&g, BENCH_UNIFORM, keys, 0));
    bool seen[1000] = {false};
    struct rng rng;
    rng_seed(&rng, 5);
    /* 30 draws per key: missing one has probability below 1000 * e^-30. */
    for (int i = 0; i < 30000; i++) {
        uint64_t k = bench_keygen_next(&g, &rng);
        assert_true(k < keys);
        seen[k] = true;
    }
    for (uint64_t k = 0; k < keys; k++)
        assert_true(seen[k]);
}

/* The hot ranks land on scattered keys, not on key 0, 1, 2... */
static void zipfian_hot_keys_are_scrambled(void **state)
{
    (void)state;
    struct bench_keygen g;
    assert_true(bench_keygen_init(&g, BENCH_ZIPFIAN, 1000000, 0.99));
    struct rng rng;
    rng_seed(&rng, 3);
    uint64_t below_thousand = 0;
    for (int i = 0; i < 100000; i++)
        below_thousand += bench_keygen_next(&g, &rng) < 1000;
    /* Unscrambled, ranks below 1000 take about half the draws; scrambled, about 0.1%. */
    assert_true(below_thousand < 2000);
}

static void bad_parameters_are_refused(void **state)
{
    (void)state;
    struct bench_keygen g;
    assert_false(bench_keygen_init(&g, BENCH_UNIFORM, 0, 0));
    assert_false(bench_keygen_init(&g, BENCH_ZIPFIAN, 10, 0));
    assert_false(bench_keygen_init(&g, BENCH_ZIPFIAN, 10, 1));
    assert_false(bench_keygen_init(&g, BENCH_ZIPFIAN, 10, NAN));
}

static void keys_are_formatted_with_twelve_digits(void **state)
{
    (void)state;
    char key[BENCH_KEY_SIZE];
    assert_int_equal(bench_keygen_format(42, key), 16);
    assert_string_equal(key, "key:000000000042");
    assert_int_equal(bench_keygen_format(999999999999, key), 16);
    assert_string_equal(key, "key:999999999999");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(zipfian_ranks_and_keys_stay_in_range),
        cmocka_unit_test(top_ranks_have_their_theoretical_frequency),
        cmocka_unit_test(a_seed_repeats_the_sequence),
        cmocka_unit_test(uniform_reaches_every_key),
        cmocka_unit_test(zipfian_hot_keys_are_scrambled),
        cmocka_unit_test(bad_parameters_are_refused),
        cmocka_unit_test(keys_are_formatted_with_twelve_digits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
