/* Unit tests of the incremental RESP request parser (src/resp/parser.c). Most tests describe
 * an outcome as a transcript string (requests, errors, bytes left over) so that feeding the
 * same bytes in different chunkings can be compared with one memcmp. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/buf.h"
#include "resp/parser.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Local xorshift64 so every run sees the same "random" data. */
static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static size_t below(uint64_t *s, size_t bound) { return (size_t)(xorshift(s) % bound); }

/* ---- helpers ---------------------------------------------------------------------------- */

/* Parses one request out of a string with a fresh parser. */
struct one {
    enum resp_parse_result r;
    struct resp_parser p;
    struct resp_request req;
    size_t consumed;
    char err[128];
};

static void parse_one(struct one *o, const struct resp_limits *limits, const void *data,
                      size_t len)
{
    resp_parser_init(&o->p, limits);
    o->r = resp_parse(&o->p, data, len, &o->req, &o->consumed, o->err, sizeof o->err);
}

static void assert_arg(const struct resp_request *req, uint32_t i, const void *s, size_t n)
{
    assert_true(i < req->argc);
    assert_int_equal(req->lens[i], n);
    if (n)
        assert_memory_equal(req->argv[i], s, n);
}

#define ASSERT_ARG_STR(req, i, s) assert_arg((req), (i), (s), strlen(s))

/* Expects the given input to fail with exactly `msg` on a fresh parser. */
static void assert_error(const struct resp_limits *limits, const char *input, const char *msg)
{
    struct one o;
    parse_one(&o, limits, input, strlen(input));
    assert_int_equal(o.r, RESP_PARSE_ERROR);
    assert_string_equal(o.err, msg);
    assert_int_equal(o.consumed, 0);
    resp_parser_free(&o.p);
}

/* Feeds a connection's input in chunks and writes what the parser reported to `log`. With
 * copy_each_call every parse call sees a fresh heap copy of the input, so a parser keeping
 * pointers into an old buffer would be caught (valgrind reports the stale read). */
struct feeder {
    struct resp_parser p;
    struct buf in;
    struct buf log;
    bool failed;
    bool copy_each_call;
};

static void feeder_init(struct feeder *f, const struct resp_limits *limits, bool copy_each_call)
{
    resp_parser_init(&f->p, limits);
    buf_init(&f->in);
    buf_init(&f->log);
    f->failed = false;
    f->copy_each_call = copy_each_call;
}

static void feeder_free(struct feeder *f)
{
    resp_parser_free(&f->p);
    buf_free(&f->in);
    buf_free(&f->log);
}

/* Every argument must lie inside the consumed input (multibulk) or the parser's scratch copy
 * (inline): the parser must never point outside what it was given. */
static void check_bounds(const struct resp_parser *p, const uint8_t *data, size_t consumed,
                         const struct resp_request *req)
{
    for (uint32_t i = 0; i < req->argc; i++) {
        const uint8_t *a = req->argv[i];
        if (data[0] == '*') {
            assert_true(a >= data && a + req->lens[i] <= data + consumed);
        } else {
            const uint8_t *s = (const uint8_t *)p->inline_copy;
            assert_true(a >= s && a + req->lens[i] <= s + p->inline_cap);
        }
    }
}

static void log_request(struct buf *log, const struct resp_request *req)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, "OK %u", (unsigned)req->argc);
    buf_append_str(log, tmp);
    for (uint32_t i = 0; i < req->argc; i++) {
        snprintf(tmp, sizeof tmp, " %zu:", req->lens[i]);
        buf_append_str(log, tmp);
        buf_append(log, req->argv[i], req->lens[i]);
    }
    buf_append_str(log, "\n");
}

