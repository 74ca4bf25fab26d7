/*  ca_keystore_pkcs11: the key store's PKCS#11 back end (see ca_keystore.h).

    Two ways into the same module, never at the same time:
    - set_secret and generate use the raw PKCS#11 API (libp11 0.4.12 cannot
      generate EC keys): dlopen, C_Initialize, one R/W session, C_Login,
      the work, then C_Logout, C_CloseSession, C_Finalize and dlclose, so
      the module is completely released when they return.
    - open uses libp11, which initialises and finalises the module itself.
      Its context, the token's slot and the user login live from the first
      key opened until the store is destroyed, because the EVP_PKEYs it
      returns sign through them.
    So once a key is open, set_secret and generate are refused: generate
    every key first, then open. For the same reason one store at a time may
    use a module in a process (s_claims): a second libp11 context would
    C_Finalize the module under the first when it goes. A raw call that
    finds the module initialised by other code refuses too.

    A PKCS#11 login covers every session of the process, and libp11 does
    not log in again once logged in, so a second open would accept any
    secret. The store therefore keeps an HMAC (random key, per store) of
    the secret that logged in and compares later secrets with it.

    Key pairs carry the same CKA_LABEL and a random 16-byte CKA_ID on both
    halves (libp11 finds an EC private key's public point through the ID).
    Private keys are CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, not
    CKA_EXTRACTABLE, and may sign but not decrypt, unwrap or derive.
*/
#include "ca_keystore_internal.h"

#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
#include <libp11.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_TOKEN_LABEL_MAX   32          //  CK_TOKEN_INFO.label
#define S_MODULE_PATH_MAX   4096
#define S_SLOTS_MAX         1024
#define S_KEY_ID_SIZE       16
#define S_MAC_SIZE          32

typedef struct s_pkcs11_store s_pkcs11_store_t;
struct s_pkcs11_store {
    char *module;                       //  its real path when it is a file
    char *token_label;
    //  libp11's state, from the first key opened to destroy; ctx is
    //  non-NULL exactly when the user is logged in.
    PKCS11_CTX *ctx;
    PKCS11_SLOT *slots;
    unsigned int slot_count;
    PKCS11_SLOT *slot;                  //  the token's, inside slots
    size_t keys_opened;                 //  EVP_PKEYs handed out by libp11
    unsigned char mac_key [S_MAC_SIZE];
    unsigned char secret_mac [S_MAC_SIZE];
    bool claimed;                       //  holds its module's claim
    s_pkcs11_store_t *next_claim;       //  next store in s_claims
};

//  One raw use of the module, from dlopen to dlclose.
typedef struct {
    s_pkcs11_store_t *claimant;         //  whose module claim to release
    void *library;
    CK_FUNCTION_LIST_PTR p11;
    bool initialized;
    bool have_session;
    bool logged_in;
    CK_SESSION_HANDLE session;
} s_raw_t;

//  The stores that use a module in this process, at most one per module:
//  a store claims its module for the length of a raw call, or for as long
//  as libp11 holds it. Two libp11 contexts on one module would each
//  C_Finalize it under the other (the first one's keys stop signing).
static pthread_mutex_t s_claims_lock = PTHREAD_MUTEX_INITIALIZER;
static s_pkcs11_store_t *s_claims;

static int
s_claim_module (s_pkcs11_store_t *self, char *err, size_t err_size)
{
    bool taken = false;
    pthread_mutex_lock (&s_claims_lock);
    for (s_pkcs11_store_t *other = s_claims; other && !taken; other = other->next_claim)
        taken = strcmp (other->module, self->module) == 0;
    if (!taken) {
        self->next_claim = s_claims;
        s_claims = self;
        self->claimed = true;
    }
    pthread_mutex_unlock (&s_claims_lock);
    if (taken)
        ca_keystore_error (err, err_size, "PKCS#11 module %s is in use by another key store "
                           "in this process", self->module);
    return taken ? -1 : 0;
}

static void
s_release_module (s_pkcs11_store_t *self)
{
    if (!self->claimed)
        return;
    pthread_mutex_lock (&s_claims_lock);
    s_pkcs11_store_t **link = &s_claims;
    while (*link && *link != self)
        link = &(*link)->next_claim;
    if (*link)
        *link = self->next_claim;
    pthread_mutex_unlock (&s_claims_lock);
    self->next_claim = NULL;
    self->claimed = false;
}

