/*  perso_recovery_deliver: DeliverRecoveredKey (see perso_recovery.h).

    Only the requester, only once the recovery is approved, only once. The
    key-recovery authority's private key is read from
    TSR_PERSO_RECOVERY_KEY_FILE for this call and wiped after it; each
    escrowed key is opened (perso_escrow_open checks the envelope belongs
    to this holder and key id) and checked against its certificate before
    it goes in the file. The password (24 characters, about 140 bits) is
    sealed to mail in "key_recovery.password_ready", never in the reply,
    never stored in clear, never logged.
*/
#include "perso_escrow.h"
#include "perso_input.h"
#include "perso_pkcs12.h"
#include "perso_records.h"
#include "perso_recovery.h"
#include "perso_secrets.h"
#include "perso_state.h"
#include "tessera/log.h"

#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define S_DENIED TESSERA__V1__STATUS__STATUS_PERMISSION_DENIED
#define S_NOT_FOUND TESSERA__V1__STATUS__STATUS_NOT_FOUND
#define S_INTERNAL TESSERA__V1__STATUS__STATUS_INTERNAL
#define S_KEYS_MAX 32

static void
s_password (char out [PERSO_RECOVERY_PASSWORD_CHARS + 1])
{
    static const char alphabet [] = "ABCDEFGHJKMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789";
    for (int i = 0; i < PERSO_RECOVERY_PASSWORD_CHARS; i++)
        out [i] = alphabet [randombytes_uniform (sizeof alphabet - 1)];
    out [PERSO_RECOVERY_PASSWORD_CHARS] = 0;
}

static bool
s_bytes (PGresult *res, int row, int column, uint8_t *out, size_t size)
{
    size_t got = 0;
    unsigned char *bytes = PQunescapeBytea ((const unsigned char *) PQgetvalue (res, row, column),
                                            &got);
    bool ok = bytes && got == size;
    if (ok)
        memcpy (out, bytes, size);
    PQfreemem (bytes);
    return ok;
}

//  Row row of the escrowed keys as key and certificate, checked to match.
static int
s_open (PGresult *res, int row, const uint8_t public_key [32], const uint8_t secret_key [32],
        EVP_PKEY **key_p, X509 **cert_p)
{
    perso_escrow_envelope_t envelope;
    memset (&envelope, 0, sizeof envelope);
    size_t size = 0;
    unsigned char *ciphertext = PQunescapeBytea (
        (const unsigned char *) PQgetvalue (res, row, 2), &size);
    unsigned char *der = NULL;
    size_t der_size = 0;
    int rc = -1;
    if (ciphertext && s_bytes (res, row, 3, envelope.nonce, sizeof envelope.nonce)
    &&  s_bytes (res, row, 4, envelope.tag, sizeof envelope.tag)
    &&  s_bytes (res, row, 5, envelope.wrapped_key, sizeof envelope.wrapped_key)) {
        envelope.ciphertext = ciphertext;
        envelope.ciphertext_size = size;
        *key_p = perso_escrow_open (&envelope, public_key, secret_key, PQgetvalue (res, row, 1),
                                    PQgetvalue (res, row, 0));
        der = PQunescapeBytea ((const unsigned char *) PQgetvalue (res, row, 6), &der_size);
        const unsigned char *cursor = der;
        *cert_p = der ? d2i_X509 (NULL, &cursor, (long) der_size) : NULL;
        if (*key_p && *cert_p && X509_check_private_key (*cert_p, *key_p) == 1)
            rc = 0;
    }
    PQfreemem (ciphertext);
    PQfreemem (der);
    return rc;
}

