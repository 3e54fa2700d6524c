/* In-memory cluster of ChainPaxos engines for unit tests.
 *
 * N engines, one FIFO queue per directed link, a virtual clock, and deterministic delivery: the
 * next message is taken from a link chosen by a seeded rng, one at a time, so a seed replays a
 * run exactly. Every effect is checked as it comes out:
 *   - EXECUTE is in order without gaps at every node, and every node executes the same payload
 *     for an instance (agreement);
 *   - every effect is appended to a trace, so two runs can be compared byte for byte.
 * Links can be switched to drop what is sent on them, or cut (losing what is in flight).
 *
 * Include <cmocka.h> (with its prerequisites) before this header: the checks use its asserts.
 * Every function is static inline so that a test file may use any subset of them. */
#ifndef CATENA_TESTS_CHAINPAXOS_HARNESS_H
#define CATENA_TESTS_CHAINPAXOS_HARNESS_H

#include "common/buf.h"
#include "common/rng.h"
#include "core/command.h"
#include "core/engine.h"
#include "core/outbox.h"
#include "protocols/chainpaxos/chainpaxos.h"
#include "protocols/chainpaxos/messages.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CP_MAX_NODES 8
#define CP_TICK_MS 10
#define CP_CLIENTS 4 /* clients per node for cp_submit_next */

struct cp_msg {
    uint8_t *data;
    size_t len;
};

struct cp_link {
    struct cp_msg *items; /* ring buffer */
    size_t head;
    size_t count;
    size_t cap;
    bool drop;        /* discard what is sent while set */
    uint32_t drop_types; /* discard messages whose type bit (1 << type) is set */
    uint64_t dropped; /* messages discarded on this link */
};

struct cp_exec {
    instance_no instance;
    size_t offset; /* into exec_data */
    size_t len;
};

struct cp_node {
    node_id id;
    void *engine;
    node_id leader;        /* from the latest EFFECT_LEADER */
    size_t leader_effects; /* how many EFFECT_LEADER were emitted */
    struct cp_exec *execs;
    size_t exec_count;
    size_t exec_cap;
    struct buf exec_data;
    uint64_t sends[16]; /* SEND effects by message type */
    size_t membership_changes;
    size_t state_transfers; /* EFFECT_SNAPSHOT and EFFECT_INSTALL */
    /* The latest EFFECT_SNAPSHOT for a joiner, which the harness leaves unanswered: a test
     * answers it with cp_hand_snapshot. */
    node_id snapshot_for;
    instance_no snapshot_at;
    uint64_t rejects;
    uint64_t abandoned; /* commands in flight when the node left the configuration */
    /* Local reads (cp_read): released, and released before this node had executed an
     * instance that was executed somewhere when the read was submitted (stale). */
    uint64_t reads_released;
    uint64_t stale_reads;
    /* Durable engines: the records on "disk" (u32 length, bytes; a checkpoint replaces them),
     * and the instance a restored state started at (execution goes on from there). */
    struct buf disk;
    uint64_t records;
    uint64_t emitted, reported; /* this incarnation's records; told durable (DURABLE) */
    instance_no exec_base;
};

/* Called for every SEND, before the link decides whether to drop it. */
typedef void (*cp_send_hook)(void *arg, size_t from, size_t to, const uint8_t *data,
                             size_t len);

struct cp_cluster {
    size_t n;
    struct cp_node nodes[CP_MAX_NODES];
    struct cp_link links[CP_MAX_NODES][CP_MAX_NODES];
    uint64_t now_ms;
    struct rng rng;
    struct outbox out;
    struct buf trace;
    /* Agreement: hash of the payload first executed for each instance. */
    uint64_t *chosen;
    bool *chosen_set;
    size_t chosen_cap;
    cp_send_hook hook;
    void *hook_arg;
    uint64_t delivered;
    uint64_t outsider_sends; /* SENDs to ids that are no node of the harness (discarded) */
    /* Set once a node got a well-formed message that no correct replica sent (fuzzing):
     * Paxos tolerates crashes, not lies, so agreement is no longer checked. */
    bool byzantine;
    bool manual_flush; /* no automatic FLUSH after deliveries and ticks */
    struct engine_config config; /* as the engines were created (self aside) */
    /* Highest seq submitted with cp_submit_next, per node and client. */
    uint64_t next_seq[CP_MAX_NODES][CP_CLIENTS];
};

