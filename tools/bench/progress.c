#include "bench/progress.h"

#include "bench/clock.h"

#include <stdlib.h>

void bench_progress_print(FILE *out, struct bench_worker *workers, size_t count,
                          const struct bench_timing *timing)
{
    uint64_t now_ns = bench_clock_ns();
    double elapsed_s = (double)(now_ns - timing->start_ns) / 1e9;
    /* Figures from less than half a second of measurement would mean little. */
    if (now_ns < timing->measure_ns + 500000000u) {
        fprintf(out, "[%5.1f s] %s\n", elapsed_s,
                now_ns < timing->measure_ns ? "warm-up" : "measuring");
        fflush(out);
        return;
    }
    struct bench_histogram *latency_ns = malloc(sizeof *latency_ns);
    if (!latency_ns)
        return;
    bench_histogram_init(latency_ns);
    uint64_t ops = 0;
    for (size_t i = 0; i < count; i++)
        ops += bench_worker_progress(&workers[i], latency_ns);
    double measured_s = (double)(now_ns - timing->measure_ns) / 1e9;
    double p99_ms = (double)bench_histogram_percentile(latency_ns, 99) / 1e6;
    fprintf(out, "[%5.1f s] %llu ops, %.0f ops/s, p99 %.3f ms\n", elapsed_s,
            (unsigned long long)ops, measured_s > 0 ? (double)ops / measured_s : 0, p99_ms);
    fflush(out);
    free(latency_ns);
}
