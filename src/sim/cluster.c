/* Replicas: one engine, one key-value state machine and the glue of the real server
 * (src/server/dispatch.c and apply.c), mirrored event for event:
 *   a write request  -> command record (origin = this replica, client = connection id,
 *                       seq = per-connection counter) -> ENGINE_EVENT_COMMAND
 *   a read request   -> the same record -> ENGINE_EVENT_READ; EFFECT_READ -> kv_execute here
 *   EFFECT_EXECUTE   -> kv_apply_batch (exactly-once); replies for this replica's clients
 *   EFFECT_REJECT    -> an error reply
 *   EFFECT_SEND      -> the virtual network
 * and a FLUSH after every event handled (one event-loop iteration). Each executed instance is
 * recorded with the digest of the state after it, and compared online with what other
 * replicas executed at the same instance. */
#include "common/check.h"
#include "protocols/chainpaxos/messages.h"
#include "resp/reply.h"
#include "sim/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct sim_conn *sim_conn_find(struct sim_replica *rep, uint64_t id)
{
    for (size_t i = 0; i < rep->conn_count; i++)
        if (rep->conns[i].id == id)
            return &rep->conns[i];
    return NULL;
}

uint64_t sim_replica_connect(struct sim *s, uint32_t r, uint32_t client)
{
    struct sim_replica *rep = &s->replicas[r];
    if (!rep->up)
        return 0;
    if (rep->conn_count == rep->conn_cap) {
        rep->conn_cap = rep->conn_cap ? rep->conn_cap * 2 : 16;
        rep->conns = realloc(rep->conns, rep->conn_cap * sizeof *rep->conns);
        CHECK(rep->conns != NULL);
    }
    struct sim_conn *c = &rep->conns[rep->conn_count++];
    *c = (struct sim_conn){.id = ++rep->next_conn_id, .client = client};
    return c->id;
}

static void sim_step(struct sim *s, uint32_t r, struct engine_event ev);
static void sim_flush(struct sim *s, uint32_t r);

/* The session control record in rep->record (core/command.h) to replica r's engine, as
 * src/server/dispatch.c sends it. */
static void sim_replica_control(struct sim *s, uint32_t r)
{
    struct sim_replica *rep = &s->replicas[r];
    sim_step(s, r, (struct engine_event){.type = ENGINE_EVENT_COMMAND, .data = rep->record.data,
                                         .len = rep->record.len});
    sim_flush(s, r);
}

void sim_replica_disconnect(struct sim *s, uint32_t r, uint64_t conn)
{
    struct sim_replica *rep = &s->replicas[r];
    struct sim_conn *c = sim_conn_find(rep, conn);
    if (!c)
        return;
    /* Its session ends through the log (END), unless the process is stalled: then, as a
     * paused server would, it notices nothing, and the session stays. */
    if (c->next_seq > 0 && rep->up && rep->paused_until <= s->now) {
        buf_clear(&rep->record);
        command_encode_end(&rep->record, rep->id, c->id, ++c->next_seq);
        sim_replica_control(s, r);
    }
    *c = rep->conns[--rep->conn_count];
}

/* A restarted replica ends the sessions of its earlier incarnations (END_ALL): their
 * connection ids all lie below the first of this one. */
static void sim_replica_end_all(struct sim *s, uint32_t r)
{
    struct sim_replica *rep = &s->replicas[r];
    buf_clear(&rep->record);
    command_encode_end_all(&rep->record, rep->id, rep->end_all_bound);
    sim_replica_control(s, r);
}

/* The reply in rep->reply travels back to the client of connection c. */
static void sim_reply_send(struct sim *s, uint32_t r, struct sim_conn *c)
{
    struct sim_replica *rep = &s->replicas[r];
    struct sim_event e = {.time = s->now + s->client_latency_us, .type = SIM_EV_REPLY,
                          .node = r, .client = c->client, .arg = c->serial,
                          .len = rep->reply.len};
    e.data = malloc(e.len ? e.len : 1);
    CHECK(e.data != NULL);
    memcpy(e.data, rep->reply.data, e.len);
    sim_queue_push(&s->queue, &e);
    sim_trace_event(s, SIM_TR_REPLY, r, c->client, c->waiting, c->serial, rep->reply.data,
                    rep->reply.len);
    c->waiting = 0;
}

