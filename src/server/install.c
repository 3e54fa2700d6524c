#include "server/install.h"

#include "common/check.h"
#include "common/log.h"
#include "server/apply_queue.h"
#include "server/server.h"

#include <stdlib.h>
#include <string.h>

/* Debug only: tests stand for a long install with a thread that sleeps first
 * (tests/integration/test_membership.sh). */
static uint64_t install_debug_delay_ms(void)
{
    const char *v = getenv("CATENA_DEBUG_INSTALL_DELAY_MS");
    return v ? strtoull(v, NULL, 10) : 0;
}

static void install_load(struct server_install *in)
{
    in->new_kv = kv_snapshot_read(in->bytes, in->len, in->err, sizeof in->err);
}

static void install_thread(void *arg)
{
    struct server_install *in = arg;
    uint64_t delay = install_debug_delay_ms();
    if (delay)
        uv_sleep((unsigned)delay);
    install_load(in);
    uv_async_send(&in->done);
}

/* The state is in place: the empty stand-in goes, and what waited is applied. */
static void install_finish(struct server *s)
{
    struct server_install *in = &s->install;
    free(in->bytes);
    in->bytes = NULL;
    if (!in->new_kv) {
        log_error("the state transfer at instance %llu (%zu bytes) cannot be loaded: %s; "
                  "stopping rather than serving a wrong state",
                  (unsigned long long)in->instance, in->len, in->err);
        exit(EXIT_FAILURE);
    }
    kv_destroy(s->kv);
    s->kv = in->new_kv;
    in->new_kv = NULL;
    in->running = false;
    s->applying.applied = in->instance;
    struct kv_stats st;
    kv_get_stats(s->kv, &st);
    log_info("installed the state transfer at instance %llu: %llu keys, %zu bytes in %llu ms",
             (unsigned long long)in->instance, (unsigned long long)st.keys, in->len,
             (unsigned long long)(uv_hrtime() - in->started_ns) / 1000000);
}

static void install_done_cb(uv_async_t *a)
{
    struct server *s = a->data;
    if (!s->install.running)
        return;
    uv_thread_join(&s->install.thread);
    install_finish(s);
    apply_queue_resume(s);
}

void install_init(struct server *s)
{
    CHECK(uv_async_init(&s->loop, &s->install.done, install_done_cb) == 0);
    s->install.done.data = s;
    s->install.handle_open = true;
}

void install_begin(struct server *s, instance_no instance, const uint8_t *data, size_t len,
                   bool background)
{
    struct server_install *in = &s->install;
    CHECK(!in->running);
    in->bytes = malloc(len ? len : 1);
    CHECK(in->bytes != NULL);
    memcpy(in->bytes, data, len);
    in->len = len;
    in->instance = instance;
    in->started_ns = uv_hrtime();
    reaper_add(s, s->kv); /* not on the thread: reaper.h */
    s->kv = kv_create(); /* what INFO sees meanwhile; nothing else reads it (apply_queue.h) */
    in->running = true;
    if (background && uv_thread_create(&in->thread, install_thread, in) == 0)
        return;
    install_load(in);
    install_finish(s);
}

void install_stop(struct server *s)
{
    struct server_install *in = &s->install;
    if (in->running) {
        uv_thread_join(&in->thread);
        in->running = false;
        kv_destroy(in->new_kv);
        in->new_kv = NULL;
        free(in->bytes);
        in->bytes = NULL;
    }
    if (in->handle_open) {
        uv_close((uv_handle_t *)&in->done, NULL);
        in->handle_open = false;
    }
}
