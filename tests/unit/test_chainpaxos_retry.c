/* Commands in flight are resubmitted by their origin until they execute, and the session rule
 * (kv/apply.h) runs each exactly once, in the order its client sent them: a lost FORWARD, a
 * FORWARD overtaken by a later one, and copies of commands that were only delayed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "chainpaxos_harness.h"
#include "protocols/chainpaxos/messages.h"

#define FORWARD_BIT (1u << CHAIN_MSG_FORWARD)

static void submit_commands(struct cp_cluster *cl, size_t k, int count)
{
    for (int i = 0; i < count; i++)
        cp_submit_next(cl, k, 1);
    cp_end_iteration(cl, k);
}

static size_t copies_at(const struct cp_cluster *cl, size_t k)
{
    struct cp_seen x = {.cl = cl};
    for (size_t o = 0; o < cl->n; o++)
        for (size_t c = 0; c < CP_CLIENTS; c++)
            x.seen[o][c] = calloc(cl->next_seq[o][c] + 1, 1);
    cp_for_each_command(cl, k, cp_seen_command, &x);
    for (size_t o = 0; o < cl->n; o++)
        for (size_t c = 0; c < CP_CLIENTS; c++)
            free(x.seen[o][c]);
    return x.copies;
}

static void a_lost_forward_is_resubmitted_and_runs_once(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 3, NULL, 5, NULL);
    assert_true(cp_elect(&cl, 1000));
    cl.links[2][0].drop_types = FORWARD_BIT; /* replica 3 -> leader */
    submit_commands(&cl, 2, 5);
    cp_run(&cl);
    cp_advance(&cl, 300);
    assert_int_equal(cp_batches_executed(&cl, 0), 0);
    cl.links[2][0].drop_types = 0;
    cp_advance(&cl, 1500);
    for (size_t k = 0; k < 3; k++)
        cp_check_commands(&cl, k);
    cp_free(&cl);
}

static void a_forward_overtaken_by_a_later_one_waits_for_its_resubmission(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 3, NULL, 6, NULL);
    assert_true(cp_elect(&cl, 1000));
    submit_commands(&cl, 1, 2);     /* seq 1, 2 in one FORWARD: lost */
    cp_link_drop_head(&cl, 1, 0);
    submit_commands(&cl, 1, 2);     /* seq 3, 4 arrive first: skipped as a gap */
    cp_run(&cl);
    assert_true(cp_batches_executed(&cl, 0) >= 1);
    cp_advance(&cl, 1500);          /* resubmission of 1..4, in order */
    for (size_t k = 0; k < 3; k++) {
        cp_check_commands(&cl, k);
        assert_true(copies_at(&cl, k) >= 2);
    }
    cp_free(&cl);
}

static void delayed_commands_and_their_copies_run_once(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 5, NULL, 8, NULL);
    assert_true(cp_elect(&cl, 1000));
    submit_commands(&cl, 3, 4);
    /* Hold the FORWARD past the resend time, then let everything through. */
    struct cp_link held = cl.links[3][0];
    memset(&cl.links[3][0], 0, sizeof held);
    cp_advance(&cl, 1200);
    while (held.count > 0) {
        struct cp_msg msg = cp_link_pop(&held);
        cp_link_push(&cl.links[3][0], msg.data, msg.len);
        free(msg.data);
    }
    free(held.items);
    cp_advance(&cl, 500);
    for (size_t k = 0; k < 5; k++) {
        cp_check_commands(&cl, k);
        assert_true(copies_at(&cl, k) >= 4);
    }
    cp_free(&cl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_lost_forward_is_resubmitted_and_runs_once),
        cmocka_unit_test(a_forward_overtaken_by_a_later_one_waits_for_its_resubmission),
        cmocka_unit_test(delayed_commands_and_their_copies_run_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
