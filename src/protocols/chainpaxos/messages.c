/* Encoding and validating decoding of the ChainPaxos messages (layout in messages.h). */
#include "protocols/chainpaxos/messages.h"

#include "common/check.h"
#include "core/command.h"

/* ---- encoding ---------------------------------------------------------------------------- */

void chain_put_ballot(struct buf *out, struct ballot b)
{
    buf_put_u64(out, b.round);
    buf_put_u32(out, b.node);
}

static void chain_put_value(struct buf *out, const struct chain_value *v)
{
    buf_put_u8(out, v->kind);
    buf_put_u32(out, (uint32_t)v->len);
    buf_append(out, v->body, v->len);
}

void chain_msg_put_prepare(struct buf *out, const struct chain_prepare *m)
{
    buf_reserve(out, CHAIN_PREPARE_BYTES);
    buf_put_u8(out, CHAIN_MSG_PREPARE);
    chain_put_ballot(out, m->ballot);
    buf_put_u64(out, m->from);
}

void chain_msg_put_promise_header(struct buf *out, struct ballot ballot, instance_no from,
                                  instance_no gc, uint32_t count)
{
    buf_put_u8(out, CHAIN_MSG_PROMISE);
    chain_put_ballot(out, ballot);
    buf_put_u64(out, from);
    buf_put_u64(out, gc);
    buf_put_u32(out, count);
}

void chain_msg_put_promised(struct buf *out, instance_no instance, struct ballot ballot,
                            const struct chain_value *value)
{
    buf_reserve(out, 8 + CHAIN_BALLOT_BYTES + CHAIN_VALUE_HEADER_BYTES + value->len);
    buf_put_u64(out, instance);
    chain_put_ballot(out, ballot);
    chain_put_value(out, value);
}

void chain_msg_put_reject(struct buf *out, const struct chain_reject *m)
{
    buf_put_u8(out, CHAIN_MSG_REJECT_PREPARE);
    chain_put_ballot(out, m->refused);
    chain_put_ballot(out, m->promised);
}

void chain_msg_put_accept(struct buf *out, const struct chain_accept *m)
{
    buf_reserve(out, CHAIN_ACCEPT_HEADER_BYTES + CHAIN_VALUE_HEADER_BYTES + m->value.len);
    buf_put_u8(out, CHAIN_MSG_ACCEPT);
    chain_put_ballot(out, m->ballot);
    buf_put_u64(out, m->instance);
    buf_put_u16(out, m->counter);
    buf_put_u64(out, m->ack);
    buf_put_u64(out, m->gc);
    buf_put_u64(out, m->fence);
    buf_put_u64(out, m->decided);
    buf_put_u64(out, m->durable);
    buf_put_u64(out, m->whole_ack);
    chain_put_value(out, &m->value);
}

void chain_msg_put_accept_ack(struct buf *out, const struct chain_accept_ack *m)
{
    buf_put_u8(out, CHAIN_MSG_ACCEPT_ACK);
    chain_put_ballot(out, m->ballot);
    buf_put_u64(out, m->instance);
    buf_put_u64(out, m->ack);
    buf_put_u8(out, m->whole ? 1 : 0);
}

void chain_msg_put_quorum_ack(struct buf *out, const struct chain_quorum_ack *m)
{
    buf_put_u8(out, CHAIN_MSG_QUORUM_ACK);
    chain_put_ballot(out, m->ballot);
    buf_put_u64(out, m->instance);
}

void chain_msg_put_forward(struct buf *out, uint8_t hops, const uint8_t *batch, size_t len)
{
    buf_reserve(out, 2 + len);
    buf_put_u8(out, CHAIN_MSG_FORWARD);
    buf_put_u8(out, hops);
    buf_append(out, batch, len);
}

/* ---- validation of command records and batches ------------------------------------------- */

