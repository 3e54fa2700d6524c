/* Reads the text format of README.md back into a history, rejecting any malformed line with a
 * message that names it. */
#include "check/history.h"

#include "check/internal.h"
#include "common/strint.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct token {
    char *s;
    bool quoted;
};

struct open_ops { /* a client's invoked, not yet completed ops (FIFO) */
    size_t *ops;
    size_t count, cap, head;
};

struct reader {
    struct history *h;
    size_t line_no;
    uint64_t last_time;
    struct token *tokens;
    size_t ntokens, tokens_cap;
    struct u64map client_index;
    struct open_ops *clients;
    size_t nclients, clients_cap;
    char *err;
    size_t err_size;
};

static bool fail(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool fail(struct reader *r, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(r->err, r->err_size, "line %zu: %s", r->line_no, msg);
    return false;
}

static void clear_tokens(struct reader *r)
{
    for (size_t i = 0; i < r->ntokens; i++)
        free(r->tokens[i].s);
    r->ntokens = 0;
}

static bool tokenize(struct reader *r, const char *line)
{
    line += strspn(line, " \t");
    if (line[0] == '#')
        return true; /* a comment */
    struct buf tok;
    buf_init(&tok);
    char msg[160];
    enum token_kind kind;
    while ((kind = token_next(&line, &tok, msg, sizeof msg)) == TOKEN_WORD ||
           kind == TOKEN_QUOTED) {
        ck_grow(&r->tokens, &r->tokens_cap, r->ntokens + 1, sizeof *r->tokens);
        r->tokens[r->ntokens++] = (struct token){ck_strdup((const char *)tok.data),
                                                 kind == TOKEN_QUOTED};
    }
    buf_free(&tok);
    return kind == TOKEN_END || fail(r, "%s", msg);
}

static bool is_word(const struct token *t, const char *word)
{
    return !t->quoted && strcmp(t->s, word) == 0;
}

static bool parse_u64(const struct token *t, uint64_t *v)
{
    if (t->quoted || t->s[0] < '0' || t->s[0] > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(t->s, &end, 10);
    if (*end || errno || x == UINT64_MAX)
        return false;
    *v = x;
    return true;
}

static struct open_ops *open_ops_of(struct reader *r, uint32_t client)
{
    uint32_t index;
    if (!u64map_get(&r->client_index, client, &index)) {
        ck_grow(&r->clients, &r->clients_cap, r->nclients + 1, sizeof *r->clients);
        index = (uint32_t)r->nclients++;
        r->clients[index] = (struct open_ops){0};
        u64map_put(&r->client_index, client, index);
    }
    return &r->clients[index];
}

/* A string operand: a key or a value, never the bare word nil. */
static bool operand(struct reader *r, size_t i, const char **s)
{
    if (is_word(&r->tokens[i], "nil"))
        return fail(r, "nil is not a key or a value here (write \"nil\" for the string)");
    *s = r->tokens[i].s;
    return true;
}

static bool parse_op_type(struct reader *r, enum op_type *type)
{
    const struct token *t = &r->tokens[3];
    for (int i = OP_GET; i <= OP_MGET; i++) {
        if (!t->quoted && strcasecmp(t->s, ck_op_name((enum op_type)i)) == 0) {
            *type = (enum op_type)i;
            return true;
        }
    }
    return fail(r, "unknown operation '%s' (GET SET INCR APPEND DEL MSET MGET)", t->s);
}

static bool operand_count_ok(enum op_type type, size_t n)
{
    switch (type) {
    case OP_GET:
    case OP_INCR: return n == 1;
    case OP_SET:
    case OP_APPEND: return n == 2;
    case OP_DEL:
    case OP_MGET: return n >= 1;
    case OP_MSET: return n >= 2 && n % 2 == 0;
    }
    return false;
}

static bool read_invoke(struct reader *r, uint64_t time, uint32_t client)
{
    enum op_type type = OP_GET;
    if (r->ntokens < 4)
        return fail(r, "invoke needs an operation");
    if (!parse_op_type(r, &type))
        return false;
    size_t n = r->ntokens - 4;
    if (!operand_count_ok(type, n) || n / (ck_op_takes_args(type) ? 2 : 1) > UINT32_MAX)
        return fail(r, "wrong number of arguments for %s", ck_op_name(type));
    uint32_t nkeys = (uint32_t)(ck_op_takes_args(type) ? n / 2 : n);
    const char **keys = ck_calloc(nkeys, sizeof *keys);
    const char **args = ck_op_takes_args(type) ? ck_calloc(nkeys, sizeof *args) : NULL;
    bool ok = true;
    for (uint32_t i = 0; ok && i < nkeys; i++) {
        size_t at = 4 + (args ? 2 * (size_t)i : i);
        ok = operand(r, at, &keys[i]) && (!args || operand(r, at + 1, &args[i]));
    }
    if (ok) {
        size_t index = history_invoke(r->h, client, time, type, nkeys, keys, args);
        struct open_ops *q = open_ops_of(r, client);
        ck_grow(&q->ops, &q->cap, q->count + 1, sizeof *q->ops);
        q->ops[q->count++] = index;
    }
    free(keys);
    free(args);
    return ok;
}

static bool read_values(struct reader *r, const struct op *op, const char **values)
{
    if (r->ntokens - 3 != op->nkeys)
        return fail(r, "%s returns %" PRIu32 " value%s", ck_op_name(op->type), op->nkeys,
                    op->nkeys == 1 ? "" : "s");
    for (uint32_t i = 0; i < op->nkeys; i++)
        values[i] = is_word(&r->tokens[3 + i], "nil") ? NULL : r->tokens[3 + i].s;
    return true;
}

static bool read_ok(struct reader *r, uint64_t time, size_t index)
{
    const struct op *op = &r->h->ops[index];
    int64_t integer = 0;
    const char **values = NULL;
    bool ok = true;
    if (op->type == OP_GET || op->type == OP_MGET) {
        values = ck_calloc(op->nkeys, sizeof *values);
        ok = read_values(r, op, values);
    } else if (op->type == OP_SET || op->type == OP_MSET) {
        ok = r->ntokens == 3 || fail(r, "%s returns nothing but ok", ck_op_name(op->type));
    } else {
        const struct token *t = r->ntokens == 4 ? &r->tokens[3] : NULL;
        ok = (t && !t->quoted && strint_parse((const uint8_t *)t->s, strlen(t->s), &integer)) ||
             fail(r, "%s returns one integer", ck_op_name(op->type));
    }
    if (ok)
        history_complete(r->h, index, time, OUTCOME_OK, integer, values);
    free(values);
    return ok;
}

static bool read_completion(struct reader *r, const char *event, uint64_t time, bool timed,
                            uint32_t client)
{
    struct open_ops *q = open_ops_of(r, client);
    if (q->head == q->count)
        return fail(r, "client %" PRIu32 " has no operation in progress", client);
    size_t index = q->ops[q->head];
    if (strcmp(event, "ok") == 0 || strcmp(event, "fail") == 0) {
        if (!timed)
            return fail(r, "%s needs a time", event);
        if (event[0] == 'f' && r->ntokens != 3)
            return fail(r, "fail takes no result");
        if (event[0] == 'o' && !read_ok(r, time, index))
            return false;
        if (event[0] == 'f')
            history_complete(r->h, index, time, OUTCOME_FAIL, 0, NULL);
    } else {
        if (r->ntokens != 3)
            return fail(r, "%s takes no result", event);
        if (event[0] == 'u')
            history_complete(r->h, index, 0, OUTCOME_UNKNOWN, 0, NULL);
    }
    q->head++;
    return true;
}

static bool read_line(struct reader *r)
{
    if (r->ntokens == 0)
        return true;
    if (r->ntokens < 3)
        return fail(r, "expected <time> <client> <event> ...");
    uint64_t time = 0, client;
    bool timed = !is_word(&r->tokens[0], "-");
    if (timed && !parse_u64(&r->tokens[0], &time))
        return fail(r, "bad time '%s' (a decimal number, or - for unknown and pending)",
                    r->tokens[0].s);
    if (!parse_u64(&r->tokens[1], &client) || client > UINT32_MAX)
        return fail(r, "bad client '%s' (a decimal number below 2^32)", r->tokens[1].s);
    if (timed && time < r->last_time)
        return fail(r, "time %" PRIu64 " goes back (previous %" PRIu64 ")", time, r->last_time);
    const struct token *event = &r->tokens[2];
    if (timed)
        r->last_time = time;
    if (is_word(event, "invoke"))
        return timed ? read_invoke(r, time, (uint32_t)client) : fail(r, "invoke needs a time");
    if (is_word(event, "ok") || is_word(event, "fail") || is_word(event, "unknown") ||
        is_word(event, "pending"))
        return read_completion(r, event->s, time, timed, (uint32_t)client);
    return fail(r, "unknown event '%s' (invoke, ok, fail, unknown, pending)", event->s);
}

static void reader_free(struct reader *r)
{
    clear_tokens(r);
    free(r->tokens);
    for (size_t i = 0; i < r->nclients; i++)
        free(r->clients[i].ops);
    free(r->clients);
    u64map_free(&r->client_index);
}

bool history_read(FILE *in, struct history *h, char *err, size_t err_size)
{
    struct reader r = {.h = h, .err = err, .err_size = err_size};
    u64map_init(&r.client_index);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    bool ok = true;
    while (ok && (len = getline(&line, &cap, in)) >= 0) {
        r.line_no++;
        if (strlen(line) != (size_t)len)
            ok = fail(&r, "contains a NUL byte");
        else
            ok = tokenize(&r, line) && read_line(&r);
        clear_tokens(&r);
    }
    if (ok && ferror(in))
        ok = fail(&r, "read error");
    free(line);
    reader_free(&r);
    return ok;
}
