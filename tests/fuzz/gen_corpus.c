/* Writes the seed corpus of the fuzz targets from real data: logs written with wal_append (laid
 * out as fuzz_wal_input.h says), snapshots of small keyspaces written by kv_snapshot_write,
 * client requests, peer connections (gen_corpus_net.c) and cluster programs carrying every
 * ChainPaxos message (gen_corpus_engine.c).
 * Seeds matter because the checksums stop blind mutation: from them, the fuzzer starts with
 * valid headers and records. Deterministic; run by hand when a format changes:
 *   build/fuzz/fuzz_gen_corpus tests/fuzz/corpus */
#include "common/buf.h"
#include "fuzz_wal_input.h"
#include "gen_corpus.h"
#include "kv/apply.h"
#include "kv/kv.h"
#include "storage/wal.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GEN_MAX_SEGMENTS 4

void gen_die(const char *what)
{
    fprintf(stderr, "fuzz_gen_corpus: %s\n", what);
    exit(1);
}

void gen_write(const char *dir, const char *name, const struct buf *b)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b->data, 1, b->len, f) != b->len || fclose(f) != 0)
        gen_die(path);
    printf("%s: %zu bytes\n", path, b->len);
}

static int gen_cmp_names(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* Appends the log in `dir` to out as fuzz input: its segments in order, each without the
 * preallocated zeros (the PAD bit puts them back), then `payload`. The last segment loses its
 * last `cut` bytes, which leaves a torn record. */
static void gen_wal_input(const char *dir, uint8_t flags, size_t cut, const char *payload,
                          struct buf *out)
{
    char names[GEN_MAX_SEGMENTS][32];
    size_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".wal") && strlen(e->d_name) < sizeof names[0]) {
            if (n == GEN_MAX_SEGMENTS)
                gen_die("too many segments for one input");
            memcpy(names[n++], e->d_name, strlen(e->d_name) + 1);
        }
    if (d)
        closedir(d);
    qsort(names, n, sizeof names[0], gen_cmp_names);
    buf_put_u8(out, (uint8_t)((n - 1) | flags | 2u << 4));
    for (size_t s = 0; s < n; s++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[s]);
        uint8_t content[FUZZ_WAL_SEGMENT_BYTES];
        FILE *f = fopen(path, "rb");
        size_t len = f ? fread(content, 1, sizeof content, f) : 0;
        if (f)
            fclose(f);
        while (len > 0 && content[len - 1] == 0)
            len--;
        if (s + 1 == n)
            len = len > cut ? len - cut : 0;
        buf_put_u8(out, FUZZ_WAL_NAME_FROM_HEADER);
        buf_put_u16(out, (uint16_t)len);
        buf_append(out, content, len);
        unlink(path);
    }
    buf_append_str(out, payload);
    rmdir(dir);
}

/* A fresh log with records 1..count of growing size, the first `drop` records' segments
 * deleted. */
static void gen_log(char *dir, size_t size, unsigned count, unsigned drop)
{
    snprintf(dir, size, "/tmp/catena-fuzz-gen.XXXXXX");
    if (!mkdtemp(dir))
        gen_die("mkdtemp");
    char err[256];
    struct wal *w = wal_open(dir, FUZZ_WAL_SEGMENT_BYTES, err, sizeof err);
    if (!w)
        gen_die(err);
    for (unsigned k = 1; k <= count; k++) {
        char payload[256];
        int len = snprintf(payload, sizeof payload, "record %u: %.*s", k, (int)(k * 3 % 200),
                           "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklm"
                           "nopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
                           "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl");
        if (wal_append(w, (uint8_t)(k % 3), payload, (size_t)len) != k)
            gen_die("wal_append");
    }
    if (drop && wal_drop_before(w, drop) < 1)
        gen_die("wal_drop_before");
    if (wal_sync(w) != 0)
        gen_die("wal_sync");
    wal_close(w);
}

