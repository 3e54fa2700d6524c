#include "bench/driver_resp.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fields read from INFO, and which flag they make true once all of a group are seen. */
enum info_field {
    INFO_CPU_SYS, INFO_CPU_USER, INFO_MESSAGES_SENT, INFO_MESSAGES_RECEIVED, INFO_BYTES_SENT,
    INFO_BYTES_RECEIVED, INFO_REPLICA_ID, INFO_FIELDS
};
static const char *const info_names[INFO_FIELDS] = {
    "used_cpu_sys",           "used_cpu_user",   "peer_messages_sent",
    "peer_messages_received", "peer_bytes_sent", "peer_bytes_received",
    "replica_id",
};

/* Stores line's value if it is one of the fields; returns the field or INFO_FIELDS. */
static enum info_field info_line(const char *line, size_t len, struct bench_server_counters *out)
{
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return INFO_FIELDS;
    size_t name_len = (size_t)(colon - line);
    char value[64];
    size_t value_len = len - name_len - 1;
    if (value_len >= sizeof value)
        return INFO_FIELDS;
    memcpy(value, colon + 1, value_len);
    value[value_len] = '\0';
    for (int f = 0; f < INFO_FIELDS; f++) {
        if (strlen(info_names[f]) != name_len || memcmp(info_names[f], line, name_len) != 0)
            continue;
        uint64_t whole = strtoull(value, NULL, 10);
        switch ((enum info_field)f) {
        case INFO_CPU_SYS: case INFO_CPU_USER: out->cpu_s += strtod(value, NULL); break;
        case INFO_MESSAGES_SENT: out->peer_messages_sent = whole; break;
        case INFO_MESSAGES_RECEIVED: out->peer_messages_received = whole; break;
        case INFO_BYTES_SENT: out->peer_bytes_sent = whole; break;
        case INFO_BYTES_RECEIVED: out->peer_bytes_received = whole; break;
        case INFO_REPLICA_ID: snprintf(out->id, sizeof out->id, "%s", value); break;
        case INFO_FIELDS: break;
        }
        return (enum info_field)f;
    }
    return INFO_FIELDS;
}

void bench_resp_parse_info(const char *text, size_t len, struct bench_server_counters *out)
{
    *out = (struct bench_server_counters){0};
    bool seen[INFO_FIELDS + 1] = {false};
    const char *end = text + len;
    for (const char *line = text; line < end;) {
        const char *newline = memchr(line, '\n', (size_t)(end - line));
        const char *stop = newline ? newline : end;
        size_t line_len = (size_t)(stop - line);
        if (line_len && line[line_len - 1] == '\r')
            line_len--;
        seen[info_line(line, line_len, out)] = true;
        line = stop + 1;
    }
    out->has_cpu = seen[INFO_CPU_SYS] && seen[INFO_CPU_USER];
    out->has_peer = seen[INFO_MESSAGES_SENT] && seen[INFO_MESSAGES_RECEIVED] &&
                    seen[INFO_BYTES_SENT] && seen[INFO_BYTES_RECEIVED];
}

bool bench_resp_server_counters(const struct bench_host *host, struct bench_server_counters *out,
                                char *error, size_t error_size)
{
    struct timeval timeout = {.tv_sec = 2};
    redisContext *c = redisConnectWithTimeout(host->name, host->port, timeout);
    if (!c || c->err) {
        snprintf(error, error_size, "%s", c ? c->errstr : "out of memory");
        redisFree(c);
        return false;
    }
    redisSetTimeout(c, timeout);
    redisReply *reply = redisCommand(c, "INFO");
    bool ok = reply && reply->type == REDIS_REPLY_STRING;
    if (ok)
        bench_resp_parse_info(reply->str, reply->len, out);
    else
        snprintf(error, error_size, "INFO: %s",
                 !reply ? c->errstr : reply->type == REDIS_REPLY_ERROR ? reply->str : "no text");
    freeReplyObject(reply);
    redisFree(c);
    return ok;
}
