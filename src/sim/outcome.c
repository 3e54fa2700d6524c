/* Operations whose client gave up (timed out and reconnected): "orphans".
 *
 * A real client can only record such an operation as unknown. The simulator sees every
 * replica, so it records what really happened, which is both sound and far cheaper to check:
 *   - the origin replica executes the command after all: its reply, computed at that moment,
 *     is the op's result, completed at that time (the op took effect at or before it, and the
 *     reply is exactly what the client would have received had it waited);
 *   - a reply already on its way when the client gave up: recorded when it arrives;
 *   - the engine rejects it: it did not take effect;
 *   - the origin crashed: unknown (its volatile state, and the command with it, is gone).
 * The run does not end before every orphan is resolved: the origin resubmits a command until it
 * executes (exactly-once), so one that never does after healing is a liveness violation.
 * Should a run stop earlier anyway (another violation), what is left is recorded as: never
 * executed anywhere -> did not take effect; executed somewhere -> unknown.
 * Orphans are few per run, so lookups are linear scans over the unresolved ones. */
#include "common/check.h"
#include "sim/internal.h"

#include <stdlib.h>

void sim_orphan_add(struct sim *s, uint32_t client, uint64_t serial, uint32_t r, uint64_t conn,
                    uint64_t seq, size_t hist, enum op_type type)
{
    if (s->orphan_count == s->orphan_cap) {
        s->orphan_cap = s->orphan_cap ? s->orphan_cap * 2 : 32;
        s->orphans = realloc(s->orphans, s->orphan_cap * sizeof *s->orphans);
        CHECK(s->orphans != NULL);
    }
    s->orphans[s->orphan_count++] = (struct sim_orphan){
        .client = client, .serial = serial, .replica = r, .conn = conn, .seq = seq,
        .hist = hist, .type = type};
    s->orphans_open++;
}

long sim_orphan_find(const struct sim *s, uint32_t r, uint64_t conn, uint64_t seq)
{
    if (!s->orphans_open)
        return -1;
    for (size_t i = 0; i < s->orphan_count; i++) {
        const struct sim_orphan *o = &s->orphans[i];
        if (!o->resolved && o->replica == r && o->conn == conn && o->seq == seq)
            return (long)i;
    }
    return -1;
}

static void sim_orphan_close(struct sim *s, struct sim_orphan *o)
{
    o->resolved = true;
    s->orphans_open--;
}

void sim_orphan_resolve(struct sim *s, long index, const uint8_t *reply, size_t len)
{
    struct sim_orphan *o = &s->orphans[index];
    CHECK(!o->resolved);
    sim_orphan_close(s, o);
    if (!sim_record_reply(s, o->hist, o->type, reply, len))
        sim_violation(s, SIM_CHECK_REPLY, "client %u: a late reply does not parse (%zu bytes)",
                      o->client, len);
}

void sim_orphan_reply(struct sim *s, uint32_t client, uint64_t serial, const uint8_t *data,
                      size_t len)
{
    for (size_t i = 0; s->orphans_open && i < s->orphan_count; i++) {
        struct sim_orphan *o = &s->orphans[i];
        if (!o->resolved && o->client == client && o->serial == serial) {
            sim_orphan_resolve(s, (long)i, data, len);
            return;
        }
    }
}

void sim_orphans_executed(struct sim *s, uint64_t instance, const uint8_t *batch, size_t len)
{
    if (!s->orphans_open || len == 0)
        return;
    struct reader r = reader_make(batch, len);
    uint32_t count = reader_u32(&r);
    for (uint32_t i = 0; i < count && !r.failed; i++) {
        struct command_header h;
        if (!command_decode_next(&r, &h, &s->orphan_args))
            return;
        if (h.origin == NODE_NONE || h.origin > s->n || command_stale(&h, instance))
            continue;
        long k = sim_orphan_find(s, h.origin - 1, h.client, h.seq);
        if (k >= 0)
            s->orphans[k].executed = true;
    }
}

void sim_orphans_crash(struct sim *s, uint32_t r)
{
    for (size_t i = 0; s->orphans_open && i < s->orphan_count; i++) {
        struct sim_orphan *o = &s->orphans[i];
        if (!o->resolved && o->replica == r) {
            sim_orphan_close(s, o);
            history_complete(&s->history, o->hist, s->now, OUTCOME_UNKNOWN, 0, NULL);
            s->res->ops_unknown++;
        }
    }
}

void sim_orphans_stuck(struct sim *s)
{
    for (size_t i = 0; i < s->orphan_count; i++) {
        const struct sim_orphan *o = &s->orphans[i];
        if (o->resolved)
            continue;
        const struct op *op = &s->history.ops[o->hist];
        sim_violation(s, SIM_CHECK_LIVENESS,
                      "%zu commands whose client gave up never executed after healing, e.g. "
                      "replica %u connection %llu seq %llu (%s of client %u invoked at t=%llu "
                      "us)%s",
                      s->orphans_open, o->replica + 1, (unsigned long long)o->conn,
                      (unsigned long long)(o->seq & ~SIM_LOCAL_READ_SEQ_BIT),
                      o->type == OP_GET || o->type == OP_MGET ? "a read" : "a write", o->client,
                      (unsigned long long)op->invoke_time, o->executed ? " (executed elsewhere)"
                                                                       : "");
        return;
    }
}

void sim_orphans_finish(struct sim *s)
{
    for (size_t i = 0; s->orphans_open && i < s->orphan_count; i++) {
        struct sim_orphan *o = &s->orphans[i];
        if (o->resolved)
            continue;
        sim_orphan_close(s, o);
        bool read = o->type == OP_GET || o->type == OP_MGET;
        if (o->executed || read) {
            history_complete(&s->history, o->hist, s->now, OUTCOME_UNKNOWN, 0, NULL);
            s->res->ops_unknown++;
        } else {
            history_complete(&s->history, o->hist, s->now, OUTCOME_FAIL, 0, NULL);
            s->res->ops_fail++;
        }
    }
}
