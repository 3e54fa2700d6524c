/* Fault profiles, planted-bug names, and the seeded fault schedule of one run: partitions
 * (symmetric or one-way, any subset of replicas), pauses (a GC-like stall: the replica handles
 * nothing, messages wait for it) and crashes (volatile state lost) with restarts. Every fault
 * of the schedule ends before healing starts. Network-level faults (loss, duplication,
 * reordering, delays) are per message, drawn by network.c. */
#include "common/check.h"
#include "sim/internal.h"

#include <stdlib.h>
#include <string.h>

static const struct sim_profile sim_profiles[] = {
    {"chainpaxos", true, true, true, true, true, false, false, false, false, false},
    {"network", true, true, true, true, true, false, false, false, false, false},
    {"none", false, false, false, false, false, false, false, false, false, false},
    {"lossy", true, true, true, true, false, false, false, false, false, false},
    {"pauses", true, true, true, true, true, true, false, false, false, false},
    {"crashes", true, true, true, true, true, true, true, false, false, false},
    {"durable", true, true, true, true, true, true, true, true, false, false},
    {"durable-reorder", true, true, true, true, true, true, true, true, true, false},
    {"operator", true, true, true, true, true, true, true, true, false, true},
};

bool sim_profile_find(const char *name, struct sim_profile *out)
{
    for (size_t i = 0; i < sizeof sim_profiles / sizeof sim_profiles[0]; i++)
        if (strcmp(name, sim_profiles[i].name) == 0) {
            *out = sim_profiles[i];
            return true;
        }
    return false;
}

const char *sim_profile_names(void)
{
    return "chainpaxos (default: loss, duplication, reordering, delays, partitions), network "
           "(same), lossy (no partitions), none, pauses (+ pauses), crashes (+ pauses, "
           "crash/restart), durable (+ disks, power losses), durable-reorder (+ unsynced writes "
           "reordered), operator (durable + an operator's REMOVE/ADD)";
}

static const struct {
    const char *name;
    uint32_t bit;
} sim_bugs[] = {
    {"read-without-wait", ENGINE_BUG_READ_WITHOUT_WAIT},
    {"accept-gaps", ENGINE_BUG_ACCEPT_GAPS},
    {"no-retransmit", ENGINE_BUG_NO_RETRANSMIT},
    {"leader-vote-early", ENGINE_BUG_LEADER_VOTE_EARLY},
};

const char *sim_bug_name(size_t i)
{
    return i < sizeof sim_bugs / sizeof sim_bugs[0] ? sim_bugs[i].name : NULL;
}

uint32_t sim_bug_find(const char *name)
{
    for (size_t i = 0; i < sizeof sim_bugs / sizeof sim_bugs[0]; i++)
        if (strcmp(name, sim_bugs[i].name) == 0)
            return sim_bugs[i].bit;
    return 0;
}

const char *sim_bug_names(void)
{
    return "read-without-wait, accept-gaps, no-retransmit, leader-vote-early";
}

const char *sim_fault_name(enum sim_fault_kind kind)
{
    static const char *names[SIM_FAULT_KINDS] = {
        "lost", "duplicated", "reordered", "delayed", "partitions", "partition-drops",
        "pauses", "crashes", "power-losses", "recoveries", "operator"};
    return (unsigned)kind < SIM_FAULT_KINDS ? names[kind] : "?";
}

static void sim_plan_add(struct sim *s, struct sim_plan_item item)
{
    s->plan = realloc(s->plan, (s->plan_count + 1) * sizeof *s->plan);
    CHECK(s->plan != NULL);
    s->plan[s->plan_count++] = item;
}

/* A window [start, end) inside the fault phase, of one of a few typical lengths. */
static void sim_plan_window(struct sim *s, const uint64_t *lengths, size_t count,
                            uint64_t *start, uint64_t *end)
{
    uint64_t len = lengths[rng_below(&s->rng, count)];
    len = len / 2 + rng_below(&s->rng, len + 1);
    *start = rng_below(&s->rng, s->fault_end);
    *end = *start + len;
    if (*end > s->fault_end)
        *end = s->fault_end;
}

