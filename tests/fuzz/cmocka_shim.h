/* The few cmocka assertions tests/unit/chainpaxos_harness.h uses, for fuzz targets that drive
 * the harness without cmocka: a failed one prints where and aborts, which libFuzzer records as
 * a crash. Include it instead of <cmocka.h>, before the harness. */
#ifndef CATENA_TESTS_FUZZ_CMOCKA_SHIM_H
#define CATENA_TESTS_FUZZ_CMOCKA_SHIM_H

#include <stdio.h>
#include <stdlib.h>

#define shim_fail(...)                                                                          \
    do {                                                                                        \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                         \
        fprintf(stderr, __VA_ARGS__);                                                           \
        fprintf(stderr, "\n");                                                                  \
        abort();                                                                                \
    } while (0)

#define fail_msg(...) shim_fail(__VA_ARGS__)
#define assert_true(c)                                                                          \
    do {                                                                                        \
        if (!(c))                                                                               \
            shim_fail("assertion failed: %s", #c);                                              \
    } while (0)
#define assert_false(c) assert_true(!(c))
#define assert_non_null(p) assert_true((p) != NULL)
#define assert_int_equal(a, b)                                                                  \
    do {                                                                                        \
        unsigned long long shim_a = (unsigned long long)(a), shim_b = (unsigned long long)(b); \
        if (shim_a != shim_b)                                                                   \
            shim_fail("%s == %llu, expected %llu", #a, shim_a, shim_b);                         \
    } while (0)

#endif
