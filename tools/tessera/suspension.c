/*  tessera revocation suspend|resume ...: a holder's certificates put on
    hold, and released (services/revocation; docs/revocation.md,
    "Suspension").

    suspend (--serial HEX... | --card UUID) --reason REASON --note TEXT
            [--requester PERSON_ID] [--request-id ID]
    resume  (--serial HEX... | --card UUID) --reason REASON --note TEXT
            [--requester PERSON_ID] [--request-id ID]

    Suspend REASON: card-mislaid, suspected-misuse, leave-of-absence,
    investigation, holder-request, other. Resume REASON: card-found,
    cleared, holder-returned, holder-request, other. --requester: the
    holder, their RL or an MC who asked (omit when the operator decides on
    their own). --request-id: retry a call that failed half-way. With
    --json, the suspension is one JSON object.
*/
#include "cli.h"
#include "tessera/json.h"
#include "tessera/v1/revocation.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_SERIALS_MAX 16

static const char *s_suspend_reasons [] = { NULL, "card-mislaid", "suspected-misuse",
                                            "leave-of-absence", "investigation",
                                            "holder-request", "other" };
static const char *s_resume_reasons [] = { NULL, "card-found", "cleared", "holder-returned",
                                           "holder-request", "other" };
static const char *s_card_states [] = { "", "formatted", "personalised", "shipped", "active",
                                        "suspended", "lost", "damaged", "returned", "destroyed" };
static const char *s_cert_states [] = { "?", "good", "revoked", "on-hold", "unknown" };
static const char *s_roles [] = { "operator", "rl", "mc", "holder" };

#define S_COUNT(a) ((int) (sizeof (a) / sizeof (a) [0]))
#define S_NAME(a, v) ((int) (v) >= 0 && (int) (v) < S_COUNT (a) && (a) [(int) (v)] \
                      ? (a) [(int) (v)] : "?")

//  [{"serial_hex":..,"state":..}, ...] (caller frees), or NULL.
static char *
s_certificates_json (const Tessera__V1__Suspension *m)
{
    char *out = strdup ("[");
    for (size_t i = 0; out && i < m->n_certificates; i++) {
        tsr_json_t *json = tsr_json_new ();
        tsr_json_str (json, "serial_hex", m->certificates [i]->serial_hex);
        tsr_json_str (json, "state", S_NAME (s_cert_states, m->certificates [i]->state));
        tsr_json_int (json, "released_at_unix", m->certificates [i]->released_at_unix);
        char *item = tsr_json_finish (&json);
        size_t length = strlen (out);
        char *grown = item ? realloc (out, length + strlen (item) + 3) : NULL;
        if (!grown) {
            free (item);
            free (out);
            return NULL;
        }
        out = grown;
        snprintf (out + length, strlen (item) + 3, "%s%s", i ? "," : "", item);
        free (item);
    }
    char *grown = out ? realloc (out, strlen (out) + 2) : NULL;
    if (!grown) {
        free (out);
        return NULL;
    }
    strcat (grown, "]");
    return grown;
}

static int
s_print (cli_t *cli, const Tessera__V1__Suspension *m, const char *text)
{
    if (cli->json) {
        char *certificates = s_certificates_json (m);
        tsr_json_t *json = tsr_json_new ();
        tsr_json_bool (json, "ok", true);
        tsr_json_str (json, "suspension_id", m->suspension_id);
        tsr_json_str (json, "state", m->state == 1 ? "suspended" : "resumed");
        tsr_json_str (json, "holder_person_id", m->holder_person_id);
        tsr_json_str (json, "organisation_id", m->organisation_id);
        tsr_json_str (json, "requester_person_id", m->requester_person_id);
        tsr_json_str (json, "requester_role", S_NAME (s_roles, m->requester_role));
        tsr_json_str (json, "card_uuid", m->card_uuid);
        tsr_json_str (json, "card_previous_state", S_NAME (s_card_states, m->card_previous_state));
        tsr_json_raw (json, "certificates", certificates ? certificates : "[]");
        tsr_json_str (json, "reason", S_NAME (s_suspend_reasons, m->reason));
        tsr_json_str (json, "note", m->note);
        tsr_json_str (json, "suspended_by_operator_id", m->suspended_by_operator_id);
        tsr_json_int (json, "suspended_at_unix", m->suspended_at_unix);
        tsr_json_str (json, "resume_reason", m->resume_reason
                      ? S_NAME (s_resume_reasons, m->resume_reason) : "");
        tsr_json_str (json, "resume_note", m->resume_note);
        tsr_json_str (json, "resumed_by_operator_id", m->resumed_by_operator_id);
        tsr_json_int (json, "resumed_at_unix", m->resumed_at_unix);
        free (certificates);
        return cli_print_json_checked (cli, &json);
    }
    printf ("%s\n%s  %s\n", text, m->suspension_id, m->state == 1 ? "suspended" : "resumed");
    printf ("  holder      %s of organisation %s\n", m->holder_person_id, m->organisation_id);
    printf ("  requester   %s\n", *m->requester_person_id ? m->requester_person_id
                                                          : "the operator");
    if (*m->card_uuid)
        printf ("  card        %s (was %s)\n", m->card_uuid,
                S_NAME (s_card_states, m->card_previous_state));
    for (size_t i = 0; i < m->n_certificates; i++)
        printf ("  serial      %s  %s\n", m->certificates [i]->serial_hex,
                S_NAME (s_cert_states, m->certificates [i]->state));
    printf ("  suspended   by %s: %s: %s\n", m->suspended_by_operator_id,
            S_NAME (s_suspend_reasons, m->reason), m->note);
    if (m->resumed_at_unix)
        printf ("  resumed     by %s: %s: %s\n", m->resumed_by_operator_id,
                S_NAME (s_resume_reasons, m->resume_reason), m->resume_note);
    return CLI_OK;
}

