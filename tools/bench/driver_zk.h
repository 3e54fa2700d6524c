/* The ZooKeeper driver: ZooKeeper's multi-threaded C client (libzookeeper_mt), asynchronous API.
 * Each connection is one ZooKeeper session (one TCP connection) to one server. A key is the
 * znode /catena-bench/<key>: a write is setData, and createNode when the znode does not exist
 * yet; a read is getData (a missing znode reads as empty, as a missing key reads as nil), by
 * default once a sync on the same session has come back (sync then getData is ZooKeeper's
 * linearizable read), with --serializable-reads without it (a follower's possibly stale
 * state). A session that waits a quarter of a second for a reply gets its server woken
 * (driver_zk_stall.c: ZooKeeper 3.8.0 can forget a lone client's request).
 *
 * The client calls back on its own threads: those callbacks only record the result and queue
 * it (under a mutex) for the worker's loop, woken through a uv_async handle, so the bench's
 * accounting stays on the loop thread. No cost counters: ZooKeeper does not report its CPU
 * (catena-bench --server-pids reads it from /proc instead, proc_cpu.c). */
#ifndef CATENA_BENCH_DRIVER_ZK_H
#define CATENA_BENCH_DRIVER_ZK_H

#include "bench/driver.h"

extern const struct bench_driver bench_driver_zookeeper;

/* The parent of every key's znode, created by the first connection. */
#define BENCH_ZK_PARENT "/catena-bench"

#endif
