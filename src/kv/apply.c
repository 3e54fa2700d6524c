#include "kv/apply.h"

#include "kv/kv_internal.h"

void kv_apply_start(struct kv *kv, struct kv_apply_cursor *cur, uint64_t instance,
                    const uint8_t *data, size_t len)
{
    sessions_purge(kv->sessions, instance);
    cur->instance = instance;
    cur->r = reader_make(data, len);
    cur->left = len ? reader_u32(&cur->r) : 0; /* an empty payload is a no-op instance */
}

enum kv_apply_result kv_apply_some(struct kv *kv, struct kv_apply_cursor *cur, uint32_t max,
                                   const struct kv_reply_target *target,
                                   struct command_args *scratch, struct kv_apply_stats *stats)
{
    for (; cur->left > 0 && max > 0; cur->left--, max--) {
        struct command_header h;
        if (cur->r.failed || !command_decode_next(&cur->r, &h, scratch) ||
            h.origin == NODE_NONE) {
            stats->malformed_batches++;
            return KV_APPLY_MALFORMED;
        }
        if (command_stale(&h, cur->instance)) {
            stats->stale_skipped++;
            continue;
        }
        uint64_t bound = 0;
        enum command_kind kind = command_kind_of(&h, scratch->argv, scratch->lens, &bound);
        if (kind == COMMAND_KIND_END_ALL) {
            stats->sessions_ended += sessions_end_all(kv->sessions, h.origin, bound,
                                                      cur->instance);
            continue;
        }
        if (!kv_session_admit(kv, h.origin, h.client, h.seq, stats))
            continue;
        if (kind == COMMAND_KIND_END) {
            sessions_end(kv->sessions, h.origin, h.client, cur->instance);
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
    return cur->left ? KV_APPLY_MORE : KV_APPLY_DONE;
}

bool kv_apply_batch(struct kv *kv, uint64_t instance, const uint8_t *data, size_t len,
                    const struct kv_reply_target *target, struct command_args *scratch,
                    struct kv_apply_stats *stats)
{
    struct kv_apply_cursor cur;
    kv_apply_start(kv, &cur, instance, data, len);
    return kv_apply_some(kv, &cur, UINT32_MAX, target, scratch, stats) == KV_APPLY_DONE;
}
