/*  ca_csr: takes a PKCS#10 request from outside and keeps only its public
    key, after checking it.

    The CSR must be DER, at most CA_CSR_MAX bytes, parse completely (no
    trailing bytes), carry a valid self-signature, and hold an accepted key
    (RSA >= 2048, EC P-256/P-384: ca_profile_check_key). Its subject and
    attributes are ignored: the CA builds the subject from the validated
    request.
*/
#ifndef CA_CSR_H
#define CA_CSR_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#define CA_CSR_MAX (16 * 1024)

typedef enum {
    CA_CSR_OK = 0,
    CA_CSR_TOO_LARGE,
    CA_CSR_UNREADABLE,
    CA_CSR_BAD_SIGNATURE,
    CA_CSR_KEY_REFUSED,
} ca_csr_result_t;

//  On CA_CSR_OK, *public_key is the CSR's SubjectPublicKeyInfo as sent:
//  its algorithm and key bits only, without a decoded key (caller
//  X509_PUBKEY_frees it), and spki_sha256_hex the SHA-256 of its DER. The
//  certificate carries the same bytes (ca_issue_certificate): OpenSSL 3.0
//  would otherwise re-encode the key through its encoder and decoder,
//  twice per issuance.
ca_csr_result_t ca_csr_check (const uint8_t *der, size_t size, X509_PUBKEY **public_key,
                              char spki_sha256_hex [65], char *err, size_t err_size);

//  Sets to's algorithm (its OID and parameters: none, NULL, an OID or a
//  SEQUENCE) and key bits (no unused bits) to copies of the given ones,
//  without decoding the key. -1 if a field is of another kind or memory
//  runs out (to unchanged).
int ca_csr_spki_copy (X509_PUBKEY *to, const X509_ALGOR *algorithm, const unsigned char *bits,
                      int bits_size);

#endif
