/*  Activate, Deactivate, GetActivationStatus: k of n custodians bring the
    CA key to life after a start, one share each, over the bus under their
    own CURVE identity.

    A share is accepted when the current ceremony has a share with its x
    coordinate, the caller's key is the custodian that share was given to,
    and the SHA-256 of (x, bytes) is the one recorded at the ceremony. A
    digest known from another ceremony is refused as foreign, an unknown one
    as corrupted, a second share from the same custodian as a repeat. At
    the threshold the secret is rebuilt, opens the issuing key, and is
    wiped with the shares; if the key store refuses it, activation starts
    over. Every accepted share, activation and deactivation is audited.
*/
#include "ca_handlers.h"
#include "ca_state.h"

#include "tessera/audit.h"
#include "tessera/events.h"
#include "tessera/json.h"
#include "tessera/log.h"
#include "tessera/v1/ca.pb-c.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK

typedef struct {
    char ceremony_id [CA_ID_MAX];
    char issuing_label [CA_ID_MAX];
    unsigned threshold;
} s_ceremony_t;

//  The current ceremony, or 1 when there is none, -1 on a database error.
static int
s_current_ceremony (tsr_db_t *db, s_ceremony_t *ceremony)
{
    PGresult *res = tsr_db_query (db,
        "SELECT ceremony_id, issuing_label, threshold FROM ceremonies WHERE is_current", 0, NULL);
    if (!res)
        return -1;
    int rc = 1;
    if (PQntuples (res) == 1) {
        snprintf (ceremony->ceremony_id, sizeof ceremony->ceremony_id, "%s", PQgetvalue (res, 0, 0));
        snprintf (ceremony->issuing_label, sizeof ceremony->issuing_label, "%s", PQgetvalue (res, 0, 1));
        ceremony->threshold = (unsigned) strtoul (PQgetvalue (res, 0, 2), NULL, 10);
        rc = 0;
    }
    PQclear (res);
    return rc;
}

//  Under lock. Fills the status reply from the state (names borrowed).
static tsr_status_t
s_status_reply (tsr_call_t *call, ca_state_t *state, unsigned threshold, const char *ceremony_id,
                const char *text)
{
    char *names [CA_SHARES_MAX];
    Tessera__V1__ActivationStatus reply = TESSERA__V1__ACTIVATION_STATUS__INIT;
    reply.active = state->active;
    reply.ceremony_id = (char *) ceremony_id;
    reply.threshold = threshold;
    if (state->active) {
        reply.shares_presented = state->activated_by_count;
        for (unsigned i = 0; i < state->activated_by_count; i++)
            names [i] = state->activated_by [i];
        reply.n_custodians = state->activated_by_count;
        reply.activated_at_unix_ms = state->activated_at_ms;
    }
    else {
        reply.shares_presented = state->pending_count;
        for (unsigned i = 0; i < state->pending_count; i++)
            names [i] = state->pending_names [i];
        reply.n_custodians = state->pending_count;
    }
    reply.custodians = names;
    return tsr_call_reply (call, &reply.base, text);
}

static int
s_audit (tsr_call_t *call, const char *action, const char *ceremony_id, const char *name,
         unsigned presented, unsigned threshold)
{
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "ceremony_id", ceremony_id);
    if (name)
        tsr_json_str (json, "custodian", name);
    tsr_json_int (json, "shares_presented", presented);
    tsr_json_int (json, "threshold", threshold);
    return json ? tsr_audit_append_json (call->db, call->caller_key, action, ceremony_id,
                                         call->request->trace_id, &json) : -1;
}

static int
s_event (tsr_call_t *call, ca_state_t *state, const char *type, const char *ceremony_id)
{
    char *names [CA_SHARES_MAX];
    Tessera__V1__KeyActivationChanged event = TESSERA__V1__KEY_ACTIVATION_CHANGED__INIT;
    event.ceremony_id = (char *) ceremony_id;
    event.active = state->active;
    for (unsigned i = 0; i < state->activated_by_count; i++)
        names [i] = state->activated_by [i];
    event.n_custodians = state->activated_by_count;
    event.custodians = names;
    return tsr_events_append_message (call->db, type, ceremony_id, call->request->trace_id,
                                      &event.base, NULL);
}