//  The keys of the recovery in a PKCS#12 under password. S_OK or refusal.
static tsr_status_t
s_build (tsr_call_t *call, const char *person_id, const char *key_id, const char *password,
         unsigned char **der_p, int *der_size, PGresult **keys_p)
{
    perso_state_t *state = call->state;
    uint8_t public_key [crypto_box_PUBLICKEYBYTES], secret_key [crypto_box_SECRETKEYBYTES];
    char err [160] = "";
    if (perso_escrow_recovery_key_load (state->recovery_key_file, public_key, secret_key, err,
                                        sizeof err))
        return tsr_call_fail (call, S_PRECONDITION, "%s", err);
    tsr_status_t status = S_OK;
    const char *values [] = { person_id, key_id };
    PGresult *res = tsr_db_query (call->db,
        "SELECT key_id, person_id, ciphertext, nonce, tag, wrapped_key, certificate_der,"
        " serial_hex FROM escrowed_keys WHERE person_id = $1 AND state = 2"
        " AND retain_until > now() AND ($2 = '' OR key_id = $2) ORDER BY created_at, key_id",
        2, values);
    STACK_OF (PKCS12_SAFEBAG) *keys = sk_PKCS12_SAFEBAG_new_null ();
    STACK_OF (PKCS12_SAFEBAG) *certs = sk_PKCS12_SAFEBAG_new_null ();
    if (!res)
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the escrowed keys");
    else
    if (PQntuples (res) == 0 || PQntuples (res) > S_KEYS_MAX)
        status = tsr_call_fail (call, S_NOT_FOUND, "no escrowed key of holder %s is within its "
                                "archive period any more", person_id);
    else
    if (!keys || !certs)
        status = tsr_call_fail (call, S_INTERNAL, "out of memory");
    for (int row = 0; status == S_OK && row < PQntuples (res); row++) {
        EVP_PKEY *key = NULL;
        X509 *cert = NULL;
        char name [64];
        snprintf (name, sizeof name, "encryption %.40s", PQgetvalue (res, row, 7));
        if (s_open (res, row, public_key, secret_key, &key, &cert)) {
            if (!key)
                status = tsr_call_fail (call, S_PRECONDITION, "escrowed key %s does not open with "
                                        "the key-recovery key (TSR_PERSO_RECOVERY_KEY_FILE): "
                                        "another authority's key, or an altered record",
                                        PQgetvalue (res, row, 0));
            else
                status = tsr_call_fail (call, S_INTERNAL, "escrowed key %s does not match its "
                                        "certificate", PQgetvalue (res, row, 0));
        }
        else
        if (perso_pkcs12_add_pair (&keys, &certs, key, cert, password, name))
            status = tsr_call_fail (call, S_INTERNAL, "cannot assemble the PKCS#12 file");
        EVP_PKEY_free (key);
        X509_free (cert);
    }
    sodium_memzero (secret_key, sizeof secret_key);
    if (status == S_OK
    &&  (perso_pkcs12_chain (call, &certs)
         || perso_pkcs12_assemble (keys, certs, password, der_p, der_size)))
        status = tsr_call_fail (call, S_INTERNAL, "cannot assemble the PKCS#12 file");
    sk_PKCS12_SAFEBAG_pop_free (keys, PKCS12_SAFEBAG_free);
    sk_PKCS12_SAFEBAG_pop_free (certs, PKCS12_SAFEBAG_free);
    if (status == S_OK)
        *keys_p = res;
    else
        PQclear (res);
    return status;
}

//  The password sealed to mail, as "key_recovery.password_ready".
static int
s_send_password (tsr_call_t *call, const char *recovery_id, const char *person_id,
                 const char *password)
{
    perso_state_t *state = call->state;
    uint8_t *sealed = NULL;
    size_t sealed_size = 0;
    if (perso_seal (state->mail_public_key, password, strlen (password), &sealed, &sealed_size))
        return -1;
    Tessera__V1__KeyRecoveryPasswordReady event = TESSERA__V1__KEY_RECOVERY_PASSWORD_READY__INIT;
    event.recovery_id = (char *) recovery_id;
    event.person_id = (char *) person_id;
    event.sealed_password.data = sealed;
    event.sealed_password.len = sealed_size;
    event.sealed_for_key = state->mail_public_txt;
    int rc = perso_emit (call->db, "key_recovery.password_ready", recovery_id,
                         call->request->trace_id, &event.base);
    free (sealed);
    return rc;
}

