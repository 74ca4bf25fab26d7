/*  publisher_ocsp: request DER in, signed response DER out (see
    publisher_ocsp.h).
*/
#include "publisher_ocsp.h"

#include <openssl/bn.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

//  OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED }: the error
//  answers carry nothing else, so they need no signature.
static void
s_error (publisher_ocsp_outcome_t outcome, publisher_ocsp_answer_t *answer)
{
    const uint8_t der [] = { 0x30, 0x03, 0x0a, 0x01, (uint8_t) outcome };
    memset (answer, 0, sizeof *answer);
    answer->outcome = outcome;
    answer->der = malloc (sizeof der);
    if (answer->der) {
        memcpy (answer->der, der, sizeof der);
        answer->size = sizeof der;
    }
}

void
publisher_ocsp_error (publisher_ocsp_outcome_t outcome, publisher_ocsp_answer_t *answer)
{
    s_error (outcome, answer);
}

void
publisher_ocsp_answer_release (publisher_ocsp_answer_t *answer)
{
    if (!answer)
        return;
    free (answer->der);
    answer->der = NULL;
    answer->size = 0;
}

int
publisher_serial_hex (const ASN1_INTEGER *serial, char out [PUBLISHER_SERIAL_HEX_MAX + 1])
{
    static const char digits [] = "0123456789abcdef";
    BIGNUM *number = serial ? ASN1_INTEGER_to_BN (serial, NULL) : NULL;
    int rc = -1;
    unsigned char bytes [PUBLISHER_SERIAL_HEX_MAX / 2];
    if (!number || BN_is_negative (number) || BN_is_zero (number)
    ||  BN_num_bytes (number) > (int) sizeof bytes)
        goto done;
    int size = BN_bn2bin (number, bytes);
    for (int i = 0; i < size; i++) {
        out [2 * i] = digits [bytes [i] >> 4];
        out [2 * i + 1] = digits [bytes [i] & 15];
    }
    out [2 * size] = 0;
    rc = 0;
done:
    BN_free (number);
    return rc;
}

//  RFC 8954: the nonce is an OCTET STRING of 1 to 32 octets. Clients that
//  put the raw octets in the extension value (without the inner OCTET
//  STRING) are measured the same way. True when there is no nonce, or a
//  well-sized one.
static bool
s_nonce_ok (OCSP_REQUEST *request, bool *present)
{
    int index = OCSP_REQUEST_get_ext_by_NID (request, NID_id_pkix_OCSP_Nonce, -1);
    *present = index >= 0;
    if (index < 0)
        return true;
    if (OCSP_REQUEST_get_ext_by_NID (request, NID_id_pkix_OCSP_Nonce, index) >= 0)
        return false;               //  two nonces: which one to echo?
    X509_EXTENSION *extension = OCSP_REQUEST_get_ext (request, index);
    ASN1_OCTET_STRING *value = extension ? X509_EXTENSION_get_data (extension) : NULL;
    if (!value)
        return false;
    const unsigned char *cursor = ASN1_STRING_get0_data (value);
    long length = ASN1_STRING_length (value);
    ASN1_OCTET_STRING *inner = d2i_ASN1_OCTET_STRING (NULL, &cursor, length);
    if (inner && cursor == ASN1_STRING_get0_data (value) + length)
        length = ASN1_STRING_length (inner);
    ASN1_OCTET_STRING_free (inner);
    return length >= 1 && length <= PUBLISHER_OCSP_NONCE_MAX;
}

//  True when cid names signer's issuer (by its own digest of name and key).
static bool
s_authoritative (const publisher_ocsp_signer_t *signer, OCSP_CERTID *cid)
{
    ASN1_OBJECT *digest_oid = NULL;
    if (!OCSP_id_get0_info (NULL, &digest_oid, NULL, NULL, cid) || !digest_oid)
        return false;
    const EVP_MD *digest = EVP_get_digestbyobj (digest_oid);
    if (!digest)
        return false;
    OCSP_CERTID *ours = OCSP_cert_to_id (digest, NULL, signer->issuer);
    bool same = ours && OCSP_id_issuer_cmp (ours, cid) == 0;
    OCSP_CERTID_free (ours);
    return same;
}

