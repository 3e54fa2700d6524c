#include "server/dispatch.h"

#include "core/command.h"
#include "server/server.h"

static void dispatch_replicated(struct session *se, uint32_t argc, const uint8_t **argv,
                                size_t *lens)
{
    struct server *s = se->server;
    uint64_t seq = ++se->next_seq;
    session_track_replicated(se, seq);
    struct command_header h = {
        .origin = s->config.self, .client = se->conn->id, .seq = seq, .argc = argc};
    buf_clear(&s->scratch);
    command_encode(&s->scratch, &h, argv, lens);
    s->stats.commands_replicated++;
    struct engine_event event = {
        .type = ENGINE_EVENT_COMMAND, .data = s->scratch.data, .len = s->scratch.len};
    runtime_step(&s->runtime, &event);
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
    if (spec->flags & CMD_FLAG_LOCAL)
        local_command_execute(se, spec, argc, argv, lens);
    else
        dispatch_replicated(se, argc, argv, lens);
}
