/* Snapshots of the kv state machine. Format (integers little-endian):
 *
 *   "CATSNAP" u8 version (2)
 *   u64 key count,     then per key:     u32 key length, key, u32 value length, value
 *   u64 session count, then per session: u32 origin, u64 client, u64 highest executed seq,
 *                                        u64 instance it ended at (0: live; kv/sessions.h)
 *   u64 kv_digest of the content
 *   u32 CRC32C of every byte before it
 *
 * Keys and sessions come in table order, so two replicas with the same content may write
 * different bytes; the digest, not the bytes, says whether states are equal.
 *
 * Reading checks magic and version (so a future format is named as such), then the CRC (so
 * parsing only sees intact bytes), then parses into a fresh kv and requires the rebuilt digest
 * and counts to match and no byte to be left over. Nothing is allocated from a length field:
 * keys and values are copied only once the reader has them, so memory is bounded by len. */
#include "kv/kv.h"

#include "common/check.h"
#include "common/crc32c.h"
#include "common/reader.h"
#include "kv/kv_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SNAP_MAGIC "CATSNAP"
#define SNAP_MAGIC_LEN 7
#define SNAP_VERSION 2 /* 2: sessions carry the instance they ended at */
/* Header, both counts, digest and CRC: the size of an empty snapshot. */
#define SNAP_MIN_LEN (SNAP_MAGIC_LEN + 1 + 8 + 8 + 8 + 4)
#define SNAP_SESSION_LEN (4 + 8 + 8 + 8)

static void snapshot_put_entry(const struct ks_entry *e, void *ctx)
{
    struct buf *out = ctx;
    /* Strings are capped at 512 MB by APPEND and the protocol, far below 4 GB. */
    CHECK(ks_entry_key_len(e) <= UINT32_MAX && ks_entry_value_len(e) <= UINT32_MAX);
    buf_put_u32(out, (uint32_t)ks_entry_key_len(e));
    buf_append(out, ks_entry_key(e), ks_entry_key_len(e));
    buf_put_u32(out, (uint32_t)ks_entry_value_len(e));
    buf_append(out, ks_entry_value(e), ks_entry_value_len(e));
}

static void snapshot_put_session(node_id origin, uint64_t client, uint64_t seq,
                                 uint64_t ended_at, void *ctx)
{
    struct buf *out = ctx;
    buf_put_u32(out, origin);
    buf_put_u64(out, client);
    buf_put_u64(out, seq);
    buf_put_u64(out, ended_at);
}

void kv_snapshot_write(const struct kv *kv, struct buf *out)
{
    size_t start = out->len;
    size_t keys = keyspace_count(kv->ks), sessions = sessions_count(kv->sessions);
    buf_reserve(out, SNAP_MIN_LEN + keyspace_bytes(kv->ks) + keys * 8 +
                         sessions * SNAP_SESSION_LEN);
    buf_append(out, SNAP_MAGIC, SNAP_MAGIC_LEN);
    buf_put_u8(out, SNAP_VERSION);
    buf_put_u64(out, keys);
    keyspace_foreach(kv->ks, snapshot_put_entry, out);
    buf_put_u64(out, sessions);
    sessions_foreach(kv->sessions, snapshot_put_session, out);
    buf_put_u64(out, kv_digest(kv));
    buf_put_u32(out, crc32c(0, out->data + start, out->len - start));
}

__attribute__((format(printf, 3, 4))) static void snapshot_fail(char *err, size_t err_size,
                                                                 const char *fmt, ...)
{
    if (err_size > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
    }
}

