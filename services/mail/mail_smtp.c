/*  mail_smtp: SMTP submission with libcurl (see mail_smtp.h).
*/
#include "mail_smtp.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_PASSWORD_MAX 256

struct _mail_smtp_t {
    char *url;
    char *user;
    char *password;             //  wiped at destroy
    char *ca_file;
    long use_ssl;               //  CURLUSESSL_*
    long timeout_ms;
};

//  The first line of path into a new string (password files).
static char *
s_read_secret (const char *path, char *err, size_t err_size)
{
    FILE *file = fopen (path, "r");
    char line [S_PASSWORD_MAX + 2];
    if (!file || !fgets (line, sizeof line, file)) {
        if (file)
            fclose (file);
        snprintf (err, err_size, "cannot read TSR_SMTP_PASSWORD_FILE %s", path);
        return NULL;
    }
    fclose (file);
    line [strcspn (line, "\r\n")] = 0;
    char *secret = *line ? strdup (line) : NULL;
    OPENSSL_cleanse (line, sizeof line);
    if (!secret)
        snprintf (err, err_size, "TSR_SMTP_PASSWORD_FILE %s is empty", path);
    return secret;
}

mail_smtp_t *
mail_smtp_new (tsr_config_t *config, char *err, size_t err_size)
{
    mail_smtp_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    const char *url = tsr_config_get (config, "TSR_SMTP_URL", "smtp://127.0.0.1:25");
    const char *starttls = tsr_config_get (config, "TSR_SMTP_STARTTLS", "try");
    const char *user = tsr_config_get (config, "TSR_SMTP_USER", NULL);
    const char *password_file = tsr_config_get (config, "TSR_SMTP_PASSWORD_FILE", NULL);
    const char *ca_file = tsr_config_get (config, "TSR_SMTP_CA_FILE", NULL);
    bool smtps = strncmp (url, "smtps://", 8) == 0;
    if (!smtps && strncmp (url, "smtp://", 7) != 0) {
        snprintf (err, err_size, "TSR_SMTP_URL must start with smtp:// or smtps://");
        goto fail;
    }
    self->use_ssl = strcmp (starttls, "required") == 0 ? (long) CURLUSESSL_ALL
                  : strcmp (starttls, "try") == 0 ? (long) CURLUSESSL_TRY
                  : strcmp (starttls, "none") == 0 ? (long) CURLUSESSL_NONE : -1;
    if (self->use_ssl < 0) {
        snprintf (err, err_size, "TSR_SMTP_STARTTLS must be none, try or required");
        goto fail;
    }
    if (smtps)
        self->use_ssl = CURLUSESSL_ALL;
    if (user && self->use_ssl != CURLUSESSL_ALL) {
        snprintf (err, err_size, "TSR_SMTP_USER needs TLS: set TSR_SMTP_STARTTLS=required or "
                                 "use smtps://, so the password never travels in clear");
        goto fail;
    }
    if (user && !password_file) {
        snprintf (err, err_size, "TSR_SMTP_USER is set but TSR_SMTP_PASSWORD_FILE is not");
        goto fail;
    }
    if (tsr_config_get_long (config, "TSR_SMTP_TIMEOUT_MS", 30000, 1000, 600000,
                             &self->timeout_ms, err, err_size))
        goto fail;
    self->url = strdup (url);
    self->user = user ? strdup (user) : NULL;
    self->ca_file = ca_file ? strdup (ca_file) : NULL;
    if (!self->url || (user && !self->user) || (ca_file && !self->ca_file)) {
        snprintf (err, err_size, "out of memory");
        goto fail;
    }
    if (user && !(self->password = s_read_secret (password_file, err, err_size)))
        goto fail;
    return self;
fail:
    mail_smtp_destroy (&self);
    return NULL;
}

void
mail_smtp_destroy (mail_smtp_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mail_smtp_t *self = *self_p;
    if (self->password) {
        OPENSSL_cleanse (self->password, strlen (self->password));
        free (self->password);
    }
    free (self->url);
    free (self->user);
    free (self->ca_file);
    free (self);
    *self_p = NULL;
}

long
mail_smtp_timeout_ms (const mail_smtp_t *self)
{
    return self->timeout_ms;
}

