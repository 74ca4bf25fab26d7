/*  IssuePkcs12: level * software certificates whose keys perso makes.

    One key per requested use (EC P-256 unless asked otherwise), each
    certified by ca through the same path as IssueFromCsr, all returned
    once in one PKCS#12 encrypted with the holder's password: keys
    shrouded and certificates encrypted with AES-256-CBC under PBKDF2
    (100 000 iterations), a SHA-256 MAC, each key and its certificate tied
    by a localKeyId, the CA chain alongside. The method is
    TSR_METHOD_SECRET_REPLY: the bus never stores the reply, and perso
    keeps neither key nor password.
*/
#include "perso_handlers.h"
#include "perso_input.h"
#include "perso_pkcs12.h"
#include "perso_software.h"
#include "perso_state.h"

#include <openssl/crypto.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define S_INTERNAL TESSERA__V1__STATUS__STATUS_INTERNAL
#define S_USES_MAX 2
#define S_ITERATIONS 100000

static EVP_PKEY *
s_keygen (int algorithm)
{
    switch (algorithm) {
        case TESSERA__V1__KEY_ALGORITHM__KEY_ALGORITHM_UNSPECIFIED:
        case TESSERA__V1__KEY_ALGORITHM__KEY_ALGORITHM_EC_P256:
            return EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
        case TESSERA__V1__KEY_ALGORITHM__KEY_ALGORITHM_EC_P384:
            return EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-384");
        case TESSERA__V1__KEY_ALGORITHM__KEY_ALGORITHM_RSA_3072:
            return EVP_PKEY_Q_keygen (NULL, NULL, "RSA", (size_t) 3072);
        case TESSERA__V1__KEY_ALGORITHM__KEY_ALGORITHM_RSA_4096:
            return EVP_PKEY_Q_keygen (NULL, NULL, "RSA", (size_t) 4096);
        default:
            return NULL;
    }
}

int
perso_pkcs12_csr (EVP_PKEY *key, const char *common_name, unsigned char **der_p, int *der_size)
{
    X509_REQ *request = X509_REQ_new ();
    X509_NAME *name = X509_NAME_new ();
    *der_p = NULL;
    int ok = request && name && X509_REQ_set_version (request, X509_REQ_VERSION_1)
        && X509_NAME_add_entry_by_NID (name, NID_commonName, MBSTRING_UTF8,
                                       (const unsigned char *) common_name, -1, -1, 0)
        && X509_REQ_set_subject_name (request, name) && X509_REQ_set_pubkey (request, key)
        && X509_REQ_sign (request, key, EVP_sha256 ()) > 0
        && (*der_size = i2d_X509_REQ (request, der_p)) > 0;
    X509_NAME_free (name);
    X509_REQ_free (request);
    return ok ? 0 : -1;
}

static X509 *
s_x509 (const uint8_t *der, size_t size)
{
    const unsigned char *cursor = der;
    return d2i_X509 (NULL, &cursor, (long) size);
}

int
perso_pkcs12_chain (tsr_call_t *call, STACK_OF (PKCS12_SAFEBAG) **certs)
{
    perso_state_t *state = call->state;
    Tessera__V1__GetCaCertificatesRequest ask = TESSERA__V1__GET_CA_CERTIFICATES_REQUEST__INIT;
    Tessera__V1__GetCaCertificatesReply *reply = NULL;
    char message [160];
    if (tsr_peer_call (state->ca, "GetCaCertificates", &ask.base,
                       &tessera__v1__get_ca_certificates_reply__descriptor,
                       NULL, call->request->trace_id, (ProtobufCMessage **) &reply, message,
                       sizeof message) != S_OK)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < reply->n_chain_der && rc == 0; i++) {
        X509 *cert = s_x509 (reply->chain_der [i].data, reply->chain_der [i].len);
        if (!cert || !PKCS12_add_cert (certs, cert))
            rc = -1;
        X509_free (cert);
    }
    tessera__v1__get_ca_certificates_reply__free_unpacked (reply, NULL);
    return rc;
}

