#include "kv/apply.h"

#include "kv/kv_internal.h"

#include <string.h>

/* A session control record (core/command.h): argument 0 is `name`, with argc arguments. */
static bool is_control(const struct command_header *h, const struct command_args *a,
                       const char *name, size_t len, uint32_t argc)
{
    return h->argc == argc && a->lens[0] == len && memcmp(a->argv[0], name, len) == 0;
}

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
        if (is_control(&h, scratch, COMMAND_END_ALL, COMMAND_END_ALL_LEN, 2) &&
            scratch->lens[1] == 8) {
            struct reader bound = reader_make(scratch->argv[1], 8);
            stats->sessions_ended +=
                sessions_end_all(kv->sessions, h.origin, reader_u64(&bound), instance);
            continue;
        }
        if (!kv_session_admit(kv, h.origin, h.client, h.seq, stats))
            continue;
        if (is_control(&h, scratch, COMMAND_END, COMMAND_END_LEN, 1)) {
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