size_t chain_record_size(const uint8_t *p, size_t len)
{
    struct reader r = reader_make(p, len);
    struct command_header h;
    if (!command_peek(&r, &h) || h.argc == 0 || h.argc > COMMAND_MAX_ARGS)
        return 0;
    r.pos += COMMAND_HEADER_BYTES;
    /* Each argument needs at least its length prefix: refuse impossible counts at once rather
     * than looping a million times over a short input. */
    if ((uint64_t)h.argc * 4 > reader_left(&r))
        return 0;
    for (uint32_t i = 0; i < h.argc && !r.failed; i++)
        reader_bytes(&r, reader_u32(&r));
    return r.failed ? 0 : r.pos;
}

bool chain_batch_valid(const uint8_t *body, size_t len, uint32_t *count)
{
    struct reader r = reader_make(body, len);
    uint32_t n = reader_u32(&r);
    /* The smallest record is its header plus one 4-byte argument length. */
    if (r.failed || n == 0 || (uint64_t)n * (COMMAND_HEADER_BYTES + 4) > reader_left(&r))
        return false;
    for (uint32_t i = 0; i < n; i++) {
        size_t size = chain_record_size(body + r.pos, reader_left(&r));
        if (size == 0)
            return false;
        r.pos += size;
    }
    if (reader_left(&r) != 0)
        return false;
    *count = n;
    return true;
}

/* ---- decoding ---------------------------------------------------------------------------- */

struct ballot chain_read_ballot(struct reader *r)
{
    struct ballot b;
    b.round = reader_u64(r);
    b.node = reader_u32(r);
    return b;
}

static bool chain_read_value(struct reader *r, struct chain_value *v)
{
    v->kind = reader_u8(r);
    v->len = reader_u32(r);
    v->body = reader_bytes(r, v->len);
    if (r->failed)
        return false;
    uint32_t count;
    switch (v->kind) {
    case CHAIN_VALUE_NOOP:
        return v->len == 0;
    case CHAIN_VALUE_BATCH:
        return chain_batch_valid(v->body, v->len, &count);
    case CHAIN_VALUE_MEMBERSHIP: {
        struct chain_change change;
        return chain_change_decode(v->body, v->len, &change);
    }
    default:
        return false;
    }
}

/* Opens a reader on a message of the expected type. */
static bool chain_open(const uint8_t *data, size_t len, uint8_t type, struct reader *r)
{
    *r = reader_make(data, len);
    return reader_u8(r) == type && !r->failed;
}

/* A decoder succeeds only if every field was present and nothing is left over. */
static bool chain_done(const struct reader *r) { return !r->failed && reader_left(r) == 0; }

uint8_t chain_msg_type(const uint8_t *data, size_t len) { return len ? data[0] : 0; }

bool chain_msg_decode_prepare(const uint8_t *data, size_t len, struct chain_prepare *m)
{
    struct reader r;
    if (!chain_open(data, len, CHAIN_MSG_PREPARE, &r))
        return false;
    m->ballot = chain_read_ballot(&r);
    m->from = reader_u64(&r);
    return chain_done(&r) && m->from >= 1 && m->from <= CHAIN_MAX_INSTANCE;
}

void chain_msg_next_promised(struct reader *r, struct chain_promised *e)
{
    e->instance = reader_u64(r);
    e->ballot = chain_read_ballot(r);
    /* Already validated by chain_msg_decode_promise: the result cannot be false here. */
    (void)chain_read_value(r, &e->value);
}

bool chain_msg_decode_promise(const uint8_t *data, size_t len, struct chain_promise *m)
{
    struct reader r;
    if (!chain_open(data, len, CHAIN_MSG_PROMISE, &r))
        return false;
    m->ballot = chain_read_ballot(&r);
    m->from = reader_u64(&r);
    m->gc = reader_u64(&r);
    m->count = reader_u32(&r);
    if (r.failed || m->from == 0 || m->from > CHAIN_MAX_INSTANCE)
        return false;
    m->entries = r;
    /* A replica's log has no gaps, so the instances it reports are contiguous. Requiring it
     * also bounds how far a (buggy) peer can make the candidate grow its recovery log. */
    instance_no previous = 0;
    for (uint32_t i = 0; i < m->count; i++) {
        struct chain_promised e;
        e.instance = reader_u64(&r);
        e.ballot = chain_read_ballot(&r);
        if (r.failed || !chain_read_value(&r, &e.value))
            return false;
        if (e.instance < m->from || e.instance > CHAIN_MAX_INSTANCE)
            return false;
        if (i > 0 && e.instance != previous + 1)
            return false;
        previous = e.instance;
    }
    return chain_done(&r);
}

