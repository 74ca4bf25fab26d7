/*  publisher_ocsp_cache: signed OCSP answers kept per request (see
    publisher_ocsp_cache.h).
*/
#include "publisher_ocsp_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    pthread_mutex_t lock;
    uint8_t *key;                   //  the request's DER
    size_t key_size;
    uint8_t *der;                   //  the answer's DER
    size_t der_size;
    uint64_t seen_seq;
    int64_t expires;
    int64_t this_update, next_update;
    unsigned good, revoked;
} s_slot_t;

struct _publisher_ocsp_cache_t {
    s_slot_t *slots;
    size_t count;
    long lifetime_s;
};

publisher_ocsp_cache_t *
publisher_ocsp_cache_new (size_t slots, long lifetime_s)
{
    if (slots < 1 || slots > (1u << 20) || lifetime_s < 1 || lifetime_s > 86400)
        return NULL;
    publisher_ocsp_cache_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->slots = calloc (slots, sizeof *self->slots);
    if (!self->slots) {
        free (self);
        return NULL;
    }
    for (size_t i = 0; i < slots; i++)
        pthread_mutex_init (&self->slots [i].lock, NULL);
    self->count = slots;
    self->lifetime_s = lifetime_s;
    return self;
}

static void
s_clear (s_slot_t *slot)
{
    free (slot->key);
    free (slot->der);
    slot->key = slot->der = NULL;
    slot->key_size = slot->der_size = 0;
}

void
publisher_ocsp_cache_destroy (publisher_ocsp_cache_t **self_p)
{
    publisher_ocsp_cache_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    for (size_t i = 0; i < self->count; i++) {
        s_clear (&self->slots [i]);
        pthread_mutex_destroy (&self->slots [i].lock);
    }
    free (self->slots);
    free (self);
    *self_p = NULL;
}

//  FNV-1a: the slot of a request.
static s_slot_t *
s_slot (publisher_ocsp_cache_t *self, const uint8_t *key, size_t size)
{
    uint64_t hash = 14695981039346656037ull;
    for (size_t i = 0; i < size; i++)
        hash = (hash ^ key [i]) * 1099511628211ull;
    return &self->slots [hash % self->count];
}

bool
publisher_ocsp_cache_get (publisher_ocsp_cache_t *self, const uint8_t *request, size_t size,
                          uint64_t min_seq, int64_t now, publisher_ocsp_answer_t *answer)
{
    if (!self || !request || size == 0 || size > PUBLISHER_OCSP_CACHE_KEY_MAX)
        return false;
    s_slot_t *slot = s_slot (self, request, size);
    bool hit = false;
    pthread_mutex_lock (&slot->lock);
    if (slot->key && slot->key_size == size && memcmp (slot->key, request, size) == 0
    &&  slot->seen_seq >= min_seq && now < slot->expires) {
        uint8_t *der = malloc (slot->der_size);
        if (der) {
            memcpy (der, slot->der, slot->der_size);
            memset (answer, 0, sizeof *answer);
            answer->der = der;
            answer->size = slot->der_size;
            answer->outcome = PUBLISHER_OCSP_SUCCESSFUL;
            answer->this_update = slot->this_update;
            answer->next_update = slot->next_update;
            answer->good = slot->good;
            answer->revoked = slot->revoked;
            hit = true;
        }
    }
    pthread_mutex_unlock (&slot->lock);
    return hit;
}

void
publisher_ocsp_cache_put (publisher_ocsp_cache_t *self, const uint8_t *request, size_t size,
                          uint64_t seen_seq, const publisher_ocsp_answer_t *answer)
{
    if (!self || !request || size == 0 || size > PUBLISHER_OCSP_CACHE_KEY_MAX || !answer->der
    ||  answer->outcome != PUBLISHER_OCSP_SUCCESSFUL || answer->nonce || answer->unknown)
        return;
    uint8_t *key = malloc (size), *der = malloc (answer->size);
    if (!key || !der) {
        free (key);
        free (der);
        return;
    }
    memcpy (key, request, size);
    memcpy (der, answer->der, answer->size);
    int64_t expires = answer->this_update + self->lifetime_s;
    if (answer->next_update < expires)
        expires = answer->next_update;
    s_slot_t *slot = s_slot (self, request, size);
    pthread_mutex_lock (&slot->lock);
    s_clear (slot);
    slot->key = key;
    slot->key_size = size;
    slot->der = der;
    slot->der_size = answer->size;
    slot->seen_seq = seen_seq;
    slot->expires = expires;
    slot->this_update = answer->this_update;
    slot->next_update = answer->next_update;
    slot->good = answer->good;
    slot->revoked = answer->revoked;
    pthread_mutex_unlock (&slot->lock);
}
