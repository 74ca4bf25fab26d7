/*  RevokeCertificate, GetStatus, ListRevoked: the revocation status the CA
    keeps for every certificate it issued.

    Transitions (one table, enforced here): good -> revoked (any RFC 5280
    reason but removeFromCRL), good -> on hold (certificateHold), on hold
    -> revoked (another reason), on hold -> good (removeFromCRL, the
    release). A revoked certificate stays revoked. Each change takes the
    next change_seq, which delta CRLs and the publisher's catch-up read.
    Revocation needs no active key: it is recorded now and signed into
    the next CRL.
*/
#include "ca_handlers.h"
#include "ca_records.h"
#include "ca_state.h"

#include "tessera/audit.h"
#include "tessera/events.h"
#include "tessera/json.h"
#include "tessera/log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_GOOD 1
#define S_REVOKED 2
#define S_ON_HOLD 3
#define S_RFC_HOLD 6
#define S_RFC_REMOVE 8
#define S_LIST_MAX 1000

//  The new state for (current state, RFC reason), or 0 when not allowed.
static int
s_transition (int state, int rfc_reason)
{
    if (state == S_GOOD)
        return rfc_reason == S_RFC_HOLD ? S_ON_HOLD : rfc_reason == S_RFC_REMOVE ? 0 : S_REVOKED;
    if (state == S_ON_HOLD)
        return rfc_reason == S_RFC_REMOVE ? S_GOOD : rfc_reason == S_RFC_HOLD ? 0 : S_REVOKED;
    return 0;
}

static bool
s_reference_valid (const char *text)
{
    size_t len = text ? strlen (text) : 0;
    if (len > 64)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum ((unsigned char) text [i]) && !strchr ("._:-", text [i]))
            return false;
    return true;
}

static tsr_status_t
s_reply_status (tsr_call_t *call, const char *serial_hex, const char *text)
{
    const char *values [] = { serial_hex };
    PGresult *res = tsr_db_query (call->db, CA_RECORD_SELECT " WHERE serial_hex = $1", 1, values);
    tsr_status_t status;
    ca_record_t record;
    memset (&record, 0, sizeof record);
    if (!res)
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_UNAVAILABLE, "cannot read certificates");
    else
    if (PQntuples (res) == 0) {
        //  Never issued here: OCSP's "unknown", not an error.
        Tessera__V1__CertificateStatus unknown = TESSERA__V1__CERTIFICATE_STATUS__INIT;
        unknown.serial_hex = (char *) serial_hex;
        unknown.state = TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_UNKNOWN;
        status = tsr_call_reply (call, &unknown.base, "not issued by this CA");
    }
    else
    if (ca_record_from_row (res, 0, &record))
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "stored certificate is damaged");
    else
        status = tsr_call_reply (call, &record.status.base, text);
    ca_record_release (&record);
    PQclear (res);
    return status;
}

static int
s_record (tsr_call_t *call, const char *serial_hex, int rfc_reason, int new_state,
          int64_t revoked_at, const char *revocation_request_id)
{
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "serial", serial_hex);
    tsr_json_int (json, "reason", rfc_reason);
    tsr_json_int (json, "state", new_state);
    tsr_json_str (json, "revocation_request_id", revocation_request_id);
    const char *action = new_state == S_GOOD ? "ca.certificate_released" : "ca.certificate_revoked";
    if (!json || tsr_audit_append_json (call->db, call->caller_key, action, serial_hex,
                                        call->request->trace_id, &json))
        return -1;
    Tessera__V1__CertificateRevoked event = TESSERA__V1__CERTIFICATE_REVOKED__INIT;
    event.serial_hex = (char *) serial_hex;
    event.reason = ca_reason_from_rfc (rfc_reason);
    event.revoked_at_unix = revoked_at;
    event.revocation_request_id = (char *) revocation_request_id;
    const char *type = new_state == S_GOOD ? "certificate.hold_released" : "certificate.revoked";
    return tsr_events_append_message (call->db, type, serial_hex, call->request->trace_id,
                                      &event.base, NULL);
}

