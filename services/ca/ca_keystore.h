/*  ca_keystore: where the CA's private keys live, and the only code that
    touches them.

    Two back ends:
    - pkcs11: a token reached through a PKCS#11 module (SoftHSM2 in tests and
      in the demo). Key pairs are generated inside the token
      (C_GenerateKeyPair, CKA_SENSITIVE, not extractable); signing goes
      through libp11, whose EVP_PKEY forwards to the token. The secret is
      the token's user PIN.
    - file: one encrypted PKCS#8 file per key (PEM, AES-256-CBC with
      PBKDF2/scrypt as OpenSSL 3 chooses), mode 0600, in a directory. The
      secret is the passphrase.

    Keys are found by label (e.g. "root-<ceremony id>"). Every secret passed
    in is borrowed: the caller wipes it.

    Added with the implementation:
    - A label is 1 to 64 characters of [A-Za-z0-9._-] in both back ends;
      secrets are 1 to 255 bytes. Errors never hold a secret.
    - pkcs11: set_secret and generate load the module, do their work and
      release it completely; the first key opened hands the module to
      libp11 until the store is destroyed. So generate every key before
      opening any: once a key is open, set_secret and generate on that
      store are refused. One store at a time may use a given module in a
      process; another one is refused until the first is destroyed.
    - A store is used by one thread at a time.
*/
#ifndef CA_KEYSTORE_H
#define CA_KEYSTORE_H

#include <openssl/evp.h>
#include <stddef.h>

typedef enum {
    CA_KEY_EC_P256 = 1,
    CA_KEY_EC_P384 = 2,
    CA_KEY_RSA_3072 = 3,
    CA_KEY_RSA_4096 = 4,
} ca_key_algorithm_t;

typedef struct _ca_keystore_t ca_keystore_t;

//  module: path of the PKCS#11 module; token_label: the token to use.
ca_keystore_t *ca_keystore_new_pkcs11 (const char *module, const char *token_label,
                                       char *err, size_t err_size);
//  directory: where the key files are (created 0700 if missing).
ca_keystore_t *ca_keystore_new_file (const char *directory, char *err, size_t err_size);
void ca_keystore_destroy (ca_keystore_t **self_p);

//  Ceremony step 1. pkcs11: logs in as security officer with so_pin and
//  sets the user PIN to secret (C_InitPIN); file: nothing to do (so_pin is
//  ignored). Returns 0 or -1 with err.
int ca_keystore_set_secret (ca_keystore_t *self, const char *so_pin, const char *secret,
                            char *err, size_t err_size);

//  Ceremony step 2: makes a key pair labelled label, protected by secret.
//  Returns its public key (caller frees), or NULL with err. Refuses a label
//  already in use.
EVP_PKEY *ca_keystore_generate (ca_keystore_t *self, const char *secret, const char *label,
                                ca_key_algorithm_t algorithm, char *err, size_t err_size);

//  Activation: opens the private key labelled label with secret. The
//  EVP_PKEY signs through the store (X509_sign, X509_CRL_sign,
//  EVP_DigestSign) and stays usable until freed; the caller frees it
//  before destroying the store. NULL with err on a wrong secret or a
//  missing key.
EVP_PKEY *ca_keystore_open (ca_keystore_t *self, const char *secret, const char *label,
                            char *err, size_t err_size);

#endif
