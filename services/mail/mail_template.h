/*  mail_template: the notices mail writes, in French and English.

    Each template is a text file (services/mail/templates/NAME.LANG.txt,
    embedded in the binary at build time): a first line "Subject: ...", an
    empty line, then the body. {{name}} marks where a value goes; every
    name a template uses must be given, and a value is inserted as text,
    never read as a template. The subject is rendered when the e-mail is
    queued (it is stored and listed); the body only at each attempt, so a
    one-time password exists in clear only in the sender's memory.
*/
#ifndef MAIL_TEMPLATE_H
#define MAIL_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

//  One embedded file (generated from templates/ by embed_templates.cmake).
typedef struct {
    const char *name;           //  "one_time_password"
    const char *language;       //  "fr" or "en"
    const char *text;
} mail_template_file_t;

extern const mail_template_file_t mail_templates_builtin [];
extern const size_t mail_templates_builtin_count;

//  EmailTemplate values (mail.proto).
#define MAIL_TEMPLATE_MIN 1
#define MAIL_TEMPLATE_MAX 8

//  A value for {{name}}.
typedef struct {
    const char *name;
    const char *value;
} mail_param_t;

//  The file name of EmailTemplate value id ("one_time_password"), or NULL.
const char *mail_template_name (int id);
//  "fr" for "fr" and anything unknown, "en" for "en".
const char *mail_template_language (const char *language);

//  Renders template id in language with params. *subject_p (and *body_p
//  when body_p is not NULL) are heap strings the caller frees (the body
//  wiped: it may hold a secret). Returns 0, or -1 with the reason in err
//  (unknown template, a {{name}} without a value, malformed template).
int mail_template_render (int id, const char *language, const mail_param_t *params,
                          size_t param_count, char **subject_p, char **body_p,
                          char *err, size_t err_size);

#endif
