/* catena-bench's output: a table for people (report_table.c), or one CSV header and row
 * (report_csv.c), or a JSON object (report_json.c). CSV columns and JSON keys share their
 * names, listed once in report_fields.c; they only ever get added to. */
#ifndef CATENA_BENCH_REPORT_H
#define CATENA_BENCH_REPORT_H

#include "bench/run.h"

#include <stdio.h>

void bench_report_print(const struct bench_report *r, FILE *out);
void bench_report_print_table(const struct bench_report *r, FILE *out);
void bench_report_print_csv(const struct bench_report *r, FILE *out);
void bench_report_print_json(const struct bench_report *r, FILE *out);

/* --cdf: writes "percentile latency_us" lines of every successful measured request to path.
 * False, with the reason on err, when the file cannot be written. */
bool bench_report_write_cdf(const struct bench_report *r, const char *path, FILE *err);

/* One replica's cost per successful measured operation, from its counters' differences. */
struct bench_replica_cost {
    bool has_cpu, has_peer;
    double cpu_us;
    double messages_sent, messages_received, bytes_sent, bytes_received;
};
/* False when replica i was not measured (its counters could not be read). */
bool bench_report_replica_cost(const struct bench_report *r, size_t i,
                               struct bench_replica_cost *cost);
/* The replica that spent the most CPU per operation (the bottleneck), or SIZE_MAX. */
size_t bench_report_bottleneck(const struct bench_report *r);
double bench_report_ops_per_s(const struct bench_report *r, const struct bench_op_stats *s);
/* Failed requests of the whole run, warm-up included, plus lost connections. */
uint64_t bench_report_errors(const struct bench_report *r);

/* The run as named values, in the CSV's column order. */
enum bench_field_kind { BENCH_FIELD_TEXT, BENCH_FIELD_INTEGER, BENCH_FIELD_REAL };
struct bench_field {
    char name[48];
    enum bench_field_kind kind;
    uint64_t integer;
    double real;
    char text[2048];
};
#define BENCH_FIELDS_MAX 96
/* Fills fields (BENCH_FIELDS_MAX of them) and returns how many. The per-replica figures come
 * as ';'-separated lists in host order when replica_lists is set (CSV); JSON writes them as
 * an array of objects instead. */
size_t bench_report_fields(const struct bench_report *r, bool replica_lists,
                           struct bench_field *fields);

#endif
