/* The key-value model of one key group: a value id per key slot (0 is nil), values interned
 * per group so a state is a small array of integers, with Redis' GET, SET, INCR, APPEND, DEL,
 * MSET and MGET. Steps apply in place and are undone from an undo stack; the state's hash is
 * kept up to date incrementally (a XOR of one term per slot, Zobrist style). */
#include "check/internal.h"

#include "common/check.h"
#include "common/strint.h"

#include <stdlib.h>
#include <string.h>

#define MODEL_MAX_BYTES ((size_t)256 << 20) /* values held before the search gives up */
#define INCR_ARG UINT32_MAX                 /* the transition key of INCR */

void model_init(struct model *m, uint32_t nslots)
{
    *m = (struct model){.nslots = nslots};
    strtab_init(&m->values);
    u64map_init(&m->transitions);
    buf_init(&m->scratch);
    m->state = ck_calloc(nslots, sizeof *m->state);
}

void model_free(struct model *m)
{
    strtab_free(&m->values);
    u64map_free(&m->transitions);
    buf_free(&m->scratch);
    free(m->int_state);
    free(m->int_value);
    free(m->state);
    free(m->undo);
    *m = (struct model){0};
}

static uint32_t intern(struct model *m, const char *s, size_t len)
{
    uint32_t id = strtab_intern(&m->values, s, len) + 1;
    if (m->values.bytes > MODEL_MAX_BYTES)
        m->over_budget = true;
    return id;
}

uint32_t model_value(struct model *m, const char *s)
{
    return s ? intern(m, s, strlen(s)) : VALUE_NIL;
}

const char *model_string(const struct model *m, uint32_t value)
{
    return value == VALUE_NIL ? NULL : m->values.entries[value - 1].s;
}

static size_t value_len(const struct model *m, uint32_t value)
{
    return value == VALUE_NIL ? 0 : m->values.entries[value - 1].len;
}

/* The integer a value holds as INCR reads it (nil is 0); false when it holds none. */
static bool int_of(struct model *m, uint32_t value, int64_t *out)
{
    if (value == VALUE_NIL) {
        *out = 0;
        return true;
    }
    if (value >= m->int_cap) {
        size_t old = m->int_cap, cap = m->int_cap;
        ck_grow(&m->int_state, &cap, (size_t)value + 1, sizeof *m->int_state);
        ck_grow(&m->int_value, &m->int_cap, (size_t)value + 1, sizeof *m->int_value);
        memset(m->int_state + old, 0, (m->int_cap - old) * sizeof *m->int_state);
    }
    if (m->int_state[value] == 0) {
        const struct strtab_entry *e = &m->values.entries[value - 1];
        bool ok = strint_parse((const uint8_t *)e->s, e->len, &m->int_value[value]);
        m->int_state[value] = ok ? 1 : -1;
    }
    *out = m->int_value[value];
    return m->int_state[value] == 1;
}

static uint64_t zobrist(uint32_t slot, uint32_t value)
{
    return value == VALUE_NIL ? 0 : ck_mix64(((uint64_t)slot << 32 | value) + 0x51ed27);
}

static void set_slot(struct model *m, uint32_t slot, uint32_t value)
{
    uint32_t old = m->state[slot];
    ck_grow(&m->undo, &m->undo_cap, m->nundo + 1, sizeof *m->undo);
    m->undo[m->nundo++] = (struct undo_entry){slot, old};
    m->hash ^= zobrist(slot, old) ^ zobrist(slot, value);
    m->state[slot] = value;
}

void model_undo(struct model *m, size_t mark)
{
    while (m->nundo > mark) {
        struct undo_entry u = m->undo[--m->nundo];
        m->hash ^= zobrist(u.slot, m->state[u.slot]) ^ zobrist(u.slot, u.old);
        m->state[u.slot] = u.old;
    }
}

/* The value after INCR (of from, holding n < INT64_MAX) or APPEND (of from and arg). */
static uint32_t transition(struct model *m, uint32_t from, uint32_t arg, int64_t n)
{
    uint64_t key = (uint64_t)from << 32 | arg;
    uint32_t to;
    if (u64map_get(&m->transitions, key, &to))
        return to;
    buf_clear(&m->scratch);
    if (arg == INCR_ARG) {
        char digits[STRINT_MAX_LEN];
        buf_append(&m->scratch, digits, strint_format(n + 1, digits));
    } else {
        buf_append(&m->scratch, model_string(m, from), value_len(m, from));
        buf_append(&m->scratch, model_string(m, arg), value_len(m, arg));
    }
    to = intern(m, m->scratch.len ? (const char *)m->scratch.data : "", m->scratch.len);
    u64map_put(&m->transitions, key, to);
    return to;
}

