#include "common/strint.h"

bool strint_parse(const uint8_t *s, size_t len, int64_t *value)
{
    if (len == 0 || len > STRINT_MAX_LEN)
        return false;
    if (len == 1 && s[0] == '0') {
        *value = 0;
        return true;
    }
    size_t i = 0;
    bool negative = s[0] == '-';
    if (negative)
        i++;
    /* The first digit must be 1-9: this rejects "", "-", "-0", "01" and "+1" alike. */
    if (i == len || s[i] < '1' || s[i] > '9')
        return false;
    uint64_t v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (v > limit)
        return false;
    /* Negate in unsigned arithmetic: -(INT64_MIN) does not fit in int64. */
    *value = negative ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

size_t strint_format(int64_t v, char out[STRINT_MAX_LEN])
{
    char tmp[STRINT_MAX_LEN];
    char *end = tmp + sizeof tmp;
    char *p = end;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    size_t n = (size_t)(end - p);
    for (size_t i = 0; i < n; i++)
        out[i] = p[i];
    return n;
}