bool chain_msg_decode_reject(const uint8_t *data, size_t len, struct chain_reject *m)
{
    struct reader r;
    if (!chain_open(data, len, CHAIN_MSG_REJECT_PREPARE, &r))
        return false;
    m->refused = chain_read_ballot(&r);
    m->promised = chain_read_ballot(&r);
    return chain_done(&r);
}

bool chain_msg_decode_accept(const uint8_t *data, size_t len, struct chain_accept *m)
{
    struct reader r;
    if (!chain_open(data, len, CHAIN_MSG_ACCEPT, &r))
        return false;
    m->ballot = chain_read_ballot(&r);
    m->instance = reader_u64(&r);
    m->counter = reader_u16(&r);
    m->ack = reader_u64(&r);
    m->gc = reader_u64(&r);
    m->fence = reader_u64(&r);
    m->decided = reader_u64(&r);
    m->durable = reader_u64(&r);
    m->whole_ack = reader_u64(&r);
    if (r.failed || !chain_read_value(&r, &m->value))
        return false;
    return chain_done(&r) && m->instance >= 1 && m->instance <= CHAIN_MAX_INSTANCE;
}

bool chain_msg_decode_accept_ack(const uint8_t *data, size_t len, struct chain_accept_ack *m)
{
    struct reader r;
    if (!chain_open(data, len, CHAIN_MSG_ACCEPT_ACK, &r))
        return false;
    m->ballot = chain_read_ballot(&r);
    m->instance = reader_u64(&r);
    m->ack = reader_u64(&r);
    uint8_t whole = reader_u8(&r);
    m->whole = whole == 1;
    return chain_done(&r) && whole <= 1 && m->instance >= 1 && m->instance <= CHAIN_MAX_INSTANCE;
}

bool chain_msg_decode_quorum_ack(const uint8_t *data, size_t len, struct chain_quorum_ack *m)
{
    struct reader r;
    if (!chain_open(data, len, CHAIN_MSG_QUORUM_ACK, &r))
        return false;
    m->ballot = chain_read_ballot(&r);
    m->instance = reader_u64(&r);
    return chain_done(&r) && m->instance >= 1 && m->instance <= CHAIN_MAX_INSTANCE;
}

void chain_msg_put_progress(struct buf *out, const struct chain_progress *m)
{
    buf_put_u8(out, CHAIN_MSG_PROGRESS);
    chain_put_ballot(out, m->ballot);
    buf_put_u64(out, m->accepted);
    buf_put_u32(out, m->next);
    buf_put_u32(out, m->hop_rtt_ms);
    buf_put_u32(out, m->hop_samples);
}

bool chain_msg_decode_progress(const uint8_t *data, size_t len, struct chain_progress *m)
{
    struct reader r;
    if (!chain_open(data, len, CHAIN_MSG_PROGRESS, &r))
        return false;
    m->ballot = chain_read_ballot(&r);
    m->accepted = reader_u64(&r);
    m->next = reader_u32(&r);
    m->hop_rtt_ms = reader_u32(&r);
    m->hop_samples = reader_u32(&r);
    return chain_done(&r) && m->accepted <= CHAIN_MAX_INSTANCE;
}

void chain_msg_put_state_part(struct buf *out, const struct chain_state_part *m)
{
    buf_put_u8(out, CHAIN_MSG_STATE_PART);
    buf_put_u64(out, m->instance);
    buf_put_u64(out, m->total);
    buf_put_u64(out, m->offset);
    if (m->bytes) /* NULL: the caller appends the m->len bytes */
        buf_append(out, m->bytes, m->len);
}

