/*  SignCrl: the CA signs full and delta CRLs of its issuing CA for the
    publisher, which schedules and distributes them.

    CRL numbers come from the crls table under a lock on the issuer row, so
    they only grow, across restarts and replicas. The status counter is
    locked while a CRL is built: every change up to the covered change_seq
    is in, none after. A full CRL lists every certificate revoked or on
    hold, with a freshestCRL pointer to the delta; a delta CRL
    (deltaCRLIndicator, critical) lists the changes since its base full CRL,
    a released hold as removeFromCRL. Reason codes are written except
    unspecified, which RFC 5280 says to leave out.
*/
#include "ca_handlers.h"
#include "ca_issue.h"
#include "ca_state.h"

#include "tessera/audit.h"
#include "tessera/json.h"
#include "tessera/log.h"
#include "tessera/v1/ca.pb-c.h"

#include <openssl/bn.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define S_RFC_REMOVE 8

static int
s_add_entry (X509_CRL *crl, PGresult *res, int row)
{
    //  Columns: serial (hex), state, reason, revoked_at, invalidity_date.
    BIGNUM *number = NULL;
    X509_REVOKED *entry = X509_REVOKED_new ();
    ASN1_TIME *when = ASN1_TIME_new ();
    ASN1_INTEGER *serial = NULL;
    int rc = -1;
    if (!entry || !when || !BN_hex2bn (&number, PQgetvalue (res, row, 0))
    ||  !(serial = BN_to_ASN1_INTEGER (number, NULL))
    ||  !X509_REVOKED_set_serialNumber (entry, serial))
        goto done;
    int state = atoi (PQgetvalue (res, row, 1));
    int reason = state == 1 ? S_RFC_REMOVE : atoi (PQgetvalue (res, row, 2));
    time_t revoked_at = (time_t) strtoll (PQgetvalue (res, row, 3), NULL, 10);
    if (state == 1)
        revoked_at = time (NULL);
    if (!ASN1_TIME_set (when, revoked_at) || !X509_REVOKED_set_revocationDate (entry, when))
        goto done;
    if (reason > 0) {
        ASN1_ENUMERATED *code = ASN1_ENUMERATED_new ();
        int added = code && ASN1_ENUMERATED_set (code, reason)
                 && X509_REVOKED_add1_ext_i2d (entry, NID_crl_reason, code, 0, 0) == 1;
        ASN1_ENUMERATED_free (code);
        if (!added)
            goto done;
    }
    time_t invalidity = (time_t) strtoll (PQgetvalue (res, row, 4), NULL, 10);
    if (invalidity > 0 && state != 1) {
        ASN1_GENERALIZEDTIME *date = ASN1_GENERALIZEDTIME_set (NULL, invalidity);
        int added = date && X509_REVOKED_add1_ext_i2d (entry, NID_invalidity_date, date, 0, 0) == 1;
        ASN1_GENERALIZEDTIME_free (date);
        if (!added)
            goto done;
    }
    if (X509_CRL_add0_revoked (crl, entry)) {
        entry = NULL;
        rc = 0;
    }
done:
    X509_REVOKED_free (entry);
    ASN1_TIME_free (when);
    ASN1_INTEGER_free (serial);
    BN_free (number);
    return rc;
}

static int
s_add_number_ext (X509_CRL *crl, int nid, uint64_t value, int critical)
{
    ASN1_INTEGER *number = ASN1_INTEGER_new ();
    int ok = number && ASN1_INTEGER_set_uint64 (number, value)
          && X509_CRL_add1_ext_i2d (crl, nid, number, critical, 0) == 1;
    ASN1_INTEGER_free (number);
    return ok ? 0 : -1;
}

static int
s_add_conf_ext (X509_CRL *crl, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx (&ctx, issuer, NULL, NULL, crl, 0);
    X509_EXTENSION *extension = X509V3_EXT_nconf_nid (NULL, &ctx, nid, value);
    int ok = extension && X509_CRL_add_ext (crl, extension, -1);
    X509_EXTENSION_free (extension);
    return ok ? 0 : -1;
}

