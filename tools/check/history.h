/* A history of client operations on the key-value store, as recorded by the simulator (or any
 * client) and checked for linearizability by check.h. The text format read and written here is
 * documented in tools/check/README.md.
 *
 * Ownership: a history owns copies of every key and value given to it. */
#ifndef CATENA_CHECK_HISTORY_H
#define CATENA_CHECK_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum op_type {
    OP_GET,    /* keys[0] -> result.values[0] (NULL: nil) */
    OP_SET,    /* keys[0] := args[0] -> OK */
    OP_INCR,   /* keys[0] += 1 -> result.integer (fails on a non-integer value) */
    OP_APPEND, /* keys[0] .= args[0] -> result.integer (new length) */
    OP_DEL,    /* delete keys[0..nkeys) -> result.integer (how many existed) */
    OP_MSET,   /* keys[i] := args[i] for every i, atomically -> OK */
    OP_MGET,   /* keys[i] -> result.values[i] */
};

enum op_outcome {
    OUTCOME_PENDING, /* invoked, no completion recorded yet */
    OUTCOME_OK,      /* completed with the result below */
    OUTCOME_FAIL,    /* completed with an error that proves it did not take effect */
    OUTCOME_UNKNOWN, /* timed out or the connection broke: it may or may not have taken effect */
};

struct op {
    uint32_t client;
    enum op_type type;
    enum op_outcome outcome;
    uint64_t invoke_time;   /* any monotonic unit (the simulator uses virtual microseconds) */
    uint64_t complete_time; /* UINT64_MAX while pending or unknown */
    uint32_t nkeys;
    char **keys;
    char **args;    /* SET, APPEND, MSET: one per key; NULL otherwise */
    int64_t integer; /* INCR, APPEND, DEL results */
    char **values;   /* GET, MGET results: one per key, NULL entries for nil */
};

struct history {
    struct op *ops;
    size_t count;
    size_t cap;
};

void history_init(struct history *h);
void history_free(struct history *h);
/* Records an invocation and returns its index. args is NULL for GET, INCR, DEL, MGET. */
size_t history_invoke(struct history *h, uint32_t client, uint64_t time, enum op_type type,
                      uint32_t nkeys, const char *const *keys, const char *const *args);
/* Records a completion: OK with integer and/or values (values[i] NULL for nil; values may be
 * NULL when the op returns none), FAIL, or UNKNOWN (time is ignored then). */
void history_complete(struct history *h, size_t index, uint64_t time, enum op_outcome outcome,
                      int64_t integer, const char *const *values);

/* Text format: write, and read back (false with a message naming the line on bad input).
 * history_write also fails when a client's completions are not in the order of its
 * invocations (the format cannot express that). history_read appends to h, which must have
 * been initialized; on failure h keeps what was read before the bad line. */
bool history_write(FILE *out, const struct history *h);
bool history_read(FILE *in, struct history *h, char *err, size_t err_size);

#endif
