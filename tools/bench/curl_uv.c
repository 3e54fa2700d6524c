#include "bench/curl_uv.h"

#include <stdlib.h>

/* One socket curl wants watched. */
struct curl_uv_watch {
    uv_poll_t poll;
    curl_socket_t fd;
    struct bench_curl_uv *owner;
    struct curl_uv_watch *next;
};

/* Reports every finished transfer; stops when the owner starts closing, since the multi
 * handle is torn down after that. */
static void curl_uv_check_done(struct bench_curl_uv *c)
{
    CURLMsg *message;
    int left;
    while (!c->closing && (message = curl_multi_info_read(c->multi, &left))) {
        if (message->msg != CURLMSG_DONE)
            continue;
        /* Copied first: message is invalid once easy leaves the multi handle. */
        CURL *easy = message->easy_handle;
        CURLcode result = message->data.result;
        c->done(c, easy, result);
    }
}

static void curl_uv_socket_ready(uv_poll_t *poll, int status, int events)
{
    struct curl_uv_watch *w = poll->data;
    struct bench_curl_uv *c = w->owner;
    if (c->closing)
        return;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR; /* curl finds out what went wrong when it reads */
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    curl_multi_socket_action(c->multi, w->fd, flags, &running);
    curl_uv_check_done(c);
}

static void curl_uv_watch_closed(uv_handle_t *handle)
{
    free(handle->data);
}

static void curl_uv_unwatch(struct bench_curl_uv *c, struct curl_uv_watch *w)
{
    for (struct curl_uv_watch **p = &c->watches; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            break;
        }
    }
    uv_close((uv_handle_t *)&w->poll, curl_uv_watch_closed);
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what curl asks, or stop watching it. */
static int curl_uv_socket(CURL *easy, curl_socket_t s, int what, void *user, void *socket_data)
{
    struct bench_curl_uv *c = user;
    struct curl_uv_watch *w = socket_data;
    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (w) {
            curl_multi_assign(c->multi, s, NULL);
            curl_uv_unwatch(c, w);
        }
        return 0;
    }
    if (!w) {
        w = calloc(1, sizeof *w);
        if (!w || uv_poll_init_socket(c->loop, &w->poll, s) != 0) {
            free(w);
            return -1; /* curl fails the transfer */
        }
        *w = (struct curl_uv_watch){.poll = w->poll, .fd = s, .owner = c, .next = c->watches};
        w->poll.data = w;
        c->watches = w;
        curl_multi_assign(c->multi, s, w);
    }
    int events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        events |= UV_WRITABLE;
    uv_poll_start(&w->poll, events, curl_uv_socket_ready);
    return 0;
}

static void curl_uv_timeout(uv_timer_t *timer)
{
    struct bench_curl_uv *c = timer->data;
    int running;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    curl_uv_check_done(c);
}

/* CURLMOPT_TIMERFUNCTION: curl's next timeout (-1: none). The action itself runs from the
 * loop, never from inside this callback, as curl requires. */
static int curl_uv_timer(CURLM *multi, long timeout_ms, void *user)
{
    struct bench_curl_uv *c = user;
    (void)multi;
    if (c->closing)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, curl_uv_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

bool bench_curl_uv_init(struct bench_curl_uv *c, uv_loop_t *loop,
                        void (*done)(struct bench_curl_uv *, CURL *, CURLcode))
{
    *c = (struct bench_curl_uv){.loop = loop, .done = done};
    c->multi = curl_multi_init();
    if (!c->multi)
        return false;
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, curl_uv_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, curl_uv_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    /* One connection kept alive: the connection this multi handle stands for. */
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 1L);
    return true;
}

static void curl_uv_timer_closed(uv_handle_t *handle)
{
    struct bench_curl_uv *c = handle->data;
    c->closed(c);
}

static void curl_uv_teardown(uv_timer_t *timer)
{
    struct bench_curl_uv *c = timer->data;
    /* Closing its connections, curl may still ask to stop watching their sockets. */
    curl_multi_cleanup(c->multi);
    c->multi = NULL;
    while (c->watches)
        curl_uv_unwatch(c, c->watches);
    uv_close((uv_handle_t *)&c->timer, curl_uv_timer_closed);
}

void bench_curl_uv_close(struct bench_curl_uv *c, void (*closed)(struct bench_curl_uv *))
{
    if (c->closing)
        return;
    c->closing = true;
    c->closed = closed;
    uv_timer_start(&c->timer, curl_uv_teardown, 0, 0);
}