tsr_status_t
ca_handle_revoke (tsr_call_t *call)
{
    tsr_status_t unpack_status;
    Tessera__V1__RevokeCertificateRequest *request = (Tessera__V1__RevokeCertificateRequest *) tsr_call_unpack (
        call, &tessera__v1__revoke_certificate_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    char serial_hex [CA_SERIAL_HEX_MAX + 1];
    tsr_status_t status;
    int rfc_reason = ca_reason_to_rfc (request->reason);
    int64_t now = (int64_t) time (NULL);
    PGresult *res = NULL;
    if (!ca_serial_hex_normalise (request->serial_hex, serial_hex)) {
        status = tsr_call_fail (call, S_INVALID, "serial_hex must be 2 to 40 hex digits");
        goto done;
    }
    if (rfc_reason < 0) {
        status = tsr_call_fail (call, S_INVALID, "reason must be an RFC 5280 reason code");
        goto done;
    }
    if (request->invalidity_date_unix < 0 || request->invalidity_date_unix > now) {
        status = tsr_call_fail (call, S_INVALID, "invalidity_date_unix must not be in the future");
        goto done;
    }
    if (!s_reference_valid (request->revocation_request_id)) {
        status = tsr_call_fail (call, S_INVALID, "revocation_request_id must be at most 64 of [A-Za-z0-9._:-]");
        goto done;
    }
    const char *key [] = { serial_hex };
    res = tsr_db_query (call->db, "SELECT state FROM certificates WHERE serial_hex = $1 FOR UPDATE", 1, key);
    if (!res) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_UNAVAILABLE, "cannot read certificates");
        goto done;
    }
    if (PQntuples (res) == 0) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND,
                                "no certificate with serial %s", serial_hex);
        goto done;
    }
    int state = atoi (PQgetvalue (res, 0, 0));
    PQclear (res);
    res = NULL;
    int new_state = s_transition (state, rfc_reason);
    if (!new_state) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION,
                                state == S_REVOKED ? "the certificate is revoked already"
                                : rfc_reason == S_RFC_REMOVE ? "removeFromCRL releases a hold; this certificate is not on hold"
                                : "the certificate is on hold already");
        goto done;
    }
    char state_text [12], reason_text [12], invalidity [24];
    snprintf (state_text, sizeof state_text, "%d", new_state);
    snprintf (reason_text, sizeof reason_text, "%d", rfc_reason);
    snprintf (invalidity, sizeof invalidity, "%lld", (long long) request->invalidity_date_unix);
    const char *values [] = { serial_hex, state_text, reason_text, invalidity };
    res = tsr_db_query (call->db,
        "WITH next AS (UPDATE status_counter SET last_seq = last_seq + 1 RETURNING last_seq)"
        " UPDATE certificates SET state = $2::smallint, change_seq = (SELECT last_seq FROM next),"
        " reason = CASE WHEN $2::smallint = 1 THEN NULL ELSE $3::smallint END,"
        " revoked_at = CASE WHEN $2::smallint = 1 THEN NULL ELSE now() END,"
        " invalidity_date = CASE WHEN $2::smallint = 1 OR $4::bigint = 0 THEN NULL"
        "                   ELSE to_timestamp($4::bigint) END"
        " WHERE serial_hex = $1", 4, values);
    if (!res || s_record (call, serial_hex, rfc_reason, new_state, now, request->revocation_request_id)) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_UNAVAILABLE, "cannot record the revocation");
        goto done;
    }
    tsr_log_info (call->request->trace_id, new_state == S_GOOD ? "ca.hold_released" : "ca.revoked",
                  "serial", serial_hex, "reason", reason_text, NULL);
    status = s_reply_status (call, serial_hex, new_state == S_GOOD ? "hold released" : "revoked");
done:
    PQclear (res);
    tessera__v1__revoke_certificate_request__free_unpacked (request, NULL);
    return status;
}

