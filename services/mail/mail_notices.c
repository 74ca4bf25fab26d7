/*  mail_notices: notices to persons and operators (see mail_notices.h).
*/
#include "mail_notices.h"
#include "mail_directory.h"
#include "mail_records.h"
#include "tessera/log.h"

#include <stdio.h>
#include <string.h>

//  Queues with the recipient's own values first.
static int
s_queue (tsr_db_t *db, mail_state_t *state, const mail_notice_t *notice,
         const mail_param_t *own, size_t own_count, const char *person_id,
         const char *operator_id, const char *address, const char *name, const char *language)
{
    mail_param_t params [MAIL_PARAMS_MAX];
    if (own_count + notice->param_count > MAIL_PARAMS_MAX)
        return -1;
    memcpy (params, own, own_count * sizeof params [0]);
    memcpy (params + own_count, notice->params, notice->param_count * sizeof params [0]);
    mail_enqueue_t email = {
        .template_id = notice->template_id, .language = language,
        .recipient_person_id = person_id, .recipient_operator_id = operator_id,
        .to_address = address, .to_name = name, .params = params,
        .param_count = own_count + notice->param_count, .sealed_secret = notice->sealed_secret,
        .sealed_size = notice->sealed_size, .source_service = notice->source_service,
        .source_event_seq = notice->source_event_seq, .dedup_key = notice->dedup_key,
        .actor = notice->actor, .trace_id = notice->trace_id,
    };
    char reason [256];
    mail_enqueue_result_t result = mail_outbox_enqueue (db, state, &email, reason, sizeof reason);
    if (result == MAIL_ENQUEUE_QUEUED && notice->queued)
        (*notice->queued)++;
    return result == MAIL_ENQUEUE_FAILED ? -1 : 0;
}

int
mail_notice_person (tsr_db_t *db, mail_state_t *state, const Tessera__V1__Person *person,
                    const mail_notice_t *notice)
{
    //  The display name: "Given Surname"; refused with the rest if either
    //  part would break a header.
    char name [4 * MAIL_NAME_MAX + 2];
    snprintf (name, sizeof name, "%s %s", person->given_name, person->surname);
    mail_param_t own [] = {
        { "given_name", person->given_name }, { "surname", person->surname },
    };
    return s_queue (db, state, notice, own, 2, person->person_id, "", person->email, name,
                    person->language);
}

int
mail_notice_skipped (tsr_db_t *db, const mail_notice_t *notice, const char *subject,
                     const char *reason)
{
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "template", mail_template_name (notice->template_id));
    tsr_json_str (json, "dedup_key", notice->dedup_key);
    tsr_json_str (json, "reason", reason);
    tsr_log_warn (notice->trace_id, "mail.notice_skipped", "subject", subject, "reason", reason,
                  NULL);
    return mail_audit (db, notice->actor, "mail.notice_skipped", subject, notice->trace_id, &json);
}

int
mail_notice_person_id (tsr_db_t *db, mail_state_t *state, const char *person_id,
                       const mail_notice_t *notice)
{
    if (!mail_id_valid (person_id))
        return mail_notice_skipped (db, notice, "", "the person id is not well formed");
    Tessera__V1__Person *person = NULL;
    char message [160] = "";
    tsr_status_t status = mail_directory_person (state->enrollment, notice->trace_id, person_id,
                                                 &person, message, sizeof message);
    if (status != TESSERA__V1__STATUS__STATUS_OK) {
        if (mail_peer_status (status) == TESSERA__V1__STATUS__STATUS_NOT_FOUND)
            return mail_notice_skipped (db, notice, person_id, "enrollment knows no such person");
        tsr_log_warn (notice->trace_id, "mail.enrollment_unavailable", "reason", message, NULL);
        return -1;
    }
    int rc = mail_notice_person (db, state, person, notice);
    tessera__v1__person__free_unpacked (person, NULL);
    return rc;
}

int
mail_notice_operator (tsr_db_t *db, mail_state_t *state, const Tessera__V1__Operator *operator,
                      const mail_notice_t *notice)
{
    mail_param_t own [] = { { "operator_name", operator->name } };
    return s_queue (db, state, notice, own, 1, "", operator->operator_id, operator->email,
                    operator->name, operator->language);
}