tsr_status_t
perso_handle_deliver_recovered_key (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__DeliverRecoveredKeyRequest *in = (Tessera__V1__DeliverRecoveredKeyRequest *)
        tsr_call_unpack (call, &tessera__v1__deliver_recovered_key_request__descriptor, &status);
    if (!in)
        return status;
    PGresult *res = NULL, *keys = NULL;
    unsigned char *der = NULL;
    int der_size = 0;
    char password [PERSO_RECOVERY_PASSWORD_CHARS + 1] = "";
    char person_id [128] = "", key_id [128] = "";
    if (!perso_id_valid (in->recovery_id)) {
        status = tsr_call_fail (call, S_INVALID, "recovery_id must be 1 to 64 of [A-Za-z0-9._:-]");
        goto done;
    }
    const char *values [] = { in->recovery_id };
    res = tsr_db_query (call->db,
        "SELECT state, requested_by_key, person_id, key_id, (SELECT count(*) FROM"
        " key_recovery_approvals a WHERE a.recovery_id = r.recovery_id)"
        " FROM key_recoveries r WHERE recovery_id = $1 FOR UPDATE", 1, values);
    if (!res) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the key recoveries");
        goto done;
    }
    if (PQntuples (res) != 1) {
        status = tsr_call_fail (call, S_NOT_FOUND, "no key recovery %s", in->recovery_id);
        goto done;
    }
    if (strcmp (PQgetvalue (res, 0, 1), call->caller_key) != 0) {
        status = tsr_call_fail (call, S_DENIED, "only the requester of key recovery %s may "
                                "deliver it", in->recovery_id);
        goto done;
    }
    if (strcmp (PQgetvalue (res, 0, 0), "3") == 0) {
        status = tsr_call_fail (call, S_PRECONDITION, "key recovery %s was delivered already",
                                in->recovery_id);
        goto done;
    }
    if (strcmp (PQgetvalue (res, 0, 0), "2") != 0) {
        status = tsr_call_fail (call, S_PRECONDITION, "key recovery %s has %s of %d approvals "
                                "by distinct recovery officers", in->recovery_id,
                                PQgetvalue (res, 0, 4), PERSO_RECOVERY_APPROVALS);
        goto done;
    }
    snprintf (person_id, sizeof person_id, "%s", PQgetvalue (res, 0, 2));
    snprintf (key_id, sizeof key_id, "%s", PQgetvalue (res, 0, 3));
    s_password (password);
    if ((status = s_build (call, person_id, key_id, password, &der, &der_size, &keys)) != S_OK)
        goto done;
    size_t count = (size_t) PQntuples (keys);
    char *key_ids [S_KEYS_MAX], *serials [S_KEYS_MAX];
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "person_id", person_id);
    for (size_t i = 0; i < count; i++) {
        key_ids [i] = PQgetvalue (keys, (int) i, 0);
        serials [i] = PQgetvalue (keys, (int) i, 7);
        char field [32];
        snprintf (field, sizeof field, "serial_%zu", i);
        tsr_json_str (json, field, serials [i]);
    }
    tsr_json_int (json, "keys", (int64_t) count);
    PQclear (res);
    res = tsr_db_query (call->db,
        "UPDATE key_recoveries SET state = 3, delivered_at = now(), delivered_by_key = $2"
        " WHERE recovery_id = $1", 2, (const char *[]) { in->recovery_id, call->caller_key });
    if (!res || s_send_password (call, in->recovery_id, person_id, password)
    ||  perso_audit (call->db, call->caller_key, "perso.key_recovered", in->recovery_id,
                     call->request->trace_id, &json)) {
        tsr_json_destroy (&json);
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot record the delivery");
        goto done;
    }
    Tessera__V1__DeliverRecoveredKeyReply reply = TESSERA__V1__DELIVER_RECOVERED_KEY_REPLY__INIT;
    reply.pkcs12_der.data = der;
    reply.pkcs12_der.len = (size_t) der_size;
    reply.n_key_ids = count;
    reply.key_ids = key_ids;
    reply.n_serials = count;
    reply.serials = serials;
    status = tsr_call_reply (call, &reply.base, "PKCS#12 made; its password goes to the holder "
                             "by mail; the file is not kept: save it now");
    tsr_log_info (call->request->trace_id, "perso.key_recovered", "recovery_id", in->recovery_id,
                  "person_id", person_id, NULL);
done:
    sodium_memzero (password, sizeof password);
    if (der)
        OPENSSL_clear_free (der, (size_t) der_size);
    PQclear (res);
    PQclear (keys);
    tessera__v1__deliver_recovered_key_request__free_unpacked (in, NULL);
    return status;
}
