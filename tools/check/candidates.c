/* What the search (search.c) tries at a point, and in which order: the candidates, with the
 * relevant ones first (those worth trying before the first return), twins, and the rule for
 * what may follow an unknown op. The arguments are in README.md ("Algorithm"). */
#include "check/internal.h"

#include "common/check.h"

#include <string.h>

/* Gathers the candidates at the current point: completed ones by return time, then unknown
 * ones by invocation time; and the first return, which bounds them. */
static void gather_all(struct search *s)
{
    const struct search_node *nodes = s->nodes;
    s->ncands = 0;
    int32_t n = nodes[SEARCH_MAIN].next;
    for (; nodes[n].call; n = nodes[n].next) {
        /* insertion by the return time: candidates are few */
        uint64_t ret = nodes[nodes[n].match].time;
        size_t at = s->ncands++;
        while (at > 0 && nodes[nodes[s->cands[at - 1]].match].time > ret) {
            s->cands[at] = s->cands[at - 1];
            at--;
        }
        s->cands[at] = n;
    }
    CHECK(n != SEARCH_MAIN); /* some completed op is still to be placed */
    s->first_return = n;
    uint64_t limit = nodes[n].time;
    for (int32_t u = nodes[SEARCH_UNKNOWN].next; u != SEARCH_UNKNOWN && nodes[u].time <= limit;
         u = nodes[u].next)
        s->cands[s->ncands++] = u;
}

/* Whether the op writes (may change) its keys. */
static bool writes(const struct cop *op)
{
    return op->type != OP_GET && op->type != OP_MGET &&
           !(op->ok && op->type == OP_DEL && op->integer == 0);
}

/* Whether op conflicts with the relevant ops so far (it writes a key they read or write, or
 * reads a key they write); if so, adds its keys to theirs and sets *added when that grew. */
static bool conflicts(struct search *s, const struct cop *op, bool *added)
{
    bool w = writes(op), conflict = false;
    for (uint32_t k = 0; k < op->nkeys && !conflict; k++) {
        uint32_t slot = op->slots[k];
        conflict = s->slot_written[slot] == s->epoch || (w && s->slot_read[slot] == s->epoch);
    }
    if (!conflict)
        return false;
    uint32_t *marks = w ? s->slot_written : s->slot_read;
    for (uint32_t k = 0; k < op->nkeys; k++) {
        if (marks[op->slots[k]] != s->epoch) {
            marks[op->slots[k]] = s->epoch;
            *added = true;
        }
    }
    return true;
}

/* Puts first, keeping their order, the candidates that conflict with the first return's op,
 * directly or through other candidates (see the top), and counts them in nrelevant. */
static void order_relevant(struct search *s)
{
    if (++s->epoch == 0) {
        memset(s->slot_read, 0, s->m->nslots * sizeof *s->slot_read);
        memset(s->slot_written, 0, s->m->nslots * sizeof *s->slot_written);
        s->epoch = 1;
    }
    const struct cop *blocked = &s->c->ops[s->nodes[s->first_return].op];
    uint32_t *marks = writes(blocked) ? s->slot_written : s->slot_read;
    for (uint32_t k = 0; k < blocked->nkeys; k++)
        marks[blocked->slots[k]] = s->epoch;
    memset(s->relevant, 0, s->ncands * sizeof *s->relevant);
    for (bool added = true; added;) {
        added = false;
        for (size_t i = 0; i < s->ncands; i++)
            if (!s->relevant[i])
                s->relevant[i] = conflicts(s, &s->c->ops[s->nodes[s->cands[i]].op], &added);
    }
    size_t n = 0;
    for (size_t i = 0; i < s->ncands; i++)
        if (s->relevant[i] || s->nodes[s->cands[i]].op == s->nodes[s->first_return].op)
            s->scratch[n++] = s->cands[i];
    s->nrelevant = n;
    for (size_t i = 0; i < s->ncands; i++)
        if (!s->relevant[i] && s->nodes[s->cands[i]].op != s->nodes[s->first_return].op)
            s->scratch[n++] = s->cands[i];
    memcpy(s->cands, s->scratch, n * sizeof *s->cands);
}

void candidates_gather(struct search *s)
{
    gather_all(s);
    order_relevant(s);
}

/* Whether an identical op (same kind, keys, arguments and result) comes before candidate i:
 * that one returns no later, so anything that works after lifting i works after lifting it. */
static bool twin_before(const struct search *s, uint32_t i)
{
    uint32_t twin = s->c->ops[s->nodes[s->cands[i]].op].twin;
    for (uint32_t j = 0; j < i; j++)
        if (s->c->ops[s->nodes[s->cands[j]].op].twin == twin)
            return true;
    return false;
}

static bool blind_write(const struct cop *op)
{
    return op->type == OP_SET || op->type == OP_MSET;
}

/* Whether c may follow unknown op u (just lifted, not forced): c depends on what u did (it
 * is not a blind write and uses a key of u, or it is a blind write over some but not all of
 * u's keys), or c is an unknown op after u, on other keys. Whatever else follows u in some
 * solution either commutes with u or overwrites all u did (then u can be dropped), so moving
 * u later or dropping it gives a solution that these rules allow (README.md). */
static bool may_follow(const struct cop *c, uint32_t ci, const struct cop *u, uint32_t ui)
{
    uint32_t shared = 0, distinct = 0;
    for (uint32_t j = 0; j < u->nkeys; j++) {
        bool dup = false, hit = false;
        for (uint32_t i = 0; i < j; i++)
            dup |= u->slots[i] == u->slots[j];
        if (dup)
            continue;
        distinct++;
        for (uint32_t i = 0; i < c->nkeys; i++)
            hit |= c->slots[i] == u->slots[j];
        shared += hit;
    }
    if (shared == 0)
        return !c->ok && ci > ui;
    return !blind_write(c) || shared < distinct;
}

/* Whether candidate i may be lifted after the last op lifted (see may_follow). */
static bool allowed_after(const struct search *s, uint32_t i)
{
    if (!(s->flags & SEARCH_UNKNOWN_RULE) || s->depth == 0 || s->stack[s->depth - 1].forced)
        return true;
    uint32_t last = s->nodes[s->stack[s->depth - 1].node].op, op = s->nodes[s->cands[i]].op;
    return s->c->ops[last].ok || may_follow(&s->c->ops[op], op, &s->c->ops[last], last);
}

bool candidate_worth_trying(const struct search *s, uint32_t i)
{
    return !twin_before(s, i) && allowed_after(s, i);
}
