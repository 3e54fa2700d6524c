/* Commands this replica answers itself, without the log: connection handshakes that client
 * libraries send (HELLO, AUTH, CLIENT, SELECT, COMMAND, CONFIG GET), PING/ECHO, INFO and the
 * CATENA.* administration commands (CATENA.ADD and CATENA.REMOVE live in membership.c). */
#include "common/strint.h"
#include "resp/reply.h"
#include "server/dispatch.h"
#include "server/info.h"
#include "server/server.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool arg_is(const uint8_t *arg, size_t len, const char *word)
{
    return strlen(word) == len && strncasecmp((const char *)arg, word, len) == 0;
}

static void reply_subcommand_unknown(struct buf *out, const char *command, const uint8_t *sub,
                                     size_t len)
{
    resp_errorf(out, "ERR unknown subcommand '%.*s'. Try %s HELP.", (int)(len < 128 ? len : 128),
                (const char *)sub, command);
}

static void reply_subcommand_arity(struct buf *out, const char *command, const uint8_t *sub,
                                   size_t len)
{
    char lower[64];
    size_t n = len < sizeof lower - 1 ? len : sizeof lower - 1;
    for (size_t i = 0; i < n; i++)
        lower[i] = (char)tolower(sub[i]);
    lower[n] = '\0';
    resp_errorf(out, "ERR wrong number of arguments for '%s|%s' command", command, lower);
}

static void cmd_hello_reply(struct session *se, struct buf *out)
{
    resp_map(out, 7, se->proto);
    resp_bulk_str(out, "server");
    resp_bulk_str(out, "catena");
    resp_bulk_str(out, "version");
    resp_bulk_str(out, CATENA_REDIS_VERSION);
    resp_bulk_str(out, "proto");
    resp_int(out, se->proto);
    resp_bulk_str(out, "id");
    resp_int(out, (int64_t)se->conn->id);
    resp_bulk_str(out, "mode");
    resp_bulk_str(out, "standalone");
    resp_bulk_str(out, "role");
    resp_bulk_str(out, se->server->leader == se->server->config.self ? "master" : "replica");
    resp_bulk_str(out, "modules");
    resp_array(out, 0);
}

static bool valid_client_name(const uint8_t *name, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (name[i] < '!' || name[i] > '~')
            return false;
    return true;
}

static void set_client_name(struct session *se, const uint8_t *name, size_t len)
{
    free(se->name);
    se->name = NULL;
    if (len == 0)
        return;
    se->name = malloc(len + 1);
    memcpy(se->name, name, len);
    se->name[len] = '\0';
}

/* HELLO's options after the version: AUTH username password, SETNAME clientname. */
struct hello_options {
    uint32_t auth;    /* index of AUTH's username, 0 if none */
    uint32_t setname; /* index of the client name, 0 if none */
};

/* Parses HELLO's options; false after writing Redis' error. */
static bool hello_parse_options(uint32_t argc, const uint8_t *const *argv, const size_t *lens,
                                struct hello_options *o, struct buf *out)
{
    for (uint32_t i = 2; i < argc; i++) {
        if (arg_is(argv[i], lens[i], "AUTH") && i + 2 < argc) {
            o->auth = i + 1;
            i += 2;
        } else if (arg_is(argv[i], lens[i], "SETNAME") && i + 1 < argc) {
            if (!valid_client_name(argv[i + 1], lens[i + 1])) {
                resp_error(out, "ERR Client names cannot contain spaces, newlines or special "
                                "characters.");
                return false;
            }
            o->setname = ++i;
        } else {
            resp_errorf(out, "ERR Syntax error in HELLO option '%.*s'", (int)lens[i],
                        (const char *)argv[i]);
            return false;
        }
    }
    return true;
}

/* HELLO [protover [AUTH username password] [SETNAME clientname]]: the options are checked,
 * then the credentials, and only an authenticated connection changes anything (Redis' order). */
