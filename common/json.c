/*  tsr_json: flat JSON object writer (see json.h). Control characters and
    invalid bytes are escaped, so whatever a caller logs stays one line of
    valid JSON.
*/
#include "tessera/json.h"
#include "tessera/utf8.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _tsr_json_t {
    char *buf;
    size_t len;
    size_t cap;
    bool failed;
    bool first;
};

static int
s_reserve (char **buf, size_t *len, size_t *cap, size_t extra)
{
    if (*len + extra + 1 <= *cap)
        return 0;
    size_t want = *cap ? *cap : 128;
    while (want < *len + extra + 1)
        want *= 2;
    char *grown = realloc (*buf, want);
    if (!grown)
        return -1;
    *buf = grown;
    *cap = want;
    return 0;
}

static int
s_append (char **buf, size_t *len, size_t *cap, const char *text, size_t text_len)
{
    if (s_reserve (buf, len, cap, text_len))
        return -1;
    memcpy (*buf + *len, text, text_len);
    *len += text_len;
    (*buf)[*len] = '\0';
    return 0;
}

int
tsr_json_append_string (char **buf, size_t *len, size_t *cap, const char *value)
{
    if (s_append (buf, len, cap, "\"", 1))
        return -1;
    for (const unsigned char *p = (const unsigned char *) value; *p; p++) {
        char escaped [8];
        const char *piece = escaped;
        size_t piece_len = 2;
        switch (*p) {
            case '"':  piece = "\\\""; break;
            case '\\': piece = "\\\\"; break;
            case '\n': piece = "\\n"; break;
            case '\r': piece = "\\r"; break;
            case '\t': piece = "\\t"; break;
            default:
                if (*p < 0x20 || *p == 0x7f) {
                    snprintf (escaped, sizeof escaped, "\\u%04x", *p);
                    piece_len = 6;
                }
                else
                if (*p < 0x80) {
                    escaped [0] = (char) *p;
                    piece_len = 1;
                }
                else {
                    //  Valid UTF-8 passes whole; an invalid byte becomes
                    //  U+FFFD, so the output is always valid JSON.
                    uint32_t code_point;
                    size_t sequence = tsr_utf8_next (p, &code_point);
                    if (sequence == 0) {
                        piece = "\\ufffd";
                        piece_len = 6;
                    }
                    else {
                        piece = (const char *) p;
                        piece_len = sequence;
                        p += sequence - 1;
                    }
                }
        }
        if (s_append (buf, len, cap, piece, piece_len))
            return -1;
    }
    return s_append (buf, len, cap, "\"", 1);
}

char *
tsr_json_string_array (const char *const *items, size_t count)
{
    char *text = NULL;
    size_t len = 0, cap = 0;
    int rc = s_append (&text, &len, &cap, "[", 1);
    for (size_t i = 0; rc == 0 && i < count; i++)
        rc = (i ? s_append (&text, &len, &cap, ",", 1) : 0)
          || tsr_json_append_string (&text, &len, &cap, items [i]);
    if (rc == 0)
        rc = s_append (&text, &len, &cap, "]", 1);
    if (rc) {
        free (text);
        return NULL;
    }
    return text;
}

tsr_json_t *
tsr_json_new (void)
{
    tsr_json_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->first = true;
    if (s_append (&self->buf, &self->len, &self->cap, "{", 1)) {
        free (self);
        return NULL;
    }
    return self;
}

void
tsr_json_destroy (tsr_json_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->buf);
    free (*self_p);
    *self_p = NULL;
}

static void
s_key (tsr_json_t *self, const char *key)
{
    if (!self->first && s_append (&self->buf, &self->len, &self->cap, ",", 1))
        self->failed = true;
    self->first = false;
    if (tsr_json_append_string (&self->buf, &self->len, &self->cap, key)
    ||  s_append (&self->buf, &self->len, &self->cap, ":", 1))
        self->failed = true;
}

void
tsr_json_str (tsr_json_t *self, const char *key, const char *value)
{
    if (!self)
        return;
    s_key (self, key);
    int rc = value ? tsr_json_append_string (&self->buf, &self->len, &self->cap, value)
                   : s_append (&self->buf, &self->len, &self->cap, "null", 4);
    if (rc)
        self->failed = true;
}

void
tsr_json_int (tsr_json_t *self, const char *key, int64_t value)
{
    if (!self)
        return;
    char text [32];
    int n = snprintf (text, sizeof text, "%" PRId64, value);
    s_key (self, key);
    if (s_append (&self->buf, &self->len, &self->cap, text, (size_t) n))
        self->failed = true;
}

void
tsr_json_bool (tsr_json_t *self, const char *key, bool value)
{
    tsr_json_raw (self, key, value ? "true" : "false");
}

void
tsr_json_raw (tsr_json_t *self, const char *key, const char *raw)
{
    if (!self)
        return;
    s_key (self, key);
    if (s_append (&self->buf, &self->len, &self->cap, raw ? raw : "null",
                  raw ? strlen (raw) : 4))
        self->failed = true;
}

char *
tsr_json_finish (tsr_json_t **self_p)
{
    if (!self_p || !*self_p)
        return NULL;
    tsr_json_t *self = *self_p;
    char *text = NULL;
    if (!self->failed && !s_append (&self->buf, &self->len, &self->cap, "}", 1)) {
        text = self->buf;
        self->buf = NULL;
    }
    tsr_json_destroy (self_p);
    return text;
}
