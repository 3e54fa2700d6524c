/* The failed-check report shared by the fuzz targets: a message naming the target and the
 * check, then abort(), which libFuzzer records as a crash and saves the input for. */
#ifndef CATENA_TESTS_FUZZ_CHECK_H
#define CATENA_TESTS_FUZZ_CHECK_H

#include "common/buf.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                                        \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond);      \
            abort();                                                                            \
        }                                                                                       \
    } while (0)

/* Same bytes (memcmp must not see the NULL of an empty buffer). */
static inline bool fuzz_bufs_equal(const struct buf *a, const struct buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

#endif