/* One parse call on the current input; returns true when another call may make progress. */
static bool feeder_step(struct feeder *f)
{
    uint8_t *data = f->in.data;
    if (f->copy_each_call) {
        data = malloc(f->in.len ? f->in.len : 1);
        assert_non_null(data);
        if (f->in.len)
            memcpy(data, f->in.data, f->in.len);
    }
    struct resp_request req;
    size_t consumed = 12345;
    char err[128];
    enum resp_parse_result r = resp_parse(&f->p, data, f->in.len, &req, &consumed, err,
                                          sizeof err);
    bool again = false;
    if (r == RESP_PARSE_OK) {
        assert_true(consumed > 0 && consumed <= f->in.len);
        check_bounds(&f->p, data, consumed, &req);
        log_request(&f->log, &req);
        buf_consume(&f->in, consumed);
        again = true;
    } else if (r == RESP_PARSE_ERROR) {
        assert_int_equal(consumed, 0);
        buf_append_str(&f->log, "ERR ");
        buf_append_str(&f->log, err);
        buf_append_str(&f->log, "\n");
        f->failed = true;
    } else {
        assert_int_equal(r, RESP_PARSE_INCOMPLETE);
        assert_int_equal(consumed, 0);
    }
    if (f->copy_each_call)
        free(data);
    return again;
}

static void feed(struct feeder *f, const void *chunk, size_t n)
{
    if (f->failed)
        return;
    buf_append(&f->in, chunk, n);
    while (!f->failed && feeder_step(f)) {
    }
}

static void feeder_finish(struct feeder *f)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, "END pending=%zu\n", f->failed ? (size_t)0 : f->in.len);
    buf_append_str(&f->log, tmp);
}

/* Transcript of feeding `in` with chunk boundaries at cuts[0..ncuts) (ascending). */
static void transcript_cuts(struct buf *out, const struct resp_limits *limits, const uint8_t *in,
                            size_t len, const size_t *cuts, size_t ncuts)
{
    struct feeder f;
    feeder_init(&f, limits, true);
    size_t at = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        feed(&f, in + at, end - at);
        at = end;
    }
    feeder_finish(&f);
    buf_append(out, f.log.data, f.log.len);
    feeder_free(&f);
}

static void transcript_random(struct buf *out, const struct resp_limits *limits,
                              const uint8_t *in, size_t len, uint64_t *seed, size_t max_chunk)
{
    struct feeder f;
    feeder_init(&f, limits, true);
    for (size_t at = 0; at < len;) {
        size_t n = 1 + below(seed, max_chunk);
        if (n > len - at)
            n = len - at;
        feed(&f, in + at, n);
        at += n;
    }
    feeder_finish(&f);
    buf_append(out, f.log.data, f.log.len);
    feeder_free(&f);
}

