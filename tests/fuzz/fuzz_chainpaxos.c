/* libFuzzer target: every ChainPaxos message handler (src/protocols/chainpaxos/recv*.c and the
 * handlers they reach), inside a running in-memory cluster (tests/unit/chainpaxos_harness.h).
 *
 * Input (fuzz_chainpaxos_input.h): the cluster (3 or 5 replicas, durable or not, a leader and
 * a few rounds of decided commands: a realistic state, with a log and garbage collection),
 * then a program: deliver messages, tick the clock, submit client commands, lose messages or
 * cut links, replay a message a replica really sent (a duplicate, late), inject raw bytes as a
 * message to a replica from any id (a member, 0, the receiver itself, an unknown id), or a
 * real message with some bytes overwritten, or (durable engines) crash and restart a replica.
 *
 * What must hold: no crash, memory error, leak, undefined behaviour or engine assertion
 * (CHECK); every replica executes in order without gaps (harness); bytes that do not decode
 * are counted as malformed and have no effect at all; and no two replicas execute different
 * values for the same instance, as long as no injected message was well-formed and from a
 * member (or taken in from a stranger). Such a message may be a lie, which Paxos is not built
 * to survive (the cluster key keeps strangers out; docs/fuzzing.md): from it on, only the
 * rest is checked. Losses, cuts, late duplicates and restarts never stop the check. */
#include "cmocka_shim.h"

#include "chainpaxos_harness.h"
#include "fuzz_chainpaxos_input.h"

#include <stdbool.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_STEPS 400        /* program steps per input */
#define MAX_DELIVER 64       /* messages delivered by one step */
#define MAX_RAW 4096         /* bytes of one injected message */
#define SAMPLES 64           /* messages remembered for replays and mutations */

/* Messages the replicas really sent: (from, to, bytes), the last SAMPLES of them. */
struct sample {
    size_t from, to;
    struct buf bytes;
};

struct fuzz {
    struct cp_cluster cl;
    struct sample samples[SAMPLES];
    size_t sample_count, sample_next;
    const uint8_t *in;
    size_t len, at;
    uint64_t injected, malformed;
};

static uint8_t take(struct fuzz *f)
{
    return f->at < f->len ? f->in[f->at++] : 0;
}

static void sample_hook(void *arg, size_t from, size_t to, const uint8_t *data, size_t len)
{
    struct fuzz *f = arg;
    struct sample *s = &f->samples[f->sample_next];
    f->sample_next = (f->sample_next + 1) % SAMPLES;
    if (f->sample_count < SAMPLES)
        f->sample_count++;
    s->from = from;
    s->to = to;
    buf_clear(&s->bytes);
    buf_append(&s->bytes, data, len);
}

/* Any id a message might claim to come from: members, 0, the receiver, strangers. */
static node_id pick_sender(struct fuzz *f, size_t to, uint8_t choice)
{
    const struct cp_cluster *cl = &f->cl;
    switch (choice % 8) {
    case FUZZ_CP_SENDER_ZERO: return 0;
    case FUZZ_CP_SENDER_SELF: return cl->nodes[to].id;
    case FUZZ_CP_SENDER_NEWCOMER: return (node_id)(cl->n + 1 + choice / 8 % 4);
    case FUZZ_CP_SENDER_INVALID: return CATENA_MAX_NODES + 1u + choice / 8;
    default: return cl->nodes[(to + 1 + choice / 8 % (cl->n - 1)) % cl->n].id;
    }
}

/* Whether a replica's status names id as a member, now or in the configuration its log leads
 * to: such a replica hands its messages to the handlers. */
static bool status_knows(const struct engine_status *st, node_id id)
{
    for (size_t j = 0; j < st->chain_length; j++)
        if (st->chain[j] == id)
            return true;
    for (size_t j = 0; j < st->next_member_count; j++)
        if (st->next_members[j] == id)
            return true;
    return false;
}

