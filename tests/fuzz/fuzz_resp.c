/* libFuzzer target: the RESP request parser (src/resp/parser.c) and what a replica does with
 * each request it yields: the command table's checks, the command record that travels in the
 * log, and the kv state machine executing it.
 *
 * Input: one options byte, then the bytes a client sends on one connection. Options: bit 0 the
 * client is unauthenticated (Redis' smaller limits), bit 1 tiny configured limits (so the
 * "too big" paths are reached by short inputs), bit 2 RESP3 replies; bits 3-7 seed how the
 * stream is cut into reads.
 *
 * What must hold: no crash, memory error, leak or undefined behaviour; every request lies
 * within the bytes it consumed and respects the limits; with the default limits, parsing the
 * stream in one piece and in reads of random sizes gives exactly the same requests and the
 * same error (the parser is incremental: a request must not depend on how it arrived); a
 * replica that encodes replies and one that does not reach the same keyspace (digest), and
 * its snapshot loads back to that keyspace. */
#include "common/buf.h"
#include "core/command.h"
#include "fuzz_check.h"
#include "kv/apply.h"
#include "kv/kv.h"
#include "resp/commands.h"
#include "resp/parser.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { OPT_UNAUTH = 1, OPT_TINY_LIMITS = 2, OPT_RESP3 = 4 };

/* Two replicas' state machines: a (the client's replica: replies encoded) and b (another). */
struct replicas {
    struct kv *a, *b;
    struct command_args scratch;
    struct kv_apply_stats stats_a, stats_b;
    struct buf record, reply;
    uint64_t seq;
    int proto;
};

static struct buf *reply_begin(void *ctx, const struct command_header *h, int *proto)
{
    (void)h;
    struct replicas *r = ctx;
    *proto = r->proto;
    buf_clear(&r->reply);
    return &r->reply;
}

static void reply_done(void *ctx, const struct command_header *h)
{
    (void)h;
    struct replicas *r = ctx;
    /* Every reply is one RESP value: it has a type byte and ends with CRLF. */
    FUZZ_CHECK(r->reply.len >= 3);
    FUZZ_CHECK(memchr("+-:$*_,#%~=(!>|", r->reply.data[0], 15) != NULL);
    FUZZ_CHECK(memcmp(r->reply.data + r->reply.len - 2, "\r\n", 2) == 0);
}

/* What a replica does with a request: refuse unknown commands and wrong arities with Redis'
 * errors, and run data commands as a one-command batch through both state machines. Local
 * commands (PING, INFO, ...) need a server and are left out. */
static void dispatch(struct replicas *r, const struct resp_request *req)
{
    if (req->argc == 0)
        return; /* an empty request: skipped, as Redis does */
    buf_clear(&r->reply);
    const struct command_spec *spec = command_lookup(req->argv[0], req->lens[0]);
    if (!spec) {
        command_reply_unknown(&r->reply, req->argc, req->argv, req->lens);
        FUZZ_CHECK(r->reply.len > 0 && r->reply.data[0] == '-');
        return;
    }
    if (!command_arity_ok(spec, req->argc)) {
        command_reply_arity(&r->reply, spec);
        FUZZ_CHECK(r->reply.len > 0 && r->reply.data[0] == '-');
        return;
    }
    if (!(spec->flags & (CMD_FLAG_READ | CMD_FLAG_WRITE)))
        return;
    struct command_header h = {.origin = 1, .client = 7, .seq = ++r->seq, .argc = req->argc};
    buf_clear(&r->record);
    buf_put_u32(&r->record, 1);
    command_encode(&r->record, &h, req->argv, req->lens);
    struct kv_reply_target target = {.begin = reply_begin, .done = reply_done, .ctx = r,
                                     .self = 1};
    uint64_t executed = r->stats_a.commands_executed;
    FUZZ_CHECK(kv_apply_batch(r->a, r->seq, r->record.data, r->record.len, &target, &r->scratch,
                              &r->stats_a));
    FUZZ_CHECK(r->stats_a.commands_executed == executed + 1);
    FUZZ_CHECK(kv_apply_batch(r->b, r->seq, r->record.data, r->record.len, NULL, &r->scratch,
                              &r->stats_b));
}

