/* Incremental RESP request parser, a port of Redis' processMultibulkBuffer and
 * processInlineBuffer (networking.c) with sdssplitargs' quoting rules.
 *
 * The request being parsed always starts at data[0]; every position kept between calls is an
 * offset from there, so the caller may move or reallocate its buffer. Where Redis is lenient we
 * are lenient the same way (the byte after a header's '\r' and the two bytes after a bulk value
 * are skipped unchecked), so clients see identical behaviour. */
#include "resp/parser.h"

#include "common/strint.h"

#include "common/check.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parser states. In the three "looking for a line end" states bulk_len is otherwise unused, so
 * it records how many bytes after pos were already searched: a header or inline line that
 * arrives a byte at a time is then scanned once overall, not once per call. */
enum {
    ST_START = 0,   /* nothing of the current request seen yet */
    ST_MBULK_COUNT, /* looking for the '\r' ending "*<count>" */
    ST_BULK_HEADER, /* looking for the '\r' ending "$<len>" at pos */
    ST_BULK_DATA,   /* waiting for bulk_len bytes plus CRLF at pos */
    ST_INLINE,      /* looking for the '\n' ending an inline command */
};

/* What one parsing step found; STEP_NEXT means "go on with the new state". */
enum step { STEP_INCOMPLETE, STEP_DONE, STEP_ERROR, STEP_NEXT };

enum line_scan { LINE_NONE, LINE_PARTIAL, LINE_FOUND };

/* Scratch kept between requests up to these sizes; one huge request must not pin its memory. */
#define ARGS_KEEP 1024
#define INLINE_KEEP ((size_t)RESP_DEFAULT_MAX_INLINE_BYTES)
/* Longest decimal string Redis' string2ll accepts is 20 chars (LONG_STR_SIZE - 1). */

void resp_parser_init(struct resp_parser *p, const struct resp_limits *limits)
{
    *p = (struct resp_parser){0};
    if (limits)
        p->limits = *limits;
    if (p->limits.max_bulk_bytes == 0)
        p->limits.max_bulk_bytes = RESP_DEFAULT_MAX_BULK_BYTES;
    if (p->limits.max_args == 0)
        p->limits.max_args = RESP_DEFAULT_MAX_ARGS;
    if (p->limits.max_inline_bytes == 0)
        p->limits.max_inline_bytes = RESP_DEFAULT_MAX_INLINE_BYTES;
}

static void free_args(struct resp_parser *p)
{
    free(p->arg_offsets);
    free(p->arg_lens);
    free(p->argv_out);
    p->arg_offsets = NULL;
    p->arg_lens = NULL;
    p->argv_out = NULL;
    p->arg_cap = 0;
}

static void free_inline(struct resp_parser *p)
{
    free(p->inline_copy);
    p->inline_copy = NULL;
    p->inline_cap = 0;
}

void resp_parser_free(struct resp_parser *p)
{
    free_args(p);
    free_inline(p);
    struct resp_limits limits = p->limits;
    *p = (struct resp_parser){0};
    p->limits = limits; /* so a freed parser can be reused as if freshly initialised */
}

/* Forgets the current request; scratch memory stays for the next one. */
static void reset_progress(struct resp_parser *p)
{
    p->state = ST_START;
    p->pos = 0;
    p->expected_args = 0;
    p->bulk_len = 0;
    p->argc = 0;
}

static void set_error(char *err, size_t err_size, const char *msg)
{
    if (err && err_size)
        snprintf(err, err_size, "%s", msg);
}

/* Looks for `ch` ending the line that starts at pos, resuming where the last call stopped.
 * With need_after, the line is complete only once one more byte (the '\n' of "\r\n") is in:
 * that is Redis' rule for header lines. *at receives the offset of `ch`. */
static enum line_scan find_line(struct resp_parser *p, const uint8_t *data, size_t len,
                                uint8_t ch, bool need_after, size_t *at)
{
    size_t from = p->pos + (size_t)p->bulk_len;
    const uint8_t *hit = from < len ? memchr(data + from, ch, len - from) : NULL;
    if (!hit) {
        p->bulk_len = (int64_t)(len - p->pos);
        return LINE_NONE;
    }
    *at = (size_t)(hit - data);
    p->bulk_len = (int64_t)(*at - p->pos); /* resume at `ch` itself if its follower is missing */
    if (need_after && *at + 1 >= len)
        return LINE_PARTIAL;
    return LINE_FOUND;
}

/* Makes room for one more argument. Multibulk growth never exceeds the announced count, and
 * starts small, so a bare "*1000000" header costs nothing until arguments really arrive. */
static void grow_args(struct resp_parser *p)
{
    if (p->argc < p->arg_cap)
        return;
    CHECK(p->argc < UINT32_MAX);
    size_t cap = p->arg_cap ? p->arg_cap * 2 : 16;
    if (p->expected_args > 0 && cap > (size_t)p->expected_args)
        cap = (size_t)p->expected_args;
    p->arg_offsets = realloc(p->arg_offsets, cap * sizeof *p->arg_offsets);
    p->arg_lens = realloc(p->arg_lens, cap * sizeof *p->arg_lens);
    p->argv_out = realloc(p->argv_out, cap * sizeof *p->argv_out);
    CHECK(p->arg_offsets != NULL && p->arg_lens != NULL && p->argv_out != NULL);
    p->arg_cap = cap;
}