static inline uint64_t cp_hash(const uint8_t *p, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h ^ len;
}

/* Node `id`'s own fields of a config: a replica knows its peer address, which it sends in its
 * JOINs once it is out of the configuration. */
static inline void cp_config_self(struct engine_config *config, node_id id)
{
    config->self = id;
    snprintf(config->self_address, sizeof config->self_address, "127.0.0.1:%u",
             7000u + (unsigned)id);
}

/* ids: NULL for 1..n. tunables: NULL for defaults (only its tunable fields are used). */
static inline void cp_init(struct cp_cluster *cl, size_t n, const node_id *ids, uint64_t seed,
                           const struct engine_config *tunables)
{
    assert_true(n >= 1 && n <= CP_MAX_NODES);
    memset(cl, 0, sizeof *cl);
    cl->n = n;
    rng_seed(&cl->rng, seed);
    outbox_init(&cl->out);
    buf_init(&cl->trace);
    struct engine_config config = {0};
    if (tunables)
        config = *tunables;
    config.member_count = n;
    for (size_t k = 0; k < n; k++)
        config.members[k] = ids ? ids[k] : (node_id)(k + 1);
    cl->config = config;
    for (size_t k = 0; k < n; k++) {
        cp_config_self(&config, config.members[k]);
        config.seed = seed * 131 + k;
        cl->nodes[k].id = config.self;
        cl->nodes[k].engine = chainpaxos_engine_ops.create(&config);
        assert_non_null(cl->nodes[k].engine);
        buf_init(&cl->nodes[k].exec_data);
        buf_init(&cl->nodes[k].disk);
    }
}

static inline void cp_free(struct cp_cluster *cl)
{
    for (size_t k = 0; k < cl->n; k++) {
        chainpaxos_engine_ops.destroy(cl->nodes[k].engine);
        free(cl->nodes[k].execs);
        buf_free(&cl->nodes[k].exec_data);
        buf_free(&cl->nodes[k].disk);
    }
    for (size_t a = 0; a < CP_MAX_NODES; a++)
        for (size_t b = 0; b < CP_MAX_NODES; b++) {
            struct cp_link *l = &cl->links[a][b];
            for (size_t i = 0; i < l->count; i++)
                free(l->items[(l->head + i) % l->cap].data);
            free(l->items);
        }
    free(cl->chosen);
    free(cl->chosen_set);
    outbox_free(&cl->out);
    buf_free(&cl->trace);
}

/* The index of node `id`, or cl->n if it is no node of the harness. */
static inline size_t cp_find(const struct cp_cluster *cl, node_id id)
{
    size_t k = 0;
    while (k < cl->n && cl->nodes[k].id != id)
        k++;
    return k;
}

static inline size_t cp_index(const struct cp_cluster *cl, node_id id)
{
    for (size_t k = 0; k < cl->n; k++)
        if (cl->nodes[k].id == id)
            return k;
    fail_msg("unknown node id %u", id);
    return 0;
}

static inline void cp_link_push(struct cp_link *l, const uint8_t *data, size_t len)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct cp_msg *items = malloc(cap * sizeof *items);
        assert_non_null(items);
        for (size_t i = 0; i < l->count; i++)
            items[i] = l->items[(l->head + i) % l->cap];
        free(l->items);
        l->items = items;
        l->cap = cap;
        l->head = 0;
    }
    struct cp_msg *m = &l->items[(l->head + l->count) % l->cap];
    m->data = malloc(len ? len : 1);
    assert_non_null(m->data);
    memcpy(m->data, data, len);
    m->len = len;
    l->count++;
}

static inline struct cp_msg cp_link_pop(struct cp_link *l)
{
    assert_true(l->count > 0);
    struct cp_msg m = l->items[l->head];
    l->head = (l->head + 1) % l->cap;
    l->count--;
    return m;
}

