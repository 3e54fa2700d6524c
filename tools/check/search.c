/* Wing & Gong's search with Lowe's memoisation (as Porcupine does it), for one key group.
 *
 * The completed ops' invocations and returns form one doubly linked list, sorted by time with
 * invocations before returns at equal times. The invocations met, scanning from the head,
 * before the first return are the candidates to take effect next (with the unknown ops, kept
 * in a second list, invoked by then). A candidate is lifted out of the list (with its return)
 * when the model accepts it and the resulting (linearized set, model state) was never visited.
 * When no candidate can be lifted, the first return's op could not be placed in time: the
 * search backtracks, unlifting the last op and trying the next candidate there. The search
 * succeeds when every completed op is placed; unknown ops may stay unplaced. Backtracking uses
 * an explicit stack, so the depth is only bounded by memory.
 *
 * Refinements, each of which only skips work that cannot lead to a solution, keep concurrent
 * histories cheap (README.md has the arguments):
 * - Forced moves: a completed read (GET, MGET, or a DEL that found nothing: ops that change
 *   no state wherever they fit) whose result fits the current state is lifted at once, and
 *   alone: if any order works from here, one starting with it does (it reads the same state
 *   now, no remaining op must precede it, and it changes nothing for the others). So if that
 *   fails, this point fails.
 * - Relevance: only candidates that conflict with the first return's op (write a key it
 *   reads or writes, or read a key it writes), directly or through other such candidates,
 *   are tried before it: the others commute with all of those and can be moved after it.
 * - Twins: of identical candidates (same kind, keys, arguments and result) only the one
 *   returning first is tried; lifting another cannot work where lifting it failed.
 * - Per-key feasibility (keycheck.c): a write is refused when, projected on one of its keys,
 *   the key's remaining ops can no longer all be placed.
 * - Unknown ops: one lifted must be followed by an op that depends on it (or by an unknown
 *   op on other keys, in index order); otherwise it could as well be lifted later, or not at
 *   all. And the memo also matches points with fewer unknown ops lifted (memo.c).
 * - Order: candidates are tried by return time (the op that must be placed soonest first),
 *   completed ones before unknown ones (which may also never take effect). */
#include "check/internal.h"

#include "common/check.h"

#include <stdlib.h>
#include <string.h>

#define MEMO_MAX_BYTES ((size_t)1 << 30) /* memo memory before the search gives up */
#define KEYCHECK_STEPS 20000             /* per question of the search to keycheck.c */
#define PRECHECK_STEPS 1000000           /* per key, for the first question about it */

struct event {
    uint64_t time;
    uint32_t ret; /* 0: invocation, 1: return */
    uint32_t op;
};

static int event_cmp(const void *pa, const void *pb)
{
    const struct event *a = pa, *b = pb;
    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    if (a->ret != b->ret)
        return a->ret < b->ret ? -1 : 1;
    return a->op < b->op ? -1 : a->op > b->op;
}

static void link_after(struct search_node *nodes, int32_t at, int32_t n)
{
    nodes[n].prev = at;
    nodes[n].next = nodes[at].next;
    nodes[nodes[at].next].prev = n;
    nodes[at].next = n;
}

/* Builds both lists; nodes 0 and 1 are their heads. */
static void build_lists(struct search *s)
{
    const struct compiled *c = s->c;
    struct event *events = ck_malloc((2 * c->nok + 1) * sizeof *events);
    size_t n = 0;
    for (uint32_t i = 0; i < c->nops; i++) {
        if (!c->ops[i].ok)
            continue;
        events[n++] = (struct event){c->ops[i].call, 0, i};
        events[n++] = (struct event){c->ops[i].ret, 1, i};
    }
    qsort(events, n, sizeof *events, event_cmp);
    s->nodes = ck_malloc((2 + n + c->nunknown) * sizeof *s->nodes);
    for (int32_t h = SEARCH_MAIN; h <= SEARCH_UNKNOWN; h++)
        s->nodes[h] = (struct search_node){.prev = h, .next = h, .match = -1};
    int32_t *call_node = ck_malloc((c->nops ? c->nops : 1) * sizeof *call_node);
    int32_t next = 2;
    for (size_t i = 0; i < n; i++, next++) {
        s->nodes[next] = (struct search_node){
            .match = -1, .op = events[i].op, .time = events[i].time, .call = !events[i].ret};
        link_after(s->nodes, s->nodes[SEARCH_MAIN].prev, next);
        if (events[i].ret)
            s->nodes[call_node[events[i].op]].match = next;
        else
            call_node[events[i].op] = next;
    }
    for (uint32_t i = 0; i < c->nops; i++) {
        if (c->ops[i].ok)
            continue;
        s->nodes[next] =
            (struct search_node){.match = -1, .op = i, .time = c->ops[i].call, .call = true};
        link_after(s->nodes, s->nodes[SEARCH_UNKNOWN].prev, next++);
    }
    free(call_node);
    free(events);
}

