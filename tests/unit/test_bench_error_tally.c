/* catena-bench's failures by kind (error_tally.c): counted per text, merged across workers,
 * kinds past the table's size counted together, and the summary line's form. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "bench/error_tally.h"

#include <stdlib.h>
#include <string.h>

static void same_text_is_one_kind_in_the_order_first_seen(void **state)
{
    (void)state;
    struct bench_error_tally t = {0};
    bench_error_tally_add(&t, "h:1: operation timeout (ZooKeeper error -7)", 1);
    bench_error_tally_add(&t, "h:1: connection lost", 1);
    bench_error_tally_add(&t, "h:1: operation timeout (ZooKeeper error -7)", 2);
    assert_int_equal(t.kind_count, 2);
    assert_string_equal(t.kinds[0].text, "h:1: operation timeout (ZooKeeper error -7)");
    assert_int_equal(t.kinds[0].count, 3);
    assert_int_equal(bench_error_tally_total(&t), 4);
}

static void kinds_past_the_table_are_counted_as_others(void **state)
{
    (void)state;
    struct bench_error_tally t = {0}, sum = {0};
    char text[32];
    for (int i = 0; i < BENCH_ERROR_KINDS + 3; i++) {
        snprintf(text, sizeof text, "error %d", i);
        bench_error_tally_add(&t, text, 1);
    }
    assert_int_equal(t.kind_count, BENCH_ERROR_KINDS);
    assert_int_equal(t.others, 3);
    bench_error_tally_merge(&sum, &t);
    bench_error_tally_merge(&sum, &t);
    assert_int_equal(sum.kinds[0].count, 2);
    assert_int_equal(bench_error_tally_total(&sum), 2 * (BENCH_ERROR_KINDS + 3));
}

static void long_texts_are_cut(void **state)
{
    (void)state;
    struct bench_error_tally t = {0};
    char text[2 * BENCH_ERROR_TEXT_SIZE];
    memset(text, 'x', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    bench_error_tally_add(&t, text, 1);
    bench_error_tally_add(&t, text, 1);
    assert_int_equal(strlen(t.kinds[0].text), BENCH_ERROR_TEXT_SIZE - 1);
    assert_int_equal(t.kinds[0].count, 2);
}

static void summary_lists_each_kind_with_its_count(void **state)
{
    (void)state;
    struct bench_error_tally t = {0};
    char *line = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&line, &size);
    bench_error_tally_print(&t, out); /* nothing when there was no failure */
    fflush(out);
    assert_int_equal(size, 0);
    bench_error_tally_add(&t, "a:1: operation timeout (ZooKeeper error -7)", 3);
    bench_error_tally_add(&t, "a:1: connection lost", 1);
    bench_error_tally_print(&t, out);
    fclose(out);
    assert_string_equal(line, "3 x a:1: operation timeout (ZooKeeper error -7); "
                              "1 x a:1: connection lost");
    free(line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_text_is_one_kind_in_the_order_first_seen),
        cmocka_unit_test(kinds_past_the_table_are_counted_as_others),
        cmocka_unit_test(long_texts_are_cut),
        cmocka_unit_test(summary_lists_each_kind_with_its_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
