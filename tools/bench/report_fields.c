#include "bench/report.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Appends fields to a fixed array; names and texts are formatted in place. */
struct field_list {
    struct bench_field *fields;
    size_t count;
};

static struct bench_field *field_add(struct field_list *l, enum bench_field_kind kind,
                                     const char *prefix, const char *name)
{
    if (l->count == BENCH_FIELDS_MAX)
        return NULL;
    struct bench_field *f = &l->fields[l->count++];
    memset(f, 0, sizeof *f);
    f->kind = kind;
    snprintf(f->name, sizeof f->name, "%s%s", prefix, name);
    return f;
}

static void field_integer(struct field_list *l, const char *prefix, const char *name,
                          uint64_t value)
{
    struct bench_field *f = field_add(l, BENCH_FIELD_INTEGER, prefix, name);
    if (f)
        f->integer = value;
}

static void field_real(struct field_list *l, const char *prefix, const char *name, double value)
{
    struct bench_field *f = field_add(l, BENCH_FIELD_REAL, prefix, name);
    if (f)
        f->real = value;
}

static void field_text(struct field_list *l, const char *name, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static void field_text(struct field_list *l, const char *name, const char *format, ...)
{
    struct bench_field *f = field_add(l, BENCH_FIELD_TEXT, "", name);
    if (!f)
        return;
    va_list ap;
    va_start(ap, format);
    vsnprintf(f->text, sizeof f->text, format, ap);
    va_end(ap);
}

static void fields_settings(struct field_list *l, const struct bench_options *o)
{
    field_text(l, "driver", "%s", o->driver_name);
    struct bench_field *hosts = field_add(l, BENCH_FIELD_TEXT, "", "hosts");
    for (size_t i = 0; hosts && i < o->host_count; i++) {
        size_t used = strlen(hosts->text);
        snprintf(hosts->text + used, sizeof hosts->text - used, "%s%s:%d", i ? ";" : "",
                 o->hosts[i].name, o->hosts[i].port);
    }
    field_integer(l, "", "connections", o->connections);
    field_integer(l, "", "threads", o->threads);
    field_integer(l, "", "pipeline", o->pipeline);
    field_real(l, "", "target_rate_ops", o->target_rate_ops);
    field_real(l, "", "read_ratio", o->read_ratio);
    field_integer(l, "", "value_size_bytes", o->value_size_bytes);
    field_integer(l, "", "keys", o->keys);
    field_text(l, "distribution", "%s", o->distribution == BENCH_ZIPFIAN ? "zipfian" : "uniform");
    field_real(l, "", "theta", o->distribution == BENCH_ZIPFIAN ? o->theta : 0);
    field_integer(l, "", "seed", o->seed);
    field_real(l, "", "warmup_s", o->warmup_s);
}

/* ops, errors, ops/s and latencies in microseconds, for one of read, write, all. */
static void fields_op(struct field_list *l, const struct bench_report *r, const char *prefix,
                      const struct bench_op_stats *s)
{
    static const struct {
        const char *name;
        double percentile;
    } percentiles[] = {{"p50_us", 50}, {"p90_us", 90}, {"p99_us", 99}, {"p999_us", 99.9}};
    field_integer(l, prefix, "ops", s->ok);
    field_integer(l, prefix, "errors", s->errors);
    field_real(l, prefix, "ops_per_s", bench_report_ops_per_s(r, s));
    field_real(l, prefix, "mean_us", bench_histogram_mean(&s->latency_ns) / 1e3);
    for (size_t i = 0; i < sizeof percentiles / sizeof percentiles[0]; i++)
        field_real(l, prefix, percentiles[i].name,
                   (double)bench_histogram_percentile(&s->latency_ns, percentiles[i].percentile) /
                       1e3);
    field_real(l, prefix, "max_us", (double)s->latency_ns.max / 1e3);
}

/* The per-replica figures, each a ';'-separated list in --hosts order ("" where unknown). */
enum replica_figure { FIGURE_CPU, FIGURE_SENT, FIGURE_RECEIVED, FIGURE_BYTES_SENT,
                      FIGURE_BYTES_RECEIVED, FIGURES };
static const char *const replica_figure_names[FIGURES] = {
    "replica_cpu_us_per_op", "replica_messages_sent_per_op", "replica_messages_received_per_op",
    "replica_bytes_sent_per_op", "replica_bytes_received_per_op"};

static void fields_replica_list(struct field_list *l, const struct bench_report *r,
                                enum replica_figure figure)
{
    struct bench_field *f = field_add(l, BENCH_FIELD_TEXT, "", replica_figure_names[figure]);
    for (size_t i = 0; f && i < r->replica_count; i++) {
        struct bench_replica_cost c;
        size_t used = strlen(f->text);
        bool known = bench_report_replica_cost(r, i, &c) &&
                     (figure == FIGURE_CPU ? c.has_cpu : c.has_peer);
        double values[FIGURES] = {c.cpu_us, c.messages_sent, c.messages_received, c.bytes_sent,
                                  c.bytes_received};
        snprintf(f->text + used, sizeof f->text - used, known ? "%s%.3f" : "%s", i ? ";" : "",
                 values[figure]);
    }
}

static void fields_replicas(struct field_list *l, const struct bench_report *r, bool lists)
{
    size_t b = bench_report_bottleneck(r);
    struct bench_replica_cost cost = {0};
    char host[BENCH_HOST_NAME_SIZE + 8] = "";
    if (b != SIZE_MAX) {
        bench_report_replica_cost(r, b, &cost);
        snprintf(host, sizeof host, "%s:%d", r->replicas[b].host.name, r->replicas[b].host.port);
    }
    field_text(l, "bottleneck_host", "%s", host);
    field_real(l, "", "bottleneck_cpu_us_per_op", cost.cpu_us);
    if (!lists)
        return;
    struct bench_field *ids = field_add(l, BENCH_FIELD_TEXT, "", "replica_ids");
    for (size_t i = 0; ids && i < r->replica_count; i++) {
        size_t used = strlen(ids->text);
        snprintf(ids->text + used, sizeof ids->text - used, "%s%s", i ? ";" : "",
                 r->replicas[i].after.id);
    }
    for (int figure = 0; figure < FIGURES; figure++)
        fields_replica_list(l, r, (enum replica_figure)figure);
}

size_t bench_report_fields(const struct bench_report *r, bool replica_lists,
                           struct bench_field *fields)
{
    struct field_list l = {.fields = fields};
    fields_settings(&l, r->options);
    field_real(&l, "", "duration_s", r->measured_s);
    field_integer(&l, "", "warmup_errors", r->warmup_errors);
    field_integer(&l, "", "disconnects", r->disconnects);
    field_integer(&l, "", "reconnects", r->reconnects);
    fields_op(&l, r, "", &r->all);
    fields_op(&l, r, "read_", &r->read);
    fields_op(&l, r, "write_", &r->write);
    fields_replicas(&l, r, replica_lists);
    field_text(&l, "first_error", "%s", r->first_error);
    return l.count;
}