static void unlink_node(struct search_node *nodes, int32_t n)
{
    nodes[nodes[n].prev].next = nodes[n].next;
    nodes[nodes[n].next].prev = nodes[n].prev;
}

static void relink_node(struct search_node *nodes, int32_t n)
{
    nodes[nodes[n].prev].next = n;
    nodes[nodes[n].next].prev = n;
}

static void search_init(struct search *s, const struct compiled *c, struct model *m,
                        uint64_t max_states, struct search_result *r)
{
    *s = (struct search){.c = c, .m = m, .max_states = max_states, .r = r,
                         .remaining_ok = c->nok};
    build_lists(s);
    s->bit_of = ck_malloc((c->nops ? c->nops : 1) * sizeof *s->bit_of);
    uint32_t nok = 0, nunknown = 0;
    for (size_t i = 0; i < c->nops; i++)
        s->bit_of[i] = c->ops[i].ok ? nok++ : nunknown++;
    bitset_init(&s->ok, nok);
    bitset_init(&s->unknown, nunknown);
    memo_init(&s->memo);
    keycheck_init(&s->keys, c, m);
    s->keys.states = &r->states;
    s->key_cap = (m->nslots + 1) / 2 + 3 + s->ok.nwords + s->unknown.nwords;
    s->key = ck_malloc(s->key_cap * sizeof *s->key);
    s->cands = ck_malloc((c->nops ? c->nops : 1) * sizeof *s->cands);
    s->scratch = ck_malloc((c->nops ? c->nops : 1) * sizeof *s->scratch);
    s->relevant = ck_malloc((c->nops ? c->nops : 1) * sizeof *s->relevant);
    s->slot_read = ck_calloc(m->nslots, sizeof *s->slot_read);
    s->slot_written = ck_calloc(m->nslots, sizeof *s->slot_written);
    *r = (struct search_result){.blocked = UINT32_MAX, .dead_slot = UINT32_MAX};
    r->best_ok = ck_calloc(s->ok.nwords, sizeof *r->best_ok);
    r->best_unknown = ck_calloc(s->unknown.nwords, sizeof *r->best_unknown);
    r->best_state = ck_calloc(m->nslots, sizeof *r->best_state);
}

static void search_free(struct search *s)
{
    free(s->nodes);
    free(s->bit_of);
    bitset_free(&s->ok);
    bitset_free(&s->unknown);
    memo_free(&s->memo);
    keycheck_free(&s->keys);
    free(s->stack);
    free(s->key);
    free(s->cands);
    free(s->scratch);
    free(s->relevant);
    free(s->slot_read);
    free(s->slot_written);
}

/* Flips op's bit in the linearized set, and the set's hash with it. */
static void flip_op(struct search *s, uint32_t op)
{
    bitset_flip(s->c->ops[op].ok ? &s->ok : &s->unknown, s->bit_of[op]);
    keycheck_flip(&s->keys, op);
    if (s->c->ops[op].ok)
        s->ok_hash ^= ck_mix64((uint64_t)op * 2 + 0x9e3779b97f4a7c15ULL);
}

/* Adds the current (linearized set, state) to the memo; false if it was there, or if the
 * same with fewer unknown ops linearized was (memo.c). restriction: the unknown op just
 * lifted (+ 1) when the unknown rule restricts what may follow it, else 0; it is part of the
 * key, since what is tried from a point depends on it then. */
static bool remember(struct search *s, uint32_t restriction)
{
    size_t n = 0;
    s->key[n++] = restriction;
    for (uint32_t i = 0; i < s->m->nslots; i += 2) {
        uint64_t hi = i + 1 < s->m->nslots ? s->m->state[i + 1] : 0;
        s->key[n++] = hi << 32 | s->m->state[i];
    }
    n += bitset_serialize(&s->ok, s->key + n);
    uint64_t *extra = s->key + n;
    size_t extra_len = bitset_serialize(&s->unknown, extra);
    uint64_t hash = ck_mix64(s->ok_hash ^ ck_mix64(s->m->hash + 0x2545f4914f6cdd1dULL)) +
                    restriction;
    if (memo_find(&s->memo, hash, s->key, n, extra, MEMO_SUBSET))
        return false;
    memo_add(&s->memo, hash, s->key, n, extra, extra_len);
    return true;
}

/* Whether each key the op wrote can still have all its ops placed (keycheck.c). */
static bool keys_feasible(struct search *s, uint32_t op)
{
    const struct cop *c = &s->c->ops[op];
    for (uint32_t j = 0; j < c->nkeys; j++) {
        bool seen = false;
        for (uint32_t i = 0; i < j; i++)
            seen |= c->slots[i] == c->slots[j];
        if (!seen && !keycheck_feasible(&s->keys, c->slots[j], KEYCHECK_STEPS))
            return false;
    }
    return true;
}

enum lift { LIFT_NO, LIFT_YES, LIFT_SEEN };

