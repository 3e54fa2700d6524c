/* catena-recorder: a mixed read/write workload from many client connections, recorded as a
 * history that catena-check reads (tools/check/README.md). The nemesis test
 * (tests/nemesis/nemesis.sh) runs it against a cluster while it injects faults.
 *
 * Each client is a thread with one blocking hiredis connection (so its operations are
 * sequential, as the history format wants per client), to the replicas of --hosts in turn.
 * Every operation is recorded with its invocation and completion times from one monotonic
 * clock, taken under the history's lock, so the file's real-time order is the order the
 * operations were really sent and answered in. Outcomes:
 *   - a reply: ok, with its result;
 *   - a TRYAGAIN error: fail (catena says the command was not applied); the client moves
 *     on to the next replica;
 *   - any other error, a timeout or a broken connection: unknown (it may have taken effect).
 * After an unknown outcome the client drops its connection and opens one to the next replica:
 * a late reply must never be taken for the next command's.
 *
 * Times are the machine's CLOCK_MONOTONIC in microseconds, so the histories of two runs on one
 * machine can follow each other in one file: --verify (one GET of every key through every
 * replica, once the cluster has healed) appends to the workload's history, so an acknowledged
 * write that was lost shows as a read the checker cannot place.
 *
 * Keys: string keys s0..sN-1 (GET, SET, APPEND, DEL, and MSET/MGET on fixed pairs s2i, s2i+1)
 * and counters c0..cM-1 (INCR, GET, DEL), so an INCR never meets a non-integer. Written values
 * are unique (client and sequence number), so a read fits exactly one write. */
#include "check/history.h"
#include "common/rng.h"

#include <hiredis/hiredis.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_HOSTS 16
#define MAX_CLIENTS 256

struct host {
    char name[64];
    int port;
};

struct options {
    struct host hosts[MAX_HOSTS];
    size_t host_count;
    unsigned clients;
    double duration_s;
    uint64_t seed;
    unsigned string_keys; /* even: MSET/MGET use pairs */
    unsigned counter_keys;
    unsigned timeout_ms;
    unsigned think_ms; /* mean pause between a client's operations */
    const char *out;
    const char *stop_file;
    bool verify; /* read every key once through every host, append to --out */
};

/* Counts per outcome, for the summary line. */
struct tally {
    uint64_t ok, fail, unknown, reconnects;
};

struct recorder {
    const struct options *o;
    pthread_mutex_t lock; /* guards history and tallies */
    struct history history;
    struct tally tally;
    uint64_t start_us;      /* monotonic clock at the start */
    uint64_t start_wall_us; /* the same moment in Unix time, to line up with the nemesis log */
    _Atomic bool stop;
    _Atomic unsigned running; /* clients not finished yet (--verify clients finish early) */
};

struct client {
    struct recorder *r;
    uint32_t id;
    struct rng rng;
    redisContext *conn;
    size_t next_host;
    uint64_t seq;
    pthread_t thread;
};

static uint64_t now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

