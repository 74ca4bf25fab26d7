/*  ca_crl_der: a CRL's DER written directly (see ca_crl_der.h).
*/
#include "ca_crl_der.h"

#include <openssl/objects.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#define S_HEADER_MAX 6                  //  tag, 0x84 and four length octets
#define S_TAG_SEQUENCE 0x30
#define S_TAG_INTEGER 0x02
#define S_TAG_UTCTIME 0x17
#define S_TAG_GENTIME 0x18
#define S_TAG_BITSTRING 0x03
#define S_TAG_EXTENSIONS 0xa0           //  [0] EXPLICIT
#define S_TIME_MAX 253402300799LL       //  9999-12-31 23:59:59 UTC

int
ca_crl_entries_add_octets (ca_crl_entries_t *self, const uint8_t *serial, size_t size,
                           int reason, int64_t revoked_at, int64_t invalidity)
{
    if (!serial || size == 0 || size > CA_CRL_SERIAL_MAX || reason < 0 || reason > 10
    ||  revoked_at < 0 || revoked_at > S_TIME_MAX || invalidity < 0 || invalidity > S_TIME_MAX)
        return -1;
    size_t skip = 0;
    while (skip < size && serial [skip] == 0)
        skip++;
    if (skip == size)
        return -1;                      //  zero is no serial
    if (self->count == self->capacity) {
        size_t capacity = self->capacity ? self->capacity * 2 : 1024;
        ca_crl_entry_t *items = realloc (self->items, capacity * sizeof *items);
        if (!items)
            return -1;
        self->items = items;
        self->capacity = capacity;
    }
    ca_crl_entry_t *entry = &self->items [self->count];
    memset (entry, 0, sizeof *entry);
    entry->serial_size = (uint8_t) (size - skip);
    memcpy (entry->serial, serial + skip, entry->serial_size);
    //  The order key holds what decides most comparisons: the size, then
    //  the first octets (a shorter serial's missing octets are zero, and it
    //  sorts first anyway).
    entry->order = (uint64_t) entry->serial_size << 56;
    for (size_t i = 0; i < 7; i++)
        entry->order |= (uint64_t) entry->serial [i] << (48 - 8 * i);
    entry->reason = (uint8_t) reason;
    entry->revoked_at = revoked_at;
    entry->invalidity = invalidity;
    self->count++;
    return 0;
}

int
ca_crl_entries_add (ca_crl_entries_t *self, const char *serial_hex, int reason,
                    int64_t revoked_at, int64_t invalidity)
{
    size_t digits = serial_hex ? strlen (serial_hex) : 0;
    if (digits == 0 || digits > 2 * CA_CRL_SERIAL_MAX)
        return -1;
    //  Right-aligned octets, an odd digit count taking a leading zero.
    uint8_t octets [CA_CRL_SERIAL_MAX] = { 0 };
    size_t size = (digits + 1) / 2;
    for (size_t i = 0; i < digits; i++) {
        int c = serial_hex [digits - 1 - i], value;
        if (c >= '0' && c <= '9')
            value = c - '0';
        else
        if (c >= 'a' && c <= 'f')
            value = c - 'a' + 10;
        else
        if (c >= 'A' && c <= 'F')
            value = c - 'A' + 10;
        else
            return -1;
        octets [size - 1 - i / 2] |= (uint8_t) (i % 2 ? value << 4 : value);
    }
    return ca_crl_entries_add_octets (self, octets, size, reason, revoked_at, invalidity);
}

//  X509_CRL_sort's order (ASN1_STRING_cmp on the serials: shorter first,
//  then by octets).
static inline bool
s_less (const ca_crl_entry_t *x, const ca_crl_entry_t *y)
{
    if (x->order != y->order)
        return x->order < y->order;
    return x->serial_size > 7 && memcmp (x->serial + 7, y->serial + 7, x->serial_size - 7u) < 0;
}

static int
s_compare (const void *a, const void *b)
{
    return s_less (a, b) ? -1 : s_less (b, a) ? 1 : 0;
}

static inline void
s_swap (ca_crl_entry_t *x, ca_crl_entry_t *y)
{
    ca_crl_entry_t t = *x;
    *x = *y;
    *y = t;
}

