/*  portal_audit: log lines and the hash-chained journal (see
    portal_audit.h).
*/
#include "portal_audit.h"
#include "tessera/json.h"
#include "tessera/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S_HASH_HEX (2 * crypto_hash_sha256_BYTES + 1)
#define S_TAIL_MAX 65536
#define S_ACCEPTANCES_MAX 1024
#define S_UUID_SIZE 65

typedef struct {
    char card_uuid [S_UUID_SIZE];
    int64_t at_unix;
} s_acceptance_t;

struct _portal_audit_t {
    pthread_mutex_t lock;
    int fd;                         //  -1: no journal
    long long seq;
    char prev [S_HASH_HEX];
    s_acceptance_t acceptances [S_ACCEPTANCES_MAX];
    size_t acceptance_next;         //  a ring: the oldest goes first
};

//  Reads the last line of the journal for its seq and hash.
static int
s_resume (portal_audit_t *self, char *err, size_t err_size)
{
    struct stat info;
    if (fstat (self->fd, &info))
        return -1;
    if (info.st_size == 0)
        return 0;
    size_t size = info.st_size > S_TAIL_MAX ? S_TAIL_MAX : (size_t) info.st_size;
    char *tail = malloc (size + 1);
    if (!tail)
        return -1;
    ssize_t got = pread (self->fd, tail, size, info.st_size - (off_t) size);
    int rc = -1;
    if (got == (ssize_t) size) {
        tail [size] = '\0';
        while (size && tail [size - 1] == '\n')
            tail [--size] = '\0';
        char *line = strrchr (tail, '\n');
        line = line ? line + 1 : tail;
        const char *seq = strstr (line, "\"seq\":");
        const char *hash = strstr (line, ",\"hash\":\"");
        if (seq && hash && strlen (hash + 9) >= S_HASH_HEX) {
            self->seq = strtoll (seq + 6, NULL, 10);
            memcpy (self->prev, hash + 9, S_HASH_HEX - 1);
            self->prev [S_HASH_HEX - 1] = '\0';
            rc = 0;
        }
    }
    if (rc)
        snprintf (err, err_size, "the journal's last line does not parse");
    free (tail);
    return rc;
}

portal_audit_t *
portal_audit_new (const char *path, char *err, size_t err_size)
{
    portal_audit_t *self = calloc (1, sizeof *self);
    if (!self || sodium_init () < 0) {
        free (self);
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    self->fd = -1;
    memset (self->prev, '0', S_HASH_HEX - 1);
    if (path && *path) {
        self->fd = open (path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (self->fd < 0) {
            snprintf (err, err_size, "cannot open %s: %s", path, strerror (errno));
            portal_audit_destroy (&self);
            return NULL;
        }
        if (s_resume (self, err, err_size)) {
            portal_audit_destroy (&self);
            return NULL;
        }
    }
    return self;
}

void
portal_audit_destroy (portal_audit_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    portal_audit_t *self = *self_p;
    if (self->fd >= 0)
        close (self->fd);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

int
portal_audit_has_journal (portal_audit_t *self)
{
    return self && self->fd >= 0;
}

static void
s_fields (tsr_json_t *json, const portal_audit_entry_t *entry)
{
    const struct { const char *key; const char *value; } fields [] = {
        { "outcome", entry->outcome }, { "account_id", entry->account_id },
        { "login", entry->login }, { "client_address", entry->client_address },
        { "user_agent", entry->user_agent }, { "card_uuid", entry->card_uuid },
        { "serials", entry->serials }, { "reason", entry->reason }, { "detail", entry->detail },
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields [0]; i++)
        if (fields [i].value && *fields [i].value)
            tsr_json_str (json, fields [i].key, fields [i].value);
}

static int
s_append (portal_audit_t *self, const portal_audit_entry_t *entry, const char *event)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_int (json, "seq", self->seq + 1);
    tsr_json_int (json, "time_unix_ms", (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000);
    tsr_json_str (json, "event", event);
    if (entry->trace_id && *entry->trace_id)
        tsr_json_str (json, "trace_id", entry->trace_id);
    s_fields (json, entry);
    tsr_json_str (json, "prev", self->prev);
    char *body = tsr_json_finish (&json);
    if (!body)
        return -1;
    //  body is "{...}": hash prev and the text before its closing brace.
    size_t body_size = strlen (body) - 1;
    uint8_t digest [crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init (&state);
    crypto_hash_sha256_update (&state, (const unsigned char *) self->prev, strlen (self->prev));
    crypto_hash_sha256_update (&state, (const unsigned char *) body, body_size);
    crypto_hash_sha256_final (&state, digest);
    char hash [S_HASH_HEX];
    sodium_bin2hex (hash, sizeof hash, digest, sizeof digest);
    size_t line_size = body_size + sizeof ",\"hash\":\"\"}\n" + S_HASH_HEX;
    char *line = malloc (line_size);
    int rc = -1;
    if (line) {
        int written = snprintf (line, line_size, "%.*s,\"hash\":\"%s\"}\n", (int) body_size, body,
                                hash);
        if (written > 0 && (size_t) written < line_size
        &&  write (self->fd, line, (size_t) written) == written && fsync (self->fd) == 0) {
            self->seq++;
            memcpy (self->prev, hash, sizeof hash);
            rc = 0;
        }
    }
    free (line);
    free (body);
    return rc;
}

int
portal_audit_record (portal_audit_t *self, const portal_audit_entry_t *entry)
{
    char event [96];
    snprintf (event, sizeof event, "portal.%s", entry->action ? entry->action : "action");
    const char *empty = "";
    tsr_log_info (entry->trace_id, event,
                  "outcome", entry->outcome ? entry->outcome : empty,
                  "account_id", entry->account_id ? entry->account_id : empty,
                  "login", entry->login ? entry->login : empty,
                  "client_address", entry->client_address ? entry->client_address : empty,
                  "user_agent", entry->user_agent ? entry->user_agent : empty,
                  "card_uuid", entry->card_uuid ? entry->card_uuid : empty,
                  "serials", entry->serials ? entry->serials : empty,
                  "reason", entry->reason ? entry->reason : empty,
                  "detail", entry->detail ? entry->detail : empty, NULL);
    if (!self || self->fd < 0)
        return 0;
    pthread_mutex_lock (&self->lock);
    int rc = s_append (self, entry, event);
    pthread_mutex_unlock (&self->lock);
    if (rc)
        tsr_log_error (entry->trace_id, "portal.journal_failed", "action", event, NULL);
    return rc;
}

void
portal_audit_note_acceptance (portal_audit_t *self, const char *card_uuid, int64_t at_unix)
{
    if (!self || !card_uuid)
        return;
    pthread_mutex_lock (&self->lock);
    s_acceptance_t *slot = &self->acceptances [self->acceptance_next++ % S_ACCEPTANCES_MAX];
    snprintf (slot->card_uuid, sizeof slot->card_uuid, "%s", card_uuid);
    slot->at_unix = at_unix;
    pthread_mutex_unlock (&self->lock);
}

int64_t
portal_audit_accepted_at (portal_audit_t *self, const char *card_uuid)
{
    int64_t at_unix = 0;
    if (!self || !card_uuid || !*card_uuid)
        return 0;
    pthread_mutex_lock (&self->lock);
    for (size_t i = 0; i < S_ACCEPTANCES_MAX; i++)
        if (self->acceptances [i].at_unix
        &&  strcmp (self->acceptances [i].card_uuid, card_uuid) == 0)
            at_unix = self->acceptances [i].at_unix;
    pthread_mutex_unlock (&self->lock);
    return at_unix;
}
