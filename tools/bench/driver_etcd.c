#include "bench/driver_etcd.h"

#include "bench/base64.h"
#include "bench/curl_uv.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A request waiting or in flight: its JSON body is ready to send. */
struct etcd_request {
    struct etcd_request *next;
    void *token; /* NULL: the probe that opens the connection */
    bool read;
    size_t body_len;
    char body[];
};

struct bench_driver_conn {
    struct bench_curl_uv curl;
    CURL *easy;
    bool easy_added; /* easy is in curl.multi */
    struct curl_slist *headers;
    const struct bench_driver_events *events;
    void *owner;
    bool serializable;
    char url_put[BENCH_HOST_NAME_SIZE + 64], url_range[BENCH_HOST_NAME_SIZE + 64];
    struct etcd_request *queue_head, *queue_tail, *active;
    char response[256]; /* the start of the reply body: an error's message */
    size_t response_len;
    bool connected; /* connected(true) was reported, so closed() is owed */
    bool closing;
    char close_error[200]; /* why the connection broke; "" when close was asked for */
};

static pthread_once_t etcd_once = PTHREAD_ONCE_INIT;

static void etcd_global_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void bench_etcd_global_init(void)
{
    pthread_once(&etcd_once, etcd_global_init_once);
}

/* CURLOPT_WRITEFUNCTION: keeps the start of the body; the rest (a read's value) is dropped. */
static size_t etcd_on_body(char *data, size_t size, size_t count, void *user)
{
    struct bench_driver_conn *c = user;
    size_t len = size * count, room = sizeof c->response - 1 - c->response_len;
    size_t kept = len < room ? len : room;
    memcpy(c->response + c->response_len, data, kept);
    c->response_len += kept;
    c->response[c->response_len] = '\0';
    return len;
}

static void etcd_start_next(struct bench_driver_conn *c);
static void etcd_teardown(struct bench_driver_conn *c);

/* Completes every request not yet answered as unanswered. */
static void etcd_fail_all(struct bench_driver_conn *c, const char *why)
{
    struct etcd_request *r = c->active;
    c->active = NULL;
    if (r && r->token)
        c->events->completed(r->token, BENCH_OUTCOME_NO_REPLY, why);
    free(r);
    while ((r = c->queue_head)) {
        c->queue_head = r->next;
        if (r->token)
            c->events->completed(r->token, BENCH_OUTCOME_NO_REPLY, why);
        free(r);
    }
    c->queue_tail = NULL;
}

/* The connection broke (or the probe failed): everything pending fails, then it goes. */
static void etcd_break(struct bench_driver_conn *c, const char *why)
{
    if (c->closing)
        return;
    c->closing = true;
    snprintf(c->close_error, sizeof c->close_error, "%s", why);
    etcd_fail_all(c, why);
    etcd_teardown(c);
}

/* The outcome of the active request, from curl's result and the HTTP status. */
static enum bench_outcome etcd_outcome(struct bench_driver_conn *c, CURLcode result, char *why,
                                       size_t why_size)
{
    if (result != CURLE_OK) {
        snprintf(why, why_size, "%s", curl_easy_strerror(result));
        return BENCH_OUTCOME_NO_REPLY;
    }
    long status = 0;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status == 200)
        return BENCH_OUTCOME_OK;
    snprintf(why, why_size, "HTTP %ld: %.150s", status, c->response);
    return BENCH_OUTCOME_ERROR_REPLY;
}

static void etcd_done(struct bench_curl_uv *curl, CURL *easy, CURLcode result)
{
    struct bench_driver_conn *c = (struct bench_driver_conn *)curl; /* curl comes first */
    curl_multi_remove_handle(curl->multi, easy);
    c->easy_added = false;
    struct etcd_request *r = c->active;
    c->active = NULL;
    char why[200] = "";
    enum bench_outcome outcome = etcd_outcome(c, result, why, sizeof why);
    if (!r->token) {
        /* The probe: the connection is usable once etcd has answered it. */
        free(r);
        if (outcome == BENCH_OUTCOME_OK) {
            c->connected = true;
            c->events->connected(c->owner, true, NULL);
        } else {
            c->events->connected(c->owner, false, why);
            etcd_break(c, why);
            return;
        }
    } else {
        c->events->completed(r->token, outcome, outcome == BENCH_OUTCOME_OK ? NULL : why);
        free(r);
        if (outcome == BENCH_OUTCOME_NO_REPLY) {
            etcd_break(c, why);
            return;
        }
    }
    etcd_start_next(c);
}

