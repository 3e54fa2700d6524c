#include "kv/apply.h"

#include "kv/sessions.h"

bool kv_apply_batch(struct kv *kv, const uint8_t *data, size_t len,
                    const struct kv_reply_target *target, struct command_args *scratch,
                    struct kv_apply_stats *stats)
{
    if (len == 0)
        return true; /* a no-op instance */
    struct reader r = reader_make(data, len);
    uint32_t count = reader_u32(&r);
    for (uint32_t i = 0; i < count; i++) {
        struct command_header h;
        if (r.failed || !command_decode_next(&r, &h, scratch) || h.origin == NODE_NONE) {
            stats->malformed_batches++;
            return false;
        }
        if (!kv_session_admit(kv, h.origin, h.client, h.seq, stats))
            continue;
        stats->commands_executed++;
        int proto = 2;
        struct buf *out = NULL;
        if (target && h.origin == target->self)
            out = target->begin(target->ctx, &h, &proto);
        kv_execute(kv, h.argc, scratch->argv, scratch->lens, out, proto);
        if (out)
            target->done(target->ctx, &h);
    }
    return true;
}
