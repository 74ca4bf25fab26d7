/*  publisher_util: see publisher_util.h.
*/
#include "publisher_util.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void
publisher_sha256_hex (const uint8_t *data, size_t size, char out [65])
{
    static const char digits [] = "0123456789abcdef";
    unsigned char digest [EVP_MAX_MD_SIZE];
    unsigned int digest_size = 0;
    if (!EVP_Digest (data, size, digest, &digest_size, EVP_sha256 (), NULL) || digest_size != 32) {
        memset (out, '0', 64);
        out [64] = 0;
        return;
    }
    for (unsigned i = 0; i < 32; i++) {
        out [2 * i] = digits [digest [i] >> 4];
        out [2 * i + 1] = digits [digest [i] & 15];
    }
    out [64] = 0;
}

int64_t
publisher_asn1_time_unix (const ASN1_TIME *time)
{
    struct tm broken;
    memset (&broken, 0, sizeof broken);
    if (!time || !ASN1_TIME_to_tm (time, &broken))
        return -1;
    return (int64_t) timegm (&broken);
}

void
publisher_http_date (int64_t unix_s, char out [32])
{
    time_t when = (time_t) unix_s;
    struct tm broken;
    if (!gmtime_r (&when, &broken) || !strftime (out, 32, "%a, %d %b %Y %H:%M:%S GMT", &broken))
        snprintf (out, 32, "Thu, 01 Jan 1970 00:00:00 GMT");
}