/* Loses everything in flight on a link (a TCP connection that broke). */
static inline void cp_link_cut(struct cp_cluster *cl, size_t from, size_t to)
{
    struct cp_link *l = &cl->links[from][to];
    while (l->count) {
        struct cp_msg m = cp_link_pop(l);
        free(m.data);
        l->dropped++;
    }
}

/* Loses the oldest message in flight on a link. */
static inline void cp_link_drop_head(struct cp_cluster *cl, size_t from, size_t to)
{
    struct cp_msg m = cp_link_pop(&cl->links[from][to]);
    free(m.data);
    cl->links[from][to].dropped++;
}

static inline void cp_trace(struct cp_cluster *cl, size_t k, const struct effect *e,
                            const uint8_t *payload)
{
    buf_put_u32(&cl->trace, (uint32_t)k);
    buf_put_u32(&cl->trace, e->type);
    buf_put_u32(&cl->trace, e->node);
    buf_put_u64(&cl->trace, e->instance);
    buf_put_u64(&cl->trace, cp_hash(payload, e->len));
}

static inline void cp_check_agreement(struct cp_cluster *cl, instance_no i, uint64_t hash)
{
    if (i >= cl->chosen_cap) {
        size_t cap = cl->chosen_cap ? cl->chosen_cap : 64;
        while (cap <= i)
            cap *= 2;
        cl->chosen = realloc(cl->chosen, cap * sizeof *cl->chosen);
        cl->chosen_set = realloc(cl->chosen_set, cap * sizeof *cl->chosen_set);
        assert_true(cl->chosen && cl->chosen_set);
        memset(cl->chosen_set + cl->chosen_cap, 0, (cap - cl->chosen_cap) * sizeof(bool));
        cl->chosen_cap = cap;
    }
    if (!cl->chosen_set[i]) {
        cl->chosen_set[i] = true;
        cl->chosen[i] = hash;
    } else if (cl->chosen[i] != hash && !cl->byzantine) {
        fail_msg("agreement violated at instance %llu", (unsigned long long)i);
    }
}

static inline void cp_record_exec(struct cp_cluster *cl, size_t k, instance_no i,
                                  const uint8_t *payload, size_t len)
{
    struct cp_node *node = &cl->nodes[k];
    instance_no last =
        node->exec_count ? node->execs[node->exec_count - 1].instance : node->exec_base;
    if (i != last + 1)
        fail_msg("node %u executed %llu after %llu", node->id, (unsigned long long)i,
                 (unsigned long long)last);
    cp_check_agreement(cl, i, cp_hash(payload, len));
    if (node->exec_count == node->exec_cap) {
        node->exec_cap = node->exec_cap ? node->exec_cap * 2 : 64;
        node->execs = realloc(node->execs, node->exec_cap * sizeof *node->execs);
        assert_non_null(node->execs);
    }
    node->execs[node->exec_count++] =
        (struct cp_exec){.instance = i, .offset = node->exec_data.len, .len = len};
    buf_append(&node->exec_data, payload, len);
}