//  Loads the issuing certificate of the ceremony (DER from the issuers table).
static X509 *
s_issuing_certificate (tsr_db_t *db, const char *ceremony_id, char sha256 [65])
{
    const char *values [] = { ceremony_id };
    PGresult *res = tsr_db_query_ex (db,
        "SELECT certificate_der, issuer_sha256 FROM issuers WHERE ceremony_id = $1 AND role = 'issuing'",
        1, values, NULL, NULL, 1);
    X509 *cert = NULL;
    if (res && PQntuples (res) == 1) {
        const unsigned char *der = (const unsigned char *) PQgetvalue (res, 0, 0);
        cert = d2i_X509 (NULL, &der, PQgetlength (res, 0, 0));
        snprintf (sha256, 65, "%.*s", PQgetlength (res, 0, 1), PQgetvalue (res, 0, 1));
    }
    PQclear (res);
    return cert;
}

//  A key store's key cannot always be compared with a certificate's public
//  key (its private part is in the token): a test signature decides.
static bool
s_key_matches (X509 *cert, EVP_PKEY *key)
{
    static const unsigned char probe [] = "tessera ca activation probe";
    unsigned char signature [1024];
    size_t signature_size = sizeof signature;
    bool matches = false;
    EVP_MD_CTX *sign = EVP_MD_CTX_new (), *verify = EVP_MD_CTX_new ();
    if (sign && verify
    &&  EVP_DigestSignInit (sign, NULL, EVP_sha256 (), NULL, key) == 1
    &&  EVP_DigestSign (sign, signature, &signature_size, probe, sizeof probe) == 1
    &&  EVP_DigestVerifyInit (verify, NULL, EVP_sha256 (), NULL, X509_get0_pubkey (cert)) == 1
    &&  EVP_DigestVerify (verify, signature, signature_size, probe, sizeof probe) == 1)
        matches = true;
    EVP_MD_CTX_free (sign);
    EVP_MD_CTX_free (verify);
    return matches;
}

//  Under lock, with threshold shares pending: rebuild, open, wipe.
static int
s_open_key (tsr_call_t *call, ca_state_t *state, const s_ceremony_t *ceremony,
            char *err, size_t err_size)
{
    uint8_t secret [CA_SECRET_MAX + 1];
    size_t secret_size = 0;
    int rc = -1;
    X509 *cert = s_issuing_certificate (call->db, ceremony->ceremony_id, state->issuing_sha256);
    if (!cert) {
        snprintf (err, err_size, "the issuing CA certificate of the ceremony is missing");
        goto done;
    }
    if (ca_shares_combine (state->pending, state->pending_count, secret, &secret_size,
                           err, err_size))
        goto done;
    secret [secret_size] = 0;
    state->keystore = ca_state_open_keystore (state, err, err_size);
    if (!state->keystore)
        goto done;
    state->issuing_key = ca_keystore_open (state->keystore, (const char *) secret,
                                           ceremony->issuing_label, err, err_size);
    if (!state->issuing_key) {
        ca_keystore_destroy (&state->keystore);
        goto done;
    }
    if (!s_key_matches (cert, state->issuing_key)) {
        EVP_PKEY_free (state->issuing_key);
        state->issuing_key = NULL;
        ca_keystore_destroy (&state->keystore);
        snprintf (err, err_size, "the key store's key does not match the issuing certificate");
        goto done;
    }
    state->issuing_cert = cert;
    cert = NULL;
    ca_state_mark_active (state);
    snprintf (state->active_ceremony, sizeof state->active_ceremony, "%s", ceremony->ceremony_id);
    state->activated_at_ms = tsr_now_ms ();
    state->activated_by_count = state->pending_count;
    memcpy (state->activated_by, state->pending_names, sizeof state->activated_by);
    rc = 0;
done:
    OPENSSL_cleanse (secret, sizeof secret);
    X509_free (cert);
    return rc;
}

typedef enum { S_SHARE_OK, S_SHARE_UNKNOWN_X, S_SHARE_NOT_YOURS, S_SHARE_FOREIGN,
               S_SHARE_CORRUPTED, S_SHARE_DB } s_share_check_t;

