/*  One request over the bus for a CLI command: finds the service's
    endpoint and public key from the configuration, calls under the
    caller's certificate (TSR_CERT), and turns every failure into one
    error line (cli_fail). cli_call_print adds the decoding of the reply,
    its printing and its freeing, for the commands that show what they are
    answered; cli_call_pages, the calls of every page of a list.

    Endpoint: TSR_<SERVICE>_ENDPOINT (default tcp://127.0.0.1:71xx); the
    service's public key: TSR_<SERVICE>_CERT (default
    $TSR_KEYRING_DIR/<service>.cert); TSR_TIMEOUT_MS, TSR_RETRIES.
*/
#include "cli.h"
#include "tessera/service.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
cli_call (cli_t *cli, const char *service, const char *method, const ProtobufCMessage *request,
          const char *request_id, long timeout_ms, tsr_envelope_t **reply_p, int64_t *elapsed_us)
{
    *reply_p = NULL;
    int offset = tsr_service_port_offset (service);
    if (!offset)
        return cli_fail (cli, CLI_USAGE, "unknown service (enrollment, validation, ca, perso, "
                         "mail, revocation, publisher)", service);
    char key [96], fallback [1024], endpoint [256];
    tsr_service_default_endpoint (offset, fallback, sizeof fallback);
    tsr_config_key (key, sizeof key, service, "ENDPOINT");
    snprintf (endpoint, sizeof endpoint, "%s", tsr_config_get (cli->config, key, fallback));
    snprintf (fallback, sizeof fallback, "%s/%s.cert",
              tsr_config_get (cli->config, "TSR_KEYRING_DIR", "."), service);
    tsr_config_key (key, sizeof key, service, "CERT");
    const char *server_cert_path = tsr_config_get (cli->config, key, fallback);
    const char *cert_path = tsr_config_get (cli->config, "TSR_CERT", NULL);
    if (!cert_path)
        return cli_fail (cli, CLI_USAGE, "TSR_CERT is not set (your certificate from keygen)", NULL);
    long retries = 0;
    char err [256];
    if ((!timeout_ms && tsr_config_get_long (cli->config, "TSR_TIMEOUT_MS", 3000, 100, 600000,
                                             &timeout_ms, err, sizeof err))
    ||  tsr_config_get_long (cli->config, "TSR_RETRIES", 2, 0, 20, &retries, err, sizeof err))
        return cli_fail (cli, CLI_USAGE, "invalid configuration", err);

    int rc = CLI_FAILED;
    zcert_t *cert = zcert_load (cert_path);
    zcert_t *server_cert = zcert_load (server_cert_path);
    tsr_bus_client_t *client = NULL;
    size_t size = 0;
    uint8_t *payload = tsr_message_pack (request, &size);
    if (!payload)
        goto done;
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
    int64_t started = zclock_usecs ();
    tsr_envelope_t *reply = tsr_bus_client_call (client, method, payload, size, request_id, NULL);
    if (elapsed_us)
        *elapsed_us = zclock_usecs () - started;
    if (!reply) {
        rc = cli_fail (cli, CLI_FAILED, "no reply (service down, or this key is not in its keyring)",
                       endpoint);
        goto done;
    }
    if (reply->status != TESSERA__V1__STATUS__STATUS_OK) {
        rc = cli_fail (cli, CLI_FAILED, tsr_status_name (reply->status), reply->status_message);
        tsr_envelope_free (&reply);
        goto done;
    }
    *reply_p = reply;
    rc = CLI_OK;
done:
    //  The payload may hold a secret (a key share): wipe it.
    if (payload)
        memset (payload, 0, size);
    free (payload);
    tsr_bus_client_destroy (&client);
    zcert_destroy (&cert);
    zcert_destroy (&server_cert);
    return rc;
}

int
cli_call_print (cli_t *cli, const char *service, const char *method,
                const ProtobufCMessage *request, const char *request_id, long timeout_ms,
                const cli_reply_t *expected, const void *args)
{
    tsr_envelope_t *reply = NULL;
    int rc = cli_call (cli, service, method, request, request_id, timeout_ms, &reply, NULL);
    if (rc == CLI_OK) {
        ProtobufCMessage *message = protobuf_c_message_unpack (
            expected->descriptor, NULL, reply->payload.len, reply->payload.data);
        rc = message ? expected->print (cli, reply, message, args)
                     : cli_fail (cli, CLI_FAILED, expected->undecoded, expected->undecoded_detail);
        if (message)
            protobuf_c_message_free_unpacked (message, NULL);
    }
    //  The reply may hold a secret too (a PUK, a key): wipe it.
    if (reply)
        OPENSSL_cleanse (reply->payload.data, reply->payload.len);
    tsr_envelope_free (&reply);
    return rc;
}

int
cli_call_pages (cli_t *cli, const cli_pages_t *pages, ProtobufCMessage *request,
                char **page_token)
{
    const ProtobufCMessageDescriptor *descriptor = pages->reply_descriptor;
    const ProtobufCFieldDescriptor *items = &descriptor->fields [0];
    char token [64] = "";
    int rc = CLI_OK;
    for (int page = 0; rc == CLI_OK && (!pages->pages_max || page < pages->pages_max); page++) {
        *page_token = token;        //  cppcheck-suppress autoVariables
        tsr_envelope_t *reply = NULL;
        rc = cli_call (cli, pages->service, pages->method, request, NULL, 0, &reply, NULL);
        if (rc != CLI_OK)
            break;
        ProtobufCMessage *listed = protobuf_c_message_unpack (
            descriptor, NULL, reply->payload.len, reply->payload.data);
        tsr_envelope_free (&reply);
        if (!listed) {
            rc = cli_fail (cli, CLI_FAILED, pages->undecoded, pages->undecoded_detail);
            break;
        }
        size_t count = *(size_t *) ((char *) listed + items->quantifier_offset);
        ProtobufCMessage **each = *(ProtobufCMessage ***) ((char *) listed + items->offset);
        for (size_t i = 0; rc == CLI_OK && i < count; i++)
            rc = pages->print (cli, each [i], pages->args);
        //  A token that does not move would loop for ever.
        const char *next = *(char **) ((char *) listed + descriptor->fields [1].offset);
        bool moved = strcmp (token, next) != 0;
        snprintf (token, sizeof token, "%s", next);
        protobuf_c_message_free_unpacked (listed, NULL);
        if (!*token)
            break;
        if (!moved)
            rc = cli_fail (cli, CLI_FAILED, "the service repeated its page token", token);
    }
    *page_token = (char *) "";       //  token dies with this call
    return rc;
}
