/*  Fuzz target: the CA's CSR check (a CSR comes from a card, through perso,
    from outside the CA).
*/
#include "ca_csr.h"

#include <openssl/evp.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    X509_PUBKEY *key = NULL;
    char spki [65], err [256];
    ca_csr_result_t result = ca_csr_check (data, size, &key, spki, err, sizeof err);
    if ((result == CA_CSR_OK) != (key != NULL))
        __builtin_trap ();
    X509_PUBKEY_free (key);
    return 0;
}
