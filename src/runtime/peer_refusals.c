#include "runtime/peer_refusals.h"

#include "common/log.h"

#include <stdio.h>
#include <string.h>

/* The slot of (address, why), or the least recently logged one, emptied for it. */
static struct peer_refusal_slot *refusal_slot(struct peer_refusals *r, const char *address,
                                              const char *why)
{
    struct peer_refusal_slot *oldest = &r->slots[0];
    for (int i = 0; i < PEER_REFUSAL_SLOTS; i++) {
        struct peer_refusal_slot *e = &r->slots[i];
        if (e->why == why && strcmp(e->address, address) == 0)
            return e;
        if (e->logged_ms < oldest->logged_ms)
            oldest = e;
    }
    memset(oldest, 0, sizeof *oldest);
    snprintf(oldest->address, sizeof oldest->address, "%s", address);
    oldest->why = why;
    return oldest;
}

void peer_refusal_note(struct peer_refusals *r, uint64_t now_ms, const char *address,
                       const char *why, bool auth, const char *context)
{
    r->refused++;
    r->auth_failed += auth;
    struct peer_refusal_slot *e = refusal_slot(r, address, why);
    if (e->logged_ms != 0 && now_ms - e->logged_ms < PEER_REFUSAL_LOG_MS) {
        e->unlogged++;
        return;
    }
    if (e->unlogged)
        log_warn("%s: %s (address %s; %llu more since the last such message)", context, why,
                 address, (unsigned long long)e->unlogged);
    else
        log_warn("%s: %s (address %s)", context, why, address);
    e->logged_ms = now_ms ? now_ms : 1;
    e->unlogged = 0;
}
