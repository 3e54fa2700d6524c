/* The exactly-once session table and batch application: a connection's commands run once, in
 * sequence order; copies and commands that overtook a lost one are skipped on every replica. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kv/apply.h"
#include "kv/sessions.h"

#include <string.h>

static void sequence_numbers_run_in_order_once(void **state)
{
    (void)state;
    struct sessions *s = sessions_create();
    assert_int_equal(sessions_admit(s, 1, 7, 2), SESSION_GAP); /* 1 not seen yet */
    assert_int_equal(sessions_admit(s, 1, 7, 1), SESSION_NEXT);
    assert_int_equal(sessions_admit(s, 1, 7, 1), SESSION_DUPLICATE);
    assert_int_equal(sessions_admit(s, 1, 7, 2), SESSION_NEXT);
    assert_int_equal(sessions_admit(s, 1, 7, 4), SESSION_GAP);
    assert_int_equal(sessions_admit(s, 2, 7, 1), SESSION_NEXT); /* other origin, same id */
    assert_int_equal(sessions_admit(s, 1, 8, 1), SESSION_NEXT);
    for (uint64_t client = 100; client < 5100; client++) /* growth keeps every entry */
        assert_int_equal(sessions_admit(s, 3, client, 1), SESSION_NEXT);
    for (uint64_t client = 100; client < 5100; client++)
        assert_int_equal(sessions_admit(s, 3, client, 1), SESSION_DUPLICATE);
    assert_int_equal(sessions_count(s), 3 + 5000);
    sessions_destroy(s);
}

static void batch_of(struct buf *b, node_id origin, uint64_t client, const uint64_t *seqs,
                     size_t n)
{
    buf_clear(b);
    buf_put_u32(b, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *argv[2] = {(const uint8_t *)"INCR", (const uint8_t *)"n"};
        size_t lens[2] = {4, 1};
        struct command_header h = {.origin = origin, .client = client, .seq = seqs[i], .argc = 2};
        command_encode(b, &h, argv, lens);
    }
}

static void copies_in_the_log_increment_once(void **state)
{
    (void)state;
    struct kv *kv = kv_create();
    struct buf b, reply;
    buf_init(&b);
    buf_init(&reply);
    struct command_args scratch = {0};
    struct kv_apply_stats stats = {0};
    const uint64_t first[] = {2, 3}, retry[] = {1, 2, 3, 2};
    batch_of(&b, 1, 9, first, 2); /* overtook seq 1: both skipped */
    assert_true(kv_apply_batch(kv, b.data, b.len, NULL, &scratch, &stats));
    batch_of(&b, 1, 9, retry, 4); /* the resubmission in order, then a stray copy */
    assert_true(kv_apply_batch(kv, b.data, b.len, NULL, &scratch, &stats));
    assert_int_equal(stats.commands_executed, 3);
    assert_int_equal(stats.gaps_skipped, 2);
    assert_int_equal(stats.duplicates_skipped, 1);
    const uint8_t *argv[2] = {(const uint8_t *)"GET", (const uint8_t *)"n"};
    size_t lens[2] = {3, 1};
    kv_execute(kv, 2, argv, lens, &reply, 2);
    assert_int_equal(reply.len, 7);
    assert_memory_equal(reply.data, "$1\r\n3\r\n", 7);
    buf_free(&b);
    buf_free(&reply);
    command_args_free(&scratch);
    kv_destroy(kv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sequence_numbers_run_in_order_once),
        cmocka_unit_test(copies_in_the_log_increment_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
