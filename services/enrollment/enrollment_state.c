/*  enrollment's configuration (see enrollment.h).
*/
#include "enrollment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *
enrollment_state_new (tsr_config_t *config, char *err, size_t err_size)
{
    enrollment_state_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    long level = 2;
    if (tsr_config_get_long (config, "TSR_POLICY_LEVEL", 2, 1, 3, &level, err, err_size)) {
        free (self);
        return NULL;
    }
    self->level = (int) level;
    const char *cursor = tsr_config_get (config, "TSR_ENROLLMENT_BOOTSTRAP_KEYS", "");
    while (*cursor) {
        const char *end = strchr (cursor, ',');
        size_t length = end ? (size_t) (end - cursor) : strlen (cursor);
        if (length != 40 || self->bootstrap_key_count >= ENROLLMENT_BOOTSTRAP_KEYS_MAX) {
            snprintf (err, err_size, "TSR_ENROLLMENT_BOOTSTRAP_KEYS must list at most %d Z85 keys of 40 characters",
                      ENROLLMENT_BOOTSTRAP_KEYS_MAX);
            free (self);
            return NULL;
        }
        memcpy (self->bootstrap_keys [self->bootstrap_key_count], cursor, length);
        self->bootstrap_keys [self->bootstrap_key_count++][length] = 0;
        cursor += end ? length + 1 : length;
    }
    return self;
}

void
enrollment_state_destroy (void **state_p)
{
    if (!state_p || !*state_p)
        return;
    free (*state_p);
    *state_p = NULL;
}
