/* catena-server's command line: parsing and validation into one struct. */
#ifndef CATENA_SERVER_CONFIG_H
#define CATENA_SERVER_CONFIG_H

#include "core/types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

struct peer_address {
    node_id id;
    char host[64];
    uint16_t port;
};

struct server_config {
    node_id self;
    struct peer_address members[CATENA_MAX_NODES]; /* chain order, as given in --cluster */
    size_t member_count;
    char cluster_id[64];
    char bind[64];     /* client and peer listen address */
    uint16_t port;     /* client (RESP) port */
    size_t max_bulk_bytes;
    size_t max_args;
    size_t max_client_output_bytes;
    size_t max_peer_buffer_bytes;
    size_t max_peer_frame_bytes; /* largest message accepted from a peer (state transfers) */
    size_t max_clients;
    uint64_t tick_ms;
    int log_level; /* enum log_level */
    bool join; /* join a running cluster instead of founding it (--join) */
    bool repair; /* a damaged data directory is moved aside and the replica joins (--repair) */
    bool durable; /* --fsync always (default): log and snapshots in data_dir */
    char data_dir[1024];
    size_t checkpoint_bytes; /* records between checkpoints, at least */
    uint64_t checkpoint_timeout_s; /* a background checkpoint running longer is killed */
    char requirepass[512];   /* clients must AUTH with it; empty: no password */
    uint8_t cluster_key[1024]; /* peers must prove it in the handshake; length 0: no key */
    size_t cluster_key_len;
};

enum config_result { CONFIG_OK, CONFIG_EXIT_OK, CONFIG_ERROR };

/* Parses argv. On CONFIG_ERROR, err holds a one-line message for the user; CONFIG_EXIT_OK means
 * --help or --version was printed to stdout. */
enum config_result config_parse(struct server_config *c, int argc, char **argv, char *err,
                                size_t err_size);
void config_print_usage(FILE *out);
const struct peer_address *config_member(const struct server_config *c, node_id id);
/* Parses "host:port" (host 1-63 bytes, port 1-65535) into a; false when malformed. */
bool config_parse_address(struct peer_address *a, const char *text, size_t len);

/* Parameters as CONFIG GET reports them (the few that clients and redis-benchmark ask for). */
struct config_param {
    const char *name;
    char value[1024];
};
size_t config_params(const struct server_config *c, struct config_param *out, size_t max);
/* Glob match (CONFIG GET patterns are case-insensitive globs). */
bool config_param_matches(const struct config_param *p, const uint8_t *pattern, size_t len);

#endif