struct sim_reply_ctx {
    struct sim *s;
    uint32_t r;
    long orphan; /* the command's client gave up: outcome.c records the reply */
};

static struct buf *sim_reply_begin(void *ctx, const struct command_header *h, int *proto)
{
    struct sim_reply_ctx *x = ctx;
    struct sim_replica *rep = &x->s->replicas[x->r];
    struct sim_conn *c = sim_conn_find(rep, h->client);
    x->orphan = -1;
    if (!c || c->waiting != h->seq) {
        x->orphan = sim_orphan_find(x->s, x->r, h->client, h->seq);
        if (x->orphan < 0)
            return NULL;
    }
    *proto = 2;
    buf_clear(&rep->reply);
    return &rep->reply;
}

static void sim_reply_done(void *ctx, const struct command_header *h)
{
    struct sim_reply_ctx *x = ctx;
    struct sim_replica *rep = &x->s->replicas[x->r];
    if (x->orphan >= 0) {
        sim_orphan_resolve(x->s, x->orphan, rep->reply.data, rep->reply.len);
        x->orphan = -1;
        return;
    }
    struct sim_conn *c = sim_conn_find(rep, h->client);
    CHECK(c != NULL && c->waiting == h->seq);
    sim_reply_send(x->s, x->r, c);
}

uint64_t sim_replica_submitted(const struct sim *s, uint32_t r, uint64_t conn, uint64_t serial)
{
    const struct sim_replica *rep = &s->replicas[r];
    for (size_t i = 0; i < rep->conn_count; i++)
        if (rep->conns[i].id == conn)
            return rep->conns[i].serial == serial ? rep->conns[i].submitted : 0;
    return 0;
}

static void sim_agree(struct sim *s, uint32_t r, instance_no i, uint64_t payload,
                      uint64_t digest)
{
    if (i >= s->agreed_cap) {
        size_t cap = s->agreed_cap ? s->agreed_cap : 1024;
        while (cap <= i)
            cap *= 2;
        s->agreed_digest = realloc(s->agreed_digest, cap * sizeof *s->agreed_digest);
        s->agreed_payload = realloc(s->agreed_payload, cap * sizeof *s->agreed_payload);
        s->agreed_node = realloc(s->agreed_node, cap * sizeof *s->agreed_node);
        CHECK(s->agreed_digest && s->agreed_payload && s->agreed_node);
        memset(s->agreed_node + s->agreed_cap, 0, (cap - s->agreed_cap) * sizeof *s->agreed_node);
        s->agreed_cap = cap;
    }
    if (!s->agreed_node[i]) {
        s->agreed_node[i] = s->replicas[r].id;
        s->agreed_digest[i] = digest;
        s->agreed_payload[i] = payload;
    } else if (s->agreed_payload[i] != payload) {
        sim_violation(s, SIM_CHECK_DIGEST,
                      "instance %llu: replica %u executed a different payload than replica %u",
                      (unsigned long long)i, s->replicas[r].id, s->agreed_node[i]);
    } else if (s->agreed_digest[i] != digest) {
        sim_violation(s, SIM_CHECK_DIGEST,
                      "instance %llu: replica %u's state digest %016llx differs from replica "
                      "%u's %016llx",
                      (unsigned long long)i, s->replicas[r].id, (unsigned long long)digest,
                      s->agreed_node[i], (unsigned long long)s->agreed_digest[i]);
    }
}