bool chain_msg_decode_state_part(const uint8_t *data, size_t len, struct chain_state_part *m)
{
    struct reader r;
    if (!chain_open(data, len, CHAIN_MSG_STATE_PART, &r))
        return false;
    m->instance = reader_u64(&r);
    m->total = reader_u64(&r);
    m->offset = reader_u64(&r);
    m->len = reader_left(&r);
    m->bytes = reader_bytes(&r, m->len);
    /* A part carries something, within a total no sender makes. */
    return !r.failed && m->len > 0 && m->total <= CHAIN_STATE_PART_MAX_TOTAL &&
           m->offset < m->total && m->len <= m->total - m->offset &&
           m->instance <= CHAIN_MAX_INSTANCE;
}

bool chain_msg_decode_forward(const uint8_t *data, size_t len, struct chain_forward *m)
{
    struct reader r;
    if (!chain_open(data, len, CHAIN_MSG_FORWARD, &r))
        return false;
    m->hops = reader_u8(&r);
    if (r.failed)
        return false;
    m->batch = data + r.pos;
    m->batch_len = reader_left(&r);
    return chain_batch_valid(m->batch, m->batch_len, &m->count);
}

void chain_msg_put_read_nudge(struct buf *out, const struct chain_read_nudge *m)
{
    buf_put_u8(out, CHAIN_MSG_READ_NUDGE);
    buf_put_u64(out, m->slot);
}

bool chain_msg_decode_read_nudge(const uint8_t *data, size_t len, struct chain_read_nudge *m)
{
    struct reader r;
    if (!chain_open(data, len, CHAIN_MSG_READ_NUDGE, &r))
        return false;
    m->slot = reader_u64(&r);
    return chain_done(&r) && m->slot >= 1 && m->slot <= CHAIN_MAX_INSTANCE;
}

void chain_msg_put_remove_request(struct buf *out, node_id node)
{
    buf_put_u8(out, CHAIN_MSG_REMOVE_REQUEST);
    buf_put_u32(out, node);
}

bool chain_msg_decode_remove_request(const uint8_t *data, size_t len, node_id *node)
{
    struct reader r;
    if (!chain_open(data, len, CHAIN_MSG_REMOVE_REQUEST, &r))
        return false;
    *node = reader_u32(&r);
    return chain_done(&r) && *node != NODE_NONE;
}

void chain_msg_put_alive(struct buf *out) { buf_put_u8(out, CHAIN_MSG_ALIVE); }

bool chain_msg_decode_alive(const uint8_t *data, size_t len)
{
    struct reader r;
    return chain_open(data, len, CHAIN_MSG_ALIVE, &r) && chain_done(&r);
}

void chain_msg_put_durable(struct buf *out, struct ballot ballot, instance_no instance)
{
    buf_put_u8(out, CHAIN_MSG_DURABLE);
    chain_put_ballot(out, ballot);
    buf_put_u64(out, instance);
}

bool chain_msg_decode_durable(const uint8_t *data, size_t len, struct ballot *ballot,
                              instance_no *instance)
{
    struct reader r;
    if (!chain_open(data, len, CHAIN_MSG_DURABLE, &r))
        return false;
    *ballot = chain_read_ballot(&r);
    *instance = reader_u64(&r);
    return chain_done(&r) && *instance <= CHAIN_MAX_INSTANCE;
}

void chain_msg_put_probe(struct buf *out, uint8_t type, const struct chain_probe *m)
{
    buf_put_u8(out, type);
    buf_put_u64(out, m->sent_ms);
    chain_put_ballot(out, m->ballot);
}

bool chain_msg_decode_probe(const uint8_t *data, size_t len, uint8_t type,
                            struct chain_probe *m)
{
    struct reader r;
    if (!chain_open(data, len, type, &r))
        return false;
    m->sent_ms = reader_u64(&r);
    m->ballot = chain_read_ballot(&r);
    return chain_done(&r);
}

void chain_msg_put_not_member(struct buf *out, const struct chain_not_member *m)
{
    buf_put_u8(out, CHAIN_MSG_NOT_MEMBER);
    buf_put_u64(out, m->config_instance);
    buf_put_u8(out, m->retired);
}

