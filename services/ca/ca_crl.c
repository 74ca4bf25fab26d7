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
#include "ca_crl_copy.h"
#include "ca_crl_der.h"
#include "ca_handlers.h"
#include "ca_issue.h"
#include "ca_state.h"

#include "tessera/audit.h"
#include "tessera/json.h"
#include "tessera/log.h"
#include "tessera/v1/ca.pb-c.h"

#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE

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

//  A CRL that only holds the CRL extensions, for ca_crl_der: CRL number,
//  AKI, and deltaCRLIndicator (delta) or freshestCRL (full).
static X509_CRL *
s_extensions (X509 *issuer_cert, const char *delta_crl_url, uint64_t number, uint64_t base)
{
    X509_CRL *crl = X509_CRL_new ();
    char url [CA_URL_MAX + 8];
    bool ok = crl && s_add_number_ext (crl, NID_crl_number, number, 0) == 0
           && s_add_conf_ext (crl, issuer_cert, NID_authority_key_identifier, "keyid:always") == 0;
    if (ok && base)
        ok = s_add_number_ext (crl, NID_delta_crl, base, 1) == 0;
    else
    if (ok) {
        snprintf (url, sizeof url, "URI:%s", delta_crl_url);
        ok = s_add_conf_ext (crl, issuer_cert, NID_freshest_crl, url) == 0;
    }
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
s_store (tsr_call_t *call, const char *issuer, const uint8_t *der, size_t der_size,
         uint64_t number, uint64_t base, uint64_t covered, time_t now, long hours,
         size_t entry_count)
{
    ca_crl_row_t row = { .issuer = issuer, .number = number, .base = base, .covered = covered,
                         .this_update = now, .next_update = now + hours * 3600, .der = der,
                         .der_size = der_size };
    if (ca_crl_copy_store (call->db, &row, call->request->trace_id))
        return -1;
    char number_text [24];
    snprintf (number_text, sizeof number_text, "%llu", (unsigned long long) number);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "issuer_sha256", issuer);
    tsr_json_int (json, "crl_number", (int64_t) number);
    tsr_json_int (json, "delta_base", (int64_t) base);
    tsr_json_int (json, "entries", (int64_t) entry_count);
    tsr_json_int (json, "next_update_unix", (int64_t) (now + hours * 3600));
    return json ? tsr_audit_append_json (call->db, call->caller_key, "ca.crl_signed",
                                         number_text, call->request->trace_id, &json) : -1;
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
    time_t now = time (NULL);
    ca_crl_entries_t entries = { 0 };
    if (ca_crl_copy_entries (call->db, issuer, base, base_covers, now, &entries,
                             call->request->trace_id)) {
        ca_crl_entries_free (&entries);
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the revoked certificates");
    }
    ca_crl_entries_sort (&entries);
    //  The issuing certificate and key are held for the encoding, so that
    //  the state lock is taken again only for the signature.
    X509 *issuer_cert = NULL;
    EVP_PKEY *key = NULL;
    char delta_url [CA_URL_MAX];
    pthread_mutex_lock (&state->lock);
    if (state->active && strcmp (state->issuing_sha256, issuer) == 0
    &&  X509_up_ref (state->issuing_cert)) {
        issuer_cert = state->issuing_cert;
        if (EVP_PKEY_up_ref (state->issuing_key))
            key = state->issuing_key;
    }
    snprintf (delta_url, sizeof delta_url, "%s", state->delta_crl_url);
    pthread_mutex_unlock (&state->lock);
    X509_CRL *extensions = issuer_cert
        ? s_extensions (issuer_cert, delta_url, number, base) : NULL;
    ca_crl_der_t crl = { 0 };
    bool ok = key && extensions
           && ca_crl_der_tbs (&crl, issuer_cert, key, ca_issue_digest_for (key), now,
                              now + hours * 3600, &entries, extensions) == 0;
    size_t entry_count = entries.count;
    ca_crl_entries_free (&entries);
    X509_CRL_free (extensions);
    if (ok) {
        pthread_mutex_lock (&state->lock);
        ok = state->active && strcmp (state->issuing_sha256, issuer) == 0
          && ca_crl_der_sign (&crl, key, ca_issue_digest_for (key)) == 0;
        pthread_mutex_unlock (&state->lock);
    }
    EVP_PKEY_free (key);
    X509_free (issuer_cert);
    if (!ok) {
        ca_crl_der_free (&crl);
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL,
                              "cannot sign the CRL (was the key deactivated meanwhile?)");
    }
    tsr_status_t status;
    if (s_store (call, issuer, crl.der, crl.size, number, base, covered, now, hours, entry_count)) {
        ca_crl_der_free (&crl);
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot store the CRL");
    }
    Tessera__V1__SignCrlReply reply = TESSERA__V1__SIGN_CRL_REPLY__INIT;
    reply.crl_der.data = crl.der;
    reply.crl_der.len = crl.size;
    reply.crl_number = number;
    reply.this_update_unix = (int64_t) now;
    reply.next_update_unix = (int64_t) (now + hours * 3600);
    reply.issuer_sha256 = issuer;
    status = tsr_call_reply (call, &reply.base, base ? "delta CRL signed" : "full CRL signed");
    ca_crl_der_free (&crl);
    //  Kept under the request id: the reply without the DER, which its
    //  crls row holds (ca_replay_sign_crl puts it back on a retry).
    reply.crl_der.data = NULL;
    reply.crl_der.len = 0;
    if (status == TESSERA__V1__STATUS__STATUS_OK && tsr_call_keep (call, &reply.base))
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "out of memory");
    if (status == TESSERA__V1__STATUS__STATUS_OK)
        tsr_log_info (call->request->trace_id, "ca.crl_signed", "issuer", issuer, NULL);
    return status;
}

tsr_status_t
ca_replay_sign_crl (tsr_call_t *call, const uint8_t *kept, size_t kept_size)
{
    Tessera__V1__SignCrlReply *reply = tessera__v1__sign_crl_reply__unpack (NULL, kept_size, kept);
    if (!reply)
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL,
                              "the stored SignCrl reply does not decode");
    tsr_status_t status;
    if (reply->crl_der.len > 0)         //  kept whole, before short forms were
        status = tsr_call_reply (call, &reply->base, NULL);
    else {
        char number [24];
        snprintf (number, sizeof number, "%llu", (unsigned long long) reply->crl_number);
        const char *values [] = { reply->issuer_sha256, number };
        PGresult *res = tsr_db_query_ex (call->db,
            "SELECT crl_der FROM crls WHERE issuer_sha256 = $1 AND crl_number = $2::bigint",
            2, values, NULL, NULL, 1);
        if (res && PQntuples (res) == 1) {
            ProtobufCBinaryData none = reply->crl_der;
            reply->crl_der.data = (uint8_t *) PQgetvalue (res, 0, 0);
            reply->crl_der.len = (size_t) PQgetlength (res, 0, 0);
            status = tsr_call_reply (call, &reply->base, NULL);
            reply->crl_der = none;
        }
        else
            status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the stored CRL");
        PQclear (res);
    }
    tessera__v1__sign_crl_reply__free_unpacked (reply, NULL);
    return status;
}
