/* The exactly-once session table and batch application: a connection's commands run once, in
 * sequence order; copies and commands that overtook a lost one are skipped on every replica. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/command.h"
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

/* GET n on kv answers `expected` (a RESP bulk string). */
static void expect_n(struct kv *kv, const char *expected)
{
    const uint8_t *argv[2] = {(const uint8_t *)"GET", (const uint8_t *)"n"};
    size_t lens[2] = {3, 1};
    struct buf reply;
    buf_init(&reply);
    kv_execute(kv, 2, argv, lens, &reply, 2);
    assert_int_equal(reply.len, strlen(expected));
    assert_memory_equal(reply.data, expected, reply.len);
    buf_free(&reply);
}

static void copies_in_the_log_increment_once(void **state)
{
    (void)state;
    struct kv *kv = kv_create();
    struct buf b;
    buf_init(&b);
    struct command_args scratch = {0};
    struct kv_apply_stats stats = {0};
    const uint64_t first[] = {2, 3}, retry[] = {1, 2, 3, 2};
    batch_of(&b, 1, 9, first, 2); /* overtook seq 1: both skipped */
    assert_true(kv_apply_batch(kv, 1, b.data, b.len, NULL, &scratch, &stats));
    batch_of(&b, 1, 9, retry, 4); /* the resubmission in order, then a stray copy */
    assert_true(kv_apply_batch(kv, 2, b.data, b.len, NULL, &scratch, &stats));
    assert_int_equal(stats.commands_executed, 3);
    assert_int_equal(stats.gaps_skipped, 2);
    assert_int_equal(stats.duplicates_skipped, 1);
    expect_n(kv, "$1\r\n3\r\n");
    buf_free(&b);
    command_args_free(&scratch);
    kv_destroy(kv);
}


/* Ended sessions: duplicates while they are tombstones, forgotten COMMAND_WINDOW instances
 * after their end, in the order they ended; every other entry stays reachable while the
 * table deletes (backward shifting) and grows. */
static void ended_sessions_are_forgotten_after_the_window(void **state)
{
    (void)state;
    struct sessions *s = sessions_create();
    for (uint64_t client = 1; client <= 3000; client++)
        assert_int_equal(sessions_admit(s, 1, client, 1), SESSION_NEXT);
    /* odd clients end at instance 10 + client: END is their second record */
    for (uint64_t client = 1; client <= 3000; client += 2) {
        assert_int_equal(sessions_admit(s, 1, client, 2), SESSION_NEXT);
        sessions_end(s, 1, client, 10 + client);
    }
    assert_int_equal(sessions_count(s), 3000);
    assert_int_equal(sessions_ended_count(s), 1500);
    assert_int_equal(sessions_admit(s, 1, 1, 3), SESSION_DUPLICATE); /* a late copy */
    assert_int_equal(sessions_admit(s, 1, 1, 1), SESSION_DUPLICATE);
    sessions_purge(s, 11 + COMMAND_WINDOW); /* client 1 ended at 11: not yet */
    assert_int_equal(sessions_count(s), 3000);
    sessions_purge(s, 12 + COMMAND_WINDOW); /* now client 1 goes */
    assert_int_equal(sessions_count(s), 2999);
    sessions_purge(s, 2010 + COMMAND_WINDOW + 1); /* up to client 1999 */
    assert_int_equal(sessions_ended_count(s), 500);
    assert_int_equal(sessions_count(s), 3000 - 1000);
    for (uint64_t client = 1; client <= 3000; client++) {
        bool forgotten = client % 2 == 1 && client <= 2000;
        bool ended = client % 2 == 1;
        enum session_verdict v = sessions_admit(s, 1, client, 2);
        /* forgotten: a first command again (command_stale keeps old copies out); ended: a
         * tombstone; live: its second command */
        assert_int_equal(v, forgotten ? SESSION_GAP : ended ? SESSION_DUPLICATE : SESSION_NEXT);
    }
    sessions_destroy(s);
}

/* END_ALL ends the sessions of one origin below a client id, and nothing else. */
static void end_all_ends_one_origins_earlier_sessions(void **state)
{
    (void)state;
    struct sessions *s = sessions_create();
    for (uint64_t client = 1; client <= 100; client++) {
        assert_int_equal(sessions_admit(s, 1, client, 1), SESSION_NEXT);
        assert_int_equal(sessions_admit(s, 2, client, 1), SESSION_NEXT);
    }
    sessions_end(s, 1, 5, 3); /* ended already: not ended again */
    assert_int_equal(sessions_end_all(s, 1, 51, 7), 49);
    assert_int_equal(sessions_ended_count(s), 50);
    assert_int_equal(sessions_admit(s, 1, 50, 2), SESSION_DUPLICATE);
    assert_int_equal(sessions_admit(s, 1, 51, 2), SESSION_NEXT);
    assert_int_equal(sessions_admit(s, 2, 50, 2), SESSION_NEXT);
    sessions_purge(s, 8 + COMMAND_WINDOW);
    assert_int_equal(sessions_count(s), 200 - 50);
    sessions_destroy(s);
}

