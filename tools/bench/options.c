#include "bench/options.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum option_kind { OPTION_SIZE, OPTION_U64, OPTION_DOUBLE, OPTION_TEXT, OPTION_FLAG };

/* One flag: where its value goes and the closed range it must lie in. */
struct option_spec {
    const char *name;
    enum option_kind kind;
    size_t offset;
    double min, max;
};

#define SPEC(name, kind, field, min, max)                                                      \
    {name, kind, offsetof(struct bench_options, field), min, max}
static const struct option_spec option_specs[] = {
    SPEC("--connections", OPTION_SIZE, connections, 1, 100000),
    SPEC("--threads", OPTION_SIZE, threads, 1, 256),
    SPEC("--duration", OPTION_DOUBLE, duration_s, 0.001, 86400),
    SPEC("--ops", OPTION_U64, ops, 1, 1e15),
    SPEC("--warmup", OPTION_DOUBLE, warmup_s, 0, 86400),
    SPEC("--read-ratio", OPTION_DOUBLE, read_ratio, 0, 1),
    SPEC("--value-size", OPTION_SIZE, value_size_bytes, 0, 64 << 20),
    SPEC("--keys", OPTION_U64, keys, 1, 1e12),
    SPEC("--theta", OPTION_DOUBLE, theta, 1e-9, 1 - 1e-9),
    SPEC("--pipeline", OPTION_SIZE, pipeline, 1, 100000),
    SPEC("--target-rate", OPTION_DOUBLE, target_rate_ops, 1e-3, 1e9),
    SPEC("--seed", OPTION_U64, seed, 0, 0x1p64),
    SPEC("--drain-timeout", OPTION_DOUBLE, drain_timeout_s, 0.001, 3600),
    SPEC("--reconnect-ms", OPTION_DOUBLE, reconnect_ms, 0, 60000),
    SPEC("--driver", OPTION_TEXT, driver_name, 0, 0),
    SPEC("--cdf", OPTION_TEXT, cdf_path, 0, 0),
    SPEC("--allow-errors", OPTION_FLAG, allow_errors, 0, 0),
    SPEC("--load", OPTION_FLAG, load, 0, 0),
    SPEC("--serializable-reads", OPTION_FLAG, serializable_reads, 0, 0),
};
#undef SPEC

void bench_options_usage(FILE *out)
{
    fputs(
        "usage: catena-bench [flags]\n"
        "A closed-loop (or, with --target-rate, open-loop) load generator for catena, Redis,\n"
        "etcd and ZooKeeper.\n"
        "  --driver catena|redis|etcd|zookeeper  protocol and counters (default catena)\n"
        "  --hosts h:p,h:p,...        servers; connections are spread round-robin over them\n"
        "                             (default 127.0.0.1:7001,7002,7003 for catena, :6379 redis,\n"
        "                             :2379 etcd, :2181 zookeeper)\n"
        "  --connections N            connections in all (default 50)\n"
        "  --threads N                threads, each with its own event loop (default 1)\n"
        "  --duration S | --ops N     measured phase: seconds (default 10) or operations\n"
        "  --warmup S                 unmeasured seconds before it (default 1)\n"
        "  --read-ratio R             fraction of GETs, 0..1; the rest are SETs (default 0.5)\n"
        "  --value-size B             bytes per SET value (default 128)\n"
        "  --keys N                   key space, key:000000000000 ... (default 100000)\n"
        "  --distribution uniform|zipfian, --theta T  key popularity (zipfian, 0.99)\n"
        "  --pipeline N               requests outstanding per connection (default 1)\n"
        "  --target-rate OPS          open loop: requests at this total rate, latency from\n"
        "                             each one's intended send time\n"
        "  --seed N                   random seed (default 1)\n"
        "  --drain-timeout S          wait for replies after the last request (default 5)\n"
        "  --reconnect-ms MS          open a lost connection again after MS, and again until\n"
        "                             it connects (default 0: a lost connection stays lost)\n"
        "  --allow-errors             exit 0 even when some requests failed\n"
        "  --load                     a load phase: SET every key of --keys once, in order,\n"
        "                             and stop (run it before a measured run, so that reads\n"
        "                             find values); ignores --duration, --ops, --warmup and\n"
        "                             --read-ratio\n"
        "  --serializable-reads       etcd: serializable ranges (from the member's own state);\n"
        "                             zookeeper: getData without sync (default: linearizable:\n"
        "                             etcd's quorum read, ZooKeeper's sync then getData)\n"
        "  --server-pids P,P,...      the PID of each --hosts server, on this machine: its\n"
        "                             CPU per operation from /proc/PID/stat (for ZooKeeper,\n"
        "                             which does not report it; replaces INFO's or /metrics')\n"
        "  --cdf FILE                 also write the latency distribution to FILE\n"
        "                             (lines: percentile, latency in us)\n"
        "  --csv | --json             machine-readable output instead of the table\n"
        "Exit status: 0 done, 1 errors or no connection, 2 bad usage.\n",
        out);
}

