/* Private interfaces of the checker (one section per file): allocation and hashing helpers,
 * the quoting and op text shared by the history format and the report, hash tables, key
 * partitioning, the model, compiled ops, the memos, bitsets, the per-key feasibility check,
 * the search and its candidates, the report. Nothing here is part of check.h. */
#ifndef CATENA_CHECK_INTERNAL_H
#define CATENA_CHECK_INTERNAL_H

#include "check/check.h"
#include "common/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- util.c: allocation that aborts on failure, hashing ---- */
void *ck_malloc(size_t size);
void *ck_calloc(size_t count, size_t size);
/* Grows *array (of elements of elem bytes) so that at least need elements fit. */
void ck_grow(void *array_ptr, size_t *cap, size_t need, size_t elem);
char *ck_strdup(const char *s);
uint64_t ck_mix64(uint64_t x);
uint64_t ck_hash_bytes(const void *data, size_t len);
void ck_bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends the NUL that makes b->data a C string, without counting it in b->len. */
const char *ck_cstr(struct buf *b);

/* ---- quote.c: how keys and values are written and read back ---- */
/* True when s can be written without quotes: non-empty printable ASCII without spaces, '"' or
 * '\\', and not the word nil. */
bool quote_is_bare(const char *s);
/* Appends s bare when quote_is_bare, else as a double-quoted C-style escaped string. */
void quote_append(struct buf *b, const char *s);
/* Appends s or, for NULL, nil. */
void quote_append_value(struct buf *b, const char *s);
enum token_kind { TOKEN_END, TOKEN_WORD, TOKEN_QUOTED, TOKEN_ERROR };
/* Reads the next token of a line at *p into out (unescaped, NUL-terminated; out is cleared
 * first), skipping blanks. On TOKEN_ERROR, err describes the problem. */
enum token_kind token_next(const char **p, struct buf *out, char *err, size_t err_size);

/* ---- optext.c: ops as text, shared by the history format and the report ---- */
const char *ck_op_name(enum op_type type);
/* Whether the op's invocation carries one value per key (SET, APPEND, MSET). */
bool ck_op_takes_args(enum op_type type);
/* Appends "SET x 5": the name, then the keys (and values) quoted as needed. */
void optext_call(struct buf *b, const struct op *op);
/* Appends an OK op's result: the value(s) of GET and MGET, the integer of INCR, APPEND and
 * DEL; nothing for SET and MSET. */
void optext_result(struct buf *b, const struct op *op);

/* ---- tables.c: string interning and a u64 -> u32 map ---- */
struct strtab_entry {
    char *s;
    size_t len;
    uint64_t hash;
};

struct strtab {
    struct strtab_entry *entries;
    size_t count, cap;
    uint32_t *slots; /* entry index + 1; 0 is empty */
    size_t mask;
    size_t bytes; /* string bytes held */
};

void strtab_init(struct strtab *t);
void strtab_free(struct strtab *t);
/* Returns the id (0, 1, ...) of the string, adding a copy when it is new. */
uint32_t strtab_intern(struct strtab *t, const char *s, size_t len);
/* The id of the string, or -1 when it was never interned. */
int64_t strtab_find(const struct strtab *t, const char *s, size_t len);

struct u64map {
    uint64_t *keys;
    uint32_t *values; /* value + 1; 0 is empty */
    size_t mask, count;
};

void u64map_init(struct u64map *m);
void u64map_free(struct u64map *m);
bool u64map_get(const struct u64map *m, uint64_t key, uint32_t *value);
void u64map_put(struct u64map *m, uint64_t key, uint32_t value);

/* ---- partition.c: key groups ---- */
struct group {
    uint32_t *ops; /* indices into the history of the ops checked, by invocation time */
    size_t nops;
    uint32_t *keys; /* key ids, slot order */
    size_t nkeys;
};

struct partition {
    struct strtab keys; /* every key of a checked op */
    uint32_t *slot_of;  /* key id -> its slot in its group */
    struct group *groups;
    size_t ngroups;
};

/* Whether an op takes part in the check: FAIL ops and reads without a result do not. */
bool op_checked(const struct op *op);
void partition_build(struct partition *p, const struct history *h);
void partition_free(struct partition *p);
uint32_t partition_key(const struct partition *p, const char *key);

/* ---- model.c: the key-value model of one group ---- */
/* Value ids: 0 is nil, id >= 1 is the string of strtab id - 1. */
#define VALUE_NIL 0u

