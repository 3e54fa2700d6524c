#include "bench/base64.h"

#include <stdint.h>

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t bench_base64_encode(const void *data, size_t len, char *out)
{
    const uint8_t *in = data;
    char *o = out;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t group = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *o++ = base64_alphabet[group >> 18];
        *o++ = base64_alphabet[(group >> 12) & 63];
        *o++ = base64_alphabet[(group >> 6) & 63];
        *o++ = base64_alphabet[group & 63];
    }
    /* One or two bytes left: pad the group to four characters. */
    if (i < len) {
        uint32_t group = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            group |= (uint32_t)in[i + 1] << 8;
        *o++ = base64_alphabet[group >> 18];
        *o++ = base64_alphabet[(group >> 12) & 63];
        *o++ = i + 1 < len ? base64_alphabet[(group >> 6) & 63] : '=';
        *o++ = '=';
    }
    *o = '\0';
    return (size_t)(o - out);
}