static void sim_replica_execute(struct sim *s, uint32_t r, instance_no i, const uint8_t *data,
                                size_t len)
{
    struct sim_replica *rep = &s->replicas[r];
    if (i != rep->last_executed + 1) {
        sim_violation(s, SIM_CHECK_EXECUTION, "replica %u executed instance %llu after %llu",
                      rep->id, (unsigned long long)i, (unsigned long long)rep->last_executed);
        return;
    }
    rep->last_executed = i;
    struct sim_reply_ctx ctx = {s, r, -1};
    sim_orphans_executed(s, i, data, len);
    struct kv_reply_target target = {sim_reply_begin, sim_reply_done, &ctx, rep->id};
    if (!kv_apply_batch(rep->kv, i, data, len, &target, &rep->args, &rep->apply_stats))
        sim_violation(s, SIM_CHECK_EXECUTION, "replica %u: instance %llu holds a malformed batch",
                      rep->id, (unsigned long long)i);
    uint64_t payload = sim_hash_bytes(data, len);
    uint64_t digest = kv_digest(rep->kv);
    sim_trace_event(s, SIM_TR_EXECUTE, r, 0, i, digest, data, len);
    if (!sim_exec_log_append(rep->log, i, payload, digest)) {
        sim_violation(s, SIM_CHECK_EXECUTION, "replica %u: instance %llu does not follow %llu",
                      rep->id, (unsigned long long)i,
                      (unsigned long long)sim_exec_log_last(rep->log));
        return;
    }
    if (rep->log->agreed_start)
        sim_agree(s, r, i, payload, digest);
}

/* EFFECT_READ: the read's record, served from this replica's state now. */
static void sim_replica_serve_read(struct sim *s, uint32_t r, const uint8_t *data, size_t len)
{
    struct sim_replica *rep = &s->replicas[r];
    struct reader rd = reader_make(data, len);
    struct command_header h;
    if (!command_decode_next(&rd, &h, &rep->args)) {
        sim_violation(s, SIM_CHECK_EXECUTION, "replica %u: EFFECT_READ with a malformed record",
                      rep->id);
        return;
    }
    sim_trace_event(s, SIM_TR_READ, r, (uint32_t)h.client, h.seq, rep->last_executed, NULL, 0);
    struct sim_conn *c = sim_conn_find(rep, h.client);
    long orphan = c && c->waiting == h.seq ? -1 : sim_orphan_find(s, r, h.client, h.seq);
    if (!(c && c->waiting == h.seq) && orphan < 0)
        return;
    buf_clear(&rep->reply);
    kv_execute(rep->kv, h.argc, rep->args.argv, rep->args.lens, &rep->reply, 2);
    if (orphan >= 0)
        sim_orphan_resolve(s, orphan, rep->reply.data, rep->reply.len);
    else
        sim_reply_send(s, r, c);
}

static void sim_replica_reject(struct sim *s, uint32_t r, const uint8_t *data, size_t len)
{
    struct sim_replica *rep = &s->replicas[r];
    struct reader rd = reader_make(data, len);
    struct command_header h;
    if (!command_peek(&rd, &h))
        return;
    sim_trace_event(s, SIM_TR_REJECT, r, (uint32_t)h.client, h.seq, 0, NULL, 0);
    if (h.client == 0) {
        rep->end_all_due = true; /* not a member yet: again at the next tick */
        return;
    }
    struct sim_conn *c = sim_conn_find(rep, h.client);
    /* As src/server/apply.c: a refused command never reached the log, so its connection's
     * next command takes its sequence number. */
    if (c && !(h.seq & SIM_LOCAL_READ_SEQ_BIT) && h.seq == c->next_seq)
        c->next_seq--;
    long orphan = c && c->waiting == h.seq ? -1 : sim_orphan_find(s, r, h.client, h.seq);
    if (!(c && c->waiting == h.seq) && orphan < 0)
        return;
    buf_clear(&rep->reply);
    resp_error(&rep->reply, "TRYAGAIN no leader is reachable; the command was not applied");
    if (orphan >= 0)
        sim_orphan_resolve(s, orphan, rep->reply.data, rep->reply.len);
    else
        sim_reply_send(s, r, c);
}

static void sim_logs_add(struct sim *s, struct sim_exec_log *log)
{
    if (s->log_count == s->log_cap) {
        s->log_cap = s->log_cap ? s->log_cap * 2 : 16;
        s->logs = realloc(s->logs, s->log_cap * sizeof *s->logs);
        CHECK(s->logs != NULL);
    }
    s->logs[s->log_count++] = log;
}

/* EFFECT_INSTALL: the state transfer replaces the state machine; it must be the state every
 * replica had after the same instance. */
