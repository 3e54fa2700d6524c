#include "resp/reply.h"

#include "common/strint.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

/* Appends "<prefix><number>\r\n" without printf on the hot path. */
static void put_header(struct buf *out, char prefix, int64_t v)
{
    char digits[STRINT_MAX_LEN];
    size_t n = strint_format(v, digits);
    buf_reserve(out, n + 3);
    out->data[out->len++] = (uint8_t)prefix;
    buf_append(out, digits, n);
    buf_append(out, "\r\n", 2);
}

void resp_simple(struct buf *out, const char *s)
{
    buf_put_u8(out, '+');
    buf_append_str(out, s);
    buf_append(out, "\r\n", 2);
}

void resp_error(struct buf *out, const char *msg)
{
    buf_put_u8(out, '-');
    /* An error line must not contain CR or LF: replace them like Redis does. */
    size_t start = out->len;
    buf_append_str(out, msg);
    for (size_t i = start; i < out->len; i++)
        if (out->data[i] == '\r' || out->data[i] == '\n')
            out->data[i] = ' ';
    buf_append(out, "\r\n", 2);
}

void resp_errorf(struct buf *out, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    resp_error(out, msg);
}

void resp_int(struct buf *out, int64_t v) { put_header(out, ':', v); }

void resp_bulk(struct buf *out, const void *data, size_t len)
{
    put_header(out, '$', (int64_t)len);
    buf_reserve(out, len + 2);
    buf_append(out, data, len);
    buf_append(out, "\r\n", 2);
}

void resp_bulk_str(struct buf *out, const char *s) { resp_bulk(out, s, strlen(s)); }

void resp_null(struct buf *out, int proto)
{
    buf_append_str(out, proto >= 3 ? "_\r\n" : "$-1\r\n");
}

void resp_array(struct buf *out, size_t count) { put_header(out, '*', (int64_t)count); }

void resp_map(struct buf *out, size_t pairs, int proto)
{
    if (proto >= 3)
        put_header(out, '%', (int64_t)pairs);
    else
        put_header(out, '*', (int64_t)(pairs * 2));
}