static void sim_plan_partitions(struct sim *s)
{
    static const uint64_t lengths[] = {50000, 200000, 500000};
    uint64_t count = 1 + rng_below(&s->rng, 4);
    for (uint64_t i = 0; i < count; i++) {
        uint64_t start, end;
        sim_plan_window(s, lengths, 3, &start, &end);
        /* A non-empty proper subset of the replicas. */
        uint64_t side = 1 + rng_below(&s->rng, ((uint64_t)1 << s->n) - 2);
        bool one_way = rng_below(&s->rng, 2) == 0;
        sim_plan_add(s, (struct sim_plan_item){.time = start, .kind = SIM_PLAN_PARTITION_START,
                                               .side = side, .one_way = one_way});
        sim_plan_add(s, (struct sim_plan_item){.time = end, .kind = SIM_PLAN_PARTITION_END,
                                               .side = side, .one_way = one_way});
    }
}

static void sim_plan_pauses(struct sim *s)
{
    static const uint64_t lengths[] = {20000, 200000, 1000000};
    uint64_t count = 1 + rng_below(&s->rng, 3);
    for (uint64_t i = 0; i < count; i++) {
        uint64_t start, end;
        sim_plan_window(s, lengths, 3, &start, &end);
        uint32_t node = (uint32_t)rng_below(&s->rng, s->n);
        sim_plan_add(s, (struct sim_plan_item){.time = start, .kind = SIM_PLAN_PAUSE,
                                               .node = node, .until = end});
    }
}

static void sim_plan_crashes(struct sim *s)
{
    static const uint64_t lengths[] = {100000, 500000, 1000000};
    uint64_t count = 1 + rng_below(&s->rng, 2);
    for (uint64_t i = 0; i < count; i++) {
        uint64_t start, end;
        sim_plan_window(s, lengths, 3, &start, &end);
        uint32_t node = (uint32_t)rng_below(&s->rng, s->n);
        sim_plan_add(s, (struct sim_plan_item){.time = start, .kind = SIM_PLAN_CRASH,
                                               .node = node});
        sim_plan_add(s, (struct sim_plan_item){.time = end, .kind = SIM_PLAN_RESTART,
                                               .node = node});
    }
}

/* The operator removes a replica through any replica, and adds it back through any after a
 * while (the one it asks may be down by then: sim_operator_request picks another). */
static void sim_plan_operator(struct sim *s)
{
    static const uint64_t lengths[] = {100000, 500000, 1500000};
    uint64_t count = 1 + rng_below(&s->rng, 3);
    for (uint64_t i = 0; i < count; i++) {
        uint64_t start, end;
        sim_plan_window(s, lengths, 3, &start, &end);
        uint32_t node = (uint32_t)rng_below(&s->rng, s->n);
        sim_plan_add(s, (struct sim_plan_item){.time = start, .kind = SIM_PLAN_OPERATOR_REMOVE,
                                               .node = node,
                                               .via = (uint32_t)rng_below(&s->rng, s->n)});
        sim_plan_add(s, (struct sim_plan_item){.time = end, .kind = SIM_PLAN_OPERATOR_ADD,
                                               .node = node,
                                               .via = (uint32_t)rng_below(&s->rng, s->n)});
    }
}

/* Every replica crashes at once (a power loss) and each restarts after its own delay. */
static void sim_plan_power_loss(struct sim *s)
{
    static const uint64_t lengths[] = {50000, 300000, 1000000};
    uint64_t start, end;
    sim_plan_window(s, lengths, 3, &start, &end);
    for (uint32_t r = 0; r < s->n; r++)
        sim_plan_add(s, (struct sim_plan_item){.time = start, .kind = SIM_PLAN_CRASH,
                                               .node = r, .power_loss = r == 0});
    for (uint32_t r = 0; r < s->n; r++)
        sim_plan_add(s, (struct sim_plan_item){
                            .time = start + rng_below(&s->rng, end - start + 1),
                            .kind = SIM_PLAN_RESTART, .node = r});
}

