/* The ChainPaxos engine's entry points: create, destroy, status and the dispatch of events. */
#include "protocols/chainpaxos/chainpaxos.h"

#include "common/check.h"
#include "protocols/chainpaxos/internal.h"

#include <stdlib.h>
#include <string.h>

static bool chain_config_valid(const struct engine_config *config)
{
    if (config->member_count == 0 || config->member_count > CATENA_MAX_NODES)
        return false;
    bool self_found = false;
    for (size_t k = 0; k < config->member_count; k++) {
        if (config->members[k] == NODE_NONE)
            return false;
        for (size_t j = 0; j < k; j++)
            if (config->members[j] == config->members[k])
                return false;
        self_found |= config->members[k] == config->self;
    }
    return self_found || config->join;
}

static uint64_t chain_or_u64(uint64_t v, uint64_t fallback) { return v ? v : fallback; }
static size_t chain_or_size(size_t v, size_t fallback) { return v ? v : fallback; }

static void *chain_create(const struct engine_config *config)
{
    if (!chain_config_valid(config))
        return NULL;
    struct chain_engine *c = calloc(1, sizeof *c);
    CHECK(c != NULL);
    c->self = config->self;
    c->leader = NODE_NONE;
    chain_config_set(c, config->members, config->member_count);
    size_t address_len = strnlen(config->self_address, sizeof config->self_address);
    if (address_len <= CHAIN_MAX_ADDRESS) {
        memcpy(c->self_address, config->self_address, address_len);
        c->self_address_len = address_len;
    }
    if (config->join) {
        /* Whatever it held is gone: it takes part only after a state transfer. */
        c->removed = true;
        c->joining = true;
    }
    c->state_for = NODE_NONE;
    c->retransmit_ms = chain_or_u64(config->retransmit_ms, CHAINPAXOS_DEFAULT_RETRANSMIT_MS);
    c->noop_interval_ms =
        chain_or_u64(config->noop_interval_ms, CHAINPAXOS_DEFAULT_NOOP_INTERVAL_MS);
    c->leader_timeout_ms =
        chain_or_u64(config->leader_timeout_ms, CHAINPAXOS_DEFAULT_LEADER_TIMEOUT_MS);
    c->max_batch_bytes = chain_or_size(config->max_batch_bytes, CHAINPAXOS_DEFAULT_MAX_BATCH_BYTES);
    c->max_pending_bytes =
        chain_or_size(config->max_pending_bytes, CHAINPAXOS_DEFAULT_MAX_PENDING_BYTES);
    c->max_window_bytes =
        chain_or_size(config->max_window_bytes, CHAINPAXOS_DEFAULT_MAX_WINDOW_BYTES);
    c->suspect_ms = 3 * c->retransmit_ms;
    rng_seed(&c->rng, config->seed);
    chain_election_delay(c);
    c->remove_wanted = NODE_NONE;
    c->move_wanted = NODE_NONE;
    c->recover_next = 1; /* nothing to recover */
    c->planted_bugs = config->planted_bugs;
    c->durable = config->durable;
    c->checkpoint_bytes =
        chain_or_size(config->checkpoint_bytes, CHAINPAXOS_DEFAULT_CHECKPOINT_BYTES);
    buf_init(&c->restore_state);
    buf_init(&c->state_in);
    buf_init(&c->xfer);
    c->state_part_bytes =
        chain_or_size(config->state_part_bytes, CHAINPAXOS_DEFAULT_STATE_PART_BYTES);
    chain_fifo_init(&c->reads, sizeof(struct chain_read));
    chain_fifo_init(&c->inflight, sizeof(struct chain_inflight));
    c->resend_ms = 5 * c->retransmit_ms;
    c->role = CHAIN_FOLLOWER;
    c->next_instance = 1;
    chain_log_init(&c->log, 1);
    chain_log_init(&c->recovered, 1);
    buf_init(&c->scratch);
    buf_init(&c->command_copy);
    buf_init(&c->batch);
    buf_init(&c->pending);
    buf_put_u32(&c->pending, 0); /* count placeholder, see propose.c */
    return c;
}