static void gen_wal(const char *out_dir)
{
    static const struct {
        const char *name;
        unsigned count, drop;
        uint8_t flags;
        size_t cut;
    } seeds[] = {
        {"seed-empty", 0, 0, FUZZ_WAL_PAD, 0},
        {"seed-one-segment", 6, 0, FUZZ_WAL_PAD, 0},
        {"seed-resealed", 6, 0, FUZZ_WAL_PAD | FUZZ_WAL_RESEAL, 0},
        {"seed-torn-tail", 6, 0, FUZZ_WAL_PAD, 5},
        {"seed-unpadded", 3, 0, 0, 0},
        {"seed-three-segments", 110, 0, FUZZ_WAL_PAD, 0},
        {"seed-after-drop", 110, 60, FUZZ_WAL_PAD, 0},
    };
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        char dir[64];
        gen_log(dir, sizeof dir, seeds[i].count, seeds[i].drop);
        struct buf input;
        buf_init(&input);
        gen_wal_input(dir, seeds[i].flags, seeds[i].cut, "appended", &input);
        gen_write(out_dir, seeds[i].name, &input);
        buf_free(&input);
    }
    /* No segment at all: an empty folder (once passed qsort a NULL array). */
    struct buf none;
    buf_init(&none);
    buf_put_u8(&none, FUZZ_WAL_PAD);
    gen_write(out_dir, "seed-no-segment", &none);
    buf_free(&none);
}

static void gen_set(struct kv *kv, const void *key, size_t klen, const void *val, size_t vlen)
{
    const uint8_t *argv[3] = {(const uint8_t *)"SET", key, val};
    size_t lens[3] = {3, klen, vlen};
    kv_execute(kv, 3, argv, lens, NULL, 2);
}

static void gen_snapshot(const char *out_dir, const char *name, unsigned keys,
                         unsigned sessions)
{
    struct kv *kv = kv_create();
    if (keys > 0) {
        gen_set(kv, "", 0, "empty key", 9);
        gen_set(kv, "b\0c", 3, "v\0w", 3);
    }
    for (unsigned k = 2; k < keys; k++) {
        char key[32], val[64];
        int kl = snprintf(key, sizeof key, "key:%u", k);
        int vl = snprintf(val, sizeof val, "%.*s", (int)(k % 40), "value-value-value-value-value");
        gen_set(kv, key, (size_t)kl, val, (size_t)vl);
    }
    for (unsigned s = 0; s < sessions; s++)
        for (uint64_t seq = 1; seq <= s + 1; seq++)
            if (!kv_session_admit(kv, (uint32_t)(s % 3 + 1), 100 + s, seq, NULL))
                gen_die("kv_session_admit");
    struct buf snap;
    buf_init(&snap);
    kv_snapshot_write(kv, &snap);
    gen_write(out_dir, name, &snap);
    buf_free(&snap);
    kv_destroy(kv);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_gen_corpus <corpus dir, e.g. tests/fuzz/corpus>\n");
        return 2;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/wal", argv[1]);
    mkdir(argv[1], 0755);
    mkdir(dir, 0755);
    gen_wal(dir);
    snprintf(dir, sizeof dir, "%s/kv_snapshot", argv[1]);
    mkdir(dir, 0755);
    gen_snapshot(dir, "seed-empty", 0, 0);
    gen_snapshot(dir, "seed-two-keys", 2, 1);
    gen_snapshot(dir, "seed-small-keyspace", 24, 4);
    snprintf(dir, sizeof dir, "%s/resp", argv[1]);
    mkdir(dir, 0755);
    gen_requests(dir);
    snprintf(dir, sizeof dir, "%s/peer_frames", argv[1]);
    mkdir(dir, 0755);
    gen_peer_frames(dir);
    snprintf(dir, sizeof dir, "%s/chainpaxos", argv[1]);
    mkdir(dir, 0755);
    gen_chainpaxos(dir);
    return 0;
}