static void sim_replica_install(struct sim *s, uint32_t r, instance_no i, const uint8_t *data,
                                size_t len)
{
    struct sim_replica *rep = &s->replicas[r];
    char err[128];
    struct kv *kv = kv_snapshot_read(data, len, err, sizeof err);
    if (!kv) {
        sim_violation(s, SIM_CHECK_EXECUTION, "replica %u: state transfer at instance %llu: %s",
                      rep->id, (unsigned long long)i, err);
        return;
    }
    kv_destroy(rep->kv);
    rep->kv = kv;
    rep->last_executed = i;
    uint64_t digest = kv_digest(kv);
    bool known = i < s->agreed_cap && s->agreed_node[i];
    if (i > 0 && known && s->agreed_digest[i] != digest)
        sim_violation(s, SIM_CHECK_DIGEST,
                      "replica %u installed a state at instance %llu with digest %016llx, "
                      "replica %u had %016llx",
                      rep->id, (unsigned long long)i, (unsigned long long)digest,
                      s->agreed_node[i], (unsigned long long)s->agreed_digest[i]);
    /* A new execution log from i + 1 on. */
    rep->log = malloc(sizeof *rep->log);
    CHECK(rep->log != NULL);
    sim_exec_log_init(rep->log, rep->id, rep->incarnation);
    rep->log->agreed_start = i == 0 || known;
    rep->log->installed = i;
    sim_logs_add(s, rep->log);
    rep->removed = false;
    sim_trace_event(s, SIM_TR_INSTALL, r, 0, i, digest, NULL, 0);
}

static void sim_step(struct sim *s, uint32_t r, struct engine_event ev);

/* r's state serialized now into `into`, as a forked child would from the image of the fork;
 * `type` comes back after up to `max_delay_us`, when the child would be done. */
static void sim_replica_fork(struct sim *s, uint32_t r, struct buf *into,
                             enum sim_event_type type, uint64_t max_delay_us)
{
    struct sim_replica *rep = &s->replicas[r];
    buf_clear(into);
    kv_snapshot_write(rep->kv, into);
    uint64_t delay = rng_below(&s->rng, max_delay_us + 1);
    sim_queue_push(&s->queue, &(struct sim_event){.time = s->now + delay, .type = type,
                                                  .node = r, .arg = rep->incarnation});
}

/* A checkpoint's snapshot, taken now and handed back later (SIM_EV_CHECKPOINT). */
static void sim_replica_checkpoint_begin(struct sim *s, uint32_t r, instance_no instance)
{
    struct sim_replica *rep = &s->replicas[r];
    rep->checkpoint_instance = instance;
    sim_replica_fork(s, r, &rep->checkpoint, SIM_EV_CHECKPOINT, SIM_CHECKPOINT_DELAY_MAX_US);
}

void sim_replica_checkpoint_ready(struct sim *s, uint32_t r)
{
    struct sim_replica *rep = &s->replicas[r];
    rep->checkpoint_attached = true;
    sim_step(s, r, (struct engine_event){.type = ENGINE_EVENT_SNAPSHOT,
                                         .from = rep->id,
                                         .instance = rep->checkpoint_instance,
                                         .len = rep->checkpoint.len});
    rep->checkpoint_attached = false;
}

/* A joiner's snapshot, taken now and handed back later (SIM_EV_TRANSFER), unless one is on its
 * way already: its answer will do. */
static void sim_replica_transfer_begin(struct sim *s, uint32_t r, node_id joiner,
                                       instance_no instance)
{
    struct sim_replica *rep = &s->replicas[r];
    if (rep->snapshot_pending)
        return;
    rep->snapshot_instance = instance;
    rep->snapshot_node = joiner;
    rep->snapshot_pending = true;
    sim_replica_fork(s, r, &rep->snapshot, SIM_EV_TRANSFER, SIM_TRANSFER_DELAY_MAX_US);
}

void sim_replica_transfer_ready(struct sim *s, uint32_t r)
{
    struct sim_replica *rep = &s->replicas[r];
    rep->snapshot_pending = false;
    sim_step(s, r, (struct engine_event){.type = ENGINE_EVENT_SNAPSHOT,
                                         .from = rep->snapshot_node,
                                         .instance = rep->snapshot_instance,
                                         .data = rep->snapshot.data,
                                         .len = rep->snapshot.len});
}