/* A restored table forgets its ended sessions as the original would, whatever order the
 * snapshot listed them in. */
static void restored_tombstones_are_forgotten_in_order(void **state)
{
    (void)state;
    struct sessions *s = sessions_create();
    assert_true(sessions_restore(s, 1, 1, 4, 30));
    assert_true(sessions_restore(s, 1, 2, 4, 10));
    assert_true(sessions_restore(s, 1, 3, 4, 0));
    assert_true(sessions_restore(s, 1, 4, 4, 20));
    assert_false(sessions_restore(s, 1, 4, 9, 0));
    sessions_restore_done(s);
    assert_int_equal(sessions_ended_count(s), 3);
    sessions_purge(s, 21 + COMMAND_WINDOW);
    assert_int_equal(sessions_count(s), 2);
    assert_int_equal(sessions_admit(s, 1, 1, 5), SESSION_DUPLICATE);
    assert_int_equal(sessions_admit(s, 1, 3, 5), SESSION_NEXT);
    sessions_destroy(s);
}

static void one_command(struct buf *b, node_id origin, uint64_t client, uint64_t seq,
                        uint64_t submitted, uint32_t argc, const uint8_t **argv, size_t *lens)
{
    struct command_header h = {.origin = origin, .client = client, .seq = seq,
                               .submitted = submitted, .argc = argc};
    buf_clear(b);
    buf_put_u32(b, 1);
    command_encode(b, &h, argv, lens);
}

/* Through kv_apply_batch: END ends the session (a later copy does nothing), END_ALL ends an
 * origin's earlier ones, and a command decided more than COMMAND_WINDOW instances after its
 * submission is skipped on every replica. */
static void apply_ends_sessions_and_skips_stale_commands(void **state)
{
    (void)state;
    struct kv *kv = kv_create();
    struct buf b;
    buf_init(&b);
    struct command_args scratch = {0};
    struct kv_apply_stats stats = {0};
    const uint8_t *incr[2] = {(const uint8_t *)"INCR", (const uint8_t *)"n"};
    size_t incr_lens[2] = {4, 1};
    const uint8_t *end[1] = {(const uint8_t *)COMMAND_END};
    size_t end_lens[1] = {COMMAND_END_LEN};
    one_command(&b, 1, 9, 1, 1, 2, incr, incr_lens);
    assert_true(kv_apply_batch(kv, 2, b.data, b.len, NULL, &scratch, &stats));
    one_command(&b, 1, 9, 2, 1, 1, end, end_lens);
    assert_true(kv_apply_batch(kv, 3, b.data, b.len, NULL, &scratch, &stats));
    assert_int_equal(stats.sessions_ended, 1);
    assert_int_equal(kv_session_ended_count(kv), 1);
    one_command(&b, 1, 9, 1, 1, 2, incr, incr_lens); /* a late copy of the first command */
    assert_true(kv_apply_batch(kv, 4, b.data, b.len, NULL, &scratch, &stats));
    assert_int_equal(stats.duplicates_skipped, 1);
    /* once forgotten, the copy is too old to run */
    assert_true(kv_apply_batch(kv, 4 + COMMAND_WINDOW, NULL, 0, NULL, &scratch, &stats));
    assert_int_equal(kv_session_count(kv), 0);
    one_command(&b, 1, 9, 1, 1, 2, incr, incr_lens);
    assert_true(kv_apply_batch(kv, 5 + COMMAND_WINDOW, b.data, b.len, NULL, &scratch, &stats));
    assert_int_equal(stats.stale_skipped, 1);
    /* END_ALL of origin 2 below client 100 */
    one_command(&b, 2, 50, 1, 5 + COMMAND_WINDOW, 2, incr, incr_lens);
    assert_true(kv_apply_batch(kv, 6 + COMMAND_WINDOW, b.data, b.len, NULL, &scratch, &stats));
    uint8_t bound[8] = {100};
    const uint8_t *end_all[2] = {(const uint8_t *)COMMAND_END_ALL, bound};
    size_t end_all_lens[2] = {COMMAND_END_ALL_LEN, 8};
    one_command(&b, 2, 0, 0, 6 + COMMAND_WINDOW, 2, end_all, end_all_lens);
    assert_true(kv_apply_batch(kv, 7 + COMMAND_WINDOW, b.data, b.len, NULL, &scratch, &stats));
    assert_int_equal(stats.sessions_ended, 2);
    assert_int_equal(stats.commands_executed, 2);
    expect_n(kv, "$1\r\n2\r\n");
    buf_free(&b);
    command_args_free(&scratch);
    kv_destroy(kv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sequence_numbers_run_in_order_once),
        cmocka_unit_test(copies_in_the_log_increment_once),
        cmocka_unit_test(ended_sessions_are_forgotten_after_the_window),
        cmocka_unit_test(end_all_ends_one_origins_earlier_sessions),
        cmocka_unit_test(restored_tombstones_are_forgotten_in_order),
        cmocka_unit_test(apply_ends_sessions_and_skips_stale_commands),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