static void push_arg(struct resp_parser *p, size_t offset, size_t len)
{
    grow_args(p);
    p->arg_offsets[p->argc] = offset;
    p->arg_lens[p->argc] = len;
    p->argc++;
}

static enum step step_mbulk_count(struct resp_parser *p, const uint8_t *data, size_t len,
                                  char *err, size_t err_size)
{
    size_t cr;
    enum line_scan ls = find_line(p, data, len, '\r', true, &cr);
    if (ls == LINE_NONE && len - p->pos > p->limits.max_inline_bytes) {
        set_error(err, err_size, "Protocol error: too big mbulk count string");
        return STEP_ERROR;
    }
    if (ls != LINE_FOUND)
        return STEP_INCOMPLETE;
    int64_t n;
    /* argc is a uint32_t; Redis likewise caps the count at INT_MAX. */
    if (!strint_parse(data + 1, cr - 1, &n) || n > INT32_MAX ||
        (n > 0 && (uint64_t)n > p->limits.max_args)) {
        set_error(err, err_size, "Protocol error: invalid multibulk length");
        return STEP_ERROR;
    }
    if (p->unauthenticated && n > RESP_UNAUTH_MAX_ARGS) {
        set_error(err, err_size, "Protocol error: unauthenticated multibulk length");
        return STEP_ERROR;
    }
    p->pos = cr + 2;
    if (n <= 0)
        return STEP_DONE; /* "*0" and "*-1": an empty request the caller skips */
    p->expected_args = n;
    p->bulk_len = 0;
    p->state = ST_BULK_HEADER;
    return STEP_NEXT;
}

static enum step step_bulk_header(struct resp_parser *p, const uint8_t *data, size_t len,
                                  char *err, size_t err_size)
{
    size_t cr;
    enum line_scan ls = find_line(p, data, len, '\r', true, &cr);
    if (ls == LINE_NONE && len - p->pos > p->limits.max_inline_bytes) {
        set_error(err, err_size, "Protocol error: too big bulk count string");
        return STEP_ERROR;
    }
    if (ls != LINE_FOUND)
        return STEP_INCOMPLETE;
    if (data[p->pos] != '$') {
        if (err && err_size)
            snprintf(err, err_size, "Protocol error: expected '$', got '%c'", data[p->pos]);
        return STEP_ERROR;
    }
    int64_t n;
    if (!strint_parse(data + p->pos + 1, cr - p->pos - 1, &n) || n < 0 ||
        (uint64_t)n > p->limits.max_bulk_bytes) {
        set_error(err, err_size, "Protocol error: invalid bulk length");
        return STEP_ERROR;
    }
    if (p->unauthenticated && n > RESP_UNAUTH_MAX_BULK_BYTES) {
        set_error(err, err_size, "Protocol error: unauthenticated bulk length");
        return STEP_ERROR;
    }
    p->pos = cr + 2;
    p->bulk_len = n;
    p->state = ST_BULK_DATA;
    return STEP_NEXT;
}

/* A value is taken only when it and its CRLF are complete, in O(1) per call however big. */
static enum step step_bulk_data(struct resp_parser *p, size_t len)
{
    size_t avail = len - p->pos;
    if (avail < 2 || avail - 2 < (uint64_t)p->bulk_len)
        return STEP_INCOMPLETE;
    push_arg(p, p->pos, (size_t)p->bulk_len);
    p->pos += (size_t)p->bulk_len + 2;
    if ((int64_t)p->argc == p->expected_args)
        return STEP_DONE;
    p->bulk_len = 0;
    p->state = ST_BULK_HEADER;
    return STEP_NEXT;
}