/* Magic, version, minimum size and CRC; returns false with err set. */
static bool snapshot_check_frame(const uint8_t *data, size_t len, char *err, size_t err_size)
{
    size_t magic = len < SNAP_MAGIC_LEN ? len : SNAP_MAGIC_LEN;
    if (magic > 0 && memcmp(data, SNAP_MAGIC, magic) != 0) {
        snapshot_fail(err, err_size, "not a catena snapshot");
        return false;
    }
    if (len > SNAP_MAGIC_LEN && data[SNAP_MAGIC_LEN] != SNAP_VERSION) {
        snapshot_fail(err, err_size, "unsupported snapshot version %u", data[SNAP_MAGIC_LEN]);
        return false;
    }
    if (len < SNAP_MIN_LEN) {
        snapshot_fail(err, err_size, "snapshot truncated at byte %zu", len);
        return false;
    }
    struct reader crc = reader_make(data + len - 4, 4);
    if (crc32c(0, data, len - 4) != reader_u32(&crc)) {
        snapshot_fail(err, err_size, "snapshot checksum mismatch (corrupt or truncated)");
        return false;
    }
    return true;
}

/* Keys then sessions into kv; returns false with err set. r->pos is then the offset of the
 * field that failed, which is where a truncation shows. */
static bool snapshot_parse(struct reader *r, struct kv *kv, char *err, size_t err_size)
{
    uint64_t keys = reader_u64(r);
    for (uint64_t i = 0; i < keys && !r->failed; i++) {
        size_t at = r->pos;
        size_t klen = reader_u32(r);
        const uint8_t *key = reader_bytes(r, klen);
        size_t vlen = reader_u32(r);
        const uint8_t *val = reader_bytes(r, vlen);
        if (!r->failed && !keyspace_set(kv->ks, key, klen, val, vlen)) {
            snapshot_fail(err, err_size, "snapshot has a duplicate key at byte %zu", at);
            return false;
        }
    }
    uint64_t sessions = reader_u64(r);
    for (uint64_t i = 0; i < sessions && !r->failed; i++) {
        size_t at = r->pos;
        node_id origin = reader_u32(r);
        uint64_t client = reader_u64(r);
        uint64_t seq = reader_u64(r);
        uint64_t ended_at = reader_u64(r);
        if (r->failed)
            break;
        if (origin == NODE_NONE || seq == 0) {
            snapshot_fail(err, err_size, "snapshot has an invalid session at byte %zu", at);
            return false;
        }
        if (!sessions_restore(kv->sessions, origin, client, seq, ended_at)) {
            snapshot_fail(err, err_size, "snapshot has a duplicate session at byte %zu", at);
            return false;
        }
    }
    sessions_restore_done(kv->sessions);
    if (r->failed) {
        snapshot_fail(err, err_size, "snapshot truncated at byte %zu", r->pos);
        return false;
    }
    if (keyspace_count(kv->ks) != keys || sessions_count(kv->sessions) != sessions) {
        snapshot_fail(err, err_size, "snapshot counts do not match its content");
        return false;
    }
    return true;
}

struct kv *kv_snapshot_read(const uint8_t *data, size_t len, char *err, size_t err_size)
{
    if (!snapshot_check_frame(data, len, err, err_size))
        return NULL;
    /* The body, after the header and before the CRC; the digest is its last field. */
    struct reader r = reader_make(data, len - 4);
    r.pos = SNAP_MAGIC_LEN + 1;
    struct kv *kv = kv_create();
    if (!snapshot_parse(&r, kv, err, err_size))
        goto fail;
    uint64_t digest = reader_u64(&r);
    if (r.failed) {
        snapshot_fail(err, err_size, "snapshot truncated at byte %zu", r.pos);
        goto fail;
    }
    if (reader_left(&r) != 0) {
        snapshot_fail(err, err_size, "snapshot has %zu trailing bytes at byte %zu",
                      reader_left(&r), r.pos);
        goto fail;
    }
    if (kv_digest(kv) != digest) {
        snapshot_fail(err, err_size,
                      "snapshot digest mismatch (stored %016" PRIx64 ", content %016" PRIx64 ")",
                      digest, kv_digest(kv));
        goto fail;
    }
    return kv;
fail:
    kv_destroy(kv);
    return NULL;
}