static bool is_member_of_any(const struct cp_cluster *cl, node_id id)
{
    for (size_t k = 0; k < cl->n; k++) {
        struct engine_status st;
        cp_status(cl, k, &st);
        if (status_knows(&st, id))
            return true;
    }
    return false;
}

/* Delivers bytes to node `to` as a message from `from` and checks the malformed-input rule:
 * bytes that do not decode, sent to a member by a member, are dropped, counted as malformed
 * and change nothing; bytes that decode never are (a STATE_PART aside: the state it completes
 * may not decode). */
static void inject(struct fuzz *f, size_t to, node_id from, const uint8_t *msg, size_t len)
{
    struct cp_cluster *cl = &f->cl;
    struct engine_status before, after;
    cp_status(cl, to, &before);
    size_t trace = cl->trace.len;
    struct chain_msg decoded;
    bool valid = chain_msg_decode(msg, len, &decoded);
    /* Dropped messages from these cannot have changed anything that matters. */
    bool stranger = from == cl->nodes[to].id || !is_member_of_any(cl, from);
    bool handled = from != cl->nodes[to].id && strcmp(before.membership, "member") == 0 &&
                   status_knows(&before, from);
    /* A well-formed message from a member may be a lie, believed at once (an ACCEPT whose value
     * nobody proposed, said to be decided): agreement is not checked from here on. */
    if (valid && !stranger)
        cl->byzantine = true;
    cp_step(cl, to, (struct engine_event){.type = ENGINE_EVENT_MESSAGE, .from = from,
                                          .data = msg, .len = len});
    cp_status(cl, to, &after);
    f->injected++;
    assert_true(after.messages_malformed - before.messages_malformed <= 1);
    assert_true(after.messages_malformed <= after.messages_dropped);
    if (after.messages_malformed > before.messages_malformed) {
        /* Dropped and counted, and nothing else happened. */
        f->malformed++;
        assert_true(!valid || msg[0] == CHAIN_MSG_STATE_PART);
        assert_int_equal(after.messages_dropped, before.messages_dropped + 1);
        assert_int_equal(cl->trace.len, trace);
        assert_true(ballot_eq(after.ballot, before.ballot));
        assert_int_equal(after.highest_accepted, before.highest_accepted);
    } else {
        assert_false(!valid && handled); /* malformed, not counted as such */
        if (!(stranger && after.messages_dropped > before.messages_dropped))
            cl->byzantine = true; /* taken in (a JOIN from a stranger): it may lie later */
    }
    cp_end_iteration(cl, to);
}

static void op_inject_raw(struct fuzz *f)
{
    size_t to = take(f) % f->cl.n;
    node_id from = pick_sender(f, to, take(f));
    size_t len = take(f);
    len |= (size_t)take(f) << 8;
    len %= MAX_RAW + 1;
    if (len > f->len - f->at)
        len = f->len - f->at;
    inject(f, to, from, f->in + f->at, len);
    f->at += len;
}

/* A message a replica really sent, with 1 to 4 bytes overwritten, from its real sender. */
static void op_inject_mutated(struct fuzz *f)
{
    if (!f->sample_count)
        return;
    const struct sample *s = &f->samples[take(f) % f->sample_count];
    struct buf m;
    buf_init(&m);
    buf_append(&m, s->bytes.data, s->bytes.len);
    for (size_t edits = 1 + take(f) % 4; edits > 0 && m.len > 0; edits--) {
        size_t at = take(f);
        at |= (size_t)take(f) << 8;
        m.data[at % m.len] = take(f);
    }
    if (take(f) & 1 && m.len > 0)
        m.len -= 1 + take(f) % m.len; /* and sometimes cut short */
    inject(f, s->to, f->cl.nodes[s->from].id, m.data, m.len);
    buf_free(&m);
}