static const char *
s_ckr_name (CK_RV rv)
{
    switch (rv) {
        case CKR_ARGUMENTS_BAD:             return "CKR_ARGUMENTS_BAD";
        case CKR_ATTRIBUTE_VALUE_INVALID:   return "CKR_ATTRIBUTE_VALUE_INVALID";
        case CKR_BUFFER_TOO_SMALL:          return "CKR_BUFFER_TOO_SMALL";
        case CKR_DEVICE_ERROR:              return "CKR_DEVICE_ERROR";
        case CKR_DEVICE_MEMORY:             return "CKR_DEVICE_MEMORY";
        case CKR_FUNCTION_FAILED:           return "CKR_FUNCTION_FAILED";
        case CKR_GENERAL_ERROR:             return "CKR_GENERAL_ERROR";
        case CKR_HOST_MEMORY:               return "CKR_HOST_MEMORY";
        case CKR_MECHANISM_INVALID:         return "CKR_MECHANISM_INVALID";
        case CKR_PIN_EXPIRED:               return "CKR_PIN_EXPIRED";
        case CKR_PIN_INCORRECT:             return "CKR_PIN_INCORRECT";
        case CKR_PIN_INVALID:               return "CKR_PIN_INVALID";
        case CKR_PIN_LEN_RANGE:             return "CKR_PIN_LEN_RANGE";
        case CKR_PIN_LOCKED:                return "CKR_PIN_LOCKED";
        case CKR_SESSION_COUNT:             return "CKR_SESSION_COUNT";
        case CKR_TEMPLATE_INCOMPLETE:       return "CKR_TEMPLATE_INCOMPLETE";
        case CKR_TEMPLATE_INCONSISTENT:     return "CKR_TEMPLATE_INCONSISTENT";
        case CKR_TOKEN_NOT_PRESENT:         return "CKR_TOKEN_NOT_PRESENT";
        case CKR_TOKEN_WRITE_PROTECTED:     return "CKR_TOKEN_WRITE_PROTECTED";
        case CKR_USER_ALREADY_LOGGED_IN:    return "CKR_USER_ALREADY_LOGGED_IN";
        case CKR_USER_ANOTHER_ALREADY_LOGGED_IN:
                                            return "CKR_USER_ANOTHER_ALREADY_LOGGED_IN";
        case CKR_USER_PIN_NOT_INITIALIZED:  return "CKR_USER_PIN_NOT_INITIALIZED";
        default:                            return "CKR_other";
    }
}

//  err for a failed PKCS#11 call: "<what>: <CKR name> (0x<code>)".
static void
s_ckr_error (char *err, size_t err_size, const char *what, CK_RV rv)
{
    ca_keystore_error (err, err_size, "%s: %s (0x%lx)", what, s_ckr_name (rv),
                       (unsigned long) rv);
}

//  err for a refused login. The secret never goes into err.
static void
s_login_error (char *err, size_t err_size, CK_RV rv, bool so)
{
    if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_INVALID || rv == CKR_PIN_LEN_RANGE)
        ca_keystore_error (err, err_size, so? "key store refused the security officer PIN"
                                            : "key store refused the secret");
    else
    if (rv == CKR_PIN_LOCKED)
        ca_keystore_error (err, err_size, so? "the token's security officer PIN is locked"
                                            : "the token's user PIN is locked");
    else
    if (rv == CKR_USER_PIN_NOT_INITIALIZED)
        ca_keystore_error (err, err_size, "the token has no user PIN yet: set the secret first");
    else
        s_ckr_error (err, err_size, "cannot log in to the token", rv);
}

//  True when a token's blank-padded label is wanted.
static bool
s_token_label_is (const unsigned char label [S_TOKEN_LABEL_MAX], const char *wanted)
{
    size_t len = strlen (wanted);
    if (len > S_TOKEN_LABEL_MAX || memcmp (label, wanted, len) != 0)
        return false;
    for (size_t i = len; i < S_TOKEN_LABEL_MAX; i++)
        if (label [i] != ' ')
            return false;
    return true;
}

//  Releases everything s_raw_begin and s_raw_login took, in reverse order.
static void
s_raw_end (s_raw_t *raw)
{
    if (raw->logged_in)
        raw->p11->C_Logout (raw->session);
    if (raw->have_session)
        raw->p11->C_CloseSession (raw->session);
    if (raw->initialized)
        raw->p11->C_Finalize (NULL);
    if (raw->library)
        dlclose (raw->library);
    if (raw->claimant)
        s_release_module (raw->claimant);
    memset (raw, 0, sizeof *raw);
}

