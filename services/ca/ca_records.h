/*  ca_records: the certificates table seen as CertificateRecord and
    CertificateStatus messages, shared by the issuance and status methods.
*/
#ifndef CA_RECORDS_H
#define CA_RECORDS_H

#include <openssl/asn1.h>
#include <stdbool.h>
#include <stdint.h>
#include "tessera/db.h"
#include "tessera/v1/ca.pb-c.h"

#define CA_SERIAL_HEX_MAX 40

//  The columns ca_record_from_row reads: text results, the DER as hex
//  (also what an INSERT or UPDATE of a certificate RETURNs).
#define CA_RECORD_COLUMNS \
    "serial_hex, encode(certificate_der, 'hex'), card_request_id, holder_id, use, level," \
    " extract(epoch FROM not_before)::bigint, extract(epoch FROM not_after)::bigint," \
    " state, coalesce(reason, -1), coalesce(extract(epoch FROM revoked_at)::bigint, 0)," \
    " coalesce(extract(epoch FROM invalidity_date)::bigint, 0), issuer_sha256, spki_sha256"
//  The query prefix ca_record_from_row reads.
#define CA_RECORD_SELECT "SELECT " CA_RECORD_COLUMNS " FROM certificates"

//  Holds the strings and DER of one record (valid while the result lives).
typedef struct {
    Tessera__V1__CertificateRecord record;
    Tessera__V1__CertificateStatus status;
    uint8_t *der;
} ca_record_t;

//  Fills out from row of a CA_RECORD_SELECT result. 0, or -1 (bad DER hex).
int ca_record_from_row (PGresult *res, int row, ca_record_t *out);
void ca_record_release (ca_record_t *record);

//  Lower-cases serial_hex into out when it is 2..40 hex digits of even
//  length; false otherwise.
bool ca_serial_hex_normalise (const char *serial_hex, char out [CA_SERIAL_HEX_MAX + 1]);

//  RFC 5280 reason code <-> RevocationReason (the code plus one).
int ca_reason_to_rfc (Tessera__V1__RevocationReason reason);
Tessera__V1__RevocationReason ca_reason_from_rfc (int code);

//  Seconds since the epoch of an ASN1_TIME; -1 when it cannot be read.
int64_t ca_asn1_time_unix (const ASN1_TIME *time);

#endif
