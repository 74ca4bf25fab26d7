/*  ca_csr: PKCS#10 checks (see ca_csr.h).
*/
#include "ca_csr.h"
#include "ca_profile.h"

#include <openssl/x509.h>
#include <stdio.h>

ca_csr_result_t
ca_csr_check (const uint8_t *der, size_t size, EVP_PKEY **public_key,
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
    EVP_PKEY *key = X509_REQ_get_pubkey (request);
    if (!key) {
        snprintf (err, err_size, "CSR public key cannot be read");
        goto done;
    }
    if (X509_REQ_verify (request, key) != 1) {
        snprintf (err, err_size, "CSR signature does not verify with its public key");
        result = CA_CSR_BAD_SIGNATURE;
        goto done;
    }
    if (ca_profile_check_key (key, err, err_size)) {
        result = CA_CSR_KEY_REFUSED;
        goto done;
    }
    int spki_size = i2d_PUBKEY (key, &spki);
    unsigned char digest [32];
    if (spki_size <= 0 || !EVP_Digest (spki, (size_t) spki_size, digest, NULL, EVP_sha256 (), NULL)) {
        snprintf (err, err_size, "CSR public key cannot be encoded");
        goto done;
    }
    for (int i = 0; i < 32; i++)
        snprintf (spki_sha256_hex + 2 * i, 3, "%02x", digest [i]);
    *public_key = key;
    key = NULL;
    result = CA_CSR_OK;
done:
    OPENSSL_free (spki);
    EVP_PKEY_free (key);
    X509_REQ_free (request);
    return result;
}
