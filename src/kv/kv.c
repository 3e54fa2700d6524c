/* Command execution for the string keyspace: argument validation, Redis 7.0 semantics and
 * reply encoding. The table itself lives in keyspace.c, integer rules in strint.c. */
#include "kv/kv.h"

#include "kv/apply.h"
#include "kv/kv_internal.h"
#include "kv/sessions.h"

#include "common/check.h"
#include "kv/keyspace.h"
#include "common/strint.h"
#include "resp/commands.h"
#include "resp/reply.h"

#include <stdlib.h>
#include <string.h>

/* Redis' default proto-max-bulk-len: APPEND refuses to build a longer string. */
#define KV_MAX_STRING_LEN ((size_t)512 * 1024 * 1024)

#define ERR_SYNTAX "ERR syntax error"
#define ERR_NOT_INTEGER "ERR value is not an integer or out of range"
#define ERR_OVERFLOW "ERR increment or decrement would overflow"
#define ERR_DECR_OVERFLOW "ERR decrement would overflow"
#define ERR_STRING_SIZE "ERR string exceeds maximum allowed size (proto-max-bulk-len)"

/* One command being executed. out is NULL on replicas that only apply the change. */
struct call {
    struct keyspace *ks;
    const struct command_spec *spec;
    uint32_t argc;
    const uint8_t *const *argv;
    const size_t *lens;
    struct buf *out;
    int proto;
};

/* The reply helpers do nothing without an output buffer, so handlers read the same on
 * every replica and the non-replying ones skip all encoding. */
static void reply_ok(const struct call *c)
{
    if (c->out)
        resp_ok(c->out);
}

static void reply_error(const struct call *c, const char *msg)
{
    if (c->out)
        resp_error(c->out, msg);
}

static void reply_int(const struct call *c, int64_t v)
{
    if (c->out)
        resp_int(c->out, v);
}

static void reply_null(const struct call *c)
{
    if (c->out)
        resp_null(c->out, c->proto);
}

/* A value as a bulk string, or null when the key is missing. */
static void reply_entry(const struct call *c, const struct ks_entry *e)
{
    if (!c->out)
        return;
    if (e)
        resp_bulk(c->out, ks_entry_value(e), ks_entry_value_len(e));
    else
        resp_null(c->out, c->proto);
}

/* Redis compares option words as C strings, so an argument such as "nx\0junk" counts as
 * "nx". Doing the same keeps replies identical for every input. */
static bool arg_is(const struct call *c, uint32_t i, const char *word)
{
    const uint8_t *arg = c->argv[i];
    const uint8_t *nul = memchr(arg, 0, c->lens[i]);
    size_t len = nul ? (size_t)(nul - arg) : c->lens[i];
    if (len != strlen(word))
        return false;
    for (size_t j = 0; j < len; j++) {
        uint8_t ch = arg[j] >= 'A' && arg[j] <= 'Z' ? (uint8_t)(arg[j] + 32) : arg[j];
        if (ch != (uint8_t)word[j])
            return false;
    }
    return true;
}

static const struct ks_entry *find_arg(const struct call *c, uint32_t i)
{
    return keyspace_find(c->ks, c->argv[i], c->lens[i]);
}

static void set_arg(const struct call *c, uint32_t key, uint32_t val)
{
    keyspace_set(c->ks, c->argv[key], c->lens[key], c->argv[val], c->lens[val]);
}

static void cmd_get(const struct call *c) { reply_entry(c, find_arg(c, 1)); }

enum { SET_NX = 1, SET_XX = 2, SET_GET = 4 };

/* Expiry options (EX, PX, EXAT, PXAT, KEEPTTL, PERSIST) are not supported yet and get the
 * syntax error every other unknown word gets. NX twice is fine, NX with XX is not. */
static bool parse_set_flags(const struct call *c, unsigned *flags)
{
    *flags = 0;
    for (uint32_t i = 3; i < c->argc; i++) {
        if (arg_is(c, i, "nx") && !(*flags & SET_XX))
            *flags |= SET_NX;
        else if (arg_is(c, i, "xx") && !(*flags & SET_NX))
            *flags |= SET_XX;
        else if (arg_is(c, i, "get"))
            *flags |= SET_GET;
        else
            return false;
    }
    return true;
}

/* Redis 7.0 setGenericCommand: with GET the reply is the old value whether or not the
 * condition let the write happen. */
