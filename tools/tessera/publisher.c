/*  tessera publisher ...: CRL publication from the command line.

    status                              GetPublicationStatus: readiness, the
                                        latest CRLs, what is due, the alert,
                                        the OCSP responder
    publish [--delta] [--reason TEXT]   PublishNow: a full CRL and its delta
                                        (a delta only with --delta)
    crls [--delta|--full] [--limit N] [--page TOKEN]
                                        ListCrls, newest first
    crl [--delta] [--number N] --out FILE
                                        GetCrl: writes the CRL (PEM)

    Relying parties fetch CRLs and ask OCSP over HTTP (docs/publisher.md);
    these commands are for operators (system engineer, security officer,
    controller).
*/
#include "cli.h"
#include "tessera/json.h"
#include "tessera/v1/publisher.pb-c.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *
s_kind (Tessera__V1__CrlKind kind)
{
    return kind == TESSERA__V1__CRL_KIND__CRL_KIND_DELTA ? "delta" : "full";
}

static const char *
s_trigger (Tessera__V1__CrlTrigger trigger)
{
    static const char *names [] = { "unspecified", "schedule", "revocation", "operator", "startup" };
    return (int) trigger >= 0 && trigger <= 4 ? names [trigger] : "?";
}

static void
s_crl_json (tsr_json_t *json, const Tessera__V1__CrlInfo *crl)
{
    tsr_json_str (json, "issuer", crl->issuer);
    tsr_json_str (json, "kind", s_kind (crl->kind));
    tsr_json_int (json, "crl_number", (int64_t) crl->crl_number);
    tsr_json_int (json, "delta_base_crl_number", (int64_t) crl->delta_base_crl_number);
    tsr_json_int (json, "this_update_unix", crl->this_update_unix);
    tsr_json_int (json, "next_update_unix", crl->next_update_unix);
    tsr_json_int (json, "entry_count", crl->entry_count);
    tsr_json_str (json, "trigger", s_trigger (crl->trigger));
    tsr_json_int (json, "publication_delay_ms", crl->publication_delay_ms);
    tsr_json_str (json, "crl_sha256", crl->crl_sha256);
    tsr_json_str (json, "url", crl->url);
}

//  One line per CRL: JSON object or a table row.
static void
s_print_crl (cli_t *cli, const Tessera__V1__CrlInfo *crl)
{
    if (cli->json) {
        tsr_json_t *json = tsr_json_new ();
        s_crl_json (json, crl);
        cli_print_json (&json);
    }
    else
        printf ("%-5s %8llu  base %-6llu %5u entries  next update %lld  %-10s %6lld ms  %s\n",
                s_kind (crl->kind), (unsigned long long) crl->crl_number,
                (unsigned long long) crl->delta_base_crl_number, crl->entry_count,
                (long long) crl->next_update_unix, s_trigger (crl->trigger),
                (long long) crl->publication_delay_ms, crl->url);
}