static void sleep_us(uint64_t us)
{
    struct timespec t = {.tv_sec = (time_t)(us / 1000000u),
                         .tv_nsec = (long)(us % 1000000u) * 1000};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

/* An operation about to be sent: the command's words and what the history records. */
struct op_request {
    enum op_type type;
    uint32_t nkeys;
    char keys[2][16];
    char args[2][48];
    const char *argv[5];
    size_t argc;
};

static void request_word(struct op_request *q, const char *word)
{
    q->argv[q->argc++] = word;
}

/* Draws the next operation of client c (the mix: about 40% reads). */
static void request_draw(struct client *c, struct op_request *q)
{
    const struct options *o = c->r->o;
    memset(q, 0, sizeof *q);
    uint64_t roll = rng_below(&c->rng, 100);
    uint64_t pair = rng_below(&c->rng, o->string_keys / 2);
    unsigned counter = (unsigned)rng_below(&c->rng, o->counter_keys);
    c->seq++;
    snprintf(q->keys[0], sizeof q->keys[0], "s%u", (unsigned)(2 * pair + rng_below(&c->rng, 2)));
    snprintf(q->args[0], sizeof q->args[0], "%u-%" PRIu64, c->id, c->seq);
    const char *name;
    q->nkeys = 1;
    if (roll < 25) {
        q->type = OP_GET, name = "GET";
    } else if (roll < 45) {
        q->type = OP_SET, name = "SET";
    } else if (roll < 50) {
        q->type = OP_APPEND, name = "APPEND";
        strcat(q->args[0], ";");
    } else if (roll < 53) {
        q->type = OP_DEL, name = "DEL";
    } else if (roll < 73) {
        /* MSET or MGET on a fixed pair: multi-key groups stay small for the checker. */
        q->type = roll < 63 ? OP_MSET : OP_MGET, name = roll < 63 ? "MSET" : "MGET";
        q->nkeys = 2;
        snprintf(q->keys[0], sizeof q->keys[0], "s%u", (unsigned)(2 * pair));
        snprintf(q->keys[1], sizeof q->keys[1], "s%u", (unsigned)(2 * pair + 1));
        snprintf(q->args[1], sizeof q->args[1], "%u-%" PRIu64 "b", c->id, c->seq);
    } else {
        /* Counters: INCR 60%, GET 32%, DEL 8% of this share. */
        uint64_t kind = rng_below(&c->rng, 25);
        snprintf(q->keys[0], sizeof q->keys[0], "c%u", counter);
        q->type = kind < 15 ? OP_INCR : kind < 23 ? OP_GET : OP_DEL;
        name = kind < 15 ? "INCR" : kind < 23 ? "GET" : "DEL";
    }
    request_word(q, name);
    for (uint32_t k = 0; k < q->nkeys; k++) {
        request_word(q, q->keys[k]);
        if (q->type == OP_SET || q->type == OP_APPEND || q->type == OP_MSET)
            request_word(q, q->args[k]);
    }
}

/* --verify: client c's next GET (key number seq - 1 of all keys), false when done. */
static bool request_verify(struct client *c, struct op_request *q)
{
    const struct options *o = c->r->o;
    memset(q, 0, sizeof *q);
    if (c->seq >= o->string_keys + o->counter_keys)
        return false;
    unsigned k = (unsigned)c->seq++;
    if (k < o->string_keys)
        snprintf(q->keys[0], sizeof q->keys[0], "s%u", k);
    else
        snprintf(q->keys[0], sizeof q->keys[0], "c%u", k - o->string_keys);
    q->type = OP_GET;
    q->nkeys = 1;
    request_word(q, "GET");
    request_word(q, q->keys[0]);
    return true;
}

static size_t record_invoke(struct client *c, const struct op_request *q)
{
    const char *keys[2] = {q->keys[0], q->keys[1]};
    const char *args[2] = {q->args[0], q->args[1]};
    bool has_args = q->type == OP_SET || q->type == OP_APPEND || q->type == OP_MSET;
    pthread_mutex_lock(&c->r->lock);
    size_t index = history_invoke(&c->r->history, c->id, now_us(), q->type, q->nkeys, keys,
                                  has_args ? args : NULL);
    pthread_mutex_unlock(&c->r->lock);
    return index;
}

static void record_complete(struct client *c, size_t index, enum op_outcome outcome,
                            int64_t integer, const char *const *values)
{
    pthread_mutex_lock(&c->r->lock);
    history_complete(&c->r->history, index, now_us(), outcome, integer, values);
    if (outcome == OUTCOME_OK)
        c->r->tally.ok++;
    else if (outcome == OUTCOME_FAIL)
        c->r->tally.fail++;
    else
        c->r->tally.unknown++;
    pthread_mutex_unlock(&c->r->lock);
}

/* Turns a reply into an outcome; false if the reply is not what the operation returns (then
 * the outcome is unknown: the history must only hold results catena really gave). */
static bool reply_result(const struct op_request *q, const redisReply *reply, int64_t *integer,
                         const char *values[2])
{
    switch (q->type) {
    case OP_SET:
    case OP_MSET:
        return reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "OK") == 0;
    case OP_INCR:
    case OP_APPEND:
    case OP_DEL:
        *integer = reply->integer;
        return reply->type == REDIS_REPLY_INTEGER;
    case OP_GET:
        values[0] = reply->type == REDIS_REPLY_STRING ? reply->str : NULL;
        return reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_NIL;
    case OP_MGET:
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2)
            return false;
        for (size_t k = 0; k < 2; k++) {
            const redisReply *e = reply->element[k];
            if (e->type != REDIS_REPLY_STRING && e->type != REDIS_REPLY_NIL)
                return false;
            values[k] = e->type == REDIS_REPLY_STRING ? e->str : NULL;
        }
        return true;
    }
    return false;
}

static void client_disconnect(struct client *c)
{
    if (c->conn)
        redisFree(c->conn);
    c->conn = NULL;
}