/* Sends the request at the head of the queue if none is in flight. */
static void etcd_start_next(struct bench_driver_conn *c)
{
    if (c->closing || c->active || !c->queue_head)
        return;
    struct etcd_request *r = c->queue_head;
    c->queue_head = r->next;
    if (!c->queue_head)
        c->queue_tail = NULL;
    c->active = r;
    c->response_len = 0;
    c->response[0] = '\0';
    curl_easy_setopt(c->easy, CURLOPT_URL, r->read ? c->url_range : c->url_put);
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)r->body_len);
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, (char *)r->body);
    if (curl_multi_add_handle(c->curl.multi, c->easy) != CURLM_OK) {
        etcd_break(c, "curl_multi_add_handle failed");
        return;
    }
    c->easy_added = true;
}

/* Queues a put (value != NULL) or a range of key. */
static bool etcd_enqueue(struct bench_driver_conn *c, const char *key, size_t key_len,
                         const char *value, size_t value_len, void *token)
{
    size_t room = 64 + bench_base64_length(key_len) + bench_base64_length(value_len);
    struct etcd_request *r = malloc(sizeof *r + room);
    if (!r)
        return false;
    *r = (struct etcd_request){.token = token, .read = value == NULL};
    char *p = r->body;
    p += sprintf(p, "{\"key\":\"");
    p += bench_base64_encode(key, key_len, p);
    if (value) {
        p += sprintf(p, "\",\"value\":\"");
        p += bench_base64_encode(value, value_len, p);
        p += sprintf(p, "\"}");
    } else {
        p += sprintf(p, c->serializable ? "\",\"serializable\":true}" : "\"}");
    }
    r->body_len = (size_t)(p - r->body);
    if (c->queue_tail)
        c->queue_tail->next = r;
    else
        c->queue_head = r;
    c->queue_tail = r;
    etcd_start_next(c);
    return true;
}

static void etcd_torn_down(struct bench_curl_uv *curl)
{
    struct bench_driver_conn *c = (struct bench_driver_conn *)curl;
    curl_easy_cleanup(c->easy);
    curl_slist_free_all(c->headers);
    if (c->connected)
        c->events->closed(c->owner, c->close_error[0] ? c->close_error : NULL);
    free(c);
}

static void etcd_teardown(struct bench_driver_conn *c)
{
    if (c->easy_added)
        curl_multi_remove_handle(c->curl.multi, c->easy);
    c->easy_added = false;
    bench_curl_uv_close(&c->curl, etcd_torn_down);
}

static void etcd_set_options(struct bench_driver_conn *c)
{
    CURL *e = c->easy;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_PROXY, ""); /* loopback: never through a proxy from the env */
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, etcd_on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
}

static struct bench_driver_conn *etcd_connect(uv_loop_t *loop, const struct bench_options *o,
                                              const struct bench_host *host,
                                              const struct bench_driver_events *events,
                                              void *owner, char *error, size_t error_size)
{
    bench_etcd_global_init();
    struct bench_driver_conn *c = calloc(1, sizeof *c);
    if (!c || !bench_curl_uv_init(&c->curl, loop, etcd_done)) {
        snprintf(error, error_size, "cannot set up curl");
        free(c);
        return NULL;
    }
    c->events = events;
    c->owner = owner;
    c->serializable = o->serializable_reads;
    /* An IPv6 address goes in brackets in a URL. */
    const char *open = strchr(host->name, ':') ? "[" : "", *close = *open ? "]" : "";
    snprintf(c->url_put, sizeof c->url_put, "http://%s%s%s:%d/v3/kv/put", open, host->name,
             close, host->port);
    snprintf(c->url_range, sizeof c->url_range, "http://%s%s%s:%d/v3/kv/range", open,
             host->name, close, host->port);
    c->easy = curl_easy_init();
    /* No "Expect: 100-continue" round trip before large bodies. */
    c->headers = curl_slist_append(NULL, "Content-Type: application/json");
    c->headers = curl_slist_append(c->headers, "Expect:");
    if (!c->easy || !c->headers) {
        snprintf(error, error_size, "cannot set up curl");
        c->closing = true;
        etcd_teardown(c);
        return NULL;
    }
    etcd_set_options(c);
    /* The probe: a range of a key no run uses opens the connection and checks it is etcd. */
    static const char probe_key[] = "catena-bench-probe";
    etcd_enqueue(c, probe_key, sizeof probe_key - 1, NULL, 0, NULL);
    return c;
}

static bool etcd_submit(struct bench_driver_conn *c, enum bench_op op, const char *key,
                        size_t key_len, const char *value, size_t value_len, void *token)
{
    if (c->closing)
        return false;
    return etcd_enqueue(c, key, key_len, op == BENCH_OP_READ ? NULL : value, value_len, token);
}

static void etcd_close(struct bench_driver_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    etcd_fail_all(c, "connection closed");
    etcd_teardown(c);
}

const struct bench_driver bench_driver_etcd = {
    .name = "etcd", .connect = etcd_connect, .submit = etcd_submit, .close = etcd_close,
    .server_counters = bench_etcd_server_counters,
};
