#include "bench/driver.h"

#include "bench/driver_etcd.h"
#include "bench/driver_resp.h"
#include "bench/driver_zk.h"

#include <string.h>

static const struct bench_driver *const drivers[] = {&bench_driver_catena, &bench_driver_redis,
                                                     &bench_driver_etcd, &bench_driver_zookeeper};

const struct bench_driver *bench_driver_find(const char *name)
{
    for (size_t i = 0; i < sizeof drivers / sizeof drivers[0]; i++)
        if (strcmp(drivers[i]->name, name) == 0)
            return drivers[i];
    return NULL;
}

const char *bench_driver_names(void)
{
    return "catena, redis, etcd, zookeeper";
}
