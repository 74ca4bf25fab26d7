/*  publisher_status: the ca's events applied to the status table, and the
    OCSP lookup (see publisher_status.h).
*/
#include "publisher_status.h"
#include "publisher_schedule.h"
#include "publisher_state.h"

#include "tessera/log.h"
#include "tessera/v1/ca.pb-c.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_RFC_HOLD 6

//  Lower-cases serial_hex into out when it is 2..40 hex digits of even
//  length (what the ca writes).
static bool
s_serial_ok (const char *serial_hex, char out [PUBLISHER_SERIAL_HEX_MAX + 1])
{
    size_t length = serial_hex ? strlen (serial_hex) : 0;
    if (length < 2 || length > PUBLISHER_SERIAL_HEX_MAX || length % 2)
        return false;
    for (size_t i = 0; i < length; i++) {
        if (!isxdigit ((unsigned char) serial_hex [i]))
            return false;
        out [i] = (char) tolower ((unsigned char) serial_hex [i]);
    }
    out [length] = 0;
    return true;
}

//  RevocationReason (the RFC code plus one) to the RFC code; -1 for none
//  or a value the table can not hold.
static int
s_rfc_reason (int reason)
{
    int code = reason - 1;
    return code >= 0 && code <= 10 && code != 7 ? code : -1;
}

typedef struct {
    const char *serial_hex;
    const char *issuer_sha256;      //  NULL: keep what is known
    int state;
    int rfc_reason;                 //  -1: none
    int64_t revoked_at;             //  0: none
    int64_t not_after;              //  0: keep what is known
    uint64_t event_seq;
} s_status_t;

static int
s_upsert (tsr_db_t *db, const s_status_t *status)
{
    char state [8], reason [8], revoked_at [24], not_after [24], seq [24];
    snprintf (state, sizeof state, "%d", status->state);
    snprintf (reason, sizeof reason, "%d", status->rfc_reason);
    snprintf (revoked_at, sizeof revoked_at, "%lld", (long long) status->revoked_at);
    snprintf (not_after, sizeof not_after, "%lld", (long long) status->not_after);
    snprintf (seq, sizeof seq, "%llu", (unsigned long long) status->event_seq);
    const char *values [] = { status->serial_hex, status->issuer_sha256, state,
                              status->rfc_reason >= 0 ? reason : NULL,
                              status->revoked_at > 0 ? revoked_at : NULL,
                              status->not_after > 0 ? not_after : NULL, seq };
    PGresult *res = tsr_db_query (db,
        "INSERT INTO certificates (serial_hex, issuer_sha256, state, reason, revoked_at, not_after,"
        " event_seq) VALUES ($1, $2, $3::smallint, $4::smallint, $5::bigint, $6::bigint, $7::bigint)"
        " ON CONFLICT (serial_hex) DO UPDATE SET"
        " issuer_sha256 = coalesce(EXCLUDED.issuer_sha256, certificates.issuer_sha256),"
        " state = EXCLUDED.state, reason = EXCLUDED.reason, revoked_at = EXCLUDED.revoked_at,"
        " not_after = coalesce(EXCLUDED.not_after, certificates.not_after),"
        " event_seq = EXCLUDED.event_seq, updated_at = now()"
        " WHERE certificates.event_seq < EXCLUDED.event_seq", 7, values);
    PQclear (res);
    return res ? 0 : -1;
}

//  certificate.issued: the record from the ca says the state (on hold at
//  issuance included) and the issuer.
static int
s_issued (publisher_state_t *state, tsr_db_t *db, const Tessera__V1__Event *event)
{
    Tessera__V1__CertificateIssued *issued = tessera__v1__certificate_issued__unpack (
        NULL, event->payload.len, event->payload.data);
    char serial_hex [PUBLISHER_SERIAL_HEX_MAX + 1];
    if (!issued || !s_serial_ok (issued->serial_hex, serial_hex)) {
        //  Nothing to learn from it, now or later: skipped, not retried.
        tsr_log_warn (event->trace_id, "publisher.event_unreadable", "type", event->type, NULL);
        if (issued)
            tessera__v1__certificate_issued__free_unpacked (issued, NULL);
        return 0;
    }
    s_status_t status = { .serial_hex = serial_hex, .state = PUBLISHER_CERT_GOOD,
                          .rfc_reason = -1, .not_after = issued->not_after_unix,
                          .event_seq = event->seq };
    tessera__v1__certificate_issued__free_unpacked (issued, NULL);
    Tessera__V1__GetCertificateRequest request = TESSERA__V1__GET_CERTIFICATE_REQUEST__INIT;
    request.serial_hex = serial_hex;
    Tessera__V1__CertificateRecord *record = NULL;
    char message [256];
    tsr_status_t asked = tsr_peer_call (state->ca, "GetCertificate", &request.base,
                                        &tessera__v1__certificate_record__descriptor, NULL,
                                        event->trace_id, (ProtobufCMessage **) &record,
                                        message, sizeof message);
    if (asked != TESSERA__V1__STATUS__STATUS_OK && asked != TESSERA__V1__STATUS__STATUS_NOT_FOUND)
        return -1;                  //  the ca will answer later: the event waits
    char issuer [65] = "";
    if (record) {
        if (record->issuer_sha256 && strlen (record->issuer_sha256) == 64) {
            snprintf (issuer, sizeof issuer, "%s", record->issuer_sha256);
            status.issuer_sha256 = issuer;
        }
        if (record->not_after_unix > 0)
            status.not_after = record->not_after_unix;
        const Tessera__V1__CertificateStatus *now = record->status;
        if (now && (now->state == TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_REVOKED
                ||  now->state == TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_ON_HOLD)) {
            status.state = (int) now->state;
            status.rfc_reason = now->state == TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_ON_HOLD
                              ? S_RFC_HOLD : s_rfc_reason ((int) now->reason);
            status.revoked_at = now->revoked_at_unix;
        }
        tessera__v1__certificate_record__free_unpacked (record, NULL);
    }
    return s_upsert (db, &status);
}