//  One key and its certificate as bags tied by a localKeyId.
int
perso_pkcs12_add_pair (STACK_OF (PKCS12_SAFEBAG) **keys, STACK_OF (PKCS12_SAFEBAG) **certs,
                       EVP_PKEY *key, X509 *cert, const char *password, const char *name)
{
    unsigned char id [32];
    unsigned int id_size = 0;
    if (!X509_digest (cert, EVP_sha256 (), id, &id_size))
        return -1;
    PKCS12_SAFEBAG *cert_bag = PKCS12_add_cert (certs, cert);
    PKCS12_SAFEBAG *key_bag = cert_bag
        ? PKCS12_add_key_ex (keys, key, 0, S_ITERATIONS, NID_aes_256_cbc, password, NULL, NULL)
        : NULL;
    if (!key_bag
    ||  !PKCS12_add_localkeyid (cert_bag, id, (int) id_size)
    ||  !PKCS12_add_localkeyid (key_bag, id, (int) id_size)
    ||  !PKCS12_add_friendlyname_utf8 (cert_bag, name, -1)
    ||  !PKCS12_add_friendlyname_utf8 (key_bag, name, -1))
        return -1;
    return 0;
}

//  The file: the key safe, the certificate safe, the MAC.
int
perso_pkcs12_assemble (STACK_OF (PKCS12_SAFEBAG) *keys, STACK_OF (PKCS12_SAFEBAG) *certs,
                       const char *password, unsigned char **der_p, int *der_size)
{
    STACK_OF (PKCS7) *safes = NULL;
    PKCS12 *p12 = NULL;
    int rc = -1;
    if (PKCS12_add_safe_ex (&safes, certs, NID_aes_256_cbc, S_ITERATIONS, password, NULL, NULL)
    &&  PKCS12_add_safe_ex (&safes, keys, -1, 0, NULL, NULL, NULL)
    &&  (p12 = PKCS12_add_safes_ex (safes, 0, NULL, NULL))
    &&  PKCS12_set_mac (p12, password, -1, NULL, 0, S_ITERATIONS, EVP_sha256 ())
    &&  (*der_size = i2d_PKCS12 (p12, der_p)) > 0)
        rc = 0;
    PKCS12_free (p12);
    sk_PKCS7_pop_free (safes, PKCS7_free);
    return rc;
}

//  Every bound of the request that needs no database.
tsr_status_t
perso_issue_pkcs12_check (tsr_call_t *call, const Tessera__V1__IssuePkcs12Request *in)
{
    long password_chars = perso_utf8_length (in->password);
    bool uses_ok = in->n_uses >= 1 && in->n_uses <= S_USES_MAX
                && (in->n_uses < 2 || in->uses [0] != in->uses [1]);
    for (size_t i = 0; uses_ok && i < in->n_uses; i++)
        uses_ok = in->uses [i] == TESSERA__V1__CERTIFICATE_USE__CERTIFICATE_USE_AUTHENTICATION
               || in->uses [i] == TESSERA__V1__CERTIFICATE_USE__CERTIFICATE_USE_SIGNATURE;
    if (!perso_id_valid (in->card_request_id))
        return tsr_call_fail (call, S_INVALID, "card_request_id must be 1 to 64 of [A-Za-z0-9._:-]");
    if (!perso_optional_id_valid (in->account_id))
        return tsr_call_fail (call, S_INVALID, "account_id must be empty or 1 to 64 of [A-Za-z0-9._:-]");
    if (!uses_ok)
        return tsr_call_fail (call, S_INVALID, "uses must be AUTHENTICATION and/or SIGNATURE, "
                              "each once");
    if (in->key_algorithm < 0 || in->key_algorithm > 4)
        return tsr_call_fail (call, S_INVALID, "key_algorithm must be a KeyAlgorithm");
    if (password_chars < PERSO_PASSWORD_MIN || password_chars > PERSO_PASSWORD_MAX)
        return tsr_call_fail (call, S_INVALID, "password must be %d to %d characters",
                              PERSO_PASSWORD_MIN, PERSO_PASSWORD_MAX);
    return S_OK;
}