/* Transcripts hold binary values: show them with C escapes on failure. */
static void print_escaped(const char *label, const struct buf *b)
{
    fprintf(stderr, "%s (%zu bytes): \"", label, b->len);
    for (size_t i = 0; i < b->len; i++) {
        uint8_t c = b->data[i];
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"')
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
    fprintf(stderr, "\"\n");
}

static void assert_same(const struct buf *a, const struct buf *b)
{
    if (a->len != b->len || memcmp(a->data, b->data, a->len) != 0) {
        print_escaped("expected", a);
        print_escaped("got", b);
        fail();
    }
}

/* One-shot, byte-by-byte, every single split point and random chunkings must all agree. */
static void assert_split_invariant(const struct resp_limits *limits, const uint8_t *in,
                                   size_t len, const char *expected)
{
    struct buf whole, other;
    buf_init(&whole);
    buf_init(&other);
    transcript_cuts(&whole, limits, in, len, NULL, 0);
    if (expected) {
        struct buf want = {(uint8_t *)expected, strlen(expected), 0};
        assert_same(&want, &whole);
    }
    size_t *cuts = malloc((len ? len : 1) * sizeof *cuts);
    assert_non_null(cuts);
    for (size_t i = 0; i + 1 < len; i++)
        cuts[i] = i + 1;
    buf_clear(&other);
    transcript_cuts(&other, limits, in, len, cuts, len ? len - 1 : 0);
    assert_same(&whole, &other);
    for (size_t k = 0; k <= len; k++) {
        buf_clear(&other);
        transcript_cuts(&other, limits, in, len, &k, 1);
        assert_same(&whole, &other);
    }
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (int round = 0; round < 300; round++) {
        buf_clear(&other);
        transcript_random(&other, limits, in, len, &seed, 1 + (size_t)round % 17);
        assert_same(&whole, &other);
    }
    free(cuts);
    buf_free(&whole);
    buf_free(&other);
}

/* ---- multibulk -------------------------------------------------------------------------- */

static void test_simple_request(void **state)
{
    (void)state;
    const char *in = "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
    struct one o;
    parse_one(&o, NULL, in, strlen(in));
    assert_int_equal(o.r, RESP_PARSE_OK);
    assert_int_equal(o.consumed, strlen(in));
    assert_int_equal(o.req.argc, 2);
    ASSERT_ARG_STR(&o.req, 0, "GET");
    ASSERT_ARG_STR(&o.req, 1, "key");
    assert_ptr_equal(o.req.argv[0], (const uint8_t *)in + 8); /* points into the input */
    resp_parser_free(&o.p);
}

static void test_every_prefix_is_incomplete(void **state)
{
    (void)state;
    const char *in = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n";
    size_t len = strlen(in);
    for (size_t n = 0; n < len; n++) {
        struct one o;
        parse_one(&o, NULL, in, n);
        assert_int_equal(o.r, RESP_PARSE_INCOMPLETE);
        assert_int_equal(o.consumed, 0);
        resp_parser_free(&o.p);
    }
}

static void test_pipelined_requests(void **state)
{
    (void)state;
    const char *in = "*1\r\n$4\r\nPING\r\n*0\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nDBSIZE\r\n*1\r\n$2";
    size_t len = strlen(in), at = 0;
    struct resp_parser p;
    resp_parser_init(&p, NULL);
    struct resp_request req;
    size_t consumed;
    char err[128];
    const uint32_t want_argc[] = {1, 0, 2, 1};
    const size_t want_consumed[] = {14, 4, 22, 8};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(resp_parse(&p, (const uint8_t *)in + at, len - at, &req, &consumed, err,
                                    sizeof err),
                         RESP_PARSE_OK);
        assert_int_equal(req.argc, want_argc[i]);
        assert_int_equal(consumed, want_consumed[i]);
        if (i == 2) {
            ASSERT_ARG_STR(&req, 0, "ECHO");
            ASSERT_ARG_STR(&req, 1, "hi");
        }
        if (i == 3)
            ASSERT_ARG_STR(&req, 0, "DBSIZE");
        at += consumed;
    }
    assert_int_equal(resp_parse(&p, (const uint8_t *)in + at, len - at, &req, &consumed, err,
                                sizeof err),
                     RESP_PARSE_INCOMPLETE);
    assert_int_equal(consumed, 0);
    resp_parser_free(&p);
}

static const char split_input[] =
    "*3\r\n$3\r\nSET\r\n$5\r\nk\r\n\0y\r\n$0\r\n\r\n"
    "PING\r\n"
    "*0\r\n"
    "\r\n"
    "SET \"a b\" 'c\\'d' \"\\x41\\n\"\n"
    "*-1\r\n"
    "*1\r\n$4\r\nQUIT\r\n"
    "  \t \r\n"
    "*2\r\n$3\r\nGET\r\n$2\r\nab\r\n"
    "*2\r\n$3\r\nGE";

static void test_split_at_every_point(void **state)
{
    (void)state;
    static const char expected[] = "OK 3 3:SET 5:k\r\n\0y 0:\n"
                                   "OK 1 4:PING\n"
                                   "OK 0\n"
                                   "OK 0\n"
                                   "OK 4 3:SET 3:a b 3:c'd 2:A\n\n"
                                   "OK 0\n"
                                   "OK 1 4:QUIT\n"
                                   "OK 0\n"
                                   "OK 2 3:GET 2:ab\n"
                                   "END pending=10\n";
    /* The expected transcript holds a NUL, so compare it with its real length. */
    struct buf whole, want = {(uint8_t *)expected, sizeof expected - 1, 0};
    buf_init(&whole);
    transcript_cuts(&whole, NULL, (const uint8_t *)split_input, sizeof split_input - 1, NULL, 0);
    assert_same(&want, &whole);
    buf_free(&whole);
    assert_split_invariant(NULL, (const uint8_t *)split_input, sizeof split_input - 1, NULL);
}

