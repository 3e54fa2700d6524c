#include "core/held_sends.h"

#include "common/check.h"
#include "common/reader.h"

void held_init(struct held_sends *h)
{
    buf_init(&h->bytes);
    h->pos = 0;
}

void held_free(struct held_sends *h) { buf_free(&h->bytes); }

void held_clear(struct held_sends *h)
{
    buf_clear(&h->bytes);
    h->pos = 0;
}

bool held_empty(const struct held_sends *h) { return h->pos == h->bytes.len; }

void held_push(struct held_sends *h, uint64_t waits_for, node_id to, const uint8_t *data,
               size_t len)
{
    CHECK(len <= UINT32_MAX);
    buf_put_u64(&h->bytes, waits_for);
    buf_put_u32(&h->bytes, to);
    buf_put_u32(&h->bytes, (uint32_t)len);
    buf_append(&h->bytes, data, len);
}

void held_release(struct held_sends *h, uint64_t durable, held_send_fn send, void *ctx)
{
    while (!held_empty(h)) {
        struct reader r = reader_make(h->bytes.data + h->pos, h->bytes.len - h->pos);
        uint64_t waits_for = reader_u64(&r);
        node_id to = reader_u32(&r);
        uint32_t len = reader_u32(&r);
        const uint8_t *data = reader_bytes(&r, len);
        CHECK(!r.failed);
        if (waits_for > durable)
            break;
        send(ctx, to, data, len);
        h->pos += r.pos;
    }
    if (held_empty(h))
        held_clear(h);
}