struct cop { /* one op of a group, compiled */
    uint32_t index; /* in the history */
    enum op_type type;
    bool ok;        /* OUTCOME_OK, else unknown */
    uint32_t nkeys;
    uint32_t *slots; /* key slots in the group */
    uint32_t *args;  /* value ids: SET, APPEND, MSET */
    uint32_t *want;  /* value ids: GET, MGET results */
    int64_t integer;
    uint32_t incr_to; /* OK INCR: value id of its result */
    uint32_t twin;    /* the same for ops of the same kind, outcome, keys, arguments, result */
    uint64_t call, ret; /* ret: UINT64_MAX for unknown */
};

struct undo_entry {
    uint32_t slot, old;
};

struct model {
    struct strtab values;
    int8_t *int_state; /* per value id: 0 not parsed yet, 1 integer, -1 not an integer */
    int64_t *int_value;
    size_t int_cap;
    struct u64map transitions; /* (value id, arg id or INCR) -> value id */
    struct buf scratch;
    uint32_t nslots;
    uint32_t *state; /* value id per slot */
    uint64_t hash;   /* of state, updated incrementally */
    struct undo_entry *undo;
    size_t nundo, undo_cap;
    bool over_budget; /* the values outgrew MODEL_MAX_BYTES */
};

void model_init(struct model *m, uint32_t nslots);
void model_free(struct model *m);
uint32_t model_value(struct model *m, const char *s); /* s NULL: nil */
/* Checks op against the current state and applies it, recording undo entries. Returns false,
 * leaving the state as it was, when the op cannot take effect with its recorded result. */
bool model_step(struct model *m, const struct cop *op);
/* The op's effect on one of its keys alone, from *value: exact for single-key ops; a
 * multi-key op's other keys are ignored, except that a DEL's count must allow each of them to
 * have existed or not. False when the result cannot fit (*value may have changed then). A
 * relaxation of model_step: whatever model_step allows, this allows on each key. */
bool model_step_slot(struct model *m, const struct cop *op, uint32_t slot, uint32_t *value);
/* Whether the op, when its result fits, leaves every state as it was: a completed read, or a
 * completed DEL that found nothing. */
bool cop_pure_read(const struct cop *op);
/* Rolls back to an undo-stack size taken before some steps. */
void model_undo(struct model *m, size_t mark);
/* The string of a value id (NULL for nil). */
const char *model_string(const struct model *m, uint32_t value);

/* ---- compile.c: a group's ops in the model's terms ---- */
struct compiled {
    struct cop *ops; /* invocation order */
    size_t nops, nok, nunknown;
    uint32_t *arena;
};

void compile_group(struct compiled *c, struct model *m, const struct history *h,
                   const struct partition *p, const struct group *g);
void compiled_free(struct compiled *c);

/* ---- memo.c: visited configurations ---- */
struct memo {
    uint64_t *hashes;
    uint64_t *offsets; /* a key's [len, words] in the arena, + 1; 0 is empty */
    uint64_t *extras;  /* the chain of the key's extra sets: [next, len, words], + 1 */
    size_t mask, count;
    uint64_t *arena;
    size_t arena_len, arena_cap;
};

enum memo_match {
    MEMO_SUBSET,   /* a stored extra set is a subset of the one given */
    MEMO_SUPERSET, /* a stored extra set is a superset of the one given */
};

void memo_init(struct memo *m);
void memo_free(struct memo *m);
/* Whether (key, some extra set matching extra) was added. Extra sets are in the form of
 * bitset_serialize. */
bool memo_find(const struct memo *m, uint64_t hash, const uint64_t *key, size_t len,
               const uint64_t *extra, enum memo_match match);
void memo_add(struct memo *m, uint64_t hash, const uint64_t *key, size_t len,
              const uint64_t *extra, size_t extra_len);
size_t memo_bytes(const struct memo *m);

/* ---- bitset.c ---- */
struct bitset {
    uint64_t *w;
    size_t nwords;
    size_t lo, hi; /* words below lo are all ones, words from hi on are all zero */
};

void bitset_init(struct bitset *b, size_t nbits);
void bitset_free(struct bitset *b);
void bitset_flip(struct bitset *b, uint32_t bit);
bool bitset_test(const struct bitset *b, uint32_t bit);
/* The first clear bit (nwords * 64 when there is none below that). */
uint32_t bitset_first_zero(struct bitset *b);
/* Writes [lo << 32 | count, count words]: the same sets give the same words. Returns the
 * length, at most nwords + 1. */
size_t bitset_serialize(struct bitset *b, uint64_t *out);
/* Whether the set serialized in a is a subset of the one in b. */
bool bitset_words_subset(const uint64_t *a, const uint64_t *b);

/* ---- keycheck.c: whether one key's ops can still all be placed ---- */
struct key_ops {
    uint32_t *ok, *unknown; /* the key's completed and unknown ops, invocation order */
    uint32_t nok, nunknown;
    struct bitset ok_placed, unknown_placed;
};

