/*  portal_limiter: rate limiting and lockout for one kind of attempt
    (logins, activation codes), keyed by a client address or an account.

    Within a window of window_ms from a key's first attempt, at most
    max_attempts attempts are let through (rate limit), and max_failures
    failures lock the key for lockout_ms (lockout). Keys are kept as keyed
    BLAKE2b digests, never as given. The table is bounded: when it is full,
    keys whose window and lock are over go first, then the one seen longest
    ago that is not locked.

        int64_t wait_ms = portal_limiter_attempt (limiter, address, now_ms);
        if (wait_ms) refuse ("try again later");
        ... if the attempt failed: portal_limiter_fail (limiter, address, now_ms);
        ... if it succeeded:       portal_limiter_reset (limiter, address);
*/
#ifndef PORTAL_LIMITER_H
#define PORTAL_LIMITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *name;           //  for logs and metrics: "login.address"
    unsigned max_attempts;      //  per window; 0: no rate limit
    unsigned max_failures;      //  per window; then locked
    int64_t window_ms;
    int64_t lockout_ms;
    size_t capacity;            //  keys tracked at most
} portal_limit_t;

typedef struct _portal_limiter_t portal_limiter_t;

portal_limiter_t *portal_limiter_new (const portal_limit_t *limit);
void portal_limiter_destroy (portal_limiter_t **self_p);
//  Counts an attempt by key. 0 when it may go ahead, else how long (ms,
//  at least 1) until the key may try again: locked, or too many attempts.
int64_t portal_limiter_attempt (portal_limiter_t *self, const char *key, int64_t now_ms);
//  Records a failed attempt; returns true when this failure locked the key.
bool portal_limiter_fail (portal_limiter_t *self, const char *key, int64_t now_ms);
//  A success: the key's failures start again from zero (a lock in force
//  stays).
void portal_limiter_reset (portal_limiter_t *self, const char *key);
//  Failures the key may still make before it locks (0 when locked).
unsigned portal_limiter_failures_left (portal_limiter_t *self, const char *key, int64_t now_ms);
const char *portal_limiter_name (portal_limiter_t *self);

#endif
