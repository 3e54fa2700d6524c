/* catena-bench's command line: the flags, their defaults and their checks. */
#ifndef CATENA_BENCH_OPTIONS_H
#define CATENA_BENCH_OPTIONS_H

#include "bench/keygen.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define BENCH_MAX_HOSTS 64
#define BENCH_HOST_NAME_SIZE 256

struct bench_host {
    char name[BENCH_HOST_NAME_SIZE];
    int port;
};

enum bench_output { BENCH_OUTPUT_TABLE, BENCH_OUTPUT_CSV, BENCH_OUTPUT_JSON };

struct bench_options {
    const char *driver_name;
    struct bench_host hosts[BENCH_MAX_HOSTS];
    size_t host_count;
    size_t connections;
    size_t threads;
    double duration_s; /* measured phase length; 0 when --ops is given */
    uint64_t ops;      /* measured operations; 0 when the run is timed */
    double warmup_s;
    double read_ratio;
    size_t value_size_bytes;
    uint64_t keys;
    enum bench_distribution distribution;
    double theta;
    size_t pipeline;         /* requests outstanding per connection, at most */
    double target_rate_ops;  /* 0: closed loop */
    uint64_t seed;
    bool allow_errors;
    const char *cdf_path;    /* --cdf: where the latency distribution goes, or NULL */
    bool serializable_reads; /* etcd: serializable ranges; zookeeper: getData without sync */
    enum bench_output output;
    double drain_timeout_s;  /* how long replies are awaited after the last request */
    double reconnect_ms;     /* a lost connection is opened again after this (0: never) */
    bool load;               /* write every key once, in order, and stop (a load phase) */
    int server_pids[BENCH_MAX_HOSTS]; /* --server-pids: hosts[i]'s process, for its CPU */
    size_t server_pid_count;          /* 0, or host_count */
};

/* Fills o from argv. On a bad flag, prints why to err and returns false (exit status 2).
 * Sets *help when --help was asked for (usage goes to out; returns true). */
bool bench_options_parse(struct bench_options *o, int argc, char **argv, bool *help, FILE *err);
void bench_options_usage(FILE *out);
/* "host:port" (or "[ipv6]:port") into h; false if malformed. */
bool bench_options_parse_host(const char *text, size_t len, struct bench_host *h);

#endif
