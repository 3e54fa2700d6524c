#include "bench/error_tally.h"

#include <string.h>

void bench_error_tally_add(struct bench_error_tally *t, const char *text, uint64_t count)
{
    char cut[BENCH_ERROR_TEXT_SIZE];
    snprintf(cut, sizeof cut, "%s", text);
    for (size_t i = 0; i < t->kind_count; i++) {
        if (strcmp(t->kinds[i].text, cut) == 0) {
            t->kinds[i].count += count;
            return;
        }
    }
    if (t->kind_count == BENCH_ERROR_KINDS) {
        t->others += count;
        return;
    }
    struct bench_error_kind *k = &t->kinds[t->kind_count++];
    memcpy(k->text, cut, sizeof cut);
    k->count = count;
}

void bench_error_tally_merge(struct bench_error_tally *into, const struct bench_error_tally *from)
{
    for (size_t i = 0; i < from->kind_count; i++)
        bench_error_tally_add(into, from->kinds[i].text, from->kinds[i].count);
    into->others += from->others;
}

uint64_t bench_error_tally_total(const struct bench_error_tally *t)
{
    uint64_t total = t->others;
    for (size_t i = 0; i < t->kind_count; i++)
        total += t->kinds[i].count;
    return total;
}

void bench_error_tally_print(const struct bench_error_tally *t, FILE *out)
{
    for (size_t i = 0; i < t->kind_count; i++)
        fprintf(out, "%s%llu x %s", i ? "; " : "", (unsigned long long)t->kinds[i].count,
                t->kinds[i].text);
    if (t->others)
        fprintf(out, "%s%llu of other kinds", t->kind_count ? "; " : "",
                (unsigned long long)t->others);
}