tsr_status_t
perso_handle_issue_pkcs12 (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__IssuePkcs12Request *in = (Tessera__V1__IssuePkcs12Request *) tsr_call_unpack (
        call, &tessera__v1__issue_pkcs12_request__descriptor, &status);
    if (!in)
        return status;
    status = S_OK;
    perso_software_t software;
    memset (&software, 0, sizeof software);
    Tessera__V1__CertificateRecord *records [S_USES_MAX] = { NULL };
    STACK_OF (PKCS12_SAFEBAG) *keys = NULL, *certs = NULL;
    unsigned char *der = NULL;
    int der_size = 0;
    size_t issued = 0;
    if ((status = perso_issue_pkcs12_check (call, in)) != S_OK
    ||  (status = perso_software_load (call, in->card_request_id, in->account_id, &software)) != S_OK)
        goto done;
    for (size_t i = 0; i < in->n_uses; i++)
        if (!perso_software_use_allowed (&software, (int) in->uses [i])) {
            status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION,
                                    "card request %s does not ask for every use given",
                                    in->card_request_id);
            goto done;
        }
    keys = sk_PKCS12_SAFEBAG_new_null ();
    certs = sk_PKCS12_SAFEBAG_new_null ();
    if (!keys || !certs) {
        status = tsr_call_fail (call, S_INTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < in->n_uses; i++) {
        EVP_PKEY *key = s_keygen ((int) in->key_algorithm);
        unsigned char *csr = NULL;
        int csr_size = 0;
        if (!key || perso_pkcs12_csr (key, "tessera software key", &csr, &csr_size)) {
            EVP_PKEY_free (key);
            OPENSSL_free (csr);
            status = tsr_call_fail (call, S_INTERNAL, "cannot make a key");
            goto done;
        }
        status = perso_software_issue (call, &software, csr, (size_t) csr_size,
                                       (int) in->uses [i], true, &records [i]);
        OPENSSL_free (csr);
        X509 *cert = status == S_OK ? s_x509 (records [i]->certificate_der.data,
                                              records [i]->certificate_der.len) : NULL;
        int added = cert ? perso_pkcs12_add_pair (&keys, &certs, key, cert, in->password,
                                       in->uses [i] == TESSERA__V1__CERTIFICATE_USE__CERTIFICATE_USE_AUTHENTICATION
                                       ? "authentication" : "signature") : -1;
        X509_free (cert);
        EVP_PKEY_free (key);
        if (status != S_OK)
            goto done;
        if (added) {
            status = tsr_call_fail (call, S_INTERNAL, "cannot assemble the PKCS#12 file");
            goto done;
        }
        issued++;
    }
    if (perso_pkcs12_chain (call, &certs)
    ||  perso_pkcs12_assemble (keys, certs, in->password, &der, &der_size)) {
        status = tsr_call_fail (call, S_INTERNAL, "cannot assemble the PKCS#12 file");
        goto done;
    }
    Tessera__V1__IssuePkcs12Reply reply = TESSERA__V1__ISSUE_PKCS12_REPLY__INIT;
    reply.pkcs12_der.data = der;
    reply.pkcs12_der.len = (size_t) der_size;
    reply.n_certificates = issued;
    reply.certificates = records;
    status = tsr_call_reply (call, &reply.base, "PKCS#12 made; it is not kept: save it now");
done:
    if (der)
        OPENSSL_cleanse (der, (size_t) der_size);
    OPENSSL_free (der);
    sk_PKCS12_SAFEBAG_pop_free (keys, PKCS12_SAFEBAG_free);
    sk_PKCS12_SAFEBAG_pop_free (certs, PKCS12_SAFEBAG_free);
    for (size_t i = 0; i < S_USES_MAX; i++)
        if (records [i])
            tessera__v1__certificate_record__free_unpacked (records [i], NULL);
    perso_software_release (&software);
    if (in->password)
        OPENSSL_cleanse (in->password, strlen (in->password));
    tessera__v1__issue_pkcs12_request__free_unpacked (in, NULL);
    return status;
}
