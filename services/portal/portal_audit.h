/*  portal_audit: every portal action as one JSON line on stderr (tsr_log,
    event "portal.<action>"), and, when TSR_PORTAL_AUDIT_FILE is set, the
    same record appended to a hash-chained journal file.

    Journal lines are JSON objects with seq, time, the action's fields,
    "prev" (the previous line's hash) and "hash": hex SHA-256 of prev and
    of the line's text up to (not including) its ,"hash" member. The chain
    continues across restarts (the last line is read at start). Each
    append is written with one write(2) and fsync'd. Never passed: secrets
    (passwords, codes, tokens).

    The services keep their own audit trails (hash-chained in PostgreSQL);
    the journal is the portal's own, and the fallback record of a portal
    acceptance while mail does not serve RecordAcceptance (docs/portal.md).
*/
#ifndef PORTAL_AUDIT_H
#define PORTAL_AUDIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *action;             //  "login", "activation" ... (event portal.<action>)
    const char *outcome;            //  "ok", "failed", "refused", "locked", "error"
    const char *trace_id;
    const char *account_id;
    const char *login;              //  attempted logins only
    const char *client_address;
    const char *user_agent;
    const char *card_uuid;
    const char *serials;            //  comma-separated
    const char *reason;
    const char *detail;             //  why, in a few words (a service's status)
} portal_audit_entry_t;

typedef struct _portal_audit_t portal_audit_t;

//  path NULL or empty: log lines only. NULL with the reason in err when
//  the journal can not be opened or its last line does not parse.
portal_audit_t *portal_audit_new (const char *path, char *err, size_t err_size);
void portal_audit_destroy (portal_audit_t **self_p);
//  Logs the entry; returns 0 when it is also in the journal (or there is
//  no journal), -1 when the journal append failed.
int portal_audit_record (portal_audit_t *self, const portal_audit_entry_t *entry);
//  True when a journal is kept.
int portal_audit_has_journal (portal_audit_t *self);
//  Acceptances the journal kept (mail not serving them), remembered while
//  the process runs so the cards page can show them: when, or 0.
void portal_audit_note_acceptance (portal_audit_t *self, const char *card_uuid, int64_t at_unix);
int64_t portal_audit_accepted_at (portal_audit_t *self, const char *card_uuid);

#endif