static s_share_check_t
s_check_share (tsr_call_t *call, const s_ceremony_t *ceremony, const ca_share_t *share,
               char *custodian_name, size_t name_size)
{
    char x [8], digest [65];
    snprintf (x, sizeof x, "%u", share->x);
    ca_shares_digest (share, digest);
    const char *values [] = { ceremony->ceremony_id, x };
    PGresult *res = tsr_db_query (call->db,
        "SELECT custodian_name, custodian_key, share_sha256 FROM ceremony_shares"
        " WHERE ceremony_id = $1 AND x = $2", 2, values);
    if (!res)
        return S_SHARE_DB;
    s_share_check_t result = S_SHARE_OK;
    if (PQntuples (res) != 1)
        result = S_SHARE_UNKNOWN_X;
    else
    if (strcmp (PQgetvalue (res, 0, 1), call->caller_key) != 0)
        result = S_SHARE_NOT_YOURS;
    else
    if (strcmp (PQgetvalue (res, 0, 2), digest) != 0)
        result = S_SHARE_CORRUPTED;
    else
        snprintf (custodian_name, name_size, "%s", PQgetvalue (res, 0, 0));
    PQclear (res);
    if (result == S_SHARE_CORRUPTED || result == S_SHARE_UNKNOWN_X) {
        const char *known [] = { digest };
        res = tsr_db_query (call->db,
            "SELECT 1 FROM ceremony_shares WHERE share_sha256 = $1", 1, known);
        if (!res)
            return S_SHARE_DB;
        if (PQntuples (res) > 0)
            result = S_SHARE_FOREIGN;
        PQclear (res);
    }
    return result;
}

tsr_status_t
ca_handle_activate (tsr_call_t *call)
{
    ca_state_t *state = call->state;
    tsr_status_t unpack_status;
    Tessera__V1__ActivateRequest *request = (Tessera__V1__ActivateRequest *) tsr_call_unpack (
        call, &tessera__v1__activate_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    tsr_status_t status;
    ca_share_t share;
    memset (&share, 0, sizeof share);
    bool locked = false;
    if (request->index < 1 || request->index > 255
    ||  request->share.len < 1 || request->share.len > CA_SECRET_MAX) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT,
                                "a share has an index of 1 to 255 and 1 to %d bytes", CA_SECRET_MAX);
        goto done;
    }
    share.x = (uint8_t) request->index;
    share.size = request->share.len;
    memcpy (share.bytes, request->share.data, share.size);
    s_ceremony_t ceremony;
    int found = s_current_ceremony (call->db, &ceremony);
    if (found) {
        status = found < 0
            ? tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_UNAVAILABLE, "cannot read the ceremonies")
            : tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION,
                             "no key ceremony has been held; run tessera ca ceremony first");
        goto done;
    }
    char name [CA_NAME_FIELD_MAX] = "";
    switch (s_check_share (call, &ceremony, &share, name, sizeof name)) {
        case S_SHARE_OK: break;
        case S_SHARE_DB:
            status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_UNAVAILABLE, "cannot read the shares");
            goto done;
        case S_SHARE_NOT_YOURS:
            tsr_log_warn (call->request->trace_id, "ca.share_refused", "caller", call->caller_key,
                          "reason", "another custodian's share", NULL);
            status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_PERMISSION_DENIED,
                                    "this share was given to another custodian; each custodian presents their own");
            goto done;
        case S_SHARE_FOREIGN:
            status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT,
                                    "this share belongs to another ceremony");
            goto done;
        case S_SHARE_UNKNOWN_X:
        case S_SHARE_CORRUPTED:
            status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT,
                                    "this share is not one the ceremony made: it is corrupted or truncated");
            goto done;
    }
    pthread_mutex_lock (&state->lock);
    locked = true;
    if (state->active) {
        status = s_status_reply (call, state, ceremony.threshold, ceremony.ceremony_id,
                                 "the CA key is active already");
        goto done;
    }
    int64_t now_ms = tsr_now_ms ();
    if (state->pending_count
    &&  (strcmp (state->pending_ceremony, ceremony.ceremony_id) != 0
         || now_ms - state->pending_since_ms > state->activation_window_s * 1000)) {
        tsr_log_info (call->request->trace_id, "ca.activation_expired", NULL);
        ca_state_wipe_pending (state);
    }
    for (unsigned i = 0; i < state->pending_count; i++)
        if (strcmp (state->pending_keys [i], call->caller_key) == 0) {
            status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_ALREADY_EXISTS,
                                    "custodian %s has presented a share already; another custodian must present the next",
                                    name);
            goto done;
        }
    if (s_audit (call, "ca.share_presented", ceremony.ceremony_id, name, state->pending_count + 1,
                 ceremony.threshold)) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_UNAVAILABLE, "cannot write the audit trail");
        goto done;
    }
    if (state->pending_count == 0) {
        snprintf (state->pending_ceremony, sizeof state->pending_ceremony, "%s", ceremony.ceremony_id);
        state->pending_since_ms = now_ms;
    }
    state->pending [state->pending_count] = share;
    snprintf (state->pending_keys [state->pending_count], CA_KEY_Z85_SIZE, "%s", call->caller_key);
    snprintf (state->pending_names [state->pending_count], CA_NAME_FIELD_MAX, "%s", name);
    state->pending_count++;
    if (state->pending_count < ceremony.threshold) {
        status = s_status_reply (call, state, ceremony.threshold, ceremony.ceremony_id,
                                 "share accepted; more custodians must present theirs");
        goto done;
    }
    char err [256] = "";
    if (s_open_key (call, state, &ceremony, err, sizeof err)) {
        tsr_log_error (call->request->trace_id, "ca.activation_failed", "reason", err, NULL);
        ca_state_wipe_pending (state);
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION,
                                "the shares did not open the CA key (%s); activation starts over", err);
        goto done;
    }
    ca_state_wipe_pending (state);
    if (s_audit (call, "ca.key_activated", ceremony.ceremony_id, NULL, state->activated_by_count,
                 ceremony.threshold)
    ||  s_event (call, state, "ca.key.activated", ceremony.ceremony_id)) {
        ca_state_deactivate (state);
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_UNAVAILABLE,
                                "cannot record the activation; the key stays inactive");
        goto done;
    }
    tsr_log_info (call->request->trace_id, "ca.key_activated", "ceremony_id", ceremony.ceremony_id, NULL);
    status = s_status_reply (call, state, ceremony.threshold, ceremony.ceremony_id, "CA key activated");
