/* catena-failover: how long writes stop when a leader dies. One writer per given replica (a
 * thread with its own connection) writes every --interval-us; this program kills the leader
 * with SIGKILL, and the writers go on (retrying on errors, reconnecting when a connection
 * breaks) until each has had a write sent after the kill acknowledged. The kill and the
 * replies are timed with the same monotonic clock in this one process, so the figures have the
 * writers' resolution (one interval, 1 ms by default). scripts/bench runs it against fresh
 * clusters and reports medians. */
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
#include <sys/types.h>
#include <time.h>

#define MAX_WRITERS 16

struct options {
    const char *host;
    int ports[MAX_WRITERS];
    size_t port_count;
    pid_t victim;
    uint64_t interval_us;
    uint64_t warmup_ms;
    uint64_t timeout_ms;
};

/* Shared by the main thread and the writers. */
struct run {
    const struct options *o;
    _Atomic uint64_t killed_us; /* 0 until the kill */
    _Atomic bool stop;          /* the warm-up failed: writers return */
};

struct writer {
    struct run *run;
    int port;
    pthread_t thread;
    _Atomic uint64_t writes_ok; /* read by the main thread during the warm-up */
    /* From the kill on (a write is counted when its reply or error comes after the kill): */
    uint64_t writes_after;     /* acknowledged writes */
    uint64_t errors;           /* error replies and broken connections */
    uint64_t reconnects;       /* connections opened again */
    uint64_t longest_write_us; /* the slowest write (the one in flight at the kill) */
    uint64_t back_us;          /* reply time of the first write sent after the kill, or 0 */
    char first_error[160];     /* the first error after the kill */
    char warmup_error[160];    /* the last error before the kill */
};

static void usage(FILE *out)
{
    fputs("usage: catena-failover --port P [--port P2 ...] --kill PID [--host H]\n"
          "                       [--interval-us N] [--warmup-ms N] [--timeout-ms N]\n"
          "One writer per --port (up to 16) SETs catena:failover:PORT to a counter through\n"
          "H:PORT (default 127.0.0.1) every --interval-us (default 1000). After --warmup-ms\n"
          "(default 300), once every writer has had a write acknowledged, PID is killed with\n"
          "SIGKILL; the writers go on, retrying errors, until a write each sent after the kill\n"
          "is acknowledged. Prints one line per port: failover_ms (kill to the reply of that\n"
          "write) and counters. Exit status: 0 measured, 1 a writer had no acknowledged write\n"
          "before the kill or within --timeout-ms (default 20000) after it, 2 bad usage.\n"
          "With REDISCLI_AUTH set (as for redis-cli), every connection sends AUTH with it.\n",
          out);
}

static uint64_t now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

static void sleep_until_us(uint64_t when_us)
{
    struct timespec t = {.tv_sec = (time_t)(when_us / 1000000u),
                         .tv_nsec = (long)(when_us % 1000000u) * 1000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR) {
    }
}

static bool parse_u64(const char *text, uint64_t *value)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(text, &end, 10);
    if (errno || *end || text[0] < '0' || text[0] > '9')
        return false;
    *value = n;
    return true;
}

static bool parse_option(struct options *o, const char *name, const char *value)
{
    uint64_t n;
    if (strcmp(name, "--host") == 0) {
        o->host = value;
        return true;
    }
    if (!parse_u64(value, &n))
        return false;
    if (strcmp(name, "--port") == 0) {
        if (n == 0 || n > 65535 || o->port_count == MAX_WRITERS)
            return false;
        o->ports[o->port_count++] = (int)n;
    } else if (strcmp(name, "--kill") == 0) {
        if (n <= 1 || n >= INT32_MAX)
            return false;
        o->victim = (pid_t)n;
    } else if (strcmp(name, "--interval-us") == 0 && n < 10000000u) {
        o->interval_us = n;
    } else if (strcmp(name, "--warmup-ms") == 0 && n < 3600000u) {
        o->warmup_ms = n;
    } else if (strcmp(name, "--timeout-ms") == 0 && n > 0 && n < 3600000u) {
        o->timeout_ms = n;
    } else {
        return false;
    }
    return true;
}

/* 0 to run, -1 after --help, else the exit status. */
static int parse_args(int argc, char **argv, struct options *o)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return -1;
        }
        if (i + 1 >= argc || !parse_option(o, argv[i], argv[i + 1])) {
            fprintf(stderr, "catena-failover: bad or unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
        i++;
    }
    if (o->port_count == 0 || o->victim == 0) {
        fprintf(stderr, "catena-failover: --port and --kill are required\n");
        usage(stderr);
        return 2;
    }
    return 0;
}

static bool after_kill(const struct writer *w)
{
    return atomic_load(&w->run->killed_us) != 0;
}

static void note_error(struct writer *w, const char *what)
{
    if (!after_kill(w))
        snprintf(w->warmup_error, sizeof w->warmup_error, "%s", what);
    else if (w->errors++ == 0)
        snprintf(w->first_error, sizeof w->first_error, "%s", what);
}

