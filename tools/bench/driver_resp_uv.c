/* hiredis's event hooks on a libuv poll handle. hiredis 0.14 ships such an adapter
 * (hiredis/adapters/libuv.h), but it drops poll errors: libuv reports an error on the socket
 * (a refused connect, a connection reset) by stopping the handle and calling back with a
 * status, which that adapter ignores, so a refused connection never calls the connect
 * callback and a reset one waits for nothing. Here an error is handed to hiredis as a read or
 * write event: its own connect check or read then finds the error and closes the connection. */
#include "bench/driver_resp.h"

#include <hiredis/async.h>
#include <stdlib.h>

struct resp_poll {
    uv_poll_t handle;
    redisAsyncContext *context; /* NULL once hiredis has let go of it */
    int events;                 /* UV_READABLE | UV_WRITABLE, as hiredis asked */
};

static void resp_poll_ready(uv_poll_t *handle, int status, int events)
{
    struct resp_poll *p = handle->data;
    if (status < 0) {
        /* Not connected yet: the connect check reads SO_ERROR; else the read fails. */
        if (p->context && !(p->context->c.flags & REDIS_CONNECTED))
            redisAsyncHandleWrite(p->context);
        else if (p->context)
            redisAsyncHandleRead(p->context);
        return;
    }
    if (p->context && (events & UV_READABLE))
        redisAsyncHandleRead(p->context);
    if (p->context && (events & UV_WRITABLE))
        redisAsyncHandleWrite(p->context);
}

/* Turns event on or off, as hiredis asks through the four hooks below. */
static void resp_poll_set(void *data, int event, bool on)
{
    struct resp_poll *p = data;
    p->events = on ? p->events | event : p->events & ~event;
    if (p->events)
        uv_poll_start(&p->handle, p->events, resp_poll_ready);
    else
        uv_poll_stop(&p->handle);
}

static void resp_poll_add_read(void *data) { resp_poll_set(data, UV_READABLE, true); }
static void resp_poll_del_read(void *data) { resp_poll_set(data, UV_READABLE, false); }
static void resp_poll_add_write(void *data) { resp_poll_set(data, UV_WRITABLE, true); }
static void resp_poll_del_write(void *data) { resp_poll_set(data, UV_WRITABLE, false); }

static void resp_poll_closed(uv_handle_t *handle)
{
    free(handle->data);
}

/* hiredis is freeing the context: the handle goes, asynchronously. */
static void resp_poll_cleanup(void *data)
{
    struct resp_poll *p = data;
    p->context = NULL;
    uv_close((uv_handle_t *)&p->handle, resp_poll_closed);
}

bool bench_resp_attach(redisAsyncContext *context, uv_loop_t *loop)
{
    struct resp_poll *p = calloc(1, sizeof *p);
    if (!p || context->ev.data || uv_poll_init(loop, &p->handle, context->c.fd) != 0) {
        free(p);
        return false;
    }
    p->handle.data = p;
    p->context = context;
    context->ev.data = p;
    context->ev.addRead = resp_poll_add_read;
    context->ev.delRead = resp_poll_del_read;
    context->ev.addWrite = resp_poll_add_write;
    context->ev.delWrite = resp_poll_del_write;
    context->ev.cleanup = resp_poll_cleanup;
    return true;
}
