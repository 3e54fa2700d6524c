/* The RESP driver (catena and redis): requests are GET key and SET key value over hiredis's
 * asynchronous API on the worker's libuv loop; the cost counters come from INFO. */
#ifndef CATENA_BENCH_DRIVER_RESP_H
#define CATENA_BENCH_DRIVER_RESP_H

#include "bench/driver.h"

extern const struct bench_driver bench_driver_catena;
extern const struct bench_driver bench_driver_redis;

/* Drives context's socket from loop (driver_resp_uv.c). False if it cannot. */
struct redisAsyncContext;
bool bench_resp_attach(struct redisAsyncContext *context, uv_loop_t *loop);

/* Reads the counters in an INFO reply (text of len bytes): used_cpu_sys + used_cpu_user
 * (catena and Redis), peer_{messages,bytes}_{sent,received} (catena) and replica_id (catena).
 * Fields that are absent leave has_cpu or has_peer false. */
void bench_resp_parse_info(const char *text, size_t len, struct bench_server_counters *out);
/* Asks host for INFO over a blocking connection (2 s timeout) and parses it. */
bool bench_resp_server_counters(const struct bench_host *host, struct bench_server_counters *out,
                                char *error, size_t error_size);

#endif