static void chain_destroy(void *engine)
{
    struct chain_engine *c = engine;
    if (!c)
        return;
    chain_log_free(&c->log);
    chain_log_free(&c->recovered);
    buf_free(&c->scratch);
    buf_free(&c->command_copy);
    buf_free(&c->batch);
    buf_free(&c->pending);
    buf_free(&c->restore_state);
    buf_free(&c->state_in);
    buf_free(&c->xfer);
    chain_fifo_free(&c->reads);
    chain_fifo_free(&c->inflight);
    free(c);
}

static void chain_step(void *engine, const struct engine_event *event, struct outbox *out)
{
    struct chain_engine *c = engine;
    CHECK(c->out == NULL); /* steps do not nest */
    c->out = out;
    /* Time never goes backwards inside the engine, whatever the caller passes. */
    if (event->now_ms > c->now_ms)
        c->now_ms = event->now_ms;
    if (!c->clock_started) {
        /* The caller's clock need not start at 0: timers run from the first event. */
        c->clock_started = true;
        c->leader_heard_ms = c->ack_progress_ms = c->successor_heard_ms = c->now_ms;
    }
    switch (event->type) {
    case ENGINE_EVENT_MESSAGE:
        chain_recv_message(c, event->from, event->data, event->len);
        break;
    case ENGINE_EVENT_TICK:
        chain_tick(c);
        c->executed_due = true;
        break;
    case ENGINE_EVENT_COMMAND:
        chain_command(c, event->data, event->len);
        break;
    case ENGINE_EVENT_FLUSH:
        chain_flush(c);
        chain_reads_flush(c);
        chain_persist_executed(c);
        break;
    case ENGINE_EVENT_READ:
        chain_read(c, event->data, event->len);
        break;
    case ENGINE_EVENT_CHANGE:
        chain_operator_change(c, event->data, event->len);
        break;
    case ENGINE_EVENT_PEER_DOWN:
        chain_peer_down(c, event->from);
        break;
    case ENGINE_EVENT_SNAPSHOT:
        if (event->from == c->self)
            chain_checkpoint_ready(c, event->instance, event->data, event->len);
        else
            chain_snapshot_ready(c, event->instance, event->data, event->len);
        break;
    case ENGINE_EVENT_RESTORE:
        chain_restore(c, event->data, event->len);
        break;
    case ENGINE_EVENT_DURABLE:
        chain_durable(c, event->instance);
        break;
    }
    c->out = NULL;
}

static const char *chain_role_name(enum chain_role role)
{
    switch (role) {
    case CHAIN_LEADER:
        return "leader";
    case CHAIN_CANDIDATE:
        return "candidate";
    case CHAIN_FOLLOWER:
        break;
    }
    return "follower";
}

static void chain_status(const void *engine, struct engine_status *s)
{
    const struct chain_engine *c = engine;
    *s = (struct engine_status){
        .role = chain_role_name(c->role),
        .leader = c->leader,
        .ballot = c->promised,
        .highest_accepted = c->highest_accepted,
        .highest_decided = c->highest_executed,
        .highest_executed = c->highest_executed,
        .highest_acknowledged = c->ack,
        .gc_horizon = c->log.base - 1,
        .log_instances = c->log.used,
        .chain_length = c->removed ? 0 : c->n,
        .messages_dropped = c->messages_dropped,
        .messages_malformed = c->messages_malformed,
        .next_hop = c->removed ? NODE_NONE : c->probe_hop,
        .next_hop_rtt_ms = chain_probe_rtt_ms(c),
        .reads_waiting = chain_fifo_size(&c->reads),
        .membership = !c->removed ? "member" : c->joining ? "joining" : "removed",
        .operator_change_waiting = c->op_waiting,
    };
    /* The chain is the ring read from the leader (from the first member while none is known). */
    size_t first = c->leader != NODE_NONE ? c->leader_index : 0;
    for (size_t k = 0; k < s->chain_length; k++)
        s->chain[k] = c->members[(first + k) % c->n];
    struct chain_change change;
    if (c->removed)
        s->next_member_count = 0;
    else if (chain_pending_change(c, &change))
        s->next_member_count = chain_change_apply(c->members, c->n, &change, s->next_members);
    else
        memcpy(s->next_members, c->members, (s->next_member_count = c->n) * sizeof *c->members);
}

const struct engine_ops chainpaxos_engine_ops = {
    .name = "chainpaxos",
    .create = chain_create,
    .destroy = chain_destroy,
    .step = chain_step,
    .status = chain_status,
};
