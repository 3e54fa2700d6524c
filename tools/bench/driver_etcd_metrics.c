/* etcd's cost counters: its Prometheus text at /metrics, fetched with a blocking curl request
 * (the run reads counters from its own thread, outside the workers' loops). */
#include "bench/driver_etcd.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bench_etcd_parse_metrics(const char *text, size_t len, struct bench_server_counters *out)
{
    static const char name[] = "process_cpu_seconds_total ";
    *out = (struct bench_server_counters){0};
    const char *end = text + len;
    for (const char *line = text; line < end;) {
        const char *newline = memchr(line, '\n', (size_t)(end - line));
        const char *stop = newline ? newline : end;
        size_t line_len = (size_t)(stop - line);
        if (line_len > sizeof name - 1 && !memcmp(line, name, sizeof name - 1)) {
            char value[64];
            size_t value_len = line_len - (sizeof name - 1);
            if (value_len < sizeof value) {
                memcpy(value, line + sizeof name - 1, value_len);
                value[value_len] = '\0';
                out->cpu_s = strtod(value, NULL);
                out->has_cpu = true;
            }
        }
        line = stop + 1;
    }
}

/* The whole body, grown as it comes (etcd's metrics are a few hundred KB). */
struct metrics_body {
    char *data;
    size_t len, capacity;
};

static size_t metrics_on_body(char *data, size_t size, size_t count, void *user)
{
    struct metrics_body *b = user;
    size_t len = size * count;
    if (b->len + len + 1 > b->capacity) {
        size_t capacity = (b->len + len + 1) * 2;
        char *grown = realloc(b->data, capacity);
        if (!grown)
            return 0; /* curl fails the transfer */
        b->data = grown;
        b->capacity = capacity;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return len;
}

bool bench_etcd_server_counters(const struct bench_host *host, struct bench_server_counters *out,
                                char *error, size_t error_size)
{
    bench_etcd_global_init();
    CURL *e = curl_easy_init();
    if (!e) {
        snprintf(error, error_size, "cannot set up curl");
        return false;
    }
    char url[BENCH_HOST_NAME_SIZE + 32];
    const char *open = strchr(host->name, ':') ? "[" : "", *close = *open ? "]" : "";
    snprintf(url, sizeof url, "http://%s%s%s:%d/metrics", open, host->name, close, host->port);
    struct metrics_body body = {0};
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, metrics_on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
    CURLcode result = curl_easy_perform(e);
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    bool ok = result == CURLE_OK && status == 200;
    if (ok)
        bench_etcd_parse_metrics(body.data ? body.data : "", body.len, out);
    else if (result != CURLE_OK)
        snprintf(error, error_size, "/metrics: %s", curl_easy_strerror(result));
    else
        snprintf(error, error_size, "/metrics: HTTP %ld", status);
    free(body.data);
    curl_easy_cleanup(e);
    return ok;
}
