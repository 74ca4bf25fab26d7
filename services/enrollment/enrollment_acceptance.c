/*  Acceptance returns, applied from mail's events.

    Mail records the holder's signed acceptance and hand-over report (PV)
    and says so with "acceptance.recorded" (AcceptanceRecorded). When the
    record closes the dossier (closes_dossier), the card request becomes
    completed and the dossier, with no request still undecided, validated
    or in a batch, is closed and archived at once, kept 5 years. Applying
    the same event twice changes nothing; an event that can never apply is
    logged and passed over (see enrollment_decisions.c); only a database
    failure returns -1, to be tried again.
*/
#include "enrollment.h"
#include "enrollment_calls.h"
#include "enrollment_input.h"
#include "enrollment_records.h"

#include "tessera/json.h"
#include "tessera/log.h"
#include "tessera/v1/mail.pb-c.h"

#include <stdlib.h>
#include <string.h>

#define S_ACTOR "mail"

//  Closes and archives the dossier once none of its requests is in a
//  batch, submitted or validated. 0, or -1 on a database failure.
static int
s_archive_dossier (tsr_db_t *db, const char *trace_id, const char *dossier_id)
{
    const char *values [] = { dossier_id };
    PGresult *res = tsr_db_query (db,
        "UPDATE dossiers SET state = 3, closed_at = now(), archived_at = now(),"
        " retain_until = now() + interval '5 years' WHERE dossier_id = $1 AND state = 1"
        " AND NOT EXISTS (SELECT 1 FROM card_requests r WHERE r.dossier_id = $1"
        " AND r.state IN (1, 2, 3)) RETURNING organisation_id, coalesce(person_id, ''), "
        ENROLLMENT_UNIX ("retain_until"), 1, values);
    if (!res)
        return -1;
    int rc = 0;
    if (PQntuples (res) == 1) {
        Tessera__V1__DossierChanged event = TESSERA__V1__DOSSIER_CHANGED__INIT;
        event.dossier_id = (char *) dossier_id;
        event.organisation_id = PQgetvalue (res, 0, 0);
        event.person_id = PQgetvalue (res, 0, 1);
        tsr_json_t *json = tsr_json_new ();
        tsr_json_str (json, "reason", "acceptance and hand-over report recorded");
        tsr_json_str (json, "retain_until_unix", PQgetvalue (res, 0, 2));
        char *details = tsr_json_finish (&json);
        event.state = TESSERA__V1__DOSSIER_STATE__DOSSIER_STATE_CLOSED;
        rc = details ? enrollment_record (db, S_ACTOR, trace_id, "enrollment.dossier_closed",
                                          dossier_id, details, "dossier.closed", &event.base) : -1;
        event.state = TESSERA__V1__DOSSIER_STATE__DOSSIER_STATE_ARCHIVED;
        event.retain_until_unix = strtoll (PQgetvalue (res, 0, 2), NULL, 10);
        if (rc == 0)
            rc = enrollment_record (db, S_ACTOR, trace_id, "enrollment.dossier_archived",
                                    dossier_id, details, "dossier.archived", &event.base);
        free (details);
    }
    PQclear (res);
    return rc;
}

static int
s_apply (tsr_db_t *db, const char *trace_id, const Tessera__V1__AcceptanceRecorded *accepted)
{
    if (!accepted->closes_dossier)
        return 0;
    if (!enrollment_id_valid (accepted->card_request_id, "req-")) {
        tsr_log_warn (trace_id, "enrollment.acceptance_ignored", "card_request_id",
                      accepted->card_request_id, "reason", "not a card request id", NULL);
        return 0;
    }
    const char *values [] = { accepted->card_request_id };
    PGresult *res = tsr_db_query (db,
        "UPDATE card_requests SET state = 6 WHERE card_request_id = $1 AND state = 3"
        " RETURNING dossier_id, batch_id, person_id, organisation_id", 1, values);
    if (!res)
        return -1;
    int rc = 0;
    if (PQntuples (res) == 1) {
        Tessera__V1__CardRequestChanged event = TESSERA__V1__CARD_REQUEST_CHANGED__INIT;
        event.card_request_id = accepted->card_request_id;
        event.batch_id = PQgetvalue (res, 0, 1);
        event.person_id = PQgetvalue (res, 0, 2);
        event.organisation_id = PQgetvalue (res, 0, 3);
        event.state = TESSERA__V1__CARD_REQUEST_STATE__CARD_REQUEST_STATE_COMPLETED;
        tsr_json_t *json = tsr_json_new ();
        tsr_json_str (json, "acceptance_id", accepted->acceptance_id);
        tsr_json_str (json, "card_uuid", accepted->card_uuid);
        tsr_json_int (json, "recorded_at_unix", accepted->recorded_at_unix);
        char *details = tsr_json_finish (&json);
        rc = details ? enrollment_record (db, S_ACTOR, trace_id, "enrollment.card_request_completed",
                                          accepted->card_request_id, details,
                                          "card_request.changed", &event.base) : -1;
        free (details);
        if (rc == 0)
            rc = s_archive_dossier (db, trace_id, PQgetvalue (res, 0, 0));
    }
    else
        tsr_log_info (trace_id, "enrollment.acceptance_ignored", "card_request_id",
                      accepted->card_request_id, "reason", "not a validated request (applied before?)",
                      NULL);
    PQclear (res);
    return rc;
}

int
enrollment_on_mail_event (void *state, tsr_db_t *db, const Tessera__V1__Event *event)
{
    (void) state;
    if (strcmp (event->type, "acceptance.recorded") != 0)
        return 0;
    Tessera__V1__AcceptanceRecorded *accepted = tessera__v1__acceptance_recorded__unpack (
        NULL, event->payload.len, event->payload.data);
    if (!accepted) {
        tsr_log_warn (event->trace_id, "enrollment.acceptance_ignored", "reason",
                      "payload is not an AcceptanceRecorded", NULL);
        return 0;
    }
    int rc = s_apply (db, event->trace_id, accepted);
    tessera__v1__acceptance_recorded__free_unpacked (accepted, NULL);
    return rc;
}
