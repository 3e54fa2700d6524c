/* Integers stored as strings, with Redis' exact rules (util.c string2ll / ll2string), so
 * INCR and the RESP parser accept and rejects the same values as Redis and stores the same bytes. */
#ifndef CATENA_COMMON_STRINT_H
#define CATENA_COMMON_STRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest decimal int64 ("-9223372036854775808"); Redis rejects anything of 21 bytes or more. */
#define STRINT_MAX_LEN 20

/* Parses a canonical decimal int64: optional '-', no '+', no spaces, no leading zeros (but
 * "0"), no "-0", within int64. Returns false for anything else. */
bool strint_parse(const uint8_t *s, size_t len, int64_t *value);
/* Writes v in decimal (no terminator) and returns its length, at most STRINT_MAX_LEN. */
size_t strint_format(int64_t v, char out[STRINT_MAX_LEN]);

#endif
