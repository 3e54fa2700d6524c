#include "server/session.h"

#include "common/check.h"
#include "common/log.h"
#include "resp/reply.h"
#include "server/dispatch.h"
#include "server/server.h"

#include <stdlib.h>

void session_open(struct server *s, struct client_conn *c)
{
    struct session *se = calloc(1, sizeof *se);
    CHECK(se != NULL);
    se->server = s;
    se->conn = c;
    se->proto = 2;
    struct resp_limits limits = {
        .max_bulk_bytes = s->config.max_bulk_bytes,
        .max_args = s->config.max_args,
        .max_inline_bytes = RESP_DEFAULT_MAX_INLINE_BYTES,
    };
    resp_parser_init(&se->parser, &limits);
    se->authenticated = !s->auth.required;
    se->parser.unauthenticated = s->auth.required;
    c->session = se;
}

void session_close(struct session *se)
{
    dispatch_session_end(se);
    for (size_t i = 0; i < se->queue_cap; i++)
        buf_free(&se->queue[i].reply);
    free(se->queue);
    free(se->name);
    resp_parser_free(&se->parser);
    server_forget_session(se->server, se);
    buf_free(&se->held_reads);
    se->conn->session = NULL;
    free(se);
}

static struct pending_reply *queue_at(struct session *se, size_t i)
{
    return &se->queue[(se->queue_head + i) % se->queue_cap];
}

static bool session_backlogged(const struct session *se, size_t divisor)
{
    return se->queue_count >= SESSION_MAX_WAITING_REQUESTS / divisor ||
           se->waiting_request_bytes >= SESSION_MAX_WAITING_BYTES / divisor;
}

/* The head of the queue, its reply written out. A paused client is read again once half of
 * what it had waiting is answered. */
static void queue_pop(struct session *se)
{
    se->waiting_request_bytes -= se->queue[se->queue_head].request_bytes;
    se->queue_head = (se->queue_head + 1) % se->queue_cap;
    se->queue_count--;
    if (se->input_paused && !session_backlogged(se, 2))
        server_revisit_at_round_end(se->server, se);
}

static struct pending_reply *queue_push(struct session *se, uint64_t seq)
{
    if (se->queue_count == se->queue_cap) {
        size_t old_cap = se->queue_cap;
        size_t cap = old_cap ? old_cap * 2 : 16;
        struct pending_reply *q = calloc(cap, sizeof *q);
        CHECK(q != NULL);
        for (size_t i = 0; i < old_cap; i++)
            q[i] = *queue_at(se, i);
        free(se->queue);
        se->queue = q;
        se->queue_head = 0;
        se->queue_cap = cap;
    }
    struct pending_reply *p = queue_at(se, se->queue_count++);
    p->seq = seq;
    p->request_bytes = 0;
    p->done = false;
    p->close_after = false;
    buf_clear(&p->reply);
    return p;
}

/* Whether the replies this client has not read (in the connection, and completed but held
 * here behind earlier ones) are over --max-client-output. Checked after every reply and before
 * every request, so a client that never reads costs at most the limit plus one reply: it is
 * closed at the next flush, and nothing more of its input is executed. */
static bool session_output_full(struct session *se)
{
    struct client_conn *c = se->conn;
    if (c->over_limit)
        return true;
    if (client_conn_unsent_bytes(c) + se->queued_reply_bytes <= c->listener->max_output_bytes)
        return false;
    client_conn_mark_over_limit(c);
    se->stop_reading = true;
    return true;
}

static void mark_close_after(struct session *se)
{
    se->conn->close_after_flush = true;
    se->stop_reading = true;
    client_conn_output(se->conn); /* make sure a flush happens */
}

/* Moves every completed reply at the head of the queue to the connection's output. */
static void queue_drain(struct session *se)
{
    while (se->queue_count > 0 && se->queue[se->queue_head].done) {
        struct pending_reply *p = &se->queue[se->queue_head];
        struct buf *out = client_conn_output(se->conn);
        buf_append(out, p->reply.data, p->reply.len);
        se->queued_reply_bytes -= p->reply.len;
        buf_clear(&p->reply);
        if (p->close_after)
            mark_close_after(se);
        queue_pop(se);
    }
}

void session_track_replicated(struct session *se, uint64_t seq, bool write)
{
    queue_push(se, seq)->write = write;
    se->writes_outstanding += write;
}

