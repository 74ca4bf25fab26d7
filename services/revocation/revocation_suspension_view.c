/*  revocation_suspension_view: a stored suspension as the Suspension reply
    (see revocation_suspension.h).
*/
#include "revocation_suspension.h"

#include <stdlib.h>
#include <string.h>

#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE

static int
s_int (PGresult *res, int row, int column)
{
    return (int) strtol (PQgetvalue (res, row, column), NULL, 10);
}

static int64_t
s_int64 (PGresult *res, int row, int column)
{
    return (int64_t) strtoll (PQgetvalue (res, row, column), NULL, 10);
}

//  The certificates of the suspension into m (arrays freed by the caller).
static int
s_certificates (tsr_db_t *db, const char *suspension_id, Tessera__V1__Suspension *m,
                PGresult **res_p, Tessera__V1__SuspendedCertificate **items_p)
{
    const char *values [] = { suspension_id };
    PGresult *res = tsr_db_query (db,
        "SELECT serial_hex, open, ca_outcome,"
        " coalesce(extract(epoch FROM released_at)::bigint, 0)"
        " FROM suspension_serials WHERE suspension_id = $1 ORDER BY position", 1, values);
    if (!res)
        return -1;
    *res_p = res;
    size_t count = (size_t) PQntuples (res);
    Tessera__V1__SuspendedCertificate *items = calloc (count + 1, sizeof *items);
    m->certificates = calloc (count + 1, sizeof *m->certificates);
    *items_p = items;
    if (!items || !m->certificates)
        return -1;
    for (size_t i = 0; i < count; i++) {
        int row = (int) i;
        tessera__v1__suspended_certificate__init (&items [i]);
        items [i].serial_hex = PQgetvalue (res, row, 0);
        bool open = strcmp (PQgetvalue (res, row, 1), "t") == 0;
        bool revoked = strcmp (PQgetvalue (res, row, 2), "revoked meanwhile") == 0;
        items [i].state = open ? TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_ON_HOLD
                        : revoked ? TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_REVOKED
                        : TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_GOOD;
        items [i].released_at_unix = s_int64 (res, row, 3);
        m->certificates [i] = &items [i];
    }
    m->n_certificates = count;
    return 0;
}

tsr_status_t
revocation_suspension_reply (tsr_call_t *call, const char *suspension_id, const char *text)
{
    const char *values [] = { suspension_id };
    PGresult *res = tsr_db_query (call->db,
        "SELECT suspension_id, state, holder_person_id, organisation_id, requester_person_id,"
        " requester_role, coalesce(card_uuid, ''), coalesce(card_previous_state, 0), reason,"
        " note, suspended_by_operator_id, extract(epoch FROM suspended_at)::bigint,"
        " resume_requester_person_id, resume_requester_role, resume_reason, resume_note,"
        " resumed_by_operator_id, coalesce(extract(epoch FROM resumed_at)::bigint, 0)"
        " FROM suspensions WHERE suspension_id = $1", 1, values);
    if (!res || PQntuples (res) != 1) {
        PQclear (res);
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read suspension %s back",
                              suspension_id);
    }
    Tessera__V1__Suspension m = TESSERA__V1__SUSPENSION__INIT;
    m.suspension_id = PQgetvalue (res, 0, 0);
    m.state = (Tessera__V1__SuspensionState) s_int (res, 0, 1);
    m.holder_person_id = PQgetvalue (res, 0, 2);
    m.organisation_id = PQgetvalue (res, 0, 3);
    m.requester_person_id = PQgetvalue (res, 0, 4);
    m.requester_role = (Tessera__V1__PersonRole) s_int (res, 0, 5);
    m.card_uuid = PQgetvalue (res, 0, 6);
    m.card_previous_state = (Tessera__V1__CardState) s_int (res, 0, 7);
    m.reason = (Tessera__V1__SuspensionReason) s_int (res, 0, 8);
    m.note = PQgetvalue (res, 0, 9);
    m.suspended_by_operator_id = PQgetvalue (res, 0, 10);
    m.suspended_at_unix = s_int64 (res, 0, 11);
    m.resume_requester_person_id = PQgetvalue (res, 0, 12);
    m.resume_requester_role = (Tessera__V1__PersonRole) s_int (res, 0, 13);
    m.resume_reason = (Tessera__V1__ResumeReason) s_int (res, 0, 14);
    m.resume_note = PQgetvalue (res, 0, 15);
    m.resumed_by_operator_id = PQgetvalue (res, 0, 16);
    m.resumed_at_unix = s_int64 (res, 0, 17);
    PGresult *serials = NULL;
    Tessera__V1__SuspendedCertificate *items = NULL;
    tsr_status_t status = s_certificates (call->db, suspension_id, &m, &serials, &items)
                        ? tsr_call_fail (call, S_UNAVAILABLE, "cannot read suspension %s back",
                                         suspension_id)
                        : tsr_call_reply (call, &m.base, text);
    free (m.certificates);
    free (items);
    PQclear (serials);
    PQclear (res);
    return status;
}
