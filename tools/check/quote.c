/* Keys and values in the text format and the report: bare words when they are simple, else
 * double-quoted C-style escaped strings; nil for no value (README.md, "Strings"). */
#include "check/internal.h"

#include <stdio.h>
#include <string.h>

static bool bare_char(unsigned char c) { return c > 0x20 && c < 0x7f && c != '"' && c != '\\'; }

bool quote_is_bare(const char *s)
{
    if (s[0] == '\0' || strcmp(s, "nil") == 0)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (!bare_char(*p))
            return false;
    return true;
}

void quote_append(struct buf *b, const char *s)
{
    if (quote_is_bare(s)) {
        buf_append_str(b, s);
        return;
    }
    buf_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            buf_append(b, esc, 2);
        } else if (c == '\n') {
            buf_append(b, "\\n", 2);
        } else if (c == '\r') {
            buf_append(b, "\\r", 2);
        } else if (c == '\t') {
            buf_append(b, "\\t", 2);
        } else if (c < 0x20 || c >= 0x7f) {
            ck_bprintf(b, "\\x%02x", c);
        } else {
            buf_append(b, &c, 1);
        }
    }
    buf_append(b, "\"", 1);
}

void quote_append_value(struct buf *b, const char *s)
{
    if (s)
        quote_append(b, s);
    else
        buf_append_str(b, "nil");
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads one escape after a backslash at *p; returns the byte or -1 (err set). */
static int unescape(const char **p, char *err, size_t err_size)
{
    char c = **p;
    *p += 1;
    switch (c) {
    case '\\': return '\\';
    case '"': return '"';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'x': {
        int hi = hex_digit((*p)[0]);
        int lo = hi < 0 ? -1 : hex_digit((*p)[1]);
        if (lo < 0) {
            snprintf(err, err_size, "\\x must be followed by two hex digits");
            return -1;
        }
        *p += 2;
        if (hi == 0 && lo == 0) {
            snprintf(err, err_size, "\\x00 is not allowed (values are C strings)");
            return -1;
        }
        return hi * 16 + lo;
    }
    default:
        snprintf(err, err_size, "unknown escape \\%c (use \\\\ \\\" \\n \\r \\t \\xHH)",
                 c ? c : '0');
        return -1;
    }
}

static enum token_kind quoted(const char **p, struct buf *out, char *err, size_t err_size)
{
    const char *s = *p + 1;
    for (;;) {
        char c = *s;
        if (c == '\0' || c == '\n') {
            snprintf(err, err_size, "unterminated quoted string");
            return TOKEN_ERROR;
        }
        s++;
        if (c == '"')
            break;
        if (c == '\\') {
            int byte = unescape(&s, err, err_size);
            if (byte < 0)
                return TOKEN_ERROR;
            c = (char)byte;
        }
        buf_append(out, &c, 1);
    }
    if (*s != '\0' && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r') {
        snprintf(err, err_size, "a quoted string must be followed by a space or the line end");
        return TOKEN_ERROR;
    }
    *p = s;
    ck_cstr(out);
    return TOKEN_QUOTED;
}

enum token_kind token_next(const char **p, struct buf *out, char *err, size_t err_size)
{
    buf_clear(out);
    const char *s = *p;
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    *p = s;
    if (*s == '\0') {
        ck_cstr(out);
        return TOKEN_END;
    }
    if (*s == '"')
        return quoted(p, out, err, err_size);
    while (*s && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\n') {
        if (!bare_char((unsigned char)*s)) {
            snprintf(err, err_size, "unexpected character 0x%02x in a bare word (quote it)",
                     (unsigned char)*s);
            return TOKEN_ERROR;
        }
        s++;
    }
    buf_append(out, *p, (size_t)(s - *p));
    *p = s;
    ck_cstr(out);
    return TOKEN_WORD;
}
