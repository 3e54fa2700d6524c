#include "server/membership.h"

#include "common/check.h"
#include "common/log.h"
#include "common/strint.h"
#include "resp/reply.h"
#include "runtime/net.h"
#include "server/server.h"
#include "server/session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A client waiting for its change: answered by the matching EFFECT_MEMBERSHIP or the deadline. */
struct membership_wait {
    struct session *se;
    uint64_t seq;  /* the client's reply slot (session_track_deferred) */
    uint8_t kind;  /* MEMBERSHIP_ADDED or MEMBERSHIP_REMOVED: the effect that answers it */
    node_id node;
    uint64_t deadline_ms;
    struct membership_wait *next;
};

/* A change checked and ready to submit. */
struct membership_change {
    uint8_t op; /* ENGINE_CHANGE_ADD or ENGINE_CHANGE_REMOVE */
    node_id node;
    struct peer_address address; /* ADD only */
};

void membership_init(struct server *s)
{
    for (size_t i = 0; i < s->config.member_count; i++)
        s->membership.known[s->config.members[i].id] = s->config.members[i];
}

void membership_release(struct server *s)
{
    while (s->membership.waits) {
        struct membership_wait *w = s->membership.waits;
        s->membership.waits = w->next;
        free(w);
    }
    s->membership.wait_count = 0;
}

const struct peer_address *membership_address(const struct server *s, node_id id)
{
    if (id == NODE_NONE || id > CATENA_MAX_NODES || s->membership.known[id].port == 0)
        return NULL;
    return &s->membership.known[id];
}

const char *membership_state(const struct engine_status *st)
{
    return st->membership ? st->membership : "member"; /* engines without changes */
}

void membership_chain_addresses(const struct server *s, const struct engine_status *st,
                                struct buf *out)
{
    for (size_t i = 0; i < st->chain_length; i++) {
        const struct peer_address *a = membership_address(s, st->chain[i]);
        char item[96];
        int n = a ? snprintf(item, sizeof item, "%s%u=%s:%u", i ? "," : "", st->chain[i],
                             a->host, a->port)
                  : snprintf(item, sizeof item, "%s%u=?", i ? "," : "", st->chain[i]);
        buf_append(out, item, (size_t)n);
    }
}

static bool chain_has(const struct engine_status *st, node_id id)
{
    for (size_t i = 0; i < st->chain_length; i++)
        if (st->chain[i] == id)
            return true;
    return false;
}

/* The replica whose known peer address is a, or NODE_NONE. */
static node_id id_of_address(const struct server *s, const struct peer_address *a)
{
    for (node_id id = 1; id <= CATENA_MAX_NODES; id++) {
        const struct peer_address *k = membership_address(s, id);
        if (k && k->port == a->port && strcmp(k->host, a->host) == 0)
            return id;
    }
    return NODE_NONE;
}

static bool parse_node(const uint8_t *arg, size_t len, node_id *id)
{
    int64_t v;
    if (!strint_parse(arg, len, &v) || v < 1 || v > CATENA_MAX_NODES)
        return false;
    *id = (node_id)v;
    return true;
}