static void test_split_ending_in_error(void **state)
{
    (void)state;
    const char *in = "*1\r\n$4\r\nPING\r\n*2\r\n$1\r\na\r\n:5\r\n*1\r\n$4\r\nPING\r\n";
    assert_split_invariant(NULL, (const uint8_t *)in, strlen(in),
                           "OK 1 4:PING\nERR Protocol error: expected '$', got ':'\nEND pending=0\n");
    const char *in2 = "PING\r\nECHO \"unterminated\r\nPING\r\n";
    assert_split_invariant(NULL, (const uint8_t *)in2, strlen(in2),
                           "OK 1 4:PING\nERR Protocol error: unbalanced quotes in request\n"
                           "END pending=0\n");
}

static void test_binary_safe_values(void **state)
{
    (void)state;
    static const uint8_t in[] = "*2\r\n$6\r\n\r\n\0\r\0\n\r\n$3\r\n$\r\n\r\n";
    struct one o;
    parse_one(&o, NULL, in, sizeof in - 1);
    assert_int_equal(o.r, RESP_PARSE_OK);
    assert_int_equal(o.consumed, sizeof in - 1);
    assert_int_equal(o.req.argc, 2);
    assert_arg(&o.req, 0, "\r\n\0\r\0\n", 6);
    assert_arg(&o.req, 1, "$\r\n", 3);
    resp_parser_free(&o.p);
}

static void test_empty_bulk(void **state)
{
    (void)state;
    const char *in = "*3\r\n$0\r\n\r\n$0\r\n\r\n$1\r\nx\r\n";
    struct one o;
    parse_one(&o, NULL, in, strlen(in));
    assert_int_equal(o.r, RESP_PARSE_OK);
    assert_int_equal(o.consumed, strlen(in));
    assert_int_equal(o.req.argc, 3);
    assert_int_equal(o.req.lens[0], 0);
    assert_int_equal(o.req.lens[1], 0);
    ASSERT_ARG_STR(&o.req, 2, "x");
    resp_parser_free(&o.p);
}

/* A 1 MB value arriving in many reads, into a buffer that is reallocated as it grows. */
static void test_large_value_many_reads(void **state)
{
    (void)state;
    const size_t vlen = 1024 * 1024;
    struct buf in;
    buf_init(&in);
    char hdr[64];
    snprintf(hdr, sizeof hdr, "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%zu\r\n", vlen);
    buf_append_str(&in, hdr);
    size_t value_at = in.len;
    uint64_t seed = 42;
    for (size_t i = 0; i < vlen; i++)
        buf_put_u8(&in, (uint8_t)xorshift(&seed));
    buf_append(&in, "\r\n*1\r\n$4\r\nPING\r\n", 16);

    for (int pass = 0; pass < 2; pass++) {
        struct feeder f;
        feeder_init(&f, NULL, false);
        size_t step = pass == 0 ? 4096 : 1; /* pass 1: one byte per read, 1M calls */
        for (size_t at = 0; at < in.len; at += step) {
            size_t n = in.len - at < step ? in.len - at : step;
            feed(&f, in.data + at, n);
        }
        feeder_finish(&f);
        /* Transcript: "OK 3 3:SET 3:big 1048576:<value>\nOK 1 4:PING\nEND pending=0\n" */
        const char *head = "OK 3 3:SET 3:big 1048576:";
        size_t hlen = strlen(head);
        assert_true(f.log.len > hlen + vlen);
        assert_memory_equal(f.log.data, head, hlen);
        assert_memory_equal(f.log.data + hlen, in.data + value_at, vlen);
        const char *tail = "\nOK 1 4:PING\nEND pending=0\n";
        assert_int_equal(f.log.len, hlen + vlen + strlen(tail));
        assert_memory_equal(f.log.data + hlen + vlen, tail, strlen(tail));
        feeder_free(&f);
    }
    buf_free(&in);
}