static void cmd_set(const struct call *c)
{
    unsigned flags;
    if (!parse_set_flags(c, &flags)) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    const struct ks_entry *old = find_arg(c, 1);
    if (flags & SET_GET)
        reply_entry(c, old); /* before the write frees or overwrites the old value */
    if (((flags & SET_NX) && old) || ((flags & SET_XX) && !old)) {
        if (!(flags & SET_GET))
            reply_null(c);
        return;
    }
    set_arg(c, 1, 2);
    if (!(flags & SET_GET))
        reply_ok(c);
}

static void cmd_setnx(const struct call *c)
{
    if (find_arg(c, 1)) {
        reply_int(c, 0);
        return;
    }
    set_arg(c, 1, 2);
    reply_int(c, 1);
}

static void cmd_getset(const struct call *c)
{
    reply_entry(c, find_arg(c, 1));
    set_arg(c, 1, 2);
}

static void cmd_del(const struct call *c)
{
    int64_t deleted = 0;
    for (uint32_t i = 1; i < c->argc; i++)
        deleted += keyspace_delete(c->ks, c->argv[i], c->lens[i]);
    reply_int(c, deleted);
}

static void cmd_exists(const struct call *c)
{
    int64_t found = 0; /* a key named twice counts twice, as in Redis */
    for (uint32_t i = 1; i < c->argc; i++)
        found += find_arg(c, i) != NULL;
    reply_int(c, found);
}

/* Redis incrDecrCommand: a missing key counts as 0 and the result is stored as a string. */
static void incr_by(const struct call *c, int64_t incr)
{
    const struct ks_entry *e = find_arg(c, 1);
    int64_t old = 0;
    if (e && !strint_parse(ks_entry_value(e), ks_entry_value_len(e), &old)) {
        reply_error(c, ERR_NOT_INTEGER);
        return;
    }
    if ((incr < 0 && old < 0 && incr < INT64_MIN - old) ||
        (incr > 0 && old > 0 && incr > INT64_MAX - old)) {
        reply_error(c, ERR_OVERFLOW);
        return;
    }
    int64_t value = old + incr;
    char digits[STRINT_MAX_LEN];
    size_t n = strint_format(value, digits);
    keyspace_set(c->ks, c->argv[1], c->lens[1], digits, n);
    reply_int(c, value);
}

static void cmd_incr(const struct call *c) { incr_by(c, 1); }
static void cmd_decr(const struct call *c) { incr_by(c, -1); }

static void cmd_incrby(const struct call *c)
{
    int64_t incr;
    if (!strint_parse(c->argv[2], c->lens[2], &incr)) {
        reply_error(c, ERR_NOT_INTEGER);
        return;
    }
    incr_by(c, incr);
}

static void cmd_decrby(const struct call *c)
{
    int64_t decr;
    if (!strint_parse(c->argv[2], c->lens[2], &decr)) {
        reply_error(c, ERR_NOT_INTEGER);
        return;
    }
    /* Negating INT64_MIN overflows; Redis rejects it up front with its own message. */
    if (decr == INT64_MIN) {
        reply_error(c, ERR_DECR_OVERFLOW);
        return;
    }
    incr_by(c, -decr);
}

static void cmd_append(const struct call *c)
{
    const struct ks_entry *e = find_arg(c, 1);
    if (e) {
        size_t len = ks_entry_value_len(e);
        if (len > KV_MAX_STRING_LEN || c->lens[2] > KV_MAX_STRING_LEN - len) {
            reply_error(c, ERR_STRING_SIZE);
            return;
        }
    }
    size_t n = keyspace_append(c->ks, c->argv[1], c->lens[1], c->argv[2], c->lens[2]);
    reply_int(c, (int64_t)n);
}

static void cmd_strlen(const struct call *c)
{
    const struct ks_entry *e = find_arg(c, 1);
    reply_int(c, e ? (int64_t)ks_entry_value_len(e) : 0);
}

static void cmd_mget(const struct call *c)
{
    if (c->out)
        resp_array(c->out, c->argc - 1);
    for (uint32_t i = 1; i < c->argc; i++)
        reply_entry(c, find_arg(c, i));
}

