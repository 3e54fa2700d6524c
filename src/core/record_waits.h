/* The engine's EFFECT_PERSIST records not known durable yet, in the order they were emitted,
 * each with what makes it durable: its log record synced, and every checkpoint up to a number
 * written (a compaction's own record waits only for the records before it, core/outbox.h).
 * The runtime's store and the simulator's disk both keep one. */
#ifndef CATENA_CORE_RECORD_WAITS_H
#define CATENA_CORE_RECORD_WAITS_H

#include "common/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct record_waits {
    struct buf bytes; /* u64 log seq, u64 checkpoint number each; from pos on */
    size_t pos;
    uint64_t emitted, durable; /* records pushed, and how many of the first are durable */
    /* Checkpoints numbered so far, and the last that is not a compaction: what the records
     * after it wait for. */
    uint64_t checkpoints_issued, checkpoint_required;
};

void record_waits_init(struct record_waits *w);
void record_waits_free(struct record_waits *w);
/* Forgets everything, counts included (a crash: the restarted engine counts from zero). */
void record_waits_clear(struct record_waits *w);
/* The next record, log record `seq`: durable once it is synced and the last checkpoint that
 * is not a compaction is written. */
void record_waits_push(struct record_waits *w, uint64_t seq);
/* The next record is a checkpoint, after log record `seq`: returns its number. A compaction
 * is durable once the records before it are; any other checkpoint, and every record after it,
 * once it is written. */
uint64_t record_waits_push_checkpoint(struct record_waits *w, uint64_t seq, bool compaction);
/* Counts, in order, the records durable now; true if the count grew. */
bool record_waits_settle(struct record_waits *w, uint64_t synced, uint64_t checkpoints_durable);

#endif
