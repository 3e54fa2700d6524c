#include "common/check.h"

#include <stdio.h>
#include <stdlib.h>

void check_failed(const char *expr, const char *file, int line)
{
    fprintf(stderr, "catena: invariant violated: %s (%s:%d)\n", expr, file, line);
    abort();
}
