/*  tsr_json: writes one flat JSON object, with escaping, into a heap string.
    One way to produce JSON in tessera: the log lines and the CLI's --json
    output both use it. Nested values are added as already-built JSON text
    with tsr_json_raw.

        tsr_json_t *json = tsr_json_new ();
        tsr_json_str (json, "service", "ca");
        tsr_json_int (json, "port", 7103);
        char *text = tsr_json_finish (&json);   // "{...}", caller frees
*/
#ifndef TSR_JSON_H
#define TSR_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _tsr_json_t tsr_json_t;

tsr_json_t *tsr_json_new (void);
void tsr_json_destroy (tsr_json_t **self_p);
//  A NULL value writes null.
void tsr_json_str (tsr_json_t *self, const char *key, const char *value);
void tsr_json_int (tsr_json_t *self, const char *key, int64_t value);
void tsr_json_bool (tsr_json_t *self, const char *key, bool value);
//  raw must be valid JSON (an object or array built by the caller).
void tsr_json_raw (tsr_json_t *self, const char *key, const char *raw);
//  Closes the object and returns its text (caller frees), destroying the
//  writer. NULL if any allocation failed on the way.
char *tsr_json_finish (tsr_json_t **self_p);

//  Appends value as a JSON string literal (with quotes) to a heap buffer
//  (*buf, *len, *cap), growing it. Returns 0, or -1 on allocation failure.
int tsr_json_append_string (char **buf, size_t *len, size_t *cap, const char *value);

//  ["a","b"] of count strings (caller frees; [] for none), or NULL when out
//  of memory.
char *tsr_json_string_array (const char *const *items, size_t count);

#endif