/* A STATE_PART that goes back into what was already sent of the same transfer, not to its
 * start: the sender resumed it where the joiner said it stood. */
static void sim_count_state_part(struct sim *s, struct sim_replica *rep, node_id to,
                                 const uint8_t *payload, size_t len)
{
    struct chain_state_part p;
    if (len == 0 || payload[0] != CHAIN_MSG_STATE_PART ||
        !chain_msg_decode_state_part(payload, len, &p))
        return;
    if (p.instance != rep->part_instance[to]) {
        rep->part_instance[to] = p.instance;
        rep->part_end[to] = 0;
    }
    if (p.offset > 0 && p.offset < rep->part_end[to])
        s->res->parts_resumed++;
    if (p.offset + p.len > rep->part_end[to])
        rep->part_end[to] = p.offset + p.len;
}

static void sim_replica_effects(struct sim *s, uint32_t r)
{
    struct sim_replica *rep = &s->replicas[r];
    for (size_t j = 0; j < s->out.count; j++) {
        const struct effect *e = &s->out.items[j];
        const uint8_t *payload = outbox_payload(&s->out, e);
        switch (e->type) {
        case EFFECT_SEND:
        case EFFECT_SEND_NOW:
            if (e->node == NODE_NONE || e->node > s->n || e->node == rep->id) {
                sim_violation(s, SIM_CHECK_EXECUTION, "replica %u sent a message to node %u",
                              rep->id, e->node);
                break;
            }
            sim_count_state_part(s, rep, e->node, payload, e->len);
            if (s->opt.profile.durable && e->type == EFFECT_SEND)
                sim_disk_send(s, r, e->node - 1, payload, e->len);
            else
                sim_network_send(s, r, e->node - 1, payload, e->len);
            break;
        case EFFECT_PERSIST: {
            bool tail = rep->checkpoint_attached && e->instance == rep->checkpoint_instance;
            if (tail)
                rep->checkpoint_attached = false;
            sim_disk_write(s, r, e->instance, e->node != NODE_NONE, payload, e->len,
                           tail ? rep->checkpoint.data : NULL, tail ? rep->checkpoint.len : 0);
            break;
        }
        case EFFECT_EXECUTE:
            sim_replica_execute(s, r, e->instance, payload, e->len);
            break;
        case EFFECT_LEADER:
            rep->leader = e->node;
            if (e->node != NODE_NONE)
                sim_note_leader(s, r, e->node);
            sim_trace_event(s, SIM_TR_LEADER, r, e->node, 0, 0, NULL, 0);
            break;
        case EFFECT_REJECT:
            sim_replica_reject(s, r, payload, e->len);
            break;
        case EFFECT_ABANDON: {
            /* The replica left the configuration: after this step its clients are cut off and
             * what it had in flight becomes of unknown outcome (below), as a real client that
             * gets the error would record it. Its END_ALL goes out again. */
            struct reader rd = reader_make(payload, e->len);
            struct command_header h;
            if (command_peek(&rd, &h) && h.client == 0)
                rep->end_all_due = true;
            break;
        }
        case EFFECT_READ:
            sim_replica_serve_read(s, r, payload, e->len);
            break;
        case EFFECT_MEMBERSHIP:
            sim_trace_event(s, SIM_TR_MEMBERSHIP, r, e->node, e->instance,
                            e->len ? payload[0] : 0, NULL, 0);
            break;
        case EFFECT_SNAPSHOT:
            if (e->node == rep->id && s->opt.profile.durable) {
                sim_replica_checkpoint_begin(s, r, e->instance);
                break;
            }
            sim_replica_transfer_begin(s, r, e->node, e->instance);
            break;
        case EFFECT_INSTALL:
            sim_replica_install(s, r, e->instance, payload, e->len);
            break;
        }
    }
    outbox_clear(&s->out);
}

