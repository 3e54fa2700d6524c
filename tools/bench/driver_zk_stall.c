/* The ZooKeeper driver's stall watchdog, a workaround for a server bug. Debian's ZooKeeper
 * 3.8.0 has ZOOKEEPER-4537 (fixed in 3.8.1): its CommitProcessor thread looks for work outside
 * its lock, so a request queued between that look and its wait() is not noticed until the next
 * request or commit arrives at that server. With other clients busy that is soon; a lone
 * session in closed loop has nothing more to send, and waits until its client gives up on the
 * connection (2/3 of the session timeout, 6.7 s here), which ended most one-connection runs of
 * `make compare` with every request failed.
 *
 * So on a session that has had requests outstanding and no reply for a whole tick (ZK_STALL_MS
 * to twice that), the watchdog sends an exists("/"): any request queued at the server wakes its
 * CommitProcessor, which then finds the stuck one. The stalled request's latency keeps the
 * wait, and the number of nudges is printed at the end (bench_driver.print_notes), so the
 * stalls stay visible. A nudge of a server that was merely slow costs it one read. Loop thread
 * only. */
#include "bench/driver_zk_internal.h"

#include <stdatomic.h>

#define ZK_STALL_MS 250

static _Atomic uint64_t zk_stall_nudge_count;

static void zk_stall_nudge_done(int rc, const struct Stat *stat, const void *data)
{
    (void)rc, (void)stat, (void)data; /* its only purpose was to arrive */
}

static void zk_stall_tick(uv_timer_t *timer)
{
    struct bench_driver_conn *c = timer->data;
    bool pending = c->requests != NULL;
    bool stalled = pending && c->pending_at_tick && c->handled == c->handled_at_tick;
    c->pending_at_tick = pending;
    c->handled_at_tick = c->handled;
    if (!stalled || c->closing || !c->connected)
        return;
    if (zoo_aexists(c->zh, "/", 0, zk_stall_nudge_done, NULL) == ZOK)
        atomic_fetch_add_explicit(&zk_stall_nudge_count, 1, memory_order_relaxed);
}

void zk_stall_watch(struct bench_driver_conn *c)
{
    uv_timer_start(&c->stall_timer, zk_stall_tick, ZK_STALL_MS, ZK_STALL_MS);
}

uint64_t zk_stall_nudges(void)
{
    return atomic_load_explicit(&zk_stall_nudge_count, memory_order_relaxed);
}