//  Loads the module, finds the token and opens an R/W session on it.
//  Returns 0, or -1 with err; either way the caller ends with s_raw_end.
static int
s_raw_begin (s_pkcs11_store_t *self, s_raw_t *raw, char *err, size_t err_size)
{
    int rc = -1;
    CK_SLOT_ID *slot_ids = NULL;
    memset (raw, 0, sizeof *raw);

    if (self->ctx) {
        ca_keystore_error (err, err_size, "keys of token %s are open in this key store: "
                           "set the secret and generate keys before opening any",
                           self->token_label);
        goto cleanup;
    }
    if (s_claim_module (self, err, err_size))
        goto cleanup;
    raw->claimant = self;
    raw->library = dlopen (self->module, RTLD_NOW | RTLD_LOCAL);
    if (!raw->library) {
        const char *reason = dlerror ();
        ca_keystore_error (err, err_size, "cannot load PKCS#11 module %s: %s", self->module,
                           reason ? reason : "unknown error");
        goto cleanup;
    }
    CK_C_GetFunctionList get_function_list =
        (CK_C_GetFunctionList) dlsym (raw->library, "C_GetFunctionList");
    if (!get_function_list) {
        ca_keystore_error (err, err_size, "%s is not a PKCS#11 module", self->module);
        goto cleanup;
    }
    CK_RV rv = get_function_list (&raw->p11);
    if (rv != CKR_OK || !raw->p11) {
        s_ckr_error (err, err_size, "C_GetFunctionList failed", rv);
        goto cleanup;
    }
    CK_C_INITIALIZE_ARGS init_args;
    memset (&init_args, 0, sizeof init_args);
    init_args.flags = CKF_OS_LOCKING_OK;
    rv = raw->p11->C_Initialize (&init_args);
    if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        ca_keystore_error (err, err_size, "PKCS#11 module %s is already in use in this process",
                           self->module);
        goto cleanup;
    }
    if (rv != CKR_OK) {
        s_ckr_error (err, err_size, "C_Initialize failed", rv);
        goto cleanup;
    }
    raw->initialized = true;

    CK_ULONG slot_count = 0;
    rv = raw->p11->C_GetSlotList (CK_TRUE, NULL, &slot_count);
    if (rv != CKR_OK) {
        s_ckr_error (err, err_size, "C_GetSlotList failed", rv);
        goto cleanup;
    }
    if (slot_count > S_SLOTS_MAX) {
        ca_keystore_error (err, err_size, "the module reports more than %d slots", S_SLOTS_MAX);
        goto cleanup;
    }
    slot_ids = calloc (slot_count ? slot_count : 1, sizeof *slot_ids);
    if (!slot_ids) {
        ca_keystore_error (err, err_size, "out of memory");
        goto cleanup;
    }
    rv = raw->p11->C_GetSlotList (CK_TRUE, slot_ids, &slot_count);
    if (rv != CKR_OK) {
        s_ckr_error (err, err_size, "C_GetSlotList failed", rv);
        goto cleanup;
    }
    size_t matches = 0;
    CK_SLOT_ID slot_id = 0;
    for (CK_ULONG i = 0; i < slot_count; i++) {
        CK_TOKEN_INFO info;
        if (raw->p11->C_GetTokenInfo (slot_ids [i], &info) == CKR_OK
        &&  (info.flags & CKF_TOKEN_INITIALIZED)
        &&  s_token_label_is (info.label, self->token_label)) {
            slot_id = slot_ids [i];
            matches++;
        }
    }
    if (matches != 1) {
        ca_keystore_error (err, err_size, matches? "more than one token labelled %s"
                                                 : "no token labelled %s", self->token_label);
        goto cleanup;
    }
    rv = raw->p11->C_OpenSession (slot_id, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
                                  &raw->session);
    if (rv != CKR_OK) {
        s_ckr_error (err, err_size, "C_OpenSession failed", rv);
        goto cleanup;
    }
    raw->have_session = true;
    rc = 0;
cleanup:
    free (slot_ids);
    return rc;
}

