/* Key groups: a union-find over keys joins the keys of every multi-key op, so each group can
 * be checked on its own and an MSET or MGET is still checked as one atomic step. */
#include "check/internal.h"

#include "common/check.h"

#include <stdlib.h>
#include <string.h>

bool op_checked(const struct op *op)
{
    if (op->outcome == OUTCOME_FAIL)
        return false; /* it did not take effect */
    if (op->outcome == OUTCOME_OK)
        return true;
    return op->type != OP_GET && op->type != OP_MGET; /* a read without a result: no effect */
}

static uint32_t find_root(uint32_t *parent, uint32_t x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

/* Interns every key of the checked ops and joins the keys of each op; returns the parents. */
static uint32_t *union_keys(struct partition *p, const struct history *h)
{
    uint32_t *parent = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < h->count; i++) {
        const struct op *op = &h->ops[i];
        if (!op_checked(op))
            continue;
        uint32_t first = 0;
        for (uint32_t k = 0; k < op->nkeys; k++) {
            uint32_t id = strtab_intern(&p->keys, op->keys[k], strlen(op->keys[k]));
            if (id >= cap) {
                size_t old = cap;
                ck_grow(&parent, &cap, (size_t)id + 1, sizeof *parent);
                for (size_t j = old; j < cap; j++)
                    parent[j] = (uint32_t)j;
            }
            if (k == 0)
                first = id;
            else
                parent[find_root(parent, id)] = find_root(parent, first);
        }
    }
    return parent;
}

struct timed_op {
    uint64_t time;
    uint32_t index;
};

static int timed_op_cmp(const void *pa, const void *pb)
{
    const struct timed_op *a = pa, *b = pb;
    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* The checked ops, by invocation time (then index). */
static struct timed_op *ops_by_time(const struct history *h, size_t *count)
{
    struct timed_op *ops = ck_malloc(h->count * sizeof *ops);
    size_t n = 0;
    for (size_t i = 0; i < h->count; i++)
        if (op_checked(&h->ops[i]))
            ops[n++] = (struct timed_op){h->ops[i].invoke_time, (uint32_t)i};
    qsort(ops, n, sizeof *ops, timed_op_cmp);
    *count = n;
    return ops;
}

/* Numbers the groups (roots, by key id) and gives each key its slot in its group. */
static uint32_t *number_groups(struct partition *p, uint32_t *parent)
{
    size_t nkeys = p->keys.count;
    uint32_t *group_of = ck_malloc((nkeys ? nkeys : 1) * sizeof *group_of);
    size_t groups_cap = 0;
    for (size_t k = 0; k < nkeys; k++)
        group_of[k] = UINT32_MAX;
    p->slot_of = ck_malloc((nkeys ? nkeys : 1) * sizeof *p->slot_of);
    for (size_t k = 0; k < nkeys; k++) {
        uint32_t root = find_root(parent, (uint32_t)k);
        if (group_of[root] == UINT32_MAX) {
            ck_grow(&p->groups, &groups_cap, p->ngroups + 1, sizeof *p->groups);
            p->groups[p->ngroups] = (struct group){0};
            group_of[root] = (uint32_t)p->ngroups++;
        }
        group_of[k] = group_of[root];
        struct group *g = &p->groups[group_of[k]];
        size_t cap = g->nkeys; /* exact growth: keys are few */
        ck_grow(&g->keys, &cap, g->nkeys + 1, sizeof *g->keys);
        p->slot_of[k] = (uint32_t)g->nkeys;
        g->keys[g->nkeys++] = (uint32_t)k;
    }
    return group_of;
}

void partition_build(struct partition *p, const struct history *h)
{
    *p = (struct partition){0};
    strtab_init(&p->keys);
    uint32_t *parent = union_keys(p, h);
    uint32_t *group_of = number_groups(p, parent);
    size_t n;
    struct timed_op *ops = ops_by_time(h, &n);
    for (size_t i = 0; i < n; i++)
        p->groups[group_of[partition_key(p, h->ops[ops[i].index].keys[0])]].nops++;
    for (size_t g = 0; g < p->ngroups; g++) {
        p->groups[g].ops = ck_malloc(p->groups[g].nops * sizeof(uint32_t));
        p->groups[g].nops = 0;
    }
    for (size_t i = 0; i < n; i++) {
        struct group *g = &p->groups[group_of[partition_key(p, h->ops[ops[i].index].keys[0])]];
        g->ops[g->nops++] = ops[i].index;
    }
    free(ops);
    free(group_of);
    free(parent);
}

void partition_free(struct partition *p)
{
    for (size_t g = 0; g < p->ngroups; g++) {
        free(p->groups[g].ops);
        free(p->groups[g].keys);
    }
    free(p->groups);
    free(p->slot_of);
    strtab_free(&p->keys);
    *p = (struct partition){0};
}

uint32_t partition_key(const struct partition *p, const char *key)
{
    int64_t id = strtab_find(&p->keys, key, strlen(key));
    CHECK(id >= 0);
    return (uint32_t)id;
}
