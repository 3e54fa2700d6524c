/* Failed requests and lost connections counted by what went wrong ("host: error text"), so a
 * run that failed says why on one line (main.c prints it on stderr), not only its first error.
 * Each worker keeps its own tally; the run merges them. No allocation. */
#ifndef CATENA_BENCH_ERROR_TALLY_H
#define CATENA_BENCH_ERROR_TALLY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define BENCH_ERROR_KINDS 8
#define BENCH_ERROR_TEXT_SIZE 200

struct bench_error_kind {
    char text[BENCH_ERROR_TEXT_SIZE];
    uint64_t count;
};

struct bench_error_tally {
    struct bench_error_kind kinds[BENCH_ERROR_KINDS]; /* in the order first seen */
    size_t kind_count;
    uint64_t others; /* failures of kinds beyond the first BENCH_ERROR_KINDS */
};

/* Counts count failures of kind text (cut to BENCH_ERROR_TEXT_SIZE - 1 bytes). */
void bench_error_tally_add(struct bench_error_tally *t, const char *text, uint64_t count);
void bench_error_tally_merge(struct bench_error_tally *into, const struct bench_error_tally *from);
uint64_t bench_error_tally_total(const struct bench_error_tally *t);
/* "3 x host: text; 1 x host: other text; 2 of other kinds", no newline; nothing when empty. */
void bench_error_tally_print(const struct bench_error_tally *t, FILE *out);

#endif
