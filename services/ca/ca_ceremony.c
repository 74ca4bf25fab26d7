/*  Ceremony: the CA key ceremony, run by a security officer over the bus.

    In one request: a fresh random secret becomes the key store's secret
    (the token's user PIN, set with the security officer's PIN, or the key
    files' passphrase); the root and issuing key pairs are made inside the
    key store; the root certificate is self-signed and the issuing CA's is
    signed by the root key; the secret is split into one share per
    custodian (k of n) and wiped. The database keeps the certificates, the
    custodians' keys and the SHA-256 of each share, never a share; the
    shares travel once, in the reply, to the officer's CLI, which writes
    one file per custodian. The method is TSR_METHOD_SECRET_REPLY: the
    reply is not stored, a retry is refused.

    Only a security officer calls it (the method's roles, main.c).

    One hierarchy per CA database for now: a second ceremony is refused
    (re-keying is a later issue).
*/
#include "ca_handlers.h"
#include "ca_issue.h"
#include "ca_records.h"
#include "ca_shares.h"
#include "ca_state.h"
#include "ca_subject.h"

#include "tessera/audit.h"
#include "tessera/events.h"
#include "tessera/json.h"
#include "tessera/log.h"
#include "tessera/v1/ca.pb-c.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_SECRET_BYTES 24           //  48 hex characters: a PKCS#11 PIN
#define S_SO_PIN_MAX 255

typedef Tessera__V1__CeremonyRequest s_request_t;

static const char *
s_algorithm_name (int algorithm)
{
    switch (algorithm) {
        case CA_KEY_EC_P256: return "EC P-256";
        case CA_KEY_EC_P384: return "EC P-384";
        case CA_KEY_RSA_3072: return "RSA 3072";
        case CA_KEY_RSA_4096: return "RSA 4096";
        default: return NULL;
    }
}

static bool
s_z85_key (const char *key)
{
    if (strlen (key) != 40)
        return false;
    for (const char *c = key; *c; c++)
        if (!strchr ("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#", *c))
            return false;
    return true;
}

//  Defaults filled in, every field bounded. Returns NULL or the problem.
static const char *
s_validate (s_request_t *request, bool pkcs11)
{
    if (!ca_subject_text_valid (request->root_common_name, CA_NAME_MAX)
    ||  !ca_subject_text_valid (request->issuing_common_name, CA_NAME_MAX)
    ||  !ca_subject_text_valid (request->organization, CA_NAME_MAX))
        return "root_common_name, issuing_common_name and organization must be 1 to 64 printable characters";
    if (strcmp (request->root_common_name, request->issuing_common_name) == 0)
        return "the root and issuing CAs need different common names";
    if (request->root_algorithm == 0)
        request->root_algorithm = TESSERA__V1__KEY_ALGORITHM__KEY_ALGORITHM_EC_P384;
    if (request->issuing_algorithm == 0)
        request->issuing_algorithm = TESSERA__V1__KEY_ALGORITHM__KEY_ALGORITHM_EC_P384;
    if (!s_algorithm_name (request->root_algorithm) || !s_algorithm_name (request->issuing_algorithm))
        return "key algorithms are EC P-256, EC P-384, RSA 3072 or RSA 4096";
    if (request->root_validity_days == 0)
        request->root_validity_days = CA_CA_MAX_DAYS;
    if (request->root_validity_days > CA_CA_MAX_DAYS)
        return "a root CA lives at most 3653 days (10 years)";
    if (request->issuing_validity_days == 0)
        request->issuing_validity_days = request->root_validity_days / 2;
    if (request->issuing_validity_days == 0 || request->issuing_validity_days > request->root_validity_days)
        return "the issuing CA must live 1 day to the root's lifetime";
    if (request->threshold == 0)
        request->threshold = 2;
    if (request->threshold < 2)
        return "the threshold must be at least 2: two custodians activate a CA key";
    if (request->n_custodians < request->threshold || request->n_custodians > CA_SHARES_MAX)
        return "there must be threshold to 16 custodians";
    for (size_t i = 0; i < request->n_custodians; i++) {
        Tessera__V1__Custodian *custodian = request->custodians [i];
        if (!ca_subject_text_valid (custodian->name, CA_NAME_MAX) || !s_z85_key (custodian->public_key))
            return "each custodian needs a name (1 to 64 printable characters) and a Z85 public key";
        if (strchr (custodian->name, '/'))
            return "a custodian name cannot contain '/' (it names the share's folder)";
        for (size_t j = 0; j < i; j++)
            if (strcmp (custodian->public_key, request->custodians [j]->public_key) == 0
            ||  strcmp (custodian->name, request->custodians [j]->name) == 0)
                return "custodians must be distinct people with distinct keys";
    }
    if (pkcs11 && (strlen (request->token_so_pin) < 4 || strlen (request->token_so_pin) > S_SO_PIN_MAX))
        return "token_so_pin is required for a PKCS#11 key store (4 to 255 characters)";
    return NULL;
}

