/* catena-bench's ZooKeeper driver against a fake ZooKeeper server (a thread speaking just enough
 * of the protocol: the handshake, create, sync, getData, exists, ping and closeSession), to
 * check what the driver does about ZOOKEEPER-4537 (driver_zk_stall.c): a linearizable read
 * sends its getData only once the sync has come back, and a request that a server forgot is
 * woken by the watchdog instead of waiting for the client's timeout. The fake listens on the
 * first free port of 7805-7809. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "bench/clock.h"
#include "bench/driver_zk_internal.h"
#include "bench/options.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <zookeeper/proto.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum fake_mode {
    FAKE_SLOW_SYNC,        /* each sync is answered after 100 ms */
    FAKE_FORGET_FIRST_GET, /* the first getData waits for the next request (as 4537 does) */
};

struct fake_server {
    enum fake_mode mode;
    int listen_fd, port;
    pthread_t thread;
    /* Read after the thread is joined. */
    int requests_during_sync; /* requests that came while a sync was unanswered */
    int gets, syncs, nudges;  /* getData, sync and exists requests */
    bool held_get_answered;
    const char *broken; /* what the client sent that the fake did not expect, or NULL */
};

static bool fake_read_all(int fd, void *buffer, size_t size)
{
    for (size_t done = 0; done < size;) {
        ssize_t n = read(fd, (char *)buffer + done, size - done);
        if (n <= 0)
            return false;
        done += (size_t)n;
    }
    return true;
}

static uint32_t fake_get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static size_t fake_put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
    return 4;
}

/* One frame: its length, then the body (at most size bytes kept). False at the end. */
static bool fake_read_frame(int fd, unsigned char *body, size_t size, size_t *len)
{
    unsigned char header[4];
    if (!fake_read_all(fd, header, 4))
        return false;
    *len = fake_get32(header);
    return *len <= size && fake_read_all(fd, body, *len);
}

/* A reply: header (xid, zxid 1, err) and body. (No cmocka assertions on the fake's thread:
 * a failure there is kept in broken and checked by the test.) */
static void fake_reply(int fd, uint32_t xid, int err, const unsigned char *body, size_t body_len)
{
    unsigned char out[512];
    size_t n = 4;
    n += fake_put32(out + n, xid);
    n += fake_put32(out + n, 0);
    n += fake_put32(out + n, 1);
    n += fake_put32(out + n, (uint32_t)err);
    if (body_len) /* memcpy from NULL is undefined even for 0 bytes */
        memcpy(out + n, body, body_len);
    n += body_len;
    fake_put32(out, (uint32_t)(n - 4));
    if (write(fd, out, n) != (ssize_t)n)
        perror("fake ZooKeeper: write");
}

/* The handshake: a 45-byte connect request; a connect response of session 1. */
static bool fake_handshake(int fd)
{
    unsigned char body[64], out[41] = {0};
    size_t len;
    if (!fake_read_frame(fd, body, sizeof body, &len) || len != 45)
        return false;
    fake_put32(out, 37);
    fake_put32(out + 8, 10000);   /* timeout */
    fake_put32(out + 16, 1);      /* session id, low half */
    fake_put32(out + 20, 16);     /* password length; the password is zeros */
    return write(fd, out, sizeof out) == (ssize_t)sizeof out;
}

/* Answers one request (body of len bytes); false after closeSession. */
static bool fake_answer(struct fake_server *f, int fd, const unsigned char *body, size_t len)
{
    uint32_t xid = fake_get32(body);
    int type = (int)fake_get32(body + 4);
    switch (type) {
    case ZOO_SYNC_OP:
        f->syncs++;
        if (f->mode == FAKE_SLOW_SYNC) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            if (poll(&p, 1, 100) > 0)
                f->requests_during_sync++;
        }
        fake_reply(fd, xid, ZOK, body + 8, len - 8); /* the path, as it came */
        return true;
    case ZOO_GETDATA_OP:
        f->gets++;
        fake_reply(fd, xid, ZNONODE, NULL, 0);
        return true;
    case ZOO_EXISTS_OP:
        f->nudges++;
        fake_reply(fd, xid, ZNONODE, NULL, 0);
        return true;
    case ZOO_CREATE_OP: /* the parent znode */
        fake_reply(fd, xid, ZNODEEXISTS, NULL, 0);
        return true;
    case ZOO_PING_OP:
        fake_reply(fd, xid, ZOK, NULL, 0);
        return true;
    case ZOO_CLOSE_OP:
        fake_reply(fd, xid, ZOK, NULL, 0);
        return false;
    default:
        fake_reply(fd, xid, ZUNIMPLEMENTED, NULL, 0);
        return true;
    }
}

