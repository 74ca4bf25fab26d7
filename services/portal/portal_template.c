/*  portal_template: embedded templates and their rendering (see
    portal_template.h).
*/
#include "portal_template.h"

#include <stdio.h>
#include <string.h>

#define S_NAME_MAX 64

const char *
portal_asset (const char *name)
{
    for (const portal_asset_t *asset = portal_assets; name && asset->name; asset++)
        if (strcmp (asset->name, name) == 0)
            return asset->text;
    return NULL;
}

static const portal_var_t *
s_var (const portal_var_t *vars, size_t var_count, const char *name)
{
    for (size_t i = 0; i < var_count; i++)
        if (strcmp (vars [i].name, name) == 0)
            return &vars [i];
    return NULL;
}

int
portal_render (portal_buf_t *out, const char *template_name, portal_lang_t lang,
               const portal_var_t *vars, size_t var_count, char *err, size_t err_size)
{
    const char *text = portal_asset (template_name);
    if (!text) {
        snprintf (err, err_size, "no template %s", template_name);
        return -1;
    }
    const char *p = text;
    while (*p) {
        const char *open = strstr (p, "{{");
        if (!open) {
            portal_buf_puts (out, p);
            break;
        }
        portal_buf_append (out, p, (size_t) (open - p));
        bool raw = open [2] == '{';
        const char *name = open + (raw ? 3 : 2);
        const char *close = strstr (name, raw ? "}}}" : "}}");
        size_t name_size = close ? (size_t) (close - name) : 0;
        if (!close || name_size == 0 || name_size >= S_NAME_MAX) {
            snprintf (err, err_size, "%s: broken tag", template_name);
            return -1;
        }
        char key [S_NAME_MAX];
        memcpy (key, name, name_size);
        key [name_size] = '\0';
        if (!raw && strncmp (key, "t:", 2) == 0) {
            const char *words = portal_text (lang, key + 2);
            if (!words) {
                snprintf (err, err_size, "%s: no text %s", template_name, key + 2);
                return -1;
            }
            portal_buf_escape (out, words);
        }
        else {
            const portal_var_t *var = s_var (vars, var_count, key);
            if (!var) {
                snprintf (err, err_size, "%s: no variable %s", template_name, key);
                return -1;
            }
            if (raw && var->raw)
                portal_buf_puts (out, var->value);
            else
            if (!raw && !var->raw)
                portal_buf_escape (out, var->value);
            else {
                snprintf (err, err_size, "%s: %s is %s", template_name, key,
                          var->raw ? "a fragment: use {{{ }}}" : "text: use {{ }}");
                return -1;
            }
        }
        p = close + (raw ? 3 : 2);
    }
    if (out->failed) {
        snprintf (err, err_size, "out of memory");
        return -1;
    }
    return 0;
}
