/*  tessera enrollment ...: the entry operator's renewal and replacement
    requests (enrollment service; docs/enrollment.md, "Renewal and
    replacement").

    renew    --batch ID --person ID --previous REQUEST_ID [--use auth|sign ...]
             a RENEWAL of the previous request (the same person's), at its
             level; the dossier is reused while still valid
    replace  --batch ID --person ID --previous REQUEST_ID
             --reason lost|stolen|damaged [--use auth|sign ...]
             a REPLACEMENT card; perso personalises it once the old card's
             certificates are revoked (keyCompromise, or cessationOfOperation
             for a damaged card whose return is recorded)

    Without --use, both uses (authentication and signature). The batch is
    an open batch of the person's organisation; submit it as any. With
    --json the card request is one JSON object.
*/
#include "cli.h"
#include "tessera/json.h"
#include "tessera/v1/enrollment.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_kinds [] = { "-", "new", "renewal", "replacement" };
static const char *s_reasons [] = { "", "lost", "stolen", "damaged" };

static int
s_print (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message, const void *args)
{
    (void) reply;
    (void) args;
    const Tessera__V1__CardRequest *made = (const Tessera__V1__CardRequest *) message;
    int kind = made->kind >= 0 && made->kind <= 3 ? (int) made->kind : 0;
    int reason = made->replacement_reason >= 0 && made->replacement_reason <= 3
               ? (int) made->replacement_reason : 0;
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "card_request_id", made->card_request_id);
    tsr_json_str (json, "kind", s_kinds [kind]);
    tsr_json_str (json, "previous_card_request_id", made->previous_card_request_id);
    tsr_json_str (json, "replacement_reason", s_reasons [reason]);
    tsr_json_str (json, "batch_id", made->batch_id);
    tsr_json_str (json, "person_id", made->person_id);
    tsr_json_str (json, "dossier_id", made->dossier_id);
    tsr_json_bool (json, "dossier_reused", made->dossier_reused);
    tsr_json_int (json, "level", made->level);
    char *text = tsr_json_finish (&json);
    if (cli->json)
        printf ("%s\n", text ? text : "{}");
    else
        printf ("%s  %s%s%s of %s  level %d  dossier %s%s\n", made->card_request_id,
                s_kinds [kind], reason ? " (" : "", reason ? s_reasons [reason] : "",
                made->previous_card_request_id, (int) made->level, made->dossier_id,
                made->dossier_reused ? " (reused, still valid)" : "");
    free (text);
    return CLI_OK;
}

int
cli_enrollment (cli_t *cli, int argc, char **argv)
{
    if (argc < 1 || (strcmp (argv [0], "renew") != 0 && strcmp (argv [0], "replace") != 0))
        return cli_fail (cli, CLI_USAGE, "enrollment needs a subcommand (renew, replace)", NULL);
    bool replace = strcmp (argv [0], "replace") == 0;
    Tessera__V1__CreateCardRequestRequest request = TESSERA__V1__CREATE_CARD_REQUEST_REQUEST__INIT;
    Tessera__V1__CertificateUse uses [2];
    request.kind = replace ? TESSERA__V1__CARD_REQUEST_KIND__CARD_REQUEST_KIND_REPLACEMENT
                           : TESSERA__V1__CARD_REQUEST_KIND__CARD_REQUEST_KIND_RENEWAL;
    for (int i = 1; i < argc; i++) {
        const char *flag = argv [i];
        if (i + 1 >= argc)
            return cli_fail (cli, CLI_USAGE, "missing value", flag);
        const char *value = argv [++i];
        if (strcmp (flag, "--batch") == 0)
            request.batch_id = (char *) value;
        else if (strcmp (flag, "--person") == 0)
            request.person_id = (char *) value;
        else if (strcmp (flag, "--previous") == 0)
            request.previous_card_request_id = (char *) value;
        else if (strcmp (flag, "--use") == 0 && request.n_uses < 2
             && (strcmp (value, "auth") == 0 || strcmp (value, "sign") == 0))
            uses [request.n_uses++] = strcmp (value, "auth") == 0
                ? TESSERA__V1__CERTIFICATE_USE__CERTIFICATE_USE_AUTHENTICATION
                : TESSERA__V1__CERTIFICATE_USE__CERTIFICATE_USE_SIGNATURE;
        else if (replace && strcmp (flag, "--reason") == 0) {
            int reason = 0;
            for (int r = 1; r <= 3; r++)
                if (strcmp (value, s_reasons [r]) == 0)
                    reason = r;
            if (!reason)
                return cli_fail (cli, CLI_USAGE, "--reason: lost, stolen or damaged", value);
            request.replacement_reason = (Tessera__V1__ReplacementReason) reason;
        }
        else
            return cli_fail (cli, CLI_USAGE, "unknown option or value", flag);
    }
    if (!*request.batch_id || !*request.person_id || !*request.previous_card_request_id
    ||  (replace && !request.replacement_reason))
        return cli_fail (cli, CLI_USAGE, replace ? "replace needs --batch, --person, --previous"
                         " and --reason" : "renew needs --batch, --person and --previous", NULL);
    if (request.n_uses == 0) {
        uses [0] = TESSERA__V1__CERTIFICATE_USE__CERTIFICATE_USE_AUTHENTICATION;
        uses [1] = TESSERA__V1__CERTIFICATE_USE__CERTIFICATE_USE_SIGNATURE;
        request.n_uses = 2;
    }
    request.uses = uses;
    static const cli_reply_t made = {
        &tessera__v1__card_request__descriptor, "the reply does not decode", NULL, s_print
    };
    return cli_call_print (cli, "enrollment", "CreateCardRequest", &request.base, NULL, 0, &made,
                           NULL);
}
