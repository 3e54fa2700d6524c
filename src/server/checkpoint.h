/* Checkpoints in the background (issue 5): a forked child serializes the state machine from the
 * copy-on-write image of the process as it was at the fork, like Redis' BGSAVE, so the event
 * loop stops only for the fork (page tables, not data) instead of for the serialization.
 *
 * The child writes the state into an unlinked temporary file in the data directory and exits;
 * the loop learns it through a pipe. The engine then gets the snapshot by reference
 * (ENGINE_EVENT_SNAPSHOT with no data, engine.h): its checkpoint record leaves the state's
 * bytes out, and the store appends the file to it in the snapshot file on the thread pool. So
 * no copy of the state passes through the loop. If fork fails, the state is serialized on the
 * loop as before; if the child fails, the engine is told (instance 0) and the next checkpoint
 * is serialized on the loop, where a persistent error (a full disk) surfaces in the store; the
 * one after forks again. A child still running after --checkpoint-timeout is killed (a hung
 * disk, a stopped process): its end is a failure like any other. */
#ifndef CATENA_SERVER_CHECKPOINT_H
#define CATENA_SERVER_CHECKPOINT_H

#include "core/types.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

struct server;

struct server_checkpoint {
    pid_t child;      /* 0: none running */
    int state_fd;     /* the child's output, unlinked */
    uv_pipe_t *status; /* read end of the child's status pipe (freed when closed) */
    uv_timer_t *watchdog; /* kills a child that outlives --checkpoint-timeout (freed when closed) */
    instance_no instance;
    uint64_t started_ns;
    char report[256]; /* what the child wrote to the pipe: "" when it succeeded */
    size_t report_len;
    /* INFO persistence. */
    uint64_t fork_us_last, child_us_last, forks;
    bool failed_last; /* the last child that finished failed (a running one does not count) */
    bool on_loop_next; /* the last child failed: the next checkpoint is serialized on the loop */
};

/* EFFECT_SNAPSHOT for a checkpoint: starts the child. False if the state must be serialized
 * on the loop instead (fork failed, or the last child did: then this once). */
bool checkpoint_fork(struct server *s, instance_no instance);
/* True if the last child finished and failed. */
bool checkpoint_last_failed(const struct server_checkpoint *k);
/* The process is stopping: kills a running child. */
void checkpoint_stop(struct server *s);

#endif
