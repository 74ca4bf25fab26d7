/*  portal_sessions: the holders' sessions, server-side and in memory.

    A session id is 32 random bytes (CSPRNG) as 64 hex characters: the
    cookie's value and nothing else. The store keeps only the SHA-256 of
    each id, and looks ids up by that digest with a constant-time compare,
    so neither a memory dump nor a timing measurement gives a usable id.

    Each session has its own CSRF token (32 random bytes as hex), checked on
    every form with portal_sessions_csrf_ok (constant time). A session is
    anonymous (the login form's CSRF token) or bound to one holder account.
    Logging in never upgrades a session: it makes a new one (new id, new
    token) and removes the anonymous one, so a planted id is worth nothing.

    Expiry: after idle_ms without a request (anonymous: anonymous_idle_ms),
    and at the latest max_ms after creation. When the store is full, expired
    sessions go first, then the oldest anonymous one; a store full of
    holders' sessions refuses new ones.

    Lookups return a copy; portal_sessions_update writes fields back. The
    copy may hold the password change token: portal_session_wipe it.
*/
#ifndef PORTAL_SESSION_H
#define PORTAL_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PORTAL_SESSION_ID_SIZE 65   //  64 hex characters and a NUL
#define PORTAL_ID_SIZE 65           //  a bus id (account, person), with NUL
#define PORTAL_LOGIN_SIZE 256
#define PORTAL_NAME_SIZE 600
#define PORTAL_TOKEN_SIZE 129

typedef struct {
    bool authenticated;
    char csrf [PORTAL_SESSION_ID_SIZE];
    char account_id [PORTAL_ID_SIZE];
    char person_id [PORTAL_ID_SIZE];
    char login [PORTAL_LOGIN_SIZE];
    //  The holder's name as enrollment has it (shown, HTML-escaped).
    char display_name [PORTAL_NAME_SIZE];
    //  Secret: SetPassword's proof after a one-time-password login.
    char change_token [PORTAL_TOKEN_SIZE];
    bool must_change_password;
    bool must_set_questions;
    int64_t created_ms;
    int64_t last_seen_ms;
} portal_session_t;

typedef struct {
    size_t capacity;
    int64_t idle_ms;
    int64_t anonymous_idle_ms;
    int64_t max_ms;
} portal_sessions_config_t;

typedef struct _portal_sessions_t portal_sessions_t;

portal_sessions_t *portal_sessions_new (const portal_sessions_config_t *config);
void portal_sessions_destroy (portal_sessions_t **self_p);

//  Stores a new session with init's fields (authenticated, ids, flags), a
//  fresh id (written to id) and a fresh CSRF token; copies the stored
//  session to out when not NULL. 0, or -1 when the store is full.
int portal_sessions_create (portal_sessions_t *self, const portal_session_t *init, int64_t now_ms,
                            char id [PORTAL_SESSION_ID_SIZE], portal_session_t *out);
//  Finds a live session by id and marks it used now. 0 with a copy in out,
//  or -1 (unknown, malformed or expired: an expired one is removed).
int portal_sessions_find (portal_sessions_t *self, const char *id, int64_t now_ms,
                          portal_session_t *out);
//  Writes back what a page changed (flags, token, names); the id, the CSRF
//  token and the times stay. 0, or -1 when the session is gone.
int portal_sessions_update (portal_sessions_t *self, const char *id, const portal_session_t *session);
void portal_sessions_remove (portal_sessions_t *self, const char *id);
//  Removes every session of an account but keep_id's (NULL: all), as after
//  a password change: the other sessions were opened with the old one.
void portal_sessions_remove_account (portal_sessions_t *self, const char *account_id,
                                     const char *keep_id);
size_t portal_sessions_count (portal_sessions_t *self);

//  Constant-time comparison of a form's token with the session's.
bool portal_sessions_csrf_ok (const portal_session_t *session, const char *token);
void portal_session_wipe (portal_session_t *session);

#endif