static int
s_print_reply (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message,
               const void *args)
{
    (void) args;
    return s_print (cli, (const Tessera__V1__Suspension *) message, reply->status_message);
}

static const cli_reply_t s_suspension = {
    &tessera__v1__suspension__descriptor, "the reply is not a Suspension", NULL, s_print_reply
};

int
cli_suspension (cli_t *cli, bool resume, int argc, char **argv)
{
    const char *usage = resume
        ? "resume (--serial HEX... | --card UUID) --reason card-found|cleared|holder-returned|"
          "holder-request|other --note TEXT [--requester PERSON_ID] [--request-id ID]"
        : "suspend (--serial HEX... | --card UUID) --reason card-mislaid|suspected-misuse|"
          "leave-of-absence|investigation|holder-request|other --note TEXT "
          "[--requester PERSON_ID] [--request-id ID]";
    char *serials [S_SERIALS_MAX];
    size_t serial_count = 0;
    const char *card = "", *note = "", *requester = "", *request_id = NULL;
    int reason = 0;
    for (int i = 0; i < argc; i += 2) {
        const char *value = i + 1 < argc ? argv [i + 1] : NULL;
        if (!value)
            return cli_fail (cli, CLI_USAGE, usage, argv [i]);
        if (streq (argv [i], "--serial") && serial_count < S_SERIALS_MAX)
            serials [serial_count++] = (char *) value;
        else
        if (streq (argv [i], "--card"))
            card = value;
        else
        if (streq (argv [i], "--note"))
            note = value;
        else
        if (streq (argv [i], "--requester"))
            requester = value;
        else
        if (streq (argv [i], "--request-id"))
            request_id = value;
        else
        if (streq (argv [i], "--reason")
        &&  (reason = resume ? cli_lookup (s_resume_reasons, S_COUNT (s_resume_reasons), value)
                             : cli_lookup (s_suspend_reasons, S_COUNT (s_suspend_reasons), value)))
            ;
        else
            return cli_fail (cli, CLI_USAGE, usage, argv [i]);
    }
    if (!reason || !*note || (!*card && !serial_count))
        return cli_fail (cli, CLI_USAGE, usage, NULL);
    Tessera__V1__SuspendCertificatesRequest suspend =
        TESSERA__V1__SUSPEND_CERTIFICATES_REQUEST__INIT;
    Tessera__V1__ResumeCertificatesRequest again = TESSERA__V1__RESUME_CERTIFICATES_REQUEST__INIT;
    suspend.card_uuid = again.card_uuid = (char *) card;
    suspend.serials = again.serials = serials;
    suspend.n_serials = again.n_serials = serial_count;
    suspend.requester_person_id = again.requester_person_id = (char *) requester;
    suspend.note = again.note = (char *) note;
    suspend.reason = (Tessera__V1__SuspensionReason) reason;
    again.reason = (Tessera__V1__ResumeReason) reason;
    return cli_call_print (cli, "revocation",
                           resume ? "ResumeCertificates" : "SuspendCertificates",
                           resume ? &again.base : &suspend.base, request_id, 0, &s_suspension,
                           NULL);
}
