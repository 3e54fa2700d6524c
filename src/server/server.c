#include "server/server.h"

#include "common/log.h"
#include "protocols/chainpaxos/chainpaxos.h"
#include "server/dispatch.h"
#include "server/session.h"

#include "common/reader.h"
#include "core/command.h"

#include <errno.h>
#include <malloc.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void server_client_open(void *ctx, struct client_conn *c) { session_open(ctx, c); }

static void server_client_data(void *ctx, struct client_conn *c)
{
    (void)ctx;
    session_on_data(c->session);
}

static void server_client_close(void *ctx, struct client_conn *c)
{
    (void)ctx;
    session_close(c->session);
}

void server_revisit_at_round_end(struct server *s, struct session *se)
{
    if (se->on_round_end_list)
        return;
    se->on_round_end_list = true;
    se->next_round_end = s->round_end_head;
    s->round_end_head = se;
}

void server_forget_session(struct server *s, struct session *se)
{
    membership_forget_session(s, se);
    for (struct session **p = &s->round_end_head; *p; p = &(*p)->next_round_end)
        if (*p == se) {
            *p = se->next_round_end;
            return;
        }
}

/* End of a loop iteration: reads that waited for their connection's writes go to the engine,
 * and paused clients whose requests were answered are read again. */
static void server_round_end(void *ctx)
{
    struct server *s = ctx;
    if (s->end_all_retry_ms && uv_now(&s->loop) >= s->end_all_retry_ms) {
        s->end_all_retry_ms = 0;
        dispatch_end_all(s);
    }
    server_deliver_snapshots(s);
    membership_expire_waits(s);
    while (s->round_end_head) {
        struct session *se = s->round_end_head;
        s->round_end_head = se->next_round_end;
        se->on_round_end_list = false;
        if (se->input_paused)
            session_resume_input(se);
        if (se->writes_outstanding > 0)
            continue;
        struct reader r = reader_make(se->held_reads.data, se->held_reads.len);
        for (uint32_t i = 0; i < se->held_read_count; i++) {
            struct command_header h;
            size_t start = r.pos;
            if (!command_decode_next(&r, &h, &s->exec_args))
                break; /* cannot happen: the server encoded these records itself */
            struct engine_event event = {.type = ENGINE_EVENT_READ,
                                         .data = se->held_reads.data + start,
                                         .len = r.pos - start};
            runtime_step(&s->runtime, &event);
        }
        buf_clear(&se->held_reads);
        se->held_read_count = 0;
    }
}

static void server_stopping(void *ctx)
{
    checkpoint_stop(ctx);
    install_stop(ctx);
    reaper_stop(ctx);
    apply_queue_stop(ctx);
}

static void *server_create_engine(struct server *s)
{
    /* The engine draws its election jitter from this seed: from the clock, so that restarts
     * of the same replicas do not repeat the same timings (the engine stays deterministic
     * for a given seed, which the simulator relies on). */
    struct engine_config ec = {.self = s->config.self,
                               .seed = uv_hrtime() * 31 + s->config.self,
                               .join = s->config.join,
                               .durable = s->config.durable,
                               .checkpoint_bytes = s->config.checkpoint_bytes};
    for (size_t i = 0; i < s->config.member_count; i++)
        ec.members[i] = s->config.members[i].id;
    ec.member_count = s->config.member_count;
    const struct peer_address *me = config_member(&s->config, s->config.self);
    snprintf(ec.self_address, sizeof ec.self_address, "%s:%u", me->host, me->port);
    s->engine_ops = &chainpaxos_engine_ops;
    return s->engine_ops->create(&ec);
}

static int server_start_peers(struct server *s)
{
    const struct peer_address *me = config_member(&s->config, s->config.self);
    struct peer_set_config pc = {
        .self = s->config.self,
        .cluster_id = s->config.cluster_id,
        .listen_host = me->host,
        .listen_port = me->port,
        .max_buffer_bytes = s->config.max_peer_buffer_bytes,
        .max_frame_bytes = s->config.max_peer_frame_bytes,
        .cluster_key = s->config.cluster_key,
        .cluster_key_len = s->config.cluster_key_len,
    };
    /* Never below one batch: at most one oversized command beyond the batch limit. */
    size_t batch_bytes = s->config.max_bulk_bytes * 2 + (64u << 20);
    if (pc.max_frame_bytes < batch_bytes)
        pc.max_frame_bytes = batch_bytes < UINT32_MAX ? batch_bytes : UINT32_MAX;
    int rc = peer_set_start(&s->runtime.peers, &s->loop, &pc, runtime_on_peer_message,
                            runtime_on_peer_down, &s->runtime);
    /* --cluster's replicas, and those a recovery re-executed an ADD of (their latest address). */
    for (node_id id = 1; rc == 0 && id <= CATENA_MAX_NODES; id++) {
        const struct peer_address *m = membership_address(s, id);
        if (m && id != s->config.self)
            rc = peer_set_add(&s->runtime.peers, id, m->host, m->port);
    }
    return rc;
}

static void server_restore_record(void *ctx, const uint8_t *data, size_t len)
{
    struct engine_event event = {.type = ENGINE_EVENT_RESTORE, .data = data, .len = len};
    runtime_step(&((struct server *)ctx)->runtime, &event);
}

static void server_durable(void *ctx, uint64_t records)
{
    struct engine_event event = {.type = ENGINE_EVENT_DURABLE, .instance = records};
    runtime_step(&((struct server *)ctx)->runtime, &event);
}