static enum lift try_lift(struct search *s, uint32_t index, bool forced)
{
    int32_t node = s->cands[index];
    uint32_t op = s->nodes[node].op;
    size_t mark = s->m->nundo;
    if (!model_step(s->m, &s->c->ops[op]))
        return LIFT_NO;
    flip_op(s, op);
    bool restricts = s->flags & SEARCH_UNKNOWN_RULE && !forced && !s->c->ops[op].ok;
    if (!remember(s, restricts ? op + 1 : 0)) {
        flip_op(s, op);
        model_undo(s->m, mark);
        return LIFT_SEEN;
    }
    s->r->states++;
    if (s->flags & SEARCH_KEYCHECK && !cop_pure_read(&s->c->ops[op]) && !keys_feasible(s, op)) {
        flip_op(s, op);
        model_undo(s->m, mark);
        return LIFT_NO;
    }
    ck_grow(&s->stack, &s->stack_cap, s->depth + 1, sizeof *s->stack);
    s->stack[s->depth++] = (struct search_frame){node, index, mark, forced};
    unlink_node(s->nodes, node);
    if (s->nodes[node].match >= 0)
        unlink_node(s->nodes, s->nodes[node].match);
    if (s->c->ops[op].ok)
        s->remaining_ok--;
    return LIFT_YES;
}

static struct search_frame backtrack(struct search *s)
{
    struct search_frame f = s->stack[--s->depth];
    uint32_t op = s->nodes[f.node].op;
    if (s->nodes[f.node].match >= 0)
        relink_node(s->nodes, s->nodes[f.node].match);
    relink_node(s->nodes, f.node);
    model_undo(s->m, f.undo_mark);
    flip_op(s, op);
    if (s->c->ops[op].ok)
        s->remaining_ok++;
    return f;
}

/* Records the deepest point reached, for the report: what was placed, and what was not. */
static void note_best(struct search *s)
{
    struct search_result *r = s->r;
    size_t placed = s->c->nok - s->remaining_ok;
    if (r->blocked != UINT32_MAX && placed <= r->best_placed)
        return;
    r->best_placed = placed;
    r->blocked = s->nodes[s->first_return].op;
    memcpy(r->best_ok, s->ok.w, s->ok.nwords * sizeof *s->ok.w);
    memcpy(r->best_unknown, s->unknown.w, s->unknown.nwords * sizeof *s->unknown.w);
    memcpy(r->best_state, s->m->state, s->m->nslots * sizeof *s->m->state);
}

static bool over_budget(const struct search *s)
{
    return s->r->states > s->max_states || s->m->over_budget ||
           memo_bytes(&s->memo) + memo_bytes(&s->keys.alive) + memo_bytes(&s->keys.dead) >
               MEMO_MAX_BYTES;
}

/* At a new point: lifts a forced candidate if there is one. LIFT_SEEN: that point was
 * explored and failed, so this one fails too. */
static enum lift try_forced(struct search *s)
{
    for (uint32_t i = 0; i < s->ncands; i++) {
        if (!cop_pure_read(&s->c->ops[s->nodes[s->cands[i]].op]))
            continue;
        enum lift l = try_lift(s, i, true);
        if (l != LIFT_NO)
            return l;
    }
    return LIFT_NO;
}

/* Whether every key's ops, alone, can be placed: a failure here is cheap to find, and
 * settles the verdict; success leaves the memo of keycheck.c ready for the search. */
static bool keys_alone_feasible(struct search *s)
{
    for (uint32_t x = 0; x < s->m->nslots; x++) {
        if (!keycheck_feasible(&s->keys, x, PRECHECK_STEPS)) {
            s->r->dead_slot = x;
            return false;
        }
    }
    return true;
}

static enum check_verdict run(struct search *s)
{
    if (s->flags & SEARCH_KEYCHECK && !keys_alone_feasible(s))
        return CHECK_NOT_LINEARIZABLE;
    uint32_t from = 0; /* the next candidate to try at the current point */
    while (s->remaining_ok > 0) {
        if (over_budget(s))
            return CHECK_GAVE_UP;
        candidates_gather(s);
        enum lift l = from == 0 ? try_forced(s) : LIFT_NO;
        for (uint32_t i = from; l == LIFT_NO && i < s->nrelevant; i++)
            if (candidate_worth_trying(s, i))
                l = try_lift(s, i, false) == LIFT_YES ? LIFT_YES : LIFT_NO;
        if (l == LIFT_YES) {
            from = 0;
            continue;
        }
        note_best(s); /* every candidate failed: backtrack past forced moves */
        struct search_frame f;
        do {
            if (s->depth == 0)
                return CHECK_NOT_LINEARIZABLE;
            f = backtrack(s);
        } while (f.forced);
        from = f.index + 1;
    }
    return CHECK_LINEARIZABLE;
}

void search_group(const struct compiled *c, struct model *m, uint64_t max_states,
                  unsigned flags, struct search_result *r)
{
    struct search s;
    search_init(&s, c, m, max_states, r);
    s.flags = flags;
    r->verdict = run(&s);
    search_free(&s);
}

void search_result_free(struct search_result *r)
{
    free(r->best_ok);
    free(r->best_unknown);
    free(r->best_state);
    *r = (struct search_result){0};
}
