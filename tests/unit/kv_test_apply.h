/* Shared by the kv unit tests: runs a text command without encoding a reply, as a replica that
 * is not answering does. */
#ifndef CATENA_TESTS_KV_TEST_APPLY_H
#define CATENA_TESTS_KV_TEST_APPLY_H

#include "kv/kv.h"

#include <string.h>

static inline void kv_test_apply(struct kv *kv, uint32_t argc, const char *const *args)
{
    size_t lens[16];
    for (uint32_t i = 0; i < argc && i < 16; i++)
        lens[i] = strlen(args[i]);
    kv_execute(kv, argc, (const uint8_t *const *)args, lens, NULL, 2);
}
#define APPLY(kv, ...)                                                                          \
    do {                                                                                        \
        const char *args_[] = {__VA_ARGS__};                                                    \
        kv_test_apply(kv, (uint32_t)(sizeof args_ / sizeof args_[0]), args_);                   \
    } while (0)

#endif