//  What the ceremony makes, freed by s_made_free.
typedef struct {
    ca_keystore_t *keystore;
    EVP_PKEY *root_public;
    EVP_PKEY *issuing_public;
    EVP_PKEY *root_key;
    X509 *root_cert;
    X509 *issuing_cert;
    ca_share_t shares [CA_SHARES_MAX];
    char share_digests [CA_SHARES_MAX][65];
    char root_sha256 [65];
    char issuing_sha256 [65];
    char root_label [CA_ID_MAX];
    char issuing_label [CA_ID_MAX];
} s_made_t;

static void
s_made_free (s_made_t *made)
{
    EVP_PKEY_free (made->root_key);
    EVP_PKEY_free (made->root_public);
    EVP_PKEY_free (made->issuing_public);
    X509_free (made->root_cert);
    X509_free (made->issuing_cert);
    ca_keystore_destroy (&made->keystore);
    for (int i = 0; i < CA_SHARES_MAX; i++)
        ca_share_wipe (&made->shares [i]);
}

static X509_NAME *
s_ca_name (const char *organization, const char *common_name, char *err, size_t err_size)
{
    ca_subject_fields_t fields = { .organization = organization, .common_name = common_name };
    return ca_subject_build (&fields, false, err, err_size);
}

//  Keys, certificates and shares. The secret lives only in this frame.
static int
s_make (ca_state_t *state, s_request_t *request, const char *ceremony_id, s_made_t *made,
        char *err, size_t err_size)
{
    uint8_t random [S_SECRET_BYTES];
    char secret [2 * S_SECRET_BYTES + 1];
    X509_NAME *root_name = NULL, *issuing_name = NULL;
    int rc = -1;
    if (RAND_bytes (random, sizeof random) != 1) {
        snprintf (err, err_size, "the random generator failed");
        goto done;
    }
    ca_hex (random, sizeof random, secret);
    snprintf (made->root_label, sizeof made->root_label, "root-%s", ceremony_id);
    snprintf (made->issuing_label, sizeof made->issuing_label, "issuing-%s", ceremony_id);
    made->keystore = ca_state_open_keystore (state, err, err_size);
    if (!made->keystore
    ||  ca_keystore_set_secret (made->keystore, *request->token_so_pin ? request->token_so_pin : NULL,
                               secret, err, err_size)
    ||  !(made->root_public = ca_keystore_generate (made->keystore, secret, made->root_label,
                                                    (ca_key_algorithm_t) request->root_algorithm, err, err_size))
    ||  !(made->issuing_public = ca_keystore_generate (made->keystore, secret, made->issuing_label,
                                                       (ca_key_algorithm_t) request->issuing_algorithm, err, err_size))
    ||  !(made->root_key = ca_keystore_open (made->keystore, secret, made->root_label,
                                             err, err_size)))
        goto done;
    root_name = s_ca_name (request->organization, request->root_common_name, err, err_size);
    issuing_name = s_ca_name (request->organization, request->issuing_common_name, err, err_size);
    if (!root_name || !issuing_name
    ||  !(made->root_cert = ca_issue_ca_certificate (NULL, made->root_key, made->root_public,
                                                     root_name, (int) request->root_validity_days,
                                                     err, err_size))
    ||  !(made->issuing_cert = ca_issue_ca_certificate (made->root_cert, made->root_key,
                                                        made->issuing_public, issuing_name,
                                                        (int) request->issuing_validity_days,
                                                        err, err_size)))
        goto done;
    if (ca_certificate_sha256 (made->root_cert, made->root_sha256)
    ||  ca_certificate_sha256 (made->issuing_cert, made->issuing_sha256)) {
        snprintf (err, err_size, "cannot fingerprint the CA certificates");
        goto done;
    }
    if (ca_shares_split ((const uint8_t *) secret, strlen (secret), request->threshold,
                         (unsigned) request->n_custodians, made->shares, err, err_size))
        goto done;
    for (size_t i = 0; i < request->n_custodians; i++)
        ca_shares_digest (&made->shares [i], made->share_digests [i]);
    rc = 0;
done:
    OPENSSL_cleanse (random, sizeof random);
    OPENSSL_cleanse (secret, sizeof secret);
    X509_NAME_free (root_name);
    X509_NAME_free (issuing_name);
    return rc;
}

