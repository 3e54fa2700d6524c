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

static void apply_batch(struct server *s, instance_no instance, const uint8_t *data, size_t len)
{
    struct kv_reply_target target = {reply_begin, reply_done, s, s->config.self};
    if (len)
        s->stats.batches_executed++;
    if (!kv_apply_batch(s->kv, instance, data, len, &target, &s->exec_args, &s->apply_stats))
        /* Every replica holds the same bytes, so every replica stops at the same place. */
        log_error("instance %llu: malformed batch, the rest of it is skipped",
                  (unsigned long long)instance);
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

/* EFFECT_SNAPSHOT: the state right now (after exactly the EXECUTEs drained so far) is what the
 * joiner must receive, or the checkpoint must hold; the engine gets it once the outbox is
 * drained. */
static void take_snapshot(struct server *s, node_id node, instance_no instance)
{
    if (node == s->config.self && checkpoint_fork(s, instance))
        return;
    struct pending_snapshot *p = calloc(1, sizeof *p);
    CHECK(p != NULL);
    p->instance = instance;
    p->node = node;
    buf_init(&p->bytes);
    uint64_t start = uv_hrtime();
    kv_snapshot_write(s->kv, &p->bytes);
    s->stats.snapshot_pause_us = (uv_hrtime() - start) / 1000;
    struct pending_snapshot **tail = &s->snapshots;
    while (*tail)
        tail = &(*tail)->next;
    *tail = p;
    if (node == s->config.self)
        log_info("checkpoint at instance %llu: %zu bytes", (unsigned long long)instance,
                 p->bytes.len);
    else
        log_info("snapshot at instance %llu for joining replica %u: %zu bytes",
                 (unsigned long long)instance, node, p->bytes.len);
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

/* EFFECT_INSTALL: the state transfer replaces the whole state machine. Bytes that do not load
 * mean a broken peer; serving from a wrong state would be worse than stopping. */
static void install_snapshot(struct server *s, instance_no instance, const uint8_t *data,
                             size_t len)
{
    char err[256] = "";
    struct kv *kv = kv_snapshot_read(data, len, err, sizeof err);
    if (!kv) {
        log_error("the state transfer at instance %llu (%zu bytes) cannot be loaded: %s; "
                  "stopping rather than serving a wrong state",
                  (unsigned long long)instance, len, err);
        exit(EXIT_FAILURE);
    }
    kv_destroy(s->kv);
    s->kv = kv;
    struct kv_stats st;
    kv_get_stats(kv, &st);
    log_info("installed the state transfer at instance %llu: %llu keys, %zu bytes",
             (unsigned long long)instance, (unsigned long long)st.keys, len);
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
    case EFFECT_ABANDON:
        apply_abandon(s, outbox_payload(o, e), e->len);
        break;
    case EFFECT_READ:
        serve_read(s, outbox_payload(o, e), e->len);
        break;
    case EFFECT_MEMBERSHIP:
        membership_on_effect(s, e->instance, e->node, outbox_payload(o, e), e->len);
        break;
    case EFFECT_SNAPSHOT:
        take_snapshot(s, e->node, e->instance);
        break;
    case EFFECT_INSTALL:
        install_snapshot(s, e->instance, outbox_payload(o, e), e->len);
        break;
    case EFFECT_SEND:
    case EFFECT_SEND_NOW:
    case EFFECT_PERSIST:
        break; /* handled by the runtime */
    }
}