tsr_status_t
ca_handle_get_status (tsr_call_t *call)
{
    tsr_status_t unpack_status;
    Tessera__V1__GetStatusRequest *request = (Tessera__V1__GetStatusRequest *) tsr_call_unpack (
        call, &tessera__v1__get_status_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    char serial_hex [CA_SERIAL_HEX_MAX + 1];
    tsr_status_t status = ca_serial_hex_normalise (request->serial_hex, serial_hex)
        ? s_reply_status (call, serial_hex, "status")
        : tsr_call_fail (call, S_INVALID, "serial_hex must be 2 to 40 hex digits");
    tessera__v1__get_status_request__free_unpacked (request, NULL);
    return status;
}

tsr_status_t
ca_handle_list_revoked (tsr_call_t *call)
{
    tsr_status_t unpack_status;
    Tessera__V1__ListRevokedRequest *request = (Tessera__V1__ListRevokedRequest *) tsr_call_unpack (
        call, &tessera__v1__list_revoked_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    uint32_t limit = request->limit == 0 || request->limit > S_LIST_MAX ? S_LIST_MAX : request->limit;
    char after [24], limit_text [12];
    snprintf (after, sizeof after, "%llu", (unsigned long long) request->after_change_seq);
    snprintf (limit_text, sizeof limit_text, "%u", limit);
    tessera__v1__list_revoked_request__free_unpacked (request, NULL);
    const char *values [] = { after, limit_text };
    PGresult *res = tsr_db_query (call->db,
        "SELECT serial_hex, state, coalesce(reason, -1),"
        " coalesce(extract(epoch FROM revoked_at)::bigint, 0),"
        " coalesce(extract(epoch FROM invalidity_date)::bigint, 0), change_seq,"
        " (SELECT last_seq FROM status_counter)"
        " FROM certificates WHERE change_seq > $1::bigint ORDER BY change_seq LIMIT $2::int",
        2, values);
    if (!res)
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_UNAVAILABLE, "cannot read certificates");
    int rows = PQntuples (res);
    Tessera__V1__RevokedEntry *entries = calloc ((size_t) rows + 1, sizeof *entries);
    Tessera__V1__RevokedEntry **list = calloc ((size_t) rows + 1, sizeof *list);
    tsr_status_t status;
    if (!entries || !list)
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "out of memory");
    else {
        Tessera__V1__ListRevokedReply reply = TESSERA__V1__LIST_REVOKED_REPLY__INIT;
        for (int i = 0; i < rows; i++) {
            tessera__v1__revoked_entry__init (&entries [i]);
            entries [i].serial_hex = PQgetvalue (res, i, 0);
            //  A released hold is listed with removeFromCRL (what a delta
            //  CRL says of it).
            int reason = atoi (PQgetvalue (res, i, 2));
            entries [i].reason = atoi (PQgetvalue (res, i, 1)) == S_GOOD
                ? TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_REMOVE_FROM_CRL
                : ca_reason_from_rfc (reason);
            entries [i].revoked_at_unix = strtoll (PQgetvalue (res, i, 3), NULL, 10);
            entries [i].invalidity_date_unix = strtoll (PQgetvalue (res, i, 4), NULL, 10);
            entries [i].change_seq = strtoull (PQgetvalue (res, i, 5), NULL, 10);
            list [i] = &entries [i];
        }
        reply.n_entries = (size_t) rows;
        reply.entries = list;
        if (rows)
            reply.last_change_seq = strtoull (PQgetvalue (res, 0, 6), NULL, 10);
        else {
            PGresult *last = tsr_db_query (call->db, "SELECT last_seq FROM status_counter", 0, NULL);
            reply.last_change_seq = last && PQntuples (last) ? strtoull (PQgetvalue (last, 0, 0), NULL, 10) : 0;
            PQclear (last);
        }
        status = tsr_call_reply (call, &reply.base, "revocation changes");
    }
    free (entries);
    free (list);
    PQclear (res);
    return status;
}
