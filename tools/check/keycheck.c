/* Per-key feasibility: projected on one key, can the key's remaining ops all still be placed,
 * in an order the real-time order allows, from the key's current value? The search asks after
 * each write it places, on each key the write touched, and refuses the write when the answer
 * is no. Without it, a wrong guess about the order of two writes on one key is found out only
 * when a later read of that key cannot be placed, and undoing it means trying every
 * combination of the choices made on the other keys in between: with keys joined into one
 * group by multi-key ops, that product is what makes concurrent histories expensive.
 *
 * The answer comes from the same kind of search (Wing & Gong with forced reads, candidates by
 * return time, twins tried once) over the key's ops alone, projected onto the key (see
 * model_step_slot). Both answers are memoised per (key, value, placed ops): a yes usually
 * meets a remembered yes within a few steps. A search that runs too long answers yes, which
 * is always safe: the projection is a relaxation, so a no is always right, and only a no
 * prunes. */
#include "check/internal.h"

#include <stdlib.h>
#include <string.h>


static bool first_occurrence(const struct cop *op, uint32_t j)
{
    for (uint32_t i = 0; i < j; i++)
        if (op->slots[i] == op->slots[j])
            return false;
    return true;
}

static void add_op(struct keycheck *k, uint32_t op, size_t *caps)
{
    const struct cop *c = &k->c->ops[op];
    for (uint32_t j = 0; j < c->nkeys; j++) {
        uint32_t slot = c->slots[j];
        struct key_ops *ko = &k->keys[slot];
        if (!first_occurrence(c, j)) {
            for (uint32_t i = 0; i < j; i++)
                if (c->slots[i] == slot)
                    k->pos[k->pos_start[op] + j] = k->pos[k->pos_start[op] + i];
            continue;
        }
        uint32_t **list = c->ok ? &ko->ok : &ko->unknown;
        uint32_t *n = c->ok ? &ko->nok : &ko->nunknown;
        ck_grow(list, &caps[2 * slot + !c->ok], (size_t)*n + 1, sizeof **list);
        k->pos[k->pos_start[op] + j] = *n;
        (*list)[(*n)++] = op;
    }
}

static void index_ops(struct keycheck *k)
{
    const struct compiled *c = k->c;
    k->pos_start = ck_malloc((c->nops + 1) * sizeof *k->pos_start);
    uint32_t npos = 0;
    for (size_t i = 0; i < c->nops; i++) {
        k->pos_start[i] = npos;
        npos += c->ops[i].nkeys;
    }
    k->pos = ck_malloc((npos ? npos : 1) * sizeof *k->pos);
    size_t *caps = ck_calloc(2 * (size_t)k->nslots, sizeof *caps);
    for (uint32_t i = 0; i < c->nops; i++)
        add_op(k, i, caps);
    free(caps);
}

void keycheck_init(struct keycheck *k, const struct compiled *c, struct model *m)
{
    *k = (struct keycheck){.c = c, .m = m, .nslots = m->nslots};
    size_t nslots = m->nslots ? m->nslots : 1, nops = c->nops ? c->nops : 1;
    k->keys = ck_calloc(nslots, sizeof *k->keys);
    index_ops(k);
    size_t words = 0;
    for (uint32_t x = 0; x < m->nslots; x++) {
        struct key_ops *ko = &k->keys[x];
        bitset_init(&ko->ok_placed, ko->nok);
        bitset_init(&ko->unknown_placed, ko->nunknown);
        size_t w = ko->ok_placed.nwords + ko->unknown_placed.nwords;
        words = w > words ? w : words;
    }
    k->key_cap = words + 3;
    k->key = ck_malloc(k->key_cap * sizeof *k->key);
    k->cands = ck_malloc(nops * sizeof *k->cands);
    memo_init(&k->alive);
    memo_init(&k->dead);
}