static int
s_store_issuer (tsr_db_t *db, const char *ceremony_id, const char *role, const char *label,
                const char *algorithm, X509 *cert, const char *sha256)
{
    unsigned char *der = NULL;
    int der_size = i2d_X509 (cert, &der);
    char *subject = X509_NAME_oneline (X509_get_subject_name (cert), NULL, 0);
    //  The same time conversion as the issued certificates (ca_records).
    int64_t before = ca_asn1_time_unix (X509_get0_notBefore (cert));
    int64_t after = ca_asn1_time_unix (X509_get0_notAfter (cert));
    char not_before [24], not_after [24];
    int rc = -1;
    if (der_size <= 0 || !subject || before < 0 || after < 0)
        goto done;
    snprintf (not_before, sizeof not_before, "%lld", (long long) before);
    snprintf (not_after, sizeof not_after, "%lld", (long long) after);
    const char *values [] = { sha256, ceremony_id, role, label, algorithm, subject,
                              not_before, not_after, (const char *) der };
    int lengths [] = { 0, 0, 0, 0, 0, 0, 0, 0, der_size };
    int formats [] = { 0, 0, 0, 0, 0, 0, 0, 0, 1 };
    PGresult *res = tsr_db_query_ex (db,
        "INSERT INTO issuers (issuer_sha256, ceremony_id, role, key_label, key_algorithm,"
        " subject, not_before, not_after, certificate_der)"
        " VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7), to_timestamp($8), $9)",
        9, values, lengths, formats, 0);
    rc = res ? 0 : -1;
    PQclear (res);
done:
    OPENSSL_free (der);
    OPENSSL_free (subject);
    return rc;
}

static int
s_store (tsr_call_t *call, s_request_t *request, const char *ceremony_id, s_made_t *made)
{
    ca_state_t *state = call->state;
    char threshold [8], count [8];
    snprintf (threshold, sizeof threshold, "%u", request->threshold);
    snprintf (count, sizeof count, "%zu", request->n_custodians);
    const char *ceremony [] = { ceremony_id, call->request->request_id, call->caller_key,
                                state->keystore_kind, threshold, count, made->root_label,
                                made->issuing_label };
    PGresult *res = tsr_db_query (call->db,
        "INSERT INTO ceremonies (ceremony_id, request_id, performed_by, keystore_kind,"
        " threshold, share_count, root_label, issuing_label) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
        8, ceremony);
    PQclear (res);
    if (!res)
        return -1;
    for (size_t i = 0; i < request->n_custodians; i++) {
        char x [8];
        snprintf (x, sizeof x, "%u", made->shares [i].x);
        const char *share [] = { ceremony_id, x, request->custodians [i]->name,
                                 request->custodians [i]->public_key, made->share_digests [i] };
        res = tsr_db_query (call->db,
            "INSERT INTO ceremony_shares (ceremony_id, x, custodian_name, custodian_key,"
            " share_sha256) VALUES ($1,$2,$3,$4,$5)", 5, share);
        PQclear (res);
        if (!res)
            return -1;
    }
    if (s_store_issuer (call->db, ceremony_id, "root", made->root_label,
                        s_algorithm_name (request->root_algorithm), made->root_cert,
                        made->root_sha256)
    ||  s_store_issuer (call->db, ceremony_id, "issuing", made->issuing_label,
                        s_algorithm_name (request->issuing_algorithm), made->issuing_cert,
                        made->issuing_sha256))
        return -1;
    //  The audit record: who, when (the row's time), algorithms, fingerprints.
    char custodians [CA_SHARES_MAX * (CA_NAME_MAX * 4 + 8) + 4] = "[";
    size_t used = 1;
    for (size_t i = 0; i < request->n_custodians; i++) {
        char *buf = NULL;
        size_t len = 0, cap = 0;
        if (tsr_json_append_string (&buf, &len, &cap, request->custodians [i]->name))
            return -1;
        used += (size_t) snprintf (custodians + used, sizeof custodians - used, "%s%s",
                                   i ? "," : "", buf);
        free (buf);
    }
    snprintf (custodians + used, sizeof custodians - used, "]");
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "ceremony_id", ceremony_id);
    tsr_json_str (json, "keystore", state->keystore_kind);
    tsr_json_str (json, "root_algorithm", s_algorithm_name (request->root_algorithm));
    tsr_json_str (json, "issuing_algorithm", s_algorithm_name (request->issuing_algorithm));
    tsr_json_str (json, "root_sha256", made->root_sha256);
    tsr_json_str (json, "issuing_sha256", made->issuing_sha256);
    tsr_json_int (json, "threshold", request->threshold);
    tsr_json_raw (json, "custodians", custodians);
    if (!json || tsr_audit_append_json (call->db, call->caller_key, "ca.ceremony", ceremony_id,
                                        call->request->trace_id, &json))
        return -1;
    Tessera__V1__CeremonyCompleted event = TESSERA__V1__CEREMONY_COMPLETED__INIT;
    event.ceremony_id = (char *) ceremony_id;
    event.root_sha256 = made->root_sha256;
    event.issuing_sha256 = made->issuing_sha256;
    return tsr_events_append_message (call->db, "ca.ceremony.completed", ceremony_id,
                                      call->request->trace_id, &event.base, NULL);
}

