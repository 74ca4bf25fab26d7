/*  ca_records: rows of the certificates table as protobuf messages (see
    ca_records.h).
*/
#include "ca_records.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t
s_int (PGresult *res, int row, int column)
{
    return strtoll (PQgetvalue (res, row, column), NULL, 10);
}

static int
s_hex_value (char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int
ca_record_from_row (PGresult *res, int row, ca_record_t *out)
{
    memset (out, 0, sizeof *out);
    tessera__v1__certificate_record__init (&out->record);
    tessera__v1__certificate_status__init (&out->status);
    const char *hex = PQgetvalue (res, row, 1);
    size_t hex_len = strlen (hex);
    out->der = malloc (hex_len / 2 + 1);
    if (!out->der || hex_len % 2)
        return -1;
    for (size_t i = 0; i < hex_len / 2; i++) {
        int high = s_hex_value (hex [2 * i]), low = s_hex_value (hex [2 * i + 1]);
        if (high < 0 || low < 0)
            return -1;
        out->der [i] = (uint8_t) (high << 4 | low);
    }
    Tessera__V1__CertificateRecord *record = &out->record;
    record->serial_hex = PQgetvalue (res, row, 0);
    record->certificate_der.data = out->der;
    record->certificate_der.len = hex_len / 2;
    record->card_request_id = PQgetvalue (res, row, 2);
    record->holder_id = PQgetvalue (res, row, 3);
    record->use = (Tessera__V1__CertificateUse) s_int (res, row, 4);
    record->level = (Tessera__V1__PolicyLevel) s_int (res, row, 5);
    record->not_before_unix = s_int (res, row, 6);
    record->not_after_unix = s_int (res, row, 7);
    record->issuer_sha256 = PQgetvalue (res, row, 12);
    Tessera__V1__CertificateStatus *status = &out->status;
    status->serial_hex = record->serial_hex;
    status->state = (Tessera__V1__CertificateState) s_int (res, row, 8);
    int64_t reason = s_int (res, row, 9);
    status->reason = reason >= 0 ? ca_reason_from_rfc ((int) reason)
                                 : TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_NOT_SET;
    status->revoked_at_unix = s_int (res, row, 10);
    status->invalidity_date_unix = s_int (res, row, 11);
    status->not_after_unix = record->not_after_unix;
    record->status = status;
    return 0;
}

void
ca_record_release (ca_record_t *record)
{
    free (record->der);
    record->der = NULL;
}

bool
ca_serial_hex_normalise (const char *serial_hex, char out [CA_SERIAL_HEX_MAX + 1])
{
    size_t len = serial_hex ? strlen (serial_hex) : 0;
    if (len < 2 || len > CA_SERIAL_HEX_MAX || len % 2)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!isxdigit ((unsigned char) serial_hex [i]))
            return false;
        out [i] = (char) tolower ((unsigned char) serial_hex [i]);
    }
    out [len] = 0;
    return true;
}

int
ca_reason_to_rfc (Tessera__V1__RevocationReason reason)
{
    int value = (int) reason;
    if (value < 1 || value > 11 || value == 8)
        return -1;
    return value - 1;
}

Tessera__V1__RevocationReason
ca_reason_from_rfc (int code)
{
    if (code < 0 || code > 10 || code == 7)
        return TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_NOT_SET;
    return (Tessera__V1__RevocationReason) (code + 1);
}

int64_t
ca_asn1_time_unix (const ASN1_TIME *asn1_time)
{
    struct tm tm;
    if (!asn1_time || !ASN1_TIME_to_tm (asn1_time, &tm))
        return -1;
    return (int64_t) timegm (&tm);
}
