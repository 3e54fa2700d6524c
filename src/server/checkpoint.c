#include "server/checkpoint.h"

#include "common/buf.h"
#include "common/log.h"
#include "server/server.h"
#include "storage/files.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The child: serializes the state machine into state_fd and exits. What it reports on
 * status_fd is an error; success says nothing. Never returns. */
static void checkpoint_child(struct server *s, int state_fd, int status_fd, pid_t parent)
{
    /* A child that outlived a crashed replica would hold its data directory's lock. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    /* The loop's signal handlers would report to the parent's loop: the defaults instead. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    /* Tests stand for a hung child with one that stops itself (test_checkpoint_timeout.sh). */
    if (getenv("CATENA_DEBUG_CHECKPOINT_STOP"))
        raise(SIGSTOP);
    struct buf b;
    buf_init(&b);
    kv_snapshot_write(s->kv, &b);
    if (storage_write_all(state_fd, b.data, b.len) != 0) {
        char why[200];
        int n = snprintf(why, sizeof why, "writing the state: %s", strerror(errno));
        if (write(status_fd, why, (size_t)n) < 0)
            _exit(2);
        _exit(1);
    }
    _exit(0); /* not exit(): the parent's atexit handlers and stdio buffers are not ours */
}

static void checkpoint_handle_closed(uv_handle_t *h) { free(h); }

static const char *checkpoint_what(const struct server_checkpoint *k)
{
    return k->node == k->server->config.self ? "checkpoint" : "state for a joining replica";
}

static void checkpoint_unwatch(struct server_checkpoint *k)
{
    if (!k->watchdog)
        return;
    uv_close((uv_handle_t *)k->watchdog, checkpoint_handle_closed);
    k->watchdog = NULL;
}

/* A child stuck (a hung disk, a stopped process) would hold back every later checkpoint, and
 * the log would grow without end: it is killed, and its end is handled like any failure. */
static void checkpoint_timeout(uv_timer_t *t)
{
    struct server_checkpoint *k = t->data;
    log_warn("background %s at instance %llu still running after %llu s: killing it",
             checkpoint_what(k), (unsigned long long)k->instance,
             (unsigned long long)k->server->config.checkpoint_timeout_s);
    snprintf(k->report, sizeof k->report, "timed out");
    k->report_len = strlen(k->report);
    kill(k->child, SIGKILL);
    kill(k->child, SIGCONT); /* a stopped child dies only once it runs */
}

static void checkpoint_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
    (void)suggested;
    struct server_checkpoint *k = h->data;
    static char discard[64]; /* a report longer than ours: the rest is dropped */
    size_t room = sizeof k->report - 1 - k->report_len;
    *out = room ? uv_buf_init(k->report + k->report_len, (unsigned)room)
                : uv_buf_init(discard, sizeof discard);
}

/* A joiner's state, serialized by the child: read back for the engine, which sends it. */
static void checkpoint_hand_to_joiner(struct server_checkpoint *k, size_t size)
{
    struct buf bytes;
    buf_init(&bytes);
    buf_reserve(&bytes, size);
    ssize_t n = size ? pread(k->state_fd, bytes.data, size, 0) : 0;
    close(k->state_fd);
    if (n < 0 || (size_t)n != size) {
        log_warn("reading back the state for joining replica %u: %s; it asks again", k->node,
                 n < 0 ? strerror(errno) : "short read");
        buf_free(&bytes);
        return;
    }
    bytes.len = size;
    server_snapshot_taken(k->server, k->node, k->instance, &bytes);
}

/* The child is gone. A checkpoint's state goes to the engine by reference, or the engine learns
 * it failed (instance 0) and asks again later; a joiner's is read back, or dropped if the child
 * failed (the joiner keeps asking, and its next request forks again). */
static void checkpoint_finish(struct server_checkpoint *k)
{
    struct server *s = k->server;
    int status = 0;
    while (waitpid(k->child, &status, 0) < 0 && errno == EINTR)
        ;
    k->child = 0;
    checkpoint_unwatch(k);
    k->child_us_last = (uv_hrtime() - k->started_ns) / 1000;
    k->report[k->report_len] = '\0';
    struct stat st;
    bool exited = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    bool ok = exited && fstat(k->state_fd, &st) == 0;
    k->failed_last = !ok;
    bool joiner = k->node != s->config.self;
    struct engine_event event = {.type = ENGINE_EVENT_SNAPSHOT, .from = s->config.self};
    if (!ok) {
        if (k->report_len)
            ;
        else if (WIFSIGNALED(status))
            snprintf(k->report, sizeof k->report, "killed by signal %d", WTERMSIG(status));
        else if (!exited)
            snprintf(k->report, sizeof k->report, "exit status %d", WEXITSTATUS(status));
        else
            snprintf(k->report, sizeof k->report, "%s", strerror(errno));
        close(k->state_fd);
        if (joiner) {
            log_warn("background state for joining replica %u failed: %s; it asks again",
                     k->node, k->report);
            return;
        }
        log_warn("background checkpoint at instance %llu failed: %s; the next one is serialized "
                 "on the event loop",
                 (unsigned long long)k->instance, k->report);
        k->on_loop_next = true;
        runtime_step(&s->runtime, &event);
        return;
    }
    log_info("%s at instance %llu: %lld bytes serialized in the background in %llu ms "
             "(fork %llu us)",
             checkpoint_what(k), (unsigned long long)k->instance,
             (long long)st.st_size, (unsigned long long)k->child_us_last / 1000,
             (unsigned long long)k->fork_us_last);
    if (joiner) {
        checkpoint_hand_to_joiner(k, (size_t)st.st_size);
        return;
    }
    event.instance = k->instance;
    event.len = (size_t)st.st_size;
    store_attach_state(&s->store, k->instance, k->state_fd); /* the store closes it */
    runtime_step(&s->runtime, &event);
    store_detach_state(&s->store);
}

