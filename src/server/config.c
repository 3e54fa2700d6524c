#include "server/config.h"

#include "common/log.h"
#include "runtime/client_conn.h"
#include "server/config_secret.h"
#include "resp/parser.h"

#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void config_print_usage(FILE *out)
{
    fputs("Usage: catena-server --id N --cluster ID=HOST:PORT,... [options]\n"
          "\n"
          "One replica of a catena cluster. Clients speak RESP (any Redis client) to --port;\n"
          "replicas talk to each other on the peer ports listed in --cluster (chain order).\n"
          "\n"
          "  --id N                    this replica's id (must appear in --cluster)\n"
          "  --cluster LIST            all replicas: 1=127.0.0.1:7101,2=127.0.0.1:7102,...\n"
          "  --join                    join a running cluster (a new replica, or one restarted\n"
          "                            after its state was lost): ask the replicas in --cluster\n"
          "                            to add this one, receive their state, then serve\n"
          "  --data-dir DIR            where this replica keeps its log and snapshots\n"
          "                            (default ./catena-data/<id>)\n"
          "  --fsync always|none       always (default): what a replica promised or accepted\n"
          "                            is fsynced before it tells anyone, so no acknowledged\n"
          "                            write is lost even if every replica crashes; none:\n"
          "                            memory only, nothing written (a restarted replica\n"
          "                            must --join again)\n"
          "  --repair                  if the data directory is damaged (a corrupt log record\n"
          "                            or snapshot), move it aside to DIR.damaged-<time>\n"
          "                            (nothing is deleted) and --join again, receiving the\n"
          "                            state from the other replicas; without it the replica\n"
          "                            refuses to start\n"
          "  --checkpoint-bytes N      snapshot the state once the log grew by this much,\n"
          "                            or by the size of the last snapshot if larger\n"
          "                            (default 64mb); the log before it is deleted\n"
          "  --checkpoint-timeout S    kill a background checkpoint still running after S\n"
          "                            seconds (default 600); the next one is then\n"
          "                            serialized on the event loop\n"
          "  --port P                  client port (default 7000 + id)\n"
          "  --bind ADDR               address to listen on (default 127.0.0.1)\n"
          "  --cluster-id NAME         cluster name checked in the peer handshake "
          "(default catena)\n"
          "  --requirepass PASSWORD    clients must AUTH with PASSWORD before any other\n"
          "                            command (as Redis' requirepass)\n"
          "  --requirepass-file PATH   the same, the password read from PATH (so it does\n"
          "                            not show in ps; one trailing newline is ignored)\n"
          "  --cluster-key-file PATH   a secret shared by all replicas (at least 16 bytes):\n"
          "                            peers must prove they know it when they connect\n"
          "  --cluster-key KEY         the same, given on the command line (for tests)\n"
          "  --max-bulk-bytes N        largest bulk string a client may send (default 512mb)\n"
          "  --max-args N              largest command argument count (default 1048576)\n"
          "  --max-client-output N     pending reply bytes before a client is disconnected\n"
          "                            (default 256mb)\n"
          "  --max-peer-buffer N       bytes queued for an unreachable peer (default 256mb)\n"
          "  --max-peer-frame N        largest message accepted from a peer, such as a state\n"
          "                            transfer to a joining replica (default 1gb, at most\n"
          "                            4gb-1; never below 2 x --max-bulk-bytes + 64mb)\n"
          "  --max-clients N           simultaneous client connections (default 10000)\n"
          "  --log-level LEVEL         debug, info, warn or error (default info)\n"
          "  --help, --version\n"
          "\n"
          "Sizes accept k, kb, m, mb, g, gb suffixes (powers of 1024).\n",
          out);
}