static void cmd_hello(struct session *se, uint32_t argc, const uint8_t *const *argv,
                      const size_t *lens, struct buf *out)
{
    int64_t version = se->proto;
    if (argc >= 2) {
        if (!strint_parse(argv[1], lens[1], &version)) {
            resp_error(out, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (version < 2 || version > 3) {
            resp_error(out, "NOPROTO unsupported protocol version");
            return;
        }
    }
    struct hello_options o = {0};
    if (!hello_parse_options(argc, argv, lens, &o, out))
        return;
    if (o.auth && !auth_login(se, argv[o.auth], lens[o.auth], argv[o.auth + 1],
                              lens[o.auth + 1], out))
        return;
    if (!se->authenticated) {
        resp_error(out, "NOAUTH HELLO must be called with the client already authenticated, "
                        "otherwise the HELLO AUTH <user> <pass> option can be used to "
                        "authenticate the client and select the RESP protocol version at the "
                        "same time");
        return;
    }
    if (o.setname)
        set_client_name(se, argv[o.setname], lens[o.setname]);
    se->proto = (int)version;
    cmd_hello_reply(se, out);
}

static void client_info_line(struct session *se, struct buf *out)
{
    char line[512];
    int n = snprintf(line, sizeof line,
                     "id=%llu addr=%s name=%s db=0 resp=%d lib-name=%s lib-ver=%s\n",
                     (unsigned long long)se->conn->id, se->conn->peer_address,
                     se->name ? se->name : "", se->proto, se->lib_name, se->lib_ver);
    resp_bulk(out, line, (size_t)n);
}

static void cmd_client_setinfo(struct session *se, const uint8_t *const *argv,
                               const size_t *lens, struct buf *out)
{
    char *field = arg_is(argv[2], lens[2], "lib-name")  ? se->lib_name
                  : arg_is(argv[2], lens[2], "lib-ver") ? se->lib_ver
                                                        : NULL;
    if (!field) {
        resp_errorf(out, "ERR Unrecognized option '%.*s'", (int)(lens[2] < 64 ? lens[2] : 64),
                    (const char *)argv[2]);
        return;
    }
    if (!valid_client_name(argv[3], lens[3]) || lens[3] >= 64) {
        resp_errorf(out, "ERR %s cannot contain spaces, newlines or special characters.",
                    field == se->lib_name ? "lib-name" : "lib-ver");
        return;
    }
    memcpy(field, argv[3], lens[3]);
    field[lens[3]] = '\0';
    resp_ok(out);
}

static void cmd_client(struct session *se, uint32_t argc, const uint8_t *const *argv,
                       const size_t *lens, struct buf *out)
{
    const uint8_t *sub = argv[1];
    size_t len = lens[1];
    if (arg_is(sub, len, "ID") && argc == 2) {
        resp_int(out, (int64_t)se->conn->id);
    } else if (arg_is(sub, len, "SETNAME") && argc == 3) {
        if (!valid_client_name(argv[2], lens[2])) {
            resp_error(out, "ERR Client names cannot contain spaces, newlines or special "
                            "characters.");
            return;
        }
        set_client_name(se, argv[2], lens[2]);
        resp_ok(out);
    } else if (arg_is(sub, len, "GETNAME") && argc == 2) {
        if (se->name)
            resp_bulk_str(out, se->name);
        else
            resp_null(out, se->proto);
    } else if (arg_is(sub, len, "SETINFO") && argc == 4) {
        cmd_client_setinfo(se, argv, lens, out);
    } else if ((arg_is(sub, len, "INFO") && argc == 2) || (arg_is(sub, len, "LIST") && argc == 2)) {
        client_info_line(se, out);
    } else if (arg_is(sub, len, "ID") || arg_is(sub, len, "SETNAME") ||
               arg_is(sub, len, "GETNAME") || arg_is(sub, len, "SETINFO") ||
               arg_is(sub, len, "INFO")) {
        reply_subcommand_arity(out, "client", sub, len);
    } else {
        reply_subcommand_unknown(out, "CLIENT", sub, len);
    }
}

static void command_entry(const struct command_spec *c, struct buf *out)
{
    resp_array(out, 10);
    resp_bulk_str(out, c->name);
    resp_int(out, c->arity);
    bool write = c->flags & CMD_FLAG_WRITE, read = c->flags & CMD_FLAG_READ;
    resp_array(out, write || read ? 1 : 0);
    if (write || read)
        resp_simple(out, write ? "write" : "readonly");
    resp_int(out, c->first_key);
    resp_int(out, c->last_key);
    resp_int(out, c->key_step);
    for (int i = 0; i < 4; i++)
        resp_array(out, 0); /* ACL categories, tips, key specs, subcommands */
}

/* COMMAND, COMMAND COUNT, COMMAND INFO name..., COMMAND DOCS [name...] (minimal: empty docs,
 * so clients fall back to their own help). */
static void cmd_command(struct session *se, uint32_t argc, const uint8_t *const *argv,
                        const size_t *lens, struct buf *out)
{
    size_t count;
    const struct command_spec *table = command_table(&count);
    if (argc == 1) {
        resp_array(out, count);
        for (size_t i = 0; i < count; i++)
            command_entry(&table[i], out);
    } else if (arg_is(argv[1], lens[1], "COUNT") && argc == 2) {
        resp_int(out, (int64_t)count);
    } else if (arg_is(argv[1], lens[1], "DOCS")) {
        resp_map(out, 0, se->proto);
    } else if (arg_is(argv[1], lens[1], "INFO")) {
        resp_array(out, argc - 2);
        for (uint32_t i = 2; i < argc; i++) {
            const struct command_spec *c = command_lookup(argv[i], lens[i]);
            if (c)
                command_entry(c, out);
            else
                resp_null(out, se->proto);
        }
    } else if (arg_is(argv[1], lens[1], "COUNT")) {
        reply_subcommand_arity(out, "command", argv[1], lens[1]);
    } else {
        reply_subcommand_unknown(out, "COMMAND", argv[1], lens[1]);
    }
}

/* CONFIG GET pattern...: the few parameters clients and redis-benchmark ask for. */
static void cmd_config(struct session *se, uint32_t argc, const uint8_t *const *argv,
                       const size_t *lens, struct buf *out)
{
    if (!arg_is(argv[1], lens[1], "GET")) {
        if (arg_is(argv[1], lens[1], "SET") || arg_is(argv[1], lens[1], "RESETSTAT") ||
            arg_is(argv[1], lens[1], "REWRITE"))
            resp_errorf(out, "ERR CONFIG %.*s is not supported by catena; use command-line flags",
                        (int)lens[1], (const char *)argv[1]);
        else
            reply_subcommand_unknown(out, "CONFIG", argv[1], lens[1]);
        return;
    }
    if (argc < 3) {
        reply_subcommand_arity(out, "config", argv[1], lens[1]);
        return;
    }
    struct config_param params[16];
    size_t n = config_params(&se->server->config, params, 16);
    size_t matched = 0;
    bool match[16] = {0};
    for (size_t p = 0; p < n; p++)
        for (uint32_t i = 2; i < argc && !match[p]; i++)
            if ((match[p] = config_param_matches(&params[p], argv[i], lens[i])))
                matched++;
    resp_map(out, matched, se->proto);
    for (size_t p = 0; p < n; p++) {
        if (!match[p])
            continue;
        resp_bulk_str(out, params[p].name);
        resp_bulk_str(out, params[p].value);
    }
}

/* CATENA.MEMBERS: the current chain as this replica sees it, leader first, one
 * "id host:port [leader] [myself]" line per member. */
static void cmd_catena_members(struct session *se, struct buf *out)
{
    const struct server *s = se->server;
    struct engine_status st = {0};
    s->engine_ops->status(s->engine, &st);
    resp_array(out, st.chain_length);
    for (size_t i = 0; i < st.chain_length; i++) {
        char line[128];
        node_id id = st.chain[i];
        const struct peer_address *a = membership_address(s, id);
        snprintf(line, sizeof line, "%u %s:%u%s%s", id, a ? a->host : "?", a ? a->port : 0,
                 id == st.leader ? " leader" : "", id == s->config.self ? " myself" : "");
        resp_bulk_str(out, line);
    }
}

/* CATENA.READMODE [linearizable|chain|stale]: how this connection's reads are served. */
static void cmd_readmode(struct session *se, uint32_t argc, const uint8_t *const *argv,
                         const size_t *lens, struct buf *out)
{
    static const char *const names[] = {"linearizable", "chain", "stale"};
    if (argc == 1) {
        resp_bulk_str(out, names[se->read_mode]);
        return;
    }
    for (int mode = 0; argc == 2 && mode < 3; mode++) {
        if (arg_is(argv[1], lens[1], names[mode])) {
            se->read_mode = (enum read_mode)mode;
            resp_ok(out);
            return;
        }
    }
    if (argc > 2)
        command_reply_arity(out, command_lookup(argv[0], lens[0]));
    else
        resp_errorf(out, "ERR unknown read mode '%.*s': linearizable, chain or stale",
                    (int)(lens[1] < 64 ? lens[1] : 64), (const char *)argv[1]);
}

void local_command_execute(struct session *se, const struct command_spec *spec, uint32_t argc,
                           const uint8_t *const *argv, const size_t *lens)
{
    if (spec->id == CMD_CATENA_ADD || spec->id == CMD_CATENA_REMOVE) {
        membership_command(se, spec, argc, argv, lens); /* may answer later */
        return;
    }
    struct buf *out = session_local_begin(se);
    bool close_after = false;
    switch (spec->id) {
    case CMD_PING:
        if (argc > 2)
            command_reply_arity(out, spec);
        else if (argc == 2)
            resp_bulk(out, argv[1], lens[1]);
        else
            resp_simple(out, "PONG");
        break;
    case CMD_ECHO: resp_bulk(out, argv[1], lens[1]); break;
    case CMD_HELLO: cmd_hello(se, argc, argv, lens, out); break;
    case CMD_AUTH: auth_command(se, argc, argv, lens, out); break;
    case CMD_CLIENT: cmd_client(se, argc, argv, lens, out); break;
    case CMD_SELECT: {
        int64_t db;
        if (!strint_parse(argv[1], lens[1], &db))
            resp_error(out, "ERR value is not an integer or out of range");
        else if (db != 0)
            resp_error(out, "ERR DB index is out of range");
        else
            resp_ok(out);
        break;
    }
    case CMD_COMMAND: cmd_command(se, argc, argv, lens, out); break;
    case CMD_CONFIG: cmd_config(se, argc, argv, lens, out); break;
    case CMD_INFO: info_reply(se->server, argc, argv, lens, out); break;
    case CMD_QUIT:
        resp_ok(out);
        close_after = true;
        break;
    case CMD_CATENA_STATUS: info_catena_status(se->server, out, se->proto); break;
    case CMD_CATENA_MEMBERS: cmd_catena_members(se, out); break;
    case CMD_CATENA_READMODE: cmd_readmode(se, argc, argv, lens, out); break;
    default: command_reply_unknown(out, argc, argv, lens); break;
    }
    session_local_done(se, close_after);
}
