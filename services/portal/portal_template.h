/*  portal_template: the pages' HTML, embedded in the binary at build time
    from services/portal/templates/ (embed_files.cmake), and their
    rendering.

    Template syntax, nothing more:
      {{name}}     a variable, HTML-escaped
      {{{name}}}   a variable written as it is: only fragments the portal
                   rendered itself (each escaped on the way)
      {{t:key}}    a text of the catalogue in the page's language, escaped
    A name the caller did not give, or a key the catalogue lacks, fails the
    rendering: a page never goes out with a hole in it.
*/
#ifndef PORTAL_TEMPLATE_H
#define PORTAL_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "portal_buf.h"
#include "portal_i18n.h"

typedef struct {
    const char *name;       //  file name: "login.html", "portal.css"
    const char *text;
} portal_asset_t;

//  The embedded files, ending with { NULL, NULL } (generated).
extern const portal_asset_t portal_assets [];

typedef struct {
    const char *name;
    const char *value;      //  NULL renders as empty
    bool raw;               //  only for fragments the portal rendered
} portal_var_t;

//  The embedded file's text, or NULL.
const char *portal_asset (const char *name);
//  Appends the rendered template to out. 0, or -1 (unknown template,
//  variable or text, or a broken tag) with the reason in err.
int portal_render (portal_buf_t *out, const char *template_name, portal_lang_t lang,
                   const portal_var_t *vars, size_t var_count, char *err, size_t err_size);

#endif
