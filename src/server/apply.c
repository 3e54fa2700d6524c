/* Effects of the engine that reach the server: decided batches to execute (and the replies
 * they produce for this replica's clients), leader changes, rejected commands, local reads,
 * membership changes and state transfer (snapshots for joiners, installs on a joiner). */
#include "common/check.h"
#include "common/log.h"
#include "core/command.h"
#include "kv/apply.h"
#include "resp/reply.h"
#include "server/server.h"
#include "server/session.h"

#include <stdlib.h>
#include <string.h>

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

void server_apply_begin(struct server *s, struct kv_apply_cursor *cur, instance_no instance,
                        const uint8_t *data, size_t len)
{
    if (len)
        s->stats.batches_executed++;
    kv_apply_start(s->kv, cur, instance, data, len);
}

bool server_apply_records(struct server *s, struct kv_apply_cursor *cur, uint32_t max)
{
    struct kv_reply_target target = {reply_begin, reply_done, s, s->config.self};
    enum kv_apply_result r = kv_apply_some(s->kv, cur, max, &target, &s->exec_args,
                                           &s->apply_stats);
    if (r == KV_APPLY_MALFORMED)
        /* Every replica holds the same bytes, so every replica stops at the same place. */
        log_error("instance %llu: malformed batch, the rest of it is skipped",
                  (unsigned long long)cur->instance);
    return r != KV_APPLY_MORE;
}

/* This replica's END_ALL was refused or abandoned (it is not a member): it is sent again in a
 * second, until it executes. */
static void end_all_retry_later(struct server *s, const struct command_header *h)
{
    if (h->origin == s->config.self && h->client == 0)
        s->end_all_retry_ms = uv_now(&s->loop) + 1000;
}

static void apply_reject(struct server *s, const uint8_t *data, size_t len)
{
    struct reader r = reader_make(data, len);
    struct command_header h;
    if (!command_peek(&r, &h))
        return;
    end_all_retry_later(s, &h);
    s->stats.commands_rejected++;
    struct session *se = origin_session(s, &h);
    struct buf *out = se ? session_replicated_begin(se, h.seq) : NULL;
    if (!out)
        return;
    struct engine_status st = {0};
    s->engine_ops->status(s->engine, &st);
    const char *state = membership_state(&st);
    if (strcmp(state, "joining") == 0)
        resp_error(out, "TRYAGAIN this replica is still joining the cluster; the command was "
                        "not applied");
    else if (strcmp(state, "removed") == 0)
        resp_error(out, "TRYAGAIN this replica was removed from the cluster; the command was "
                        "not applied");
    else if (st.leader != NODE_NONE)
        resp_error(out, "TRYAGAIN too many commands are waiting at this replica; the command "
                        "was not applied");
    else
        resp_error(out, "TRYAGAIN no leader is reachable; the command was not applied");
    session_replicated_done(se, h.seq);
    /* The engine refuses a command as it is handed over, before the log ever sees it: its
     * sequence number goes back to the connection, whose next command would otherwise wait
     * for ever behind a number that can never execute (kv/apply.h). */
    if (!(h.seq & SESSION_LOCAL_SEQ_BIT) && h.seq == se->next_seq)
        se->next_seq--;
}

/* A command the engine will not see executed here (this replica left the configuration). */
static void apply_abandon(struct server *s, const uint8_t *data, size_t len)
{
    struct reader r = reader_make(data, len);
    struct command_header h;
    if (!command_peek(&r, &h))
        return;
    end_all_retry_later(s, &h);
    struct session *se = origin_session(s, &h);
    struct buf *out = se ? session_replicated_begin(se, h.seq) : NULL;
    if (!out)
        return;
    resp_error(out, "ERR this replica left the cluster before the command executed; it may or "
                    "may not have been applied");
    /* If it never executes, the connection's later commands never would either: the
     * connection closes after this reply, and the client's next one starts a new session. */
    session_replicated_done_close(se, h.seq);
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

/* EFFECT_SNAPSHOT: the state right now (after exactly the EXECUTEs before it: apply_queue.h) is
 * what the joiner must receive, or the checkpoint must hold. A forked child serializes it
 * (checkpoint.h); if it cannot, it is serialized here, and the engine gets it at the end of the
 * loop iteration. */
static void take_snapshot(struct server *s, node_id node, instance_no instance)
{
    if (checkpoint_fork(s, node, instance))
        return;
    struct buf bytes;
    buf_init(&bytes);
    uint64_t start = uv_hrtime();
    kv_snapshot_write(s->kv, &bytes);
    s->stats.snapshot_pause_us = (uv_hrtime() - start) / 1000;
    if (node == s->config.self)
        log_info("checkpoint at instance %llu: %zu bytes", (unsigned long long)instance,
                 bytes.len);
    else
        log_info("snapshot at instance %llu for joining replica %u: %zu bytes",
                 (unsigned long long)instance, node, bytes.len);
    server_snapshot_taken(s, node, instance, &bytes);
}

void server_snapshot_taken(struct server *s, node_id node, instance_no instance,
                           struct buf *bytes)
{
    struct pending_snapshot *p = calloc(1, sizeof *p);
    CHECK(p != NULL);
    p->instance = instance;
    p->node = node;
    p->bytes = *bytes;
    struct pending_snapshot **tail = &s->snapshots;
    while (*tail)
        tail = &(*tail)->next;
    *tail = p;
}

void server_deliver_snapshots(struct server *s)
{
    while (s->snapshots) {
        struct pending_snapshot *p = s->snapshots;
        s->snapshots = p->next;
        struct engine_event event = {.type = ENGINE_EVENT_SNAPSHOT,
                                     .instance = p->instance,
                                     .from = p->node,
                                     .data = p->bytes.data,
                                     .len = p->bytes.len};
        runtime_step(&s->runtime, &event);
        buf_free(&p->bytes);
        free(p);
    }
}

void server_free_snapshots(struct server *s)
{
    while (s->snapshots) {
        struct pending_snapshot *p = s->snapshots;
        s->snapshots = p->next;
        buf_free(&p->bytes);
        free(p);
    }
}

void server_on_effect(void *ctx, const struct outbox *o, const struct effect *e)
{
    if (e->type != EFFECT_SEND && e->type != EFFECT_SEND_NOW && e->type != EFFECT_PERSIST)
        apply_queue_effect(ctx, o, e); /* the runtime handles those */
}

void server_apply_effect(struct server *s, enum effect_type type, node_id node,
                         instance_no instance, const uint8_t *data, size_t len)
{
    switch (type) {
    case EFFECT_LEADER:
        if (node != s->leader)
            log_info("leader is now replica %u", node);
        s->leader = node;
        break;
    case EFFECT_REJECT:
        apply_reject(s, data, len);
        break;
    case EFFECT_ABANDON:
        apply_abandon(s, data, len);
        break;
    case EFFECT_READ:
        serve_read(s, data, len);
        break;
    case EFFECT_MEMBERSHIP:
        membership_on_effect(s, instance, node, data, len);
        break;
    case EFFECT_SNAPSHOT:
        take_snapshot(s, node, instance);
        break;
    case EFFECT_EXECUTE: /* the apply queue's own (apply_queue.c) */
    case EFFECT_INSTALL:
    case EFFECT_SEND:
    case EFFECT_SEND_NOW:
    case EFFECT_PERSIST:
        break;
    }
}