/* Answers the command now with an error; returns false so callers can `return reply_error()`. */
static bool reply_error(struct session *se, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static bool reply_error(struct session *se, const char *fmt, ...)
{
    char text[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    resp_error(session_local_begin(se), text);
    session_local_done(se, false);
    return false;
}

#define ARG_FMT "'%.*s'"
#define ARG(i) (int)(lens[i] < 64 ? lens[i] : 64), (const char *)argv[i]

/* CATENA.ADD host:port [id] */
static bool add_prepare(struct session *se, const struct engine_status *st, uint32_t argc,
                        const uint8_t *const *argv, const size_t *lens,
                        struct membership_change *ch)
{
    const struct server *s = se->server;
    ch->op = ENGINE_CHANGE_ADD;
    if (argc > 3)
        return reply_error(se, "ERR wrong number of arguments for 'catena.add' command");
    struct sockaddr_storage resolved;
    if (!config_parse_address(&ch->address, (const char *)argv[1], lens[1]))
        return reply_error(se, "ERR " ARG_FMT " is not a peer address (host:port)", ARG(1));
    /* Every member will connect there: a typo must not reach the log. */
    if (net_resolve(ch->address.host, ch->address.port, &resolved) != 0)
        return reply_error(se, "ERR cannot resolve peer address " ARG_FMT, ARG(1));
    node_id owner = id_of_address(s, &ch->address);
    if (argc == 3 && !parse_node(argv[2], lens[2], &ch->node))
        return reply_error(se, "ERR " ARG_FMT " is not a replica id (1-%d)", ARG(2),
                           CATENA_MAX_NODES);
    if (argc == 2 && (ch->node = owner) == NODE_NONE)
        return reply_error(se, "ERR no known replica has peer address %s:%u; give its id "
                               "(CATENA.ADD host:port id) or start that replica with --join",
                           ch->address.host, ch->address.port);
    if (chain_has(st, ch->node))
        return reply_error(se, "ERR replica %u is already a member", ch->node);
    if (owner != NODE_NONE && owner != ch->node && chain_has(st, owner))
        return reply_error(se, "ERR peer address %s:%u belongs to member %u",
                           ch->address.host, ch->address.port, owner);
    ch->address.id = ch->node;
    return true;
}

/* CATENA.REMOVE id */
static bool remove_prepare(struct session *se, const struct engine_status *st,
                           const uint8_t *const *argv, const size_t *lens,
                           struct membership_change *ch)
{
    ch->op = ENGINE_CHANGE_REMOVE;
    if (!parse_node(argv[1], lens[1], &ch->node))
        return reply_error(se, "ERR " ARG_FMT " is not a replica id (1-%d)", ARG(1),
                           CATENA_MAX_NODES);
    if (!chain_has(st, ch->node))
        return reply_error(se, "ERR replica %u is not a member", ch->node);
    if (st->chain_length == 1)
        return reply_error(se, "ERR replica %u is the last member and cannot be removed",
                           ch->node);
    return true;
}

/* Registers the client's wait first (the engine may confirm within the step), then submits. */
static void change_submit(struct session *se, const struct membership_change *ch)
{
    struct server *s = se->server;
    struct membership_wait *w = calloc(1, sizeof *w);
    CHECK(w != NULL);
    w->se = se;
    w->seq = session_track_deferred(se);
    w->kind = ch->op == ENGINE_CHANGE_ADD ? MEMBERSHIP_ADDED : MEMBERSHIP_REMOVED;
    w->node = ch->node;
    w->deadline_ms = uv_now(&s->loop) + MEMBERSHIP_WAIT_MS;
    w->next = s->membership.waits;
    s->membership.waits = w;
    s->membership.wait_count++;

    struct buf *b = &s->scratch;
    buf_clear(b);
    buf_put_u8(b, ch->op);
    buf_put_u32(b, ch->node);
    char address[80] = "";
    if (ch->op == ENGINE_CHANGE_ADD) {
        int n = snprintf(address, sizeof address, "%s:%u", ch->address.host, ch->address.port);
        buf_append(b, address, (size_t)n);
    }
    log_info("client %s asks to %s replica %u%s%s", se->conn->peer_address,
             ch->op == ENGINE_CHANGE_ADD ? "add" : "remove", ch->node, *address ? " at " : "",
             address);
    struct engine_event event = {.type = ENGINE_EVENT_CHANGE, .data = b->data, .len = b->len};
    runtime_step(&s->runtime, &event);
}

void membership_command(struct session *se, const struct command_spec *spec, uint32_t argc,
                        const uint8_t *const *argv, const size_t *lens)
{
    struct server *s = se->server;
    struct engine_status st = {0};
    s->engine_ops->status(s->engine, &st);
    const char *state = membership_state(&st);
    /* Only a member's view of the chain is current enough to check the change against. */
    if (strcmp(state, "member") != 0) {
        reply_error(se, "ERR this replica is %s, not a member: send membership changes to a "
                        "member", state);
        return;
    }
    if (s->membership.wait_count >= MEMBERSHIP_MAX_WAITS) {
        reply_error(se, "ERR too many membership changes in progress; try again later");
        return;
    }
    struct membership_change ch = {0};
    bool ok = spec->id == CMD_CATENA_ADD ? add_prepare(se, &st, argc, argv, lens, &ch)
                                         : remove_prepare(se, &st, argv, lens, &ch);
    if (ok)
        change_submit(se, &ch);
}

/* Unlinks *link and answers its client: +OK, or the error text. */
static void wait_answer(struct server *s, struct membership_wait **link, const char *error)
{
    struct membership_wait *w = *link;
    *link = w->next;
    s->membership.wait_count--;
    struct buf *out = session_replicated_begin(w->se, w->seq);
    if (out) {
        if (error)
            resp_error(out, error);
        else
            resp_ok(out);
        session_replicated_done(w->se, w->seq);
    }
    free(w);
}

/* A new member's address: remembered, and its peer link created or moved there. */
static void learn_address(struct server *s, node_id node, const uint8_t *text, size_t len)
{
    struct peer_address a = {.id = node};
    if (node == NODE_NONE || node > CATENA_MAX_NODES ||
        !config_parse_address(&a, (const char *)text, len)) {
        log_warn("replica %u was added with an unusable address '%.*s'", node,
                 (int)(len < 255 ? len : 255), (const char *)text);
        return;
    }
    s->membership.known[node] = a;
    /* During recovery the peer links do not exist yet: server_start_peers makes them from
     * the addresses known by then. */
    if (node != s->config.self && s->runtime.peers.loop)
        peer_set_add(&s->runtime.peers, node, a.host, a.port);
}

void membership_on_effect(struct server *s, instance_no instance, node_id node,
                          const uint8_t *payload, size_t len)
{
    uint8_t kind = len ? payload[0] : 0;
    if (kind == MEMBERSHIP_ADDED && len > 1)
        learn_address(s, node, payload + 1, len - 1);
    const char *what = kind == MEMBERSHIP_REMOVED ? "removed"
                       : kind == MEMBERSHIP_MOVED ? "moved to the tail (it was slow)"
                                                  : "added";
    const struct peer_address *a = kind == MEMBERSHIP_ADDED ? membership_address(s, node) : NULL;
    if (a)
        log_info("membership changed at instance %llu: replica %u %s at %s:%u",
                 (unsigned long long)instance, node, what, a->host, a->port);
    else
        log_info("membership changed at instance %llu: replica %u %s",
                 (unsigned long long)instance, node, what);
    for (struct membership_wait **p = &s->membership.waits; *p;) {
        if ((*p)->kind == kind && (*p)->node == node)
            wait_answer(s, p, NULL);
        else
            p = &(*p)->next;
    }
}

void membership_expire_waits(struct server *s)
{
    uint64_t now_ms = uv_now(&s->loop);
    for (struct membership_wait **p = &s->membership.waits; *p;) {
        if ((*p)->deadline_ms <= now_ms)
            wait_answer(s, p, "TRYAGAIN membership change not confirmed within 10 s; check "
                              "CATENA.MEMBERS");
        else
            p = &(*p)->next;
    }
}

void membership_forget_session(struct server *s, struct session *se)
{
    for (struct membership_wait **p = &s->membership.waits; *p;) {
        struct membership_wait *w = *p;
        if (w->se != se) {
            p = &w->next;
            continue;
        }
        *p = w->next;
        s->membership.wait_count--;
        free(w);
    }
}
