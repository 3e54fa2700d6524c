/* Shared by worker.c (the thread, its connections and timers) and worker_load.c (sending
 * requests in closed or open loop and accounting for their completions). Worker thread only. */
#ifndef CATENA_BENCH_WORKER_INTERNAL_H
#define CATENA_BENCH_WORKER_INTERNAL_H

#include "bench/worker.h"

/* One request in flight: the driver's token. */
struct bench_slot {
    struct bench_connection *connection;
    uint64_t intended_ns; /* when it was meant to be sent: latency counts from here */
    enum bench_op op;
};

struct bench_connection {
    struct bench_worker *worker;
    struct bench_driver_conn *driver_conn; /* NULL once closed */
    const struct bench_host *host;
    size_t index;      /* in the whole run: its place in the open-loop schedule */
    bool open;         /* connected and not yet closed */
    bool usable;       /* open, not closing, and no request of it went unanswered */
    struct bench_slot *slots; /* --pipeline of them */
    struct bench_slot **free_slots;
    size_t free_count;
    uint64_t next_due_ns; /* open loop: intended time of its next request */
    uint64_t scheduled;   /* open loop: requests of its schedule sent so far */
    uv_timer_t reconnect_timer; /* --reconnect-ms: initialised on the first loss */
    bool reconnect_timer_ready, reconnecting;
};

/* worker_load.c */
/* The phase started: fill every connection's pipeline (closed loop) or start the schedule. */
void worker_load_start(struct bench_worker *w);
/* The open-loop timer fired: send what is due and arm it for the next. */
void worker_load_due(struct bench_worker *w);
void worker_load_completed(void *token, enum bench_outcome outcome, const char *error);
/* A connection opened again: it sends again (closed loop), or catches up on its schedule. */
void worker_load_resume(struct bench_connection *c);

/* worker.c */
/* No more requests: wait for the outstanding ones (at most --drain-timeout), then close. */
void worker_stop_issuing(struct bench_worker *w);
/* Close every connection and handle; the loop ends once they are closed. */
void worker_finish(struct bench_worker *w);
/* Arms the open-loop timer for due_ns unless it is armed for earlier already. */
void worker_arm_due(struct bench_worker *w, uint64_t due_ns);
/* A failed request, a lost connection or a failed connect: counted by kind (host: error), and
 * the run's first error if it is the first. */
void worker_note_error(struct bench_worker *w, const char *host, const char *error);

#endif