void keycheck_free(struct keycheck *k)
{
    for (uint32_t x = 0; x < k->nslots; x++) {
        free(k->keys[x].ok);
        free(k->keys[x].unknown);
        bitset_free(&k->keys[x].ok_placed);
        bitset_free(&k->keys[x].unknown_placed);
    }
    free(k->keys);
    free(k->pos_start);
    free(k->pos);
    free(k->key);
    free(k->cands);
    free(k->stack);
    memo_free(&k->alive);
    memo_free(&k->dead);
    *k = (struct keycheck){0};
}

/* Flips op in the placed set of its j-th key. */
static void flip_on(struct keycheck *k, uint32_t op, uint32_t j)
{
    struct key_ops *ko = &k->keys[k->c->ops[op].slots[j]];
    uint32_t bit = k->pos[k->pos_start[op] + j];
    bitset_flip(k->c->ops[op].ok ? &ko->ok_placed : &ko->unknown_placed, bit);
}

void keycheck_flip(struct keycheck *k, uint32_t op)
{
    const struct cop *c = &k->c->ops[op];
    for (uint32_t j = 0; j < c->nkeys; j++)
        if (first_occurrence(c, j))
            flip_on(k, op, j);
}

enum placed { PLACED_NO, PLACED_YES, PLACED_DEAD, PLACED_ALIVE };

/* The j for which op's j-th key is slot. */
static uint32_t key_index(const struct cop *op, uint32_t slot)
{
    uint32_t j = 0;
    while (op->slots[j] != slot)
        j++;
    return j;
}

/* A configuration in the memos' terms: the key (slot, value, placed completed ops) and the
 * placed unknown ops (at k->key + len, of extra_len words). */
struct config {
    uint64_t hash;
    size_t len, extra_len;
};

static struct config config(struct keycheck *k, uint32_t slot, uint32_t value)
{
    struct key_ops *ko = &k->keys[slot];
    struct config c = {.len = 1};
    k->key[0] = (uint64_t)slot << 32 | value;
    c.len += bitset_serialize(&ko->ok_placed, k->key + c.len);
    c.extra_len = bitset_serialize(&ko->unknown_placed, k->key + c.len);
    c.hash = ck_hash_bytes(k->key, c.len * sizeof *k->key);
    return c;
}

/* What the memos say: dead (some failure with no more unknown ops placed), alive (some
 * success with no fewer), or nothing. */
static enum placed recall(struct keycheck *k, const struct config *c)
{
    const uint64_t *extra = k->key + c->len;
    if (memo_find(&k->dead, c->hash, k->key, c->len, extra, MEMO_SUBSET))
        return PLACED_DEAD;
    if (memo_find(&k->alive, c->hash, k->key, c->len, extra, MEMO_SUPERSET))
        return PLACED_ALIVE;
    return PLACED_YES;
}

static void remember(struct keycheck *k, struct memo *memo, uint32_t slot, uint32_t value)
{
    struct config c = config(k, slot, value);
    memo_add(memo, c.hash, k->key, c.len, k->key + c.len, c.extra_len);
}

/* Gathers the candidates on slot (completed ones by return time, then unknown ones); false
 * when no completed op is left to place. */
static bool gather(struct keycheck *k, uint32_t slot)
{
    struct key_ops *ko = &k->keys[slot];
    uint32_t first = bitset_first_zero(&ko->ok_placed);
    if (first >= ko->nok)
        return false;
    uint64_t first_return = UINT64_MAX;
    k->ncands = 0;
    for (uint32_t j = first; j < ko->nok; j++) {
        const struct cop *op = &k->c->ops[ko->ok[j]];
        if (bitset_test(&ko->ok_placed, j))
            continue;
        if (op->call > first_return)
            break;
        first_return = op->ret < first_return ? op->ret : first_return;
        size_t at = k->ncands++;
        for (; at > 0 && k->c->ops[k->cands[at - 1]].ret > op->ret; at--)
            k->cands[at] = k->cands[at - 1];
        k->cands[at] = ko->ok[j];
    }
    size_t n = 0; /* drop those invoked after the first return, found before it was */
    for (size_t i = 0; i < k->ncands; i++)
        if (k->c->ops[k->cands[i]].call <= first_return)
            k->cands[n++] = k->cands[i];
    for (uint32_t j = 0; j < ko->nunknown; j++)
        if (!bitset_test(&ko->unknown_placed, j) &&
            k->c->ops[ko->unknown[j]].call <= first_return)
            k->cands[n++] = ko->unknown[j];
    k->ncands = n;
    return true;
}

