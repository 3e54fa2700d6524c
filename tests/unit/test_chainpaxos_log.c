/* ChainPaxos log: circular array indexed by instance (protocols/chainpaxos/log.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/reader.h"
#include "protocols/chainpaxos/log.h"

static void store(struct chain_log *log, instance_no i)
{
    struct chain_entry *e = chain_log_put(log, i);
    assert_true(e->used);
    e->ballot = (struct ballot){.round = i, .node = 1};
    e->counter = (uint16_t)(i % 7);
    buf_clear(&e->body);
    buf_put_u64(&e->body, i * 31);
}

static void check(const struct chain_log *log, instance_no i)
{
    const struct chain_entry *e = chain_log_get(log, i);
    assert_non_null(e);
    assert_int_equal(e->ballot.round, i);
    assert_int_equal(e->counter, i % 7);
    assert_int_equal(e->body.len, 8);
    struct reader r = reader_make(e->body.data, e->body.len);
    assert_int_equal(reader_u64(&r), i * 31);
}

static void test_put_get_release(void **state)
{
    (void)state;
    struct chain_log log;
    chain_log_init(&log, 1);
    assert_null(chain_log_get(&log, 1));
    for (instance_no i = 1; i <= 10; i++)
        store(&log, i);
    assert_int_equal(log.used, 10);
    for (instance_no i = 1; i <= 10; i++)
        check(&log, i);
    assert_null(chain_log_get(&log, 11));
    assert_null(chain_log_get(&log, 0));
    chain_log_release_through(&log, 8);
    assert_int_equal(log.used, 2);
    assert_int_equal(log.base, 9);
    assert_null(chain_log_get(&log, 8));
    check(&log, 9);
    /* Wrap around the array many times, growing it while wrapped. */
    for (instance_no i = 11; i <= 1000; i++) {
        store(&log, i);
        if (i % 3 == 0 && i > 30)
            chain_log_release_through(&log, i - 20);
    }
    for (instance_no i = log.base; i <= 1000; i++)
        check(&log, i);
    assert_int_equal(log.used, 1000 - log.base + 1);
    /* Releasing beyond the end empties the log and moves base. */
    chain_log_release_through(&log, 2000);
    assert_int_equal(log.used, 0);
    assert_int_equal(log.base, 2001);
    store(&log, 2001);
    check(&log, 2001);
    chain_log_free(&log);
}

static void test_growth_keeps_everything(void **state)
{
    (void)state;
    struct chain_log log;
    chain_log_init(&log, 100);
    for (instance_no i = 100; i < 100 + 5000; i++)
        store(&log, i);
    assert_true(log.cap >= 5000);
    for (instance_no i = 100; i < 100 + 5000; i++)
        check(&log, i);
    chain_log_free(&log);
}

/* Sparse stores (the candidate's recovery log): holes read as absent. */
static void test_sparse_and_reset(void **state)
{
    (void)state;
    struct chain_log log;
    chain_log_init(&log, 5);
    store(&log, 5);
    store(&log, 9);
    store(&log, 40);
    assert_int_equal(log.used, 3);
    check(&log, 5);
    check(&log, 9);
    check(&log, 40);
    for (instance_no i = 6; i < 40; i++)
        if (i != 9)
            assert_null(chain_log_get(&log, i));
    /* A slot in use comes back as it is, for overwriting. */
    struct chain_entry *e = chain_log_put(&log, 9);
    assert_int_equal(e->ballot.round, 9);
    e->decided = true;
    assert_true(chain_log_put(&log, 9)->decided);
    chain_log_reset(&log, 77);
    assert_int_equal(log.used, 0);
    assert_null(chain_log_get(&log, 40));
    store(&log, 77);
    check(&log, 77);
    /* A fresh slot never inherits the previous occupant's decided flag or bytes. */
    chain_log_release_through(&log, 77);
    e = chain_log_put(&log, 78);
    assert_false(e->decided);
    assert_int_equal(e->body.len, 0);
    chain_log_free(&log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_release),
        cmocka_unit_test(test_growth_keeps_everything),
        cmocka_unit_test(test_sparse_and_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
