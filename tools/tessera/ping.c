/*  tessera ping SERVICE: one Ping over the bus, under the caller's CURVE
    identity (TSR_CERT); how the service is found: call.c.
*/
#include "cli.h"
#include "tessera/bus.h"
#include "tessera/json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
cli_ping (cli_t *cli, int argc, char **argv)
{
    const char *service = NULL, *echo = "", *request_id = NULL;
    const char *names [] = { "--echo", "--request-id", NULL };
    const char **slots [] = { &echo, &request_id };
    if (cli_options (cli, argc, argv, names, slots, &service) != CLI_OK)
        return CLI_USAGE;
    if (!service)
        return cli_fail (cli, CLI_USAGE, "which service? (enrollment, validation, ca, perso, "
                         "mail, revocation, publisher)", NULL);
    Tessera__V1__PingRequest request = TESSERA__V1__PING_REQUEST__INIT;
    request.echo = (char *) echo;
    tsr_envelope_t *reply = NULL;
    int64_t elapsed_us = 0;
    int rc = cli_call (cli, service, "Ping", &request.base, request_id, 0, &reply, &elapsed_us);
    if (rc != CLI_OK)
        return rc;
    Tessera__V1__PingReply *pong = tessera__v1__ping_reply__unpack (NULL, reply->payload.len,
                                                                    reply->payload.data);
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
        cli_print_json (&json);
    }
    else
        printf ("%-12s %s %s (instance %s) answered in %.1f ms\n", pong->service, "version",
                pong->version, pong->instance_id, (double) elapsed_us / 1000.0);
    rc = CLI_OK;
done:
    if (pong)
        tessera__v1__ping_reply__free_unpacked (pong, NULL);
    tsr_envelope_free (&reply);
    return rc;
}
