/* catena-check: checks a history file (tools/check/README.md) for linearizability. */
#include "check/check.h"
#include "check/history.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fputs("usage: catena-check [--max-states N] [FILE]\n"
          "Checks a history of key-value operations (FILE, or stdin when FILE is - or\n"
          "absent) for linearizability; the format is in tools/check/README.md.\n"
          "  --max-states N  search budget per key group (default 10000000)\n"
          "  --help          this text\n"
          "Exit status: 0 linearizable, 1 not linearizable (the report is printed),\n"
          "2 unreadable input or bad usage, 3 gave up (budget exhausted).\n",
          out);
}

static int parse_args(int argc, char **argv, uint64_t *max_states, const char **path)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--max-states") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            unsigned long long n = strtoull(argv[++i], &end, 10);
            if (errno || *end || n == 0 || argv[i][0] < '0' || argv[i][0] > '9') {
                fprintf(stderr, "catena-check: bad --max-states '%s'\n", argv[i]);
                return 2;
            }
            *max_states = n;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "catena-check: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (*path) {
            fprintf(stderr, "catena-check: one history at a time\n");
            return 2;
        } else {
            *path = argv[i];
        }
    }
    return -1;
}

static bool load(const char *path, struct history *h)
{
    bool from_stdin = !path || strcmp(path, "-") == 0;
    const char *name = from_stdin ? "<stdin>" : path;
    FILE *in = from_stdin ? stdin : fopen(path, "r");
    if (!in) {
        fprintf(stderr, "catena-check: %s: %s\n", name, strerror(errno));
        return false;
    }
    char err[512];
    bool ok = history_read(in, h, err, sizeof err);
    if (!ok)
        fprintf(stderr, "catena-check: %s: %s\n", name, err);
    if (!from_stdin)
        fclose(in);
    return ok;
}

int main(int argc, char **argv)
{
    uint64_t max_states = 0;
    const char *path = NULL;
    int status = parse_args(argc, argv, &max_states, &path);
    if (status >= 0)
        return status;
    struct history h;
    history_init(&h);
    if (!load(path, &h)) {
        history_free(&h);
        return 2;
    }
    struct check_limits limits = {.max_states = max_states};
    struct check_result r;
    check_history(&h, &limits, &r);
    if (r.verdict == CHECK_NOT_LINEARIZABLE) {
        fputs(r.report, stdout);
        status = 1;
    } else {
        printf("%s: %zu ops, %zu key groups, %" PRIu64 " states\n",
               r.verdict == CHECK_LINEARIZABLE ? "linearizable" : "gave up (budget exhausted)",
               h.count, r.groups, r.states);
        status = r.verdict == CHECK_LINEARIZABLE ? 0 : 3;
    }
    check_result_free(&r);
    history_free(&h);
    return status;
}
