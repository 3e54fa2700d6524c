/* catena-bench: a load generator in the spirit of YCSB for catena and the systems compared with
 * it. See bench_options_usage (options.c) for the flags and the README for the output. */
#include "bench/options.h"
#include "bench/report.h"
#include "bench/run.h"

#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    static struct bench_options options;
    bool help;
    if (!bench_options_parse(&options, argc, argv, &help, stderr))
        return 2;
    if (help) {
        bench_options_usage(stdout);
        return 0;
    }
    const struct bench_driver *driver = bench_driver_find(options.driver_name);
    if (!driver) {
        fprintf(stderr, "catena-bench: unknown driver '%s' (drivers: %s)\n", options.driver_name,
                bench_driver_names());
        return 2;
    }
    struct bench_report *report = malloc(sizeof *report);
    if (!report) {
        fprintf(stderr, "catena-bench: out of memory\n");
        return 1;
    }
    FILE *progress = isatty(STDERR_FILENO) ? stderr : NULL;
    if (!bench_run(&options, driver, report, progress, stderr)) {
        free(report);
        return 1;
    }
    bench_report_print(report, stdout);
    fflush(stdout);
    if (driver->print_notes)
        driver->print_notes(stderr);
    if (bench_error_tally_total(&report->error_kinds)) {
        /* Also with --allow-errors: a point that failed should say why where it is run. */
        fputs("catena-bench: failures: ", stderr);
        bench_error_tally_print(&report->error_kinds, stderr);
        fputc('\n', stderr);
    }
    uint64_t errors = bench_report_errors(report);
    int status = 0;
    if (options.cdf_path && !bench_report_write_cdf(report, options.cdf_path, stderr))
        status = 1;
    if (errors && !options.allow_errors) {
        fprintf(stderr, "catena-bench: %llu errors (first: %s); --allow-errors to accept them\n",
                (unsigned long long)errors, report->first_error);
        status = 1;
    }
    free(report);
    return status;
}
