#include "bench/report.h"

#include <stdint.h>

static void table_settings(const struct bench_report *r, FILE *out)
{
    const struct bench_options *o = r->options;
    fprintf(out, "catena-bench: driver %s, %zu host%s (", o->driver_name, o->host_count,
            o->host_count == 1 ? "" : "s");
    for (size_t i = 0; i < o->host_count; i++)
        fprintf(out, "%s%s:%d", i ? " " : "", o->hosts[i].name, o->hosts[i].port);
    fprintf(out, "), %zu connections on %zu thread%s, pipeline %zu, ", o->connections,
            o->threads, o->threads == 1 ? "" : "s", o->pipeline);
    if (o->target_rate_ops > 0)
        fprintf(out, "open loop at %.0f ops/s\n", o->target_rate_ops);
    else
        fprintf(out, "closed loop\n");
    fprintf(out, "  %.0f%% reads, %zu-byte values, %llu keys ", o->read_ratio * 100,
            o->value_size_bytes, (unsigned long long)o->keys);
    if (o->distribution == BENCH_ZIPFIAN)
        fprintf(out, "zipfian (theta %.2f)", o->theta);
    else
        fprintf(out, "uniform");
    fprintf(out, ", seed %llu; measured %.2f s after %.2f s of warm-up\n\n",
            (unsigned long long)o->seed, r->measured_s, o->warmup_s);
}

static void table_op(const struct bench_report *r, FILE *out, const char *name,
                     const struct bench_op_stats *s)
{
    const struct bench_histogram *h = &s->latency_ns;
    fprintf(out, "%-6s %12.0f %11llu %7llu %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f\n", name,
            bench_report_ops_per_s(r, s), (unsigned long long)s->ok,
            (unsigned long long)s->errors, bench_histogram_mean(h) / 1e6,
            (double)bench_histogram_percentile(h, 50) / 1e6,
            (double)bench_histogram_percentile(h, 90) / 1e6,
            (double)bench_histogram_percentile(h, 99) / 1e6,
            (double)bench_histogram_percentile(h, 99.9) / 1e6, (double)h->max / 1e6);
}

static void table_replicas(const struct bench_report *r, FILE *out)
{
    fprintf(out, "\nper replica, over the measured phase, per operation (servers' counters):\n");
    fprintf(out, "%-22s %4s %10s %10s %10s %11s %11s\n", "host", "id", "cpu us", "msgs sent",
            "msgs recv", "bytes sent", "bytes recv");
    for (size_t i = 0; i < r->replica_count; i++) {
        const struct bench_replica *p = &r->replicas[i];
        char host[BENCH_HOST_NAME_SIZE + 8];
        snprintf(host, sizeof host, "%s:%d", p->host.name, p->host.port);
        struct bench_replica_cost c;
        if (!bench_report_replica_cost(r, i, &c)) {
            fprintf(out, "%-22s %4s %s\n", host, "-", p->error);
            continue;
        }
        fprintf(out, "%-22s %4s ", host, p->after.id[0] ? p->after.id : "-");
        if (c.has_cpu)
            fprintf(out, "%10.2f", c.cpu_us);
        else
            fprintf(out, "%10s", "-");
        if (c.has_peer)
            fprintf(out, " %10.3f %10.3f %11.1f %11.1f\n", c.messages_sent, c.messages_received,
                    c.bytes_sent, c.bytes_received);
        else
            fprintf(out, " %10s %10s %11s %11s\n", "-", "-", "-", "-");
    }
    size_t b = bench_report_bottleneck(r);
    struct bench_replica_cost c;
    if (b != SIZE_MAX && bench_report_replica_cost(r, b, &c))
        fprintf(out, "bottleneck: %s:%d, %.2f us of CPU per operation\n", r->replicas[b].host.name,
                r->replicas[b].host.port, c.cpu_us);
}

void bench_report_print_table(const struct bench_report *r, FILE *out)
{
    table_settings(r, out);
    fprintf(out, "%-6s %12s %11s %7s %9s %9s %9s %9s %9s %9s\n", "op", "ops/s", "ops", "errors",
            "mean ms", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms");
    table_op(r, out, "read", &r->read);
    table_op(r, out, "write", &r->write);
    table_op(r, out, "all", &r->all);
    if (r->replica_count)
        table_replicas(r, out);
    fprintf(out, "\nerrors: %llu measured, %llu in the warm-up, %llu connections lost (%llu opened "
                 "again)",
            (unsigned long long)r->all.errors, (unsigned long long)r->warmup_errors,
            (unsigned long long)r->disconnects, (unsigned long long)r->reconnects);
    if (r->first_error[0])
        fprintf(out, "; first: %s", r->first_error);
    fputc('\n', out);
}
