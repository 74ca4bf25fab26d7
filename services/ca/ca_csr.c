/*  ca_csr: PKCS#10 checks (see ca_csr.h).
*/
#include "ca_csr.h"
#include "ca_profile.h"

#include <openssl/x509.h>
#include <stdio.h>

ca_csr_result_t
ca_csr_check (const uint8_t *der, size_t size, X509_PUBKEY **public_key,
              char spki_sha256_hex [65], char *err, size_t err_size)
{
    *public_key = NULL;
    if (size > CA_CSR_MAX) {
        snprintf (err, err_size, "CSR of %zu bytes; at most %d are accepted", size, CA_CSR_MAX);
        return CA_CSR_TOO_LARGE;
    }
    if (size == 0) {
        snprintf (err, err_size, "CSR is empty");
        return CA_CSR_UNREADABLE;
    }
    const unsigned char *cursor = der;
    X509_REQ *request = d2i_X509_REQ (NULL, &cursor, (long) size);
    if (!request || cursor != der + size) {
        X509_REQ_free (request);
        snprintf (err, err_size, "CSR is not a DER PKCS#10 request");
        return CA_CSR_UNREADABLE;
    }
    ca_csr_result_t result = CA_CSR_UNREADABLE;
    unsigned char *spki = NULL;
    X509_PUBKEY *sent = X509_REQ_get_X509_PUBKEY (request);
    EVP_PKEY *key = X509_REQ_get0_pubkey (request);
    if (!sent || !key) {
        snprintf (err, err_size, "CSR public key cannot be read");
        goto done;
    }
    if (X509_REQ_verify (request, key) != 1) {
        snprintf (err, err_size, "CSR signature does not verify with its public key");
        result = CA_CSR_BAD_SIGNATURE;
        goto done;
    }
    //  The key as decoded, then the fields the certificate will carry as
    //  sent (RFC 4055: an RSA key's parameters are NULL).
    bool ec = false;
    if (ca_profile_check_key (key, err, err_size)
    ||  ca_profile_check_spki (sent, &ec, err, err_size)) {
        result = CA_CSR_KEY_REFUSED;
        goto done;
    }
    //  The bytes as sent, encoded from the parsed fields; i2d_PUBKEY would
    //  run OpenSSL 3.0's encoder set-up, a tenth of an issuance's CPU.
    int spki_size = i2d_X509_PUBKEY (sent, &spki);
    unsigned char digest [32];
    if (spki_size <= 0 || !EVP_Digest (spki, (size_t) spki_size, digest, NULL, EVP_sha256 (), NULL)
    ||  !(*public_key = X509_PUBKEY_dup (sent))
    ||  !X509_PUBKEY_get0 (*public_key)) {
        X509_PUBKEY_free (*public_key);
        *public_key = NULL;
        snprintf (err, err_size, "CSR public key cannot be encoded");
        goto done;
    }
    for (int i = 0; i < 32; i++)
        snprintf (spki_sha256_hex + 2 * i, 3, "%02x", digest [i]);
    result = CA_CSR_OK;
done:
    OPENSSL_free (spki);
    X509_REQ_free (request);
    return result;
}