bool chain_msg_decode_not_member(const uint8_t *data, size_t len, struct chain_not_member *m)
{
    struct reader r;
    if (!chain_open(data, len, CHAIN_MSG_NOT_MEMBER, &r))
        return false;
    m->config_instance = reader_u64(&r);
    uint8_t retired = reader_u8(&r);
    m->retired = retired == 1;
    return chain_done(&r) && retired <= 1 && m->config_instance >= 1 &&
           m->config_instance <= CHAIN_MAX_INSTANCE;
}

void chain_msg_put_change_request(struct buf *out, const struct chain_change *m)
{
    buf_put_u8(out, CHAIN_MSG_CHANGE_REQUEST);
    chain_change_put(out, m);
}

bool chain_msg_decode_change_request(const uint8_t *data, size_t len, struct chain_change *m)
{
    return len >= 1 && data[0] == CHAIN_MSG_CHANGE_REQUEST &&
           chain_change_decode(data + 1, len - 1, m);
}

void chain_msg_put_state_request(struct buf *out, const struct chain_state_request *m)
{
    buf_put_u8(out, CHAIN_MSG_STATE_REQUEST);
    buf_put_u64(out, m->instance);
    buf_put_u64(out, m->offset);
}

bool chain_msg_decode_state_request(const uint8_t *data, size_t len,
                                    struct chain_state_request *m)
{
    struct reader r;
    if (!chain_open(data, len, CHAIN_MSG_STATE_REQUEST, &r))
        return false;
    m->instance = reader_u64(&r);
    m->offset = reader_u64(&r);
    return chain_done(&r) && m->offset <= CHAIN_STATE_PART_MAX_TOTAL &&
           m->instance <= CHAIN_MAX_INSTANCE;
}

static void chain_put_nodes(struct buf *out, const node_id *nodes, size_t n)
{
    buf_put_u8(out, (uint8_t)n);
    for (size_t k = 0; k < n; k++)
        buf_put_u32(out, nodes[k]);
}

/* A list of distinct, valid ids; members must not be empty. */
static bool chain_read_nodes(struct reader *r, node_id *nodes, size_t *n, bool nonempty)
{
    *n = reader_u8(r);
    if (r->failed || *n > CATENA_MAX_NODES || (nonempty && *n == 0))
        return false;
    for (size_t k = 0; k < *n; k++) {
        nodes[k] = reader_u32(r);
        if (nodes[k] == NODE_NONE)
            return false;
        for (size_t j = 0; j < k; j++)
            if (nodes[j] == nodes[k])
                return false;
    }
    return !r->failed;
}

void chain_msg_put_state(struct buf *out, const struct chain_state *m)
{
    buf_put_u8(out, CHAIN_MSG_STATE);
    chain_put_ballot(out, m->ballot);
    buf_put_u64(out, m->instance);
    buf_put_u64(out, m->ack);
    buf_put_u64(out, m->gc);
    buf_put_u64(out, m->fence);
    buf_put_u64(out, m->config_instance);
    chain_put_nodes(out, m->members, m->n);
    chain_put_nodes(out, m->prev, m->prev_n);
    chain_put_nodes(out, m->retired, m->retired_count);
    CHECK(m->state_len <= UINT32_MAX); /* the caller refuses bigger states */
    buf_put_u32(out, (uint32_t)m->state_len);
    if (m->state) /* NULL: by reference, the caller appends the bytes (durable.c) */
        buf_append(out, m->state, m->state_len);
}

bool chain_msg_decode_state(const uint8_t *data, size_t len, struct chain_state *m)
{
    struct reader r;
    if (!chain_open(data, len, CHAIN_MSG_STATE, &r))
        return false;
    m->ballot = chain_read_ballot(&r);
    m->instance = reader_u64(&r);
    m->ack = reader_u64(&r);
    m->gc = reader_u64(&r);
    m->fence = reader_u64(&r);
    m->config_instance = reader_u64(&r);
    if (!chain_read_nodes(&r, m->members, &m->n, true) ||
        !chain_read_nodes(&r, m->prev, &m->prev_n, false) ||
        !chain_read_nodes(&r, m->retired, &m->retired_count, false))
        return false;
    m->state_len = reader_u32(&r);
    m->state = reader_bytes(&r, m->state_len);
    /* gc <= ack <= instance: what the sender knows of its chain, up to its own state. */
    return chain_done(&r) && m->instance <= CHAIN_MAX_INSTANCE && m->gc <= m->ack && m->ack <= m->instance &&
           m->config_instance <= m->instance;
}