uint64_t session_track_deferred(struct session *se)
{
    uint64_t seq = ++se->next_read_seq | SESSION_LOCAL_SEQ_BIT;
    session_track_replicated(se, seq, false);
    return seq;
}

struct buf *session_local_begin(struct session *se)
{
    if (se->queue_count == 0)
        return client_conn_output(se->conn);
    return &queue_push(se, 0)->reply;
}

void session_local_done(struct session *se, bool close_after)
{
    if (se->queue_count == 0) {
        if (close_after)
            mark_close_after(se);
    } else {
        struct pending_reply *p = queue_at(se, se->queue_count - 1);
        p->done = true;
        p->close_after = close_after;
        se->queued_reply_bytes += p->reply.len;
    }
    session_output_full(se);
}

static struct pending_reply *queue_find(struct session *se, uint64_t seq, size_t *index)
{
    for (size_t i = 0; i < se->queue_count; i++) {
        struct pending_reply *p = queue_at(se, i);
        if (p->seq == seq && !p->done) {
            *index = i;
            return p;
        }
    }
    return NULL;
}

struct buf *session_replicated_begin(struct session *se, uint64_t seq)
{
    size_t index;
    struct pending_reply *p = queue_find(se, seq, &index);
    if (!p || se->conn->over_limit)
        return NULL;
    /* The usual case: the oldest request completes first; its reply goes straight out. */
    return index == 0 ? client_conn_output(se->conn) : &p->reply;
}

void session_replicated_done_close(struct session *se, uint64_t seq)
{
    size_t index;
    struct pending_reply *p = queue_find(se, seq, &index);
    CHECK(p != NULL);
    p->close_after = true;
    session_replicated_done(se, seq);
}

void session_replicated_done(struct session *se, uint64_t seq)
{
    size_t index;
    struct pending_reply *p = queue_find(se, seq, &index);
    CHECK(p != NULL);
    p->done = true;
    if (p->write && --se->writes_outstanding == 0 && se->held_read_count > 0)
        server_revisit_at_round_end(se->server, se);
    if (index == 0) {
        buf_clear(&p->reply); /* the reply was written to the output directly */
        if (p->close_after)
            mark_close_after(se);
        queue_pop(se);
        queue_drain(se);
    } else {
        se->queued_reply_bytes += p->reply.len;
    }
    session_output_full(se);
}

/* A malformed request: Redis answers "-ERR Protocol error: ..." and closes the connection after
 * the replies of the requests before it; other clients never notice. */
static void session_protocol_error(struct session *se, const char *message)
{
    se->server->stats.protocol_errors++;
    log_info("client %s: %s", se->conn->peer_address, message);
    struct buf *out = session_local_begin(se);
    resp_errorf(out, "ERR %s", message);
    session_local_done(se, true);
}

void session_on_data(struct session *se)
{
    struct client_conn *c = se->conn;
    size_t offset = 0;
    char err[128];
    while (!se->stop_reading && !c->closing) {
        if (session_backlogged(se, 1)) {
            se->server->stats.client_input_pauses++;
            se->input_paused = true;
            client_conn_pause_reading(c);
            break;
        }
        struct resp_request req;
        size_t consumed = 0;
        enum resp_parse_result rc = resp_parse(&se->parser, c->in.data + offset,
                                               c->in.len - offset, &req, &consumed, err,
                                               sizeof err);
        if (rc == RESP_PARSE_INCOMPLETE)
            break;
        if (rc == RESP_PARSE_ERROR) {
            session_protocol_error(se, err);
            break;
        }
        offset += consumed;
        size_t waiting = se->queue_count;
        if (req.argc > 0 && !session_output_full(se))
            dispatch_request(se, req.argc, req.argv, req.lens);
        if (se->queue_count > waiting) {
            queue_at(se, se->queue_count - 1)->request_bytes += consumed;
            se->waiting_request_bytes += consumed;
            if (se->queue_count > se->server->stats.client_waiting_peak)
                se->server->stats.client_waiting_peak = se->queue_count;
        }
    }
    if (se->stop_reading)
        buf_clear(&c->in); /* nothing after QUIT or an error is executed */
    else
        buf_consume(&c->in, offset);
}

void session_resume_input(struct session *se)
{
    se->input_paused = false;
    session_on_data(se);
    if (!se->input_paused)
        client_conn_resume_reading(se->conn);
}