/* isspace() in the C locale, which sdssplitargs uses between arguments and after quotes. */
static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int hex_value(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static uint8_t unescape(uint8_t c)
{
    switch (c) {
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'b': return '\b';
    case 'a': return '\a';
    default: return c;
    }
}

/* One argument of sdssplitargs, starting at a non-space s[*ip]. Writes the unescaped bytes at
 * dst[*op]; never more bytes than it reads, so dst needs only the line's length. Returns false
 * on unbalanced quotes, or a closing quote followed by something other than a space. */
static bool read_token(const uint8_t *s, size_t n, size_t *ip, uint8_t *dst, size_t *op)
{
    size_t i = *ip, o = *op;
    uint8_t quote = 0;
    for (;;) {
        if (i == n) {
            if (quote)
                return false;
            break;
        }
        uint8_t c = s[i];
        if (quote == '"' && c == '\\' && i + 3 < n && s[i + 1] == 'x' &&
            hex_value(s[i + 2]) >= 0 && hex_value(s[i + 3]) >= 0) {
            dst[o++] = (uint8_t)(hex_value(s[i + 2]) * 16 + hex_value(s[i + 3]));
            i += 4;
        } else if (quote == '"' && c == '\\' && i + 1 < n) {
            dst[o++] = unescape(s[i + 1]);
            i += 2;
        } else if (quote == '\'' && c == '\\' && i + 1 < n && s[i + 1] == '\'') {
            dst[o++] = '\'';
            i += 2;
        } else if (quote && c == quote) {
            if (i + 1 < n && !is_space(s[i + 1]))
                return false;
            i++;
            break;
        } else if (!quote && (c == ' ' || c == '\n' || c == '\r' || c == '\t')) {
            i++; /* unquoted arguments end only at these four, not at \v or \f */
            break;
        } else if (!quote && (c == '"' || c == '\'')) {
            quote = c; /* a quote may open mid-argument: foo"bar" is "foobar" */
            i++;
        } else {
            dst[o++] = c;
            i++;
        }
    }
    *ip = i;
    *op = o;
    return true;
}

/* sdssplitargs over line[0, n): arguments are unescaped into inline_copy and recorded as
 * offsets into it. */
static bool split_inline(struct resp_parser *p, const uint8_t *line, size_t n)
{
    if (p->inline_cap < n) {
        free(p->inline_copy);
        p->inline_copy = malloc(n);
        CHECK(p->inline_copy != NULL);
        p->inline_cap = n;
    }
    size_t i = 0, o = 0;
    for (;;) {
        while (i < n && is_space(line[i]))
            i++;
        if (i == n)
            return true;
        size_t start = o;
        if (!read_token(line, n, &i, (uint8_t *)p->inline_copy, &o))
            return false;
        push_arg(p, start, o - start);
    }
}

static enum step step_inline(struct resp_parser *p, const uint8_t *data, size_t len,
                             char *err, size_t err_size)
{
    size_t nl;
    if (find_line(p, data, len, '\n', false, &nl) == LINE_NONE) {
        if (len - p->pos > p->limits.max_inline_bytes) {
            set_error(err, err_size, "Protocol error: too big inline request");
            return STEP_ERROR;
        }
        return STEP_INCOMPLETE;
    }
    size_t end = nl > 0 && data[nl - 1] == '\r' ? nl - 1 : nl;
    if (!split_inline(p, data, end)) {
        set_error(err, err_size, "Protocol error: unbalanced quotes in request");
        return STEP_ERROR;
    }
    p->pos = nl + 1;
    return STEP_DONE;
}

/* Starts a new request: picks its kind from the first byte, as Redis does, and drops scratch
 * memory a previous giant request left behind (its argv is no longer in use). */
static void start_request(struct resp_parser *p, uint8_t first)
{
    if (p->arg_cap > ARGS_KEEP)
        free_args(p);
    if (p->inline_cap > INLINE_KEEP)
        free_inline(p);
    reset_progress(p);
    p->state = first == '*' ? ST_MBULK_COUNT : ST_INLINE;
}

static enum step run_steps(struct resp_parser *p, const uint8_t *data, size_t len, char *err,
                           size_t err_size)
{
    enum step s;
    do {
        CHECK(p->state >= ST_MBULK_COUNT && p->state <= ST_INLINE);
        switch (p->state) {
        case ST_MBULK_COUNT: s = step_mbulk_count(p, data, len, err, err_size); break;
        case ST_BULK_HEADER: s = step_bulk_header(p, data, len, err, err_size); break;
        case ST_BULK_DATA: s = step_bulk_data(p, len); break;
        case ST_INLINE: s = step_inline(p, data, len, err, err_size); break;
        default: s = STEP_ERROR; break;
        }
    } while (s == STEP_NEXT);
    return s;
}

enum resp_parse_result resp_parse(struct resp_parser *p, const uint8_t *data, size_t len,
                                  struct resp_request *req, size_t *consumed, char *err,
                                  size_t err_size)
{
    /* The caller only appends while a request is half parsed: a shorter input is a bug. */
    CHECK(len >= p->pos);
    *req = (struct resp_request){0};
    *consumed = 0;
    if (err && err_size)
        err[0] = '\0';
    if (p->state == ST_START) {
        if (len == 0)
            return RESP_PARSE_INCOMPLETE;
        start_request(p, data[0]);
    }
    enum step s = run_steps(p, data, len, err, err_size);
    if (s == STEP_INCOMPLETE)
        return RESP_PARSE_INCOMPLETE;
    if (s == STEP_ERROR) {
        reset_progress(p);
        return RESP_PARSE_ERROR;
    }
    /* Pointers are made only now, from offsets, because data may move between calls. */
    const uint8_t *base = p->state == ST_INLINE ? (const uint8_t *)p->inline_copy : data;
    for (uint32_t i = 0; i < p->argc; i++)
        p->argv_out[i] = base + p->arg_offsets[i];
    req->argc = p->argc;
    req->argv = p->argv_out;
    req->lens = p->arg_lens;
    *consumed = p->pos;
    reset_progress(p);
    return RESP_PARSE_OK;
}