//  Builds and signs the CRL. Under the state lock (the key signs).
static X509_CRL *
s_build (ca_state_t *state, PGresult *entries, uint64_t number, uint64_t base, time_t now,
         long hours)
{
    X509_CRL *crl = X509_CRL_new ();
    ASN1_TIME *this_update = ASN1_TIME_new (), *next_update = ASN1_TIME_new ();
    char url [CA_URL_MAX + 8];
    bool ok = crl && this_update && next_update
           && X509_CRL_set_version (crl, X509_CRL_VERSION_2)
           && X509_CRL_set_issuer_name (crl, X509_get_subject_name (state->issuing_cert))
           && ASN1_TIME_set (this_update, now) && X509_CRL_set1_lastUpdate (crl, this_update)
           && ASN1_TIME_set (next_update, now + hours * 3600)
           && X509_CRL_set1_nextUpdate (crl, next_update);
    for (int row = 0; ok && row < PQntuples (entries); row++)
        ok = s_add_entry (crl, entries, row) == 0;
    ok = ok && X509_CRL_sort (crl)
      && s_add_number_ext (crl, NID_crl_number, number, 0) == 0
      && s_add_conf_ext (crl, state->issuing_cert, NID_authority_key_identifier, "keyid:always") == 0;
    if (ok && base)
        ok = s_add_number_ext (crl, NID_delta_crl, base, 1) == 0;
    else
    if (ok) {
        snprintf (url, sizeof url, "URI:%s", state->delta_crl_url);
        ok = s_add_conf_ext (crl, state->issuing_cert, NID_freshest_crl, url) == 0;
    }
    ok = ok && X509_CRL_sign (crl, state->issuing_key, ca_issue_digest_for (state->issuing_key)) > 0;
    ASN1_TIME_free (this_update);
    ASN1_TIME_free (next_update);
    if (!ok) {
        X509_CRL_free (crl);
        return NULL;
    }
    return crl;
}

//  The next number and, for a delta, the change_seq its base covers.
static int
s_numbers (tsr_db_t *db, const char *issuer, uint64_t base, uint64_t *number, uint64_t *covered,
           uint64_t *base_covers, bool *base_ok)
{
    const char *values [] = { issuer };
    PGresult *res = tsr_db_query (db,
        "SELECT 1 FROM issuers WHERE issuer_sha256 = $1 FOR UPDATE", 1, values);
    PQclear (res);
    if (!res)
        return -1;
    res = tsr_db_query (db,
        "SELECT coalesce(max(crl_number), 0) + 1, (SELECT last_seq FROM status_counter FOR UPDATE)"
        " FROM crls WHERE issuer_sha256 = $1", 1, values);
    if (!res || PQntuples (res) != 1) {
        PQclear (res);
        return -1;
    }
    *number = strtoull (PQgetvalue (res, 0, 0), NULL, 10);
    *covered = strtoull (PQgetvalue (res, 0, 1), NULL, 10);
    PQclear (res);
    *base_ok = true;
    if (!base)
        return 0;
    char base_text [24];
    snprintf (base_text, sizeof base_text, "%llu", (unsigned long long) base);
    const char *base_values [] = { issuer, base_text };
    res = tsr_db_query (db,
        "SELECT covers_change_seq FROM crls WHERE issuer_sha256 = $1 AND crl_number = $2::bigint"
        " AND NOT is_delta", 2, base_values);
    if (!res)
        return -1;
    *base_ok = PQntuples (res) == 1;
    if (*base_ok)
        *base_covers = strtoull (PQgetvalue (res, 0, 0), NULL, 10);
    PQclear (res);
    return 0;
}

static int
s_store (tsr_call_t *call, const char *issuer, X509_CRL *crl, uint64_t number, uint64_t base,
         uint64_t covered, time_t now, long hours, int entry_count)
{
    unsigned char *der = NULL;
    int der_size = i2d_X509_CRL (crl, &der);
    if (der_size <= 0)
        return -1;
    char number_text [24], base_text [24], covered_text [24], this_text [24], next_text [24];
    snprintf (number_text, sizeof number_text, "%llu", (unsigned long long) number);
    snprintf (base_text, sizeof base_text, "%llu", (unsigned long long) base);
    snprintf (covered_text, sizeof covered_text, "%llu", (unsigned long long) covered);
    snprintf (this_text, sizeof this_text, "%lld", (long long) now);
    snprintf (next_text, sizeof next_text, "%lld", (long long) (now + hours * 3600));
    const char *values [] = { issuer, number_text, base ? "true" : "false",
                              base ? base_text : NULL, covered_text, this_text, next_text,
                              (const char *) der };
    int lengths [] = { 0, 0, 0, 0, 0, 0, 0, der_size };
    int formats [] = { 0, 0, 0, 0, 0, 0, 0, 1 };
    PGresult *res = tsr_db_query_ex (call->db,
        "INSERT INTO crls (issuer_sha256, crl_number, is_delta, base_number, covers_change_seq,"
        " this_update, next_update, crl_der)"
        " VALUES ($1, $2, $3, $4, $5, to_timestamp($6), to_timestamp($7), $8)",
        8, values, lengths, formats, 0);
    PQclear (res);
    OPENSSL_free (der);
    if (!res)
        return -1;
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "issuer_sha256", issuer);
    tsr_json_int (json, "crl_number", (int64_t) number);
    tsr_json_int (json, "delta_base", (int64_t) base);
    tsr_json_int (json, "entries", entry_count);
    tsr_json_int (json, "next_update_unix", (int64_t) (now + hours * 3600));
    char *details = tsr_json_finish (&json);
    int rc = details ? tsr_audit_append (call->db, call->caller_key, "ca.crl_signed", number_text,
                                         call->request->trace_id, details) : -1;
    free (details);
    return rc;
}