/* A bare huge count must not allocate room for all its arguments up front. */
static void test_huge_count_allocates_lazily(void **state)
{
    (void)state;
    struct resp_parser p;
    resp_parser_init(&p, NULL);
    const char *in = "*1000000\r\n$1\r\na\r\n$1\r\nb\r\n";
    struct resp_request req;
    size_t consumed;
    char err[128];
    assert_int_equal(resp_parse(&p, (const uint8_t *)in, 10, &req, &consumed, err, sizeof err),
                     RESP_PARSE_INCOMPLETE);
    assert_true(p.arg_cap <= 1024);
    assert_int_equal(resp_parse(&p, (const uint8_t *)in, strlen(in), &req, &consumed, err,
                                sizeof err),
                     RESP_PARSE_INCOMPLETE);
    assert_true(p.arg_cap <= 1024);
    resp_parser_free(&p);
}

/* Redis skips the two bytes after a bulk value and the byte after a header's '\r' unchecked;
 * so do we. This pins the behaviour down in case someone wants to change it. */
static void test_trailers_skipped_like_redis(void **state)
{
    (void)state;
    const char *in = "*1\r\n$4\r\nPINGxx";
    struct one o;
    parse_one(&o, NULL, in, strlen(in));
    assert_int_equal(o.r, RESP_PARSE_OK);
    assert_int_equal(o.consumed, strlen(in));
    ASSERT_ARG_STR(&o.req, 0, "PING");
    resp_parser_free(&o.p);
}

/* ---- inline ----------------------------------------------------------------------------- */

/* Parses one inline line and compares its arguments with a NULL-terminated list. */
static void assert_inline(const char *line, const char *const *args)
{
    struct one o;
    parse_one(&o, NULL, line, strlen(line));
    assert_int_equal(o.r, RESP_PARSE_OK);
    assert_int_equal(o.consumed, strlen(line));
    uint32_t n = 0;
    while (args[n])
        n++;
    assert_int_equal(o.req.argc, n);
    for (uint32_t i = 0; i < n; i++)
        ASSERT_ARG_STR(&o.req, i, args[i]);
    resp_parser_free(&o.p);
}

static void test_inline_plain(void **state)
{
    (void)state;
    assert_inline("SET key value\r\n", (const char *const[]){"SET", "key", "value", NULL});
    assert_inline("  PING \t \n", (const char *const[]){"PING", NULL});
    assert_inline("a\tb\rc\r\n", (const char *const[]){"a", "b", "c", NULL});
    assert_inline("a\\nb\n", (const char *const[]){"a\\nb", NULL}); /* no escapes unquoted */
    assert_inline("a\vb\n", (const char *const[]){"a\vb", NULL});   /* \v ends no argument */
    assert_inline("x\r\r\n", (const char *const[]){"x", NULL});
}

static void test_inline_quotes(void **state)
{
    (void)state;
    assert_inline("SET \"a b\" 'c d'\r\n", (const char *const[]){"SET", "a b", "c d", NULL});
    assert_inline("\"\\n\\r\\t\\b\\a\\\\\\\"\\q\"\n",
                  (const char *const[]){"\n\r\t\b\a\\\"q", NULL});
    assert_inline("\"\\x41\\x6a\\xZZ\\x4\"\n", (const char *const[]){"AjxZZx4", NULL});
    assert_inline("'it\\'s' 'a\\nb' 'x\"y'\n",
                  (const char *const[]){"it's", "a\\nb", "x\"y", NULL});
    assert_inline("\"\" ''\n", (const char *const[]){"", "", NULL});
    assert_inline("foo\"bar baz\"\n", (const char *const[]){"foobar baz", NULL});
    assert_inline("\"a\"\tb\n", (const char *const[]){"a", "b", NULL});
    assert_inline("\"a\"\n", (const char *const[]){"a", NULL});
    assert_inline("\"a\"\r\n", (const char *const[]){"a", NULL});
    /* NUL bytes are ordinary bytes, hex escapes can produce them too. */
    struct one o;
    static const char nul_line[] = "a\0b \"\\x00\"\n";
    parse_one(&o, NULL, nul_line, sizeof nul_line - 1);
    assert_int_equal(o.r, RESP_PARSE_OK);
    assert_int_equal(o.req.argc, 2);
    assert_arg(&o.req, 0, "a\0b", 3);
    assert_arg(&o.req, 1, "\0", 1);
    resp_parser_free(&o.p);
}