void sim_faults_plan(struct sim *s)
{
    const struct sim_profile *p = &s->opt.profile;
    if (p->partition && s->n > 1 && rng_below(&s->rng, 100) < 40)
        sim_plan_partitions(s);
    if (p->pause && rng_below(&s->rng, 100) < 50)
        sim_plan_pauses(s);
    if (p->crash && rng_below(&s->rng, 100) < 50)
        sim_plan_crashes(s);
    if (p->durable && rng_below(&s->rng, 100) < 30)
        sim_plan_power_loss(s);
    if (p->operator_changes)
        sim_plan_operator(s);
    /* Pushed in plan order: among equal times the queue keeps that order, so a window's end
     * never runs before its start. */
    for (size_t i = 0; i < s->plan_count; i++)
        sim_queue_push(&s->queue, &(struct sim_event){.time = s->plan[i].time,
                                                      .type = SIM_EV_FAULT, .arg = i});
}

static void sim_partition(struct sim *s, const struct sim_plan_item *it, int delta)
{
    for (size_t a = 0; a < s->n; a++)
        for (size_t b = 0; b < s->n; b++) {
            bool a_in = it->side >> a & 1, b_in = it->side >> b & 1;
            if (a == b || a_in == b_in || (it->one_way && !a_in))
                continue;
            struct sim_link *l = &s->net.links[a][b];
            if (delta > 0 || l->blocked > 0)
                l->blocked += delta;
        }
}

/* ---- the fault model -------------------------------------------------------------------
 *
 * A crash loses the replica's whole state (there is no durable storage yet): until it is
 * removed and added back with a state transfer, it is a member whose votes are lost, a fault
 * that lasts. Paxos promises progress only while at most f = (n - 1) / 2 members of a
 * configuration are faulty at once, so once a crash is involved, faults are counted: a
 * member is faulty while it is down, restarted and not back, paused, or cut off from a
 * majority by partitions. A crash, or a partition or pause while a member has lost its state,
 * that would make more than f faulty in some configuration is outside the model and is
 * skipped. The configurations are those of every member, and those their logs lead to (a
 * change in flight). Without lost state every fault heals and nothing is counted. */

static bool sim_cut_off(const struct sim *s, uint32_t r)
{
    size_t out = 1, in = 1;
    for (uint32_t x = 0; x < s->n; x++)
        if (x != r) {
            out += s->net.links[r][x].blocked == 0;
            in += s->net.links[x][r].blocked == 0;
        }
    return out < s->n / 2 + 1 || in < s->n / 2 + 1;
}

/* True if the configuration (ids) has lost no state, or no more than f faulty members;
 * `crashing` (unless SIM_MAX_NODES) counts as having lost its state. */
static bool sim_config_ok(const struct sim *s, const node_id *ids, size_t n, uint32_t crashing)
{
    size_t faulty = 0;
    bool lost = false;
    for (size_t k = 0; k < n; k++) {
        uint32_t r = ids[k] - 1;
        bool amnesic = r == crashing || !sim_replica_member(s, r);
        lost |= amnesic;
        faulty += amnesic || s->replicas[r].paused_until > s->now || sim_cut_off(s, r);
    }
    return !lost || faulty <= (n - 1) / 2;
}

/* True if the fault just applied (or `crashing`, about to be) keeps the run within the
 * model. */
static bool sim_within_model(const struct sim *s, uint32_t crashing)
{
    if (s->opt.profile.durable)
        return true; /* nothing is lost for good: every fault heals */
    struct engine_status st;
    for (uint32_t r = 0; r < s->n; r++) {
        if (!sim_replica_member(s, r))
            continue;
        s->ops->status(s->replicas[r].engine, &st);
        if (!sim_config_ok(s, st.chain, st.chain_length, crashing) ||
            !sim_config_ok(s, st.next_members, st.next_member_count, crashing))
            return false;
    }
    return true;
}