//  Adds one SingleResponse. Returns the outcome (SUCCESSFUL to go on).
static publisher_ocsp_outcome_t
s_add_single (const publisher_ocsp_signer_t *signer, publisher_status_lookup_fn *lookup,
              void *lookup_arg, OCSP_BASICRESP *basic, OCSP_CERTID *cid,
              ASN1_TIME *this_update, ASN1_TIME *next_update, publisher_ocsp_answer_t *answer)
{
    ASN1_INTEGER *serial = NULL;
    if (!OCSP_id_get0_info (NULL, NULL, NULL, &serial, cid))
        return PUBLISHER_OCSP_MALFORMED;
    publisher_cert_status_t status = { .state = PUBLISHER_CERT_UNKNOWN, .rfc_reason = -1 };
    char serial_hex [PUBLISHER_SERIAL_HEX_MAX + 1];
    //  A serial the ca could not have made is not looked up: unknown.
    if (publisher_serial_hex (serial, serial_hex) == 0
    &&  lookup (lookup_arg, signer->issuer_sha256, serial_hex, &status))
        return PUBLISHER_OCSP_TRY_LATER;
    int code = V_OCSP_CERTSTATUS_UNKNOWN, reason = OCSP_REVOKED_STATUS_NOSTATUS;
    ASN1_TIME *revoked_at = NULL;
    if (status.state == PUBLISHER_CERT_GOOD)
        code = V_OCSP_CERTSTATUS_GOOD;
    else
    if (status.state == PUBLISHER_CERT_REVOKED || status.state == PUBLISHER_CERT_ON_HOLD) {
        code = V_OCSP_CERTSTATUS_REVOKED;
        reason = status.state == PUBLISHER_CERT_ON_HOLD ? OCSP_REVOKED_STATUS_CERTIFICATEHOLD
               : status.rfc_reason > 0 && status.rfc_reason <= 10 && status.rfc_reason != 7
               ? status.rfc_reason : OCSP_REVOKED_STATUS_NOSTATUS;
        revoked_at = ASN1_TIME_set (NULL, (time_t) status.revoked_at);
        if (!revoked_at)
            return PUBLISHER_OCSP_INTERNAL;
    }
    OCSP_SINGLERESP *single = OCSP_basic_add1_status (basic, cid, code, reason, revoked_at,
                                                      this_update, next_update);
    ASN1_TIME_free (revoked_at);
    if (!single)
        return PUBLISHER_OCSP_INTERNAL;
    if (code == V_OCSP_CERTSTATUS_GOOD)
        answer->good++;
    else
    if (code == V_OCSP_CERTSTATUS_REVOKED)
        answer->revoked++;
    else
        answer->unknown++;
    return PUBLISHER_OCSP_SUCCESSFUL;
}

//  nextUpdate: now + next_update_s, but never past the responder's notAfter.
static int64_t
s_next_update (const publisher_ocsp_signer_t *signer, int64_t now, long next_update_s)
{
    int64_t next = now + (next_update_s > 0 ? next_update_s : 3600);
    int days = 0, seconds = 0;
    ASN1_TIME *at_next = ASN1_TIME_set (NULL, (time_t) next);
    if (at_next && ASN1_TIME_diff (&days, &seconds, at_next, X509_get0_notAfter (signer->responder))
    &&  (days < 0 || seconds < 0))
        next += (int64_t) days * 86400 + seconds;
    ASN1_TIME_free (at_next);
    return next > now ? next : now + 1;
}

static publisher_ocsp_outcome_t
s_answer (const publisher_ocsp_signer_t *signer, publisher_status_lookup_fn *lookup,
          void *lookup_arg, OCSP_REQUEST *request, int64_t now, long next_update_s,
          publisher_ocsp_answer_t *answer)
{
    int count = OCSP_request_onereq_count (request);
    if (count < 1 || count > PUBLISHER_OCSP_CERTS_MAX || !s_nonce_ok (request, &answer->nonce))
        return PUBLISHER_OCSP_MALFORMED;
    for (int i = 0; i < count; i++) {
        OCSP_CERTID *cid = OCSP_onereq_get0_id (OCSP_request_onereq_get0 (request, i));
        if (!cid)
            return PUBLISHER_OCSP_MALFORMED;
        if (!signer)
            continue;
        if (!s_authoritative (signer, cid))
            return PUBLISHER_OCSP_UNAUTHORIZED;
    }
    if (!signer)
        return PUBLISHER_OCSP_TRY_LATER;
    answer->this_update = now;
    answer->next_update = s_next_update (signer, now, next_update_s);
    publisher_ocsp_outcome_t outcome = PUBLISHER_OCSP_INTERNAL;
    OCSP_BASICRESP *basic = OCSP_BASICRESP_new ();
    OCSP_RESPONSE *response = NULL;
    ASN1_TIME *this_update = ASN1_TIME_set (NULL, (time_t) answer->this_update);
    ASN1_TIME *next_update = ASN1_TIME_set (NULL, (time_t) answer->next_update);
    if (!basic || !this_update || !next_update)
        goto done;
    for (int i = 0; i < count; i++) {
        OCSP_CERTID *cid = OCSP_onereq_get0_id (OCSP_request_onereq_get0 (request, i));
        outcome = s_add_single (signer, lookup, lookup_arg, basic, cid, this_update, next_update,
                                answer);
        if (outcome != PUBLISHER_OCSP_SUCCESSFUL)
            goto done;
    }
    outcome = PUBLISHER_OCSP_INTERNAL;
    if (OCSP_copy_nonce (basic, request) <= 0
    ||  !OCSP_basic_sign (basic, signer->responder, signer->key, EVP_sha256 (), NULL, 0)
    ||  !(response = OCSP_response_create (OCSP_RESPONSE_STATUS_SUCCESSFUL, basic)))
        goto done;
    unsigned char *der = NULL;
    int size = i2d_OCSP_RESPONSE (response, &der);
    if (size > 0) {
        answer->der = malloc ((size_t) size);
        if (answer->der) {
            memcpy (answer->der, der, (size_t) size);
            answer->size = (size_t) size;
            outcome = PUBLISHER_OCSP_SUCCESSFUL;
        }
    }
    OPENSSL_free (der);
done:
    OCSP_RESPONSE_free (response);
    OCSP_BASICRESP_free (basic);
    ASN1_TIME_free (this_update);
    ASN1_TIME_free (next_update);
    return outcome;
}