static enum placed try_place(struct keycheck *k, uint32_t slot, uint32_t index, bool forced,
                             uint32_t *value)
{
    uint32_t op = k->cands[index], v = *value;
    if (!model_step_slot(k->m, &k->c->ops[op], slot, &v))
        return PLACED_NO;
    uint32_t j = key_index(&k->c->ops[op], slot);
    flip_on(k, op, j);
    struct config c = config(k, slot, v);
    enum placed p = recall(k, &c);
    if (p != PLACED_YES) {
        flip_on(k, op, j);
        return p;
    }
    ck_grow(&k->stack, &k->stack_cap, k->depth + 1, sizeof *k->stack);
    k->stack[k->depth++] = (struct key_frame){op, index, *value, forced};
    if (k->states)
        (*k->states)++;
    *value = v;
    return PLACED_YES;
}

static struct key_frame unplace(struct keycheck *k, uint32_t slot, uint32_t *value)
{
    struct key_frame f = k->stack[--k->depth];
    flip_on(k, f.op, key_index(&k->c->ops[f.op], slot));
    *value = f.value;
    return f;
}

static bool twin_before(const struct keycheck *k, uint32_t i)
{
    for (uint32_t j = 0; j < i; j++)
        if (k->c->ops[k->cands[j]].twin == k->c->ops[k->cands[i]].twin)
            return true;
    return false;
}

/* One step at the current configuration, from candidate `from`. */
static enum placed step(struct keycheck *k, uint32_t slot, uint32_t from, uint32_t *value)
{
    if (from == 0) {
        for (uint32_t i = 0; i < k->ncands; i++) {
            if (!cop_pure_read(&k->c->ops[k->cands[i]]))
                continue;
            enum placed p = try_place(k, slot, i, true, value);
            if (p != PLACED_NO)
                return p;
        }
    }
    for (uint32_t i = from; i < k->ncands; i++) {
        if (twin_before(k, i))
            continue;
        enum placed p = try_place(k, slot, i, false, value);
        if (p == PLACED_YES || p == PLACED_ALIVE)
            return p;
    }
    return PLACED_NO;
}

/* Success: the current configuration and every one on the way to it have a solution. */
static void succeed(struct keycheck *k, uint32_t slot, uint32_t value)
{
    remember(k, &k->alive, slot, value);
    while (k->depth > 0) {
        unplace(k, slot, &value);
        remember(k, &k->alive, slot, value);
    }
}

/* Backtracks from a dead configuration, past forced placements (dead too); false when the
 * question's own configuration is dead. */
static bool backtrack(struct keycheck *k, uint32_t slot, uint32_t *value, uint32_t *from)
{
    struct key_frame f;
    do {
        remember(k, &k->dead, slot, *value);
        if (k->depth == 0)
            return false;
        f = unplace(k, slot, value);
    } while (f.forced);
    *from = f.index + 1;
    return true;
}

bool keycheck_feasible(struct keycheck *k, uint32_t slot, uint64_t max_steps)
{
    uint32_t value = k->m->state[slot], from = 0;
    struct config c = config(k, slot, value);
    enum placed known = recall(k, &c);
    if (known != PLACED_YES)
        return known == PLACED_ALIVE;
    k->depth = 0;
    for (uint64_t steps = 0; steps <= max_steps; steps++) {
        enum placed p = gather(k, slot) ? step(k, slot, from, &value) : PLACED_ALIVE;
        if (p == PLACED_ALIVE) {
            succeed(k, slot, value);
            return true;
        }
        if (p == PLACED_YES)
            from = 0;
        else if (!backtrack(k, slot, &value, &from))
            return false;
    }
    while (k->depth > 0) /* no answer: say yes, remember nothing */
        unplace(k, slot, &value);
    return true;
}
