/* Key spaces a state transfer replaced, freed on the event loop a slice at a time.
 *
 * A joiner's old key space holds millions of small blocks. Freed at once on the install thread,
 * they went back to the loop's malloc arena (glibc), and the loop's next large allocation spent
 * a second consolidating them (malloc_consolidate; 5M-key re-add load, perf). The joiner's loop
 * stood still meanwhile. Freed here, REAPER_SLICE_MS per loop iteration, each slice's blocks are
 * consolidated a slice at a time. */
#ifndef CATENA_SERVER_REAPER_H
#define CATENA_SERVER_REAPER_H

#include <stdbool.h>
#include <uv.h>

#define REAPER_SLICE_MS 5

struct server;
struct kv;
struct reaper_item;

struct reaper {
    struct reaper_item *head;
    bool open;
    uv_idle_t idle; /* runs while something is left to free */
};

void reaper_init(struct server *s);
/* kv is freed from now on, a slice per loop iteration. */
void reaper_add(struct server *s, struct kv *kv);
/* The process stops: closes the handle. */
void reaper_stop(struct server *s);
/* Frees what is left at once. */
void reaper_release(struct server *s);

#endif
