/* A group's ops in the model's terms: key slots and interned value ids instead of strings. */
#include "check/internal.h"

#include "common/strint.h"

#include <stdlib.h>
#include <string.h>

static size_t words_needed(const struct op *op)
{
    size_t n = op->nkeys; /* slots */
    if (op->args)
        n += op->nkeys;
    if (op->outcome == OUTCOME_OK && (op->type == OP_GET || op->type == OP_MGET))
        n += op->nkeys;
    return n;
}

static void compile_op(struct cop *c, uint32_t **arena, struct model *m, const struct op *op,
                       uint32_t index, const struct partition *p)
{
    *c = (struct cop){
        .index = index,
        .type = op->type,
        .ok = op->outcome == OUTCOME_OK,
        .nkeys = op->nkeys,
        .call = op->invoke_time,
        .ret = op->outcome == OUTCOME_OK ? op->complete_time : UINT64_MAX,
    };
    bool counts = op->type == OP_INCR || op->type == OP_APPEND || op->type == OP_DEL;
    if (c->ok && counts)
        c->integer = op->integer;
    c->slots = *arena;
    *arena += op->nkeys;
    for (uint32_t i = 0; i < op->nkeys; i++)
        c->slots[i] = p->slot_of[partition_key(p, op->keys[i])];
    if (op->args) {
        c->args = *arena;
        *arena += op->nkeys;
        for (uint32_t i = 0; i < op->nkeys; i++)
            c->args[i] = model_value(m, op->args[i]);
    }
    if (c->ok && (op->type == OP_GET || op->type == OP_MGET)) {
        c->want = *arena;
        *arena += op->nkeys;
        for (uint32_t i = 0; i < op->nkeys; i++)
            c->want[i] = model_value(m, op->values ? op->values[i] : NULL);
    }
    if (c->ok && op->type == OP_INCR) {
        char digits[STRINT_MAX_LEN + 1];
        digits[strint_format(op->integer, digits)] = '\0';
        c->incr_to = model_value(m, digits);
    }
}

/* Numbers the op's twin class: everything but its client and times. */
static uint32_t twin_class(struct strtab *twins, struct buf *b, const struct cop *c)
{
    buf_clear(b);
    uint32_t head[3] = {c->type, c->ok, c->nkeys};
    buf_append(b, head, sizeof head);
    buf_append(b, &c->integer, sizeof c->integer);
    buf_append(b, c->slots, c->nkeys * sizeof *c->slots);
    if (c->args)
        buf_append(b, c->args, c->nkeys * sizeof *c->args);
    if (c->want)
        buf_append(b, c->want, c->nkeys * sizeof *c->want);
    if (c->type == OP_INCR)
        buf_append(b, &c->incr_to, sizeof c->incr_to);
    return strtab_intern(twins, (const char *)b->data, b->len);
}

void compile_group(struct compiled *c, struct model *m, const struct history *h,
                   const struct partition *p, const struct group *g)
{
    *c = (struct compiled){.nops = g->nops};
    size_t words = 0;
    for (size_t i = 0; i < g->nops; i++)
        words += words_needed(&h->ops[g->ops[i]]);
    c->arena = ck_malloc(words * sizeof *c->arena);
    c->ops = ck_malloc(g->nops * sizeof *c->ops);
    uint32_t *next = c->arena;
    struct strtab twins;
    strtab_init(&twins);
    struct buf key;
    buf_init(&key);
    for (size_t i = 0; i < g->nops; i++) {
        compile_op(&c->ops[i], &next, m, &h->ops[g->ops[i]], g->ops[i], p);
        c->ops[i].twin = twin_class(&twins, &key, &c->ops[i]);
        if (c->ops[i].ok)
            c->nok++;
        else
            c->nunknown++;
    }
    buf_free(&key);
    strtab_free(&twins);
}

void compiled_free(struct compiled *c)
{
    free(c->ops);
    free(c->arena);
    *c = (struct compiled){0};
}