static int
s_print_status (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message,
                const void *args)
{
    (void) reply;
    (void) args;
    const Tessera__V1__PublicationStatus *status = (const Tessera__V1__PublicationStatus *) message;
    const Tessera__V1__IssuerPublication *issuer = status->n_issuers ? status->issuers [0] : NULL;
    if (cli->json) {
        tsr_json_t *json = tsr_json_new ();
        tsr_json_bool (json, "ok", true);
        tsr_json_bool (json, "ready", status->ready);
        tsr_json_str (json, "not_ready_reason", status->not_ready_reason);
        tsr_json_int (json, "ca_event_seq", (int64_t) status->ca_event_seq);
        if (issuer) {
            tsr_json_str (json, "issuer_sha256", issuer->issuer_sha256);
            tsr_json_int (json, "full_crl_number", issuer->latest_full ? (int64_t) issuer->latest_full->crl_number : 0);
            tsr_json_int (json, "delta_crl_number", issuer->latest_delta ? (int64_t) issuer->latest_delta->crl_number : 0);
            tsr_json_int (json, "next_full_due_unix", issuer->next_full_due_unix);
            tsr_json_int (json, "revocation_pending_since_unix_ms", issuer->revocation_pending_since_unix_ms);
            tsr_json_bool (json, "publication_late", issuer->publication_late);
            tsr_json_str (json, "late_reason", issuer->late_reason);
            tsr_json_int (json, "last_publication_delay_ms", issuer->last_publication_delay_ms);
            if (issuer->ocsp) {
                tsr_json_str (json, "ocsp_url", issuer->ocsp->url);
                tsr_json_str (json, "responder_serial_hex", issuer->ocsp->responder_serial_hex);
                tsr_json_int (json, "responder_not_after_unix", issuer->ocsp->responder_not_after_unix);
                tsr_json_int (json, "ocsp_requests_served", (int64_t) issuer->ocsp->requests_served);
                tsr_json_int (json, "ocsp_malformed_requests", (int64_t) issuer->ocsp->malformed_requests);
            }
        }
        cli_print_json (&json);
    }
    else {
        printf ("%s%s%s (ca events applied up to %llu)\n", status->ready ? "ready" : "not ready",
                status->ready ? "" : ": ", status->not_ready_reason,
                (unsigned long long) status->ca_event_seq);
        if (issuer) {
            printf ("issuer %s, next full CRL due %lld%s%s\n", issuer->issuer_sha256,
                    (long long) issuer->next_full_due_unix,
                    issuer->publication_late ? ", LATE: " : "",
                    issuer->publication_late ? issuer->late_reason : "");
            if (issuer->latest_full)
                s_print_crl (cli, issuer->latest_full);
            if (issuer->latest_delta)
                s_print_crl (cli, issuer->latest_delta);
            if (issuer->ocsp)
                printf ("ocsp %s: responder %s until %lld, %llu requests, %llu malformed\n",
                        issuer->ocsp->url, issuer->ocsp->responder_serial_hex,
                        (long long) issuer->ocsp->responder_not_after_unix,
                        (unsigned long long) issuer->ocsp->requests_served,
                        (unsigned long long) issuer->ocsp->malformed_requests);
        }
    }
    return CLI_OK;
}

static int
s_status (cli_t *cli, int argc, char **argv)
{
    (void) argv;
    if (argc)
        return cli_fail (cli, CLI_USAGE, "status takes no argument", NULL);
    static const cli_reply_t expected = {
        &tessera__v1__publication_status__descriptor, "the reply is not a PublicationStatus",
        NULL, s_print_status
    };
    Tessera__V1__GetPublicationStatusRequest request = TESSERA__V1__GET_PUBLICATION_STATUS_REQUEST__INIT;
    return cli_call_print (cli, "publisher", "GetPublicationStatus", &request.base, NULL, 0,
                           &expected, NULL);
}

static int
s_print_published (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message,
                   const void *args)
{
    (void) reply;
    (void) args;
    const Tessera__V1__PublishNowReply *made = (const Tessera__V1__PublishNowReply *) message;
    for (size_t i = 0; i < made->n_crls; i++)
        s_print_crl (cli, made->crls [i]);
    return CLI_OK;
}

static int
s_publish (cli_t *cli, int argc, char **argv)
{
    Tessera__V1__PublishNowRequest request = TESSERA__V1__PUBLISH_NOW_REQUEST__INIT;
    for (int i = 0; i < argc; i++) {
        if (streq (argv [i], "--delta"))
            request.kind = TESSERA__V1__CRL_KIND__CRL_KIND_DELTA;
        else
        if (streq (argv [i], "--reason") && i + 1 < argc)
            request.reason = argv [++i];
        else
            return cli_fail (cli, CLI_USAGE, "publish [--delta] [--reason TEXT]", argv [i]);
    }
    static const cli_reply_t expected = {
        &tessera__v1__publish_now_reply__descriptor, "the reply is not a PublishNowReply", NULL,
        s_print_published
    };
    return cli_call_print (cli, "publisher", "PublishNow", &request.base, NULL, 0, &expected,
                           NULL);
}

//  One page of CRLs, and how to ask for the next.
static int
s_print_page (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message,
              const void *args)
{
    (void) reply;
    (void) args;
    const Tessera__V1__ListCrlsReply *page = (const Tessera__V1__ListCrlsReply *) message;
    for (size_t i = 0; i < page->n_crls; i++)
        s_print_crl (cli, page->crls [i]);
    if (page->next_page_token [0] && !cli->json)
        printf ("more: --page %s\n", page->next_page_token);
    return CLI_OK;
}