//  Introsort in place: qsort would sort these 48-byte records through an
//  array of pointers (twice the memory traffic) and call back per
//  comparison; a million entries took a third of a second. Quicksort
//  (median of three, Hoare's partition, the smaller side first), insertion
//  sort for short runs, and qsort for a run that partitions badly.
static void
s_sort (ca_crl_entry_t *items, size_t count, int depth)
{
    while (count > 16) {
        if (depth-- == 0) {
            qsort (items, count, sizeof *items, s_compare);
            return;
        }
        size_t mid = count / 2;
        if (s_less (&items [mid], &items [0]))
            s_swap (&items [mid], &items [0]);
        if (s_less (&items [count - 1], &items [mid])) {
            s_swap (&items [count - 1], &items [mid]);
            if (s_less (&items [mid], &items [0]))
                s_swap (&items [mid], &items [0]);
        }
        ca_crl_entry_t pivot = items [mid];
        size_t i = 0, j = count - 1;
        while (true) {
            while (s_less (&items [i], &pivot))
                i++;
            while (s_less (&pivot, &items [j]))
                j--;
            if (i >= j)
                break;
            s_swap (&items [i++], &items [j--]);
        }
        //  [0, j] holds no entry above the pivot, [j + 1, count) none below.
        size_t left = j + 1;
        if (left < count - left) {
            s_sort (items, left, depth);
            items += left;
            count -= left;
        }
        else {
            s_sort (items + left, count - left, depth);
            count = left;
        }
    }
    for (size_t i = 1; i < count; i++) {
        ca_crl_entry_t entry = items [i];
        size_t j = i;
        while (j > 0 && s_less (&entry, &items [j - 1])) {
            items [j] = items [j - 1];
            j--;
        }
        items [j] = entry;
    }
}

void
ca_crl_entries_sort (ca_crl_entries_t *self)
{
    int depth = 0;
    for (size_t n = self->count; n > 1; n >>= 1)
        depth += 2;
    if (self->count > 1)
        s_sort (self->items, self->count, depth);
}

void
ca_crl_entries_free (ca_crl_entries_t *self)
{
    free (self->items);
    memset (self, 0, sizeof *self);
}

//  --- encoding ------------------------------------------------------------

static size_t
s_length_size (size_t length)
{
    size_t size = 1;
    if (length >= 128)
        for (size_t rest = length; rest; rest >>= 8)
            size++;
    return size;
}

static uint8_t *
s_header (uint8_t *out, uint8_t tag, size_t length)
{
    *out++ = tag;
    if (length < 128) {
        *out++ = (uint8_t) length;
        return out;
    }
    size_t octets = s_length_size (length) - 1;
    *out++ = (uint8_t) (0x80 | octets);
    for (size_t i = octets; i-- > 0;)
        *out++ = (uint8_t) (length >> (8 * i));
    return out;
}

#define S_UTC_END 2524608000LL        //  2050-01-01 00:00:00 UTC

//  Time as ASN1_TIME_set writes it: UTCTime for 1950-2049, else
//  GeneralizedTime (always GeneralizedTime when general). Times before
//  1970 are refused, so UTCTime is any time before 2050.
static size_t
s_time_size (int64_t when, bool general)
{
    if (when < 0 || when > S_TIME_MAX)
        return 0;
    return !general && when < S_UTC_END ? 15 : 17;
}

static uint8_t *
s_digits (uint8_t *out, unsigned value, int count)
{
    for (int i = count - 1; i >= 0; i--) {
        out [i] = (uint8_t) ('0' + value % 10);
        value /= 10;
    }
    return out + count;
}

