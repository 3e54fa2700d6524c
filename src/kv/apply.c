#include "kv/apply.h"

#include "kv/kv_internal.h"

bool kv_apply_batch(struct kv *kv, uint64_t instance, const uint8_t *data, size_t len,
                    const struct kv_reply_target *target, struct command_args *scratch,
                    struct kv_apply_stats *stats)
{
    sessions_purge(kv->sessions, instance);
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
        if (command_stale(&h, instance)) {
            stats->stale_skipped++;
            continue;
        }
        uint64_t bound = 0;
        enum command_kind kind = command_kind_of(&h, scratch->argv, scratch->lens, &bound);
        if (kind == COMMAND_KIND_END_ALL) {
            stats->sessions_ended += sessions_end_all(kv->sessions, h.origin, bound, instance);
            continue;
        }
        if (!kv_session_admit(kv, h.origin, h.client, h.seq, stats))
            continue;
        if (kind == COMMAND_KIND_END) {
            sessions_end(kv->sessions, h.origin, h.client, instance);
            stats->sessions_ended++;
            continue;
        }
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
