#include "runtime/net.h"

#include "common/log.h"

#include <netdb.h>
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