static void sim_step(struct sim *s, uint32_t r, struct engine_event ev)
{
    ev.now_ms = s->now / 1000;
    s->ops->step(s->replicas[r].engine, &ev, &s->out);
    sim_replica_effects(s, r);
    struct sim_replica *rep = &s->replicas[r];
    if (!rep->removed && !sim_replica_member(s, r)) {
        /* Removed: it will not execute the commands it still had in flight. As after a crash,
         * their outcome is unknown, and its clients are cut off. */
        rep->removed = true;
        rep->left_at = s->now;
        s->res->removals++;
        sim_check_stability(s, r);
        sim_orphans_crash(s, r);
        while (rep->conn_count) {
            uint32_t client = rep->conns[rep->conn_count - 1].client;
            rep->conn_count--;
            sim_client_disconnected(s, client);
        }
    }
}

/* One event-loop iteration ends: the engine seals its batch and emits what it buffered. */
static void sim_flush(struct sim *s, uint32_t r)
{
    sim_step(s, r, (struct engine_event){.type = ENGINE_EVENT_FLUSH});
    if (s->opt.profile.durable)
        sim_disk_kick(s, r); /* one fsync per round, as the runtime does */
}

void sim_replica_durable(struct sim *s, uint32_t r)
{
    sim_step(s, r, (struct engine_event){.type = ENGINE_EVENT_DURABLE,
                                         .instance = s->replicas[r].disk.waits.durable});
    sim_flush(s, r);
}

bool sim_replica_available(const struct sim *s, uint32_t r, uint64_t *defer_until)
{
    const struct sim_replica *rep = &s->replicas[r];
    *defer_until = 0;
    if (!rep->up)
        return false;
    if (rep->paused_until > s->now)
        *defer_until = rep->paused_until;
    return true;
}

void sim_replica_deliver(struct sim *s, const struct sim_event *e)
{
    struct sim_replica *rep = &s->replicas[e->node];
    if (sim_network_cut(s, e->from, e->node)) {
        s->res->faults[SIM_FAULT_PARTITION_DROP]++;
        sim_trace_event(s, SIM_TR_PARTITION_DROP, e->from, e->node, 1, 0, e->data, e->len);
        return;
    }
    if (!rep->up) {
        sim_trace_event(s, SIM_TR_DOWN_DROP, e->from, e->node, 0, 0, e->data, e->len);
        return;
    }
    sim_trace_event(s, SIM_TR_DELIVER, e->node, e->from, 0, 0, e->data, e->len);
    sim_step(s, e->node,
             (struct engine_event){.type = ENGINE_EVENT_MESSAGE, .from = s->replicas[e->from].id,
                                   .data = e->data, .len = e->len});
    sim_flush(s, e->node);
}

void sim_replica_tick(struct sim *s, uint32_t r)
{
    struct sim_replica *rep = &s->replicas[r];
    if (!rep->up || rep->paused_until > s->now)
        return; /* a stalled process does not tick */
    sim_trace_event(s, SIM_TR_TICK, r, 0, 0, 0, NULL, 0);
    if (rep->end_all_due) {
        rep->end_all_due = false;
        sim_replica_end_all(s, r);
    }
    sim_step(s, r, (struct engine_event){.type = ENGINE_EVENT_TICK});
    sim_flush(s, r);
}

void sim_replica_change(struct sim *s, uint32_t r, uint32_t node, bool add)
{
    struct buf b;
    buf_init(&b);
    buf_put_u8(&b, add ? ENGINE_CHANGE_ADD : ENGINE_CHANGE_REMOVE);
    buf_put_u32(&b, s->replicas[node].id);
    if (add) {
        char address[32];
        int len = snprintf(address, sizeof address, "sim:%u", s->replicas[node].id);
        buf_append(&b, address, (size_t)len);
    }
    sim_step(s, r, (struct engine_event){.type = ENGINE_EVENT_CHANGE, .data = b.data,
                                         .len = b.len});
    sim_flush(s, r);
    buf_free(&b);
}

static bool sim_is_read(enum op_type t) { return t == OP_GET || t == OP_MGET; }

