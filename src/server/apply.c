/* Effects of the engine that reach the server: decided batches to execute (and the replies
 * they produce for this replica's clients), leader changes, and rejected commands. */
#include "common/log.h"
#include "core/command.h"
#include "kv/apply.h"
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

static struct buf *reply_begin(void *ctx, const struct command_header *h, int *proto)
{
    struct session *se = origin_session(ctx, h);
    if (!se)
        return NULL;
    *proto = se->proto;
    return session_replicated_begin(se, h->seq);
}

static void reply_done(void *ctx, const struct command_header *h)
{
    session_replicated_done(origin_session(ctx, h), h->seq);
}

static void apply_batch(struct server *s, instance_no instance, const uint8_t *data, size_t len)
{
    struct kv_reply_target target = {reply_begin, reply_done, s, s->config.self};
    if (len)
        s->stats.batches_executed++;
    if (!kv_apply_batch(s->kv, data, len, &target, &s->exec_args, &s->apply_stats))
        /* Every replica holds the same bytes, so every replica stops at the same place. */
        log_error("instance %llu: malformed batch, the rest of it is skipped",
                  (unsigned long long)instance);
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

/* A local read released by the engine: executed against this replica's state now. */
static void serve_read(struct server *s, const uint8_t *data, size_t len)
{
    struct reader r = reader_make(data, len);
    struct command_header h;
    if (!command_decode_next(&r, &h, &s->exec_args))
        return;
    int proto = 2;
    struct buf *out = reply_begin(s, &h, &proto);
    if (!out)
        return;
    kv_execute(s->kv, h.argc, s->exec_args.argv, s->exec_args.lens, out, proto);
    reply_done(s, &h);
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
    case EFFECT_READ:
        serve_read(s, outbox_payload(o, e), e->len);
        break;
    case EFFECT_MEMBERSHIP:
        log_info("membership changed at instance %llu: replica %u %s",
                 (unsigned long long)e->instance, e->node,
                 e->len && outbox_payload(o, e)[0] == MEMBERSHIP_REMOVED ? "removed" : "added");
        break;
    case EFFECT_SEND:
        break; /* handled by the runtime */
    }
}
