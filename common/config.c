/*  tsr_config: environment plus optional KEY=VALUE file (see config.h).
*/
#include "tessera/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _tsr_config_t {
    char *keys [TSR_CONFIG_MAX_ENTRIES];
    char *values [TSR_CONFIG_MAX_ENTRIES];
    size_t count;
};

static int
s_key_valid (const char *key)
{
    if (strncmp (key, "TSR_", 4) != 0 || strlen (key) > 128)
        return 0;
    for (const char *p = key; *p; p++)
        if (!(isupper ((unsigned char) *p) || isdigit ((unsigned char) *p) || *p == '_'))
            return 0;
    return 1;
}

static char *
s_trim (char *text)
{
    while (*text == ' ' || *text == '\t')
        text++;
    size_t len = strlen (text);
    while (len && (text [len - 1] == ' ' || text [len - 1] == '\t'
                || text [len - 1] == '\n' || text [len - 1] == '\r'))
        text [--len] = '\0';
    return text;
}

static int
s_set (tsr_config_t *self, const char *key, const char *value)
{
    for (size_t i = 0; i < self->count; i++)
        if (strcmp (self->keys [i], key) == 0) {
            char *copy = strdup (value);
            if (!copy)
                return -1;
            free (self->values [i]);
            self->values [i] = copy;
            return 0;
        }
    if (self->count == TSR_CONFIG_MAX_ENTRIES)
        return -1;
    self->keys [self->count] = strdup (key);
    self->values [self->count] = strdup (value);
    if (!self->keys [self->count] || !self->values [self->count]) {
        free (self->keys [self->count]);
        free (self->values [self->count]);
        return -1;
    }
    self->count++;
    return 0;
}

tsr_config_t *
tsr_config_new (char *err, size_t err_size)
{
    tsr_config_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    const char *path = getenv ("TSR_CONFIG_FILE");
    if (path && *path && tsr_config_load_file (self, path, err, err_size))
        tsr_config_destroy (&self);
    return self;
}

void
tsr_config_destroy (tsr_config_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsr_config_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++) {
        free (self->keys [i]);
        free (self->values [i]);
    }
    free (self);
    *self_p = NULL;
}

int
tsr_config_load_file (tsr_config_t *self, const char *path, char *err, size_t err_size)
{
    FILE *file = fopen (path, "r");
    if (!file) {
        snprintf (err, err_size, "cannot open configuration file %s: %s", path, strerror (errno));
        return -1;
    }
    int rc = -1;
    char line [TSR_CONFIG_MAX_LINE + 2];
    unsigned line_no = 0;
    while (fgets (line, sizeof line, file)) {
        line_no++;
        if (strlen (line) > TSR_CONFIG_MAX_LINE && line [strlen (line) - 1] != '\n') {
            snprintf (err, err_size, "%s:%u: line longer than %d bytes", path, line_no,
                      TSR_CONFIG_MAX_LINE);
            goto done;
        }
        char *text = s_trim (line);
        if (*text == '\0' || *text == '#')
            continue;
        char *equals = strchr (text, '=');
        if (!equals) {
            snprintf (err, err_size, "%s:%u: expected KEY=VALUE", path, line_no);
            goto done;
        }
        *equals = '\0';
        char *key = s_trim (text);
        char *value = s_trim (equals + 1);
        if (!s_key_valid (key)) {
            snprintf (err, err_size, "%s:%u: invalid key (keys are TSR_[A-Z0-9_]+)", path, line_no);
            goto done;
        }
        if (s_set (self, key, value)) {
            snprintf (err, err_size, "%s:%u: too many entries", path, line_no);
            goto done;
        }
    }
    if (ferror (file)) {
        snprintf (err, err_size, "cannot read configuration file %s", path);
        goto done;
    }
    rc = 0;
done:
    fclose (file);
    return rc;
}

const char *
tsr_config_get (tsr_config_t *self, const char *key, const char *fallback)
{
    const char *value = getenv (key);
    if (value && *value)
        return value;
    for (size_t i = 0; self && i < self->count; i++)
        if (strcmp (self->keys [i], key) == 0 && *self->values [i])
            return self->values [i];
    return fallback;
}

int
tsr_config_get_long (tsr_config_t *self, const char *key, long fallback,
                     long min, long max, long *value, char *err, size_t err_size)
{
    const char *text = tsr_config_get (self, key, NULL);
    if (!text) {
        *value = fallback;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long parsed = strtol (text, &end, 10);
    if (errno || end == text || *end != '\0' || parsed < min || parsed > max) {
        snprintf (err, err_size, "%s must be an integer from %ld to %ld", key, min, max);
        return -1;
    }
    *value = parsed;
    return 0;
}

void
tsr_config_key (char *key, size_t size, const char *name, const char *suffix)
{
    snprintf (key, size, "TSR_%s_%s", name, suffix);
    for (char *p = key; *p; p++)
        *p = (char) toupper ((unsigned char) *p);
}
