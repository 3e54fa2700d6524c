/* A history in memory: ops recorded at invocation, completed later. Every key and value is
 * copied, so callers keep ownership of theirs. */
#include "check/history.h"

#include "check/internal.h"
#include "common/check.h"

#include <stdlib.h>
#include <string.h>

void history_init(struct history *h) { *h = (struct history){0}; }

static void free_strings(char **strings, uint32_t n)
{
    if (!strings)
        return;
    for (uint32_t i = 0; i < n; i++)
        free(strings[i]);
    free(strings);
}

void history_free(struct history *h)
{
    for (size_t i = 0; i < h->count; i++) {
        struct op *op = &h->ops[i];
        free_strings(op->keys, op->nkeys);
        free_strings(op->args, op->nkeys);
        free_strings(op->values, op->nkeys);
    }
    free(h->ops);
    *h = (struct history){0};
}

/* Copies n strings; NULL entries (nil values) stay NULL. */
static char **copy_strings(const char *const *strings, uint32_t n)
{
    char **copy = ck_calloc(n, sizeof *copy);
    for (uint32_t i = 0; i < n; i++)
        copy[i] = strings[i] ? ck_strdup(strings[i]) : NULL;
    return copy;
}

size_t history_invoke(struct history *h, uint32_t client, uint64_t time, enum op_type type,
                      uint32_t nkeys, const char *const *keys, const char *const *args)
{
    CHECK(type >= OP_GET && type <= OP_MGET);
    CHECK(nkeys >= 1);
    CHECK(nkeys == 1 || type == OP_DEL || type == OP_MSET || type == OP_MGET);
    CHECK(time != UINT64_MAX);
    CHECK(ck_op_takes_args(type) == (args != NULL));
    for (uint32_t i = 0; i < nkeys; i++)
        CHECK(keys[i] != NULL && (!args || args[i] != NULL));
    ck_grow(&h->ops, &h->cap, h->count + 1, sizeof *h->ops);
    struct op *op = &h->ops[h->count];
    *op = (struct op){
        .client = client,
        .type = type,
        .outcome = OUTCOME_PENDING,
        .invoke_time = time,
        .complete_time = UINT64_MAX,
        .nkeys = nkeys,
        .keys = copy_strings(keys, nkeys),
        .args = args ? copy_strings(args, nkeys) : NULL,
    };
    return h->count++;
}

void history_complete(struct history *h, size_t index, uint64_t time, enum op_outcome outcome,
                      int64_t integer, const char *const *values)
{
    CHECK(index < h->count);
    struct op *op = &h->ops[index];
    CHECK(op->outcome == OUTCOME_PENDING);
    CHECK(outcome == OUTCOME_OK || outcome == OUTCOME_FAIL || outcome == OUTCOME_UNKNOWN);
    op->outcome = outcome;
    if (outcome == OUTCOME_UNKNOWN)
        return;
    CHECK(time >= op->invoke_time && time != UINT64_MAX);
    op->complete_time = time;
    if (outcome != OUTCOME_OK)
        return;
    if (op->type == OP_INCR || op->type == OP_APPEND || op->type == OP_DEL)
        op->integer = integer;
    if (op->type == OP_GET || op->type == OP_MGET) {
        op->values = ck_calloc(op->nkeys, sizeof *op->values);
        for (uint32_t i = 0; values && i < op->nkeys; i++)
            op->values[i] = values[i] ? ck_strdup(values[i]) : NULL;
    }
}