static inline void cp_process(struct cp_cluster *cl, size_t k)
{
    for (size_t j = 0; j < cl->out.count; j++) {
        const struct effect *e = &cl->out.items[j];
        const uint8_t *payload = outbox_payload(&cl->out, e);
        cp_trace(cl, k, e, payload);
        switch (e->type) {
        case EFFECT_SEND:
        case EFFECT_SEND_NOW: {
            size_t to = cp_find(cl, e->node);
            assert_true(to != k);
            assert_true(e->len > 0);
            if (payload[0] < 16)
                cl->nodes[k].sends[payload[0]]++;
            if (to == cl->n) { /* e.g. NOT_MEMBER to a stranger a test made up */
                cl->outsider_sends++;
                break;
            }
            if (cl->hook)
                cl->hook(cl->hook_arg, k, to, payload, e->len);
            struct cp_link *l = &cl->links[k][to];
            if (l->drop || (l->drop_types & (1u << (payload[0] & 31))))
                l->dropped++;
            else
                cp_link_push(l, payload, e->len);
            break;
        }
        case EFFECT_EXECUTE:
            cp_record_exec(cl, k, e->instance, payload, e->len);
            break;
        case EFFECT_LEADER:
            cl->nodes[k].leader = e->node;
            cl->nodes[k].leader_effects++;
            break;
        case EFFECT_REJECT:
            cl->nodes[k].rejects++;
            break;
        case EFFECT_ABANDON:
            cl->nodes[k].abandoned++;
            break;
        case EFFECT_MEMBERSHIP:
            cl->nodes[k].membership_changes++;
            break;
        case EFFECT_SNAPSHOT:
            cl->nodes[k].state_transfers++;
            if (e->node != cl->nodes[k].id) {
                cl->nodes[k].snapshot_for = e->node;
                cl->nodes[k].snapshot_at = e->instance;
            }
            break;
        case EFFECT_INSTALL:
            cl->nodes[k].state_transfers++;
            cl->nodes[k].exec_count = 0;
            cl->nodes[k].exec_base = e->instance;
            break;
        case EFFECT_PERSIST:
            /* Durable at once: what is sent after it cannot overtake it. */
            if (e->instance)
                buf_clear(&cl->nodes[k].disk);
            buf_put_u32(&cl->nodes[k].disk, (uint32_t)e->len);
            buf_append(&cl->nodes[k].disk, payload, e->len);
            cl->nodes[k].records++;
            cl->nodes[k].emitted++;
            break;
        case EFFECT_READ: {
            /* The harness's read payload is the instance the read must observe. */
            instance_no required;
            assert_int_equal(e->len, sizeof required);
            memcpy(&required, payload, sizeof required);
            cl->nodes[k].reads_released++;
            if (cl->nodes[k].exec_count < required)
                cl->nodes[k].stale_reads++;
            break;
        }
        }
    }
    outbox_clear(&cl->out);
}

static inline void cp_step(struct cp_cluster *cl, size_t k, struct engine_event ev)
{
    ev.now_ms = cl->now_ms;
    chainpaxos_engine_ops.step(cl->nodes[k].engine, &ev, &cl->out);
    cp_process(cl, k);
    struct cp_node *node = &cl->nodes[k];
    if (node->emitted > node->reported) {
        node->reported = node->emitted; /* the disk is instantaneous */
        cp_step(cl, k,
                (struct engine_event){.type = ENGINE_EVENT_DURABLE, .instance = node->emitted});
    }
}

/* The runtime ends every event-loop iteration with a FLUSH; the harness treats each delivered
 * message and each tick as one iteration of the receiving node (unless manual_flush is set). */
static inline void cp_end_iteration(struct cp_cluster *cl, size_t k)
{
    if (!cl->manual_flush)
        cp_step(cl, k, (struct engine_event){.type = ENGINE_EVENT_FLUSH});
}

/* Node k's answer to its latest EFFECT_SNAPSHOT for a joiner: `len` bytes of state (made up:
 * the harness has no state machine, only the executed log). */
static inline void cp_hand_snapshot_of(struct cp_cluster *cl, size_t k, const uint8_t *state,
                                       size_t len)
{
    struct cp_node *node = &cl->nodes[k];
    assert_true(node->snapshot_for != 0);
    cp_step(cl, k, (struct engine_event){.type = ENGINE_EVENT_SNAPSHOT,
                                         .from = node->snapshot_for,
                                         .instance = node->snapshot_at,
                                         .data = state,
                                         .len = len});
    node->snapshot_for = 0;
    cp_end_iteration(cl, k);
}

static inline void cp_hand_snapshot(struct cp_cluster *cl, size_t k)
{
    static const uint8_t state[] = "state";
    cp_hand_snapshot_of(cl, k, state, sizeof state);
}

/* An operator's change handed to node k, as CATENA.ADD / CATENA.REMOVE do. */
static inline void cp_operator_change(struct cp_cluster *cl, size_t k, uint8_t op, node_id node)
{
    struct buf b;
    buf_init(&b);
    buf_put_u8(&b, op);
    buf_put_u32(&b, node);
    if (op == ENGINE_CHANGE_ADD) {
        struct engine_config own;
        cp_config_self(&own, node);
        buf_append_str(&b, own.self_address);
    }
    cp_step(cl, k, (struct engine_event){.type = ENGINE_EVENT_CHANGE, .data = b.data,
                                         .len = b.len});
    cp_end_iteration(cl, k);
    buf_free(&b);
}

