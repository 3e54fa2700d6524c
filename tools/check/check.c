/* check_history: partition the history into key groups, search each one, and report the
 * smallest group that is not linearizable. */
#include "check/check.h"

#include "check/internal.h"

#include <stdlib.h>

#define DEFAULT_MAX_STATES 10000000u
#define REPORT_MIN_STATES 100000u /* budget of the second search, made for the report only */

struct failure {
    size_t nops;
    char *report;
};

/* The second search, made for the report only: without the per-key checks, which refuse
 * wrong writes so early that the failing search never gets deep. */
static char *make_report(const struct history *h, const struct partition *p,
                         const struct group *g, const struct compiled *c, struct model *m,
                         const struct search_result *r, uint64_t max_states, uint64_t *states)
{
    struct search_result plain;
    uint64_t budget = r->states * 4 > REPORT_MIN_STATES ? r->states * 4 : REPORT_MIN_STATES;
    search_group(c, m, budget < max_states ? budget : max_states, 0, &plain);
    *states += plain.states;
    plain.dead_slot = r->dead_slot;
    char *report = report_failure(h, p, g, c, m, plain.blocked != UINT32_MAX ? &plain : r);
    search_result_free(&plain);
    return report;
}

/* Searches a group: with every refinement first; a failure is then confirmed by a search
 * without the unknown rule (whose argument holds for whole orders, not obviously for each
 * point as the memo needs), unless a key alone already failed. */
static enum check_verdict search(const struct compiled *c, struct model *m, uint64_t max_states,
                                 uint64_t *states, struct search_result *r)
{
    search_group(c, m, max_states, SEARCH_KEYCHECK | SEARCH_UNKNOWN_RULE, r);
    *states += r->states;
    if (r->verdict != CHECK_NOT_LINEARIZABLE || r->dead_slot != UINT32_MAX || !c->nunknown)
        return r->verdict;
    search_result_free(r);
    search_group(c, m, max_states, SEARCH_KEYCHECK, r);
    *states += r->states;
    return r->verdict;
}

/* Checks one group; keeps its report when it is the smallest failing group so far. */
static enum check_verdict check_group(const struct history *h, const struct partition *p,
                                      const struct group *g, uint64_t max_states,
                                      uint64_t *states, struct failure *worst)
{
    struct model m;
    model_init(&m, (uint32_t)g->nkeys);
    struct compiled c;
    compile_group(&c, &m, h, p, g);
    struct search_result r;
    enum check_verdict verdict = search(&c, &m, max_states, states, &r);
    if (verdict == CHECK_NOT_LINEARIZABLE && (!worst->report || g->nops < worst->nops)) {
        free(worst->report);
        worst->report = make_report(h, p, g, &c, &m, &r, max_states, states);
        worst->nops = g->nops;
    }
    search_result_free(&r);
    compiled_free(&c);
    model_free(&m);
    return verdict;
}

void check_history(const struct history *h, const struct check_limits *limits,
                   struct check_result *result)
{
    uint64_t max_states = limits && limits->max_states ? limits->max_states : DEFAULT_MAX_STATES;
    *result = (struct check_result){.verdict = CHECK_LINEARIZABLE};
    struct partition p;
    partition_build(&p, h);
    struct failure worst = {0};
    bool gave_up = false;
    for (size_t i = 0; i < p.ngroups; i++) {
        enum check_verdict v = check_group(h, &p, &p.groups[i], max_states, &result->states,
                                           &worst);
        gave_up |= v == CHECK_GAVE_UP;
    }
    result->groups = p.ngroups;
    if (worst.report) {
        result->verdict = CHECK_NOT_LINEARIZABLE;
        result->report = worst.report;
    } else if (gave_up) {
        result->verdict = CHECK_GAVE_UP;
    }
    partition_free(&p);
}

void check_result_free(struct check_result *r)
{
    free(r->report);
    r->report = NULL;
}
