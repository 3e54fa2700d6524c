#include "server/dispatch.h"

#include "core/command.h"
#include "resp/reply.h"
#include "server/server.h"

/* Encodes the command as a record of this connection into s->scratch. */
static void encode_record(struct session *se, uint32_t argc, const uint8_t **argv, size_t *lens,
                          bool write, bool ordered)
{
    struct server *s = se->server;
    uint64_t seq = ordered ? ++se->next_seq : ++se->next_read_seq | SESSION_LOCAL_SEQ_BIT;
    session_track_replicated(se, seq, write);
    struct command_header h = {
        .origin = s->config.self, .client = se->conn->id, .seq = seq, .argc = argc};
    buf_clear(&s->scratch);
    command_encode(&s->scratch, &h, argv, lens);
}

/* Writes, and reads in chain mode: ordered through the log. */
static void dispatch_replicated(struct session *se, uint32_t argc, const uint8_t **argv,
                                size_t *lens, bool write)
{
    struct server *s = se->server;
    encode_record(se, argc, argv, lens, write, true);
    s->stats.commands_replicated++;
    struct engine_event event = {
        .type = ENGINE_EVENT_COMMAND, .data = s->scratch.data, .len = s->scratch.len};
    runtime_step(&s->runtime, &event);
}

/* The session control record in s->scratch (core/command.h) to the engine: no reply is
 * waited for. */
static void submit_control(struct server *s)
{
    struct engine_event event = {
        .type = ENGINE_EVENT_COMMAND, .data = s->scratch.data, .len = s->scratch.len};
    runtime_step(&s->runtime, &event);
}

void dispatch_session_end(struct session *se)
{
    if (se->next_seq == 0)
        return; /* nothing went through the log: no session to end */
    struct server *s = se->server;
    buf_clear(&s->scratch);
    command_encode_end(&s->scratch, s->config.self, se->conn->id, ++se->next_seq);
    submit_control(s);
}

void dispatch_end_all(struct server *s)
{
    buf_clear(&s->scratch);
    command_encode_end_all(&s->scratch, s->config.self, s->end_all_bound);
    submit_control(s);
}

/* A local linearizable read. It waits behind this connection's unfinished writes, so a
 * pipelined SET then GET reads its own write. */
static void dispatch_read(struct session *se, uint32_t argc, const uint8_t **argv, size_t *lens)
{
    struct server *s = se->server;
    encode_record(se, argc, argv, lens, false, false);
    s->stats.reads_local++;
    if (se->writes_outstanding > 0 || se->held_read_count > 0) {
        buf_append(&se->held_reads, s->scratch.data, s->scratch.len);
        se->held_read_count++;
        return;
    }
    struct engine_event event = {
        .type = ENGINE_EVENT_READ, .data = s->scratch.data, .len = s->scratch.len};
    runtime_step(&s->runtime, &event);
}

static void dispatch_stale_read(struct session *se, uint32_t argc, const uint8_t **argv,
                                size_t *lens)
{
    se->server->stats.reads_stale++;
    struct buf *out = session_local_begin(se);
    kv_execute(se->server->kv, argc, argv, lens, out, se->proto);
    session_local_done(se, false);
}

void dispatch_request(struct session *se, uint32_t argc, const uint8_t **argv, size_t *lens)
{
    se->server->stats.commands_received++;
    const struct command_spec *spec = command_lookup(argv[0], lens[0]);
    if (!spec || !command_arity_ok(spec, argc)) {
        struct buf *out = session_local_begin(se);
        if (spec)
            command_reply_arity(out, spec);
        else
            command_reply_unknown(out, argc, argv, lens);
        session_local_done(se, false);
        return;
    }
    /* After the unknown-command and arity checks, as in Redis. */
    if (!se->authenticated && !(spec->flags & CMD_FLAG_NO_AUTH)) {
        resp_error(session_local_begin(se), "NOAUTH Authentication required.");
        session_local_done(se, false);
        return;
    }
    if (spec->flags & CMD_FLAG_LOCAL)
        local_command_execute(se, spec, argc, argv, lens);
    else if (spec->flags & CMD_FLAG_WRITE || se->read_mode == READ_CHAIN)
        dispatch_replicated(se, argc, argv, lens, spec->flags & CMD_FLAG_WRITE);
    else if (se->read_mode == READ_STALE)
        dispatch_stale_read(se, argc, argv, lens);
    else
        dispatch_read(se, argc, argv, lens);
}
