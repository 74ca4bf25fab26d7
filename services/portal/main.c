/*  tessera-portal: the holder portal. An HTTP server (libmicrohttpd) for
    the card holders, and a bus client of validation, enrollment, perso,
    ca, mail and revocation under its own CURVE key. Not a bus service: no
    schema, no bus endpoint.

    Configuration: docs/configuration.md (TSR_PORTAL_*); what it does and
    why: docs/portal.md. SIGTERM or SIGINT: stop taking connections, let
    the open ones finish (TSR_DRAIN_TIMEOUT_MS), exit 0.
*/
#include "portal.h"
#include "tessera/log.h"

#include <czmq.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>

int
main (int argc, char **argv)
{
    (void) argc;
    (void) argv;
    sigset_t signals;
    sigemptyset (&signals);
    sigaddset (&signals, SIGTERM);
    sigaddset (&signals, SIGINT);
    pthread_sigmask (SIG_BLOCK, &signals, NULL);
    signal (SIGPIPE, SIG_IGN);
    zsys_handler_set (NULL);
    zsys_init ();

    char err [512] = "";
    tsr_config_t *config = tsr_config_new (err, sizeof err);
    if (!config) {
        tsr_log_init ("portal", TSR_LOG_INFO);
        tsr_log_error (NULL, "portal.config_failed", "reason", err, NULL);
        return 1;
    }
    int level = tsr_log_level_parse (tsr_config_get (config, "TSR_LOG_LEVEL", "info"));
    tsr_log_init ("portal", level < 0 ? TSR_LOG_INFO : (tsr_log_level_t) level);
    portal_t *portal = portal_new (config, err, sizeof err);
    if (!portal) {
        tsr_log_error (NULL, "portal.start_failed", "reason", err, NULL);
        tsr_config_destroy (&config);
        return 1;
    }
    char port [16];
    snprintf (port, sizeof port, "%u", portal_port (portal));
    tsr_log_info (NULL, "portal.started", "port", port, "tls", portal_tls (portal) ? "yes" : "no",
                  NULL);
    int signal_number = 0;
    while (sigwait (&signals, &signal_number) != 0
           || (signal_number != SIGTERM && signal_number != SIGINT))
        ;
    int left = portal_drain (portal, -1);
    char left_text [16];
    snprintf (left_text, sizeof left_text, "%d", left);
    tsr_log_info (NULL, "portal.stopped", "connections_cut", left_text, NULL);
    portal_destroy (&portal);
    tsr_config_destroy (&config);
    zsys_shutdown ();
    return 0;
}
