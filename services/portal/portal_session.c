/*  portal_sessions: server-side sessions in memory (see portal_session.h).
    A fixed table under one mutex; lookups scan it comparing SHA-256
    digests of ids in constant time. Thousands of sessions take
    microseconds, far below one bus call.
*/
#include "portal_session.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    bool used;
    uint8_t digest [crypto_hash_sha256_BYTES];
    portal_session_t session;
} s_slot_t;

struct _portal_sessions_t {
    pthread_mutex_t lock;
    portal_sessions_config_t config;
    s_slot_t *slots;
    size_t count;
};

static void
s_slot_clear (s_slot_t *slot)
{
    sodium_memzero (slot, sizeof *slot);
}

static bool
s_expired (const portal_sessions_t *self, const portal_session_t *session, int64_t now_ms)
{
    int64_t idle = session->authenticated ? self->config.idle_ms : self->config.anonymous_idle_ms;
    return now_ms - session->last_seen_ms >= idle || now_ms - session->created_ms >= self->config.max_ms;
}

//  The digest of a well-formed id (64 lower-case hex characters); false
//  for anything else.
static bool
s_digest (const char *id, uint8_t digest [crypto_hash_sha256_BYTES])
{
    if (!id || strlen (id) != PORTAL_SESSION_ID_SIZE - 1
    ||  strspn (id, "0123456789abcdef") != PORTAL_SESSION_ID_SIZE - 1)
        return false;
    crypto_hash_sha256 (digest, (const unsigned char *) id, PORTAL_SESSION_ID_SIZE - 1);
    return true;
}

static s_slot_t *
s_lookup (portal_sessions_t *self, const uint8_t digest [crypto_hash_sha256_BYTES])
{
    s_slot_t *found = NULL;
    for (size_t i = 0; i < self->config.capacity; i++) {
        s_slot_t *slot = &self->slots [i];
        if (slot->used && sodium_memcmp (slot->digest, digest, crypto_hash_sha256_BYTES) == 0)
            found = slot;
    }
    return found;
}

static void
s_random_hex (char hex [PORTAL_SESSION_ID_SIZE])
{
    uint8_t bytes [32];
    randombytes_buf (bytes, sizeof bytes);
    sodium_bin2hex (hex, PORTAL_SESSION_ID_SIZE, bytes, sizeof bytes);
    sodium_memzero (bytes, sizeof bytes);
}

//  A free slot: an unused one, else an expired one, else the anonymous
//  session seen longest ago; NULL when every slot holds a live holder.
static s_slot_t *
s_free_slot (portal_sessions_t *self, int64_t now_ms)
{
    s_slot_t *oldest_anonymous = NULL;
    for (size_t i = 0; i < self->config.capacity; i++) {
        s_slot_t *slot = &self->slots [i];
        if (!slot->used)
            return slot;
        if (s_expired (self, &slot->session, now_ms)) {
            s_slot_clear (slot);
            self->count--;
            return slot;
        }
        if (!slot->session.authenticated
        &&  (!oldest_anonymous
             || slot->session.last_seen_ms < oldest_anonymous->session.last_seen_ms))
            oldest_anonymous = slot;
    }
    if (oldest_anonymous) {
        s_slot_clear (oldest_anonymous);
        self->count--;
    }
    return oldest_anonymous;
}

portal_sessions_t *
portal_sessions_new (const portal_sessions_config_t *config)
{
    if (!config || config->capacity == 0 || config->idle_ms <= 0 || config->max_ms <= 0
    ||  config->anonymous_idle_ms <= 0 || sodium_init () < 0)
        return NULL;
    portal_sessions_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    self->slots = calloc (config->capacity, sizeof *self->slots);
    if (!self->slots || pthread_mutex_init (&self->lock, NULL)) {
        free (self->slots);
        free (self);
        return NULL;
    }
    return self;
}

