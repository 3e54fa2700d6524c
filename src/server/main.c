/* catena-server: one replica of a catena cluster. */
#include "server/config.h"
#include "server/server.h"

#include <signal.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    static struct server_config config;
    static struct server server;
    char err[256];
    switch (config_parse(&config, argc, argv, err, sizeof err)) {
    case CONFIG_EXIT_OK: return 0;
    case CONFIG_ERROR: fprintf(stderr, "catena-server: %s\n", err); return 2;
    case CONFIG_OK: break;
    }
    signal(SIGPIPE, SIG_IGN);
    if (server_start(&server, &config) != 0)
        return 1;
    server_run(&server);
    return 0;
}