//  certificate.revoked and certificate.hold_released.
static int
s_changed (publisher_state_t *state, tsr_db_t *db, const Tessera__V1__Event *event, bool released)
{
    Tessera__V1__CertificateRevoked *revoked = tessera__v1__certificate_revoked__unpack (
        NULL, event->payload.len, event->payload.data);
    char serial_hex [PUBLISHER_SERIAL_HEX_MAX + 1];
    if (!revoked || !s_serial_ok (revoked->serial_hex, serial_hex)) {
        tsr_log_warn (event->trace_id, "publisher.event_unreadable", "type", event->type, NULL);
        if (revoked)
            tessera__v1__certificate_revoked__free_unpacked (revoked, NULL);
        return 0;
    }
    int rfc_reason = s_rfc_reason ((int) revoked->reason);
    s_status_t status = { .serial_hex = serial_hex, .event_seq = event->seq };
    if (released) {
        status.state = PUBLISHER_CERT_GOOD;
        status.rfc_reason = -1;
    }
    else {
        status.state = rfc_reason == S_RFC_HOLD ? PUBLISHER_CERT_ON_HOLD : PUBLISHER_CERT_REVOKED;
        status.rfc_reason = rfc_reason;
        status.revoked_at = revoked->revoked_at_unix;
    }
    tessera__v1__certificate_revoked__free_unpacked (revoked, NULL);
    if (s_upsert (db, &status))
        return -1;
    char seq [24], applied [24];
    snprintf (seq, sizeof seq, "%llu", (unsigned long long) event->seq);
    snprintf (applied, sizeof applied, "%lld", (long long) tsr_now_ms ());
    const char *values [] = { seq, serial_hex, applied };
    PGresult *res = tsr_db_query (db,
        "INSERT INTO status_changes (event_seq, serial_hex, applied_at_ms)"
        " VALUES ($1::bigint, $2, $3::bigint) ON CONFLICT (event_seq) DO NOTHING", 3, values);
    PQclear (res);
    if (!res)
        return -1;
    tsr_log_info (event->trace_id, released ? "publisher.hold_released" : "publisher.revoked",
                  "serial", serial_hex, NULL);
    publisher_scheduler_wake (state->scheduler);
    return 0;
}

int
publisher_on_ca_event (void *arg, tsr_db_t *db, const Tessera__V1__Event *event)
{
    publisher_state_t *state = arg;
    int rc = 0;
    const char *type = event->type ? event->type : "";
    if (strcmp (type, "certificate.issued") == 0)
        rc = s_issued (state, db, event);
    else
    if (strcmp (type, "certificate.revoked") == 0)
        rc = s_changed (state, db, event, false);
    else
    if (strcmp (type, "certificate.hold_released") == 0)
        rc = s_changed (state, db, event, true);
    else
    if (strcmp (type, "ca.key.activated") == 0 || strcmp (type, "ca.ceremony.completed") == 0)
        publisher_scheduler_wake (state->scheduler);
    if (rc == 0) {
        pthread_mutex_lock (&state->lock);
        state->ca_event_seq = event->seq;
        state->ca_event_applied_ms = tsr_now_ms ();
        pthread_mutex_unlock (&state->lock);
    }
    return rc;
}

int
publisher_status_lookup (void *arg, const char *issuer_sha256, const char *serial_hex,
                         publisher_cert_status_t *status)
{
    tsr_db_t *db = arg;
    const char *values [] = { serial_hex };
    PGresult *res = tsr_db_query (db,
        "SELECT state, coalesce(reason, -1), coalesce(revoked_at, 0), coalesce(issuer_sha256, ''),"
        " coalesce((SELECT last_seq FROM event_cursors WHERE source = 'ca'), 0)"
        " FROM certificates WHERE serial_hex = $1", 1, values);
    if (!res)
        return -1;
    status->state = PUBLISHER_CERT_UNKNOWN;
    status->rfc_reason = -1;
    status->revoked_at = 0;
    status->seen_seq = 0;
    //  A serial of another issuer is unknown to this one.
    const char *issuer = PQntuples (res) == 1 ? PQgetvalue (res, 0, 3) : NULL;
    if (issuer && (!*issuer || strcmp (issuer, issuer_sha256) == 0)) {
        status->state = (publisher_cert_state_t) strtol (PQgetvalue (res, 0, 0), NULL, 10);
        status->rfc_reason = (int) strtol (PQgetvalue (res, 0, 1), NULL, 10);
        status->revoked_at = strtoll (PQgetvalue (res, 0, 2), NULL, 10);
        //  Read in the same statement, so in the same snapshot as the status.
        status->seen_seq = strtoull (PQgetvalue (res, 0, 4), NULL, 10);
    }
    PQclear (res);
    return 0;
}
