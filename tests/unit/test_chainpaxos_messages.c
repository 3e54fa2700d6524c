/* ChainPaxos message codec: round trips, and refusal of every malformed shape
 * (protocols/chainpaxos/messages.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/buf.h"
#include "core/command.h"
#include "protocols/chainpaxos/messages.h"

#include <string.h>

static void put_record(struct buf *b, uint64_t seq, const char *value)
{
    const uint8_t *argv[3] = {(const uint8_t *)"SET", (const uint8_t *)"key",
                              (const uint8_t *)value};
    size_t lens[3] = {3, 3, strlen(value)};
    struct command_header h = {.origin = 2, .client = 9, .seq = seq, .argc = 3};
    command_encode(b, &h, argv, lens);
}

/* A BATCH body of n records. */
static void make_batch(struct buf *b, uint32_t n)
{
    buf_init(b);
    buf_put_u32(b, n);
    for (uint32_t i = 0; i < n; i++)
        put_record(b, i + 1, i % 2 ? "value" : "");
}

/* Every strict prefix, and the message plus one byte, must be refused. */
typedef bool (*decode_fn)(const uint8_t *data, size_t len, void *out);

static void check_exact_length(const struct buf *msg, decode_fn decode, void *out)
{
    assert_true(decode(msg->data, msg->len, out));
    for (size_t len = 0; len < msg->len; len++)
        assert_false(decode(msg->data, len, out));
    struct buf longer;
    buf_init(&longer);
    buf_append(&longer, msg->data, msg->len);
    buf_put_u8(&longer, 0);
    assert_false(decode(longer.data, longer.len, out));
    buf_free(&longer);
    /* Leave `out` decoded from msg (failed decodes may have written into it). */
    assert_true(decode(msg->data, msg->len, out));
}

static bool decode_prepare(const uint8_t *d, size_t l, void *o)
{
    return chain_msg_decode_prepare(d, l, o);
}
static bool decode_promise(const uint8_t *d, size_t l, void *o)
{
    return chain_msg_decode_promise(d, l, o);
}
static bool decode_reject(const uint8_t *d, size_t l, void *o)
{
    return chain_msg_decode_reject(d, l, o);
}
static bool decode_accept(const uint8_t *d, size_t l, void *o)
{
    return chain_msg_decode_accept(d, l, o);
}
static bool decode_accept_ack(const uint8_t *d, size_t l, void *o)
{
    return chain_msg_decode_accept_ack(d, l, o);
}
static bool decode_forward(const uint8_t *d, size_t l, void *o)
{
    return chain_msg_decode_forward(d, l, o);
}

static void test_prepare_round_trip(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    struct chain_prepare in = {.ballot = {.round = 0x0102030405060708ull, .node = 7}, .from = 42};
    chain_msg_put_prepare(&b, &in);
    assert_int_equal(b.len, CHAIN_PREPARE_BYTES);
    assert_int_equal(chain_msg_type(b.data, b.len), CHAIN_MSG_PREPARE);
    struct chain_prepare out;
    check_exact_length(&b, decode_prepare, &out);
    assert_true(ballot_eq(out.ballot, in.ballot));
    assert_int_equal(out.from, 42);
    /* Other types do not decode it. */
    struct chain_accept_ack ack;
    assert_false(chain_msg_decode_accept_ack(b.data, b.len, &ack));
    buf_free(&b);
}

static void test_reject_and_ack_round_trip(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    struct chain_reject r = {.refused = {.round = 3, .node = 1}, .promised = {.round = 9, .node = 2}};
    chain_msg_put_reject(&b, &r);
    assert_int_equal(b.len, CHAIN_REJECT_BYTES);
    struct chain_reject r2;
    check_exact_length(&b, decode_reject, &r2);
    assert_true(ballot_eq(r2.refused, r.refused) && ballot_eq(r2.promised, r.promised));
    buf_clear(&b);
    struct chain_accept_ack a = {
        .ballot = {.round = 5, .node = 4}, .instance = 77, .ack = 70, .whole = true};
    chain_msg_put_accept_ack(&b, &a);
    assert_int_equal(b.len, CHAIN_ACCEPT_ACK_BYTES);
    struct chain_accept_ack a2;
    check_exact_length(&b, decode_accept_ack, &a2);
    assert_int_equal(a2.instance, 77);
    assert_int_equal(a2.ack, 70);
    assert_true(a2.whole);
    /* The whole flag is 0 or 1. */
    b.data[b.len - 1] = 2;
    assert_false(chain_msg_decode_accept_ack(b.data, b.len, &a2));
    buf_free(&b);
}

