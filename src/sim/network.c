/* The virtual network: one link per direction between replicas, each with its own latency
 * (base + uniform jitter), loss, duplication and long-delay rates, either FIFO (TCP-like: a
 * message is never delivered before the previous one of its link) or reordering (independent
 * delays). Partitions block links (faults.c); a message sent on or arriving over a blocked
 * link is lost, as a broken TCP connection loses what was in flight.
 *
 * Swarm testing: each run draws which faults it has and how intense they are, so a campaign
 * covers light and heavy mixes of every kind instead of one average mix. */
#include "common/check.h"
#include "sim/internal.h"

#include <stdlib.h>
#include <string.h>

/* The longest delay of a single message where no replica fails (see sim_network_setup). */
#define SIM_STABLE_DELAY_MAX_US 250000

static bool sim_roll(struct rng *r, uint32_t ppm)
{
    return ppm && rng_below(r, 1000000) < ppm;
}

static uint64_t sim_pick(struct rng *r, const uint64_t *choices, size_t count)
{
    return choices[rng_below(r, count)];
}

void sim_network_setup(struct sim *s)
{
    struct sim_network *net = &s->net;
    const struct sim_profile *p = &s->opt.profile;
    struct rng *r = &s->rng;
    memset(net, 0, sizeof *net);
    net->n = s->n;
    rng_seed(&net->rng, s->opt.seed ^ 0x6e6574776f726bull); /* "network" */

    static const uint64_t loss_max[] = {1000, 5000, 20000, 50000};
    static const uint64_t dup_max[] = {1000, 10000, 50000};
    static const uint64_t delay_rate[] = {1000, 10000, 30000};
    static const uint64_t delay_max[] = {20000, 100000, 400000};
    static const uint64_t base[] = {100, 500, 1000, 3000};
    bool loss = p->loss && rng_below(r, 100) < 60;
    bool dup = p->duplicate && rng_below(r, 100) < 40;
    bool reorder = p->reorder && rng_below(r, 100) < 50;
    bool delay = p->delay && rng_below(r, 100) < 40;
    uint64_t run_loss = loss ? sim_pick(r, loss_max, 4) : 0;
    uint64_t run_dup = dup ? sim_pick(r, dup_max, 3) : 0;
    uint64_t run_delay = delay ? sim_pick(r, delay_rate, 3) : 0;
    uint64_t run_delay_max = delay ? sim_pick(r, delay_max, 3) : 0;
    uint64_t run_base = sim_pick(r, base, 4);
    /* Where no replica fails, the stability check requires that nobody be removed: that holds
     * only while a live next hop can answer within suspect_ms (600 ms). A PROBE goes every 50 ms
     * and a FIFO link delivers each message within its own delay, so two long delays, one each
     * way, must stay under about 275 ms. With 400 ms, any failure detector with that timeout
     * may suspect a live replica (lossy seed 761378, 5 replicas: 0 lost, 14 delayed, 600 ms
     * without an answer from the next hop). Elsewhere long delays stay up to 400 ms. */
    if (sim_only_message_faults(s) && run_delay_max > SIM_STABLE_DELAY_MAX_US)
        run_delay_max = SIM_STABLE_DELAY_MAX_US;
    /* Reordering intensity: the extra jitter of reordering links, in quarters of their base
     * latency (light: an occasional overtaking; heavy: most messages out of order, and the
     * chain mostly waits for retransmissions). */
    static const uint64_t reorder_quarters[] = {1, 3, 8};
    uint64_t run_reorder = reorder ? sim_pick(r, reorder_quarters, 3) : 0;
    for (size_t a = 0; a < s->n; a++)
        for (size_t b = 0; b < s->n; b++) {
            if (a == b)
                continue;
            struct sim_link *l = &net->links[a][b];
            l->base_us = run_base / 2 + rng_below(r, run_base + 1);
            l->jitter_us = rng_below(r, l->base_us + 1);
            l->loss_ppm = (uint32_t)rng_below(r, run_loss + 1);
            l->dup_ppm = (uint32_t)rng_below(r, run_dup + 1);
            l->delay_ppm = (uint32_t)rng_below(r, run_delay + 1);
            l->delay_max_us = run_delay_max;
            l->reorder = reorder && rng_below(r, 4) != 0;
            if (l->reorder)
                l->jitter_us += l->base_us * run_reorder / 4;
        }
}

static void sim_network_schedule(struct sim *s, struct sim_link *l, uint32_t from, uint32_t to,
                                 const uint8_t *data, size_t len)
{
    struct sim_network *net = &s->net;
    uint64_t delay = l->base_us + rng_below(&net->rng, l->jitter_us + 1);
    if (!net->perfect && sim_roll(&net->rng, l->delay_ppm)) {
        delay += rng_below(&net->rng, l->delay_max_us + 1);
        s->res->faults[SIM_FAULT_DELAY]++;
    }
    uint64_t at = s->now + delay;
    if (net->perfect || !l->reorder) {
        if (at < l->last_delivery)
            at = l->last_delivery;
    } else if (at < l->last_delivery) {
        s->res->faults[SIM_FAULT_REORDER]++;
    }
    if (at > l->last_delivery)
        l->last_delivery = at;
    struct sim_event e = {.time = at, .type = SIM_EV_DELIVER, .node = to, .from = from,
                          .len = len};
    e.data = malloc(len ? len : 1);
    CHECK(e.data != NULL);
    memcpy(e.data, data, len);
    sim_queue_push(&s->queue, &e);
}

void sim_network_send(struct sim *s, uint32_t from, uint32_t to, const uint8_t *data,
                      size_t len)
{
    struct sim_network *net = &s->net;
    struct sim_link *l = &net->links[from][to];
    s->res->messages++;
    sim_trace_event(s, SIM_TR_SEND, from, to, 0, 0, data, len);
    if (l->blocked) {
        s->res->faults[SIM_FAULT_PARTITION_DROP]++;
        sim_trace_event(s, SIM_TR_PARTITION_DROP, from, to, 0, 0, data, len);
        return;
    }
    if (!net->perfect && sim_roll(&net->rng, l->loss_ppm)) {
        s->res->faults[SIM_FAULT_LOSS]++;
        sim_trace_event(s, SIM_TR_LOSS, from, to, 0, 0, data, len);
        return;
    }
    sim_network_schedule(s, l, from, to, data, len);
    if (!net->perfect && sim_roll(&net->rng, l->dup_ppm)) {
        s->res->faults[SIM_FAULT_DUPLICATE]++;
        sim_trace_event(s, SIM_TR_DUP, from, to, 0, 0, data, len);
        sim_network_schedule(s, l, from, to, data, len);
    }
}

bool sim_network_cut(const struct sim *s, uint32_t from, uint32_t to)
{
    return s->net.links[from][to].blocked > 0;
}

void sim_network_heal(struct sim *s)
{
    s->net.perfect = true;
    for (size_t a = 0; a < s->n; a++)
        for (size_t b = 0; b < s->n; b++)
            s->net.links[a][b].blocked = 0;
}
