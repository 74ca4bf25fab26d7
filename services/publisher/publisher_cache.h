/*  publisher_cache: what the public HTTP endpoint serves, in memory.

    Per issuing CA (at most PUBLISHER_ISSUERS_MAX): its certificate, its
    root, and the latest full and delta CRL. The scheduler puts a CRL here
    right after the transaction that records it commits: that moment is its
    publication. A CRL only replaces one with a smaller number, so a late
    writer can not roll the served CRL back. The HTTP threads copy out what
    they serve under a read lock.

    Names: the current issuer is "issuing"; every issuer is also its name,
    the first 16 hex digits of its certificate's SHA-256.
*/
#ifndef PUBLISHER_CACHE_H
#define PUBLISHER_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PUBLISHER_ISSUERS_MAX 8
#define PUBLISHER_NAME_SIZE 17
#define PUBLISHER_CURRENT_NAME "issuing"

typedef enum {
    PUBLISHER_OBJECT_CRL = 0,
    PUBLISHER_OBJECT_DELTA = 1,
    PUBLISHER_OBJECT_CA_CERT = 2,
    PUBLISHER_OBJECT_ROOT_CERT = 3,
} publisher_object_kind_t;

//  A copy of one served object.
typedef struct {
    uint8_t *der;
    size_t size;
    int64_t last_modified;          //  CRL thisUpdate; a certificate's notBefore
    int64_t expires;                //  CRL nextUpdate; 0 for certificates
    uint64_t number;                //  CRL number
    char etag [40];                 //  quoted: "\"<24 hex digits of the SHA-256>\""
} publisher_object_t;

typedef struct _publisher_cache_t publisher_cache_t;

publisher_cache_t *publisher_cache_new (void);
void publisher_cache_destroy (publisher_cache_t **self_p);

//  Adds (or refreshes) an issuer and makes it the current one. 0, or -1.
int publisher_cache_set_issuer (publisher_cache_t *self, const char *issuer_sha256,
                                const uint8_t *cert_der, size_t cert_size,
                                const uint8_t *root_der, size_t root_size);

//  Serves a CRL of a known issuer unless one with a larger or equal number
//  is served already. 1 put, 0 kept the other, -1 unknown issuer or out of
//  memory.
int publisher_cache_put_crl (publisher_cache_t *self, const char *issuer_sha256, bool delta,
                             const uint8_t *der, size_t size, uint64_t number,
                             int64_t this_update, int64_t next_update);

//  The number of the CRL served (0: none).
uint64_t publisher_cache_crl_number (publisher_cache_t *self, const char *issuer_sha256,
                                     bool delta);

//  Copies out the object of the issuer named name. 0 found (release the
//  copy), 1 no such issuer, 2 the issuer has none yet, -1 out of memory.
int publisher_cache_get (publisher_cache_t *self, const char *name, publisher_object_kind_t kind,
                         publisher_object_t *out);
void publisher_object_release (publisher_object_t *object);

//  The 16-hex name of an issuer from its SHA-256.
void publisher_issuer_name (const char *issuer_sha256, char name [PUBLISHER_NAME_SIZE]);

#endif
