/* Installing a state transfer without holding the event loop (issue 5 follow-up: a joiner that
 * loaded 4M keys on its loop stopped answering its predecessor for seconds and was removed
 * again, in a loop).
 *
 * EFFECT_INSTALL hands the serialized state to a thread, which builds the new state machine
 * (kv_snapshot_read); the old one is freed on the loop, a slice at a time (reaper.h). Meanwhile
 * the loop goes on receiving, forwarding and acknowledging; what would touch the state machine
 * waits in the apply queue (apply_queue.h), in order, and is applied once the thread is done.
 * The state machine the loop sees in the meantime is an empty one (INFO says loading:1). Bytes
 * that do not load stop the replica, as before: serving a wrong state would be worse. */
#ifndef CATENA_SERVER_INSTALL_H
#define CATENA_SERVER_INSTALL_H

#include "core/types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct server;
struct kv;

struct server_install {
    bool running;
    bool handle_open;
    uv_thread_t thread;
    uv_async_t done; /* the thread says it finished */
    instance_no instance;
    uint8_t *bytes; /* a copy of the state: the outbox's is gone after the step */
    size_t len;
    struct kv *new_kv; /* NULL: the bytes did not load (err says why) */
    char err[256];
    uint64_t started_ns;
};

/* Opens the completion handle once the loop exists. */
void install_init(struct server *s);
/* Starts installing (blocks the apply queue until done); with `background` false (recovery,
 * before the loop runs) it installs at once on the calling thread. */
void install_begin(struct server *s, instance_no instance, const uint8_t *data, size_t len,
                   bool background);
/* The process stops: waits for a running install and closes the handle. */
void install_stop(struct server *s);

#endif