static inline void cp_tick_all(struct cp_cluster *cl)
{
    cl->now_ms += CP_TICK_MS;
    for (size_t k = 0; k < cl->n; k++) {
        cp_step(cl, k, (struct engine_event){.type = ENGINE_EVENT_TICK});
        cp_end_iteration(cl, k);
    }
}

/* Node k receives `msg` (encoded by a test) as if `from` had sent it; then frees it. */
static inline void cp_inject(struct cp_cluster *cl, size_t k, node_id from, struct buf *msg)
{
    cp_step(cl, k,
            (struct engine_event){.type = ENGINE_EVENT_MESSAGE, .from = from, .data = msg->data,
                                  .len = msg->len});
    buf_free(msg);
}

/* Delivers the head of one link; false if it is empty. */
static inline bool cp_deliver_link(struct cp_cluster *cl, size_t from, size_t to)
{
    struct cp_link *l = &cl->links[from][to];
    if (!l->count)
        return false;
    struct cp_msg m = cp_link_pop(l);
    cl->delivered++;
    cp_step(cl, to,
            (struct engine_event){.type = ENGINE_EVENT_MESSAGE,
                                  .from = cl->nodes[from].id,
                                  .data = m.data,
                                  .len = m.len});
    free(m.data);
    cp_end_iteration(cl, to);
    return true;
}

static inline size_t cp_in_flight(const struct cp_cluster *cl)
{
    size_t total = 0;
    for (size_t a = 0; a < cl->n; a++)
        for (size_t b = 0; b < cl->n; b++)
            total += cl->links[a][b].count;
    return total;
}

/* Delivers one message from a link chosen by the cluster's rng; false if none is in flight. */
static inline bool cp_deliver_one(struct cp_cluster *cl)
{
    size_t busy = 0;
    for (size_t a = 0; a < cl->n; a++)
        for (size_t b = 0; b < cl->n; b++)
            busy += cl->links[a][b].count > 0;
    if (!busy)
        return false;
    size_t pick = (size_t)rng_below(&cl->rng, busy);
    for (size_t a = 0; a < cl->n; a++)
        for (size_t b = 0; b < cl->n; b++)
            if (cl->links[a][b].count > 0 && pick-- == 0)
                return cp_deliver_link(cl, a, b);
    return false;
}

/* Delivers until nothing is in flight (time does not advance). */
static inline void cp_run(struct cp_cluster *cl)
{
    for (size_t i = 0; i < 10000000 && cp_deliver_one(cl); i++)
        ;
    assert_int_equal(cp_in_flight(cl), 0);
}

/* Advances the clock by ms in ticks, delivering everything after each tick. */
static inline void cp_advance(struct cp_cluster *cl, uint64_t ms)
{
    for (uint64_t t = 0; t < ms; t += CP_TICK_MS) {
        cp_tick_all(cl);
        cp_run(cl);
    }
}

/* An operator removes node k and adds it back (node 0 leads). The harness leaves the snapshot
 * its predecessor asks for unanswered, so k waits for its state until cp_hand_snapshot. */
static inline void cp_readd_waiting(struct cp_cluster *cl, size_t k)
{
    node_id id = cl->nodes[k].id;
    cp_operator_change(cl, 0, ENGINE_CHANGE_REMOVE, id);
    cp_advance(cl, 500);
    cp_operator_change(cl, 0, ENGINE_CHANGE_ADD, id);
    cp_advance(cl, 2000); /* its next JOIN (every leader_timeout_ms) is taken */
}

/* Node k crashes (what it was sent is lost) and restarts from its disk: a durable engine
 * comes back with what it promised and accepted and executes again what it had executed. */