void
publisher_ocsp_respond (const publisher_ocsp_signer_t *signer, publisher_status_lookup_fn *lookup,
                        void *lookup_arg, const uint8_t *request_der, size_t request_size,
                        int64_t now, long next_update_s, publisher_ocsp_answer_t *answer)
{
    memset (answer, 0, sizeof *answer);
    if (!request_der || request_size == 0 || request_size > PUBLISHER_OCSP_REQUEST_MAX) {
        s_error (PUBLISHER_OCSP_MALFORMED, answer);
        return;
    }
    //  One DER OCSPRequest, filling the body exactly: trailing bytes are
    //  refused too.
    const unsigned char *cursor = request_der;
    OCSP_REQUEST *request = d2i_OCSP_REQUEST (NULL, &cursor, (long) request_size);
    if (!request || cursor != request_der + request_size) {
        OCSP_REQUEST_free (request);
        s_error (PUBLISHER_OCSP_MALFORMED, answer);
        return;
    }
    publisher_ocsp_outcome_t outcome = s_answer (signer, lookup, lookup_arg, request, now,
                                                 next_update_s, answer);
    OCSP_REQUEST_free (request);
    if (outcome != PUBLISHER_OCSP_SUCCESSFUL) {
        bool nonce = answer->nonce;
        publisher_ocsp_answer_release (answer);
        s_error (outcome, answer);
        answer->nonce = nonce;
    }
    else
        answer->outcome = PUBLISHER_OCSP_SUCCESSFUL;
}

//  The value of one base64 character (both alphabets), or -1.
static int
s_base64_value (char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == ' ' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

static int
s_hex_value (char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int
publisher_ocsp_decode_get (const char *text, uint8_t **der, size_t *der_size)
{
    *der = NULL;
    *der_size = 0;
    size_t length = text ? strlen (text) : 0;
    //  Base64 of the largest request, and room for %XX escapes.
    if (length == 0 || length > 3 * (PUBLISHER_OCSP_REQUEST_MAX / 3 * 4 + 4))
        return -1;
    uint8_t *out = malloc (length / 4 * 3 + 3);
    if (!out)
        return -1;
    uint32_t bits = 0;
    int bit_count = 0, padding = 0;
    size_t size = 0;
    for (size_t i = 0; i < length; i++) {
        char c = text [i];
        if (c == '%') {
            int high = i + 2 < length ? s_hex_value (text [i + 1]) : -1;
            int low = high >= 0 ? s_hex_value (text [i + 2]) : -1;
            if (low < 0)
                goto fail;
            c = (char) (high * 16 + low);
            i += 2;
        }
        if (c == '=') {
            padding++;
            continue;
        }
        int value = s_base64_value (c);
        if (value < 0 || padding)
            goto fail;              //  not base64, or data after the padding
        bits = (bits << 6) | (uint32_t) value;
        bit_count += 6;
        if (bit_count >= 8) {
            bit_count -= 8;
            out [size++] = (uint8_t) (bits >> bit_count);
            bits &= (1u << bit_count) - 1;
        }
    }
    //  Left-over bits must be zero, and fewer than a byte (6 or 4 bits is
    //  a bad length); at most two padding characters.
    if (padding > 2 || bit_count >= 6 || bits != 0 || size == 0
    ||  size > PUBLISHER_OCSP_REQUEST_MAX)
        goto fail;
    *der = out;
    *der_size = size;
    return 0;
fail:
    free (out);
    return -1;
}