static void test_inline_unbalanced_quotes(void **state)
{
    (void)state;
    const char *msg = "Protocol error: unbalanced quotes in request";
    assert_error(NULL, "SET \"abc\r\n", msg);
    assert_error(NULL, "SET 'abc\n", msg);
    assert_error(NULL, "SET \"a\"b\n", msg);
    assert_error(NULL, "SET 'a'b\n", msg);
    assert_error(NULL, "\"abc\\\"\n", msg);
    assert_error(NULL, "\"abc\\\n", msg);
}

static void test_empty_requests(void **state)
{
    (void)state;
    const char *inputs[] = {"*0\r\n", "*-1\r\n", "*-7\r\n", "\r\n", "\n", "   \t\r\n"};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        struct one o;
        parse_one(&o, NULL, inputs[i], strlen(inputs[i]));
        assert_int_equal(o.r, RESP_PARSE_OK);
        assert_int_equal(o.req.argc, 0);
        assert_int_equal(o.consumed, strlen(inputs[i]));
        resp_parser_free(&o.p);
    }
    struct one o;
    parse_one(&o, NULL, "", 0);
    assert_int_equal(o.r, RESP_PARSE_INCOMPLETE);
    resp_parser_free(&o.p);
}

/* ---- errors and limits ------------------------------------------------------------------ */

static void test_multibulk_errors(void **state)
{
    (void)state;
    const char *mb = "Protocol error: invalid multibulk length";
    const char *bl = "Protocol error: invalid bulk length";
    const char *bad_counts[] = {"*abc\r\n", "*\r\n", "*01\r\n", "*+1\r\n", "*-0\r\n",
                                "*1 \r\n", "*-\r\n", "*2147483648\r\n", "*99999999999999999999\r\n",
                                "*1048577\r\n"};
    for (size_t i = 0; i < sizeof bad_counts / sizeof bad_counts[0]; i++)
        assert_error(NULL, bad_counts[i], mb);
    assert_error(NULL, "*1\r\nX\r\n", "Protocol error: expected '$', got 'X'");
    assert_error(NULL, "*2\r\n$1\r\na\r\n*1\r\n", "Protocol error: expected '$', got '*'");
    const char *bad_lens[] = {"*1\r\n$-1\r\n", "*1\r\n$abc\r\n", "*1\r\n$\r\n", "*1\r\n$01\r\n",
                              "*1\r\n$536870913\r\n", "*1\r\n$1x\r\n"};
    for (size_t i = 0; i < sizeof bad_lens / sizeof bad_lens[0]; i++)
        assert_error(NULL, bad_lens[i], bl);
    /* argc is 32 bits: even a limit above that cannot let a bigger count through */
    const struct resp_limits unlimited = {.max_args = SIZE_MAX};
    assert_error(&unlimited, "*2147483648\r\n", mb);
    /* the largest legal values are accepted and merely wait for data */
    struct one o;
    parse_one(&o, NULL, "*1048576\r\n$536870912\r\n", 22);
    assert_int_equal(o.r, RESP_PARSE_INCOMPLETE);
    resp_parser_free(&o.p);
}

/* A line that grows past the limit without its terminator is an error; right at the limit it
 * still waits. Defaults: 64 KB. */
static void test_too_big_lines_default(void **state)
{
    (void)state;
    size_t lim = RESP_DEFAULT_MAX_INLINE_BYTES;
    char *in = malloc(lim + 16);
    assert_non_null(in);
    const struct {
        const char *prefix;
        const char *msg;
    } cases[] = {
        {"", "Protocol error: too big inline request"},
        {"*", "Protocol error: too big mbulk count string"},
        {"*1\r\n$", "Protocol error: too big bulk count string"},
    };
    for (size_t c = 0; c < 3; c++) {
        size_t plen = strlen(cases[c].prefix);
        size_t line_start = c == 2 ? 4 : 0;
        memcpy(in, cases[c].prefix, plen);
        memset(in + plen, '1', lim + 16 - plen);
        struct one o;
        parse_one(&o, NULL, in, line_start + lim);
        assert_int_equal(o.r, RESP_PARSE_INCOMPLETE);
        o.r = resp_parse(&o.p, (const uint8_t *)in, line_start + lim + 1, &o.req, &o.consumed,
                         o.err, sizeof o.err);
        assert_int_equal(o.r, RESP_PARSE_ERROR);
        assert_string_equal(o.err, cases[c].msg);
        resp_parser_free(&o.p);
    }
    free(in);
}