static inline void cp_restart(struct cp_cluster *cl, size_t k)
{
    struct cp_node *node = &cl->nodes[k];
    for (size_t a = 0; a < cl->n; a++) {
        cp_link_cut(cl, a, k);
        cp_link_cut(cl, k, a);
    }
    chainpaxos_engine_ops.destroy(node->engine);
    struct engine_config config = cl->config;
    cp_config_self(&config, node->id);
    config.seed = cl->config.seed * 131 + k + 7919 * (node->records + 1);
    node->engine = chainpaxos_engine_ops.create(&config);
    assert_non_null(node->engine);
    node->exec_count = 0;
    node->exec_base = 0;
    node->emitted = node->reported = 0;
    buf_clear(&node->exec_data);
    struct buf disk = node->disk;
    buf_init(&node->disk);
    for (size_t at = 0; at < disk.len;) {
        uint32_t len;
        memcpy(&len, disk.data + at, 4); /* little-endian hosts only, like the engine */
        cp_step(cl, k, (struct engine_event){.type = ENGINE_EVENT_RESTORE,
                                             .data = disk.data + at + 4, .len = len});
        at += 4 + len;
    }
    cp_step(cl, k, (struct engine_event){.type = ENGINE_EVENT_RESTORE});
    /* Restoring writes nothing: the disk is as it was. */
    assert_int_equal(node->disk.len, 0);
    node->disk = disk;
}

static inline void cp_status(const struct cp_cluster *cl, size_t k, struct engine_status *st)
{
    chainpaxos_engine_ops.status(cl->nodes[k].engine, st);
}

/* Builds a record "SET k<client> v<seq>" from node k's client `client`. */
static inline void cp_command(const struct cp_cluster *cl, size_t k, uint64_t client,
                              uint64_t seq, struct buf *out)
{
    char key[32], value[32];
    snprintf(key, sizeof key, "k%llu", (unsigned long long)client);
    snprintf(value, sizeof value, "v%llu", (unsigned long long)seq);
    const uint8_t *argv[3] = {(const uint8_t *)"SET", (const uint8_t *)key,
                              (const uint8_t *)value};
    size_t lens[3] = {3, strlen(key), strlen(value)};
    struct command_header h = {.origin = cl->nodes[k].id, .client = client, .seq = seq,
                               .argc = 3};
    command_encode(out, &h, argv, lens);
}

static inline void cp_submit(struct cp_cluster *cl, size_t k, uint64_t client, uint64_t seq)
{
    struct buf rec;
    buf_init(&rec);
    cp_command(cl, k, client, seq, &rec);
    cp_step(cl, k,
            (struct engine_event){.type = ENGINE_EVENT_COMMAND, .data = rec.data,
                                  .len = rec.len});
    buf_free(&rec);
}

/* Submits the next command of node k's client (seq 1, 2, ...), tracked for cp_check_commands. */
static inline void cp_submit_next(struct cp_cluster *cl, size_t k, uint64_t client)
{
    assert_true(client < CP_CLIENTS);
    cp_submit(cl, k, client, ++cl->next_seq[k][client]);
}

/* A local read at node k. It must observe every instance executed anywhere now (a write
 * completes when some replica executes it), which the payload carries for the check above. */
static inline void cp_read(struct cp_cluster *cl, size_t k)
{
    instance_no required = 0;
    for (size_t j = 0; j < cl->n; j++)
        if (cl->nodes[j].exec_count > required)
            required = cl->nodes[j].exec_count;
    cp_step(cl, k,
            (struct engine_event){.type = ENGINE_EVENT_READ, .data = (const uint8_t *)&required,
                                  .len = sizeof required});
}

static inline void cp_flush(struct cp_cluster *cl, size_t k)
{
    cp_step(cl, k, (struct engine_event){.type = ENGINE_EVENT_FLUSH});
}

/* Ticks until members[0] leads and every node follows it (at most max_ms). */
static inline bool cp_elect(struct cp_cluster *cl, uint64_t max_ms)
{
    for (uint64_t t = 0; t <= max_ms; t += CP_TICK_MS) {
        struct engine_status st;
        cp_status(cl, 0, &st);
        bool done = strcmp(st.role, "leader") == 0;
        for (size_t k = 0; done && k < cl->n; k++)
            done = cl->nodes[k].leader == cl->nodes[0].id;
        if (done)
            return true;
        cp_tick_all(cl);
        cp_run(cl);
    }
    return false;
}

