/*  portal: the holder portal, an HTTP server (libmicrohttpd) that is a bus
    client of the services under its own CURVE identity. Not a bus service:
    it owns no schema and serves no bus endpoint.

    Pages: login; forced password change at the first login; secret
    questions; my cards and certificates; card activation with the
    activation code; acceptance of the certificates; revocation with a
    reason and a confirmation step; logout. Server-rendered HTML, French and
    English, no JavaScript. docs/portal.md tells the whole of it.

        portal_t *portal = portal_new (config, err, sizeof err);
        ... wait for SIGTERM ...
        portal_drain (portal, -1);
        portal_destroy (&portal);
*/
#ifndef PORTAL_H
#define PORTAL_H

#include <stddef.h>
#include <stdint.h>

#include "tessera/config.h"

typedef struct _portal_t portal_t;

//  Reads the settings (docs/configuration.md, TSR_PORTAL_*), makes the
//  sessions, limiters, bus clients and journal, and starts serving. NULL
//  with the reason in err.
portal_t *portal_new (tsr_config_t *config, char *err, size_t err_size);
//  Stops taking connections and waits up to timeout_ms (< 0: the
//  configured TSR_DRAIN_TIMEOUT_MS) for those open to finish. Returns how
//  many were still open.
int portal_drain (portal_t *self, int timeout_ms);
void portal_destroy (portal_t **self_p);
uint16_t portal_port (portal_t *self);
//  True when pages are served over TLS.
int portal_tls (portal_t *self);

#endif
