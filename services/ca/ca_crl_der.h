/*  ca_crl_der: a CRL's DER written directly, for CRLs of a million entries.

    OpenSSL's X509_CRL holds each entry as half a dozen heap objects (an
    X509_REVOKED, its serial, time and extension stack), several hundred
    bytes and a few microseconds per entry, and then encodes them all again.
    Here the entries are compact records (streamed from the database by
    ca_crl_copy, sorted as X509_CRL_sort sorts them), and
    revokedCertificates is written straight into the buffer that becomes the
    CRL; the header parts (issuer, times, algorithm, CRL extensions) still
    come from OpenSSL's encoders. The CRL is the same DER that X509_CRL_sign
    would make.

    Two steps, so that the key's lock is held only for the signature:
    ca_crl_der_tbs writes the to-be-signed part, ca_crl_der_sign signs it and
    completes the CRL in place.
*/
#ifndef CA_CRL_DER_H
#define CA_CRL_DER_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define CA_CRL_SERIAL_MAX 20            //  RFC 5280 4.1.2.2: at most 20 octets

typedef struct {
    uint64_t order;                     //  sort key: size, then the first 7 octets
    int64_t revoked_at;
    int64_t invalidity;                 //  0: no invalidityDate extension
    uint8_t serial [CA_CRL_SERIAL_MAX]; //  magnitude, no leading zero octet
    uint8_t serial_size;
    uint8_t reason;                     //  CRLReason; 0: no reasonCode extension
} ca_crl_entry_t;

typedef struct {
    ca_crl_entry_t *items;
    size_t count;
    size_t capacity;
} ca_crl_entries_t;

//  Adds one entry; serial_hex is 1 to 40 hex digits. 0, or -1 (bad serial,
//  out of memory).
int ca_crl_entries_add (ca_crl_entries_t *self, const char *serial_hex, int reason,
                        int64_t revoked_at, int64_t invalidity);
//  The same with the serial's octets (1 to 20, big-endian; leading zero
//  octets are dropped), as the certificates table holds them.
int ca_crl_entries_add_octets (ca_crl_entries_t *self, const uint8_t *serial, size_t size,
                               int reason, int64_t revoked_at, int64_t invalidity);
//  The order X509_CRL_sort gives: shorter serials first, then by octets.
void ca_crl_entries_sort (ca_crl_entries_t *self);
void ca_crl_entries_free (ca_crl_entries_t *self);

typedef struct {
    uint8_t *buffer;                    //  the allocation; the CRL starts at der
    uint8_t *der;
    size_t size;                        //  the CRL's size once signed
    size_t tbs_offset, tbs_size;
    size_t algorithm_size;
    size_t signature_max;
} ca_crl_der_t;

//  Writes the TBSCertList: version 2, the signature algorithm for key and
//  md, the issuer's subject, this and next update, the entries, and the
//  extensions of `extensions` (a CRL whose only use is to hold them). 0, or
//  -1.
int ca_crl_der_tbs (ca_crl_der_t *self, X509 *issuer, EVP_PKEY *key, const EVP_MD *md,
                    time_t this_update, time_t next_update, const ca_crl_entries_t *entries,
                    const X509_CRL *extensions);
//  Signs the TBSCertList with key and md and completes the CRL (der, size).
int ca_crl_der_sign (ca_crl_der_t *self, EVP_PKEY *key, const EVP_MD *md);
void ca_crl_der_free (ca_crl_der_t *self);

#endif