static void options_defaults(struct bench_options *o)
{
    *o = (struct bench_options){.driver_name = "catena", .connections = 50, .threads = 1,
                                .warmup_s = 1, .read_ratio = 0.5, .value_size_bytes = 128,
                                .keys = 100000, .distribution = BENCH_ZIPFIAN, .theta = 0.99,
                                .pipeline = 1, .seed = 1, .drain_timeout_s = 5};
}

bool bench_options_parse_host(const char *text, size_t len, struct bench_host *h)
{
    const char *colon = memrchr(text, ':', len);
    if (!colon || colon == text || (size_t)(colon - text) >= sizeof h->name)
        return false;
    size_t name_len = (size_t)(colon - text);
    char port[8];
    size_t port_len = len - name_len - 1;
    if (port_len == 0 || port_len >= sizeof port)
        return false;
    memcpy(port, colon + 1, port_len);
    port[port_len] = '\0';
    char *end;
    long n = strtol(port, &end, 10);
    if (*end || n < 1 || n > 65535 || port[0] < '0' || port[0] > '9')
        return false;
    /* [::1]:7001: the brackets only delimit an IPv6 address. */
    if (name_len > 2 && text[0] == '[' && text[name_len - 1] == ']') {
        text++;
        name_len -= 2;
    }
    memcpy(h->name, text, name_len);
    h->name[name_len] = '\0';
    h->port = (int)n;
    return true;
}

static bool options_parse_hosts(struct bench_options *o, const char *list)
{
    o->host_count = 0;
    for (const char *p = list;; p++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (o->host_count == BENCH_MAX_HOSTS ||
            !bench_options_parse_host(p, len, &o->hosts[o->host_count]))
            return false;
        o->host_count++;
        if (!comma)
            return true;
        p = comma;
    }
}

static bool options_parse_pids(struct bench_options *o, const char *list)
{
    o->server_pid_count = 0;
    for (const char *p = list;; p++) {
        char *end;
        errno = 0;
        long pid = strtol(p, &end, 10);
        if (o->server_pid_count == BENCH_MAX_HOSTS || errno || end == p || *p < '0' ||
            *p > '9' || pid < 1 || pid > 0x7fffffff || (*end && *end != ','))
            return false;
        o->server_pids[o->server_pid_count++] = (int)pid;
        if (!*end)
            return true;
        p = end;
    }
}

static bool options_parse_number(const char *text, double *value)
{
    char *end;
    errno = 0;
    *value = strtod(text, &end);
    return !errno && end != text && !*end && isfinite(*value);
}

/* Stores value into the field spec names; false when it is no number or out of range. */
static bool options_store(struct bench_options *o, const struct option_spec *spec,
                          const char *value)
{
    char *field = (char *)o + spec->offset;
    double number = 0;
    if (spec->kind == OPTION_TEXT) {
        *(const char **)field = value;
        return true;
    }
    if (spec->kind == OPTION_FLAG) {
        *(bool *)field = true;
        return true;
    }
    if (spec->kind == OPTION_DOUBLE) {
        if (!options_parse_number(value, &number) || number < spec->min || number > spec->max)
            return false;
        *(double *)field = number;
        return true;
    }
    /* Whole numbers: digits only (no sign, exponent or fraction). */
    char *end;
    errno = 0;
    unsigned long long whole = strtoull(value, &end, 10);
    if (errno || end == value || *end || value[0] < '0' || value[0] > '9' ||
        (double)whole < spec->min || (double)whole > spec->max)
        return false;
    if (spec->kind == OPTION_SIZE)
        *(size_t *)field = (size_t)whole;
    else
        *(uint64_t *)field = whole;
    return true;
}

static const struct option_spec *options_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof option_specs / sizeof option_specs[0]; i++)
        if (strlen(option_specs[i].name) == len && !strncmp(option_specs[i].name, name, len))
            return &option_specs[i];
    return NULL;
}

/* --hosts, --server-pids and --distribution, whose values are words or lists; false if the
 * value is wrong. */