void sim_replica_request(struct sim *s, uint32_t r, uint32_t client, uint64_t serial)
{
    struct sim_replica *rep = &s->replicas[r];
    struct sim_client *cl = &s->clients[client];
    /* The client gave up (and closed the connection) before the request arrived. */
    if (!rep->up || !cl->busy || cl->serial != serial)
        return;
    struct sim_conn *c = sim_conn_find(rep, cl->conn);
    if (!c)
        return;
    /* As src/server/dispatch.c: ordered commands are numbered 1, 2, 3... per connection (the
     * session table runs them strictly in that order); local reads count apart, top bit set. */
    bool read = sim_is_read(cl->type);
    uint64_t seq = read ? ++c->next_read_seq | SIM_LOCAL_READ_SEQ_BIT : ++c->next_seq;
    c->waiting = seq;
    c->submitted = seq;
    c->serial = serial;
    const uint8_t *argv[SIM_MAX_ARGS];
    size_t lens[SIM_MAX_ARGS];
    for (uint32_t i = 0; i < cl->argc; i++) {
        argv[i] = (const uint8_t *)cl->argv[i];
        lens[i] = strlen(cl->argv[i]);
    }
    struct command_header h = {.origin = rep->id, .client = c->id, .seq = seq,
                               .argc = cl->argc};
    buf_clear(&rep->record);
    command_encode(&rep->record, &h, argv, lens);
    sim_trace_event(s, SIM_TR_REQUEST, r, client, seq, serial, rep->record.data,
                    rep->record.len);
    enum engine_event_type type = read ? ENGINE_EVENT_READ : ENGINE_EVENT_COMMAND;
    sim_step(s, r, (struct engine_event){.type = type, .data = rep->record.data,
                                         .len = rep->record.len});
    sim_flush(s, r);
}

static void sim_replica_restore_one(struct sim *s, uint32_t r, const uint8_t *data, size_t len)
{
    sim_step(s, r, (struct engine_event){.type = ENGINE_EVENT_RESTORE, .data = data, .len = len});
}

/* Hands the engine every durable record, then the end of them. */
static void sim_replica_recover(struct sim *s, uint32_t r)
{
    s->res->faults[SIM_FAULT_RECOVERY] += sim_disk_recover(s, r, sim_replica_restore_one) > 0;
    sim_step(s, r, (struct engine_event){.type = ENGINE_EVENT_RESTORE});
}

void sim_replica_start(struct sim *s, uint32_t r)
{
    struct sim_replica *rep = &s->replicas[r];
    struct engine_config config = s->config;
    config.self = rep->id;
    config.seed = s->opt.seed * 0x9e3779b97f4a7c15ull + r * 7919u + rep->incarnation;
    /* A restarted replica recovers from its disk, or, without one, lost everything and
     * rejoins with a state transfer. */
    config.join = rep->incarnation > 0 && !config.durable;
    snprintf(config.self_address, sizeof config.self_address, "sim:%u", rep->id);
    rep->engine = s->ops->create(&config);
    CHECK(rep->engine != NULL);
    rep->kv = kv_create();
    rep->up = true;
    rep->removed = false;
    rep->paused_until = 0;
    rep->end_all_due = rep->incarnation > 0;
    rep->end_all_bound = rep->next_conn_id + 1;
    rep->leader = NODE_NONE;
    rep->last_executed = 0;
    rep->log = malloc(sizeof *rep->log);
    CHECK(rep->log != NULL);
    sim_exec_log_init(rep->log, rep->id, rep->incarnation);
    sim_logs_add(s, rep->log);
    if (config.durable)
        sim_replica_recover(s, r);
    /* Ticks every 10 ms from a random phase; a restart starts a new series. */
    sim_queue_push(&s->queue, &(struct sim_event){
                                  .time = s->now + rng_below(&s->rng, SIM_TICK_US),
                                  .type = SIM_EV_TICK, .node = r, .arg = rep->incarnation});
}

