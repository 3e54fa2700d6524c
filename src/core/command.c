#include "core/command.h"

#include "common/check.h"

#include <stdlib.h>
#include <string.h>

void command_encode(struct buf *out, const struct command_header *h, const uint8_t *const *argv,
                    const size_t *lens)
{
    size_t total = COMMAND_HEADER_BYTES;
    for (uint32_t i = 0; i < h->argc; i++)
        total += 4 + lens[i];
    buf_reserve(out, total);
    buf_put_u32(out, h->origin);
    buf_put_u64(out, h->client);
    buf_put_u64(out, h->seq);
    buf_put_u64(out, h->submitted);
    buf_put_u32(out, h->argc);
    for (uint32_t i = 0; i < h->argc; i++) {
        CHECK(lens[i] <= UINT32_MAX);
        buf_put_u32(out, (uint32_t)lens[i]);
        buf_append(out, argv[i], lens[i]);
    }
}

bool command_peek(const struct reader *r, struct command_header *h)
{
    struct reader copy = *r;
    h->origin = reader_u32(&copy);
    h->client = reader_u64(&copy);
    h->seq = reader_u64(&copy);
    h->submitted = reader_u64(&copy);
    h->argc = reader_u32(&copy);
    return !copy.failed;
}

bool command_decode(struct reader *r, struct command_header *h, const uint8_t **argv,
                    size_t *lens, uint32_t max_args)
{
    if (!command_peek(r, h) || h->argc > max_args || h->argc == 0)
        return false;
    r->pos += COMMAND_HEADER_BYTES;
    for (uint32_t i = 0; i < h->argc; i++) {
        lens[i] = reader_u32(r);
        argv[i] = reader_bytes(r, lens[i]);
        if (r->failed)
            return false;
    }
    return true;
}

void command_args_free(struct command_args *a)
{
    free(a->argv);
    free(a->lens);
    *a = (struct command_args){0};
}

bool command_decode_next(struct reader *r, struct command_header *h, struct command_args *a)
{
    if (!command_peek(r, h) || h->argc > COMMAND_MAX_ARGS)
        return false;
    /* Each argument needs at least its 4-byte length: refuse counts the input cannot hold
     * before allocating for them. */
    if ((uint64_t)h->argc * 4 > reader_left(r))
        return false;
    if (h->argc > a->cap) {
        a->argv = realloc(a->argv, sizeof *a->argv * h->argc);
        a->lens = realloc(a->lens, sizeof *a->lens * h->argc);
        CHECK(a->argv && a->lens);
        a->cap = h->argc;
    }
    return command_decode(r, h, a->argv, a->lens, a->cap);
}

void command_stamp(struct buf *b, size_t record_at, uint64_t submitted)
{
    buf_patch_u64(b, record_at + COMMAND_SUBMITTED_AT, submitted);
}

void command_encode_end(struct buf *out, node_id origin, uint64_t client, uint64_t seq)
{
    const uint8_t *argv[1] = {(const uint8_t *)COMMAND_END};
    size_t lens[1] = {COMMAND_END_LEN};
    struct command_header h = {.origin = origin, .client = client, .seq = seq, .argc = 1};
    command_encode(out, &h, argv, lens);
}

void command_encode_end_all(struct buf *out, node_id origin, uint64_t bound)
{
    static const uint8_t bound_placeholder[8];
    const uint8_t *argv[2] = {(const uint8_t *)COMMAND_END_ALL, bound_placeholder};
    size_t lens[2] = {COMMAND_END_ALL_LEN, 8};
    struct command_header h = {.origin = origin, .argc = 2}; /* client 0, seq 0 */
    command_encode(out, &h, argv, lens);
    buf_patch_u64(out, out->len - 8, bound); /* the last argument */
}

enum command_kind command_kind_of(const struct command_header *h, const uint8_t *const *argv,
                                  const size_t *lens, uint64_t *bound)
{
    if (h->argc == 1 && lens[0] == COMMAND_END_LEN &&
        memcmp(argv[0], COMMAND_END, COMMAND_END_LEN) == 0)
        return COMMAND_KIND_END;
    if (h->argc == 2 && lens[0] == COMMAND_END_ALL_LEN && lens[1] == 8 &&
        memcmp(argv[0], COMMAND_END_ALL, COMMAND_END_ALL_LEN) == 0) {
        struct reader r = reader_make(argv[1], 8);
        *bound = reader_u64(&r);
        return COMMAND_KIND_END_ALL;
    }
    return COMMAND_KIND_CLIENT;
}
