/*  Validation's decisions, applied from its events.

    Validation decides each submitted card request and says so with
    "request.validated" (RequestValidated) or "request.rejected"
    (RequestRejected) on its outbox; the service's event consumer hands each
    one to enrollment_on_validation_event inside a transaction that also
    moves its cursor. The request becomes validated (ready for
    personalisation) or rejected with the reason, decided_by and decided_at
    copied from the event; the change is audited (actor "validation", the
    service the fact comes from) and "card_request.changed" appended. A
    batch none of whose requests awaits a decision becomes decided. A
    dossier all of whose requests are rejected (or cancelled) is closed
    and archived at once, kept 5 years.

    Applying the same event twice changes nothing. An event that can never
    apply (not decodable, unknown request, request cancelled meanwhile) is
    logged and passed over: returning -1 would stop every later event
    behind it. Only a database failure returns -1, to be tried again.
*/
#include "enrollment.h"
#include "enrollment_calls.h"
#include "enrollment_input.h"
#include "enrollment_records.h"
#include "enrollment_registry.h"

#include "tessera/json.h"
#include "tessera/log.h"
#include "tessera/v1/validation.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ACTOR "validation"
#define S_SUBMITTED 2
#define S_VALIDATED 3
#define S_REJECTED 4

typedef struct {
    const char *card_request_id;
    const char *decided_by;
    int64_t decided_at;
    const char *reason;             //  rejection only
    int state;                      //  S_VALIDATED or S_REJECTED
} s_decision_t;

//  Closes and archives the dossier when none of its requests is alive
//  (draft, submitted, validated or completed) any more.
static int
s_close_dossier (tsr_db_t *db, const char *trace_id, const char *dossier_id)
{
    const char *values [] = { dossier_id };
    PGresult *res = tsr_db_query (db,
        "UPDATE dossiers SET state = 3, closed_at = now(), archived_at = now(),"
        " retain_until = now() + interval '5 years' WHERE dossier_id = $1 AND state = 1"
        " AND NOT EXISTS (SELECT 1 FROM card_requests r WHERE r.dossier_id = $1"
        " AND r.state IN (1, 2, 3, 6)) RETURNING organisation_id, coalesce(person_id, ''), "
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
        tsr_json_str (json, "reason", "every card request of the dossier was rejected or cancelled");
        tsr_json_str (json, "retain_until_unix", PQgetvalue (res, 0, 2));
        char *details = tsr_json_finish (&json);
        event.state = TESSERA__V1__DOSSIER_STATE__DOSSIER_STATE_CLOSED;
        rc = details ? enrollment_record (db, S_ACTOR, trace_id, "enrollment.dossier_closed", dossier_id,
                                          details, "dossier.closed", &event.base) : -1;
        event.state = TESSERA__V1__DOSSIER_STATE__DOSSIER_STATE_ARCHIVED;
        event.retain_until_unix = strtoll (PQgetvalue (res, 0, 2), NULL, 10);
        if (rc == 0)
            rc = enrollment_record (db, S_ACTOR, trace_id, "enrollment.dossier_archived", dossier_id,
                                    details, "dossier.archived", &event.base);
        free (details);
    }
    PQclear (res);
    return rc;
}

