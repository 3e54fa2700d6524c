#include "bench/report.h"

#include <stdint.h>

void bench_report_print(const struct bench_report *r, FILE *out)
{
    switch (r->options->output) {
    case BENCH_OUTPUT_TABLE: bench_report_print_table(r, out); break;
    case BENCH_OUTPUT_CSV: bench_report_print_csv(r, out); break;
    case BENCH_OUTPUT_JSON: bench_report_print_json(r, out); break;
    }
}

bool bench_report_replica_cost(const struct bench_report *r, size_t i,
                               struct bench_replica_cost *cost)
{
    const struct bench_replica *p = &r->replicas[i];
    *cost = (struct bench_replica_cost){0};
    if (!p->measured)
        return false;
    const struct bench_server_counters *a = &p->before, *b = &p->after;
    double ops = (double)r->all.ok;
    if (ops == 0)
        ops = 1; /* nothing succeeded: the cost of the run as a whole */
    cost->has_cpu = a->has_cpu && b->has_cpu;
    cost->has_peer = a->has_peer && b->has_peer;
    cost->cpu_us = (b->cpu_s - a->cpu_s) * 1e6 / ops;
    cost->messages_sent = (double)(b->peer_messages_sent - a->peer_messages_sent) / ops;
    cost->messages_received = (double)(b->peer_messages_received - a->peer_messages_received) / ops;
    cost->bytes_sent = (double)(b->peer_bytes_sent - a->peer_bytes_sent) / ops;
    cost->bytes_received = (double)(b->peer_bytes_received - a->peer_bytes_received) / ops;
    return true;
}

size_t bench_report_bottleneck(const struct bench_report *r)
{
    size_t best = SIZE_MAX;
    double best_cpu_us = -1;
    for (size_t i = 0; i < r->replica_count; i++) {
        struct bench_replica_cost cost;
        if (bench_report_replica_cost(r, i, &cost) && cost.has_cpu && cost.cpu_us > best_cpu_us) {
            best = i;
            best_cpu_us = cost.cpu_us;
        }
    }
    return best;
}

double bench_report_ops_per_s(const struct bench_report *r, const struct bench_op_stats *s)
{
    return r->measured_s > 0 ? (double)s->ok / r->measured_s : 0;
}

uint64_t bench_report_errors(const struct bench_report *r)
{
    return r->all.errors + r->warmup_errors + r->disconnects;
}
