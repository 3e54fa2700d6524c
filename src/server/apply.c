/* Effects of the engine that reach the server: decided batches to execute (and the replies
 * they produce for this replica's clients), leader changes, and rejected commands. */
#include "common/log.h"
#include "core/command.h"
#include "resp/reply.h"
#include "server/server.h"
#include "server/session.h"

/* The client's session if command h came from one of this replica's live connections. */
static struct session *origin_session(struct server *s, const struct command_header *h)
{
    if (h->origin != s->config.self)
        return NULL;
    struct client_conn *c = client_conn_find(&s->runtime.clients, h->client);
    return c ? c->session : NULL;
}

static void apply_batch(struct server *s, instance_no instance, const uint8_t *data, size_t len)
{
    if (len == 0)
        return; /* a no-op instance */
    struct reader r = reader_make(data, len);
    uint32_t count = reader_u32(&r);
    s->stats.batches_executed++;
    for (uint32_t i = 0; i < count; i++) {
        struct command_header h;
        if (!command_decode_next(&r, &h, &s->exec_args)) {
            /* Every replica holds the same bytes, so every replica stops at the same place. */
            log_error("instance %llu: malformed command %u of %u skipped with the rest",
                      (unsigned long long)instance, i, count);
            return;
        }
        s->stats.commands_executed++;
        struct session *se = origin_session(s, &h);
        struct buf *out = se ? session_replicated_begin(se, h.seq) : NULL;
        kv_execute(s->kv, h.argc, s->exec_args.argv, s->exec_args.lens, out, se ? se->proto : 2);
        if (out)
            session_replicated_done(se, h.seq);
    }
}

static void apply_reject(struct server *s, const uint8_t *data, size_t len)
{
    struct reader r = reader_make(data, len);
    struct command_header h;
    if (!command_peek(&r, &h))
        return;
    s->stats.commands_rejected++;
    struct session *se = origin_session(s, &h);
    struct buf *out = se ? session_replicated_begin(se, h.seq) : NULL;
    if (!out)
        return;
    resp_error(out, "TRYAGAIN no leader is reachable; the command was not applied");
    session_replicated_done(se, h.seq);
}

void server_on_effect(void *ctx, const struct outbox *o, const struct effect *e)
{
    struct server *s = ctx;
    switch (e->type) {
    case EFFECT_EXECUTE:
        apply_batch(s, e->instance, outbox_payload(o, e), e->len);
        break;
    case EFFECT_LEADER:
        if (e->node != s->leader)
            log_info("leader is now replica %u", e->node);
        s->leader = e->node;
        break;
    case EFFECT_REJECT:
        apply_reject(s, outbox_payload(o, e), e->len);
        break;
    case EFFECT_SEND:
        break; /* handled by the runtime */
    }
}