static void test_limits(void **state)
{
    (void)state;
    const struct resp_limits lim = {.max_bulk_bytes = 10, .max_args = 3, .max_inline_bytes = 16};
    struct one o;
    const char *ok = "*3\r\n$10\r\n0123456789\r\n$0\r\n\r\n$1\r\nx\r\n";
    parse_one(&o, &lim, ok, strlen(ok));
    assert_int_equal(o.r, RESP_PARSE_OK);
    assert_int_equal(o.req.argc, 3);
    ASSERT_ARG_STR(&o.req, 0, "0123456789");
    resp_parser_free(&o.p);
    assert_error(&lim, "*4\r\n", "Protocol error: invalid multibulk length");
    assert_error(&lim, "*1\r\n$11\r\n", "Protocol error: invalid bulk length");

    assert_error(&lim, "AAAAAAAAAAAAAAAAA", "Protocol error: too big inline request");
    parse_one(&o, &lim, "AAAAAAAAAAAAAAAA", 16);
    assert_int_equal(o.r, RESP_PARSE_INCOMPLETE);
    resp_parser_free(&o.p);
    /* Like Redis, a longer line is fine when its newline is already there. */
    parse_one(&o, &lim, "AAAAAAAAAAAAAAAAAAAA B\n", 23);
    assert_int_equal(o.r, RESP_PARSE_OK);
    assert_int_equal(o.req.argc, 2);
    resp_parser_free(&o.p);

    assert_error(&lim, "*11111111111111111", "Protocol error: too big mbulk count string");
    assert_error(&lim, "*1\r\n$11111111111111111", "Protocol error: too big bulk count string");
    /* the search is for '\r': a '\r' as the last byte waits for its '\n' instead of failing */
    parse_one(&o, &lim, "*1\r\n$1111111111111111\r", 22);
    assert_int_equal(o.r, RESP_PARSE_INCOMPLETE);
    resp_parser_free(&o.p);
}

/* Before AUTH, Redis takes at most 10 arguments and 16 KB bulks, checked from the headers. */
static void test_unauthenticated_limits(void **state)
{
    (void)state;
    const char *inputs[] = {"*10\r\n$16384\r\n", "*11\r\n", "*1\r\n$16385\r\n"};
    const enum resp_parse_result results[] = {RESP_PARSE_INCOMPLETE, RESP_PARSE_ERROR,
                                              RESP_PARSE_ERROR};
    const char *errors[] = {NULL, "Protocol error: unauthenticated multibulk length",
                            "Protocol error: unauthenticated bulk length"};
    for (int i = 0; i < 3; i++) {
        struct one o;
        resp_parser_init(&o.p, NULL);
        o.p.unauthenticated = true;
        o.r = resp_parse(&o.p, (const uint8_t *)inputs[i], strlen(inputs[i]), &o.req,
                         &o.consumed, o.err, sizeof o.err);
        assert_int_equal(o.r, results[i]);
        if (errors[i])
            assert_string_equal(o.err, errors[i]);
        resp_parser_free(&o.p);
        /* The same input from an authenticated client is only incomplete. */
        parse_one(&o, NULL, inputs[i], strlen(inputs[i]));
        assert_int_equal(o.r, RESP_PARSE_INCOMPLETE);
        resp_parser_free(&o.p);
    }
}

static void test_limits_defaults(void **state)
{
    (void)state;
    struct resp_parser p;
    resp_parser_init(&p, NULL);
    assert_int_equal(p.limits.max_bulk_bytes, RESP_DEFAULT_MAX_BULK_BYTES);
    assert_int_equal(p.limits.max_args, RESP_DEFAULT_MAX_ARGS);
    assert_int_equal(p.limits.max_inline_bytes, RESP_DEFAULT_MAX_INLINE_BYTES);
    resp_parser_free(&p);
    const struct resp_limits some = {.max_args = 7};
    resp_parser_init(&p, &some);
    assert_int_equal(p.limits.max_bulk_bytes, RESP_DEFAULT_MAX_BULK_BYTES);
    assert_int_equal(p.limits.max_args, 7);
    assert_int_equal(p.limits.max_inline_bytes, RESP_DEFAULT_MAX_INLINE_BYTES);
    resp_parser_free(&p);
}

