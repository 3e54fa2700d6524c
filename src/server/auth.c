#include "server/auth.h"

#include "resp/reply.h"
#include "server/server.h"
#include "server/session.h"

#include <sodium.h>
#include <string.h>

_Static_assert(sizeof ((struct server_auth *)0)->password_sha256 == crypto_hash_sha256_BYTES,
               "password digest size");

void auth_init(struct server_auth *a, const char *password)
{
    memset(a, 0, sizeof *a);
    a->required = password[0] != '\0';
    if (a->required)
        crypto_hash_sha256(a->password_sha256, (const uint8_t *)password, strlen(password));
}

static bool auth_password_matches(const struct server_auth *a, const uint8_t *password,
                                  size_t len)
{
    if (!a->required)
        return true; /* Redis' default user without a password ("nopass") takes any */
    uint8_t digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, password, len);
    return sodium_memcmp(digest, a->password_sha256, sizeof digest) == 0;
}

bool auth_login(struct session *se, const uint8_t *user, size_t user_len, const uint8_t *password,
                size_t password_len, struct buf *out)
{
    struct server_auth *a = &se->server->auth;
    bool user_ok = user_len == 7 && memcmp(user, "default", 7) == 0;
    if (!user_ok || !auth_password_matches(a, password, password_len)) {
        a->failures++;
        resp_error(out, "WRONGPASS invalid username-password pair or user is disabled.");
        return false;
    }
    se->authenticated = true;
    se->parser.unauthenticated = false;
    return true;
}

void auth_command(struct session *se, uint32_t argc, const uint8_t *const *argv,
                  const size_t *lens, struct buf *out)
{
    if (argc > 3) {
        resp_error(out, "ERR syntax error");
        return;
    }
    if (argc == 2 && !se->server->auth.required) {
        resp_error(out, "ERR AUTH <password> called without any password configured for the "
                        "default user. Are you sure your configuration is correct?");
        return;
    }
    const uint8_t *user = argc == 3 ? argv[1] : (const uint8_t *)"default";
    size_t user_len = argc == 3 ? lens[1] : 7;
    if (auth_login(se, user, user_len, argv[argc - 1], lens[argc - 1], out))
        resp_ok(out);
}