done:
    if (locked)
        pthread_mutex_unlock (&state->lock);
    ca_share_wipe (&share);
    if (request->share.data)
        OPENSSL_cleanse (request->share.data, request->share.len);
    tessera__v1__activate_request__free_unpacked (request, NULL);
    return status;
}

tsr_status_t
ca_handle_deactivate (tsr_call_t *call)
{
    ca_state_t *state = call->state;
    s_ceremony_t ceremony;
    int found = s_current_ceremony (call->db, &ceremony);
    if (found)
        return found < 0
            ? tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_UNAVAILABLE, "cannot read the ceremonies")
            : tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION,
                             "no key ceremony has been held");
    pthread_mutex_lock (&state->lock);
    bool was_active = state->active;
    ca_state_deactivate (state);
    ca_state_wipe_pending (state);
    tsr_status_t status;
    if (s_audit (call, "ca.key_deactivated", ceremony.ceremony_id, NULL, 0, ceremony.threshold)
    ||  (was_active && s_event (call, state, "ca.key.deactivated", ceremony.ceremony_id)))
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_UNAVAILABLE,
                                "the key is inactive, but the audit record failed");
    else
        status = s_status_reply (call, state, ceremony.threshold, ceremony.ceremony_id,
                                 was_active ? "CA key deactivated" : "CA key was not active");
    pthread_mutex_unlock (&state->lock);
    tsr_log_info (call->request->trace_id, "ca.key_deactivated", "caller", call->caller_key, NULL);
    return status;
}

tsr_status_t
ca_handle_activation_status (tsr_call_t *call)
{
    ca_state_t *state = call->state;
    s_ceremony_t ceremony = { "", "", 0 };
    int found = s_current_ceremony (call->db, &ceremony);
    if (found < 0)
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_UNAVAILABLE, "cannot read the ceremonies");
    pthread_mutex_lock (&state->lock);
    tsr_status_t status = s_status_reply (call, state, ceremony.threshold, ceremony.ceremony_id,
                                          state->active ? "active" : "inactive");
    pthread_mutex_unlock (&state->lock);
    return status;
}
