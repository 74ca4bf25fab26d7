/*  publisher_util: small conversions the publisher's modules share.
*/
#ifndef PUBLISHER_UTIL_H
#define PUBLISHER_UTIL_H

#include <openssl/asn1.h>
#include <stddef.h>
#include <stdint.h>

//  Lower-case hex SHA-256 of data.
void publisher_sha256_hex (const uint8_t *data, size_t size, char out [65]);

//  Seconds since the epoch of an ASN1_TIME; -1 when it cannot be read.
int64_t publisher_asn1_time_unix (const ASN1_TIME *time);

//  RFC 9110 IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") of unix seconds.
void publisher_http_date (int64_t unix_s, char out [32]);

#endif