void sim_faults_apply(struct sim *s, uint64_t index)
{
    struct sim_plan_item *it = &s->plan[index];
    switch (it->kind) {
    case SIM_PLAN_PARTITION_START:
        sim_partition(s, it, +1);
        if (!sim_within_model(s, SIM_MAX_NODES)) {
            sim_partition(s, it, -1);
            it->skipped = true;
            break;
        }
        s->res->faults[SIM_FAULT_PARTITION]++;
        sim_trace_event(s, SIM_TR_FAULT, 0, 0, it->side, it->one_way, NULL, 0);
        break;
    case SIM_PLAN_PARTITION_END: {
        const struct sim_plan_item *start = it - 1; /* planned as a pair */
        if (start->skipped)
            break;
        sim_partition(s, it, -1);
        sim_trace_event(s, SIM_TR_FAULT, 0, 0, it->side, 2 + it->one_way, NULL, 0);
        break;
    }
    case SIM_PLAN_PAUSE: {
        uint64_t before = s->replicas[it->node].paused_until;
        if (it->until > before)
            s->replicas[it->node].paused_until = it->until;
        if (!sim_within_model(s, SIM_MAX_NODES)) {
            s->replicas[it->node].paused_until = before;
            break;
        }
        s->res->faults[SIM_FAULT_PAUSE]++;
        sim_trace_event(s, SIM_TR_FAULT, it->node, 0, it->until, 4, NULL, 0);
        /* Like an event loop after a stall, the process runs its timers before it reads what
         * arrived meanwhile: everything deferred to `until` is queued after this. */
        sim_queue_push(&s->queue,
                       &(struct sim_event){.time = it->until, .type = SIM_EV_RESUME,
                                           .node = it->node,
                                           .arg = s->replicas[it->node].incarnation});
        break;
    }
    case SIM_PLAN_CRASH:
        if (!s->replicas[it->node].up || !sim_within_model(s, it->node))
            break;
        s->res->faults[SIM_FAULT_CRASH]++;
        s->res->faults[SIM_FAULT_POWER_LOSS] += it->power_loss;
        sim_trace_event(s, SIM_TR_FAULT, it->node, 0, 0, 5, NULL, 0);
        sim_replica_crash(s, it->node);
        break;
    case SIM_PLAN_RESTART:
        if (s->replicas[it->node].up)
            break;
        sim_trace_event(s, SIM_TR_FAULT, it->node, 0, 0, 6, NULL, 0);
        sim_replica_start(s, it->node);
        break;
    case SIM_PLAN_OPERATOR_REMOVE:
    case SIM_PLAN_OPERATOR_ADD:
        sim_operator_request(s, it->via, it->node, it->kind == SIM_PLAN_OPERATOR_ADD);
        break;
    }
}

/* True if the profile injects message faults only: no replica fails or is cut off. */
bool sim_only_message_faults(const struct sim *s)
{
    const struct sim_profile *p = &s->opt.profile;
    return !p->partition && !p->pause && !p->crash && !p->operator_changes;
}

/* Lost, duplicated, reordered or delayed messages must never get a replica removed:
 * retransmission masks them, and the failure detector must not take them for a crash. */
void sim_check_stability(struct sim *s, uint32_t r)
{
    if (!sim_only_message_faults(s))
        return;
    sim_violation(s, SIM_CHECK_STABILITY,
                  "replica %u was removed though no replica failed (the network only lost, "
                  "duplicated, reordered or delayed messages)",
                  r + 1);
}

/* Nor may they keep deposing the leader. A message delayed beyond the leader timeout can cost
 * an election, so a few are allowed: with 3 replicas, seeds 1-2,000 of the lossy profile
 * changed leaders 11 times in all, never more than twice in a run. Without retransmission (the
 * no-retransmit planted bug) 1,249 of those runs changed it more than twice; before probe
 * replies counted as signs of life (membership §3.2) that bug removed replicas instead. */
#define SIM_STABLE_LEADER_CHANGES 2

void sim_note_leader(struct sim *s, uint32_t r, node_id leader)
{
    node_id last = s->last_leader;
    s->last_leader = leader;
    if (last == NODE_NONE || leader == last)
        return;
    if (++s->res->leader_changes > SIM_STABLE_LEADER_CHANGES && sim_only_message_faults(s))
        sim_violation(s, SIM_CHECK_STABILITY,
                      "replica %u follows replica %u, leader change %llu though no replica "
                      "failed (the network only lost, duplicated, reordered or delayed messages)",
                      r + 1, leader, (unsigned long long)s->res->leader_changes);
}
