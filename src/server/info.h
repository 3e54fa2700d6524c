/* INFO (Redis-style sections plus a catena section) and CATENA.STATUS. */
#ifndef CATENA_SERVER_INFO_H
#define CATENA_SERVER_INFO_H

#include "common/buf.h"

#include <stddef.h>
#include <stdint.h>

struct server;

/* INFO [section ...]: appends the reply (a bulk string). */
void info_reply(struct server *s, uint32_t argc, const uint8_t *const *argv, const size_t *lens,
                struct buf *out);
void info_catena_status(struct server *s, struct buf *out, int proto);

#endif
