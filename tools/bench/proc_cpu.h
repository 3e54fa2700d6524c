/* The CPU time of a process on this machine, from /proc/PID/stat: user plus system time of all
 * its threads, in clock ticks (10 ms here). For servers whose protocol does not report their
 * CPU (ZooKeeper): catena-bench --server-pids reads it before and after the measured phase, as
 * it reads INFO or /metrics for the others. Any thread. */
#ifndef CATENA_BENCH_PROC_CPU_H
#define CATENA_BENCH_PROC_CPU_H

#include <stdbool.h>
#include <stddef.h>

/* The text of a /proc/PID/stat file into seconds of CPU (utime + stime, fields 14 and 15,
 * counted after the command name in parentheses, which may hold spaces and parentheses). False
 * if the text is not such a line. */
bool bench_proc_parse_stat(const char *text, long ticks_per_s, double *cpu_s);
/* Reads process pid's CPU seconds; false with error filled if it cannot (no such process). */
bool bench_proc_cpu_s(int pid, double *cpu_s, char *error, size_t error_size);

#endif
