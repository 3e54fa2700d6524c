/* libFuzzer target: the kv snapshot loader, kv_snapshot_read (src/kv/snapshot.c), on any bytes.
 *
 * The input is loaded twice: as it is, then with its trailing CRC32C recomputed, so that
 * mutations also reach the parser behind the checksum (what a buggy or hostile writer could
 * send in a state transfer). A load either fails with a message, leaving the state machine the
 * caller already has intact and usable, or gives a kv that writes a snapshot loading back to
 * the same content and that executes commands. No crash, leak (ASan), undefined behaviour
 * (UBSan, aborting) or change to the input. */
#include "common/buf.h"
#include "common/crc32c.h"
#include "kv/apply.h"
#include "kv/kv.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_err[256];

#define FUZZ_CHECK(cond)                                                                        \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "fuzz_kv_snapshot: %s:%d: check failed: %s (last error: %s)\n",     \
                    __FILE__, __LINE__, #cond, fuzz_err);                                       \
            abort();                                                                            \
        }                                                                                       \
    } while (0)

static void fuzz_execute(struct kv *kv, struct buf *reply, const char *a, const char *b,
                         const char *c)
{
    const uint8_t *argv[3] = {(const uint8_t *)a, (const uint8_t *)b, (const uint8_t *)c};
    size_t lens[3] = {strlen(a), b ? strlen(b) : 0, c ? strlen(c) : 0};
    buf_clear(reply);
    kv_execute(kv, c ? 3 : 2, argv, lens, reply, 2);
}

/* The state machine answers commands: a SET is read back, then deleted. */
static void fuzz_check_usable(struct kv *kv)
{
    static const char key[] = "fuzz:probe";
    struct buf reply;
    buf_init(&reply);
    fuzz_execute(kv, &reply, "SET", key, "v");
    FUZZ_CHECK(reply.len == 5 && memcmp(reply.data, "+OK\r\n", 5) == 0);
    fuzz_execute(kv, &reply, "GET", key, NULL);
    FUZZ_CHECK(reply.len == 7 && memcmp(reply.data, "$1\r\nv\r\n", 7) == 0);
    fuzz_execute(kv, &reply, "DEL", key, NULL);
    FUZZ_CHECK(reply.len == 4 && memcmp(reply.data, ":1\r\n", 4) == 0);
    buf_free(&reply);
}

/* The state a replica has before a state transfer: a few keys and a session. */
static struct kv *fuzz_existing_kv(void)
{
    struct kv *kv = kv_create();
    struct buf reply;
    buf_init(&reply);
    fuzz_execute(kv, &reply, "SET", "a", "1");
    fuzz_execute(kv, &reply, "SET", "b", "");
    fuzz_execute(kv, &reply, "INCR", "counter", NULL);
    buf_free(&reply);
    FUZZ_CHECK(kv_session_admit(kv, 1, 7, 1, NULL));
    return kv;
}

/* A loaded kv writes a snapshot that loads back to the same content. */
static void fuzz_check_loaded(struct kv *kv)
{
    struct buf snap;
    buf_init(&snap);
    kv_snapshot_write(kv, &snap);
    struct kv *again = kv_snapshot_read(snap.data, snap.len, fuzz_err, sizeof fuzz_err);
    FUZZ_CHECK(again != NULL);
    struct kv_stats a, b;
    kv_get_stats(kv, &a);
    kv_get_stats(again, &b);
    FUZZ_CHECK(kv_digest(again) == kv_digest(kv));
    FUZZ_CHECK(a.keys == b.keys && a.bytes == b.bytes);
    FUZZ_CHECK(kv_session_count(again) == kv_session_count(kv));
    kv_destroy(again);
    buf_free(&snap);
    fuzz_check_usable(kv);
}

/* One load attempt from an exact-size copy (ASan sees any read past its end). */
static void fuzz_load(struct kv *existing, const uint8_t *data, size_t size, bool reseal)
{
    uint8_t *copy = malloc(size ? size : 1);
    FUZZ_CHECK(copy != NULL);
    memcpy(copy, data, size);
    if (reseal) {
        uint32_t crc = crc32c(0, copy, size - 4);
        for (int i = 0; i < 4; i++)
            copy[size - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
    }
    uint8_t *kept = malloc(size ? size : 1);
    FUZZ_CHECK(kept != NULL);
    memcpy(kept, copy, size);
    uint64_t digest = kv_digest(existing);
    fuzz_err[0] = '\0';
    /* Half the inputs pass no message buffer, which the contract allows. */
    bool want_err = (size & 1) == 0;
    struct kv *kv = kv_snapshot_read(copy, size, want_err ? fuzz_err : NULL,
                                     want_err ? sizeof fuzz_err : 0);
    FUZZ_CHECK(memcmp(copy, kept, size) == 0); /* the input is only read */
    if (kv) {
        fuzz_check_loaded(kv);
        kv_destroy(kv);
    } else {
        FUZZ_CHECK(!want_err || fuzz_err[0] != '\0'); /* a refusal says why */
    }
    FUZZ_CHECK(kv_digest(existing) == digest);
    free(kept);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kv *existing = fuzz_existing_kv();
    fuzz_load(existing, data, size, false);
    if (size >= 4)
        fuzz_load(existing, data, size, true);
    fuzz_check_usable(existing);
    kv_destroy(existing);
    return 0;
}