static enum config_result fail(char *err, size_t err_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
    return CONFIG_ERROR;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    if (*s == '\0' || *s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

/* "512mb" -> bytes; plain numbers are bytes. */
static int parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    if (*s == '\0' || *s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    unsigned long long mult = 1;
    if (!strcasecmp(end, "k") || !strcasecmp(end, "kb"))
        mult = 1ull << 10;
    else if (!strcasecmp(end, "m") || !strcasecmp(end, "mb"))
        mult = 1ull << 20;
    else if (!strcasecmp(end, "g") || !strcasecmp(end, "gb"))
        mult = 1ull << 30;
    else if (*end != '\0')
        return -1;
    if (errno || v == 0 || v > SIZE_MAX / mult)
        return -1;
    *out = (size_t)(v * mult);
    return 0;
}

bool config_parse_address(struct peer_address *a, const char *text, size_t len)
{
    const char *colon = memrchr(text, ':', len);
    char port_text[8];
    size_t host_len = colon ? (size_t)(colon - text) : 0;
    size_t port_len = colon ? len - host_len - 1 : 0;
    uint64_t port;
    if (host_len == 0 || host_len >= sizeof a->host || port_len == 0 ||
        port_len >= sizeof port_text)
        return false;
    memcpy(port_text, colon + 1, port_len);
    port_text[port_len] = '\0';
    if (parse_u64(port_text, 65535, &port) || port == 0)
        return false;
    memcpy(a->host, text, host_len);
    a->host[host_len] = '\0';
    a->port = (uint16_t)port;
    return true;
}

static int parse_member(struct peer_address *m, const char *item)
{
    const char *eq = strchr(item, '=');
    if (!eq)
        return -1;
    char id_text[16];
    size_t id_len = (size_t)(eq - item);
    if (id_len == 0 || id_len >= sizeof id_text)
        return -1;
    memcpy(id_text, item, id_len);
    id_text[id_len] = '\0';
    uint64_t id;
    if (parse_u64(id_text, CATENA_MAX_NODES, &id) || id == 0 ||
        !config_parse_address(m, eq + 1, strlen(eq + 1)))
        return -1;
    m->id = (node_id)id;
    return 0;
}

static enum config_result parse_cluster(struct server_config *c, const char *list, char *err,
                                        size_t err_size)
{
    char *copy = strdup(list);
    char *save = NULL;
    c->member_count = 0;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        if (c->member_count == CATENA_MAX_NODES) {
            free(copy);
            return fail(err, err_size, "--cluster: more than %d replicas", CATENA_MAX_NODES);
        }
        struct peer_address *m = &c->members[c->member_count];
        if (parse_member(m, item) != 0) {
            fail(err, err_size, "--cluster: '%s' is not ID=HOST:PORT (id 1-%d)", item,
                 CATENA_MAX_NODES);
            free(copy);
            return CONFIG_ERROR;
        }
        if (config_member(c, m->id)) {
            free(copy);
            return fail(err, err_size, "--cluster: replica id %u appears twice", m->id);
        }
        c->member_count++;
    }
    free(copy);
    if (c->member_count == 0)
        return fail(err, err_size, "--cluster: no replicas given");
    return CONFIG_OK;
}

const struct peer_address *config_member(const struct server_config *c, node_id id)
{
    for (size_t i = 0; i < c->member_count; i++)
        if (c->members[i].id == id)
            return &c->members[i];
    return NULL;
}

static void config_defaults(struct server_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->cluster_id, sizeof c->cluster_id, "catena");
    snprintf(c->bind, sizeof c->bind, "127.0.0.1");
    c->max_bulk_bytes = RESP_DEFAULT_MAX_BULK_BYTES;
    c->max_args = RESP_DEFAULT_MAX_ARGS;
    c->max_client_output_bytes = 256u << 20;
    c->max_peer_buffer_bytes = 256u << 20;
    c->max_peer_frame_bytes = 1u << 30;
    c->max_clients = 10000;
    c->tick_ms = 10;
    c->log_level = LOG_INFO;
    c->durable = true;
    c->checkpoint_bytes = 64u << 20;
    c->checkpoint_timeout_s = 600;
}

enum option_id {
    OPT_ID = 1, OPT_CLUSTER, OPT_PORT, OPT_BIND, OPT_CLUSTER_ID, OPT_MAX_BULK, OPT_MAX_ARGS,
    OPT_MAX_OUTPUT, OPT_MAX_PEER_BUFFER, OPT_MAX_PEER_FRAME, OPT_MAX_CLIENTS, OPT_LOG_LEVEL,
    OPT_JOIN, OPT_REPAIR, OPT_DATA_DIR, OPT_FSYNC, OPT_CHECKPOINT_BYTES, OPT_CHECKPOINT_TIMEOUT,
    OPT_HELP, OPT_VERSION,
    /* The secrets, in the order of enum config_secret_kind. */
    OPT_REQUIREPASS, OPT_REQUIREPASS_FILE, OPT_CLUSTER_KEY, OPT_CLUSTER_KEY_FILE
};