static void cmd_mset(const struct call *c)
{
    if (c->argc % 2 == 0) {
        if (c->out)
            command_reply_arity(c->out, c->spec);
        return;
    }
    for (uint32_t i = 1; i < c->argc; i += 2)
        set_arg(c, i, i + 1); /* a repeated key ends with its last value, as in Redis */
    reply_ok(c);
}

static void cmd_dbsize(const struct call *c) { reply_int(c, (int64_t)keyspace_count(c->ks)); }

static void cmd_flushall(const struct call *c)
{
    if (c->argc > 2 || (c->argc == 2 && !arg_is(c, 1, "sync") && !arg_is(c, 1, "async"))) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    keyspace_clear(c->ks);
    reply_ok(c);
}

typedef void (*kv_handler)(const struct call *c);

static const kv_handler kv_handlers[CMD_COUNT] = {
    [CMD_GET] = cmd_get,       [CMD_SET] = cmd_set,         [CMD_SETNX] = cmd_setnx,
    [CMD_GETSET] = cmd_getset, [CMD_DEL] = cmd_del,         [CMD_EXISTS] = cmd_exists,
    [CMD_INCR] = cmd_incr,     [CMD_INCRBY] = cmd_incrby,   [CMD_DECR] = cmd_decr,
    [CMD_DECRBY] = cmd_decrby, [CMD_APPEND] = cmd_append,   [CMD_STRLEN] = cmd_strlen,
    [CMD_MGET] = cmd_mget,     [CMD_MSET] = cmd_mset,       [CMD_DBSIZE] = cmd_dbsize,
    [CMD_FLUSHALL] = cmd_flushall,
};

struct kv *kv_create(void)
{
    struct kv *kv = calloc(1, sizeof *kv);
    CHECK(kv != NULL);
    /* A fixed seed keeps the bucket layout, and so memory use and timing, identical on every
     * replica and in every simulator replay. */
    kv->ks = keyspace_create(0);
    kv->sessions = sessions_create();
    return kv;
}

void kv_destroy(struct kv *kv)
{
    if (!kv)
        return;
    keyspace_destroy(kv->ks);
    sessions_destroy(kv->sessions);
    free(kv);
}

bool kv_destroy_some(struct kv *kv, size_t budget)
{
    if (!keyspace_destroy_some(kv->ks, budget))
        return false;
    kv->ks = NULL;
    kv_destroy(kv);
    return true;
}

void kv_execute(struct kv *kv, uint32_t argc, const uint8_t *const *argv, const size_t *lens,
                struct buf *out, int proto)
{
    CHECK(argc >= 1);
    const struct command_spec *spec = command_lookup(argv[0], lens[0]);
    /* The server filters unknown and local commands and checks arity before ordering a
     * command; answering anyway keeps a caller bug from reading past argv. */
    if (!spec || !(spec->flags & (CMD_FLAG_READ | CMD_FLAG_WRITE)) || !kv_handlers[spec->id]) {
        if (out)
            command_reply_unknown(out, argc, argv, lens);
        return;
    }
    if (!command_arity_ok(spec, argc)) {
        if (out)
            command_reply_arity(out, spec);
        return;
    }
    kv->commands_executed++;
    /* A read changes nothing, so a replica that does not answer it has nothing to do. */
    if (!out && !(spec->flags & CMD_FLAG_WRITE))
        return;
    struct call c = {kv->ks, spec, argc, argv, lens, out, proto};
    kv_handlers[spec->id](&c);
}

void kv_get_stats(const struct kv *kv, struct kv_stats *stats)
{
    stats->keys = keyspace_count(kv->ks);
    stats->bytes = keyspace_bytes(kv->ks);
    stats->commands_executed = kv->commands_executed;
}

uint64_t kv_digest(const struct kv *kv) { return keyspace_digest(kv->ks); }

bool kv_session_admit(struct kv *kv, node_id origin, uint64_t client, uint64_t seq,
                      struct kv_apply_stats *stats)
{
    enum session_verdict v = sessions_admit(kv->sessions, origin, client, seq);
    if (stats && v == SESSION_DUPLICATE)
        stats->duplicates_skipped++;
    if (stats && v == SESSION_GAP)
        stats->gaps_skipped++;
    return v == SESSION_NEXT;
}

size_t kv_session_count(const struct kv *kv) { return sessions_count(kv->sessions); }

size_t kv_session_ended_count(const struct kv *kv)
{
    return sessions_ended_count(kv->sessions);
}