tsr_status_t
ca_handle_sign_crl (tsr_call_t *call)
{
    ca_state_t *state = call->state;
    tsr_status_t unpack_status;
    Tessera__V1__SignCrlRequest *request = (Tessera__V1__SignCrlRequest *) tsr_call_unpack (
        call, &tessera__v1__sign_crl_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    uint64_t base = request->delta_base_number;
    long hours = request->next_update_hours ? (long) request->next_update_hours
                                            : state->crl_next_update_hours;
    tessera__v1__sign_crl_request__free_unpacked (request, NULL);
    if (hours < 1 || hours > 72)
        return tsr_call_fail (call, S_INVALID, "next_update_hours must be 1 to 72");
    char issuer [65];
    pthread_mutex_lock (&state->lock);
    bool active = state->active;
    snprintf (issuer, sizeof issuer, "%s", state->issuing_sha256);
    pthread_mutex_unlock (&state->lock);
    if (!active)
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION,
                              "the CA key is not active: custodians must present their shares (tessera ca activate)");
    uint64_t number = 0, covered = 0, base_covers = 0;
    bool base_ok = false;
    if (s_numbers (call->db, issuer, base, &number, &covered, &base_covers, &base_ok))
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the CRL numbers");
    if (!base_ok)
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND,
                              "no full CRL number %llu to be the delta's base", (unsigned long long) base);
    char after [24];
    snprintf (after, sizeof after, "%llu", (unsigned long long) base_covers);
    const char *values [] = { issuer, after };
    PGresult *entries = tsr_db_query (call->db, base
        ? "SELECT serial_hex, state, coalesce(reason, 0), coalesce(extract(epoch FROM revoked_at)::bigint, 0),"
          " coalesce(extract(epoch FROM invalidity_date)::bigint, 0) FROM certificates"
          " WHERE issuer_sha256 = $1 AND change_seq > $2::bigint"
        : "SELECT serial_hex, state, coalesce(reason, 0), coalesce(extract(epoch FROM revoked_at)::bigint, 0),"
          " coalesce(extract(epoch FROM invalidity_date)::bigint, 0) FROM certificates"
          " WHERE issuer_sha256 = $1 AND state IN (2, 3) AND $2::bigint = 0",
        2, values);
    if (!entries)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the revoked certificates");
    time_t now = time (NULL);
    pthread_mutex_lock (&state->lock);
    X509_CRL *crl = state->active && strcmp (state->issuing_sha256, issuer) == 0
        ? s_build (state, entries, number, base, now, hours) : NULL;
    pthread_mutex_unlock (&state->lock);
    int entry_count = PQntuples (entries);
    PQclear (entries);
    if (!crl)
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL,
                              "cannot sign the CRL (was the key deactivated meanwhile?)");
    tsr_status_t status;
    if (s_store (call, issuer, crl, number, base, covered, now, hours, entry_count))
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot store the CRL");
    else {
        unsigned char *der = NULL;
        int der_size = i2d_X509_CRL (crl, &der);
        Tessera__V1__SignCrlReply reply = TESSERA__V1__SIGN_CRL_REPLY__INIT;
        reply.crl_der.data = der;
        reply.crl_der.len = der_size > 0 ? (size_t) der_size : 0;
        reply.crl_number = number;
        reply.this_update_unix = (int64_t) now;
        reply.next_update_unix = (int64_t) (now + hours * 3600);
        status = tsr_call_reply (call, &reply.base, base ? "delta CRL signed" : "full CRL signed");
        OPENSSL_free (der);
        tsr_log_info (call->request->trace_id, "ca.crl_signed", "issuer", issuer, NULL);
    }
    X509_CRL_free (crl);
    return status;
}
