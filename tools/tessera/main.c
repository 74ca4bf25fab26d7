/*  tessera: the operators' and integrators' command-line client.

    tessera [--json] keygen --name NAME --out DIR
    tessera [--json] ping SERVICE [--echo TEXT] [--request-id ID]
    tessera [--json] audit verify [--service NAME]...
    tessera [--json] ca ceremony|activate|deactivate|status|issue|revoke|cert-status|chain|crl ...
    tessera [--json] operator add|grant|revoke|disable|show|list ...
    tessera [--json] publisher status|publish|crls|crl ...
    tessera [--json] mail emails|requeue|sweep|prepare|post|pin-mailer|accept|... (see mail.c)
    tessera [--json] revocation list|show|decide|phone-start|phone-answer|phone-record|paper|...
    tessera [--json] perso readers|start|retry|abandon|job|jobs|card|cards|card-state|... (see perso.c)
    tessera [--json] enrollment renew|replace ... (see enrollment.c)
    tessera [--json] card show|history CARD_UUID (see card.c)
*/
#include "cli.h"
#include "tessera/json.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: tessera [--json] COMMAND ...\n"
        "  keygen --name NAME --out DIR     write a CURVE certificate pair (DIR/NAME.cert\n"
        "                                   and DIR/NAME.cert_secret)\n"
        "  ping SERVICE [--echo TEXT] [--request-id ID]\n"
        "                                   call Ping on a service over the bus\n"
        "  audit verify [--service NAME]    walk the audit chains (all services by default)\n"
        "  ca ceremony ...                  the CA key ceremony (security officer)\n"
        "  ca activate --share FILE         a custodian presents their share\n"
        "  ca deactivate | ca status        drop the CA key; activation progress\n"
        "  ca issue|revoke|cert-status|chain|crl ...\n"
        "                                   issuance, status and CRLs (see tools/tessera/ca.c)\n"
        "  operator add|grant|revoke|disable|show|list ...\n"
        "                                   operators and their roles (see tools/tessera/operator.c)\n"
        "  publisher status|publish|crls|crl ...\n"
        "                                   CRL publication and OCSP (see tools/tessera/publisher.c)\n"
        "  mail emails|email|requeue|sweep|prepare|post|delivered|returned|shipment|shipments|\n"
        "       pin-mailer|accept|acceptances ...  e-mails, shipments, PIN mailers and acceptances\n"
        "                                   (see tools/tessera/mail.c)\n"
        "  revocation list [--overdue]|show|decide|phone-start|phone-answer|phone-record|paper|\n"
        "             phone-status|archive|suspend|resume ...  revocation requests, suspensions\n"
        "                                   (see tools/tessera/revocation.c, suspension.c)\n"
        "  perso readers|start|retry|abandon|job|jobs|card|cards|transitions|card-state|\n"
        "        reissue-code|issue-csr|issue-p12 ...  personalisation jobs, cards, level *\n"
        "                                   software certificates (see tools/tessera/perso.c)\n"
        "  enrollment renew|replace ...     renewal and replacement card requests\n"
        "                                   (see tools/tessera/enrollment.c)\n"
        "  card show|history CARD_UUID      a card, its certificates' status at ca, its\n"
        "                                   transitions (see tools/tessera/card.c)\n"
        "Configuration comes from TSR_* environment variables (docs/configuration.md).\n");
}

int
cli_fail (cli_t *cli, int code, const char *message, const char *detail)
{
    if (cli->json) {
        tsr_json_t *json = tsr_json_new ();
        tsr_json_bool (json, "ok", false);
        tsr_json_str (json, "error", message);
        if (detail)
            tsr_json_str (json, "detail", detail);
        char *text = tsr_json_finish (&json);
        if (text)
            printf ("%s\n", text);
        free (text);
    }
    fprintf (stderr, "tessera: %s%s%s\n", message, detail ? ": " : "", detail ? detail : "");
    return code;
}

void
cli_print_json (tsr_json_t **json_p)
{
    char *text = tsr_json_finish (json_p);
    printf ("%s\n", text ? text : "{}");
    free (text);
}

int
cli_print_json_checked (cli_t *cli, tsr_json_t **json_p)
{
    char *text = tsr_json_finish (json_p);
    if (!text)
        return cli_fail (cli, CLI_FAILED, "out of memory", NULL);
    printf ("%s\n", text);
    free (text);
    return CLI_OK;
}

int
main (int argc, char **argv)
{
    zsys_init ();
    cli_t cli = { .json = false };
    int arg = 1;
    if (arg < argc && streq (argv [arg], "--json")) {
        cli.json = true;
        arg++;
    }
    if (arg >= argc || streq (argv [arg], "--help") || streq (argv [arg], "-h")) {
        s_usage (arg >= argc ? stderr : stdout);
        return arg >= argc ? CLI_USAGE : CLI_OK;
    }
    char err [512];
    cli.config = tsr_config_new (err, sizeof err);
    if (!cli.config)
        return cli_fail (&cli, CLI_USAGE, "invalid configuration", err);
    const char *command = argv [arg];
    int rc;
    if (streq (command, "keygen"))
        rc = cli_keygen (&cli, argc - arg - 1, argv + arg + 1);
    else
    if (streq (command, "ping"))
        rc = cli_ping (&cli, argc - arg - 1, argv + arg + 1);
    else
    if (streq (command, "audit"))
        rc = cli_audit (&cli, argc - arg - 1, argv + arg + 1);
    else
    if (streq (command, "ca"))
        rc = cli_ca (&cli, argc - arg - 1, argv + arg + 1);
    else
    if (streq (command, "operator"))
        rc = cli_operator (&cli, argc - arg - 1, argv + arg + 1);
    else
    if (streq (command, "publisher"))
        rc = cli_publisher (&cli, argc - arg - 1, argv + arg + 1);
    else
    if (streq (command, "mail"))
        rc = cli_mail (&cli, argc - arg - 1, argv + arg + 1);
    else
    if (streq (command, "revocation"))
        rc = cli_revocation (&cli, argc - arg - 1, argv + arg + 1);
    else
    if (streq (command, "perso"))
        rc = cli_perso (&cli, argc - arg - 1, argv + arg + 1);
    else
    if (streq (command, "enrollment"))
        rc = cli_enrollment (&cli, argc - arg - 1, argv + arg + 1);
    else
    if (streq (command, "card"))
        rc = cli_card (&cli, argc - arg - 1, argv + arg + 1);
    else {
        s_usage (stderr);
        rc = cli_fail (&cli, CLI_USAGE, "unknown command", command);
    }
    tsr_config_destroy (&cli.config);
    return rc;
}
