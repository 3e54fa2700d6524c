/* Linearizability checking of a key-value history (Wing & Gong with Lowe's memoisation, as in
 * Porcupine and Knossos), partitioned into independent groups of keys: keys that some
 * multi-key operation (MSET, MGET, DEL) touches together are checked together, so atomicity
 * across keys is checked too. Operations with an unknown outcome may take effect at any point
 * after their invocation, or never. */
#ifndef CATENA_CHECK_CHECK_H
#define CATENA_CHECK_CHECK_H

#include "check/history.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct check_limits {
    uint64_t max_states; /* search budget per key group (0: default 10 million) */
};

enum check_verdict { CHECK_LINEARIZABLE, CHECK_NOT_LINEARIZABLE, CHECK_GAVE_UP };

struct check_result {
    enum check_verdict verdict;
    size_t groups;        /* key groups checked */
    uint64_t states;      /* search states explored in total */
    /* For CHECK_NOT_LINEARIZABLE: a readable report of the smallest failing key group's
     * operations (time order), malloc'd; NULL otherwise. */
    char *report;
};

void check_history(const struct history *h, const struct check_limits *limits,
                   struct check_result *result);
void check_result_free(struct check_result *r);

#endif
