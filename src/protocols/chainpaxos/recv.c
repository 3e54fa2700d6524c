/* Dispatch of peer messages to their handlers. Nothing received is trusted: every message is
 * decoded and validated first, and anything malformed or from a stranger is dropped and
 * counted (docs/protocols/chainpaxos.md §4). */
#include "protocols/chainpaxos/internal.h"

/* Decodes and handles one message; false if it is malformed or of an unknown type. */
static bool chain_recv_dispatch(struct chain_engine *c, node_id from, const uint8_t *data,
                                size_t len)
{
    struct chain_msg m;
    if (!chain_msg_decode(data, len, &m))
        return false;
    switch (m.type) {
    case CHAIN_MSG_PREPARE: chain_recv_prepare(c, from, &m.u.prepare); break;
    case CHAIN_MSG_PROMISE: chain_recv_promise(c, from, &m.u.promise); break;
    case CHAIN_MSG_REJECT_PREPARE: chain_recv_reject(c, from, &m.u.reject); break;
    case CHAIN_MSG_ACCEPT: chain_recv_accept(c, from, &m.u.accept, NULL); break;
    case CHAIN_MSG_ACCEPT_ACK: chain_recv_accept_ack(c, &m.u.accept_ack); break;
    case CHAIN_MSG_QUORUM_ACK: chain_recv_quorum_ack(c, from, &m.u.quorum_ack); break;
    case CHAIN_MSG_PROGRESS: chain_recv_progress(c, from, &m.u.progress); break;
    case CHAIN_MSG_FORWARD: chain_recv_forward(c, &m.u.forward); break;
    case CHAIN_MSG_REMOVE_REQUEST: chain_recv_remove_request(c, from, m.u.suspect); break;
    case CHAIN_MSG_PROBE: chain_recv_probe(c, from, &m.u.probe); break;
    case CHAIN_MSG_PROBE_REPLY: chain_recv_probe_reply(c, from, &m.u.probe); break;
    case CHAIN_MSG_DURABLE: chain_recv_durable(c, m.u.durable.ballot, m.u.durable.upto); break;
    case CHAIN_MSG_ALIVE: chain_recv_alive(c, from); break;
    case CHAIN_MSG_NOT_MEMBER: chain_recv_not_member(c, &m.u.not_member); break;
    case CHAIN_MSG_CHANGE_REQUEST: chain_recv_change_request(c, from, &m.u.change); break;
    case CHAIN_MSG_STATE_REQUEST: chain_recv_state_request(c, from, &m.u.state_request); break;
    /* This replica was removed without learning it (bypassed), then added again. */
    case CHAIN_MSG_STATE: chain_recv_state(c, from, &m.u.state); break;
    /* false: the reassembled state did not decode */
    case CHAIN_MSG_STATE_PART: return chain_recv_state_part(c, from, &m.u.state_part);
    case CHAIN_MSG_READ_NUDGE: chain_recv_read_nudge(c, &m.u.nudge); break;
    default: return false;
    }
    return true;
}

void chain_recv_message(struct chain_engine *c, node_id from, const uint8_t *data, size_t len)
{
    /* The engine never sends to itself through the outbox, so "from self" is as foreign as an
     * unknown id. */
    if (from == c->self) {
        chain_dropped(c);
        return;
    }
    if (len > 0 && data == NULL) {
        chain_malformed(c);
        return;
    }
    if (c->removed) {
        chain_recv_as_outsider(c, from, data, len);
        return;
    }
    uint8_t type = chain_msg_type(data, len);
    /* A replica an accepted ADD brings in is one already: the replica before it executed the
     * ADD and passes it ACCEPTs, which it acknowledges, before this one executes it. */
    if (chain_member_index(c, from) < 0 && !chain_in_latest_config(c, from) &&
        type != CHAIN_MSG_CHANGE_REQUEST) {
        /* A replica that was removed and does not know it yet (it was bypassed): tell it, so
         * it stops acting as a member. Ids the runtime does not know never get here. */
        chain_dropped(c);
        if (c->config_instance > 0 && type != CHAIN_MSG_NOT_MEMBER)
            chain_send_not_member(c, from);
        return;
    }
    if (!chain_recv_dispatch(c, from, data, len)) {
        chain_malformed(c);
        return;
    }
    /* A JOIN or a STATE_REQUEST may come from a member that restarted without its state. */
    if (type != CHAIN_MSG_CHANGE_REQUEST && type != CHAIN_MSG_STATE_REQUEST &&
        from <= CATENA_MAX_NODES)
        c->member_heard_ms[from] = c->now_ms;
}