/* Appends one request (or the error) to a transcript, checking it against the input. */
static void record_request(struct buf *transcript, const struct resp_parser *p,
                           const struct resp_request *req, const uint8_t *in, size_t consumed,
                           bool unauth)
{
    buf_put_u32(transcript, req->argc);
    buf_put_u64(transcript, consumed);
    for (uint32_t i = 0; i < req->argc; i++) {
        FUZZ_CHECK(req->argv[i] != NULL || req->lens[i] == 0);
        const uint8_t *arg = req->argv[i];
        bool in_input = arg >= in && arg + req->lens[i] <= in + consumed;
        bool in_scratch = p->inline_copy && arg >= (const uint8_t *)p->inline_copy &&
                          arg + req->lens[i] <= (const uint8_t *)p->inline_copy + p->inline_cap;
        FUZZ_CHECK(req->lens[i] == 0 || in_input || in_scratch);
        if (in[0] == '*') {
            FUZZ_CHECK(in_input || req->lens[i] == 0);
            FUZZ_CHECK(req->lens[i] <= p->limits.max_bulk_bytes);
            FUZZ_CHECK(!unauth || req->lens[i] <= RESP_UNAUTH_MAX_BULK_BYTES);
        }
        buf_put_u64(transcript, req->lens[i]);
        buf_append(transcript, arg, req->lens[i]);
    }
    FUZZ_CHECK(in[0] != '*' || req->argc <= p->limits.max_args);
    FUZZ_CHECK(in[0] != '*' || !unauth || req->argc <= RESP_UNAUTH_MAX_ARGS);
}

static void parser_start(struct resp_parser *p, uint8_t options)
{
    struct resp_limits tiny = {.max_bulk_bytes = 16, .max_args = 4, .max_inline_bytes = 32};
    resp_parser_init(p, options & OPT_TINY_LIMITS ? &tiny : NULL);
    p->unauthenticated = options & OPT_UNAUTH;
}

/* Parses the whole stream at once, dispatching every request; ends at the first error. */
static void parse_whole(uint8_t options, const uint8_t *in, size_t len, struct buf *transcript,
                        struct replicas *r)
{
    struct resp_parser p;
    parser_start(&p, options);
    size_t at = 0;
    for (;;) {
        struct resp_request req;
        size_t consumed;
        char err[64];
        enum resp_parse_result res = resp_parse(&p, in + at, len - at, &req, &consumed, err,
                                                sizeof err);
        if (res == RESP_PARSE_INCOMPLETE)
            break;
        if (res == RESP_PARSE_ERROR) {
            FUZZ_CHECK(strncmp(err, "Protocol error: ", 16) == 0);
            buf_append_str(transcript, err);
            break;
        }
        FUZZ_CHECK(consumed > 0 && consumed <= len - at);
        record_request(transcript, &p, &req, in + at, consumed, options & OPT_UNAUTH);
        dispatch(r, &req);
        at += consumed;
    }
    resp_parser_free(&p);
}

/* The same stream arriving in reads of pseudo-random sizes, into a buffer that moves. */
static void parse_in_reads(uint8_t options, const uint8_t *in, size_t len,
                           struct buf *transcript)
{
    struct resp_parser p;
    parser_start(&p, options);
    struct buf conn;
    buf_init(&conn);
    uint32_t rng = 2463534242u ^ (uint32_t)(options >> 3);
    size_t fed = 0;
    bool done = false;
    while (!done && fed < len) {
        rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5; /* xorshift32 */
        size_t chunk = 1 + rng % (rng & 1 ? 7 : 300);
        if (chunk > len - fed)
            chunk = len - fed;
        buf_append(&conn, in + fed, chunk);
        fed += chunk;
        for (;;) {
            struct resp_request req;
            size_t consumed;
            char err[64];
            enum resp_parse_result res =
                resp_parse(&p, conn.data, conn.len, &req, &consumed, err, sizeof err);
            if (res == RESP_PARSE_INCOMPLETE)
                break;
            if (res == RESP_PARSE_ERROR) {
                buf_append_str(transcript, err);
                done = true;
                break;
            }
            record_request(transcript, &p, &req, conn.data, consumed, options & OPT_UNAUTH);
            buf_consume(&conn, consumed);
        }
    }
    buf_free(&conn);
    resp_parser_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t options = data[0];
    const uint8_t *in = data + 1;
    size_t len = size - 1;
    struct replicas r = {.a = kv_create(), .b = kv_create(),
                         .proto = options & OPT_RESP3 ? 3 : 2};
    buf_init(&r.record);
    buf_init(&r.reply);
    struct buf whole, reads;
    buf_init(&whole);
    buf_init(&reads);
    parse_whole(options, in, len, &whole, &r);
    parse_in_reads(options, in, len, &reads);
    /* Tiny limits make "too big" errors depend on how much has arrived, as in Redis. */
    if (!(options & OPT_TINY_LIMITS))
        FUZZ_CHECK(fuzz_bufs_equal(&whole, &reads));

    FUZZ_CHECK(kv_digest(r.a) == kv_digest(r.b));
    struct buf snapshot;
    buf_init(&snapshot);
    kv_snapshot_write(r.a, &snapshot);
    char err[128];
    struct kv *loaded = kv_snapshot_read(snapshot.data, snapshot.len, err, sizeof err);
    FUZZ_CHECK(loaded != NULL);
    FUZZ_CHECK(kv_digest(loaded) == kv_digest(r.a));
    kv_destroy(loaded);
    buf_free(&snapshot);

    buf_free(&whole);
    buf_free(&reads);
    buf_free(&r.record);
    buf_free(&r.reply);
    command_args_free(&r.scratch);
    kv_destroy(r.a);
    kv_destroy(r.b);
    return 0;
}