/* ---- fuzz ------------------------------------------------------------------------------- */

/* Mostly protocol characters, so random strings reach deep parser states. */
static void random_input(uint64_t *seed, uint8_t *out, size_t n)
{
    static const char alphabet[] = "*$\r\n\r\n0123456789-\"'\\x ab\t";
    for (size_t i = 0; i < n; i++)
        out[i] = below(seed, 4) ? (uint8_t)alphabet[below(seed, sizeof alphabet - 1)]
                                : (uint8_t)xorshift(seed);
}

/* Valid pipelines with a few bytes flipped. */
static size_t mutated_input(uint64_t *seed, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (n + 40 < cap && below(seed, 4)) {
        size_t argc = 1 + below(seed, 3);
        n += (size_t)snprintf((char *)out + n, cap - n, "*%zu\r\n", argc);
        for (size_t a = 0; a < argc && n + 12 < cap; a++) {
            size_t vlen = below(seed, 6);
            n += (size_t)snprintf((char *)out + n, cap - n, "$%zu\r\n", vlen);
            for (size_t i = 0; i < vlen + 2 && n < cap; i++)
                out[n++] = i < vlen ? (uint8_t)('a' + below(seed, 26)) : (uint8_t)"\r\n"[i - vlen];
        }
    }
    for (size_t flips = below(seed, 3); flips > 0 && n > 0; flips--)
        out[below(seed, n)] = (uint8_t)xorshift(seed);
    return n;
}

static void test_fuzz(void **state)
{
    (void)state;
    uint64_t seed = 0x2545f4914f6cdd1dull;
    uint8_t in[256];
    struct buf whole, chunked;
    buf_init(&whole);
    buf_init(&chunked);
    for (int iter = 0; iter < 6000; iter++) {
        size_t len;
        if (iter % 2) {
            len = mutated_input(&seed, in, sizeof in);
        } else {
            len = 1 + below(&seed, sizeof in);
            random_input(&seed, in, len);
        }
        /* Inputs are far below 64 KB, so no "too big" error can depend on the chunking: any
         * chunking must give the one-shot transcript (feeders assert the other properties). */
        buf_clear(&whole);
        buf_clear(&chunked);
        transcript_cuts(&whole, NULL, in, len, NULL, 0);
        transcript_random(&chunked, NULL, in, len, &seed, 1 + below(&seed, 8));
        assert_same(&whole, &chunked);
        /* Small limits exercise the limit paths; only the generic properties are checked. */
        const struct resp_limits small = {.max_bulk_bytes = 3, .max_args = 2,
                                          .max_inline_bytes = 5};
        buf_clear(&chunked);
        transcript_random(&chunked, &small, in, len, &seed, 1 + below(&seed, 8));
    }
    buf_free(&whole);
    buf_free(&chunked);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_request),
        cmocka_unit_test(test_every_prefix_is_incomplete),
        cmocka_unit_test(test_pipelined_requests),
        cmocka_unit_test(test_split_at_every_point),
        cmocka_unit_test(test_split_ending_in_error),
        cmocka_unit_test(test_binary_safe_values),
        cmocka_unit_test(test_empty_bulk),
        cmocka_unit_test(test_large_value_many_reads),
        cmocka_unit_test(test_huge_count_allocates_lazily),
        cmocka_unit_test(test_trailers_skipped_like_redis),
        cmocka_unit_test(test_inline_plain),
        cmocka_unit_test(test_inline_quotes),
        cmocka_unit_test(test_inline_unbalanced_quotes),
        cmocka_unit_test(test_empty_requests),
        cmocka_unit_test(test_multibulk_errors),
        cmocka_unit_test(test_too_big_lines_default),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_limits_defaults),
        cmocka_unit_test(test_unauthenticated_limits),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
