/* The secrets on catena-server's command line: the client password (--requirepass,
 * --requirepass-file) and the cluster key (--cluster-key, --cluster-key-file). A file keeps
 * the secret out of `ps`; it is read whole, less one trailing newline (echo adds it). */
#ifndef CATENA_SERVER_CONFIG_SECRET_H
#define CATENA_SERVER_CONFIG_SECRET_H

#include "server/config.h"

#include <stddef.h>

/* The shortest cluster key accepted: a guessable key would authenticate nothing. */
#define CONFIG_CLUSTER_KEY_MIN_BYTES 16

enum config_secret_kind {
    CONFIG_SECRET_PASSWORD,
    CONFIG_SECRET_PASSWORD_FILE,
    CONFIG_SECRET_CLUSTER_KEY,
    CONFIG_SECRET_CLUSTER_KEY_FILE,
};

/* Applies one of the four flags (value: the secret or the file's path). A second flag for the
 * same secret, an empty secret, a missing or unreadable file are errors, written to err. */
enum config_result config_secret_apply(struct server_config *c, enum config_secret_kind kind,
                                       const char *value, char *err, size_t err_size);

#endif
