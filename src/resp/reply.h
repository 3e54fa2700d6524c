/* RESP2/RESP3 reply encoding into a buffer. `proto` is the connection's protocol version
 * (2 unless the client sent HELLO 3); it only changes nulls, maps and a few types. */
#ifndef CATENA_RESP_REPLY_H
#define CATENA_RESP_REPLY_H

#include "common/buf.h"

#include <stddef.h>
#include <stdint.h>

void resp_simple(struct buf *out, const char *s);  /* +s */
void resp_error(struct buf *out, const char *msg); /* -msg; msg starts with its code, "ERR ..." */
void resp_errorf(struct buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void resp_int(struct buf *out, int64_t v);
void resp_bulk(struct buf *out, const void *data, size_t len);
void resp_bulk_str(struct buf *out, const char *s);
void resp_null(struct buf *out, int proto); /* $-1 (RESP2) or _ (RESP3) */
void resp_array(struct buf *out, size_t count);
/* A map of `pairs` key/value pairs: %n in RESP3, a flat array of 2n in RESP2. */
void resp_map(struct buf *out, size_t pairs, int proto);
static inline void resp_ok(struct buf *out) { resp_simple(out, "OK"); }

#endif
