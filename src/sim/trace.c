/* The trace of a run: every event is folded into a 64-bit hash (time, kind, nodes, fields and
 * a hash of the bytes), so two runs can be compared by one number; with --trace, readable
 * records are kept too (peer messages decoded) and printed around a violation. Ticks are
 * hashed but not kept: they would drown everything else. */
#include "common/check.h"
#include "protocols/chainpaxos/messages.h"
#include "sim/internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t sim_hash_bytes(const uint8_t *p, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h ^ len;
}

static uint64_t sim_fold(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdull;
}

void sim_trace_init(struct sim_trace *t, bool keep)
{
    *t = (struct sim_trace){.hash = 0x636174656e61ull, .keep = keep};
}

void sim_trace_free(struct sim_trace *t)
{
    free(t->recs);
    *t = (struct sim_trace){0};
}

static void sim_appendf(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void sim_appendf(char *out, size_t size, const char *fmt, ...)
{
    size_t used = strlen(out);
    if (used + 1 >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + used, size - used, fmt, ap);
    va_end(ap);
}

static const char *sim_kind_name(uint8_t kind)
{
    static const char *names[] = {"NOOP", "BATCH", "MEMBERSHIP"};
    return kind < 3 ? names[kind] : "?";
}

static void sim_describe_value(const struct chain_value *v, char *out, size_t size)
{
    uint32_t count = 0;
    if (v->kind == CHAIN_VALUE_BATCH && v->len >= 4)
        memcpy(&count, v->body, 4); /* little-endian hosts only; for display */
    struct chain_change change;
    static const char *ops[] = {"?", "REMOVE", "ADD", "MOVE"};
    if (v->kind == CHAIN_VALUE_BATCH)
        sim_appendf(out, size, " BATCH(%u cmds, %zu B)", count, v->len);
    else if (v->kind == CHAIN_VALUE_MEMBERSHIP && chain_change_decode(v->body, v->len, &change))
        sim_appendf(out, size, " %s n%u", ops[change.op <= CHAIN_OP_MOVE ? change.op : 0],
                    change.node);
    else
        sim_appendf(out, size, " %s", sim_kind_name(v->kind));
}

void sim_describe_message(const uint8_t *data, size_t len, char *out, size_t size)
{
    out[0] = '\0';
    switch (chain_msg_type(data, len)) {
    case CHAIN_MSG_PREPARE: {
        struct chain_prepare m;
        if (chain_msg_decode_prepare(data, len, &m)) {
            snprintf(out, size, "PREPARE b=%" PRIu64 ".%u from=%" PRIu64, m.ballot.round,
                     m.ballot.node, m.from);
            return;
        }
        break;
    }
    case CHAIN_MSG_PROMISE: {
        struct chain_promise m;
        if (chain_msg_decode_promise(data, len, &m)) {
            snprintf(out, size, "PROMISE b=%" PRIu64 ".%u from=%" PRIu64 " gc=%" PRIu64
                     " entries=%u", m.ballot.round, m.ballot.node, m.from, m.gc, m.count);
            return;
        }
        break;
    }
    case CHAIN_MSG_REJECT_PREPARE: {
        struct chain_reject m;
        if (chain_msg_decode_reject(data, len, &m)) {
            snprintf(out, size, "REJECT_PREPARE b=%" PRIu64 ".%u promised=%" PRIu64 ".%u",
                     m.refused.round, m.refused.node, m.promised.round, m.promised.node);
            return;
        }
        break;
    }
    case CHAIN_MSG_ACCEPT: {
        struct chain_accept m;
        if (chain_msg_decode_accept(data, len, &m)) {
            snprintf(out, size, "ACCEPT b=%" PRIu64 ".%u i=%" PRIu64 " c=%u ack=%" PRIu64
                     " gc=%" PRIu64, m.ballot.round, m.ballot.node, m.instance, m.counter,
                     m.ack, m.gc);
            sim_describe_value(&m.value, out, size);
            return;
        }
        break;
    }
    case CHAIN_MSG_ACCEPT_ACK: {
        struct chain_accept_ack m;
        if (chain_msg_decode_accept_ack(data, len, &m)) {
            snprintf(out, size, "ACCEPT_ACK b=%" PRIu64 ".%u i=%" PRIu64 " ack=%" PRIu64,
                     m.ballot.round, m.ballot.node, m.instance, m.ack);
            return;
        }
        break;
    }
    case CHAIN_MSG_QUORUM_ACK: {
        struct chain_quorum_ack m;
        if (chain_msg_decode_quorum_ack(data, len, &m)) {
            snprintf(out, size, "QUORUM_ACK b=%" PRIu64 ".%u i=%" PRIu64, m.ballot.round,
                     m.ballot.node, m.instance);
            return;
        }
        break;
    }
    case CHAIN_MSG_STATE_PART: {
        struct chain_state_part m;
        if (chain_msg_decode_state_part(data, len, &m)) {
            snprintf(out, size, "STATE_PART i=%" PRIu64 " bytes %" PRIu64 "-%" PRIu64 " of %" PRIu64,
                     m.instance, m.offset, m.offset + m.len, m.total);
            return;
        }
        break;
    }
    case CHAIN_MSG_FORWARD: {
        struct chain_forward m;
        if (chain_msg_decode_forward(data, len, &m)) {
            snprintf(out, size, "FORWARD hops=%u cmds=%u", m.hops, m.count);
            return;
        }
        break;
    }
    case CHAIN_MSG_READ_NUDGE: {
        struct chain_read_nudge m;
        if (chain_msg_decode_read_nudge(data, len, &m)) {
            snprintf(out, size, "READ_NUDGE slot=%" PRIu64, m.slot);
            return;
        }
        break;
    }
    default:
        break;
    }
    snprintf(out, size, "type %u, %zu bytes", len ? data[0] : 0, len);
}

/* A command record as words: "SET k1 c3-7". */
static void sim_describe_record(const uint8_t *data, size_t len, char *out, size_t size)
{
    struct reader r = reader_make(data, len);
    struct command_header h;
    struct command_args args = {0};
    out[0] = '\0';
    if (command_decode_next(&r, &h, &args))
        for (uint32_t i = 0; i < h.argc; i++)
            sim_appendf(out, size, "%s%.*s", i ? " " : "", (int)args.lens[i],
                        (const char *)args.argv[i]);
    command_args_free(&args);
}

/* RESP bytes with CR LF shown as spaces. */
static void sim_describe_reply(const uint8_t *data, size_t len, char *out, size_t size)
{
    size_t j = 0;
    for (size_t i = 0; i < len && j + 1 < size; i++)
        out[j++] = (data[i] == '\r' || data[i] == '\n') ? ' ' : (char)data[i];
    out[j] = '\0';
}

void sim_trace_event(struct sim *s, enum sim_trace_kind kind, uint32_t node, uint32_t peer,
                     uint64_t a, uint64_t b, const uint8_t *data, size_t len)
{
    struct sim_trace *t = &s->trace;
    uint64_t h = t->hash;
    h = sim_fold(h, s->now);
    h = sim_fold(h, ((uint64_t)kind << 48) ^ ((uint64_t)node << 24) ^ peer);
    h = sim_fold(h, a);
    h = sim_fold(h, b);
    if (data)
        h = sim_fold(h, sim_hash_bytes(data, len));
    t->hash = h;
    if (!t->keep || kind == SIM_TR_TICK)
        return;
    if (t->count == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 4096;
        t->recs = realloc(t->recs, t->cap * sizeof *t->recs);
        CHECK(t->recs != NULL);
    }
    struct sim_trace_rec *rec = &t->recs[t->count++];
    *rec = (struct sim_trace_rec){.time = s->now, .kind = (uint8_t)kind, .node = node,
                                  .peer = peer, .a = a, .b = b, .len = (uint32_t)len};
    switch (kind) {
    case SIM_TR_SEND:
    case SIM_TR_DELIVER:
    case SIM_TR_LOSS:
    case SIM_TR_DUP:
    case SIM_TR_PARTITION_DROP:
    case SIM_TR_DOWN_DROP:
        sim_describe_message(data, len, rec->text, sizeof rec->text);
        break;
    case SIM_TR_REQUEST:
        sim_describe_record(data, len, rec->text, sizeof rec->text);
        break;
    case SIM_TR_REPLY:
        sim_describe_reply(data, len, rec->text, sizeof rec->text);
        break;
    case SIM_TR_EXECUTE:
        if (len == 0) {
            snprintf(rec->text, sizeof rec->text, "NOOP");
        } else {
            struct reader r = reader_make(data, len);
            snprintf(rec->text, sizeof rec->text, "%u cmds", reader_u32(&r));
        }
        break;
    default:
        break;
    }
}

static void sim_trace_print_rec(FILE *out, const struct sim_trace_rec *r)
{
    char when[32];
    snprintf(when, sizeof when, "%" PRIu64 ".%06" PRIu64, r->time / 1000000,
             r->time % 1000000);
    unsigned n = r->node + 1, p = r->peer + 1;
    switch (r->kind) {
    case SIM_TR_SEND:
        fprintf(out, "%12s  n%u -> n%u  send      %s\n", when, n, p, r->text);
        break;
    case SIM_TR_DELIVER:
        fprintf(out, "%12s  n%u <- n%u  deliver   %s\n", when, n, p, r->text);
        break;
    case SIM_TR_LOSS:
        fprintf(out, "%12s  n%u -> n%u  LOST      %s\n", when, n, p, r->text);
        break;
    case SIM_TR_DUP:
        fprintf(out, "%12s  n%u -> n%u  DUPLICATE %s\n", when, n, p, r->text);
        break;
    case SIM_TR_PARTITION_DROP:
        fprintf(out, "%12s  n%u -> n%u  CUT       %s\n", when, n, p, r->text);
        break;
    case SIM_TR_DOWN_DROP:
        fprintf(out, "%12s  n%u -> n%u  DOWN      %s\n", when, n, p, r->text);
        break;
    case SIM_TR_REQUEST:
        if (r->a & SIM_LOCAL_READ_SEQ_BIT)
            fprintf(out, "%12s  c%u -> n%u  request   read seq=r%" PRIu64 " %s\n", when, r->peer,
                    n, r->a & ~SIM_LOCAL_READ_SEQ_BIT, r->text);
        else
            fprintf(out, "%12s  c%u -> n%u  request   seq=%" PRIu64 " %s\n", when, r->peer, n,
                    r->a, r->text);
        break;
    case SIM_TR_REPLY:
        fprintf(out, "%12s  n%u -> c%u  reply     seq=%s%" PRIu64 " %s\n", when, n, r->peer,
                r->a & SIM_LOCAL_READ_SEQ_BIT ? "r" : "", r->a & ~SIM_LOCAL_READ_SEQ_BIT,
                r->text);
        break;
    case SIM_TR_TIMEOUT:
        fprintf(out, "%12s  c%u        TIMEOUT   op %" PRIu64 " at n%u\n", when, r->peer, r->a,
                n);
        break;
    case SIM_TR_EXECUTE:
        fprintf(out, "%12s  n%u        execute   i=%" PRIu64 " digest=%016" PRIx64 " %s\n",
                when, n, r->a, r->b, r->text);
        break;
    case SIM_TR_READ:
        fprintf(out, "%12s  n%u        read      conn=%u seq=r%" PRIu64
                " released at executed=%" PRIu64 "\n",
                when, n, r->peer, r->a & ~SIM_LOCAL_READ_SEQ_BIT, r->b);
        break;
    case SIM_TR_REJECT:
        fprintf(out, "%12s  n%u        reject    conn=%u seq=%" PRIu64 "\n", when, n, r->peer,
                r->a);
        break;
    case SIM_TR_LEADER:
        fprintf(out, "%12s  n%u        leader    n%u\n", when, n, r->peer);
        break;
    case SIM_TR_MEMBERSHIP:
        fprintf(out, "%12s  n%u        member    n%u %s at i=%" PRIu64 "\n", when, n, r->peer,
                r->b == MEMBERSHIP_REMOVED ? "removed"
                : r->b == MEMBERSHIP_MOVED ? "moved"
                                           : "added",
                r->a);
        break;
    case SIM_TR_INSTALL:
        fprintf(out, "%12s  n%u        install   state at i=%" PRIu64 " digest=%016" PRIx64 "\n",
                when, n, r->a, r->b);
        break;
    case SIM_TR_FAULT: {
        static const char *what[] = {"partition", "one-way partition", "partition healed",
                                     "one-way partition healed", "pause", "crash", "restart",
                                     "REMOVE", "ADD"};
        if (r->b < 4)
            fprintf(out, "%12s  FAULT %s, side mask 0x%" PRIx64 "\n", when, what[r->b], r->a);
        else if (r->b == 4)
            fprintf(out, "%12s  FAULT n%u pause until t=%" PRIu64 " us\n", when, n, r->a);
        else if (r->b < 7)
            fprintf(out, "%12s  FAULT n%u %s\n", when, n, what[r->b]);
        else if (r->b < 9)
            fprintf(out, "%12s  FAULT operator: %s n%u through n%u\n", when, what[r->b], n,
                    p);
        break;
    }
    case SIM_TR_PHASE: {
        static const char *phases[] = {"faults", "healing", "draining", "final reads",
                                       "settling", "done"};
        fprintf(out, "%12s  PHASE %s\n", when, r->a < 6 ? phases[r->a] : "?");
        break;
    }
    default:
        break;
    }
}

void sim_trace_print(const struct sim *s, FILE *out, uint64_t until, size_t count)
{
    const struct sim_trace *t = &s->trace;
    if (!t->keep) {
        fprintf(out, "(no trace kept: run with --trace)\n");
        return;
    }
    size_t end = 0;
    while (end < t->count && t->recs[end].time <= until)
        end++;
    size_t start = end > count ? end - count : 0;
    fprintf(out, "--- trace: %zu events up to t=%" PRIu64 " us (of %zu kept) ---\n", end - start,
            until, t->count);
    for (size_t i = start; i < end; i++)
        sim_trace_print_rec(out, &t->recs[i]);
    fprintf(out, "--- end of trace ---\n");
}