static bool options_store_word(struct bench_options *o, const char *name, const char *value)
{
    if (!strcmp(name, "--hosts"))
        return options_parse_hosts(o, value);
    if (!strcmp(name, "--server-pids"))
        return options_parse_pids(o, value);
    if (!strcmp(value, "uniform"))
        o->distribution = BENCH_UNIFORM;
    else if (!strcmp(value, "zipfian"))
        o->distribution = BENCH_ZIPFIAN;
    else
        return false;
    return true;
}

/* One flag and its value (value is NULL for flags that take none). Returns how many of
 * argv's words it used (1 or 2), or 0 on error with the reason in err. */
static int options_one(struct bench_options *o, char *arg, char *next, bool *help, FILE *err)
{
    char name[64];
    const char *equals = strchr(arg, '=');
    size_t len = equals ? (size_t)(equals - arg) : strlen(arg);
    if (len >= sizeof name) {
        fprintf(err, "catena-bench: unknown flag %s\n", arg);
        return 0;
    }
    memcpy(name, arg, len);
    name[len] = '\0';
    const char *value = equals ? equals + 1 : next;
    int used = equals ? 1 : 2;
    if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
        *help = true;
        return 1;
    }
    if (!strcmp(name, "--csv") || !strcmp(name, "--json")) {
        enum bench_output wanted = name[2] == 'c' ? BENCH_OUTPUT_CSV : BENCH_OUTPUT_JSON;
        if (o->output != BENCH_OUTPUT_TABLE && o->output != wanted) {
            fprintf(err, "catena-bench: --csv and --json exclude each other\n");
            return 0;
        }
        o->output = wanted;
        return 1;
    }
    const struct option_spec *spec = options_find(name, len);
    if (spec && spec->kind == OPTION_FLAG)
        return options_store(o, spec, "") ? 1 : 0;
    bool word = !strcmp(name, "--hosts") || !strcmp(name, "--server-pids") ||
                !strcmp(name, "--distribution");
    if (!spec && !word) {
        fprintf(err, "catena-bench: unknown flag %s (see --help)\n", name);
        return 0;
    }
    if (!value) {
        fprintf(err, "catena-bench: %s needs a value\n", name);
        return 0;
    }
    if (spec ? options_store(o, spec, value) : options_store_word(o, name, value))
        return used;
    if (spec && spec->kind != OPTION_TEXT)
        fprintf(err, "catena-bench: %s wants a %s from %g to %g, not '%s'\n", name,
                spec->kind == OPTION_DOUBLE ? "number" : "whole number", spec->min,
                spec->max, value);
    else
        fprintf(err, "catena-bench: bad value '%s' for %s (see --help)\n", value, name);
    return 0;
}

/* The checks that involve several flags, and the defaults that depend on others. */
static bool options_finish(struct bench_options *o, FILE *err)
{
    if (o->load) { /* every key once: as many writes as keys, all measured */
        o->duration_s = 0;
        o->ops = o->keys;
        o->warmup_s = 0;
        o->read_ratio = 0;
    }
    if (o->duration_s > 0 && o->ops > 0) {
        fprintf(err, "catena-bench: give --duration or --ops, not both\n");
        return false;
    }
    if (o->duration_s == 0 && o->ops == 0)
        o->duration_s = 10;
    if (o->threads > o->connections) {
        fprintf(err, "catena-bench: --threads %zu is more than --connections %zu\n",
                o->threads, o->connections);
        return false;
    }
    if (o->host_count == 0) {
        const char *defaults = "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003";
        if (!strcmp(o->driver_name, "redis"))
            defaults = "127.0.0.1:6379";
        else if (!strcmp(o->driver_name, "etcd"))
            defaults = "127.0.0.1:2379";
        else if (!strcmp(o->driver_name, "zookeeper"))
            defaults = "127.0.0.1:2181";
        options_parse_hosts(o, defaults);
    }
    if (o->server_pid_count && o->server_pid_count != o->host_count) {
        fprintf(err, "catena-bench: --server-pids names %zu processes for %zu hosts\n",
                o->server_pid_count, o->host_count);
        return false;
    }
    return true;
}

bool bench_options_parse(struct bench_options *o, int argc, char **argv, bool *help, FILE *err)
{
    options_defaults(o);
    *help = false;
    for (int i = 1; i < argc;) {
        if (strncmp(argv[i], "--", 2) != 0 && strcmp(argv[i], "-h") != 0) {
            fprintf(err, "catena-bench: unexpected argument '%s' (see --help)\n", argv[i]);
            return false;
        }
        int used = options_one(o, argv[i], i + 1 < argc ? argv[i + 1] : NULL, help, err);
        if (used == 0)
            return false;
        if (*help)
            return true;
        i += used;
    }
    return options_finish(o, err);
}
