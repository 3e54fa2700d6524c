/* struct kv for the files of the kv module (kv.c, snapshot.c); everyone else uses kv.h. */
#ifndef CATENA_KV_KV_INTERNAL_H
#define CATENA_KV_KV_INTERNAL_H

#include "kv/keyspace.h"
#include "kv/sessions.h"

#include <stdint.h>

struct kv {
    struct keyspace *ks;
    struct sessions *sessions; /* exactly-once table, see kv/apply.h */
    uint64_t commands_executed;
};

#endif