//  The calendar date of a day count since 1970-01-01 (H. Hinnant's
//  civil_from_days, for days >= 0): gmtime_r and snprintf per time were a
//  tenth of a million-entry CRL (glibc's gmtime_r takes a lock).
static void
s_civil (int64_t days, unsigned *year, unsigned *month, unsigned *day)
{
    int64_t z = days + 719468;
    int64_t era = z / 146097;
    unsigned doe = (unsigned) (z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *day = doy - (153 * mp + 2) / 5 + 1;
    *month = mp < 10 ? mp + 3 : mp - 9;
    *year = (unsigned) (yoe + era * 400) + (*month <= 2);
}

static uint8_t *
s_time (uint8_t *out, int64_t when, bool general)
{
    unsigned year, month, day;
    s_civil (when / 86400, &year, &month, &day);
    unsigned seconds = (unsigned) (when % 86400);
    bool utc = !general && when < S_UTC_END;
    *out++ = utc ? S_TAG_UTCTIME : S_TAG_GENTIME;
    *out++ = utc ? 13 : 15;
    out = utc ? s_digits (out, year % 100, 2) : s_digits (out, year, 4);
    out = s_digits (out, month, 2);
    out = s_digits (out, day, 2);
    out = s_digits (out, seconds / 3600, 2);
    out = s_digits (out, seconds / 60 % 60, 2);
    out = s_digits (out, seconds % 60, 2);
    *out++ = 'Z';
    return out;
}

//  reasonCode: SEQUENCE { OID 2.5.29.21, OCTET STRING { ENUMERATED } }
static const uint8_t s_reason_prefix [] = { 0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15,
                                            0x04, 0x03, 0x0a, 0x01 };
//  invalidityDate: SEQUENCE { OID 2.5.29.24, OCTET STRING { GeneralizedTime } }
static const uint8_t s_invalidity_prefix [] = { 0x30, 0x18, 0x06, 0x03, 0x55, 0x1d, 0x18,
                                                0x04, 0x11 };

//  The size of an entry's content (inside its SEQUENCE) and of its
//  extensions' SEQUENCE content.
static size_t
s_entry_content (const ca_crl_entry_t *entry, size_t *extensions)
{
    size_t serial = entry->serial_size + (entry->serial [0] & 0x80 ? 1 : 0);
    *extensions = (entry->reason ? sizeof s_reason_prefix + 1 : 0)
                + (entry->invalidity ? sizeof s_invalidity_prefix + 17 : 0);
    return 2 + serial + s_time_size (entry->revoked_at, false)
         + (*extensions ? 2 + *extensions : 0);
}

static uint8_t *
s_entry (uint8_t *out, const ca_crl_entry_t *entry)
{
    size_t extensions;
    size_t content = s_entry_content (entry, &extensions);
    out = s_header (out, S_TAG_SEQUENCE, content);
    bool pad = entry->serial [0] & 0x80;
    out = s_header (out, S_TAG_INTEGER, entry->serial_size + (pad ? 1 : 0));
    if (pad)
        *out++ = 0;
    memcpy (out, entry->serial, entry->serial_size);
    out += entry->serial_size;
    out = s_time (out, entry->revoked_at, false);
    if (extensions) {
        out = s_header (out, S_TAG_SEQUENCE, extensions);
        if (entry->reason) {
            memcpy (out, s_reason_prefix, sizeof s_reason_prefix);
            out += sizeof s_reason_prefix;
            *out++ = entry->reason;
        }
        if (entry->invalidity) {
            memcpy (out, s_invalidity_prefix, sizeof s_invalidity_prefix);
            out = s_time (out + sizeof s_invalidity_prefix, entry->invalidity, true);
        }
    }
    return out;
}

//  The AlgorithmIdentifier X509_CRL_sign would write for key and md
//  (PKCS#1 v1.5 for RSA, with its NULL parameter; ECDSA without).
static int
s_algorithm (EVP_PKEY *key, const EVP_MD *md, uint8_t **der)
{
    int key_nid = EVP_PKEY_is_a (key, "EC") ? NID_X9_62_id_ecPublicKey
                : EVP_PKEY_is_a (key, "RSA") ? NID_rsaEncryption : NID_undef;
    int nid = NID_undef;
    if (key_nid == NID_undef || !OBJ_find_sigid_by_algs (&nid, EVP_MD_get_type (md), key_nid))
        return -1;
    X509_ALGOR *algorithm = X509_ALGOR_new ();
    int size = -1;
    if (algorithm && X509_ALGOR_set0 (algorithm, OBJ_nid2obj (nid),
                                      key_nid == NID_rsaEncryption ? V_ASN1_NULL : V_ASN1_UNDEF,
                                      NULL))
        size = i2d_X509_ALGOR (algorithm, der);
    X509_ALGOR_free (algorithm);
    return size;
}

int
ca_crl_der_tbs (ca_crl_der_t *self, X509 *issuer, EVP_PKEY *key, const EVP_MD *md,
                time_t this_update, time_t next_update, const ca_crl_entries_t *entries,
                const X509_CRL *extensions)
{
    memset (self, 0, sizeof *self);
    uint8_t *algorithm = NULL, *name = NULL, *exts = NULL;
    int algorithm_size = s_algorithm (key, md, &algorithm);
    int name_size = i2d_X509_NAME (X509_get_subject_name (issuer), &name);
    const STACK_OF (X509_EXTENSION) *list = X509_CRL_get0_extensions (extensions);
    int exts_size = list && sk_X509_EXTENSION_num (list) > 0
                  ? i2d_X509_EXTENSIONS ((X509_EXTENSIONS *) list, &exts) : 0;
    size_t this_size = s_time_size (this_update, false);
    size_t next_size = s_time_size (next_update, false);
    int rc = -1;
    if (algorithm_size <= 0 || name_size <= 0 || exts_size < 0 || !this_size || !next_size)
        goto done;
    size_t revoked = 0;
    for (size_t i = 0; i < entries->count; i++) {
        size_t ext_size;
        size_t content = s_entry_content (&entries->items [i], &ext_size);
        revoked += 1 + s_length_size (content) + content;
    }
    size_t content = 3 + (size_t) algorithm_size + (size_t) name_size + this_size + next_size
                   + (entries->count ? 1 + s_length_size (revoked) + revoked : 0)
                   + (exts_size ? 1 + s_length_size ((size_t) exts_size) + (size_t) exts_size : 0);
    self->tbs_size = 1 + s_length_size (content) + content;
    self->algorithm_size = (size_t) algorithm_size;
    self->signature_max = (size_t) EVP_PKEY_get_size (key);
    self->tbs_offset = S_HEADER_MAX;
    self->buffer = malloc (S_HEADER_MAX + self->tbs_size + self->algorithm_size
                           + S_HEADER_MAX + 1 + self->signature_max);
    if (!self->buffer)
        goto done;
    uint8_t *out = s_header (self->buffer + self->tbs_offset, S_TAG_SEQUENCE, content);
    *out++ = S_TAG_INTEGER;             //  version v2 (1)
    *out++ = 1;
    *out++ = 1;
    memcpy (out, algorithm, (size_t) algorithm_size);
    out += algorithm_size;
    memcpy (out, name, (size_t) name_size);
    out += name_size;
    out = s_time (out, this_update, false);
    out = s_time (out, next_update, false);
    if (entries->count) {
        out = s_header (out, S_TAG_SEQUENCE, revoked);
        for (size_t i = 0; i < entries->count; i++)
            out = s_entry (out, &entries->items [i]);
    }
    if (exts_size) {
        out = s_header (out, S_TAG_EXTENSIONS, (size_t) exts_size);
        memcpy (out, exts, (size_t) exts_size);
        out += exts_size;
    }
    //  What was counted is what was written.
    rc = out == self->buffer + self->tbs_offset + self->tbs_size ? 0 : -1;
    //  The outer AlgorithmIdentifier follows the TBSCertList.
    memcpy (out, algorithm, (size_t) algorithm_size);
done:
    OPENSSL_free (algorithm);
    OPENSSL_free (name);
    OPENSSL_free (exts);
    if (rc)
        ca_crl_der_free (self);
    return rc;
}

int
ca_crl_der_sign (ca_crl_der_t *self, EVP_PKEY *key, const EVP_MD *md)
{
    if (!self->buffer)
        return -1;
    uint8_t *tbs = self->buffer + self->tbs_offset;
    uint8_t *bits = tbs + self->tbs_size + self->algorithm_size;
    //  The signature goes after the longest BIT STRING header it may need,
    //  and is moved up once its size is known.
    size_t bits_header_max = 1 + s_length_size (self->signature_max + 1) + 1;
    uint8_t *signature = bits + bits_header_max;
    size_t signature_size = self->signature_max;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
    int ok = ctx && EVP_DigestSignInit (ctx, NULL, md, NULL, key) == 1
          && EVP_DigestSign (ctx, signature, &signature_size, tbs, self->tbs_size) == 1;
    EVP_MD_CTX_free (ctx);
    if (!ok || signature_size > self->signature_max)
        return -1;
    uint8_t *out = s_header (bits, S_TAG_BITSTRING, signature_size + 1);
    *out++ = 0;                         //  no unused bits
    memmove (out, signature, signature_size);
    out += signature_size;
    size_t content = (size_t) (out - tbs);
    size_t header = 1 + s_length_size (content);
    self->der = tbs - header;
    s_header (self->der, S_TAG_SEQUENCE, content);
    self->size = header + content;
    return 0;
}

void
ca_crl_der_free (ca_crl_der_t *self)
{
    free (self->buffer);
    memset (self, 0, sizeof *self);
}
