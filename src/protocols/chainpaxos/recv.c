/* Dispatch of peer messages to their handlers. Nothing received is trusted: every message is
 * decoded and validated first, and anything malformed or from a stranger is dropped and
 * counted (docs/protocols/chainpaxos.md §4). */
#include "protocols/chainpaxos/internal.h"

/* Decodes and handles one message; false if it is malformed or of an unknown type. */
static bool chain_recv_dispatch(struct chain_engine *c, node_id from, const uint8_t *data,
                                size_t len)
{
    union {
        struct chain_prepare prepare;
        struct chain_promise promise;
        struct chain_reject reject;
        struct chain_accept accept;
        struct chain_accept_ack accept_ack;
        struct chain_quorum_ack quorum_ack;
        struct chain_progress progress;
        struct chain_state_part state_part;
        struct chain_forward forward;
        struct chain_read_nudge nudge;
        node_id suspect;
        struct chain_not_member not_member;
        struct chain_change change;
        struct chain_state state;
    } m;
    uint8_t type = chain_msg_type(data, len);
    switch (type) {
    case CHAIN_MSG_PREPARE:
        if (!chain_msg_decode_prepare(data, len, &m.prepare))
            return false;
        chain_recv_prepare(c, from, &m.prepare);
        return true;
    case CHAIN_MSG_PROMISE:
        if (!chain_msg_decode_promise(data, len, &m.promise))
            return false;
        chain_recv_promise(c, from, &m.promise);
        return true;
    case CHAIN_MSG_REJECT_PREPARE:
        if (!chain_msg_decode_reject(data, len, &m.reject))
            return false;
        chain_recv_reject(c, from, &m.reject);
        return true;
    case CHAIN_MSG_ACCEPT:
        if (!chain_msg_decode_accept(data, len, &m.accept))
            return false;
        chain_recv_accept(c, from, &m.accept, NULL);
        return true;
    case CHAIN_MSG_ACCEPT_ACK:
        if (!chain_msg_decode_accept_ack(data, len, &m.accept_ack))
            return false;
        chain_recv_accept_ack(c, &m.accept_ack);
        return true;
    case CHAIN_MSG_QUORUM_ACK:
        if (!chain_msg_decode_quorum_ack(data, len, &m.quorum_ack))
            return false;
        chain_recv_quorum_ack(c, from, &m.quorum_ack);
        return true;
    case CHAIN_MSG_PROGRESS:
        if (!chain_msg_decode_progress(data, len, &m.progress))
            return false;
        chain_recv_progress(c, from, &m.progress);
        return true;
    case CHAIN_MSG_FORWARD:
        if (!chain_msg_decode_forward(data, len, &m.forward))
            return false;
        chain_recv_forward(c, &m.forward);
        return true;
    case CHAIN_MSG_REMOVE_REQUEST:
        if (!chain_msg_decode_remove_request(data, len, &m.suspect))
            return false;
        chain_recv_remove_request(c, from, m.suspect);
        return true;
    case CHAIN_MSG_PROBE:
    case CHAIN_MSG_PROBE_REPLY: {
        uint64_t sent_ms;
        if (!chain_msg_decode_probe(data, len, type, &sent_ms))
            return false;
        if (type == CHAIN_MSG_PROBE)
            chain_recv_probe(c, from, sent_ms);
        else
            chain_recv_probe_reply(c, from, sent_ms);
        return true;
    }
    case CHAIN_MSG_DURABLE: {
        struct ballot b;
        instance_no upto;
        if (!chain_msg_decode_durable(data, len, &b, &upto))
            return false;
        chain_recv_durable(c, b, upto);
        return true;
    }
    case CHAIN_MSG_ALIVE:
        if (!chain_msg_decode_alive(data, len))
            return false;
        chain_recv_alive(c, from);
        return true;
    case CHAIN_MSG_NOT_MEMBER:
        if (!chain_msg_decode_not_member(data, len, &m.not_member))
            return false;
        chain_recv_not_member(c, &m.not_member);
        return true;
    case CHAIN_MSG_CHANGE_REQUEST:
        if (!chain_msg_decode_change_request(data, len, &m.change))
            return false;
        chain_recv_change_request(c, from, &m.change);
        return true;
    case CHAIN_MSG_STATE_REQUEST:
        if (!chain_msg_decode_state_request(data, len))
            return false;
        chain_recv_state_request(c, from);
        return true;
    case CHAIN_MSG_STATE:
        /* This replica was removed without learning it (bypassed), then added again. */
        if (!chain_msg_decode_state(data, len, &m.state))
            return false;
        chain_recv_state(c, from, &m.state);
        return true;
    case CHAIN_MSG_STATE_PART:
        if (!chain_msg_decode_state_part(data, len, &m.state_part))
            return false;
        return chain_recv_state_part(c, from, &m.state_part);
    case CHAIN_MSG_READ_NUDGE:
        if (!chain_msg_decode_read_nudge(data, len, &m.nudge))
            return false;
        chain_recv_read_nudge(c, &m.nudge);
        return true;
    default:
        return false;
    }
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
