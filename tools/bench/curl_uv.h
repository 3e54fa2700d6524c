/* libcurl's multi interface driven by a libuv loop: curl tells which sockets to watch and when
 * its timeout is due (its socket and timer callbacks); libuv poll handles and a timer hand
 * those events back to curl_multi_socket_action, and every finished transfer is reported
 * through done. The etcd driver gives each of its connections one of these, with one easy
 * handle, so that a connection is exactly one keep-alive HTTP connection. Loop thread only. */
#ifndef CATENA_BENCH_CURL_UV_H
#define CATENA_BENCH_CURL_UV_H

#include <curl/curl.h>
#include <stdbool.h>
#include <uv.h>

struct curl_uv_watch;

struct bench_curl_uv {
    CURLM *multi;
    uv_loop_t *loop;
    uv_timer_t timer; /* curl's timeout; then, once closing, the deferred teardown */
    struct curl_uv_watch *watches; /* sockets curl asked to watch */
    /* A transfer of easy has finished with result: the owner removes easy from multi (or not)
     * and may start others or close. */
    void (*done)(struct bench_curl_uv *c, CURL *easy, CURLcode result);
    /* After bench_curl_uv_close: the multi handle and every libuv handle are gone. */
    void (*closed)(struct bench_curl_uv *c);
    bool closing;
};

/* Sets up c on loop (c must not move after); false if curl or libuv refused. */
bool bench_curl_uv_init(struct bench_curl_uv *c, uv_loop_t *loop,
                        void (*done)(struct bench_curl_uv *, CURL *, CURLcode));
/* Tears c down on the next loop iteration (so it may be called from done): the owner must
 * have removed its easy handles from c->multi by then. closed is called at the end. */
void bench_curl_uv_close(struct bench_curl_uv *c, void (*closed)(struct bench_curl_uv *));

#endif