static void checkpoint_status_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *b)
{
    struct server_checkpoint *k = stream->data;
    if (n > 0 && b->base == k->report + k->report_len)
        k->report_len += (size_t)n;
    if (n >= 0)
        return;
    uv_close((uv_handle_t *)stream, checkpoint_handle_closed);
    k->status = NULL;
    checkpoint_finish(k);
}

bool checkpoint_last_failed(const struct server_checkpoint *k)
{
    return k->failed_last;
}

bool checkpoint_fork(struct server *s, node_id node, instance_no instance)
{
    bool joiner = node != s->config.self;
    struct server_checkpoint *k = joiner ? &s->transfer : &s->checkpoint;
    if (joiner && k->child)
        return true; /* its answer will do: the state is the same for any joiner */
    if (k->child || s->runtime.stopping)
        return false;
    k->server = s;
    k->node = node;
    if (k->on_loop_next) { /* what failed in a child may work on the loop */
        k->on_loop_next = false;
        return false;
    }
    /* A joiner's state is read back at once, and a replica without --fsync has no data
     * directory: it goes to memory. A checkpoint's goes next to the snapshot file it ends in. */
    char path[4096];
    if (joiner)
        snprintf(path, sizeof path, "memfd_create");
    else
        snprintf(path, sizeof path, "%s/checkpoint.state", s->store.dir);
    int fd = joiner ? memfd_create("catena-transfer", MFD_CLOEXEC)
                    : open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int pipefd[2] = {-1, -1};
    if (fd < 0 || (!joiner && unlink(path) != 0) || pipe2(pipefd, O_CLOEXEC) != 0) {
        log_warn("%s: %s; serializing the %s on the event loop", path, strerror(errno),
                 checkpoint_what(k));
        if (fd >= 0)
            close(fd);
        return false;
    }
    /* Signals stay blocked until the child has reset its handlers. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    uint64_t start = uv_hrtime();
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        close(pipefd[0]);
        checkpoint_child(s, fd, pipefd[1], parent);
    }
    k->fork_us_last = (uv_hrtime() - start) / 1000;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(pipefd[1]);
    if (pid < 0) {
        log_warn("fork for a background checkpoint failed: %s; serializing it on the event "
                 "loop",
                 strerror(errno));
        close(fd);
        close(pipefd[0]);
        return false;
    }
    k->forks++;
    k->child = pid;
    k->state_fd = fd;
    k->instance = instance;
    k->started_ns = start;
    k->report_len = 0;
    s->stats.snapshot_pause_us = k->fork_us_last;
    k->status = malloc(sizeof *k->status);
    if (!k->status || uv_pipe_init(&s->loop, k->status, 0) != 0 ||
        uv_pipe_open(k->status, pipefd[0]) != 0) {
        log_error("cannot watch the checkpoint child; stopping");
        exit(EXIT_FAILURE);
    }
    k->status->data = k;
    uv_read_start((uv_stream_t *)k->status, checkpoint_alloc, checkpoint_status_read);
    k->watchdog = malloc(sizeof *k->watchdog);
    if (!k->watchdog || uv_timer_init(&s->loop, k->watchdog) != 0) {
        log_error("cannot time the checkpoint child; stopping");
        exit(EXIT_FAILURE);
    }
    k->watchdog->data = k;
    uv_timer_start(k->watchdog, checkpoint_timeout, s->config.checkpoint_timeout_s * 1000, 0);
    return true;
}

static void checkpoint_kill(struct server_checkpoint *k)
{
    if (!k->child)
        return;
    kill(k->child, SIGKILL);
    while (waitpid(k->child, NULL, 0) < 0 && errno == EINTR)
        ;
    k->child = 0;
    checkpoint_unwatch(k);
    close(k->state_fd);
    uv_close((uv_handle_t *)k->status, checkpoint_handle_closed);
    k->status = NULL;
}

void checkpoint_stop(struct server *s)
{
    checkpoint_kill(&s->checkpoint);
    checkpoint_kill(&s->transfer);
}