static int
s_apply (tsr_db_t *db, const char *trace_id, const s_decision_t *decision)
{
    if (!enrollment_id_valid (decision->card_request_id, "req-")) {
        tsr_log_warn (trace_id, "enrollment.decision_ignored", "card_request_id", decision->card_request_id,
                      "reason", "not a card request id", NULL);
        return 0;
    }
    const char *key [] = { decision->card_request_id };
    PGresult *res = tsr_db_query (db,
        "SELECT state, batch_id, dossier_id FROM card_requests WHERE card_request_id = $1 FOR UPDATE",
        1, key);
    if (!res)
        return -1;
    int state = PQntuples (res) == 1 ? (int) strtol (PQgetvalue (res, 0, 0), NULL, 10) : 0;
    char batch_id [ENROLLMENT_ID_SIZE] = "", dossier_id [ENROLLMENT_ID_SIZE] = "";
    if (state) {
        snprintf (batch_id, sizeof batch_id, "%s", PQgetvalue (res, 0, 1));
        snprintf (dossier_id, sizeof dossier_id, "%s", PQgetvalue (res, 0, 2));
    }
    PQclear (res);
    if (state == decision->state)
        return 0;                   //  applied before
    if (state != S_SUBMITTED) {
        tsr_log_warn (trace_id, "enrollment.decision_ignored", "card_request_id", decision->card_request_id,
                      "reason", state ? "the card request is not awaiting a decision" : "no such card request",
                      NULL);
        return 0;
    }
    char state_text [4], decided_at [24];
    snprintf (state_text, sizeof state_text, "%d", decision->state);
    snprintf (decided_at, sizeof decided_at, "%lld", (long long) decision->decided_at);
    const char *values [] = { decision->card_request_id, state_text, decision->decided_by, decided_at,
                              decision->reason ? decision->reason : "" };
    res = tsr_db_query (db,
        "UPDATE card_requests SET state = $2::smallint, decided_by = $3,"
        " decided_at = to_timestamp($4::bigint), rejection_reason = $5 WHERE card_request_id = $1",
        5, values);
    if (!res)
        return -1;
    PQclear (res);
    if (enrollment_card_request_record (db, S_ACTOR, trace_id, decision->card_request_id,
                                        decision->state == S_VALIDATED ? "enrollment.card_request_validated"
                                                                       : "enrollment.card_request_rejected",
                                        "card_request.changed", decision->reason)
    ||  enrollment_batch_settle (db, S_ACTOR, trace_id, batch_id)
    ||  (decision->state == S_REJECTED && s_close_dossier (db, trace_id, dossier_id)))
        return -1;
    tsr_log_info (trace_id, "enrollment.card_request_decided", "card_request_id", decision->card_request_id,
                  "state", decision->state == S_VALIDATED ? "validated" : "rejected", NULL);
    return 0;
}

int
enrollment_on_validation_event (void *state, tsr_db_t *db, const Tessera__V1__Event *event)
{
    (void) state;
    bool validated = strcmp (event->type, "request.validated") == 0;
    bool rejected = strcmp (event->type, "request.rejected") == 0;
    if (!validated && !rejected)
        return 0;
    int64_t occurred_at = event->occurred_at_unix_ms / 1000;
    int rc = 0;
    if (validated) {
        Tessera__V1__RequestValidated *payload = tessera__v1__request_validated__unpack (
            NULL, event->payload.len, event->payload.data);
        if (payload) {
            s_decision_t decision = { payload->card_request_id, payload->decided_by_operator_id,
                                      payload->decided_at_unix ? payload->decided_at_unix : occurred_at,
                                      NULL, S_VALIDATED };
            rc = s_apply (db, event->trace_id, &decision);
            tessera__v1__request_validated__free_unpacked (payload, NULL);
            return rc;
        }
    }
    else {
        Tessera__V1__RequestRejected *payload = tessera__v1__request_rejected__unpack (
            NULL, event->payload.len, event->payload.data);
        if (payload) {
            s_decision_t decision = { payload->card_request_id, payload->decided_by_operator_id,
                                      payload->decided_at_unix ? payload->decided_at_unix : occurred_at,
                                      payload->reason, S_REJECTED };
            rc = s_apply (db, event->trace_id, &decision);
            tessera__v1__request_rejected__free_unpacked (payload, NULL);
            return rc;
        }
    }
    char seq [24];
    snprintf (seq, sizeof seq, "%llu", (unsigned long long) event->seq);
    tsr_log_error (event->trace_id, "enrollment.decision_ignored", "type", event->type, "seq", seq,
                   "reason", "the payload does not decode", NULL);
    return 0;
}