static int
s_list (cli_t *cli, int argc, char **argv)
{
    Tessera__V1__ListCrlsRequest request = TESSERA__V1__LIST_CRLS_REQUEST__INIT;
    for (int i = 0; i < argc; i++) {
        if (streq (argv [i], "--delta"))
            request.kind = TESSERA__V1__CRL_KIND__CRL_KIND_DELTA;
        else
        if (streq (argv [i], "--full"))
            request.kind = TESSERA__V1__CRL_KIND__CRL_KIND_FULL;
        else
        if (streq (argv [i], "--limit") && i + 1 < argc)
            request.limit = (uint32_t) strtoul (argv [++i], NULL, 10);
        else
        if (streq (argv [i], "--page") && i + 1 < argc)
            request.page_token = argv [++i];
        else
            return cli_fail (cli, CLI_USAGE, "crls [--delta|--full] [--limit N] [--page TOKEN]",
                             argv [i]);
    }
    static const cli_reply_t expected = {
        &tessera__v1__list_crls_reply__descriptor, "the reply is not a ListCrlsReply", NULL,
        s_print_page
    };
    return cli_call_print (cli, "publisher", "ListCrls", &request.base, NULL, 0, &expected, NULL);
}

//  The CRL of a CrlInfo into the file args (PEM), then its row.
static int
s_write_crl (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message,
             const void *args)
{
    (void) reply;
    const char *out = args;
    const Tessera__V1__CrlInfo *crl = (const Tessera__V1__CrlInfo *) message;
    const unsigned char *cursor = crl->crl_der.data;
    X509_CRL *object = d2i_X509_CRL (NULL, &cursor, (long) crl->crl_der.len);
    FILE *file = object ? fopen (out, "w") : NULL;
    bool written = file && PEM_write_X509_CRL (file, object);
    if (file && fclose (file))
        written = false;
    X509_CRL_free (object);
    if (!written)
        return cli_fail (cli, CLI_FAILED, "cannot write the CRL", out);
    s_print_crl (cli, crl);
    return CLI_OK;
}

static int
s_get (cli_t *cli, int argc, char **argv)
{
    Tessera__V1__GetCrlRequest request = TESSERA__V1__GET_CRL_REQUEST__INIT;
    request.include_der = true;
    const char *out = NULL;
    for (int i = 0; i < argc; i++) {
        if (streq (argv [i], "--delta"))
            request.kind = TESSERA__V1__CRL_KIND__CRL_KIND_DELTA;
        else
        if (streq (argv [i], "--number") && i + 1 < argc)
            request.crl_number = strtoull (argv [++i], NULL, 10);
        else
        if (streq (argv [i], "--out") && i + 1 < argc)
            out = argv [++i];
        else
            return cli_fail (cli, CLI_USAGE, "crl [--delta] [--number N] --out FILE", argv [i]);
    }
    if (!out)
        return cli_fail (cli, CLI_USAGE, "crl [--delta] [--number N] --out FILE", NULL);
    static const cli_reply_t expected = {
        &tessera__v1__crl_info__descriptor, "the reply is not a CrlInfo", NULL, s_write_crl
    };
    return cli_call_print (cli, "publisher", "GetCrl", &request.base, NULL, 0, &expected, out);
}

int
cli_publisher (cli_t *cli, int argc, char **argv)
{
    if (argc < 1)
        return cli_fail (cli, CLI_USAGE, "publisher needs a subcommand (status, publish, crls, crl)",
                         NULL);
    const char *command = argv [0];
    argc--, argv++;
    if (streq (command, "status"))
        return s_status (cli, argc, argv);
    if (streq (command, "publish"))
        return s_publish (cli, argc, argv);
    if (streq (command, "crls"))
        return s_list (cli, argc, argv);
    if (streq (command, "crl"))
        return s_get (cli, argc, argv);
    return cli_fail (cli, CLI_USAGE, "unknown publisher subcommand", command);
}
