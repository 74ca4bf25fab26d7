/*  perso_pkcs12: the PKCS#12 files perso hands out (level * software
    certificates, IssuePkcs12; recovered escrowed keys,
    DeliverRecoveredKey): keys shrouded and certificates encrypted with
    AES-256-CBC under PBKDF2 (100 000 iterations), a SHA-256 MAC, each key
    tied to its certificate by a localKeyId, the CA chain alongside.
*/
#ifndef PERSO_PKCS12_H
#define PERSO_PKCS12_H

#include <openssl/pkcs12.h>
#include "tessera/bus.h"

//  A PKCS#10 for key, signed by key, named common_name (ca takes only its
//  public key; the subject is ca's business). 0, or -1; *der_p is
//  OPENSSL_free'd by the caller in every case.
int perso_pkcs12_csr (EVP_PKEY *key, const char *common_name, unsigned char **der_p,
                      int *der_size);
//  key and cert as two bags tied by a localKeyId and named name. 0, or -1.
int perso_pkcs12_add_pair (STACK_OF (PKCS12_SAFEBAG) **keys, STACK_OF (PKCS12_SAFEBAG) **certs,
                           EVP_PKEY *key, X509 *cert, const char *password, const char *name);
//  The CA chain from ca (issuing, root), added to certs. 0, or -1.
int perso_pkcs12_chain (tsr_call_t *call, STACK_OF (PKCS12_SAFEBAG) **certs);
//  The file (DER into *der_p, OPENSSL_free it): the key safe, the
//  certificate safe, the MAC. 0, or -1.
int perso_pkcs12_assemble (STACK_OF (PKCS12_SAFEBAG) *keys, STACK_OF (PKCS12_SAFEBAG) *certs,
                           const char *password, unsigned char **der_p, int *der_size);

#endif
