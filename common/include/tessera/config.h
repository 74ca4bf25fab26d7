/*  tsr_config: configuration from environment variables, with a file option.

    Every key starts with TSR_ and is documented in docs/configuration.md.
    If TSR_CONFIG_FILE names a file, its KEY=VALUE lines (blank lines and
    lines starting with # ignored) are read first; the environment overrides
    the file. Lines are bounded (TSR_CONFIG_MAX_LINE) and keys must be
    [A-Z0-9_]+ starting with TSR_; anything else is an error with its line
    number, never silently ignored.
*/
#ifndef TSR_CONFIG_H
#define TSR_CONFIG_H

#include <stddef.h>

#define TSR_CONFIG_MAX_LINE     4096
#define TSR_CONFIG_MAX_ENTRIES  256

typedef struct _tsr_config_t tsr_config_t;

//  Reads TSR_CONFIG_FILE when set. NULL on error, with the reason in err.
tsr_config_t *tsr_config_new (char *err, size_t err_size);
void tsr_config_destroy (tsr_config_t **self_p);
//  Reads one more file (later files override earlier ones; the environment
//  still wins). 0, or -1 with the reason in err.
int tsr_config_load_file (tsr_config_t *self, const char *path, char *err, size_t err_size);
//  The value (environment, then file), or fallback when unset or empty.
const char *tsr_config_get (tsr_config_t *self, const char *key, const char *fallback);
//  The key TSR_<NAME>_<SUFFIX> (upper case) of a service's setting, e.g.
//  ("ca", "endpoint") -> TSR_CA_ENDPOINT; truncated to size.
void tsr_config_key (char *key, size_t size, const char *name, const char *suffix);
//  An integer in [min, max]; fallback when unset. 0, or -1 with the reason.
int tsr_config_get_long (tsr_config_t *self, const char *key, long fallback,
                         long min, long max, long *value, char *err, size_t err_size);

#endif
