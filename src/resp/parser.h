/* Incremental RESP request parser (multibulk arrays and inline commands), bounded by limits.
 *
 * The caller keeps an input buffer of bytes read from a connection and calls resp_parse()
 * on it repeatedly. Each call either completes one request (RESP_PARSE_OK: req points into the
 * buffer, *consumed bytes belong to it), needs more bytes (RESP_PARSE_INCOMPLETE: the parser
 * remembers how far it got, so a 512 MB value or a million-argument array is not rescanned on
 * every read), or finds a protocol error (RESP_PARSE_ERROR: err holds the exact Redis text,
 * e.g. "Protocol error: invalid bulk length"; the connection must be closed after replying).
 *
 * After RESP_PARSE_OK the caller must drop the consumed bytes (or advance its offset) before
 * the next call, and must not modify the buffer while a request is half parsed except by
 * appending. The parser stores offsets, not pointers, so the buffer may be reallocated. */
#ifndef CATENA_RESP_PARSER_H
#define CATENA_RESP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct resp_limits {
    size_t max_bulk_bytes;   /* largest bulk string; default 512 MB (Redis proto-max-bulk-len) */
    size_t max_args;         /* largest multibulk count; default 1048576, at most INT32_MAX */
    size_t max_inline_bytes; /* longest inline command line; default 64 KB (Redis) */
};

#define RESP_DEFAULT_MAX_BULK_BYTES (512ull * 1024 * 1024)
#define RESP_DEFAULT_MAX_ARGS (1024 * 1024)
#define RESP_DEFAULT_MAX_INLINE_BYTES (64 * 1024)
#define RESP_UNAUTH_MAX_ARGS 10
#define RESP_UNAUTH_MAX_BULK_BYTES 16384

enum resp_parse_result { RESP_PARSE_INCOMPLETE, RESP_PARSE_OK, RESP_PARSE_ERROR };

/* A parsed request. For multibulk requests argv[i] points into the caller's input buffer; for
 * inline commands into the parser's unquoting scratch area. The argv and lens arrays belong to
 * the parser: everything stays valid until the next resp_parse or resp_parser_free. */
struct resp_request {
    uint32_t argc;
    const uint8_t **argv;
    size_t *lens;
};

struct resp_parser {
    struct resp_limits limits;
    /* Set by the caller while its client has not authenticated: requests are then held to
     * Redis' limits for such clients (RESP_UNAUTH_MAX_ARGS, RESP_UNAUTH_MAX_BULK_BYTES), so a
     * stranger cannot make the server buffer a 512 MB bulk. */
    bool unauthenticated;
    /* private progress state, see parser.c */
    int state;
    size_t pos;          /* where the header or value being parsed starts in the request */
    int64_t expected_args;
    int64_t bulk_len;    /* also: how far the search for a line end got (see parser.c) */
    uint32_t argc;
    size_t *arg_offsets; /* offsets of parsed arguments from the request start */
    size_t *arg_lens;
    const uint8_t **argv_out;
    size_t arg_cap;
    char *inline_copy;   /* inline commands are unquoted into this scratch area */
    size_t inline_cap;
};

void resp_parser_init(struct resp_parser *p, const struct resp_limits *limits);
void resp_parser_free(struct resp_parser *p);
/* data/len: the unconsumed input, starting at the first byte of the current request.
 * *consumed is 0 unless the result is RESP_PARSE_OK; err needs room for 64 bytes. */
enum resp_parse_result resp_parse(struct resp_parser *p, const uint8_t *data, size_t len,
                                  struct resp_request *req, size_t *consumed, char *err,
                                  size_t err_size);

#endif