/* Opens the data directory and rebuilds the replica from it before anything is served. */
/* 0, -1 (cannot start), or -2: the data directory is damaged (--repair may move it aside). */
static int server_recover(struct server *s)
{
    char err[512];
    uint64_t started = uv_hrtime();
    int rc = store_open(&s->store, &s->loop, &s->runtime.peers, s->config.data_dir, err,
                        sizeof err);
    if (rc != 0) {
        log_error("cannot open the data directory: %s%s", err,
                  rc == -2 && !s->config.repair
                      ? "; refusing to start (nothing was deleted; --repair moves it aside "
                        "and joins the cluster again)"
                      : "");
        return rc;
    }
    long long records = store_recover(&s->store, server_restore_record, s, err, sizeof err);
    if (records < 0) {
        log_error("cannot recover from %s: %s%s", s->config.data_dir, err,
                  s->config.repair ? "" : "; refusing to start (nothing was deleted; --repair "
                                          "moves it aside and joins the cluster again)");
        return -2;
    }
    server_restore_record(s, NULL, 0); /* the end of the records */
    s->runtime.store = &s->store;
    s->store.on_durable = server_durable;
    s->store.ctx = s;
    struct engine_status st;
    s->engine_ops->status(s->engine, &st);
    /* Replaying allocated and freed the whole log's values; glibc keeps the freed heap (tens
     * of megabytes after a 64 MB log) unless asked to give it back. */
    malloc_trim(0);
    if (records > 0)
        log_info("recovered from %s in %.0f ms: %lld records%s, executed up to instance %llu, "
                 "%s", s->config.data_dir, (double)(uv_hrtime() - started) / 1e6, records,
                 s->store.checkpoints_durable ? " (from a snapshot)" : "",
                 (unsigned long long)st.highest_executed, st.membership);
    return 0;
}

/* --repair: the damaged directory is kept under another name, and the replica starts over
 * empty, as one that lost its state: it joins and receives the state from the others. */
static int server_repair(struct server *s)
{
    store_close(&s->store);
    char aside[sizeof s->config.data_dir + 64];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    snprintf(aside, sizeof aside, "%s.damaged-%04d%02d%02d-%02d%02d%02d", s->config.data_dir,
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (rename(s->config.data_dir, aside) != 0) {
        log_error("--repair: cannot move %s to %s: %s", s->config.data_dir, aside,
                  strerror(errno));
        return -1;
    }
    log_warn("--repair: moved the damaged %s to %s; joining the cluster again",
             s->config.data_dir, aside);
    s->engine_ops->destroy(s->engine);
    kv_destroy(s->kv);
    s->kv = kv_create();
    s->config.join = true;
    s->engine = server_create_engine(s);
    if (!s->engine)
        return -1;
    s->runtime.engine = s->engine;
    return server_recover(s);
}

int server_start(struct server *s, const struct server_config *config)
{
    memset(s, 0, sizeof *s);
    s->config = *config;
    log_setup((enum log_level)config->log_level, config->self);
    if (sodium_init() < 0) {
        log_error("libsodium failed to initialise");
        return -1;
    }
    auth_init(&s->auth, config->requirepass);
    uv_loop_init(&s->loop);
    apply_queue_init(s);
    install_init(s);
    reaper_init(s);
    s->start_time_ms = uv_now(&s->loop);
    s->kv = kv_create();
    buf_init(&s->scratch);
    membership_init(s);
    s->engine = server_create_engine(s);
    if (!s->engine) {
        log_error("the %s engine refused this configuration", chainpaxos_engine_ops.name);
        return -1;
    }
    runtime_init(&s->runtime, &s->loop, config->tick_ms, s->engine_ops, s->engine,
                 server_on_effect, s);
    s->runtime.on_round_end = server_round_end;
    s->runtime.on_stop = server_stopping;
    if (config->durable) {
        int rc = server_recover(s);
        if (rc == -2 && config->repair)
            rc = server_repair(s);
        if (rc != 0)
            return -1;
    }
    int rc = server_start_peers(s);
    if (rc == 0) {
        static const struct client_listener_ops ops = {
            server_client_open, server_client_data, server_client_close};
        rc = client_listener_start(&s->runtime.clients, &s->loop, config->bind, config->port,
                                   config->max_clients, config->max_client_output_bytes, &ops,
                                   s);
    }
    if (rc != 0)
        return -1; /* the process exits: no handle needs closing */
    apply_queue_start_slicing(s); /* recovery is done: batches may wait for the loop now */
    s->end_all_bound = client_listener_first_id(&s->runtime.clients);
    dispatch_end_all(s);
    log_info("catena %s replica %u: clients on %s:%u, peers on %s:%u, %zu replicas (%s)%s",
             CATENA_VERSION, config->self, config->bind, config->port,
             config_member(config, config->self)->host,
             config_member(config, config->self)->port, config->member_count,
             s->engine_ops->name, config->join ? ", joining a running cluster" : "");
    return 0;
}

void server_run(struct server *s)
{
    uv_run(&s->loop, UV_RUN_DEFAULT);
    if (s->runtime.store)
        store_close(s->runtime.store);
    runtime_release(&s->runtime);
    s->engine_ops->destroy(s->engine);
    kv_destroy(s->kv);
    membership_release(s);
    server_free_snapshots(s);
    apply_queue_release(s);
    reaper_release(s);
    buf_free(&s->scratch);
    command_args_free(&s->exec_args);
    uv_loop_close(&s->loop);
    log_info("stopped");
}
