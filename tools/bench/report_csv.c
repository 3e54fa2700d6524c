#include "bench/report.h"

#include <stdlib.h>
#include <string.h>

/* A cell, quoted when it holds a separator or a quote (driver names and hosts never should). */
static void csv_text(FILE *out, const char *text)
{
    if (!strpbrk(text, ",\"\n")) {
        fputs(text, out);
        return;
    }
    fputc('"', out);
    for (const char *p = text; *p; p++) {
        if (*p == '"')
            fputc('"', out);
        fputc(*p, out);
    }
    fputc('"', out);
}

void bench_report_print_csv(const struct bench_report *r, FILE *out)
{
    struct bench_field *fields = calloc(BENCH_FIELDS_MAX, sizeof *fields);
    if (!fields)
        return;
    size_t count = bench_report_fields(r, true, fields);
    for (size_t i = 0; i < count; i++)
        fprintf(out, "%s%s", i ? "," : "", fields[i].name);
    fputc('\n', out);
    for (size_t i = 0; i < count; i++) {
        const struct bench_field *f = &fields[i];
        if (i)
            fputc(',', out);
        if (f->kind == BENCH_FIELD_INTEGER)
            fprintf(out, "%llu", (unsigned long long)f->integer);
        else if (f->kind == BENCH_FIELD_REAL)
            fprintf(out, "%.3f", f->real);
        else
            csv_text(out, f->text);
    }
    fputc('\n', out);
    free(fields);
}
