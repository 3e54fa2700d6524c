#include "server/info.h"

#include "resp/reply.h"
#include "server/server.h"

#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

static void line(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(struct buf *b, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    buf_append(b, text, n < (int)sizeof text ? (size_t)n : sizeof text - 1);
    buf_append(b, "\r\n", 2);
}

static void section_server(struct server *s, struct buf *b)
{
    uint64_t uptime_s = (uv_now(&s->loop) - s->start_time_ms) / 1000;
    line(b, "# Server");
    line(b, "redis_version:%s", CATENA_REDIS_VERSION);
    line(b, "catena_version:%s", CATENA_VERSION);
    line(b, "redis_mode:standalone");
    line(b, "process_id:%ld", (long)getpid());
    line(b, "tcp_port:%u", s->config.port);
    line(b, "uptime_in_seconds:%llu", (unsigned long long)uptime_s);
    line(b, "uptime_in_days:%llu", (unsigned long long)(uptime_s / 86400));
    line(b, "protocol:%s", s->engine_ops->name);
}

static void section_clients(struct server *s, struct buf *b)
{
    line(b, "# Clients");
    line(b, "connected_clients:%zu", s->runtime.clients.connected);
    line(b, "maxclients:%zu", s->config.max_clients);
}

static void section_stats(struct server *s, struct buf *b)
{
    const struct client_listener *l = &s->runtime.clients;
    line(b, "# Stats");
    line(b, "total_connections_received:%llu", (unsigned long long)l->total_connections);
    line(b, "total_commands_processed:%llu", (unsigned long long)s->stats.commands_received);
    line(b, "total_net_input_bytes:%llu", (unsigned long long)l->bytes_in);
    line(b, "total_net_output_bytes:%llu", (unsigned long long)l->bytes_out);
    line(b, "rejected_connections:%llu", (unsigned long long)l->rejected_connections);
    line(b, "client_output_buffer_limit_disconnections:%llu",
         (unsigned long long)l->output_limit_closes);
    line(b, "commands_replicated:%llu", (unsigned long long)s->stats.commands_replicated);
    line(b, "commands_rejected:%llu", (unsigned long long)s->stats.commands_rejected);
    line(b, "commands_executed:%llu", (unsigned long long)s->apply_stats.commands_executed);
    line(b, "duplicates_skipped:%llu", (unsigned long long)s->apply_stats.duplicates_skipped);
    line(b, "out_of_order_skipped:%llu", (unsigned long long)s->apply_stats.gaps_skipped);
    line(b, "client_sessions:%zu", kv_session_count(s->kv));
    line(b, "client_sessions_ended:%zu", kv_session_ended_count(s->kv));
    line(b, "commands_stale_skipped:%llu", (unsigned long long)s->apply_stats.stale_skipped);
    line(b, "batches_executed:%llu", (unsigned long long)s->stats.batches_executed);
    line(b, "protocol_errors:%llu", (unsigned long long)s->stats.protocol_errors);
    line(b, "acl_access_denied_auth:%llu", (unsigned long long)s->auth.failures);
    line(b, "reads_local:%llu", (unsigned long long)s->stats.reads_local);
    line(b, "reads_stale:%llu", (unsigned long long)s->stats.reads_stale);
    line(b, "client_input_pauses:%llu", (unsigned long long)s->stats.client_input_pauses);
    line(b, "client_waiting_requests_peak:%llu",
         (unsigned long long)s->stats.client_waiting_peak);
}

static void chain_text(const struct engine_status *st, char *text, size_t size)
{
    size_t used = 0;
    text[0] = '\0';
    for (size_t i = 0; i < st->chain_length && used < size; i++)
        used += (size_t)snprintf(text + used, size - used, "%s%u", i ? "," : "", st->chain[i]);
}

static void section_replication(struct server *s, struct buf *b)
{
    struct engine_status st = {0};
    s->engine_ops->status(s->engine, &st);
    char chain[CATENA_MAX_NODES * 4];
    chain_text(&st, chain, sizeof chain);
    line(b, "# Replication");
    line(b, "role:%s", st.role);
    line(b, "replica_id:%u", s->config.self);
    line(b, "membership:%s", membership_state(&st));
    line(b, "leader_id:%u", st.leader);
    line(b, "ballot:%llu.%u", (unsigned long long)st.ballot.round, st.ballot.node);
    line(b, "members:%zu", st.chain_length);
    line(b, "chain:%s", chain);
    /* Appended directly: 64 addresses do not fit line()'s buffer. */
    buf_append_str(b, "chain_addresses:");
    membership_chain_addresses(s, &st, b);
    buf_append(b, "\r\n", 2);
    line(b, "highest_accepted:%llu", (unsigned long long)st.highest_accepted);
    line(b, "highest_decided:%llu", (unsigned long long)st.highest_decided);
    /* What the state machine holds: behind the engine while effects wait (apply_queue.h). */
    instance_no executed = apply_queue_caught_up(s) ? st.highest_executed : s->applying.applied;
    line(b, "highest_executed:%llu", (unsigned long long)executed);
    line(b, "apply_backlog:%zu", s->applying.count);
    line(b, "apply_slices_cut:%llu", (unsigned long long)s->applying.slices_cut);
    /* The keyspace's digest: replicas that executed the same instances must show the same. */
    line(b, "executed_digest:%016llx", (unsigned long long)kv_digest(s->kv));
    line(b, "highest_acknowledged:%llu", (unsigned long long)st.highest_acknowledged);
    line(b, "gc_horizon:%llu", (unsigned long long)st.gc_horizon);
    line(b, "log_instances:%zu", st.log_instances);
    line(b, "engine_messages_dropped:%llu", (unsigned long long)st.messages_dropped);
    line(b, "engine_messages_malformed:%llu", (unsigned long long)st.messages_malformed);
    line(b, "next_hop:%u", st.next_hop);
    line(b, "next_hop_rtt_ms:%u", st.next_hop_rtt_ms);
}

static void section_cpu(struct buf *b)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    line(b, "# CPU");
    line(b, "used_cpu_sys:%ld.%06ld", (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec);
    line(b, "used_cpu_user:%ld.%06ld", (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec);
}

/* Every replica this one links to or hears from (ids outside --cluster included). */
static void section_peers(struct server *s, struct buf *b)
{
    struct peer_counters total = {0};
    line(b, "# Peers");
    for (node_id id = 1; id <= CATENA_MAX_NODES; id++) {
        const struct peer_link *l = &s->runtime.peers.links[id];
        const struct peer_counters *c = &l->counters;
        if (id == s->config.self || (!l->configured && c->messages_received == 0))
            continue;
        line(b, "peer_%u:connected=%d,messages_sent=%llu,bytes_sent=%llu,messages_received=%llu,"
                "bytes_received=%llu,dropped=%llu,connects=%llu",
             id, l->connected, (unsigned long long)c->messages_sent,
             (unsigned long long)c->bytes_sent, (unsigned long long)c->messages_received,
             (unsigned long long)c->bytes_received, (unsigned long long)c->messages_dropped,
             (unsigned long long)c->connects);
        total.messages_sent += c->messages_sent;
        total.bytes_sent += c->bytes_sent;
        total.messages_received += c->messages_received;
        total.bytes_received += c->bytes_received;
    }
    line(b, "peer_messages_sent:%llu", (unsigned long long)total.messages_sent);
    line(b, "peer_bytes_sent:%llu", (unsigned long long)total.bytes_sent);
    line(b, "peer_messages_received:%llu", (unsigned long long)total.messages_received);
    line(b, "peer_bytes_received:%llu", (unsigned long long)total.bytes_received);
    line(b, "peer_messages_unroutable:%llu",
         (unsigned long long)s->runtime.peers.unroutable_dropped);
    line(b, "peer_messages_oversized:%llu",
         (unsigned long long)s->runtime.peers.oversized_dropped);
    const struct peer_refusals *r = &s->runtime.peers.refusals;
    line(b, "peer_auth:%s", s->runtime.peers.key.len ? "cluster-key" : "none");
    line(b, "peer_handshakes_refused:%llu", (unsigned long long)r->refused);
    line(b, "peer_auth_failures:%llu", (unsigned long long)r->auth_failed);
}

static void section_keyspace(struct server *s, struct buf *b)
{
    struct kv_stats st;
    kv_get_stats(s->kv, &st);
    line(b, "# Keyspace");
    if (st.keys)
        line(b, "db0:keys=%llu,expires=0,avg_ttl=0", (unsigned long long)st.keys);
}

static void section_persistence(struct server *s, struct buf *b)
{
    line(b, "# Persistence");
    line(b, "loading:%d", s->install.running); /* a state transfer, on a thread (install.h) */
    line(b, "aof_enabled:%d", s->config.durable);
    line(b, "fsync:%s", s->config.durable ? "always" : "none");
    /* A checkpoint stops the event loop for a fork (the child serializes the state machine);
     * a state transfer, for the serialization. Writing either does not. */
    line(b, "snapshot_last_pause_us:%llu", (unsigned long long)s->stats.snapshot_pause_us);
    if (!s->config.durable)
        return;
    const struct store *st = &s->store;
    const struct store_stats *x = &st->stats;
    line(b, "data_dir:%s", s->config.data_dir);
    line(b, "wal_records_written:%llu", (unsigned long long)x->records_written);
    line(b, "wal_bytes_written:%llu", (unsigned long long)x->bytes_written);
    line(b, "wal_fsyncs:%llu", (unsigned long long)x->fsyncs);
    line(b, "wal_fsync_avg_us:%llu",
         (unsigned long long)(x->fsyncs ? x->fsync_us_total / x->fsyncs : 0));
    line(b, "wal_fsync_max_us:%llu", (unsigned long long)x->fsync_us_max);
    line(b, "wal_fsync_last_us:%llu", (unsigned long long)x->fsync_us_last);
    line(b, "wal_fsync_in_progress:%d", st->syncing);
    line(b, "wal_fsyncs_on_loop:%llu", (unsigned long long)x->syncs_on_loop);
    const struct server_checkpoint *k = &s->checkpoint;
    line(b, "rdb_bgsave_in_progress:%d", k->child != 0 || st->writing.active);
    line(b, "rdb_last_bgsave_status:%s", checkpoint_last_failed(k) ? "err" : "ok");
    line(b, "checkpoint_forks:%llu", (unsigned long long)k->forks);
    line(b, "latest_fork_usec:%llu", (unsigned long long)k->fork_us_last);
    line(b, "checkpoint_child_last_us:%llu", (unsigned long long)k->child_us_last);
    line(b, "snapshots_written:%llu", (unsigned long long)x->snapshots_written);
    line(b, "snapshot_last_bytes:%llu", (unsigned long long)x->snapshot_bytes_last);
    line(b, "snapshot_last_write_us:%llu", (unsigned long long)x->snapshot_us_last);
    line(b, "rdb_last_save_time:%lld", (long long)x->snapshot_time_last);
}

struct info_section {
    const char *name;
    void (*render)(struct server *s, struct buf *b);
};

static void render_cpu(struct server *s, struct buf *b)
{
    (void)s;
    section_cpu(b);
}

static const struct info_section sections[] = {
    {"server", section_server},   {"clients", section_clients},   {"stats", section_stats},
    {"replication", section_replication}, {"cpu", render_cpu}, {"peers", section_peers},
    {"persistence", section_persistence}, {"keyspace", section_keyspace},
};

static bool section_wanted(const char *name, uint32_t argc, const uint8_t *const *argv,
                           const size_t *lens)
{
    if (argc < 2)
        return true;
    for (uint32_t i = 1; i < argc; i++) {
        const char *arg = (const char *)argv[i];
        if ((lens[i] == strlen(name) && !strncasecmp(arg, name, lens[i])) ||
            (lens[i] == 3 && !strncasecmp(arg, "all", 3)) ||
            (lens[i] == 7 && !strncasecmp(arg, "default", 7)) ||
            (lens[i] == 10 && !strncasecmp(arg, "everything", 10)))
            return true;
    }
    return false;
}

void info_reply(struct server *s, uint32_t argc, const uint8_t *const *argv, const size_t *lens,
                struct buf *out)
{
    struct buf text;
    buf_init(&text);
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        if (!section_wanted(sections[i].name, argc, argv, lens))
            continue;
        if (text.len)
            buf_append(&text, "\r\n", 2);
        sections[i].render(s, &text);
    }
    resp_bulk(out, text.data, text.len);
    buf_free(&text);
}

void info_catena_status(struct server *s, struct buf *out, int proto)
{
    struct engine_status st = {0};
    s->engine_ops->status(s->engine, &st);
    char chain[CATENA_MAX_NODES * 4], ballot[48];
    chain_text(&st, chain, sizeof chain);
    snprintf(ballot, sizeof ballot, "%llu.%u", (unsigned long long)st.ballot.round, st.ballot.node);
    struct buf addresses;
    buf_init(&addresses);
    membership_chain_addresses(s, &st, &addresses);
    resp_map(out, 13, proto);
    resp_bulk_str(out, "id");
    resp_int(out, s->config.self);
    resp_bulk_str(out, "role");
    resp_bulk_str(out, st.role);
    resp_bulk_str(out, "membership");
    resp_bulk_str(out, membership_state(&st));
    resp_bulk_str(out, "leader");
    resp_int(out, st.leader);
    resp_bulk_str(out, "ballot");
    resp_bulk_str(out, ballot);
    resp_bulk_str(out, "members");
    resp_int(out, (int64_t)st.chain_length);
    resp_bulk_str(out, "chain");
    resp_bulk_str(out, chain);
    resp_bulk_str(out, "chain_addresses");
    resp_bulk(out, addresses.data, addresses.len);
    resp_bulk_str(out, "highest_accepted");
    resp_int(out, (int64_t)st.highest_accepted);
    resp_bulk_str(out, "highest_decided");
    resp_int(out, (int64_t)st.highest_decided);
    resp_bulk_str(out, "highest_executed");
    resp_int(out, (int64_t)st.highest_executed);
    resp_bulk_str(out, "highest_acknowledged");
    resp_int(out, (int64_t)st.highest_acknowledged);
    resp_bulk_str(out, "log_instances");
    resp_int(out, (int64_t)st.log_instances);
    buf_free(&addresses);
}