/* n engines led by node 0, whose node k an operator then removes and adds back: it waits for
 * its state (cp_readd_waiting). */
static inline void cp_init_with_joiner(struct cp_cluster *cl, size_t n, uint64_t seed, size_t k)
{
    cp_init(cl, n, NULL, seed, NULL);
    assert_true(cp_elect(cl, 1000));
    cp_advance(cl, 300);
    cp_readd_waiting(cl, k);
}

/* Calls fn for every command node k executed, in execution order. */
typedef void (*cp_command_fn)(void *arg, instance_no i, const struct command_header *h);
static inline void cp_for_each_command(const struct cp_cluster *cl, size_t k, cp_command_fn fn,
                                       void *arg)
{
    const struct cp_node *node = &cl->nodes[k];
    struct command_args args = {0};
    for (size_t j = 0; j < node->exec_count; j++) {
        const struct cp_exec *x = &node->execs[j];
        if (x->len == 0)
            continue; /* NOOP */
        struct reader r = reader_make(node->exec_data.data + x->offset, x->len);
        uint32_t count = reader_u32(&r);
        assert_false(r.failed);
        assert_true(count > 0);
        for (uint32_t c = 0; c < count; c++) {
            struct command_header h;
            assert_true(command_decode_next(&r, &h, &args));
            fn(arg, x->instance, &h);
        }
        assert_int_equal(reader_left(&r), 0);
    }
    command_args_free(&args);
}

/* Count of EXECUTEd instances at node k whose payload is a batch. */
static inline size_t cp_batches_executed(const struct cp_cluster *cl, size_t k)
{
    size_t n = 0;
    for (size_t j = 0; j < cl->nodes[k].exec_count; j++)
        n += cl->nodes[k].execs[j].len > 0;
    return n;
}

static inline instance_no cp_executed(const struct cp_cluster *cl, size_t k)
{
    const struct cp_node *node = &cl->nodes[k];
    return node->exec_count ? node->execs[node->exec_count - 1].instance : 0;
}

struct cp_seen {
    const struct cp_cluster *cl;
    uint8_t *seen[CP_MAX_NODES][CP_CLIENTS];
    uint64_t last[CP_MAX_NODES][CP_CLIENTS];
    size_t commands;
    size_t copies;
};

/* Applies the state machine's session rule (kv/apply.h): a command takes effect only if it is
 * the next of its client; copies (a resubmission that also got through) and commands that
 * overtook a lost one are skipped alike on every replica. `copies` counts the skipped ones. */
static inline void cp_seen_command(void *arg, instance_no i, const struct command_header *h)
{
    (void)i;
    struct cp_seen *x = arg;
    size_t o = cp_index(x->cl, h->origin);
    assert_true(h->client < CP_CLIENTS);
    assert_true(h->seq >= 1 && h->seq <= x->cl->next_seq[o][h->client]);
    if (h->seq != x->last[o][h->client] + 1) {
        x->copies++;
        return;
    }
    x->seen[o][h->client][h->seq]++;
    x->last[o][h->client] = h->seq;
    x->commands++;
}

/* Node k executed every command submitted with cp_submit_next exactly once, each client's in
 * submission order (and nothing else). */
static inline void cp_check_commands(const struct cp_cluster *cl, size_t k)
{
    struct cp_seen x = {.cl = cl};
    size_t submitted = 0;
    for (size_t o = 0; o < cl->n; o++)
        for (size_t c = 0; c < CP_CLIENTS; c++) {
            x.seen[o][c] = calloc(cl->next_seq[o][c] + 1, 1);
            assert_non_null(x.seen[o][c]);
            submitted += cl->next_seq[o][c];
        }
    cp_for_each_command(cl, k, cp_seen_command, &x);
    assert_int_equal(x.commands, submitted);
    for (size_t o = 0; o < cl->n; o++)
        for (size_t c = 0; c < CP_CLIENTS; c++) {
            for (uint64_t s = 1; s <= cl->next_seq[o][c]; s++)
                assert_int_equal(x.seen[o][c][s], 1);
            free(x.seen[o][c]);
        }
}

#endif