static void test_accept_round_trip(void **state)
{
    (void)state;
    struct buf batch, b;
    make_batch(&batch, 3);
    buf_init(&b);
    struct chain_accept in = {
        .ballot = {.round = 2, .node = 1},
        .instance = 1000,
        .counter = 3,
        .ack = 998,
        .gc = 990,
        .whole_ack = 997,
        .value = {.kind = CHAIN_VALUE_BATCH, .body = batch.data, .len = batch.len},
    };
    chain_msg_put_accept(&b, &in);
    struct chain_accept out;
    check_exact_length(&b, decode_accept, &out);
    assert_int_equal(out.instance, 1000);
    assert_int_equal(out.counter, 3);
    assert_int_equal(out.ack, 998);
    assert_int_equal(out.gc, 990);
    assert_int_equal(out.whole_ack, 997);
    assert_int_equal(out.value.kind, CHAIN_VALUE_BATCH);
    assert_int_equal(out.value.len, batch.len);
    assert_memory_equal(out.value.body, batch.data, batch.len);
    /* NOOP */
    buf_clear(&b);
    in.value = (struct chain_value){.kind = CHAIN_VALUE_NOOP};
    chain_msg_put_accept(&b, &in);
    check_exact_length(&b, decode_accept, &out);
    assert_int_equal(out.value.len, 0);
    /* Instance 0 and absurd instances are refused. */
    buf_clear(&b);
    in.instance = 0;
    chain_msg_put_accept(&b, &in);
    assert_false(chain_msg_decode_accept(b.data, b.len, &out));
    buf_clear(&b);
    in.instance = CHAIN_MAX_INSTANCE + 1;
    chain_msg_put_accept(&b, &in);
    assert_false(chain_msg_decode_accept(b.data, b.len, &out));
    buf_free(&b);
    buf_free(&batch);
}

/* Builds an ACCEPT carrying `kind` and body, and returns whether it decodes. */
static bool accept_with_value(uint8_t kind, const uint8_t *body, size_t len)
{
    struct buf b;
    buf_init(&b);
    struct chain_accept in = {.ballot = {.round = 1, .node = 1}, .instance = 1,
                              .value = {.kind = kind, .body = body, .len = len}};
    chain_msg_put_accept(&b, &in);
    struct chain_accept out;
    bool ok = chain_msg_decode_accept(b.data, b.len, &out);
    buf_free(&b);
    return ok;
}

