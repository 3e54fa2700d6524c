#include "runtime/peer_handshake.h"

#include "common/reader.h"

#include <string.h>

void peer_handshake_encode(struct buf *out, const struct peer_handshake *h)
{
    size_t id_len = strlen(h->cluster_id), host_len = strlen(h->host);
    size_t nonce_len = h->auth ? PEER_NONCE_BYTES : 0;
    buf_put_u32(out, (uint32_t)(4 + 2 + 4 + 4 + 1 + id_len + 1 + host_len + 2 + 1 + nonce_len));
    buf_put_u32(out, PEER_HANDSHAKE_MAGIC);
    buf_put_u16(out, h->version);
    buf_put_u32(out, h->from);
    buf_put_u32(out, h->to);
    buf_put_u8(out, (uint8_t)id_len);
    buf_append(out, h->cluster_id, id_len);
    buf_put_u8(out, (uint8_t)host_len);
    buf_append(out, h->host, host_len);
    buf_put_u16(out, h->port);
    buf_put_u8(out, h->auth);
    buf_append(out, h->nonce, nonce_len);
}

bool peer_handshake_decode(const uint8_t *body, size_t len, struct peer_handshake *h,
                           const char **reason)
{
    struct reader r = reader_make(body, len);
    memset(h, 0, sizeof *h);
    if (reader_u32(&r) != PEER_HANDSHAKE_MAGIC || r.failed) {
        *reason = "not a catena peer (bad magic)";
        return false;
    }
    h->version = reader_u16(&r);
    h->from = reader_u32(&r);
    h->to = reader_u32(&r);
    uint8_t id_len = reader_u8(&r);
    const uint8_t *id = reader_bytes(&r, id_len);
    uint8_t host_len = reader_u8(&r);
    const uint8_t *host = reader_bytes(&r, host_len);
    h->port = reader_u16(&r);
    if (r.failed || id_len >= sizeof h->cluster_id || host_len >= sizeof h->host ||
        memchr(host, '\0', host_len)) {
        *reason = "malformed handshake";
        return false;
    }
    memcpy(h->cluster_id, id, id_len);
    memcpy(h->host, host, host_len);
    if (h->version != PEER_PROTOCOL_VERSION)
        return true; /* refused by its version, whatever follows */
    uint8_t auth = reader_u8(&r);
    const uint8_t *nonce = reader_bytes(&r, auth == 1 ? PEER_NONCE_BYTES : 0);
    if (r.failed || auth > 1 || reader_left(&r) != 0) {
        *reason = "malformed handshake";
        return false;
    }
    h->auth = auth == 1;
    if (h->auth)
        memcpy(h->nonce, nonce, PEER_NONCE_BYTES);
    return true;
}

void peer_handshake_encode_auth(struct buf *out, enum peer_handshake_type type,
                                const uint8_t *nonce, const uint8_t *mac)
{
    size_t nonce_len = nonce ? PEER_NONCE_BYTES : 0;
    buf_put_u32(out, (uint32_t)(4 + 1 + nonce_len + PEER_MAC_BYTES));
    buf_put_u32(out, PEER_HANDSHAKE_MAGIC);
    buf_put_u8(out, (uint8_t)type);
    buf_append(out, nonce, nonce_len);
    buf_append(out, mac, PEER_MAC_BYTES);
}

bool peer_handshake_decode_auth(const uint8_t *body, size_t len, enum peer_handshake_type type,
                                uint8_t *nonce, uint8_t *mac)
{
    struct reader r = reader_make(body, len);
    bool ok = reader_u32(&r) == PEER_HANDSHAKE_MAGIC && reader_u8(&r) == type;
    const uint8_t *nonce_bytes = reader_bytes(&r, nonce ? PEER_NONCE_BYTES : 0);
    const uint8_t *mac_bytes = reader_bytes(&r, PEER_MAC_BYTES);
    if (!ok || r.failed || reader_left(&r) != 0)
        return false;
    if (nonce)
        memcpy(nonce, nonce_bytes, PEER_NONCE_BYTES);
    memcpy(mac, mac_bytes, PEER_MAC_BYTES);
    return true;
}
