/* The command table: every command catena knows, its Redis arity and how it is served.
 * Arity follows Redis: n > 0 means exactly n arguments (the name included), n < 0 at least -n. */
#ifndef CATENA_RESP_COMMANDS_H
#define CATENA_RESP_COMMANDS_H

#include "common/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum command_id {
    CMD_PING, CMD_ECHO, CMD_GET, CMD_SET, CMD_SETNX, CMD_GETSET, CMD_DEL, CMD_EXISTS, CMD_INCR,
    CMD_INCRBY, CMD_DECR, CMD_DECRBY, CMD_APPEND, CMD_STRLEN, CMD_MGET, CMD_MSET, CMD_DBSIZE,
    CMD_FLUSHALL, CMD_HELLO, CMD_CLIENT, CMD_SELECT, CMD_COMMAND, CMD_INFO, CMD_CONFIG, CMD_QUIT,
    CMD_CATENA_STATUS, CMD_CATENA_MEMBERS, CMD_CATENA_READMODE, CMD_CATENA_ADD, CMD_CATENA_REMOVE,
    CMD_AUTH, CMD_COUNT
};

enum command_flag {
    CMD_FLAG_WRITE = 1 << 0, /* changes the keyspace: ordered through the log */
    CMD_FLAG_READ = 1 << 1,  /* reads the keyspace: served locally (see CATENA.READMODE) */
    CMD_FLAG_LOCAL = 1 << 2, /* answered by the replica the client is connected to */
    CMD_FLAG_NO_AUTH = 1 << 3, /* allowed before AUTH when a password is required */
};

struct command_spec {
    const char *name; /* lower case, as Redis reports it */
    enum command_id id;
    int arity;
    unsigned flags;
    int first_key, last_key, key_step; /* for COMMAND replies; 0 when no keys */
};

/* Case-insensitive lookup; NULL when unknown. */
const struct command_spec *command_lookup(const uint8_t *name, size_t len);
const struct command_spec *command_table(size_t *count);
static inline bool command_arity_ok(const struct command_spec *c, uint32_t argc)
{
    return c->arity > 0 ? argc == (uint32_t)c->arity : argc >= (uint32_t)-c->arity;
}
/* The exact Redis error replies for an unknown command and for a wrong argument count. */
void command_reply_unknown(struct buf *out, uint32_t argc, const uint8_t *const *argv,
                           const size_t *lens);
void command_reply_arity(struct buf *out, const struct command_spec *c);

#endif
