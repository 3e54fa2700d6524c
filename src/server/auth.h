/* Client authentication (--requirepass) as Redis 7.0 does it with its one user, "default":
 * until a connection authenticates, every command but AUTH, HELLO and QUIT is answered
 * "-NOAUTH Authentication required." (after the unknown-command and arity checks, as in
 * Redis) and its requests are held to Redis' unauthenticated limits (10 arguments, 16 KB
 * bulks). Without a password every connection starts authenticated. */
#ifndef CATENA_SERVER_AUTH_H
#define CATENA_SERVER_AUTH_H

#include "common/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct session;

struct server_auth {
    bool required;
    /* Passwords are compared as SHA-256 digests in constant time, so neither the time taken
     * nor the length of the password tells an attacker how close a guess came. */
    uint8_t password_sha256[32];
    uint64_t failures; /* AUTH and HELLO ... AUTH attempts refused */
};

/* password: --requirepass, "" for none. Needs sodium_init() first. */
void auth_init(struct server_auth *a, const char *password);
/* AUTH [username] password. */
void auth_command(struct session *se, uint32_t argc, const uint8_t *const *argv,
                  const size_t *lens, struct buf *out);
/* Authenticates se as user/password (HELLO's AUTH option); on failure writes WRONGPASS to out
 * and returns false. A connection that was authenticated stays so after a failure. */
bool auth_login(struct session *se, const uint8_t *user, size_t user_len, const uint8_t *password,
                size_t password_len, struct buf *out);

#endif