static tsr_status_t
s_reply (tsr_call_t *call, s_request_t *request, const char *ceremony_id, s_made_t *made)
{
    unsigned char *root_der = NULL, *issuing_der = NULL;
    int root_size = i2d_X509 (made->root_cert, &root_der);
    int issuing_size = i2d_X509 (made->issuing_cert, &issuing_der);
    Tessera__V1__Share shares [CA_SHARES_MAX];
    Tessera__V1__Share *share_list [CA_SHARES_MAX];
    Tessera__V1__CeremonyReply reply = TESSERA__V1__CEREMONY_REPLY__INIT;
    reply.ceremony_id = (char *) ceremony_id;
    reply.root_certificate_der.data = root_der;
    reply.root_certificate_der.len = root_size > 0 ? (size_t) root_size : 0;
    reply.issuing_certificate_der.data = issuing_der;
    reply.issuing_certificate_der.len = issuing_size > 0 ? (size_t) issuing_size : 0;
    reply.root_sha256 = made->root_sha256;
    reply.issuing_sha256 = made->issuing_sha256;
    reply.threshold = request->threshold;
    for (size_t i = 0; i < request->n_custodians; i++) {
        tessera__v1__share__init (&shares [i]);
        shares [i].custodian = request->custodians [i];
        shares [i].index = made->shares [i].x;
        shares [i].data.data = made->shares [i].bytes;
        shares [i].data.len = made->shares [i].size;
        share_list [i] = &shares [i];
    }
    reply.n_shares = request->n_custodians;
    reply.shares = share_list;
    tsr_status_t status = root_size > 0 && issuing_size > 0
        ? tsr_call_reply (call, &reply.base, "ceremony completed; hand each share to its custodian")
        : tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "cannot encode the CA certificates");
    OPENSSL_free (root_der);
    OPENSSL_free (issuing_der);
    return status;
}

tsr_status_t
ca_handle_ceremony (tsr_call_t *call)
{
    ca_state_t *state = call->state;
    tsr_status_t unpack_status;
    s_request_t *request = (s_request_t *) tsr_call_unpack (
        call, &tessera__v1__ceremony_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    tsr_status_t status;
    s_made_t made;
    memset (&made, 0, sizeof made);
    const char *problem = s_validate (request, strcmp (state->keystore_kind, "pkcs11") == 0);
    if (problem) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT, "%s", problem);
        goto done;
    }
    PGresult *res = tsr_db_query (call->db,
        "SELECT ceremony_id FROM ceremonies WHERE is_current FOR UPDATE", 0, NULL);
    if (!res) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_UNAVAILABLE, "cannot read the ceremonies");
        goto done;
    }
    int existing = PQntuples (res);
    PQclear (res);
    if (existing) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION,
                                "a CA hierarchy exists already; re-keying is not supported yet");
        goto done;
    }
    char ceremony_id [TSR_ID_HEX_SIZE];
    tsr_random_id (ceremony_id);
    char err [256] = "";
    pthread_mutex_lock (&state->lock);
    int made_ok = s_make (state, request, ceremony_id, &made, err, sizeof err);
    pthread_mutex_unlock (&state->lock);
    if (made_ok) {
        tsr_log_error (call->request->trace_id, "ca.ceremony_failed", "reason", err, NULL);
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION,
                                "ceremony failed: %s", err);
        goto done;
    }
    if (s_store (call, request, ceremony_id, &made)) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL,
                                "cannot record the ceremony; keys %s and %s are orphaned in the key store",
                                made.root_label, made.issuing_label);
        goto done;
    }
    tsr_log_info (call->request->trace_id, "ca.ceremony", "ceremony_id", ceremony_id,
                  "root_sha256", made.root_sha256, "issuing_sha256", made.issuing_sha256, NULL);
    status = s_reply (call, request, ceremony_id, &made);
done:
    s_made_free (&made);
    //  The SO PIN came in the request: wipe it with the request.
    if (request->token_so_pin)
        OPENSSL_cleanse (request->token_so_pin, strlen (request->token_so_pin));
    tessera__v1__ceremony_request__free_unpacked (request, NULL);
    return status;
}