/* A duplicate, arriving late: what the network may do to any message. */
static void op_replay(struct fuzz *f)
{
    if (!f->sample_count)
        return;
    const struct sample *s = &f->samples[take(f) % f->sample_count];
    cp_link_push(&f->cl.links[s->from][s->to], s->bytes.data, s->bytes.len);
}

static void op_deliver(struct fuzz *f)
{
    for (size_t n = 1 + take(f) % MAX_DELIVER; n > 0 && cp_deliver_one(&f->cl); n--)
        ;
}

static void run_program(struct fuzz *f)
{
    struct cp_cluster *cl = &f->cl;
    for (size_t step = 0; step < MAX_STEPS && f->at < f->len; step++) {
        uint8_t op = take(f);
        size_t a = take(f) % cl->n, b = take(f) % cl->n;
        switch (op % FUZZ_CP_OPS) {
        case FUZZ_CP_DELIVER: case FUZZ_CP_DELIVER_TOO: op_deliver(f); break;
        case FUZZ_CP_TICK: cp_tick_all(cl); break;
        case FUZZ_CP_SUBMIT:
            cp_submit_next(cl, a, b % CP_CLIENTS);
            cp_flush(cl, a);
            break;
        case FUZZ_CP_DROP:
            if (a != b && cl->links[a][b].count)
                cp_link_drop_head(cl, a, b);
            break;
        case FUZZ_CP_CUT:
            if (a != b)
                cp_link_cut(cl, a, b);
            break;
        case FUZZ_CP_REPLAY: op_replay(f); break;
        case FUZZ_CP_MUTATE: op_inject_mutated(f); break;
        case FUZZ_CP_RESTART:
            /* Without records a restarted replica has lost its state: it would have to join
             * again (the simulator's crashes profile covers that), not restart as a member. */
            if (cl->config.durable)
                cp_restart(cl, a);
            break;
        default: op_inject_raw(f); break;
        }
    }
}

/* A cluster with a leader and a few rounds of commands decided, collected and executed. */
static void setup(struct fuzz *f, uint8_t options, uint8_t seed)
{
    struct engine_config tunables = {.durable = options & FUZZ_CP_SETUP_DURABLE,
                                     .checkpoint_bytes = 2048};
    cp_init(&f->cl, options & FUZZ_CP_SETUP_FIVE ? 5 : 3, NULL, seed, &tunables);
    f->cl.hook = sample_hook;
    f->cl.hook_arg = f;
    assert_true(cp_elect(&f->cl, 2000));
    for (size_t r = 0; r < (size_t)(options >> 2 & 7); r++) {
        for (size_t k = 0; k < f->cl.n; k++) {
            cp_submit_next(&f->cl, k, r % CP_CLIENTS);
            cp_flush(&f->cl, k);
        }
        cp_advance(&f->cl, CP_TICK_MS);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    static struct fuzz f; /* large: off the stack */
    memset(&f, 0, sizeof f);
    for (size_t k = 0; k < SAMPLES; k++)
        buf_init(&f.samples[k].bytes);
    setup(&f, data[0], data[1]);
    f.in = data;
    f.len = size;
    f.at = 2;
    run_program(&f);
    /* Let the cluster settle: everything in flight is delivered, timers fire, and every
     * execution is checked against the others. */
    for (size_t t = 0; t < 20; t++) {
        cp_tick_all(&f.cl);
        for (size_t n = 0; n < 4 * MAX_DELIVER && cp_deliver_one(&f.cl); n++)
            ;
    }
    for (size_t k = 0; k < f.cl.n; k++) {
        struct engine_status st;
        cp_status(&f.cl, k, &st);
        assert_true(st.gc_horizon <= st.highest_executed);
        assert_true(st.messages_malformed <= st.messages_dropped);
    }
    for (size_t k = 0; k < SAMPLES; k++)
        buf_free(&f.samples[k].bytes);
    cp_free(&f.cl);
    return 0;
}
