/*  The portal's settings from the configuration (docs/configuration.md,
    "The holder portal").
*/
#include "portal_internal.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_PEM_MAX (256 * 1024)

//  A PEM file's text (caller frees), or NULL with the reason in err.
static char *
s_read_pem (const char *path, char *err, size_t err_size)
{
    FILE *file = fopen (path, "rb");
    if (!file) {
        snprintf (err, err_size, "cannot read %s: %s", path, strerror (errno));
        return NULL;
    }
    char *text = malloc (S_PEM_MAX + 1);
    size_t size = text ? fread (text, 1, S_PEM_MAX + 1, file) : 0;
    fclose (file);
    if (!text || size == 0 || size > S_PEM_MAX) {
        snprintf (err, err_size, "%s: empty or larger than %d bytes", path, S_PEM_MAX);
        free (text);
        return NULL;
    }
    text [size] = '\0';
    return text;
}

int
portal_settings_read (portal_settings_t *settings, tsr_config_t *config, char *err,
                      size_t err_size)
{
    memset (settings, 0, sizeof *settings);
    snprintf (settings->address, sizeof settings->address, "%s",
              tsr_config_get (config, "TSR_PORTAL_ADDRESS", "127.0.0.1"));
    const char *cert = tsr_config_get (config, "TSR_PORTAL_TLS_CERT", NULL);
    const char *key = tsr_config_get (config, "TSR_PORTAL_TLS_KEY", NULL);
    if ((cert == NULL) != (key == NULL)) {
        snprintf (err, err_size, "TSR_PORTAL_TLS_CERT and TSR_PORTAL_TLS_KEY go together");
        return -1;
    }
    long secure = 0;
    if (tsr_config_get_long (config, "TSR_PORTAL_PORT", 8180, 0, 65535, &settings->port,
                             err, err_size)
    ||  tsr_config_get_long (config, "TSR_PORTAL_COOKIE_SECURE", cert ? 1 : 0, 0, 1, &secure,
                             err, err_size)
    ||  tsr_config_get_long (config, "TSR_PORTAL_MAX_CONNECTIONS", 64, 1, 4096,
                             &settings->max_connections, err, err_size)
    ||  tsr_config_get_long (config, "TSR_PORTAL_MAX_CONNECTIONS_PER_ADDRESS", 16, 1, 4096,
                             &settings->max_connections_per_address, err, err_size)
    ||  tsr_config_get_long (config, "TSR_PORTAL_CONNECTION_TIMEOUT_S", 30, 1, 3600,
                             &settings->connection_timeout_s, err, err_size)
    ||  tsr_config_get_long (config, "TSR_PORTAL_MAX_BODY", 16384, 1024, 1048576,
                             &settings->max_body, err, err_size)
    ||  tsr_config_get_long (config, "TSR_DRAIN_TIMEOUT_MS", 10000, 0, 600000,
                             &settings->drain_timeout_ms, err, err_size))
        return -1;
    //  Over TLS the cookie is always Secure.
    settings->cookie_secure = secure || cert;
    if (cert) {
        settings->tls_cert_pem = s_read_pem (cert, err, err_size);
        settings->tls_key_pem = settings->tls_cert_pem ? s_read_pem (key, err, err_size) : NULL;
        if (!settings->tls_key_pem) {
            portal_settings_free (settings);
            return -1;
        }
    }
    return 0;
}

void
portal_settings_free (portal_settings_t *settings)
{
    free (settings->tls_cert_pem);
    if (settings->tls_key_pem) {
        //  The private key: wiped before it goes.
        sodium_memzero (settings->tls_key_pem, strlen (settings->tls_key_pem));
        free (settings->tls_key_pem);
    }
    settings->tls_cert_pem = NULL;
    settings->tls_key_pem = NULL;
}
