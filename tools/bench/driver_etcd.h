/* The etcd driver: etcd's v3 API through its HTTP/JSON gateway (POST /v3/kv/put and
 * /v3/kv/range, keys and values in base64), over libcurl's multi interface on the worker's
 * libuv loop (curl_uv.c). Each connection is one keep-alive HTTP/1.1 connection carrying one
 * request at a time (HTTP/1.1 has no usable pipelining): with --pipeline above 1 the others
 * wait in the connection's queue, their latency counted from when they were submitted.
 * Reads are linearizable (etcd's default quorum read) or, with --serializable-reads,
 * serializable (answered from the member's own state). The cost counters hold each member's
 * CPU time, from its Prometheus /metrics (process_cpu_seconds_total). */
#ifndef CATENA_BENCH_DRIVER_ETCD_H
#define CATENA_BENCH_DRIVER_ETCD_H

#include "bench/driver.h"

extern const struct bench_driver bench_driver_etcd;

/* Reads process_cpu_seconds_total from a /metrics text of len bytes (driver_etcd_metrics.c). */
void bench_etcd_parse_metrics(const char *text, size_t len, struct bench_server_counters *out);
bool bench_etcd_server_counters(const struct bench_host *host, struct bench_server_counters *out,
                                char *error, size_t error_size);
/* curl_global_init, once per process, before any thread uses curl. */
void bench_etcd_global_init(void);

#endif