static int
s_raw_login (s_raw_t *raw, CK_USER_TYPE user, const char *pin, char *err, size_t err_size)
{
    CK_RV rv = raw->p11->C_Login (raw->session, user, (CK_UTF8CHAR_PTR) pin,
                                  (CK_ULONG) strlen (pin));
    if (rv != CKR_OK) {
        s_login_error (err, err_size, rv, user == CKU_SO);
        return -1;
    }
    raw->logged_in = true;
    return 0;
}

//  Returns 0 if no object of the token carries label, else -1 with err.
static int
s_raw_label_free (s_raw_t *raw, const char *label, char *err, size_t err_size)
{
    CK_ATTRIBUTE search [] = {
        { CKA_LABEL, (void *) label, (CK_ULONG) strlen (label) },
    };
    CK_RV rv = raw->p11->C_FindObjectsInit (raw->session, search, 1);
    if (rv != CKR_OK) {
        s_ckr_error (err, err_size, "C_FindObjectsInit failed", rv);
        return -1;
    }
    CK_OBJECT_HANDLE found;
    CK_ULONG found_count = 0;
    rv = raw->p11->C_FindObjects (raw->session, &found, 1, &found_count);
    CK_RV final_rv = raw->p11->C_FindObjectsFinal (raw->session);
    if (rv != CKR_OK || final_rv != CKR_OK) {
        s_ckr_error (err, err_size, "C_FindObjects failed", rv != CKR_OK ? rv : final_rv);
        return -1;
    }
    if (found_count > 0) {
        ca_keystore_error (err, err_size, "a key labelled %s already exists", label);
        return -1;
    }
    return 0;
}

