/*  publisher_cache: the objects the public endpoint serves (see
    publisher_cache.h).
*/
#include "publisher_cache.h"
#include "publisher_util.h"

#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t *der;
    size_t size;
    int64_t last_modified;
    int64_t expires;
    uint64_t number;
    char etag [40];
} s_object_t;

typedef struct {
    char sha256 [65];
    char name [PUBLISHER_NAME_SIZE];
    s_object_t objects [4];         //  by publisher_object_kind_t
} s_issuer_t;

struct _publisher_cache_t {
    pthread_rwlock_t lock;
    s_issuer_t issuers [PUBLISHER_ISSUERS_MAX];
    int count;
    int current;                    //  index, -1 none
};

void
publisher_issuer_name (const char *issuer_sha256, char name [PUBLISHER_NAME_SIZE])
{
    snprintf (name, PUBLISHER_NAME_SIZE, "%.16s", issuer_sha256);
}

publisher_cache_t *
publisher_cache_new (void)
{
    publisher_cache_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    pthread_rwlock_init (&self->lock, NULL);
    self->current = -1;
    return self;
}

static void
s_object_clear (s_object_t *object)
{
    free (object->der);
    memset (object, 0, sizeof *object);
}

void
publisher_cache_destroy (publisher_cache_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    publisher_cache_t *self = *self_p;
    for (int i = 0; i < self->count; i++)
        for (int kind = 0; kind < 4; kind++)
            s_object_clear (&self->issuers [i].objects [kind]);
    pthread_rwlock_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

//  Fills object with a copy of der. 0, or -1.
static int
s_object_set (s_object_t *object, const uint8_t *der, size_t size, int64_t last_modified,
              int64_t expires, uint64_t number)
{
    uint8_t *copy = malloc (size ? size : 1);
    if (!copy)
        return -1;
    memcpy (copy, der, size);
    s_object_clear (object);
    object->der = copy;
    object->size = size;
    object->last_modified = last_modified;
    object->expires = expires;
    object->number = number;
    char digest [65];
    publisher_sha256_hex (der, size, digest);
    snprintf (object->etag, sizeof object->etag, "\"%.24s\"", digest);
    return 0;
}

static int
s_find (publisher_cache_t *self, const char *issuer_sha256)
{
    for (int i = 0; i < self->count; i++)
        if (strcmp (self->issuers [i].sha256, issuer_sha256) == 0)
            return i;
    return -1;
}

static int64_t
s_not_before (const uint8_t *der, size_t size)
{
    const unsigned char *cursor = der;
    X509 *cert = d2i_X509 (NULL, &cursor, (long) size);
    int64_t when = cert ? publisher_asn1_time_unix (X509_get0_notBefore (cert)) : 0;
    X509_free (cert);
    return when > 0 ? when : 0;
}

int
publisher_cache_set_issuer (publisher_cache_t *self, const char *issuer_sha256,
                            const uint8_t *cert_der, size_t cert_size,
                            const uint8_t *root_der, size_t root_size)
{
    pthread_rwlock_wrlock (&self->lock);
    int rc = -1;
    int index = s_find (self, issuer_sha256);
    if (index < 0 && self->count < PUBLISHER_ISSUERS_MAX) {
        index = self->count++;
        s_issuer_t *issuer = &self->issuers [index];
        memset (issuer, 0, sizeof *issuer);
        snprintf (issuer->sha256, sizeof issuer->sha256, "%s", issuer_sha256);
        publisher_issuer_name (issuer_sha256, issuer->name);
    }
    if (index >= 0) {
        s_issuer_t *issuer = &self->issuers [index];
        rc = s_object_set (&issuer->objects [PUBLISHER_OBJECT_CA_CERT], cert_der, cert_size,
                           s_not_before (cert_der, cert_size), 0, 0);
        if (rc == 0 && root_der && root_size)
            rc = s_object_set (&issuer->objects [PUBLISHER_OBJECT_ROOT_CERT], root_der, root_size,
                               s_not_before (root_der, root_size), 0, 0);
        if (rc == 0)
            self->current = index;
    }
    pthread_rwlock_unlock (&self->lock);
    return rc;
}

int
publisher_cache_put_crl (publisher_cache_t *self, const char *issuer_sha256, bool delta,
                         const uint8_t *der, size_t size, uint64_t number,
                         int64_t this_update, int64_t next_update)
{
    pthread_rwlock_wrlock (&self->lock);
    int rc = -1;
    int index = s_find (self, issuer_sha256);
    if (index >= 0) {
        s_object_t *object = &self->issuers [index].objects [delta ? PUBLISHER_OBJECT_DELTA
                                                                   : PUBLISHER_OBJECT_CRL];
        if (object->der && object->number >= number)
            rc = 0;
        else
            rc = s_object_set (object, der, size, this_update, next_update, number) ? -1 : 1;
    }
    pthread_rwlock_unlock (&self->lock);
    return rc;
}

uint64_t
publisher_cache_crl_number (publisher_cache_t *self, const char *issuer_sha256, bool delta)
{
    pthread_rwlock_rdlock (&self->lock);
    int index = s_find (self, issuer_sha256);
    uint64_t number = index < 0 ? 0
        : self->issuers [index].objects [delta ? PUBLISHER_OBJECT_DELTA : PUBLISHER_OBJECT_CRL].number;
    pthread_rwlock_unlock (&self->lock);
    return number;
}

int
publisher_cache_get (publisher_cache_t *self, const char *name, publisher_object_kind_t kind,
                     publisher_object_t *out)
{
    memset (out, 0, sizeof *out);
    if ((int) kind < 0 || kind > PUBLISHER_OBJECT_ROOT_CERT)
        return 1;
    pthread_rwlock_rdlock (&self->lock);
    int index = -1;
    if (strcmp (name, PUBLISHER_CURRENT_NAME) == 0)
        index = self->current;
    else
        for (int i = 0; i < self->count && index < 0; i++)
            if (strcmp (self->issuers [i].name, name) == 0)
                index = i;
    //  Before the issuer is known, "issuing" is not missing, only not yet.
    int rc = index < 0 && strcmp (name, PUBLISHER_CURRENT_NAME) == 0 ? 2 : 1;
    if (index >= 0) {
        const s_object_t *object = &self->issuers [index].objects [kind];
        rc = 2;
        if (object->der) {
            out->der = malloc (object->size ? object->size : 1);
            rc = out->der ? 0 : -1;
            if (out->der) {
                memcpy (out->der, object->der, object->size);
                out->size = object->size;
                out->last_modified = object->last_modified;
                out->expires = object->expires;
                out->number = object->number;
                memcpy (out->etag, object->etag, sizeof out->etag);
            }
        }
    }
    pthread_rwlock_unlock (&self->lock);
    return rc;
}

void
publisher_object_release (publisher_object_t *object)
{
    if (!object)
        return;
    free (object->der);
    memset (object, 0, sizeof *object);
}
