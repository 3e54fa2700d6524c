#include "server/config_secret.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const flag_names[] = {"--requirepass", "--requirepass-file", "--cluster-key",
                                         "--cluster-key-file"};

/* Reads all of path into out (at most cap - 1 bytes; a longer file is an error); drops one
 * trailing "\n" or "\r\n". Returns the length, or -1 with err written. */
static long secret_read_file(const char *flag, const char *path, uint8_t *out, size_t cap,
                             char *err, size_t err_size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_size, "%s: cannot read '%s': %s", flag, path, strerror(errno));
        return -1;
    }
    size_t len = fread(out, 1, cap, f);
    bool failed = ferror(f);
    fclose(f);
    if (failed || len == cap) {
        snprintf(err, err_size, "%s: '%s' %s", flag, path,
                 failed ? "cannot be read" : "is too long");
        return -1;
    }
    if (len > 0 && out[len - 1] == '\n')
        len--;
    if (len > 0 && out[len - 1] == '\r')
        len--;
    return (long)len;
}

/* The secret's bytes, from the flag's value or from the file it names; -1 with err written. */
static long secret_value(enum config_secret_kind kind, const char *value, uint8_t *out,
                         size_t cap, char *err, size_t err_size)
{
    const char *flag = flag_names[kind];
    if (kind == CONFIG_SECRET_PASSWORD_FILE || kind == CONFIG_SECRET_CLUSTER_KEY_FILE)
        return secret_read_file(flag, value, out, cap, err, err_size);
    size_t len = strlen(value);
    if (len >= cap) {
        snprintf(err, err_size, "%s: at most %zu bytes", flag, cap - 1);
        return -1;
    }
    memcpy(out, value, len);
    return (long)len;
}

enum config_result config_secret_apply(struct server_config *c, enum config_secret_kind kind,
                                       const char *value, char *err, size_t err_size)
{
    bool password = kind == CONFIG_SECRET_PASSWORD || kind == CONFIG_SECRET_PASSWORD_FILE;
    const char *flag = flag_names[kind];
    if (password ? c->requirepass[0] != '\0' : c->cluster_key_len > 0) {
        snprintf(err, err_size, "%s: the %s was given twice", flag,
                 password ? "password" : "cluster key");
        return CONFIG_ERROR;
    }
    uint8_t secret[sizeof c->cluster_key > sizeof c->requirepass ? sizeof c->cluster_key
                                                                 : sizeof c->requirepass];
    size_t cap = password ? sizeof c->requirepass : sizeof c->cluster_key;
    long len = secret_value(kind, value, secret, cap, err, err_size);
    if (len < 0)
        return CONFIG_ERROR;
    const char *what = password ? "password" : "cluster key";
    if (len == 0 || (password && memchr(secret, '\0', (size_t)len))) {
        snprintf(err, err_size, "%s: the %s %s", flag, what,
                 len == 0 ? "is empty" : "contains a NUL byte");
        return CONFIG_ERROR;
    }
    if (!password && len < CONFIG_CLUSTER_KEY_MIN_BYTES) {
        snprintf(err, err_size, "%s: the cluster key is shorter than %d bytes", flag,
                 CONFIG_CLUSTER_KEY_MIN_BYTES);
        return CONFIG_ERROR;
    }
    if (password) {
        memcpy(c->requirepass, secret, (size_t)len);
        c->requirepass[len] = '\0';
    } else {
        memcpy(c->cluster_key, secret, (size_t)len);
        c->cluster_key_len = (size_t)len;
    }
    return CONFIG_OK;
}
