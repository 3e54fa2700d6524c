#include "bench/driver_resp.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>

struct bench_driver_conn {
    redisAsyncContext *context;
    const struct bench_driver_events *events;
    void *owner;
    bool closing; /* close was asked for: the disconnect is no error */
};

static void resp_on_connect(const redisAsyncContext *context, int status)
{
    struct bench_driver_conn *c = context->data;
    if (status == REDIS_OK) {
        c->events->connected(c->owner, true, NULL);
        return;
    }
    /* hiredis frees the context after this callback and calls no disconnect callback for a
     * connection that never was; data is cleared in case it ever did. */
    ((redisAsyncContext *)context)->data = NULL;
    c->events->connected(c->owner, false, context->errstr);
    free(c);
}

static void resp_on_disconnect(const redisAsyncContext *context, int status)
{
    struct bench_driver_conn *c = context->data;
    (void)status;
    if (!c)
        return;
    const char *error = NULL;
    if (!c->closing)
        error = context->err ? context->errstr : "connection closed by the server";
    c->events->closed(c->owner, error);
    free(c);
}

static void resp_on_reply(redisAsyncContext *context, void *reply_pointer, void *token)
{
    struct bench_driver_conn *c = context->data;
    const redisReply *reply = reply_pointer;
    if (!reply) {
        const char *why = context->err ? context->errstr : "connection closed before the reply";
        c->events->completed(token, BENCH_OUTCOME_NO_REPLY, why);
    } else if (reply->type == REDIS_REPLY_ERROR) {
        c->events->completed(token, BENCH_OUTCOME_ERROR_REPLY, reply->str);
    } else {
        c->events->completed(token, BENCH_OUTCOME_OK, NULL);
    }
}

static struct bench_driver_conn *resp_connect(uv_loop_t *loop, const struct bench_options *options,
                                              const struct bench_host *host,
                                              const struct bench_driver_events *events,
                                              void *owner, char *error, size_t error_size)
{
    (void)options;
    redisAsyncContext *context = redisAsyncConnect(host->name, host->port);
    if (!context || context->err) {
        snprintf(error, error_size, "%s", context ? context->errstr : "out of memory");
        if (context)
            redisAsyncFree(context);
        return NULL;
    }
    struct bench_driver_conn *c = calloc(1, sizeof *c);
    if (!c || !bench_resp_attach(context, loop)) {
        snprintf(error, error_size, "cannot attach the connection to the event loop");
        free(c);
        redisAsyncFree(context);
        return NULL;
    }
    *c = (struct bench_driver_conn){.context = context, .events = events, .owner = owner};
    context->data = c;
    redisAsyncSetConnectCallback(context, resp_on_connect);
    redisAsyncSetDisconnectCallback(context, resp_on_disconnect);
    return c;
}

static bool resp_submit(struct bench_driver_conn *c, enum bench_op op, const char *key,
                        size_t key_len, const char *value, size_t value_len, void *token)
{
    const char *argv[3] = {op == BENCH_OP_READ ? "GET" : "SET", key, value};
    size_t lens[3] = {3, key_len, value_len};
    int argc = op == BENCH_OP_READ ? 2 : 3;
    return redisAsyncCommandArgv(c->context, resp_on_reply, token, argc, argv, lens) == REDIS_OK;
}

static void resp_close(struct bench_driver_conn *c)
{
    c->closing = true;
    redisAsyncFree(c->context);
}

/* Both speak RESP and both expose CPU in INFO (catena adds its peer counters): only the name
 * (and the default hosts, options.c) differ. */
#define RESP_DRIVER(driver_name)                                                               \
    {                                                                                          \
        .name = driver_name, .connect = resp_connect, .submit = resp_submit,                   \
        .close = resp_close, .server_counters = bench_resp_server_counters,                    \
    }
const struct bench_driver bench_driver_catena = RESP_DRIVER("catena");
const struct bench_driver bench_driver_redis = RESP_DRIVER("redis");
