/*  tessera audit verify: walks each service's audit chain straight from the
    database (TSR_AUDIT_DSN, a role allowed to read the audit tables), so the
    check does not depend on the services it checks. Exit 0 when every chain
    is intact, 1 when one is broken (naming the first broken row).
*/
#include "cli.h"
#include "tessera/audit.h"
#include "tessera/json.h"
#include "tessera/service.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static const char *s_all [] = {
    "enrollment", "validation", "ca", "perso", "mail", "revocation", "publisher"
};

static int
s_verify_one (cli_t *cli, const char *dsn, const char *service, bool *broken)
{
    char err [512];
    tsr_db_t *db = tsr_db_new (dsn, service, err, sizeof err);
    if (!db)
        return cli_fail (cli, CLI_FAILED, "cannot connect to the database", err);
    tsr_audit_report_t report;
    int rc = tsr_audit_verify (db, &report);
    if (rc < 0) {
        rc = cli_fail (cli, CLI_FAILED, "cannot read the audit log", tsr_db_error (db));
        tsr_db_destroy (&db);
        return rc;
    }
    *broken = *broken || rc == 1;
    if (cli->json) {
        tsr_json_t *json = tsr_json_new ();
        tsr_json_str (json, "service", service);
        tsr_json_bool (json, "intact", rc == 0);
        tsr_json_int (json, "rows_checked", report.rows_checked);
        if (rc == 1) {
            tsr_json_int (json, "first_broken_seq", report.first_broken_seq);
            tsr_json_str (json, "reason", report.reason);
        }
        cli_print_json (&json);
    }
    else
    if (rc == 0)
        printf ("%-12s intact  %" PRId64 " rows\n", service, report.rows_checked);
    else
        printf ("%-12s BROKEN  at row %" PRId64 ": %s (%" PRId64 " rows intact before it)\n",
                service, report.first_broken_seq, report.reason, report.rows_checked);
    tsr_db_destroy (&db);
    return CLI_OK;
}

int
cli_audit (cli_t *cli, int argc, char **argv)
{
    if (argc < 1 || !streq (argv [0], "verify"))
        return cli_fail (cli, CLI_USAGE, "usage: tessera audit verify [--service NAME]", NULL);
    const char *selected [8];
    size_t count = 0;
    for (int i = 1; i < argc; i++) {
        if (streq (argv [i], "--service") && i + 1 < argc && count < 8) {
            if (!tsr_service_port_offset (argv [i + 1]))
                return cli_fail (cli, CLI_USAGE, "unknown service", argv [i + 1]);
            selected [count++] = argv [++i];
        }
        else
            return cli_fail (cli, CLI_USAGE, "unexpected argument", argv [i]);
    }
    if (count == 0)
        for (; count < sizeof s_all / sizeof s_all [0]; count++)
            selected [count] = s_all [count];
    const char *dsn = tsr_config_get (cli->config, "TSR_AUDIT_DSN", NULL);
    if (!dsn)
        return cli_fail (cli, CLI_USAGE, "TSR_AUDIT_DSN is not set", NULL);
    bool broken = false;
    for (size_t i = 0; i < count; i++) {
        int rc = s_verify_one (cli, dsn, selected [i], &broken);
        if (rc != CLI_OK)
            return rc;
    }
    return broken ? CLI_FAILED : CLI_OK;
}
