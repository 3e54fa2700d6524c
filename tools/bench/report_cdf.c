/* --cdf FILE: the latency distribution of all successful measured requests, for plots. The
 * percentiles are spaced evenly on the "nines" scale (-log10(1 - p)), as HdrHistogram's
 * percentile output is, so the tail gets as many points as the body. */
#include "bench/report.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* Points per factor of ten of 1 - p: 0, 90, 99, 99.9, 99.99, 99.999 and 19 steps between each. */
#define CDF_STEPS_PER_NINE 20
#define CDF_NINES 5

bool bench_report_write_cdf(const struct bench_report *r, const char *path, FILE *err)
{
    FILE *out = fopen(path, "w");
    if (!out) {
        fprintf(err, "catena-bench: cannot write %s: %s\n", path, strerror(errno));
        return false;
    }
    const struct bench_histogram *h = &r->all.latency_ns;
    fprintf(out, "# percentile latency_us (%s, %llu requests)\n", r->options->driver_name,
            (unsigned long long)h->count);
    for (int step = 0; step <= CDF_STEPS_PER_NINE * CDF_NINES; step++) {
        double percentile = 100.0 * (1.0 - pow(10.0, -(double)step / CDF_STEPS_PER_NINE));
        fprintf(out, "%.4f %.1f\n", percentile,
                (double)bench_histogram_percentile(h, percentile) / 1e3);
    }
    fprintf(out, "100.0000 %.1f\n", (double)bench_histogram_percentile(h, 100) / 1e3);
    bool ok = fclose(out) == 0;
    if (!ok)
        fprintf(err, "catena-bench: cannot write %s: %s\n", path, strerror(errno));
    return ok;
}
