/*  portal_limiter: attempts and failures per key (see portal_limiter.h).
    A fixed table under one mutex, scanned linearly: the tables are small
    (thousands of keys) and the scan costs less than the bus call it
    guards.
*/
#include "portal_limiter.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define S_DIGEST_SIZE 16

typedef struct {
    bool used;
    uint8_t digest [S_DIGEST_SIZE];
    int64_t window_start_ms;
    int64_t last_ms;
    int64_t locked_until_ms;
    unsigned attempts;
    unsigned failures;
} s_entry_t;

struct _portal_limiter_t {
    pthread_mutex_t lock;
    portal_limit_t limit;
    uint8_t key [crypto_generichash_KEYBYTES];
    s_entry_t *entries;
};

static void
s_digest (portal_limiter_t *self, const char *key, uint8_t digest [S_DIGEST_SIZE])
{
    crypto_generichash (digest, S_DIGEST_SIZE, (const unsigned char *) (key ? key : ""),
                        key ? strlen (key) : 0, self->key, sizeof self->key);
}

static bool
s_idle (const portal_limiter_t *self, const s_entry_t *entry, int64_t now_ms)
{
    return now_ms >= entry->locked_until_ms
        && now_ms - entry->window_start_ms >= self->limit.window_ms;
}

//  The entry of a key, made when missing (NULL when the table is full of
//  locked keys).
static s_entry_t *
s_entry (portal_limiter_t *self, const char *key, int64_t now_ms, bool create)
{
    uint8_t digest [S_DIGEST_SIZE];
    s_digest (self, key, digest);
    s_entry_t *free_entry = NULL, *oldest = NULL;
    for (size_t i = 0; i < self->limit.capacity; i++) {
        s_entry_t *entry = &self->entries [i];
        if (entry->used && sodium_memcmp (entry->digest, digest, S_DIGEST_SIZE) == 0)
            return entry;
        if (!entry->used || s_idle (self, entry, now_ms)) {
            if (!free_entry)
                free_entry = entry;
        }
        else
        if (now_ms >= entry->locked_until_ms && (!oldest || entry->last_ms < oldest->last_ms))
            oldest = entry;
    }
    if (!create)
        return NULL;
    s_entry_t *entry = free_entry ? free_entry : oldest;
    if (entry) {
        memset (entry, 0, sizeof *entry);
        entry->used = true;
        memcpy (entry->digest, digest, S_DIGEST_SIZE);
        entry->window_start_ms = now_ms;
        entry->last_ms = now_ms;
    }
    return entry;
}

//  A window that is over starts again (a lock in force is kept).
static void
s_roll (portal_limiter_t *self, s_entry_t *entry, int64_t now_ms)
{
    if (now_ms - entry->window_start_ms >= self->limit.window_ms && now_ms >= entry->locked_until_ms) {
        entry->window_start_ms = now_ms;
        entry->attempts = 0;
        entry->failures = 0;
    }
}

portal_limiter_t *
portal_limiter_new (const portal_limit_t *limit)
{
    if (!limit || limit->capacity == 0 || limit->max_failures == 0 || limit->window_ms <= 0
    ||  limit->lockout_ms <= 0 || sodium_init () < 0)
        return NULL;
    portal_limiter_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->limit = *limit;
    randombytes_buf (self->key, sizeof self->key);
    self->entries = calloc (limit->capacity, sizeof *self->entries);
    if (!self->entries || pthread_mutex_init (&self->lock, NULL)) {
        free (self->entries);
        free (self);
        return NULL;
    }
    return self;
}

void
portal_limiter_destroy (portal_limiter_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    portal_limiter_t *self = *self_p;
    free (self->entries);
    sodium_memzero (self->key, sizeof self->key);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

int64_t
portal_limiter_attempt (portal_limiter_t *self, const char *key, int64_t now_ms)
{
    int64_t wait_ms = 0;
    pthread_mutex_lock (&self->lock);
    s_entry_t *entry = s_entry (self, key, now_ms, true);
    if (!entry)                 //  every slot locked: refuse rather than forget
        wait_ms = self->limit.lockout_ms;
    else {
        s_roll (self, entry, now_ms);
        entry->last_ms = now_ms;
        if (now_ms < entry->locked_until_ms)
            wait_ms = entry->locked_until_ms - now_ms;
        else
        if (self->limit.max_attempts && entry->attempts >= self->limit.max_attempts)
            wait_ms = entry->window_start_ms + self->limit.window_ms - now_ms;
        else
            entry->attempts++;
    }
    pthread_mutex_unlock (&self->lock);
    return wait_ms > 0 ? wait_ms : (wait_ms < 0 ? 1 : 0);
}

bool
portal_limiter_fail (portal_limiter_t *self, const char *key, int64_t now_ms)
{
    bool locked = false;
    pthread_mutex_lock (&self->lock);
    s_entry_t *entry = s_entry (self, key, now_ms, true);
    if (entry) {
        s_roll (self, entry, now_ms);
        entry->last_ms = now_ms;
        if (now_ms >= entry->locked_until_ms && ++entry->failures >= self->limit.max_failures) {
            entry->locked_until_ms = now_ms + self->limit.lockout_ms;
            //  After the lock, a fresh window.
            entry->window_start_ms = entry->locked_until_ms - self->limit.window_ms;
            entry->failures = 0;
            entry->attempts = 0;
            locked = true;
        }
    }
    pthread_mutex_unlock (&self->lock);
    return locked;
}

void
portal_limiter_reset (portal_limiter_t *self, const char *key)
{
    pthread_mutex_lock (&self->lock);
    s_entry_t *entry = s_entry (self, key, 0, false);
    if (entry)
        entry->failures = 0;
    pthread_mutex_unlock (&self->lock);
}

unsigned
portal_limiter_failures_left (portal_limiter_t *self, const char *key, int64_t now_ms)
{
    unsigned left = self->limit.max_failures;
    pthread_mutex_lock (&self->lock);
    s_entry_t *entry = s_entry (self, key, now_ms, false);
    if (entry) {
        if (now_ms < entry->locked_until_ms)
            left = 0;
        else
        if (now_ms - entry->window_start_ms < self->limit.window_ms)
            left = entry->failures >= left ? 0 : left - entry->failures;
    }
    pthread_mutex_unlock (&self->lock);
    return left;
}

const char *
portal_limiter_name (portal_limiter_t *self)
{
    return self->limit.name ? self->limit.name : "limiter";
}
