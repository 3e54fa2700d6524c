/* A replica that falls behind is moved to the tail of the chain, and decisions then run at
 * the speed of the others (docs/protocols/chainpaxos-membership.md §3.4). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "chainpaxos_harness.h"

#define SLOW 1 /* node index of the slow replica: the leader's successor */

/* One tick of a loaded cluster: the leader (node 0) proposes `load` instances of one command
 * each, then every link delivers what it holds, except that the slow replica takes at most
 * one message per link. */
static void loaded_step(struct cp_cluster *cl, uint64_t *seq, size_t load)
{
    for (size_t k = 0; k < load; k++) {
        cp_submit(cl, 0, 0, ++*seq);
        cp_flush(cl, 0);
    }
    for (size_t from = 0; from < cl->n; from++)
        for (size_t to = 0; to < cl->n; to++) {
            if (to == SLOW) {
                cp_deliver_link(cl, from, to);
                continue;
            }
            while (cp_deliver_link(cl, from, to))
                ;
        }
    cp_tick_all(cl);
}

static bool slow_is_tail(const struct cp_cluster *cl)
{
    struct engine_status st;
    cp_status(cl, 0, &st);
    return st.chain_length == 3 && st.chain[2] == cl->nodes[SLOW].id;
}

static void test_slow_replica_moves_to_tail(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 3, NULL, 61, NULL);
    assert_true(cp_elect(&cl, 1000));
    cp_advance(&cl, 300);
    uint64_t seq = 0;

    /* While the slow replica is the leader's successor, every decision waits for it. */
    assert_false(slow_is_tail(&cl));
    size_t steps = 0;
    while (steps < 3000 && !slow_is_tail(&cl)) {
        loaded_step(&cl, &seq, 4);
        steps++;
    }
    assert_true(slow_is_tail(&cl));

    /* At the tail it holds back only the whole chain's acknowledgement: the leader decides
     * with the quorum point, now the fast replica. Compare equal windows. */
    const size_t window = 100;
    instance_no start = cp_executed(&cl, 0);
    for (size_t k = 0; k < window; k++)
        loaded_step(&cl, &seq, 4);
    instance_no after = cp_executed(&cl, 0) - start;
    print_message("moved to the tail after %zu steps; then %llu instances decided in %zu steps\n",
                  steps, (unsigned long long)after, window);
    assert_true(slow_is_tail(&cl));
    /* Before the move, at most one instance per step got through the slow replica. */
    assert_true(after >= 3 * window);

    /* Once it is no longer slow, it catches up and stays a member. */
    cp_advance(&cl, 3000);
    for (size_t k = 0; k < cl.n; k++) {
        struct engine_status st;
        cp_status(&cl, k, &st);
        assert_string_equal(st.membership, "member");
        assert_int_equal(st.chain_length, 3);
        assert_int_equal(cp_executed(&cl, k), cp_executed(&cl, 0));
    }
    cp_free(&cl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_replica_moves_to_tail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
