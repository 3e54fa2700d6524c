#include "bench/report.h"

#include <stdlib.h>

static void json_string(FILE *out, const char *text)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

/* A number, or null where it is unknown. */
static void json_number(FILE *out, bool known, double value)
{
    if (known)
        fprintf(out, "%.3f", value);
    else
        fputs("null", out);
}

static void json_replica(FILE *out, const struct bench_report *r, size_t i)
{
    const struct bench_replica *p = &r->replicas[i];
    struct bench_replica_cost c;
    bool measured = bench_report_replica_cost(r, i, &c);
    fprintf(out, "    {\"host\": ");
    json_string(out, p->host.name);
    fprintf(out, ", \"port\": %d, \"id\": ", p->host.port);
    json_string(out, p->after.id);
    fprintf(out, ", \"error\": ");
    json_string(out, p->error);
    const char *names[] = {"cpu_us_per_op", "messages_sent_per_op", "messages_received_per_op",
                           "bytes_sent_per_op", "bytes_received_per_op"};
    double values[] = {c.cpu_us, c.messages_sent, c.messages_received, c.bytes_sent,
                       c.bytes_received};
    for (size_t k = 0; k < sizeof values / sizeof values[0]; k++) {
        fprintf(out, ", \"%s\": ", names[k]);
        json_number(out, measured && (k == 0 ? c.has_cpu : c.has_peer), values[k]);
    }
    fprintf(out, "}%s\n", i + 1 < r->replica_count ? "," : "");
}

void bench_report_print_json(const struct bench_report *r, FILE *out)
{
    struct bench_field *fields = calloc(BENCH_FIELDS_MAX, sizeof *fields);
    if (!fields)
        return;
    size_t count = bench_report_fields(r, false, fields);
    fputs("{\n", out);
    for (size_t i = 0; i < count; i++) {
        const struct bench_field *f = &fields[i];
        fprintf(out, "  \"%s\": ", f->name);
        if (f->kind == BENCH_FIELD_INTEGER)
            fprintf(out, "%llu", (unsigned long long)f->integer);
        else if (f->kind == BENCH_FIELD_REAL)
            json_number(out, true, f->real);
        else
            json_string(out, f->text);
        fputs(",\n", out);
    }
    fputs("  \"replicas\": [\n", out);
    for (size_t i = 0; i < r->replica_count; i++)
        json_replica(out, r, i);
    fputs("  ]\n}\n", out);
    free(fields);
}
