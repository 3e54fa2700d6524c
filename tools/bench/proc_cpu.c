#include "bench/proc_cpu.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

bool bench_proc_parse_stat(const char *text, long ticks_per_s, double *cpu_s)
{
    const char *name_end = strrchr(text, ')');
    unsigned long long user_ticks, system_ticks;
    if (!name_end || ticks_per_s <= 0)
        return false;
    /* state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (sscanf(name_end + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
               &user_ticks, &system_ticks) != 2)
        return false;
    *cpu_s = (double)(user_ticks + system_ticks) / (double)ticks_per_s;
    return true;
}

bool bench_proc_cpu_s(int pid, double *cpu_s, char *error, size_t error_size)
{
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(error, error_size, "cannot read %s: %s", path, strerror(errno));
        return false;
    }
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    if (!bench_proc_parse_stat(text, sysconf(_SC_CLK_TCK), cpu_s)) {
        snprintf(error, error_size, "cannot parse %s", path);
        return false;
    }
    return true;
}
