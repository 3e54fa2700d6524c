/* The report of a group that is not linearizable: its keys, a one-line account of the longest
 * linearizable prefix the search found and of the op it could not place, then the ops in
 * invocation order (around the failure, for a long group), one per line. */
#include "check/internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define REPORT_ALL_OPS 200  /* groups up to this many ops are listed in full */
#define REPORT_CONTEXT 20   /* otherwise: this many ops before the first unplaced op and after */
#define REPORT_MAX_LINES 300

void report_op(struct buf *b, const struct op *op, int client_width, int time_width)
{
    bool done = op->outcome == OUTCOME_OK || op->outcome == OUTCOME_FAIL;
    ck_bprintf(b, "client %*" PRIu32 "  [%*" PRIu64 " .. ", client_width, op->client, time_width,
               op->invoke_time);
    if (done)
        ck_bprintf(b, "%*" PRIu64 "]  ", time_width, op->complete_time);
    else
        ck_bprintf(b, "%*s]  ", time_width, "?");
    optext_call(b, op);
    buf_append_str(b, " -> ");
    if (op->outcome == OUTCOME_FAIL)
        buf_append_str(b, "error");
    else if (!done)
        buf_append_str(b, "?");
    else if (op->type == OP_SET || op->type == OP_MSET)
        buf_append_str(b, "OK");
    else
        optext_result(b, op);
}

static int digits(uint64_t v)
{
    int n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

static bool placed(const struct compiled *c, const struct search_result *r, const uint32_t *bit,
                   size_t i)
{
    const uint64_t *set = c->ops[i].ok ? r->best_ok : r->best_unknown;
    return set[bit[i] / 64] >> (bit[i] % 64) & 1;
}

static void report_header(struct buf *b, const struct partition *p, const struct group *g,
                          const struct compiled *c)
{
    buf_append_str(b, "not linearizable: key group {");
    for (size_t k = 0; k < g->nkeys && k < 8; k++) {
        if (k)
            buf_append_str(b, ", ");
        quote_append(b, p->keys.entries[g->keys[k]].s);
    }
    if (g->nkeys > 8)
        ck_bprintf(b, ", ... %zu keys in all", g->nkeys);
    ck_bprintf(b, "}: %zu ops (%zu completed, %zu unknown)\n", c->nops, c->nok, c->nunknown);
}

/* "longest linearizable prefix: ...; then <op> could not be placed before it returned" */
static void report_prefix(struct buf *b, const struct history *h, const struct partition *p,
                          const struct group *g, const struct compiled *c, const struct model *m,
                          const struct search_result *r, size_t unknown_placed)
{
    ck_bprintf(b, "longest linearizable prefix: %zu of %zu completed ops", r->best_placed,
               c->nok);
    if (c->nunknown)
        ck_bprintf(b, " and %zu of %zu unknown ones", unknown_placed, c->nunknown);
    buf_append_str(b, ", leaving");
    for (size_t k = 0; k < g->nkeys && k < 8; k++) {
        buf_append(b, " ", 1);
        quote_append(b, p->keys.entries[g->keys[k]].s);
        buf_append(b, "=", 1);
        quote_append_value(b, model_string(m, r->best_state[k]));
    }
    if (g->nkeys > 8)
        buf_append_str(b, " ...");
    const struct op *blocked = &h->ops[c->ops[r->blocked].index];
    ck_bprintf(b, "; then client %" PRIu32 "'s ", blocked->client);
    optext_call(b, blocked);
    buf_append_str(b, " -> ");
    if (blocked->type == OP_SET || blocked->type == OP_MSET)
        buf_append_str(b, "OK");
    else
        optext_result(b, blocked);
    ck_bprintf(b, " [%" PRIu64 " .. %" PRIu64 "] could not be placed before it returned\n",
               blocked->invoke_time, blocked->complete_time);
}

/* The ops to list: all of a short group, else a window around the failure. */
static void listed_range(const struct compiled *c, const struct search_result *r,
                         const uint32_t *bit, size_t *from, size_t *to)
{
    *from = 0;
    *to = c->nops;
    if (c->nops <= REPORT_ALL_OPS)
        return;
    if (r->blocked == UINT32_MAX) { /* no failure point recorded: the first ops */
        *to = REPORT_MAX_LINES;
        return;
    }
    size_t first = r->blocked;
    for (size_t i = 0; i < r->blocked; i++) {
        if (c->ops[i].ok && !placed(c, r, bit, i)) {
            first = i;
            break;
        }
    }
    *from = first > REPORT_CONTEXT ? first - REPORT_CONTEXT : 0;
    *to = r->blocked + REPORT_CONTEXT + 1 < c->nops ? r->blocked + REPORT_CONTEXT + 1 : c->nops;
    if (*to - *from > REPORT_MAX_LINES)
        *from = *to - REPORT_MAX_LINES;
}

static void report_ops(struct buf *b, const struct history *h, const struct compiled *c,
                       const struct search_result *r, const uint32_t *bit)
{
    size_t from, to;
    listed_range(c, r, bit, &from, &to);
    uint64_t max_time = 0, max_client = 0;
    for (size_t i = from; i < to; i++) {
        const struct op *op = &h->ops[c->ops[i].index];
        max_time = op->invoke_time > max_time ? op->invoke_time : max_time;
        if (op->outcome == OUTCOME_OK && op->complete_time > max_time)
            max_time = op->complete_time;
        max_client = op->client > max_client ? op->client : max_client;
    }
    if (r->blocked != UINT32_MAX)
        buf_append_str(b, "ops by invocation (+ in that prefix, ! could not be placed):\n");
    else
        buf_append_str(b, "ops by invocation:\n");
    if (from > 0)
        ck_bprintf(b, "  ... %zu earlier ops not shown\n", from);
    for (size_t i = from; i < to; i++) {
        buf_append_str(b, i == r->blocked ? "! " : placed(c, r, bit, i) ? "+ " : "  ");
        report_op(b, &h->ops[c->ops[i].index], digits(max_client), digits(max_time));
        buf_append(b, "\n", 1);
    }
    if (to < c->nops)
        ck_bprintf(b, "  ... %zu later ops not shown\n", c->nops - to);
}

char *report_failure(const struct history *h, const struct partition *p, const struct group *g,
                     const struct compiled *c, const struct model *m,
                     const struct search_result *r)
{
    uint32_t *bit = ck_malloc((c->nops ? c->nops : 1) * sizeof *bit);
    size_t nok = 0, nunknown = 0, unknown_placed = 0;
    for (size_t i = 0; i < c->nops; i++)
        bit[i] = (uint32_t)(c->ops[i].ok ? nok++ : nunknown++);
    for (size_t i = 0; i < c->nops; i++)
        unknown_placed += !c->ops[i].ok && placed(c, r, bit, i);
    struct buf b;
    buf_init(&b);
    report_header(&b, p, g, c);
    if (r->blocked != UINT32_MAX)
        report_prefix(&b, h, p, g, c, m, r, unknown_placed);
    if (r->dead_slot != UINT32_MAX) {
        buf_append_str(&b, "the ops on ");
        quote_append(&b, p->keys.entries[g->keys[r->dead_slot]].s);
        buf_append_str(&b, " alone already cannot be linearized\n");
    }
    report_ops(&b, h, c, r, bit);
    free(bit);
    ck_cstr(&b);
    return (char *)b.data;
}