/* The value INCR leaves after cur; false when it fails or its result does not fit. */
static bool incr_value(struct model *m, const struct cop *op, uint32_t cur, uint32_t *to)
{
    int64_t n;
    if (!int_of(m, cur, &n) || n == INT64_MAX)
        return false; /* Redis fails the INCR: no effect, and no OK result */
    if (op->ok && n + 1 != op->integer)
        return false;
    *to = op->ok ? op->incr_to : transition(m, cur, INCR_ARG, n);
    return true;
}

/* The value APPEND leaves after cur; false when its result does not fit. */
static bool append_value(struct model *m, const struct cop *op, uint32_t cur, uint32_t *to)
{
    size_t len = value_len(m, cur) + value_len(m, op->args[0]);
    if (op->ok && (op->integer < 0 || (uint64_t)op->integer != len))
        return false;
    *to = transition(m, cur, op->args[0], 0);
    return true;
}

static bool step_incr(struct model *m, const struct cop *op)
{
    uint32_t to;
    if (!incr_value(m, op, m->state[op->slots[0]], &to))
        return false;
    set_slot(m, op->slots[0], to);
    return true;
}

static bool step_append(struct model *m, const struct cop *op)
{
    uint32_t to;
    if (!append_value(m, op, m->state[op->slots[0]], &to))
        return false;
    set_slot(m, op->slots[0], to);
    return true;
}

static bool step_del(struct model *m, const struct cop *op)
{
    size_t mark = m->nundo;
    int64_t existed = 0;
    for (uint32_t i = 0; i < op->nkeys; i++) {
        if (m->state[op->slots[i]] != VALUE_NIL) {
            existed++;
            set_slot(m, op->slots[i], VALUE_NIL);
        }
    }
    if (op->ok && existed != op->integer) {
        model_undo(m, mark);
        return false;
    }
    return true;
}

bool model_step(struct model *m, const struct cop *op)
{
    switch (op->type) {
    case OP_GET:
    case OP_MGET:
        for (uint32_t i = 0; i < op->nkeys; i++)
            if (m->state[op->slots[i]] != op->want[i])
                return false;
        return true;
    case OP_SET:
    case OP_MSET:
        for (uint32_t i = 0; i < op->nkeys; i++)
            set_slot(m, op->slots[i], op->args[i]);
        return true;
    case OP_INCR: return step_incr(m, op);
    case OP_APPEND: return step_append(m, op);
    case OP_DEL: return step_del(m, op);
    }
    return false;
}

/* Whether op's j-th key is the first occurrence of that key among its keys. */
static bool first_key(const struct cop *op, uint32_t j)
{
    for (uint32_t i = 0; i < j; i++)
        if (op->slots[i] == op->slots[j])
            return false;
    return true;
}

/* The DEL part of model_step_slot: exact on this key; each other key of the DEL may or may
 * not have existed. */
static bool del_slot(const struct cop *op, uint32_t slot, uint32_t *value)
{
    int64_t existed = 0, others = 0;
    for (uint32_t j = 0; j < op->nkeys; j++) {
        if (op->slots[j] != slot) {
            others += first_key(op, j);
        } else if (*value != VALUE_NIL) {
            existed++;
            *value = VALUE_NIL;
        }
    }
    return !op->ok || (existed <= op->integer && op->integer <= existed + others);
}

bool model_step_slot(struct model *m, const struct cop *op, uint32_t slot, uint32_t *value)
{
    switch (op->type) {
    case OP_GET:
    case OP_MGET:
        for (uint32_t j = 0; j < op->nkeys; j++)
            if (op->slots[j] == slot && *value != op->want[j])
                return false;
        return true;
    case OP_SET:
    case OP_MSET:
        for (uint32_t j = 0; j < op->nkeys; j++)
            if (op->slots[j] == slot)
                *value = op->args[j];
        return true;
    case OP_INCR: return incr_value(m, op, *value, value);
    case OP_APPEND: return append_value(m, op, *value, value);
    case OP_DEL: return del_slot(op, slot, value);
    }
    return false;
}

bool cop_pure_read(const struct cop *op)
{
    return op->ok && (op->type == OP_GET || op->type == OP_MGET ||
                      (op->type == OP_DEL && op->integer == 0));
}
