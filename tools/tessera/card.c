/*  tessera card ...: one card as the service desk sees it.

    show    CARD_UUID   the card (perso's GetCard): state, the state a
                        suspension returns it to, holder, request, and its
                        certificates with their status at ca (GetStatus)
    history CARD_UUID   its transitions, oldest first: from, to, kind
                        (operator or card operation), who, when, why

    With --json, show prints one object (certificates as an array) and
    history one object per transition.
*/
#include "cli.h"
#include "tessera/json.h"
#include "tessera/v1/ca.pb-c.h"
#include "tessera/v1/perso.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *s_card_states [] = { "-", "formatted", "personalised", "shipped", "active",
                                        "suspended", "lost", "damaged", "returned", "destroyed" };
static const char *s_cert_states [] = { "?", "good", "revoked", "on-hold", "unknown" };
static const char *s_kinds [] = { "?", "operator", "card-operation" };
static const char *s_reasons [] = {
    "", "unspecified", "key-compromise", "ca-compromise", "affiliation-changed", "superseded",
    "cessation-of-operation", "certificate-hold", "", "remove-from-crl", "privilege-withdrawn",
    "aa-compromise" };

#define S_COUNT(a) ((int) (sizeof (a) / sizeof (a) [0]))
#define S_NAME(a, v) ((int) (v) >= 0 && (int) (v) < S_COUNT (a) ? (a) [(int) (v)] : "?")

static void
s_time (int64_t unix_s, char out [24])
{
    time_t when = (time_t) unix_s;
    struct tm tm;
    if (!unix_s || !gmtime_r (&when, &tm) || !strftime (out, 24, "%Y-%m-%d %H:%M:%S", &tm))
        snprintf (out, 24, "-");
}

//  The certificate's status at ca, or NULL with the error printed.
static Tessera__V1__CertificateStatus *
s_status (cli_t *cli, const char *serial_hex)
{
    Tessera__V1__GetStatusRequest request = TESSERA__V1__GET_STATUS_REQUEST__INIT;
    request.serial_hex = (char *) serial_hex;
    tsr_envelope_t *reply = NULL;
    if (cli_call (cli, "ca", "GetStatus", &request.base, NULL, 0, &reply, NULL) != CLI_OK)
        return NULL;
    Tessera__V1__CertificateStatus *status = tessera__v1__certificate_status__unpack (
        NULL, reply->payload.len, reply->payload.data);
    tsr_envelope_free (&reply);
    if (!status)
        cli_fail (cli, CLI_FAILED, "the ca's certificate status does not decode", serial_hex);
    return status;
}

//  One certificate: a JSON object (appended to *array_p) or a line.
static int
s_certificate (cli_t *cli, const Tessera__V1__CardCertificate *certificate, char **array_p)
{
    Tessera__V1__CertificateStatus *status = s_status (cli, certificate->serial_hex);
    if (!status)
        return CLI_FAILED;
    const char *state = S_NAME (s_cert_states, status->state);
    const char *reason = status->state == TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_GOOD
                       ? "" : S_NAME (s_reasons, status->reason);
    char not_after [24];
    s_time (certificate->not_after_unix, not_after);
    int rc = CLI_OK;
    if (cli->json) {
        tsr_json_t *json = tsr_json_new ();
        tsr_json_str (json, "slot", certificate->slot);
        tsr_json_str (json, "serial_hex", certificate->serial_hex);
        tsr_json_str (json, "ca_status", state);
        tsr_json_str (json, "ca_reason", reason);
        tsr_json_int (json, "not_after_unix", certificate->not_after_unix);
        char *item = tsr_json_finish (&json);
        size_t length = strlen (*array_p), extra = item ? strlen (item) + 2 : 0;
        char *grown = item ? realloc (*array_p, length + extra + 1) : NULL;
        if (!grown)
            rc = cli_fail (cli, CLI_FAILED, "out of memory", NULL);
        else {
            snprintf (grown + length, extra + 1, "%s%s", length > 1 ? "," : "", item);
            *array_p = grown;
        }
        free (item);
    }
    else
        printf ("  %-3s  %-40s  %-8s %-24s  until %s UTC\n", certificate->slot,
                certificate->serial_hex, state, reason, not_after);
    tessera__v1__certificate_status__free_unpacked (status, NULL);
    return rc;
}