/* Opens a connection to the next replica in turn; false (after a short pause) if it fails. */
static bool client_connect(struct client *c)
{
    const struct options *o = c->r->o;
    const struct host *h = &o->hosts[(o->verify ? c->next_host : c->next_host++) % o->host_count];
    struct timeval tv = {.tv_sec = o->timeout_ms / 1000, .tv_usec = (o->timeout_ms % 1000) * 1000};
    c->conn = redisConnectWithTimeout(h->name, h->port, tv);
    if (c->conn && !c->conn->err && redisSetTimeout(c->conn, tv) == REDIS_OK)
        return true;
    client_disconnect(c);
    sleep_us(50000);
    return false;
}

/* One operation, sent and recorded; false once a --verify client has read every key. */
static bool client_step(struct client *c)
{
    struct op_request q;
    if (!c->r->o->verify)
        request_draw(c, &q);
    else if (!request_verify(c, &q))
        return false;
    size_t index = record_invoke(c, &q);
    size_t lens[5];
    for (size_t i = 0; i < q.argc; i++)
        lens[i] = strlen(q.argv[i]);
    redisReply *reply = redisCommandArgv(c->conn, (int)q.argc, q.argv, lens);
    int64_t integer = 0;
    const char *values[2] = {NULL, NULL};
    bool ok = false;
    if (reply && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "TRYAGAIN", 8) == 0) {
        record_complete(c, index, OUTCOME_FAIL, 0, NULL);
        /* This replica cannot order commands now (no leader, being removed or joining): try
         * the next one after a pause, rather than spinning on the same refusal. */
        client_disconnect(c);
        sleep_us(20000);
    } else if (reply && reply->type != REDIS_REPLY_ERROR &&
               reply_result(&q, reply, &integer, values)) {
        record_complete(c, index, OUTCOME_OK, integer, values);
        ok = true;
    } else {
        record_complete(c, index, OUTCOME_UNKNOWN, 0, NULL);
        if (reply && reply->type != REDIS_REPLY_ERROR)
            fprintf(stderr, "catena-recorder: client %u: unexpected reply type %d to %s\n", c->id,
                    reply->type, q.argv[0]);
        client_disconnect(c); /* the reply may still come: never read it as the next one's */
    }
    if (!ok && c->r->o->verify)
        c->seq--; /* read that key again */
    if (reply)
        freeReplyObject(reply);
    return true;
}

static void *client_run(void *arg)
{
    struct client *c = arg;
    const struct options *o = c->r->o;
    uint64_t end_us = c->r->start_us + (uint64_t)(o->duration_s * 1e6);
    while (!atomic_load(&c->r->stop) && now_us() < end_us) {
        if (!c->conn) {
            if (!client_connect(c))
                continue;
            pthread_mutex_lock(&c->r->lock);
            c->r->tally.reconnects++;
            pthread_mutex_unlock(&c->r->lock);
        }
        if (!client_step(c))
            break;
        if (o->think_ms && !o->verify)
            sleep_us(rng_below(&c->rng, 2000u * o->think_ms + 1));
    }
    client_disconnect(c);
    atomic_fetch_sub(&c->r->running, 1);
    return NULL;
}

static void usage(FILE *out)
{
    fputs("usage: catena-recorder --hosts H:P[,H:P...] --out FILE [options]\n"
          "A mixed workload (GET SET APPEND DEL MSET MGET INCR) from --clients connections,\n"
          "recorded as a history for catena-check. Options (defaults in brackets):\n"
          "  --clients N        client connections, one thread each [16]\n"
          "  --duration S       seconds to run [10]\n"
          "  --stop-file PATH   stop early once PATH exists\n"
          "  --seed N           workload seed [1]\n"
          "  --keys N           string keys, even [16]; --counters N counter keys [4]\n"
          "  --timeout-ms N     connect and reply timeout; past it: unknown outcome [1000]\n"
          "  --think-ms N       mean pause between a client's operations [5]\n"
          "  --verify           instead: one client per host GETs every key once (a client\n"
          "                     stays on its host, reconnecting); appended to --out\n"
          "Prints one summary line; exit status 0, 1 if nothing was acknowledged, 2 bad usage.\n",
          out);
}