static const struct option long_options[] = {
    {"id", required_argument, NULL, OPT_ID},
    {"cluster", required_argument, NULL, OPT_CLUSTER},
    {"port", required_argument, NULL, OPT_PORT},
    {"bind", required_argument, NULL, OPT_BIND},
    {"cluster-id", required_argument, NULL, OPT_CLUSTER_ID},
    {"max-bulk-bytes", required_argument, NULL, OPT_MAX_BULK},
    {"max-args", required_argument, NULL, OPT_MAX_ARGS},
    {"max-client-output", required_argument, NULL, OPT_MAX_OUTPUT},
    {"max-peer-buffer", required_argument, NULL, OPT_MAX_PEER_BUFFER},
    {"max-peer-frame", required_argument, NULL, OPT_MAX_PEER_FRAME},
    {"max-clients", required_argument, NULL, OPT_MAX_CLIENTS},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"join", no_argument, NULL, OPT_JOIN},
    {"repair", no_argument, NULL, OPT_REPAIR},
    {"data-dir", required_argument, NULL, OPT_DATA_DIR},
    {"fsync", required_argument, NULL, OPT_FSYNC},
    {"checkpoint-bytes", required_argument, NULL, OPT_CHECKPOINT_BYTES},
    {"checkpoint-timeout", required_argument, NULL, OPT_CHECKPOINT_TIMEOUT},
    {"requirepass", required_argument, NULL, OPT_REQUIREPASS},
    {"requirepass-file", required_argument, NULL, OPT_REQUIREPASS_FILE},
    {"cluster-key", required_argument, NULL, OPT_CLUSTER_KEY},
    {"cluster-key-file", required_argument, NULL, OPT_CLUSTER_KEY_FILE},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static int parse_log_level(const char *s)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (!strcasecmp(s, names[i]))
            return i;
    return -1;
}

/* Applies one option; returns CONFIG_OK or an error already written to err. */
static enum config_result apply_option(struct server_config *c, int opt, const char *arg,
                                       const char *name, char *err, size_t err_size)
{
    uint64_t v;
    switch (opt) {
    case OPT_ID:
        if (parse_u64(arg, CATENA_MAX_NODES, &v) || v == 0)
            return fail(err, err_size, "--id: '%s' is not a replica id (1-%d)", arg,
                        CATENA_MAX_NODES);
        c->self = (node_id)v;
        return CONFIG_OK;
    case OPT_CLUSTER: return parse_cluster(c, arg, err, err_size);
    case OPT_PORT:
        if (parse_u64(arg, 65535, &v) || v == 0)
            return fail(err, err_size, "--port: '%s' is not a TCP port", arg);
        c->port = (uint16_t)v;
        return CONFIG_OK;
    case OPT_CHECKPOINT_TIMEOUT:
        if (parse_u64(arg, 7 * 86400, &v) || v == 0)
            return fail(err, err_size, "--checkpoint-timeout: '%s' is not 1 to %u seconds", arg,
                        7 * 86400);
        c->checkpoint_timeout_s = v;
        return CONFIG_OK;
    case OPT_BIND:
    case OPT_CLUSTER_ID: {
        char *dst = opt == OPT_BIND ? c->bind : c->cluster_id;
        if (strlen(arg) == 0 || strlen(arg) >= 64)
            return fail(err, err_size, "--%s: must be 1 to 63 characters", name);
        snprintf(dst, 64, "%s", arg);
        return CONFIG_OK;
    }
    case OPT_LOG_LEVEL:
        if ((c->log_level = parse_log_level(arg)) < 0)
            return fail(err, err_size, "--log-level: '%s' is not debug, info, warn or error",
                        arg);
        return CONFIG_OK;
    case OPT_JOIN:
        c->join = true;
        return CONFIG_OK;
    case OPT_REPAIR:
        c->repair = true;
        return CONFIG_OK;
    case OPT_DATA_DIR:
        if (strlen(arg) == 0 || strlen(arg) >= sizeof c->data_dir)
            return fail(err, err_size, "--data-dir: must be 1 to %zu characters",
                        sizeof c->data_dir - 1);
        snprintf(c->data_dir, sizeof c->data_dir, "%s", arg);
        return CONFIG_OK;
    case OPT_FSYNC:
        if (strcmp(arg, "always") && strcmp(arg, "none"))
            return fail(err, err_size, "--fsync: '%s' is not always or none", arg);
        c->durable = !strcmp(arg, "always");
        return CONFIG_OK;
    case OPT_REQUIREPASS:
    case OPT_REQUIREPASS_FILE:
    case OPT_CLUSTER_KEY:
    case OPT_CLUSTER_KEY_FILE:
        return config_secret_apply(c, (enum config_secret_kind)(opt - OPT_REQUIREPASS), arg, err,
                                   err_size);
    default: break;
    }
    size_t *size_field = opt == OPT_MAX_BULK         ? &c->max_bulk_bytes
                         : opt == OPT_MAX_ARGS       ? &c->max_args
                         : opt == OPT_MAX_OUTPUT     ? &c->max_client_output_bytes
                         : opt == OPT_MAX_CLIENTS    ? &c->max_clients
                         : opt == OPT_MAX_PEER_FRAME ? &c->max_peer_frame_bytes
                         : opt == OPT_CHECKPOINT_BYTES ? &c->checkpoint_bytes
                                                     : &c->max_peer_buffer_bytes;
    if (parse_size(arg, size_field))
        return fail(err, err_size, "--%s: '%s' is not a positive size", name, arg);
    return CONFIG_OK;
}

