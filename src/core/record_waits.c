#include "core/record_waits.h"

#include "common/reader.h"

void record_waits_init(struct record_waits *w)
{
    buf_init(&w->bytes);
    w->pos = 0;
    w->emitted = w->durable = 0;
    w->checkpoints_issued = w->checkpoint_required = 0;
}

void record_waits_free(struct record_waits *w) { buf_free(&w->bytes); }

void record_waits_clear(struct record_waits *w)
{
    buf_clear(&w->bytes);
    w->pos = 0;
    w->emitted = w->durable = 0;
    w->checkpoints_issued = w->checkpoint_required = 0;
}

void record_waits_push(struct record_waits *w, uint64_t seq)
{
    buf_put_u64(&w->bytes, seq);
    buf_put_u64(&w->bytes, w->checkpoint_required);
    w->emitted++;
}

uint64_t record_waits_push_checkpoint(struct record_waits *w, uint64_t seq, bool compaction)
{
    uint64_t number = ++w->checkpoints_issued;
    if (!compaction)
        w->checkpoint_required = number;
    record_waits_push(w, seq);
    return number;
}

bool record_waits_settle(struct record_waits *w, uint64_t synced, uint64_t checkpoints_durable)
{
    uint64_t before = w->durable;
    while (w->pos < w->bytes.len) {
        struct reader r = reader_make(w->bytes.data + w->pos, 16);
        uint64_t seq = reader_u64(&r);
        uint64_t checkpoint = reader_u64(&r);
        if (seq > synced || checkpoint > checkpoints_durable)
            break;
        w->pos += 16;
        w->durable++;
    }
    if (w->pos == w->bytes.len) {
        buf_clear(&w->bytes);
        w->pos = 0;
    }
    return w->durable > before;
}
