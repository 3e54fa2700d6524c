#include "runtime/peer_handshake.h"

#include "common/reader.h"

#include <string.h>

void peer_handshake_encode(struct buf *out, const struct peer_handshake *h)
{
    size_t id_len = strlen(h->cluster_id), host_len = strlen(h->host);
    buf_put_u32(out, (uint32_t)(4 + 2 + 4 + 4 + 1 + id_len + 1 + host_len + 2));
    buf_put_u32(out, PEER_HANDSHAKE_MAGIC);
    buf_put_u16(out, h->version);
    buf_put_u32(out, h->from);
    buf_put_u32(out, h->to);
    buf_put_u8(out, (uint8_t)id_len);
    buf_append(out, h->cluster_id, id_len);
    buf_put_u8(out, (uint8_t)host_len);
    buf_append(out, h->host, host_len);
    buf_put_u16(out, h->port);
}

bool peer_handshake_decode(const uint8_t *body, size_t len, struct peer_handshake *h,
                           const char **reason)
{
    struct reader r = reader_make(body, len);
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
        reader_left(&r) != 0 || memchr(host, '\0', host_len)) {
        *reason = "malformed handshake";
        return false;
    }
    memcpy(h->cluster_id, id, id_len);
    h->cluster_id[id_len] = '\0';
    memcpy(h->host, host, host_len);
    h->host[host_len] = '\0';
    return true;
}