//  Builds an EVP_PKEY from a token's EC public key object.
static EVP_PKEY *
s_read_ec_public (s_raw_t *raw, CK_OBJECT_HANDLE object, const char *group_name,
                  char *err, size_t err_size)
{
    EVP_PKEY *key = NULL;
    ASN1_OCTET_STRING *point_der = NULL;
    OSSL_PARAM_BLD *builder = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *context = NULL;
    unsigned char value [256];
    char reason [256];

    CK_ATTRIBUTE attribute = { CKA_EC_POINT, value, sizeof value };
    CK_RV rv = raw->p11->C_GetAttributeValue (raw->session, object, &attribute, 1);
    if (rv != CKR_OK) {
        s_ckr_error (err, err_size, "cannot read the new public key", rv);
        goto cleanup;
    }
    //  PKCS#11 says DER OCTET STRING; some modules give the bare point.
    const unsigned char *point = value;
    size_t point_size = attribute.ulValueLen;
    const unsigned char *cursor = value;
    point_der = d2i_ASN1_OCTET_STRING (NULL, &cursor, (long) attribute.ulValueLen);
    if (point_der && cursor == value + attribute.ulValueLen) {
        point = ASN1_STRING_get0_data (point_der);
        point_size = (size_t) ASN1_STRING_length (point_der);
    }
    ERR_clear_error ();
    builder = OSSL_PARAM_BLD_new ();
    if (!builder
    ||  !OSSL_PARAM_BLD_push_utf8_string (builder, OSSL_PKEY_PARAM_GROUP_NAME, group_name, 0)
    ||  !OSSL_PARAM_BLD_push_octet_string (builder, OSSL_PKEY_PARAM_PUB_KEY, point, point_size)
    ||  !(params = OSSL_PARAM_BLD_to_param (builder))
    ||  !(context = EVP_PKEY_CTX_new_from_name (NULL, "EC", NULL))
    ||  EVP_PKEY_fromdata_init (context) != 1
    ||  EVP_PKEY_fromdata (context, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        ca_keystore_error (err, err_size, "the token's new public key is not usable: %s",
                           ca_keystore_openssl_reason (reason, sizeof reason));
        EVP_PKEY_free (key);
        key = NULL;
    }
cleanup:
    EVP_PKEY_CTX_free (context);
    OSSL_PARAM_free (params);
    OSSL_PARAM_BLD_free (builder);
    ASN1_OCTET_STRING_free (point_der);
    return key;
}

//  Builds an EVP_PKEY from a token's RSA public key object.
static EVP_PKEY *
s_read_rsa_public (s_raw_t *raw, CK_OBJECT_HANDLE object, int bits,
                   char *err, size_t err_size)
{
    EVP_PKEY *key = NULL;
    BIGNUM *modulus_bn = NULL;
    BIGNUM *exponent_bn = NULL;
    OSSL_PARAM_BLD *builder = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *context = NULL;
    unsigned char modulus [512];
    unsigned char exponent [16];
    char reason [256];

    CK_ATTRIBUTE attributes [] = {
        { CKA_MODULUS, modulus, sizeof modulus },
        { CKA_PUBLIC_EXPONENT, exponent, sizeof exponent },
    };
    CK_RV rv = raw->p11->C_GetAttributeValue (raw->session, object, attributes, 2);
    if (rv != CKR_OK) {
        s_ckr_error (err, err_size, "cannot read the new public key", rv);
        goto cleanup;
    }
    modulus_bn = BN_bin2bn (modulus, (int) attributes [0].ulValueLen, NULL);
    exponent_bn = BN_bin2bn (exponent, (int) attributes [1].ulValueLen, NULL);
    if (!modulus_bn || !exponent_bn) {
        ca_keystore_error (err, err_size, "out of memory");
        goto cleanup;
    }
    if (BN_num_bits (modulus_bn) != bits) {
        ca_keystore_error (err, err_size, "the token made a %d-bit key instead of %d bits",
                           BN_num_bits (modulus_bn), bits);
        goto cleanup;
    }
    builder = OSSL_PARAM_BLD_new ();
    if (!builder
    ||  !OSSL_PARAM_BLD_push_BN (builder, OSSL_PKEY_PARAM_RSA_N, modulus_bn)
    ||  !OSSL_PARAM_BLD_push_BN (builder, OSSL_PKEY_PARAM_RSA_E, exponent_bn)
    ||  !(params = OSSL_PARAM_BLD_to_param (builder))
    ||  !(context = EVP_PKEY_CTX_new_from_name (NULL, "RSA", NULL))
    ||  EVP_PKEY_fromdata_init (context) != 1
    ||  EVP_PKEY_fromdata (context, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        ca_keystore_error (err, err_size, "the token's new public key is not usable: %s",
                           ca_keystore_openssl_reason (reason, sizeof reason));
        EVP_PKEY_free (key);
        key = NULL;
    }
cleanup:
    EVP_PKEY_CTX_free (context);
    OSSL_PARAM_free (params);
    OSSL_PARAM_BLD_free (builder);
    BN_free (modulus_bn);
    BN_free (exponent_bn);
    return key;
}

static int
s_pkcs11_set_secret (void *impl, const char *so_pin, const char *secret,
                     char *err, size_t err_size)
{
    s_pkcs11_store_t *self = impl;
    s_raw_t raw;
    int rc = -1;

    memset (&raw, 0, sizeof raw);
    if (!so_pin) {
        ca_keystore_error (err, err_size, "setting the token's user PIN needs the "
                           "security officer PIN");
        goto cleanup;
    }
    if (s_raw_begin (self, &raw, err, err_size)
    ||  s_raw_login (&raw, CKU_SO, so_pin, err, err_size))
        goto cleanup;
    CK_RV rv = raw.p11->C_InitPIN (raw.session, (CK_UTF8CHAR_PTR) secret,
                                   (CK_ULONG) strlen (secret));
    if (rv == CKR_PIN_LEN_RANGE || rv == CKR_PIN_INVALID) {
        ca_keystore_error (err, err_size, "the token refused the new secret's length or "
                           "characters");
        goto cleanup;
    }
    if (rv != CKR_OK) {
        s_ckr_error (err, err_size, "cannot set the token's user PIN", rv);
        goto cleanup;
    }
    rc = 0;
cleanup:
    s_raw_end (&raw);
    return rc;
}

static EVP_PKEY *
s_pkcs11_generate (void *impl, const char *secret, const char *label,
                   ca_key_algorithm_t algorithm, char *err, size_t err_size)
{
    s_pkcs11_store_t *self = impl;
    EVP_PKEY *public_key = NULL;
    s_raw_t raw;
    CK_OBJECT_HANDLE public_handle = CK_INVALID_HANDLE;
    CK_OBJECT_HANDLE private_handle = CK_INVALID_HANDLE;
    //  DER OIDs of the named curves, as CKA_EC_PARAMS wants them.
    static const unsigned char s_p256_oid [] =
        { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
    static const unsigned char s_p384_oid [] =
        { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
    unsigned char rsa_exponent [] = { 0x01, 0x00, 0x01 };
    unsigned char key_id [S_KEY_ID_SIZE];
    CK_BBOOL yes = CK_TRUE;
    CK_BBOOL no = CK_FALSE;
    CK_OBJECT_CLASS public_class = CKO_PUBLIC_KEY;
    CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
    bool ec = algorithm == CA_KEY_EC_P256 || algorithm == CA_KEY_EC_P384;
    CK_KEY_TYPE key_type = ec ? CKK_EC : CKK_RSA;
    CK_ULONG modulus_bits = algorithm == CA_KEY_RSA_4096 ? 4096 : 3072;
    CK_ULONG label_size = (CK_ULONG) strlen (label);

    memset (&raw, 0, sizeof raw);
    if (RAND_bytes (key_id, sizeof key_id) != 1) {
        ca_keystore_error (err, err_size, "no randomness for the key's identifier");
        goto cleanup;
    }
    if (s_raw_begin (self, &raw, err, err_size)
    ||  s_raw_login (&raw, CKU_USER, secret, err, err_size)
    ||  s_raw_label_free (&raw, label, err, err_size))
        goto cleanup;

    CK_ATTRIBUTE public_template [11] = {
        { CKA_CLASS, &public_class, sizeof public_class },
        { CKA_KEY_TYPE, &key_type, sizeof key_type },
        { CKA_TOKEN, &yes, sizeof yes },
        { CKA_PRIVATE, &no, sizeof no },
        { CKA_VERIFY, &yes, sizeof yes },
        { CKA_ENCRYPT, &no, sizeof no },
        { CKA_WRAP, &no, sizeof no },
        { CKA_LABEL, (void *) label, label_size },
        { CKA_ID, key_id, sizeof key_id },
    };
    CK_ULONG public_count = 9;          //  then the algorithm's own
    if (algorithm == CA_KEY_EC_P256)
        public_template [public_count++] =
            (CK_ATTRIBUTE) { CKA_EC_PARAMS, (void *) s_p256_oid, sizeof s_p256_oid };
    else
    if (algorithm == CA_KEY_EC_P384)
        public_template [public_count++] =
            (CK_ATTRIBUTE) { CKA_EC_PARAMS, (void *) s_p384_oid, sizeof s_p384_oid };
    else {
        public_template [public_count++] =
            (CK_ATTRIBUTE) { CKA_MODULUS_BITS, &modulus_bits, sizeof modulus_bits };
        public_template [public_count++] =
            (CK_ATTRIBUTE) { CKA_PUBLIC_EXPONENT, rsa_exponent, sizeof rsa_exponent };
    }
    CK_ATTRIBUTE private_template [] = {
        { CKA_CLASS, &private_class, sizeof private_class },
        { CKA_KEY_TYPE, &key_type, sizeof key_type },
        { CKA_TOKEN, &yes, sizeof yes },
        { CKA_PRIVATE, &yes, sizeof yes },
        { CKA_SENSITIVE, &yes, sizeof yes },
        { CKA_EXTRACTABLE, &no, sizeof no },
        { CKA_SIGN, &yes, sizeof yes },
        { CKA_DECRYPT, &no, sizeof no },
        { CKA_UNWRAP, &no, sizeof no },
        { CKA_DERIVE, &no, sizeof no },
        { CKA_LABEL, (void *) label, label_size },
        { CKA_ID, key_id, sizeof key_id },
    };
    CK_ULONG private_count = sizeof private_template / sizeof private_template [0];
    CK_MECHANISM mechanism = { ec ? CKM_EC_KEY_PAIR_GEN : CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };

    CK_RV rv = raw.p11->C_GenerateKeyPair (raw.session, &mechanism,
                                           public_template, public_count,
                                           private_template, private_count,
                                           &public_handle, &private_handle);
    if (rv != CKR_OK) {
        s_ckr_error (err, err_size, "the token could not generate the key pair", rv);
        goto cleanup;
    }
    if (ec)
        public_key = s_read_ec_public (&raw, public_handle,
                                       algorithm == CA_KEY_EC_P256 ? "P-256" : "P-384",
                                       err, err_size);
    else
        public_key = s_read_rsa_public (&raw, public_handle, (int) modulus_bits,
                                        err, err_size);
    if (!public_key) {
        //  A pair the caller never learns of must not block its label.
        raw.p11->C_DestroyObject (raw.session, private_handle);
        raw.p11->C_DestroyObject (raw.session, public_handle);
    }
cleanup:
    s_raw_end (&raw);
    return public_key;
}

//  Releases libp11's context, slots and login.
static void
s_p11_unload (s_pkcs11_store_t *self)
{
    if (self->ctx) {
        if (self->slots)
            PKCS11_release_all_slots (self->ctx, self->slots, self->slot_count);
        PKCS11_CTX_unload (self->ctx);
        PKCS11_CTX_free (self->ctx);
    }
    s_release_module (self);
    self->ctx = NULL;
    self->slots = NULL;
    self->slot_count = 0;
    self->slot = NULL;
    self->keys_opened = 0;
    OPENSSL_cleanse (self->mac_key, sizeof self->mac_key);
    OPENSSL_cleanse (self->secret_mac, sizeof self->secret_mac);
}

static int
s_secret_mac (s_pkcs11_store_t *self, const char *secret, unsigned char mac [S_MAC_SIZE])
{
    size_t mac_size = 0;
    if (!EVP_Q_mac (NULL, "HMAC", NULL, "SHA256", NULL, self->mac_key, sizeof self->mac_key,
                    (const unsigned char *) secret, strlen (secret), mac, S_MAC_SIZE,
                    &mac_size)
    ||  mac_size != S_MAC_SIZE)
        return -1;
    return 0;
}

//  Loads the module through libp11, finds the token and logs in as user.
//  Returns 0, or -1 with err and libp11 released.
static int
s_p11_login (s_pkcs11_store_t *self, const char *secret, char *err, size_t err_size)
{
    int rc = -1;
    ERR_clear_error ();
    if (s_claim_module (self, err, err_size))
        goto cleanup;
    self->ctx = PKCS11_CTX_new ();
    if (!self->ctx) {
        ca_keystore_error (err, err_size, "out of memory");
        goto cleanup;
    }
    if (PKCS11_CTX_load (self->ctx, self->module) != 0) {
        //  libp11 keeps the context usable only if loading worked.
        PKCS11_CTX_free (self->ctx);
        self->ctx = NULL;
        ca_keystore_error (err, err_size, "cannot load PKCS#11 module %s", self->module);
        goto cleanup;
    }
    if (PKCS11_enumerate_slots (self->ctx, &self->slots, &self->slot_count) != 0) {
        ca_keystore_error (err, err_size, "cannot list the slots of %s", self->module);
        goto cleanup;
    }
    size_t matches = 0;
    for (unsigned int i = 0; i < self->slot_count; i++) {
        PKCS11_TOKEN *token = self->slots [i].token;
        if (token && token->initialized && token->label
        &&  strcmp (token->label, self->token_label) == 0) {
            self->slot = &self->slots [i];
            matches++;
        }
    }
    if (matches != 1) {
        ca_keystore_error (err, err_size, matches? "more than one token labelled %s"
                                                 : "no token labelled %s", self->token_label);
        goto cleanup;
    }
    if (PKCS11_open_session (self->slot, 0) != 0) {
        ca_keystore_error (err, err_size, "cannot open a session on token %s",
                           self->token_label);
        goto cleanup;
    }
    if (PKCS11_login (self->slot, 0, secret) != 0) {
        //  libp11 queues the CKR_ code as the error's reason.
        unsigned long code;
        CK_RV rv = CKR_GENERAL_ERROR;
        while ((code = ERR_get_error ()) != 0) {
            CK_RV reason = (CK_RV) ERR_GET_REASON (code);
            if (reason == CKR_PIN_INCORRECT || reason == CKR_PIN_INVALID
            ||  reason == CKR_PIN_LEN_RANGE || reason == CKR_PIN_LOCKED
            ||  reason == CKR_USER_PIN_NOT_INITIALIZED)
                rv = reason;
        }
        s_login_error (err, err_size, rv, false);
        goto cleanup;
    }
    if (RAND_bytes (self->mac_key, sizeof self->mac_key) != 1
    ||  s_secret_mac (self, secret, self->secret_mac)) {
        ca_keystore_error (err, err_size, "cannot keep a check of the secret");
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (rc != 0)
        s_p11_unload (self);
    ERR_clear_error ();
    return rc;
}

static EVP_PKEY *
s_pkcs11_open (void *impl, const char *secret, const char *label, char *err, size_t err_size)
{
    s_pkcs11_store_t *self = impl;
    EVP_PKEY *key = NULL;
    unsigned char mac [S_MAC_SIZE] = { 0 };

    if (!self->ctx) {
        if (s_p11_login (self, secret, err, err_size))
            goto cleanup;
    }
    else
    if (s_secret_mac (self, secret, mac)
    ||  CRYPTO_memcmp (mac, self->secret_mac, sizeof mac) != 0) {
        ca_keystore_error (err, err_size, "key store refused the secret");
        goto cleanup;
    }
    PKCS11_KEY *keys = NULL;
    unsigned int key_count = 0;
    if (PKCS11_enumerate_keys (self->slot->token, &keys, &key_count) != 0) {
        ca_keystore_error (err, err_size, "cannot list the keys of token %s",
                           self->token_label);
        goto cleanup;
    }
    PKCS11_KEY *found = NULL;
    size_t matches = 0;
    for (unsigned int i = 0; i < key_count; i++)
        if (keys [i].isPrivate && keys [i].label && strcmp (keys [i].label, label) == 0) {
            found = &keys [i];
            matches++;
        }
    if (matches != 1) {
        ca_keystore_error (err, err_size, matches? "more than one key labelled %s"
                                                 : "no key labelled %s", label);
        goto cleanup;
    }
    key = PKCS11_get_private_key (found);
    if (key)
        self->keys_opened++;
    else
        ca_keystore_error (err, err_size, "token %s cannot use key %s", self->token_label,
                           label);
cleanup:
    //  While no key depends on libp11, the module goes back to neutral.
    if (!key && self->keys_opened == 0)
        s_p11_unload (self);
    OPENSSL_cleanse (mac, sizeof mac);
    ERR_clear_error ();
    return key;
}

static void
s_pkcs11_destroy (void **impl_p)
{
    if (!impl_p || !*impl_p)
        return;
    s_pkcs11_store_t *self = *impl_p;
    if (self->slot)
        PKCS11_logout (self->slot);     //  C_Finalize would log out too
    s_p11_unload (self);
    ERR_clear_error ();
    free (self->module);
    free (self->token_label);
    free (self);
    *impl_p = NULL;
}

static const ca_keystore_ops_t s_pkcs11_ops = {
    .destroy = s_pkcs11_destroy,
    .set_secret = s_pkcs11_set_secret,
    .generate = s_pkcs11_generate,
    .open = s_pkcs11_open,
};

//  A token label: 1 to 32 printable ASCII characters, not starting or
//  ending with a blank (the blanks are the label's padding).
static bool
s_token_label_valid (const char *label)
{
    size_t len = label ? strnlen (label, S_TOKEN_LABEL_MAX + 1) : 0;
    if (len == 0 || len > S_TOKEN_LABEL_MAX || label [0] == ' ' || label [len - 1] == ' ')
        return false;
    for (size_t i = 0; i < len; i++)
        if (label [i] < 0x20 || label [i] > 0x7e)
            return false;
    return true;
}

ca_keystore_t *
ca_keystore_new_pkcs11 (const char *module, const char *token_label,
                        char *err, size_t err_size)
{
    void *impl = NULL;
    size_t module_len = module ? strnlen (module, S_MODULE_PATH_MAX) : 0;
    if (module_len == 0 || module_len >= S_MODULE_PATH_MAX) {
        ca_keystore_error (err, err_size, "the PKCS#11 module must be a path of 1 to %d bytes",
                           S_MODULE_PATH_MAX - 1);
        goto failed;
    }
    if (!s_token_label_valid (token_label)) {
        ca_keystore_error (err, err_size, "a token label must be 1 to %d printable ASCII "
                           "characters, without leading or trailing blanks", S_TOKEN_LABEL_MAX);
        goto failed;
    }
    //  The claims compare paths: the real one, when there is a file.
    char real_path [PATH_MAX];
    const char *module_path = realpath (module, real_path) ? real_path : module;
    s_pkcs11_store_t *self = calloc (1, sizeof *self);
    impl = self;
    if (!self
    ||  !(self->module = strdup (module_path))
    ||  !(self->token_label = strdup (token_label))) {
        ca_keystore_error (err, err_size, "out of memory");
        goto failed;
    }
    return ca_keystore_wrap (&s_pkcs11_ops, &impl, err, err_size);
failed:
    s_pkcs11_destroy (&impl);
    return NULL;
}
