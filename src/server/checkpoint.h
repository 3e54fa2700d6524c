/* Snapshots in the background (issue 5): a forked child serializes the state machine from the
 * copy-on-write image of the process as it was at the fork, like Redis' BGSAVE, so the event
 * loop stops only for the fork (page tables, not data) instead of for the serialization. Two
 * may run at once: one for a checkpoint, one for a joiner's state transfer.
 *
 * The child writes the state into an unlinked temporary file in the data directory and exits;
 * the loop learns it through a pipe. For a checkpoint, the engine then gets the snapshot by
 * reference (ENGINE_EVENT_SNAPSHOT with no data, engine.h): its checkpoint record leaves the
 * state's bytes out, and the store appends the file to it in the snapshot file on the thread
 * pool. So no copy of the state passes through the loop. If fork fails, the state is serialized
 * on the loop as before; if the child fails, the engine is told (instance 0) and the next
 * checkpoint is serialized on the loop, where a persistent error (a full disk) surfaces in the
 * store; the one after forks again. For a joiner, the file is read back and handed to the
 * engine, which sends it; if that child fails, nothing is handed over and the joiner's next
 * request forks again (the state must be the one at the request's instance: serializing it on
 * the loop later would hold later executes too). A child still running after
 * --checkpoint-timeout is killed (a hung disk, a stopped process): its end is a failure like
 * any other. */
#ifndef CATENA_SERVER_CHECKPOINT_H
#define CATENA_SERVER_CHECKPOINT_H

#include "core/types.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

struct server;

struct server_checkpoint {
    struct server *server;
    node_id node;     /* whom the state is for: this replica (a checkpoint) or a joiner */
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

/* EFFECT_SNAPSHOT: starts the child (for a joiner: unless one runs, whose answer will do). False
 * if the state must be serialized on the loop instead (fork failed; for a checkpoint, also once
 * after a child failed). */
bool checkpoint_fork(struct server *s, node_id node, instance_no instance);
/* True if the last child finished and failed. */
bool checkpoint_last_failed(const struct server_checkpoint *k);
/* The process is stopping: kills the running children. */
void checkpoint_stop(struct server *s);

#endif