struct key_frame {
    uint32_t op, index, value; /* the op placed, its place among the candidates, the value
                                  before it */
    bool forced;
};

struct keycheck {
    const struct compiled *c;
    struct model *m;
    uint32_t nslots;
    struct key_ops *keys;
    uint32_t *pos_start, *pos; /* bit of op in its key slots[j]'s set: pos[pos_start[op] + j] */
    struct memo alive, dead;   /* (key, value, placed ops) with a solution, or without */
    struct key_frame *stack;
    size_t depth, stack_cap;
    uint32_t *cands;
    size_t ncands;
    uint64_t *key;
    size_t key_cap;
    uint64_t *states; /* counts the configurations it visits (the search's budget) */
};

void keycheck_init(struct keycheck *k, const struct compiled *c, struct model *m);
void keycheck_free(struct keycheck *k);
/* The search placed op, or took it back: flips it in the sets of each of its keys. */
void keycheck_flip(struct keycheck *k, uint32_t op);
/* False when the ops on slot cannot all be placed any more from its current value; true
 * also when that takes more than max_steps to find out. */
bool keycheck_feasible(struct keycheck *k, uint32_t slot, uint64_t max_steps);

/* ---- search.c: Wing & Gong / Lowe over one group ---- */
struct search_result {
    enum check_verdict verdict;
    uint64_t states;
    /* CHECK_NOT_LINEARIZABLE: the deepest point reached */
    size_t best_placed;      /* completed ops linearized there */
    uint32_t blocked;        /* cop index of the op that could not be placed */
    uint64_t *best_ok;       /* linearized completed ops (bit per OK cop, call order) */
    uint64_t *best_unknown;  /* linearized unknown ops (bit per unknown cop, call order) */
    uint32_t *best_state;    /* value id per slot there */
    uint32_t dead_slot;      /* a key whose ops alone cannot be placed, or UINT32_MAX */
};

/* What a search uses beyond the plain refinements (forced reads, relevance, twins). */
#define SEARCH_KEYCHECK 1u     /* per-key feasibility (keycheck.c), and each key alone first */
#define SEARCH_UNKNOWN_RULE 2u /* what may follow an unknown op (candidates.c) */

/* Searches one group. Without SEARCH_KEYCHECK (slower), a failing search goes deeper before it
 * fails, which makes a better report. */
void search_group(const struct compiled *c, struct model *m, uint64_t max_states,
                  unsigned flags, struct search_result *r);

/* The search's own state (search.c), shared with candidates.c. */
#define SEARCH_MAIN 0    /* node: head of the completed ops' list */
#define SEARCH_UNKNOWN 1 /* node: head of the unknown ops' list */

struct search_node {
    int32_t prev, next;
    int32_t match; /* a completed op's invocation: its return node; else -1 */
    uint32_t op;   /* cop index */
    uint64_t time;
    bool call;
};

struct search_frame {
    int32_t node;   /* the lifted invocation */
    uint32_t index; /* its place among the candidates there */
    size_t undo_mark;
    bool forced;
};

struct search {
    const struct compiled *c;
    struct model *m;
    struct search_node *nodes;
    uint32_t *bit_of; /* cop -> bit in ok or unknown */
    struct bitset ok, unknown;
    uint64_t ok_hash; /* of the linearized completed ops */
    struct memo memo;
    struct search_frame *stack;
    size_t depth, stack_cap;
    size_t remaining_ok;
    uint64_t *key;
    size_t key_cap;
    int32_t *cands; /* the candidates at the current point, in the order tried */
    size_t ncands;
    int32_t first_return;
    size_t nrelevant;   /* cands[0 .. nrelevant) are worth trying before the first return */
    int32_t *scratch;
    bool *relevant;
    uint32_t *slot_read, *slot_written; /* marked with epoch: keys the relevant ops use */
    uint32_t epoch;
    uint64_t max_states;
    struct search_result *r;
    struct keycheck keys;
    unsigned flags;
};

/* ---- candidates.c: what the search tries at a point, in which order ---- */
/* Gathers the candidates at the current point into s->cands, the relevant ones first. */
void candidates_gather(struct search *s);
/* Whether relevant candidate i is worth lifting (not a twin of one before it, and allowed
 * after the last op lifted). */
bool candidate_worth_trying(const struct search *s, uint32_t i);
void search_result_free(struct search_result *r);

/* ---- report.c ---- */
/* Appends one op as "client 3  [  1200 ..   1450]  SET x 5 -> OK" (client ids and times
 * right-aligned to the widths given); unknown and pending ops end in "-> ?". */
void report_op(struct buf *b, const struct op *op, int client_width, int time_width);
char *report_failure(const struct history *h, const struct partition *p, const struct group *g,
                     const struct compiled *c, const struct model *m,
                     const struct search_result *r);

#endif