void sim_replica_crash(struct sim *s, uint32_t r)
{
    struct sim_replica *rep = &s->replicas[r];
    s->ops->destroy(rep->engine);
    kv_destroy(rep->kv);
    rep->engine = NULL;
    rep->kv = NULL;
    rep->up = false;
    rep->log = NULL;
    rep->incarnation++; /* pending ticks and fsyncs of the old incarnation are ignored */
    rep->snapshot_pending = false; /* its child died with it */
    sim_disk_crash(s, r);
    sim_orphans_crash(s, r);
    /* Every connection breaks: the clients see it and reconnect later. */
    while (rep->conn_count) {
        uint32_t client = rep->conns[rep->conn_count - 1].client;
        rep->conn_count--;
        sim_client_disconnected(s, client);
    }
    /* So do its peer links: the other replicas' transports report them lost (a paused replica
     * would notice later; it gets no hint). */
    for (uint32_t x = 0; x < s->n; x++) {
        uint64_t defer;
        if (x == r || !sim_replica_available(s, x, &defer) || defer || sim_network_cut(s, r, x))
            continue;
        sim_step(s, x, (struct engine_event){.type = ENGINE_EVENT_PEER_DOWN, .from = rep->id});
        sim_flush(s, x);
    }
}

void sim_cluster_init(struct sim *s)
{
    s->config = (struct engine_config){.member_count = s->n,
                                       .planted_bugs = s->opt.planted_bugs,
                                       .durable = s->opt.profile.durable};
    if (s->config.durable) {
        /* Disks from fast to slow, and checkpoints often enough that runs restart from them
         * (a few KB of records: every few hundred instances). */
        s->fsync_min_us = 50 + rng_below(&s->rng, 2000);
        s->fsync_spread_us = rng_below(&s->rng, 3000);
        s->config.checkpoint_bytes = 4096 + rng_below(&s->rng, 60000);
    }
    /* State transfers in parts of 64 B to 4 KB (the states here are small): the parts meet
     * loss, duplication and reordering. From the seed, not the rng, whose draws stay as
     * they were. */
    s->config.state_part_bytes = 64 + (size_t)(s->opt.seed * 2654435761u % 4033);
    for (size_t k = 0; k < s->n; k++)
        s->config.members[k] = (node_id)(k + 1);
    outbox_init(&s->out);
    for (uint32_t r = 0; r < s->n; r++) {
        struct sim_replica *rep = &s->replicas[r];
        memset(rep, 0, sizeof *rep);
        rep->id = (node_id)(r + 1);
        buf_init(&rep->reply);
        buf_init(&rep->record);
        buf_init(&rep->snapshot);
        buf_init(&rep->checkpoint);
        sim_disk_init(&rep->disk);
        sim_replica_start(s, r);
    }
}

void sim_cluster_free(struct sim *s)
{
    for (uint32_t r = 0; r < s->n; r++) {
        struct sim_replica *rep = &s->replicas[r];
        if (rep->up) {
            s->ops->destroy(rep->engine);
            kv_destroy(rep->kv);
        }
        free(rep->conns);
        command_args_free(&rep->args);
        buf_free(&rep->reply);
        buf_free(&rep->record);
        buf_free(&rep->snapshot);
        buf_free(&rep->checkpoint);
        sim_disk_free(&rep->disk);
    }
    for (size_t i = 0; i < s->log_count; i++) {
        sim_exec_log_free(s->logs[i]);
        free(s->logs[i]);
    }
    free(s->logs);
    free(s->agreed_digest);
    free(s->agreed_payload);
    free(s->agreed_node);
    outbox_free(&s->out);
}

instance_no sim_cluster_max_executed(const struct sim *s)
{
    instance_no m = 0;
    for (uint32_t r = 0; r < s->n; r++)
        if (s->replicas[r].up && s->replicas[r].last_executed > m)
            m = s->replicas[r].last_executed;
    return m;
}

bool sim_replica_member(const struct sim *s, uint32_t r)
{
    if (!s->replicas[r].up)
        return false;
    struct engine_status st;
    s->ops->status(s->replicas[r].engine, &st);
    return st.chain_length > 0;
}

instance_no sim_cluster_min_executed(const struct sim *s)
{
    instance_no m = UINT64_MAX;
    for (uint32_t r = 0; r < s->n; r++)
        if (sim_replica_member(s, r) && s->replicas[r].last_executed < m)
            m = s->replicas[r].last_executed;
    return m == UINT64_MAX ? 0 : m;
}