static void *fake_main(void *arg)
{
    struct fake_server *f = arg;
    int fd = accept(f->listen_fd, NULL, NULL);
    if (fd < 0 || !fake_handshake(fd)) {
        f->broken = "no handshake";
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    unsigned char body[512], held[8]; /* a held request: its xid and type */
    size_t len;
    bool holding = false, held_once = false;
    while (fake_read_frame(fd, body, sizeof body, &len)) {
        if (len < sizeof held) {
            f->broken = "a request too short";
            break;
        }
        if (holding) { /* the next request wakes the forgotten one, answered first */
            fake_answer(f, fd, held, sizeof held);
            holding = false;
            f->held_get_answered = true;
        }
        if (f->mode == FAKE_FORGET_FIRST_GET && !held_once &&
            (int)fake_get32(body + 4) == ZOO_GETDATA_OP) {
            memcpy(held, body, sizeof held);
            holding = held_once = true;
            continue;
        }
        if (!fake_answer(f, fd, body, len))
            break;
    }
    close(fd);
    return NULL;
}

static void fake_start(struct fake_server *f, enum fake_mode mode)
{
    *f = (struct fake_server){.mode = mode};
    f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->listen_fd >= 0);
    int one = 1;
    setsockopt(f->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    for (f->port = 7805; f->port <= 7809; f->port++) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (bind(f->listen_fd, (struct sockaddr *)&a, sizeof a) == 0)
            break;
    }
    assert_true(f->port <= 7809);
    assert_int_equal(listen(f->listen_fd, 1), 0);
    assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake_server *f)
{
    pthread_join(f->thread, NULL);
    close(f->listen_fd);
    if (f->broken)
        fail_msg("fake ZooKeeper: %s", f->broken);
}

/* The driver's side: one connection on a loop of the test's thread. */
struct client {
    uv_loop_t loop;
    uv_timer_t limit;
    struct bench_driver_conn *conn;
    bool connected, completed, closed;
    enum bench_outcome outcome;
    uint64_t sent_ns, latency_ns;
};

static void client_connected(void *context, bool ok, const char *error)
{
    struct client *c = context;
    assert_true(ok);
    (void)error;
    c->connected = true;
    uv_stop(&c->loop);
}

static void client_completed(void *token, enum bench_outcome outcome, const char *error)
{
    struct client *c = token;
    (void)error;
    c->completed = true;
    c->outcome = outcome;
    c->latency_ns = bench_clock_ns() - c->sent_ns;
    uv_stop(&c->loop);
}

static void client_closed(void *context, const char *error)
{
    struct client *c = context;
    assert_null(error);
    c->closed = true;
}

static const struct bench_driver_events client_events = {
    .connected = client_connected, .completed = client_completed, .closed = client_closed};

static void client_limit_expired(uv_timer_t *timer)
{
    (void)timer;
    fail_msg("no answer within 5 s");
}

/* Connects to the fake, makes one read, closes. */
static void client_read_once(struct client *c, const struct fake_server *f, bool serializable)
{
    struct bench_options o = {.serializable_reads = serializable};
    struct bench_host host = {.port = f->port};
    snprintf(host.name, sizeof host.name, "127.0.0.1");
    char error[256];
    *c = (struct client){0};
    uv_loop_init(&c->loop);
    uv_timer_init(&c->loop, &c->limit);
    uv_timer_start(&c->limit, client_limit_expired, 5000, 0);
    c->conn = bench_driver_zookeeper.connect(&c->loop, &o, &host, &client_events, c, error,
                                             sizeof error);
    assert_non_null(c->conn);
    uv_run(&c->loop, UV_RUN_DEFAULT);
    assert_true(c->connected);
    c->sent_ns = bench_clock_ns();
    assert_true(bench_driver_zookeeper.submit(c->conn, BENCH_OP_READ, "key:1", 5, NULL, 0, c));
    uv_run(&c->loop, UV_RUN_DEFAULT);
    assert_true(c->completed);
    bench_driver_zookeeper.close(c->conn);
    uv_close((uv_handle_t *)&c->limit, NULL);
    uv_run(&c->loop, UV_RUN_DEFAULT);
    assert_true(c->closed);
    assert_int_equal(uv_loop_close(&c->loop), 0);
}

static void linearizable_read_sends_get_data_after_the_sync_returned(void **state)
{
    (void)state;
    struct fake_server f;
    struct client c;
    fake_start(&f, FAKE_SLOW_SYNC);
    uint64_t nudges = zk_stall_nudges();
    client_read_once(&c, &f, false);
    fake_stop(&f);
    assert_int_equal(c.outcome, BENCH_OUTCOME_OK);
    assert_int_equal(f.syncs, 1);
    assert_int_equal(f.gets, 1);
    /* Sent back to back, the getData would have come while the sync was held. */
    assert_int_equal(f.requests_during_sync, 0);
    assert_int_equal(zk_stall_nudges(), nudges);
}

static void forgotten_request_is_woken_by_the_watchdog(void **state)
{
    (void)state;
    struct fake_server f;
    struct client c;
    fake_start(&f, FAKE_FORGET_FIRST_GET);
    uint64_t nudges = zk_stall_nudges();
    client_read_once(&c, &f, true);
    fake_stop(&f);
    assert_int_equal(c.outcome, BENCH_OUTCOME_OK);
    assert_true(f.held_get_answered);
    assert_int_equal(f.nudges, 1);
    assert_int_equal(zk_stall_nudges(), nudges + 1);
    /* Woken after one to two ticks of 250 ms, long before the client's 6.7 s timeout. */
    assert_true(c.latency_ns >= 250000000u);
    assert_true(c.latency_ns < 2000000000u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(linearizable_read_sends_get_data_after_the_sync_returned),
        cmocka_unit_test(forgotten_request_is_woken_by_the_watchdog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
