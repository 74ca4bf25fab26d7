/*  tessera ping SERVICE: one Ping over the bus, under the caller's CURVE
    identity (TSR_CERT). The service's endpoint is TSR_<SERVICE>_ENDPOINT
    (default tcp://127.0.0.1:71xx) and its public key is read from
    TSR_<SERVICE>_CERT (default $TSR_KEYRING_DIR/<service>.cert).
*/
#include "cli.h"
#include "tessera/bus.h"
#include "tessera/json.h"
#include "tessera/service.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  TSR_<SERVICE>_<suffix> in upper case.
static void
s_service_key (char *key, size_t size, const char *service, const char *suffix)
{
    snprintf (key, size, "TSR_%s_%s", service, suffix);
    for (char *p = key; *p; p++)
        *p = (char) toupper ((unsigned char) *p);
}

int
cli_ping (cli_t *cli, int argc, char **argv)
{
    const char *service = NULL, *echo = "", *request_id = NULL;
    for (int i = 0; i < argc; i++) {
        if (streq (argv [i], "--echo") && i + 1 < argc)
            echo = argv [++i];
        else
        if (streq (argv [i], "--request-id") && i + 1 < argc)
            request_id = argv [++i];
        else
        if (!service && argv [i][0] != '-')
            service = argv [i];
        else
            return cli_fail (cli, CLI_USAGE, "unexpected argument", argv [i]);
    }
    int offset = tsr_service_port_offset (service);
    if (!offset)
        return cli_fail (cli, CLI_USAGE, "unknown service (enrollment, validation, ca, perso, "
                         "mail, revocation, publisher)", service);
    char key [96], fallback [1024], endpoint [256];
    tsr_service_default_endpoint (offset, fallback, sizeof fallback);
    s_service_key (key, sizeof key, service, "ENDPOINT");
    snprintf (endpoint, sizeof endpoint, "%s", tsr_config_get (cli->config, key, fallback));
    snprintf (fallback, sizeof fallback, "%s/%s.cert",
              tsr_config_get (cli->config, "TSR_KEYRING_DIR", "."), service);
    s_service_key (key, sizeof key, service, "CERT");
    const char *server_cert_path = tsr_config_get (cli->config, key, fallback);
    const char *cert_path = tsr_config_get (cli->config, "TSR_CERT", NULL);
    if (!cert_path)
        return cli_fail (cli, CLI_USAGE, "TSR_CERT is not set (your certificate from keygen)", NULL);
    long timeout_ms = 0, retries = 0;
    char err [256];
    if (tsr_config_get_long (cli->config, "TSR_TIMEOUT_MS", 3000, 100, 600000, &timeout_ms,
                             err, sizeof err)
    ||  tsr_config_get_long (cli->config, "TSR_RETRIES", 2, 0, 20, &retries, err, sizeof err))
        return cli_fail (cli, CLI_USAGE, "invalid configuration", err);

    int rc = CLI_FAILED;
    zcert_t *cert = zcert_load (cert_path);
    zcert_t *server_cert = zcert_load (server_cert_path);
    tsr_bus_client_t *client = NULL;
    tsr_envelope_t *reply = NULL;
    Tessera__V1__PingReply *pong = NULL;
    uint8_t *payload = NULL;
    if (!cert || !server_cert) {
        rc = cli_fail (cli, CLI_FAILED, "cannot read a certificate",
                       cert ? server_cert_path : cert_path);
        goto done;
    }
    client = tsr_bus_client_new (endpoint, cert, zcert_public_txt (server_cert),
                                 (int) timeout_ms, (int) retries);
    if (!client) {
        rc = cli_fail (cli, CLI_FAILED, "cannot connect", endpoint);
        goto done;
    }
    Tessera__V1__PingRequest request = TESSERA__V1__PING_REQUEST__INIT;
    request.echo = (char *) echo;
    size_t size = tessera__v1__ping_request__get_packed_size (&request);
    payload = malloc (size ? size : 1);
    if (!payload)
        goto done;
    tessera__v1__ping_request__pack (&request, payload);
    int64_t started = zclock_usecs ();
    reply = tsr_bus_client_call (client, "Ping", payload, size, request_id, NULL);
    int64_t elapsed_us = zclock_usecs () - started;
    if (!reply) {
        rc = cli_fail (cli, CLI_FAILED, "no reply (service down, or this key is not in its keyring)",
                       endpoint);
        goto done;
    }
    if (reply->status != TESSERA__V1__STATUS__STATUS_OK) {
        rc = cli_fail (cli, CLI_FAILED, tsr_status_name (reply->status), reply->status_message);
        goto done;
    }
    pong = tessera__v1__ping_reply__unpack (NULL, reply->payload.len, reply->payload.data);
    if (!pong) {
        rc = cli_fail (cli, CLI_FAILED, "the reply is not a PingReply", NULL);
        goto done;
    }
    if (cli->json) {
        tsr_json_t *json = tsr_json_new ();
        tsr_json_bool (json, "ok", true);
        tsr_json_str (json, "service", pong->service);
        tsr_json_str (json, "version", pong->version);
        tsr_json_str (json, "instance_id", pong->instance_id);
        tsr_json_int (json, "served_at_unix_ms", pong->served_at_unix_ms);
        tsr_json_str (json, "echo", pong->echo);
        tsr_json_str (json, "caller_key", pong->caller_key);
        tsr_json_str (json, "request_id", reply->request_id);
        tsr_json_str (json, "message_id", reply->message_id);
        tsr_json_int (json, "round_trip_us", elapsed_us);
        char *text = tsr_json_finish (&json);
        printf ("%s\n", text ? text : "{}");
        free (text);
    }
    else
        printf ("%-12s %s %s (instance %s) answered in %.1f ms\n", pong->service, "version",
                pong->version, pong->instance_id, (double) elapsed_us / 1000.0);
    rc = CLI_OK;
done:
    if (pong)
        tessera__v1__ping_reply__free_unpacked (pong, NULL);
    tsr_envelope_free (&reply);
    free (payload);
    tsr_bus_client_destroy (&client);
    zcert_destroy (&cert);
    zcert_destroy (&server_cert);
    return rc;
}
