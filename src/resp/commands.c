#include "resp/commands.h"

#include "resp/reply.h"

#include <strings.h>

static const struct command_spec command_specs[] = {
    {"ping", CMD_PING, -1, CMD_FLAG_LOCAL, 0, 0, 0},
    {"echo", CMD_ECHO, 2, CMD_FLAG_LOCAL, 0, 0, 0},
    {"get", CMD_GET, 2, CMD_FLAG_READ, 1, 1, 1},
    {"set", CMD_SET, -3, CMD_FLAG_WRITE, 1, 1, 1},
    {"setnx", CMD_SETNX, 3, CMD_FLAG_WRITE, 1, 1, 1},
    {"getset", CMD_GETSET, 3, CMD_FLAG_WRITE, 1, 1, 1},
    {"del", CMD_DEL, -2, CMD_FLAG_WRITE, 1, -1, 1},
    {"exists", CMD_EXISTS, -2, CMD_FLAG_READ, 1, -1, 1},
    {"incr", CMD_INCR, 2, CMD_FLAG_WRITE, 1, 1, 1},
    {"incrby", CMD_INCRBY, 3, CMD_FLAG_WRITE, 1, 1, 1},
    {"decr", CMD_DECR, 2, CMD_FLAG_WRITE, 1, 1, 1},
    {"decrby", CMD_DECRBY, 3, CMD_FLAG_WRITE, 1, 1, 1},
    {"append", CMD_APPEND, 3, CMD_FLAG_WRITE, 1, 1, 1},
    {"strlen", CMD_STRLEN, 2, CMD_FLAG_READ, 1, 1, 1},
    {"mget", CMD_MGET, -2, CMD_FLAG_READ, 1, -1, 1},
    {"mset", CMD_MSET, -3, CMD_FLAG_WRITE, 1, -1, 2},
    {"dbsize", CMD_DBSIZE, 1, CMD_FLAG_READ, 0, 0, 0},
    {"flushall", CMD_FLUSHALL, -1, CMD_FLAG_WRITE, 0, 0, 0},
    {"hello", CMD_HELLO, -1, CMD_FLAG_LOCAL | CMD_FLAG_NO_AUTH, 0, 0, 0},
    {"client", CMD_CLIENT, -2, CMD_FLAG_LOCAL, 0, 0, 0},
    {"select", CMD_SELECT, 2, CMD_FLAG_LOCAL, 0, 0, 0},
    {"command", CMD_COMMAND, -1, CMD_FLAG_LOCAL, 0, 0, 0},
    {"info", CMD_INFO, -1, CMD_FLAG_LOCAL, 0, 0, 0},
    {"config", CMD_CONFIG, -2, CMD_FLAG_LOCAL, 0, 0, 0},
    {"quit", CMD_QUIT, -1, CMD_FLAG_LOCAL | CMD_FLAG_NO_AUTH, 0, 0, 0},
    {"auth", CMD_AUTH, -2, CMD_FLAG_LOCAL | CMD_FLAG_NO_AUTH, 0, 0, 0},
    {"catena.status", CMD_CATENA_STATUS, 1, CMD_FLAG_LOCAL, 0, 0, 0},
    {"catena.members", CMD_CATENA_MEMBERS, 1, CMD_FLAG_LOCAL, 0, 0, 0},
    {"catena.readmode", CMD_CATENA_READMODE, -1, CMD_FLAG_LOCAL, 0, 0, 0},
    {"catena.add", CMD_CATENA_ADD, -2, CMD_FLAG_LOCAL, 0, 0, 0},
    {"catena.remove", CMD_CATENA_REMOVE, 2, CMD_FLAG_LOCAL, 0, 0, 0},
};

_Static_assert(sizeof command_specs / sizeof command_specs[0] == CMD_COUNT,
               "one table entry per command id");

const struct command_spec *command_table(size_t *count)
{
    *count = CMD_COUNT;
    return command_specs;
}

const struct command_spec *command_lookup(const uint8_t *name, size_t len)
{
    /* A linear scan of ~30 short names with an early length test costs less than hashing. */
    for (size_t i = 0; i < CMD_COUNT; i++) {
        const struct command_spec *c = &command_specs[i];
        if (strlen(c->name) == len && strncasecmp(c->name, (const char *)name, len) == 0)
            return c;
    }
    return NULL;
}

/* Same text and truncation as Redis 7 (processCommand): the name cut at 128 bytes, the
 * arguments listed while fewer than 128 bytes of them were written, each cut to what is left. */
void command_reply_unknown(struct buf *out, uint32_t argc, const uint8_t *const *argv,
                           const size_t *lens)
{
    struct buf args, msg;
    buf_init(&args);
    buf_init(&msg);
    for (uint32_t i = 1; i < argc && args.len < 128; i++) {
        size_t room = 128 - args.len;
        buf_put_u8(&args, '\'');
        buf_append(&args, argv[i], lens[i] < room ? lens[i] : room);
        buf_append_str(&args, "' ");
    }
    buf_append_str(&msg, "ERR unknown command '");
    buf_append(&msg, argv[0], lens[0] < 128 ? lens[0] : 128);
    buf_append_str(&msg, "', with args beginning with: ");
    buf_append(&msg, args.data, args.len);
    buf_put_u8(&msg, 0);
    resp_error(out, (const char *)msg.data);
    buf_free(&args);
    buf_free(&msg);
}

void command_reply_arity(struct buf *out, const struct command_spec *c)
{
    resp_errorf(out, "ERR wrong number of arguments for '%s' command", c->name);
}