static int
s_show (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message, const void *args)
{
    (void) reply;
    (void) args;
    const Tessera__V1__Card *card = (const Tessera__V1__Card *) message;
    if (!cli->json) {
        printf ("%s  %s", card->card_uuid, S_NAME (s_card_states, card->state));
        if (card->suspended_from_state)
            printf (" (returns to %s)", S_NAME (s_card_states, card->suspended_from_state));
        printf ("\n  holder      %s of organisation %s\n  request     %s\n", card->person_id,
                card->organisation_id, card->card_request_id);
    }
    char *array = strdup ("[");
    int rc = array ? CLI_OK : cli_fail (cli, CLI_FAILED, "out of memory", NULL);
    for (size_t i = 0; rc == CLI_OK && i < card->n_certificates; i++)
        rc = s_certificate (cli, card->certificates [i], &array);
    if (rc == CLI_OK && cli->json) {
        tsr_json_t *json = tsr_json_new ();
        size_t length = strlen (array);
        char *closed = realloc (array, length + 2);
        if (closed) {
            array = closed;
            strcat (array, "]");
        }
        tsr_json_bool (json, "ok", true);
        tsr_json_str (json, "card_uuid", card->card_uuid);
        tsr_json_str (json, "state", S_NAME (s_card_states, card->state));
        tsr_json_str (json, "suspended_from", card->suspended_from_state
                      ? S_NAME (s_card_states, card->suspended_from_state) : "");
        tsr_json_str (json, "person_id", card->person_id);
        tsr_json_str (json, "organisation_id", card->organisation_id);
        tsr_json_str (json, "card_request_id", card->card_request_id);
        tsr_json_raw (json, "certificates", closed ? array : "[]");
        tsr_json_int (json, "transitions", (int64_t) card->n_history);
        char *text = tsr_json_finish (&json);
        if (text)
            printf ("%s\n", text);
        free (text);
    }
    free (array);
    return rc;
}

static int
s_history (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message, const void *args)
{
    (void) reply;
    (void) args;
    const Tessera__V1__Card *card = (const Tessera__V1__Card *) message;
    if (!cli->json)
        printf ("%-19s  %-12s  %-12s  %-14s  %-24s  %s\n", "WHEN (UTC)", "FROM", "TO", "KIND",
                "WHO", "WHY");
    for (size_t i = 0; i < card->n_history; i++) {
        const Tessera__V1__CardStateChange *change = card->history [i];
        char when [24];
        s_time (change->at_unix, when);
        if (!cli->json) {
            printf ("%-19s  %-12s  %-12s  %-14s  %-24s  %s\n", when,
                    S_NAME (s_card_states, change->from_state),
                    S_NAME (s_card_states, change->to_state), S_NAME (s_kinds, change->kind),
                    *change->operator_id ? change->operator_id : "-", change->reason);
            continue;
        }
        tsr_json_t *json = tsr_json_new ();
        tsr_json_str (json, "card_uuid", card->card_uuid);
        tsr_json_str (json, "from", S_NAME (s_card_states, change->from_state));
        tsr_json_str (json, "to", S_NAME (s_card_states, change->to_state));
        tsr_json_str (json, "kind", S_NAME (s_kinds, change->kind));
        tsr_json_str (json, "operator_id", change->operator_id);
        tsr_json_str (json, "reason", change->reason);
        tsr_json_int (json, "at_unix", change->at_unix);
        if (cli_print_json_checked (cli, &json) != CLI_OK)
            return CLI_FAILED;
    }
    return CLI_OK;
}

int
cli_card (cli_t *cli, int argc, char **argv)
{
    if (argc != 2 || (!streq (argv [0], "show") && !streq (argv [0], "history")))
        return cli_fail (cli, CLI_USAGE, "card show|history CARD_UUID", argc ? argv [0] : NULL);
    static const cli_reply_t shown = {
        &tessera__v1__card__descriptor, "the reply is not a Card", NULL, s_show
    };
    static const cli_reply_t history = {
        &tessera__v1__card__descriptor, "the reply is not a Card", NULL, s_history
    };
    Tessera__V1__GetCardRequest request = TESSERA__V1__GET_CARD_REQUEST__INIT;
    request.card_uuid = argv [1];
    return cli_call_print (cli, "perso", "GetCard", &request.base, NULL, 0,
                           streq (argv [0], "show") ? &shown : &history, NULL);
}