static bool parse_hosts(struct options *o, const char *list)
{
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", list);
    for (char *save = NULL, *item = strtok_r(copy, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        char *colon = strrchr(item, ':');
        if (!colon || o->host_count == MAX_HOSTS ||
            (size_t)(colon - item) >= sizeof o->hosts[0].name)
            return false;
        struct host *h = &o->hosts[o->host_count++];
        memcpy(h->name, item, (size_t)(colon - item));
        h->name[colon - item] = '\0';
        h->port = atoi(colon + 1);
        if (h->port <= 0 || h->port > 65535)
            return false;
    }
    return o->host_count > 0;
}

static bool parse_options(struct options *o, int argc, char **argv)
{
    *o = (struct options){.clients = 16,
                          .duration_s = 10,
                          .seed = 1,
                          .string_keys = 16,
                          .counter_keys = 4,
                          .timeout_ms = 1000,
                          .think_ms = 5};
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(flag, "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strcmp(flag, "--verify") == 0) {
            o->verify = true;
            continue;
        }
        if (!value)
            return false;
        i++;
        if (strcmp(flag, "--hosts") == 0) {
            if (!parse_hosts(o, value))
                return false;
        } else if (strcmp(flag, "--out") == 0) {
            o->out = value;
        } else if (strcmp(flag, "--stop-file") == 0) {
            o->stop_file = value;
        } else if (strcmp(flag, "--clients") == 0) {
            o->clients = (unsigned)atoi(value);
        } else if (strcmp(flag, "--duration") == 0) {
            o->duration_s = atof(value);
        } else if (strcmp(flag, "--seed") == 0) {
            o->seed = strtoull(value, NULL, 10);
        } else if (strcmp(flag, "--keys") == 0) {
            o->string_keys = (unsigned)atoi(value);
        } else if (strcmp(flag, "--counters") == 0) {
            o->counter_keys = (unsigned)atoi(value);
        } else if (strcmp(flag, "--timeout-ms") == 0) {
            o->timeout_ms = (unsigned)atoi(value);
        } else if (strcmp(flag, "--think-ms") == 0) {
            o->think_ms = (unsigned)atoi(value);
        } else {
            return false;
        }
    }
    return o->host_count && o->out && o->clients >= 1 && o->clients <= MAX_CLIENTS &&
           o->duration_s > 0 && o->string_keys >= 2 && o->string_keys % 2 == 0 &&
           o->counter_keys >= 1 && o->timeout_ms >= 1;
}

static bool write_history(struct recorder *r)
{
    FILE *f = fopen(r->o->out, r->o->verify ? "a" : "w");
    if (!f) {
        perror(r->o->out);
        return false;
    }
    fprintf(f,
            "# catena-recorder%s seed %" PRIu64 ": time %" PRIu64 " (monotonic microseconds) "
            "was Unix time %" PRIu64 ".%06" PRIu64 "\n",
            r->o->verify ? " --verify" : "", r->o->seed, r->start_us, r->start_wall_us / 1000000u,
            r->start_wall_us % 1000000u);
    bool ok = history_write(f, &r->history);
    return fclose(f) == 0 && ok;
}

int main(int argc, char **argv)
{
    static struct options o;
    if (!parse_options(&o, argc, argv)) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    static struct recorder r;
    static struct client clients[MAX_CLIENTS];
    r.o = &o;
    pthread_mutex_init(&r.lock, NULL);
    history_init(&r.history);
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    r.start_us = now_us();
    r.start_wall_us = (uint64_t)wall.tv_sec * 1000000u + (uint64_t)wall.tv_nsec / 1000u;
    if (o.verify)
        o.clients = (unsigned)o.host_count;
    atomic_store(&r.running, o.clients);
    for (unsigned i = 0; i < o.clients; i++) {
        /* Verifying clients have their own ids, after any workload client's. */
        clients[i] = (struct client){.r = &r, .id = (o.verify ? 1000 : 0) + i + 1, .next_host = i};
        rng_seed(&clients[i].rng, o.seed * 1000003u + i);
        if (pthread_create(&clients[i].thread, NULL, client_run, &clients[i]) != 0) {
            perror("pthread_create");
            return 1;
        }
    }
    uint64_t end_us = r.start_us + (uint64_t)(o.duration_s * 1e6);
    while (now_us() < end_us && atomic_load(&r.running) > 0 &&
           !(o.stop_file && access(o.stop_file, F_OK) == 0))
        sleep_us(50000);
    atomic_store(&r.stop, true);
    for (unsigned i = 0; i < o.clients; i++)
        pthread_join(clients[i].thread, NULL);
    bool written = write_history(&r);
    printf("catena-recorder: %zu ops from %u clients in %.1f s: %" PRIu64 " ok, %" PRIu64
           " fail (TRYAGAIN), %" PRIu64 " unknown; %" PRIu64 " connections opened\n",
           r.history.count, o.clients, (double)(now_us() - r.start_us) / 1e6, r.tally.ok,
           r.tally.fail, r.tally.unknown, r.tally.reconnects);
    history_free(&r.history);
    if (!written)
        return 1;
    return r.tally.ok ? 0 : 1;
}
