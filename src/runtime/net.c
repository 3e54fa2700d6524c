#include "runtime/net.h"

#include "common/check.h"
#include "common/log.h"

#include <netdb.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

int net_resolve(const char *host, uint16_t port, struct sockaddr_storage *out)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    if (getaddrinfo(host, service, &hints, &res) != 0 || !res)
        return -1;
    memcpy(out, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

int net_listen(uv_loop_t *loop, uv_tcp_t *tcp, void *data, const char *host, uint16_t port,
               int backlog, uv_connection_cb on_connection, const char *what)
{
    struct sockaddr_storage addr;
    if (net_resolve(host, port, &addr) != 0) {
        log_error("cannot resolve the %s listen address %s", what, host);
        return UV_EINVAL;
    }
    uv_tcp_init(loop, tcp);
    tcp->data = data;
    int rc = uv_tcp_bind(tcp, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)tcp, backlog, on_connection);
    if (rc < 0)
        log_error("cannot listen for %s on %s:%u: %s", what, host, port, uv_strerror(rc));
    return rc;
}

void net_peer_name(const uv_tcp_t *tcp, char *host, size_t host_size, uint16_t *port)
{
    struct sockaddr_storage addr;
    int len = sizeof addr;
    snprintf(host, host_size, "?");
    *port = 0;
    if (uv_tcp_getpeername(tcp, (struct sockaddr *)&addr, &len) != 0)
        return;
    if (addr.ss_family == AF_INET) {
        uv_ip4_name((struct sockaddr_in *)&addr, host, host_size);
        *port = ntohs(((struct sockaddr_in *)&addr)->sin_port);
    } else if (addr.ss_family == AF_INET6) {
        uv_ip6_name((struct sockaddr_in6 *)&addr, host, host_size);
        *port = ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
    }
}

struct net_write {
    uv_write_t req;
    uint8_t data[];
};

static void net_write_copy_cb(uv_write_t *req, int status)
{
    (void)status;
    free(req->data);
}

void net_write_copy(uv_stream_t *stream, const void *data, size_t len)
{
    struct net_write *w = malloc(sizeof *w + len);
    CHECK(w != NULL);
    memcpy(w->data, data, len);
    w->req.data = w;
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)len);
    if (uv_write(&w->req, stream, &b, 1, net_write_copy_cb) < 0)
        free(w);
}