void
portal_sessions_destroy (portal_sessions_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    portal_sessions_t *self = *self_p;
    sodium_memzero (self->slots, self->config.capacity * sizeof *self->slots);
    free (self->slots);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

int
portal_sessions_create (portal_sessions_t *self, const portal_session_t *init, int64_t now_ms,
                        char id [PORTAL_SESSION_ID_SIZE], portal_session_t *out)
{
    int rc = -1;
    pthread_mutex_lock (&self->lock);
    s_slot_t *slot = s_free_slot (self, now_ms);
    if (slot) {
        s_random_hex (id);
        s_digest (id, slot->digest);
        slot->session = *init;
        s_random_hex (slot->session.csrf);
        slot->session.created_ms = now_ms;
        slot->session.last_seen_ms = now_ms;
        slot->used = true;
        self->count++;
        if (out)
            *out = slot->session;
        rc = 0;
    }
    pthread_mutex_unlock (&self->lock);
    return rc;
}

int
portal_sessions_find (portal_sessions_t *self, const char *id, int64_t now_ms,
                      portal_session_t *out)
{
    uint8_t digest [crypto_hash_sha256_BYTES];
    if (!s_digest (id, digest))
        return -1;
    int rc = -1;
    pthread_mutex_lock (&self->lock);
    s_slot_t *slot = s_lookup (self, digest);
    if (slot && s_expired (self, &slot->session, now_ms)) {
        s_slot_clear (slot);
        self->count--;
    }
    else
    if (slot) {
        slot->session.last_seen_ms = now_ms;
        *out = slot->session;
        rc = 0;
    }
    pthread_mutex_unlock (&self->lock);
    return rc;
}

int
portal_sessions_update (portal_sessions_t *self, const char *id, const portal_session_t *session)
{
    uint8_t digest [crypto_hash_sha256_BYTES];
    if (!s_digest (id, digest))
        return -1;
    int rc = -1;
    pthread_mutex_lock (&self->lock);
    s_slot_t *slot = s_lookup (self, digest);
    //  Only the holder's own session: an update never moves a session to
    //  another account.
    if (slot && strcmp (slot->session.account_id, session->account_id) == 0) {
        portal_session_t kept = slot->session;
        slot->session = *session;
        memcpy (slot->session.csrf, kept.csrf, sizeof kept.csrf);
        slot->session.authenticated = kept.authenticated;
        slot->session.created_ms = kept.created_ms;
        slot->session.last_seen_ms = kept.last_seen_ms;
        portal_session_wipe (&kept);
        rc = 0;
    }
    pthread_mutex_unlock (&self->lock);
    return rc;
}

void
portal_sessions_remove (portal_sessions_t *self, const char *id)
{
    uint8_t digest [crypto_hash_sha256_BYTES];
    if (!s_digest (id, digest))
        return;
    pthread_mutex_lock (&self->lock);
    s_slot_t *slot = s_lookup (self, digest);
    if (slot) {
        s_slot_clear (slot);
        self->count--;
    }
    pthread_mutex_unlock (&self->lock);
}

void
portal_sessions_remove_account (portal_sessions_t *self, const char *account_id,
                                const char *keep_id)
{
    if (!account_id || !*account_id)
        return;
    uint8_t keep [crypto_hash_sha256_BYTES];
    bool keeping = keep_id && s_digest (keep_id, keep);
    pthread_mutex_lock (&self->lock);
    for (size_t i = 0; i < self->config.capacity; i++) {
        s_slot_t *slot = &self->slots [i];
        if (slot->used && slot->session.authenticated
        &&  strcmp (slot->session.account_id, account_id) == 0
        &&  !(keeping && sodium_memcmp (slot->digest, keep, sizeof keep) == 0)) {
            s_slot_clear (slot);
            self->count--;
        }
    }
    pthread_mutex_unlock (&self->lock);
}

size_t
portal_sessions_count (portal_sessions_t *self)
{
    pthread_mutex_lock (&self->lock);
    size_t count = self->count;
    pthread_mutex_unlock (&self->lock);
    return count;
}

bool
portal_sessions_csrf_ok (const portal_session_t *session, const char *token)
{
    size_t size = strlen (session->csrf);
    if (!token || size != PORTAL_SESSION_ID_SIZE - 1 || strlen (token) != size)
        return false;
    return sodium_memcmp (session->csrf, token, size) == 0;
}

void
portal_session_wipe (portal_session_t *session)
{
    sodium_memzero (session, sizeof *session);
}
