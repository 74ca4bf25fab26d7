/*  mail_template: rendering the embedded notices (see mail_template.h).
*/
#include "mail_template.h"
#include "mail_buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_NAME_MAX 48

static const char *s_names [] = {
    NULL, "one_time_password", "batch_awaiting_validation", "card_shipped",
    "pin_mailer_sent", "revocation_confirmed", "certificate_expiring", "renewal_invitation",
    "key_recovery_password"
};

const char *
mail_template_name (int id)
{
    return id >= MAIL_TEMPLATE_MIN && id <= MAIL_TEMPLATE_MAX ? s_names [id] : NULL;
}

const char *
mail_template_language (const char *language)
{
    return language && strcmp (language, "en") == 0 ? "en" : "fr";
}

static const char *
s_find (const char *name, const char *language)
{
    for (size_t i = 0; i < mail_templates_builtin_count; i++)
        if (strcmp (mail_templates_builtin [i].name, name) == 0
        &&  strcmp (mail_templates_builtin [i].language, language) == 0)
            return mail_templates_builtin [i].text;
    return NULL;
}

static const char *
s_value (const mail_param_t *params, size_t count, const char *name, size_t name_len)
{
    for (size_t i = 0; i < count; i++)
        if (strlen (params [i].name) == name_len
        &&  memcmp (params [i].name, name, name_len) == 0)
            return params [i].value ? params [i].value : "";
    return NULL;
}

//  Appends text [0, len) with its {{name}} replaced. 0, or -1 with err.
static int
s_expand (mail_buf_t *out, const char *text, size_t len, const mail_param_t *params,
          size_t count, char *err, size_t err_size)
{
    size_t i = 0;
    while (i < len) {
        const char *open = NULL;
        if (i + 1 < len)
            for (size_t j = i; j + 1 < len; j++)
                if (text [j] == '{' && text [j + 1] == '{') {
                    open = text + j;
                    break;
                }
        if (!open) {
            mail_buf_addn (out, text + i, len - i);
            return 0;
        }
        mail_buf_addn (out, text + i, (size_t) (open - text) - i);
        const char *name = open + 2;
        const char *close = NULL;
        for (const char *p = name; p + 1 < text + len && p - name <= S_NAME_MAX; p++)
            if (p [0] == '}' && p [1] == '}') {
                close = p;
                break;
            }
        if (!close || close == name) {
            snprintf (err, err_size, "template has an unterminated {{");
            return -1;
        }
        const char *value = s_value (params, count, name, (size_t) (close - name));
        if (!value) {
            snprintf (err, err_size, "template needs a value for {{%.*s}}",
                      (int) (close - name), name);
            return -1;
        }
        mail_buf_add (out, value);
        i = (size_t) (close + 2 - text);
    }
    return 0;
}

int
mail_template_render (int id, const char *language, const mail_param_t *params,
                      size_t param_count, char **subject_p, char **body_p,
                      char *err, size_t err_size)
{
    *subject_p = NULL;
    if (body_p)
        *body_p = NULL;
    const char *name = mail_template_name (id);
    const char *text = name ? s_find (name, mail_template_language (language)) : NULL;
    if (!text) {
        snprintf (err, err_size, "no template %d in %s", id, mail_template_language (language));
        return -1;
    }
    const char *end_of_subject = strchr (text, '\n');
    if (strncmp (text, "Subject: ", 9) != 0 || !end_of_subject || end_of_subject [1] != '\n') {
        snprintf (err, err_size, "template %s must start with \"Subject: \" and an empty line",
                  name);
        return -1;
    }
    mail_buf_t subject = MAIL_BUF_INIT, body = MAIL_BUF_INIT;
    int rc = s_expand (&subject, text + 9, (size_t) (end_of_subject - text - 9), params,
                       param_count, err, err_size);
    if (rc == 0 && body_p) {
        const char *start = end_of_subject + 2;
        rc = s_expand (&body, start, strlen (start), params, param_count, err, err_size);
    }
    if (rc == 0 && (mail_buf_failed (&subject) || mail_buf_failed (&body))) {
        snprintf (err, err_size, "out of memory");
        rc = -1;
    }
    if (rc == 0) {
        *subject_p = mail_buf_take (&subject, NULL);
        if (body_p)
            *body_p = mail_buf_take (&body, NULL);
        if (!*subject_p || (body_p && !*body_p)) {
            free (*subject_p);
            *subject_p = NULL;
            if (body_p) {
                mail_text_wipe (*body_p);
                *body_p = NULL;
            }
            snprintf (err, err_size, "out of memory");
            rc = -1;
        }
    }
    mail_buf_wipe (&subject);
    mail_buf_wipe (&body);
    return rc;
}