typedef struct {
    const char *data;
    size_t size;
    size_t sent;
    char last_reply [256];      //  the last reply but the goodbye (221)
    char error_reply [256];     //  the first 4xx or 5xx reply
} s_upload_t;

static size_t
s_read (char *buffer, size_t size, size_t count, void *arg)
{
    s_upload_t *upload = arg;
    size_t room = size * count, left = upload->size - upload->sent;
    size_t chunk = left < room ? left : room;
    memcpy (buffer, upload->data + upload->sent, chunk);
    upload->sent += chunk;
    return chunk;
}

//  Keeps the server's replies that tell what happened to the message;
//  never looks at what we send (it holds the login and the message).
static int
s_debug (CURL *handle, curl_infotype type, char *data, size_t size, void *arg)
{
    (void) handle;
    s_upload_t *upload = arg;
    if (type != CURLINFO_HEADER_IN || size < 3 || strncmp (data, "221", 3) == 0)
        return 0;
    bool error = data [0] == '4' || data [0] == '5';
    if (error && *upload->error_reply)
        return 0;
    char *reply = error ? upload->error_reply : upload->last_reply;
    size_t len = 0;
    while (len < size && len + 1 < sizeof upload->last_reply && data [len] != '\r'
           && data [len] != '\n') {
        char c = data [len];
        reply [len++] = c >= 0x20 && c < 0x7f ? c : '?';
    }
    reply [len] = 0;
    return 0;
}

mail_smtp_outcome_t
mail_smtp_send (mail_smtp_t *self, const char *from_address, const char *to_address,
                const char *message, size_t size, char *reply, size_t reply_size)
{
    s_upload_t upload = { .data = message, .size = size };
    char from [300], to [300];
    snprintf (from, sizeof from, "<%s>", from_address);
    snprintf (to, sizeof to, "<%s>", to_address);
    CURL *curl = curl_easy_init ();
    struct curl_slist *recipients = curl_slist_append (NULL, to);
    if (!curl || !recipients) {
        curl_slist_free_all (recipients);
        curl_easy_cleanup (curl);
        snprintf (reply, reply_size, "out of memory");
        return MAIL_SMTP_TRANSIENT;
    }
    curl_easy_setopt (curl, CURLOPT_URL, self->url);
    curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (curl, CURLOPT_USE_SSL, self->use_ssl);
    if (self->ca_file)
        curl_easy_setopt (curl, CURLOPT_CAINFO, self->ca_file);
    if (self->user) {
        curl_easy_setopt (curl, CURLOPT_USERNAME, self->user);
        curl_easy_setopt (curl, CURLOPT_PASSWORD, self->password);
    }
    curl_easy_setopt (curl, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt (curl, CURLOPT_MAIL_RCPT, recipients);
    curl_easy_setopt (curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt (curl, CURLOPT_READFUNCTION, s_read);
    curl_easy_setopt (curl, CURLOPT_READDATA, &upload);
    curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, self->timeout_ms);
    curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT_MS, self->timeout_ms);
    curl_easy_setopt (curl, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt (curl, CURLOPT_DEBUGFUNCTION, s_debug);
    curl_easy_setopt (curl, CURLOPT_DEBUGDATA, &upload);
    CURLcode code = curl_easy_perform (curl);
    long response = 0;
    curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &response);
    curl_slist_free_all (recipients);
    curl_easy_cleanup (curl);
    mail_smtp_outcome_t outcome = MAIL_SMTP_SENT;
    if (code != CURLE_OK) {
        //  A 5xx is the server's final word on this message, except a
        //  refused login, which is ours to fix (then it goes).
        outcome = response >= 500 && response < 600 && code != CURLE_LOGIN_DENIED
                ? MAIL_SMTP_PERMANENT : MAIL_SMTP_TRANSIENT;
        const char *said = *upload.error_reply ? upload.error_reply : upload.last_reply;
        snprintf (reply, reply_size, "%s%s%s", curl_easy_strerror (code), *said ? ": " : "",
                  said);
    }
    else
        snprintf (reply, reply_size, "%s", upload.last_reply);
    return outcome;
}