static enum config_result config_validate(struct server_config *c, char *err, size_t err_size)
{
    if (c->self == NODE_NONE)
        return fail(err, err_size, "--id is required (try --help)");
    if (c->member_count == 0)
        return fail(err, err_size, "--cluster is required (try --help)");
    if (!config_member(c, c->self))
        return fail(err, err_size, "--id %u is not one of the --cluster replicas", c->self);
    if (c->max_clients > CLIENT_MAX_CONNECTIONS)
        return fail(err, err_size, "--max-clients %zu is above the limit of %zu", c->max_clients,
                    CLIENT_MAX_CONNECTIONS);
    if (c->port == 0) {
        if (7000u + c->self > 65535u)
            return fail(err, err_size, "--port is required");
        c->port = (uint16_t)(7000 + c->self);
    }
    if (c->data_dir[0] == '\0')
        snprintf(c->data_dir, sizeof c->data_dir, "catena-data/%u", c->self);
    if (c->max_peer_frame_bytes > UINT32_MAX) /* frames carry a u32 length */
        return fail(err, err_size, "--max-peer-frame: at most %u bytes", UINT32_MAX);
    if (c->port == config_member(c, c->self)->port)
        return fail(err, err_size, "--port %u is also this replica's peer port", c->port);
    return CONFIG_OK;
}

enum config_result config_parse(struct server_config *c, int argc, char **argv, char *err,
                                size_t err_size)
{
    config_defaults(c);
    optind = 1;
    opterr = 0;
    int opt, index = 0;
    while ((opt = getopt_long(argc, argv, "", long_options, &index)) != -1) {
        if (opt == OPT_HELP) {
            config_print_usage(stdout);
            return CONFIG_EXIT_OK;
        }
        if (opt == OPT_VERSION) {
            printf("catena-server %s\n", CATENA_VERSION);
            return CONFIG_EXIT_OK;
        }
        if (opt == '?' || opt == ':') {
            const char *bad = argv[optind - 1];
            if (optopt)
                return fail(err, err_size, "option '%s' needs a value (try --help)", bad);
            return fail(err, err_size, "unknown option '%s' (try --help)", bad);
        }
        if (apply_option(c, opt, optarg, long_options[index].name, err, err_size) != CONFIG_OK)
            return CONFIG_ERROR;
    }
    if (optind < argc)
        return fail(err, err_size, "unexpected argument '%s' (try --help)", argv[optind]);
    return config_validate(c, err, err_size);
}

size_t config_params(const struct server_config *c, struct config_param *out, size_t max)
{
    size_t n = 0;
#define PARAM(key, ...)                                                                         \
    do {                                                                                        \
        if (n < max) {                                                                          \
            out[n].name = key;                                                                  \
            snprintf(out[n].value, sizeof out[n].value, __VA_ARGS__);                           \
            n++;                                                                                \
        }                                                                                       \
    } while (0)
    PARAM("save", "%s", "");
    PARAM("appendonly", "%s", c->durable ? "yes" : "no");
    PARAM("appendfsync", "%s", c->durable ? "always" : "no");
    PARAM("dir", "%s", c->data_dir);
    PARAM("databases", "%d", 1);
    PARAM("port", "%u", c->port);
    PARAM("bind", "%s", c->bind);
    PARAM("maxclients", "%zu", c->max_clients);
    PARAM("proto-max-bulk-len", "%zu", c->max_bulk_bytes);
    PARAM("requirepass", "%s", c->requirepass); /* as Redis, to an authenticated client */
#undef PARAM
    return n;
}

bool config_param_matches(const struct config_param *p, const uint8_t *pattern, size_t len)
{
    char text[128];
    if (len >= sizeof text)
        return false;
    memcpy(text, pattern, len);
    text[len] = '\0';
    return fnmatch(text, p->name, FNM_CASEFOLD) == 0;
}