static void test_malformed_values(void **state)
{
    (void)state;
    uint8_t junk[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_false(accept_with_value(CHAIN_VALUE_NOOP, junk, 1)); /* NOOP with a body */
    assert_false(accept_with_value(CHAIN_VALUE_MEMBERSHIP, NULL, 0)); /* reserved */
    assert_false(accept_with_value(9, NULL, 0));
    struct buf batch;
    make_batch(&batch, 2);
    assert_true(accept_with_value(CHAIN_VALUE_BATCH, batch.data, batch.len));
    /* count too high, too low, zero */
    batch.data[0] = 3;
    assert_false(accept_with_value(CHAIN_VALUE_BATCH, batch.data, batch.len));
    batch.data[0] = 1;
    assert_false(accept_with_value(CHAIN_VALUE_BATCH, batch.data, batch.len));
    batch.data[0] = 0;
    assert_false(accept_with_value(CHAIN_VALUE_BATCH, batch.data, batch.len));
    batch.data[0] = 2;
    /* a record's argument length running past the end */
    batch.data[4 + COMMAND_HEADER_BYTES] = 0xff;
    assert_false(accept_with_value(CHAIN_VALUE_BATCH, batch.data, batch.len));
    batch.data[4 + COMMAND_HEADER_BYTES] = 3;
    /* argc 0, and argc beyond what the bytes could hold */
    batch.data[4 + COMMAND_HEADER_BYTES - 4] = 0;
    assert_false(accept_with_value(CHAIN_VALUE_BATCH, batch.data, batch.len));
    batch.data[4 + COMMAND_HEADER_BYTES - 1] = 0x7f;
    assert_false(accept_with_value(CHAIN_VALUE_BATCH, batch.data, batch.len));
    batch.data[4 + COMMAND_HEADER_BYTES - 1] = 0;
    batch.data[4 + COMMAND_HEADER_BYTES - 4] = 3;
    assert_true(accept_with_value(CHAIN_VALUE_BATCH, batch.data, batch.len));
    /* truncated batch bodies */
    for (size_t len = 0; len < batch.len; len++)
        assert_false(accept_with_value(CHAIN_VALUE_BATCH, batch.data, len));
    buf_free(&batch);
}

static void test_record_size(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    put_record(&b, 1, "v");
    assert_int_equal(chain_record_size(b.data, b.len), b.len);
    for (size_t len = 0; len < b.len; len++)
        assert_int_equal(chain_record_size(b.data, len), 0);
    /* two records: the size of the first only */
    size_t first = b.len;
    put_record(&b, 2, "vv");
    assert_int_equal(chain_record_size(b.data, b.len), first);
    buf_free(&b);
}

static void put_promise(struct buf *b, instance_no from, const instance_no *instances, size_t n,
                        const struct buf *batch)
{
    chain_msg_put_promise_header(b, (struct ballot){.round = 4, .node = 1}, from, 3,
                                 (uint32_t)n);
    for (size_t k = 0; k < n; k++) {
        struct chain_value v = {.kind = CHAIN_VALUE_NOOP};
        if (k % 2)
            v = (struct chain_value){.kind = CHAIN_VALUE_BATCH, .body = batch->data,
                                     .len = batch->len};
        chain_msg_put_promised(b, instances[k], (struct ballot){.round = 2, .node = 3}, &v);
    }
}

static void test_promise(void **state)
{
    (void)state;
    struct buf batch, b;
    make_batch(&batch, 2);
    buf_init(&b);
    instance_no good[3] = {5, 6, 7};
    put_promise(&b, 5, good, 3, &batch);
    struct chain_promise m;
    check_exact_length(&b, decode_promise, &m);
    assert_int_equal(m.count, 3);
    assert_int_equal(m.gc, 3);
    struct reader r = m.entries;
    for (size_t k = 0; k < 3; k++) {
        struct chain_promised e;
        chain_msg_next_promised(&r, &e);
        assert_int_equal(e.instance, good[k]);
        assert_int_equal(e.value.kind, k % 2 ? CHAIN_VALUE_BATCH : CHAIN_VALUE_NOOP);
    }
    assert_int_equal(reader_left(&r), 0);
    /* Empty promise. */
    buf_clear(&b);
    put_promise(&b, 5, NULL, 0, &batch);
    check_exact_length(&b, decode_promise, &m);
    /* Entries below `from`, or not contiguous, are refused. */
    instance_no below[2] = {4, 5};
    buf_clear(&b);
    put_promise(&b, 5, below, 2, &batch);
    assert_false(chain_msg_decode_promise(b.data, b.len, &m));
    instance_no holes[2] = {5, 7};
    buf_clear(&b);
    put_promise(&b, 5, holes, 2, &batch);
    assert_false(chain_msg_decode_promise(b.data, b.len, &m));
    instance_no backwards[2] = {6, 5};
    buf_clear(&b);
    put_promise(&b, 5, backwards, 2, &batch);
    assert_false(chain_msg_decode_promise(b.data, b.len, &m));
    /* A count larger than the entries present. */
    buf_clear(&b);
    put_promise(&b, 5, good, 3, &batch);
    b.data[CHAIN_PROMISE_HEADER_BYTES - 4] = 4;
    assert_false(chain_msg_decode_promise(b.data, b.len, &m));
    buf_free(&b);
    buf_free(&batch);
}

static void test_forward(void **state)
{
    (void)state;
    struct buf batch, b;
    make_batch(&batch, 4);
    buf_init(&b);
    chain_msg_put_forward(&b, 2, batch.data, batch.len);
    struct chain_forward m;
    check_exact_length(&b, decode_forward, &m);
    assert_int_equal(m.hops, 2);
    assert_int_equal(m.count, 4);
    assert_int_equal(m.batch_len, batch.len);
    assert_memory_equal(m.batch, batch.data, batch.len);
    buf_free(&b);
    buf_free(&batch);
}

/* A STATE_PART carries its bytes to the end of the message: at least one, and never past the
 * total it announces. */
static void test_state_part(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    struct chain_state_part in = {.instance = 7, .total = 10, .offset = 6,
                                  .bytes = (const uint8_t *)"wxyz", .len = 4};
    chain_msg_put_state_part(&b, &in);
    struct chain_state_part m;
    assert_true(chain_msg_decode_state_part(b.data, b.len, &m));
    assert_int_equal(m.instance, 7);
    assert_int_equal(m.total, 10);
    assert_int_equal(m.offset, 6);
    assert_int_equal(m.len, 4);
    assert_memory_equal(m.bytes, "wxyz", 4);
    buf_put_u8(&b, 0); /* one byte past the total */
    assert_false(chain_msg_decode_state_part(b.data, b.len, &m));
    for (size_t len = 0; len <= 25; len++) /* no bytes, or a header cut short */
        assert_false(chain_msg_decode_state_part(b.data, len, &m));
    struct chain_state_part bad[] = {
        {.instance = 7, .total = 10, .offset = 10, .bytes = (const uint8_t *)"w", .len = 1},
        {.instance = 7, .total = CHAIN_STATE_PART_MAX_TOTAL + 1, .offset = 0,
         .bytes = (const uint8_t *)"w", .len = 1},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        buf_clear(&b);
        chain_msg_put_state_part(&b, &bad[k]);
        assert_false(chain_msg_decode_state_part(b.data, b.len, &m));
    }
    buf_free(&b);
}

/* A STATE_REQUEST says how much of which transfer the joiner holds, nothing else. */
static void test_state_request(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    chain_msg_put_state_request(&b, &(struct chain_state_request){.instance = 9, .offset = 4096});
    assert_int_equal(b.len, 17);
    struct chain_state_request m;
    assert_true(chain_msg_decode_state_request(b.data, b.len, &m));
    assert_int_equal(m.instance, 9);
    assert_int_equal(m.offset, 4096);
    for (size_t len = 0; len < b.len; len++)
        assert_false(chain_msg_decode_state_request(b.data, len, &m));
    buf_put_u8(&b, 0);
    assert_false(chain_msg_decode_state_request(b.data, b.len, &m));
    buf_clear(&b);
    chain_msg_put_state_request(
        &b, &(struct chain_state_request){.instance = 9, .offset = CHAIN_STATE_PART_MAX_TOTAL + 1});
    assert_false(chain_msg_decode_state_request(b.data, b.len, &m));
    buf_free(&b);
}

static void test_unknown_types(void **state)
{
    (void)state;
    uint8_t msg[64] = {0};
    struct chain_accept a;
    for (int type = 0; type < 256; type++) {
        msg[0] = (uint8_t)type;
        if (type != CHAIN_MSG_ACCEPT)
            assert_false(chain_msg_decode_accept(msg, sizeof msg, &a));
    }
    assert_int_equal(chain_msg_type(msg, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prepare_round_trip),
        cmocka_unit_test(test_reject_and_ack_round_trip),
        cmocka_unit_test(test_accept_round_trip),
        cmocka_unit_test(test_malformed_values),
        cmocka_unit_test(test_record_size),
        cmocka_unit_test(test_promise),
        cmocka_unit_test(test_forward),
        cmocka_unit_test(test_state_part),
        cmocka_unit_test(test_state_request),
        cmocka_unit_test(test_unknown_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