/* AUTH with REDISCLI_AUTH, if set (a replica started with --requirepass); false on failure. */
static bool writer_auth(struct writer *w, redisContext *c)
{
    const char *password = getenv("REDISCLI_AUTH");
    if (!password || !*password)
        return true;
    redisReply *reply = redisCommand(c, "AUTH %s", password);
    bool ok = reply && reply->type == REDIS_REPLY_STATUS;
    if (!ok)
        note_error(w, !reply ? c->errstr
                   : reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected AUTH reply");
    freeReplyObject(reply);
    return ok;
}

/* A connection whose commands may wait up to timeout_ms for a reply (a write in flight when
 * the leader dies waits for the next one), or NULL. */
static redisContext *writer_connect(struct writer *w)
{
    const struct options *o = w->run->o;
    struct timeval limit = {.tv_sec = (time_t)(o->timeout_ms / 1000),
                            .tv_usec = (suseconds_t)(o->timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(o->host, w->port, limit);
    if (c && !c->err && redisSetTimeout(c, limit) == REDIS_OK && writer_auth(w, c))
        return c;
    if (!c || c->err)
        note_error(w, c ? c->errstr : "cannot allocate a hiredis context");
    redisFree(c);
    return NULL;
}

/* One SET; true if it was acknowledged. Frees *c when the connection broke. */
static bool writer_set(struct writer *w, redisContext **c, uint64_t n)
{
    if (!*c) {
        *c = writer_connect(w);
        if (!*c)
            return false;
        w->reconnects += after_kill(w);
    }
    redisReply *reply = redisCommand(*c, "SET catena:failover:%d %" PRIu64, w->port, n);
    if (!reply) {
        note_error(w, (*c)->errstr);
        redisFree(*c);
        *c = NULL;
        return false;
    }
    bool ok = reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "OK") == 0;
    if (!ok)
        note_error(w, reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply type");
    freeReplyObject(reply);
    return ok;
}

/* Writes every interval until a write sent at or after the kill is acknowledged, or until
 * killed + timeout_ms (or the main thread gives up before the kill). */
static void *writer_main(void *arg)
{
    struct writer *w = arg;
    const struct options *o = w->run->o;
    redisContext *c = writer_connect(w);
    uint64_t n = 0, next = now_us();
    while (!atomic_load(&w->run->stop)) {
        sleep_until_us(next);
        uint64_t killed = atomic_load(&w->run->killed_us);
        uint64_t sent = now_us();
        if (killed && sent >= killed + o->timeout_ms * 1000)
            break;
        bool ok = writer_set(w, &c, ++n);
        uint64_t done = now_us();
        if (ok)
            atomic_fetch_add(&w->writes_ok, 1);
        if (after_kill(w)) {
            w->writes_after += ok;
            if (done - sent > w->longest_write_us)
                w->longest_write_us = done - sent;
        }
        if (ok && killed && sent >= killed) {
            w->back_us = done;
            break;
        }
        next = sent + o->interval_us;
    }
    redisFree(c);
    return NULL;
}

/* Waits out the warm-up; true once every writer has had a write acknowledged. */
static bool warmed_up(struct writer *writers, size_t count, uint64_t warmup_ms)
{
    uint64_t start = now_us(), deadline = start + warmup_ms * 1000 + 5000000u;
    for (;;) {
        size_t ready = 0;
        for (size_t k = 0; k < count; k++)
            ready += atomic_load(&writers[k].writes_ok) > 0;
        uint64_t now = now_us();
        if (ready == count && now >= start + warmup_ms * 1000)
            return true;
        if (now >= deadline)
            return false;
        sleep_until_us(now + 10000);
    }
}

static int report(const struct run *run, struct writer *writers, size_t count)
{
    int status = 0;
    uint64_t killed = atomic_load(&run->killed_us);
    for (size_t k = 0; k < count; k++) {
        struct writer *w = &writers[k];
        if (!w->back_us) {
            printf("port %d failover_ms none errors %" PRIu64 " first_error \"%s\"\n", w->port,
                   w->errors, w->first_error);
            status = 1;
            continue;
        }
        printf("port %d failover_ms %.1f longest_write_ms %.1f writes_after %" PRIu64
               " errors %" PRIu64 " reconnects %" PRIu64 " first_error \"%s\"\n",
               w->port, (double)(w->back_us - killed) / 1000.0,
               (double)w->longest_write_us / 1000.0, w->writes_after, w->errors,
               w->reconnects, w->first_error);
    }
    return status;
}

int main(int argc, char **argv)
{
    struct options o = {.host = "127.0.0.1", .interval_us = 1000, .warmup_ms = 300,
                        .timeout_ms = 20000};
    int status = parse_args(argc, argv, &o);
    if (status)
        return status < 0 ? 0 : status;
    signal(SIGPIPE, SIG_IGN);

    struct run run = {.o = &o};
    static struct writer writers[MAX_WRITERS];
    for (size_t k = 0; k < o.port_count; k++) {
        writers[k].run = &run;
        writers[k].port = o.ports[k];
        if (pthread_create(&writers[k].thread, NULL, writer_main, &writers[k]) != 0) {
            fprintf(stderr, "catena-failover: cannot start a writer thread\n");
            return 1;
        }
    }
    bool ready = warmed_up(writers, o.port_count, o.warmup_ms);
    if (ready) {
        uint64_t killed = now_us();
        if (kill(o.victim, SIGKILL) != 0) {
            fprintf(stderr, "catena-failover: kill %d: %s\n", (int)o.victim, strerror(errno));
            ready = false;
        } else {
            atomic_store(&run.killed_us, killed);
        }
    }
    if (!ready)
        atomic_store(&run.stop, true);
    for (size_t k = 0; k < o.port_count; k++)
        pthread_join(writers[k].thread, NULL);
    if (!ready) {
        for (size_t k = 0; k < o.port_count; k++)
            if (atomic_load(&writers[k].writes_ok) == 0)
                fprintf(stderr, "catena-failover: no write through port %d succeeded before "
                                "the kill (%s)\n",
                        writers[k].port,
                        writers[k].warmup_error[0] ? writers[k].warmup_error : "no error");
        return 1;
    }
    return report(&run, writers, o.port_count);
}