void chain_change_put(struct buf *out, const struct chain_change *m)
{
    buf_put_u8(out, m->op);
    buf_put_u8(out, m->flags);
    buf_put_u32(out, m->node);
    buf_put_u32(out, m->anchor);
    buf_put_u16(out, (uint16_t)m->address_len);
    buf_append(out, m->address, m->address_len);
}

bool chain_change_decode(const uint8_t *body, size_t len, struct chain_change *m)
{
    struct reader r = reader_make(body, len);
    m->op = reader_u8(&r);
    m->flags = reader_u8(&r);
    m->node = reader_u32(&r);
    m->anchor = reader_u32(&r);
    m->address_len = reader_u16(&r);
    m->address = reader_bytes(&r, m->address_len);
    if (!chain_done(&r) || m->node == NODE_NONE || (m->flags & ~CHAIN_CHANGE_OPERATOR))
        return false;
    if (m->op == CHAIN_OP_REMOVE)
        return m->address_len == 0 && m->anchor == NODE_NONE;
    if (m->op == CHAIN_OP_MOVE)
        return m->address_len == 0 && m->anchor != NODE_NONE && m->anchor != m->node;
    return m->op == CHAIN_OP_ADD && m->address_len >= 1 && m->address_len <= CHAIN_MAX_ADDRESS;
}

bool chain_msg_decode(const uint8_t *data, size_t len, struct chain_msg *m)
{
    m->type = chain_msg_type(data, len);
    switch (m->type) {
    case CHAIN_MSG_PREPARE: return chain_msg_decode_prepare(data, len, &m->u.prepare);
    case CHAIN_MSG_PROMISE: return chain_msg_decode_promise(data, len, &m->u.promise);
    case CHAIN_MSG_REJECT_PREPARE: return chain_msg_decode_reject(data, len, &m->u.reject);
    case CHAIN_MSG_ACCEPT: return chain_msg_decode_accept(data, len, &m->u.accept);
    case CHAIN_MSG_ACCEPT_ACK: return chain_msg_decode_accept_ack(data, len, &m->u.accept_ack);
    case CHAIN_MSG_QUORUM_ACK: return chain_msg_decode_quorum_ack(data, len, &m->u.quorum_ack);
    case CHAIN_MSG_PROGRESS: return chain_msg_decode_progress(data, len, &m->u.progress);
    case CHAIN_MSG_FORWARD: return chain_msg_decode_forward(data, len, &m->u.forward);
    case CHAIN_MSG_READ_NUDGE: return chain_msg_decode_read_nudge(data, len, &m->u.nudge);
    case CHAIN_MSG_REMOVE_REQUEST:
        return chain_msg_decode_remove_request(data, len, &m->u.suspect);
    case CHAIN_MSG_PROBE:
    case CHAIN_MSG_PROBE_REPLY: return chain_msg_decode_probe(data, len, m->type, &m->u.probe);
    case CHAIN_MSG_DURABLE:
        return chain_msg_decode_durable(data, len, &m->u.durable.ballot, &m->u.durable.upto);
    case CHAIN_MSG_ALIVE: return chain_msg_decode_alive(data, len);
    case CHAIN_MSG_NOT_MEMBER: return chain_msg_decode_not_member(data, len, &m->u.not_member);
    case CHAIN_MSG_CHANGE_REQUEST:
        return chain_msg_decode_change_request(data, len, &m->u.change);
    case CHAIN_MSG_STATE_REQUEST:
        return chain_msg_decode_state_request(data, len, &m->u.state_request);
    case CHAIN_MSG_STATE: return chain_msg_decode_state(data, len, &m->u.state);
    case CHAIN_MSG_STATE_PART: return chain_msg_decode_state_part(data, len, &m->u.state_part);
    default: return false;
    }
}
