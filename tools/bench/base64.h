/* Standard base64 (RFC 4648, with '=' padding): etcd's JSON gateway carries keys and values as
 * base64 strings. */
#ifndef CATENA_BENCH_BASE64_H
#define CATENA_BENCH_BASE64_H

#include <stddef.h>

/* Characters bench_base64_encode writes for len bytes, without the NUL. */
static inline size_t bench_base64_length(size_t len)
{
    return (len + 2) / 3 * 4;
}

/* Writes the encoding of data[0..len) and a NUL into out (bench_base64_length(len) + 1 bytes);
 * returns the encoding's length. */
size_t bench_base64_encode(const void *data, size_t len, char *out);

#endif
