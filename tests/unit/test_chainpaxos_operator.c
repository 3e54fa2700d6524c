/* Operators' membership changes taken by a follower reach the leader even when the first
 * CHANGE_REQUEST is lost (docs/protocols/chainpaxos-membership.md §6.5). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "chainpaxos_harness.h"

/* An operator's REMOVE of `node` handed to node k (as CATENA.REMOVE does). */
static void operator_remove(struct cp_cluster *cl, size_t k, node_id node)
{
    struct buf b;
    buf_init(&b);
    buf_put_u8(&b, ENGINE_CHANGE_REMOVE);
    buf_put_u32(&b, node);
    cp_step(cl, k, (struct engine_event){.type = ENGINE_EVENT_CHANGE, .data = b.data,
                                         .len = b.len});
    cp_end_iteration(cl, k);
    buf_free(&b);
}

static size_t chain_length(const struct cp_cluster *cl, size_t k)
{
    struct engine_status st;
    cp_status(cl, k, &st);
    return st.chain_length;
}

static void test_lost_change_request_is_resent(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 3, NULL, 71, NULL);
    assert_true(cp_elect(&cl, 1000));
    cp_advance(&cl, 300);
    operator_remove(&cl, 1, cl.nodes[2].id);
    /* The follower's CHANGE_REQUEST to the leader is lost. */
    assert_true(cl.links[1][0].count >= 1);
    cp_link_cut(&cl, 1, 0);
    cp_advance(&cl, 2000);
    assert_int_equal(chain_length(&cl, 0), 2);
    assert_int_equal(chain_length(&cl, 1), 2);
    cp_free(&cl);
}

static void test_change_waits_for_a_leader(void **state)
{
    (void)state;
    struct cp_cluster cl;
    cp_init(&cl, 3, NULL, 72, NULL);
    /* Taken before any leader is known: it goes to the first one. */
    operator_remove(&cl, 1, cl.nodes[2].id);
    assert_true(cp_elect(&cl, 1000));
    cp_advance(&cl, 2000);
    assert_int_equal(chain_length(&cl, 0), 2);
    cp_free(&cl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lost_change_request_is_resent),
        cmocka_unit_test(test_change_waits_for_a_leader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
