/*  Events about people: validation's one-time passwords and enrollment's
    submitted batches (see mail_events.h).
*/
#include "mail_events.h"
#include "mail_directory.h"
#include "mail_input.h"
#include "mail_notices.h"
#include "mail_records.h"
#include "tessera/log.h"
#include "tessera/v1/mail.pb-c.h"
#include "tessera/v1/validation.pb-c.h"

#include <stdio.h>
#include <string.h>

#define S_OPERATOR_PAGES_MAX 50

int
mail_event_refused (tsr_db_t *db, const Tessera__V1__Event *event, const char *reason)
{
    char actor [80], seq [24];
    snprintf (actor, sizeof actor, "events:%s", event->service);
    snprintf (seq, sizeof seq, "%llu", (unsigned long long) event->seq);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "source", event->service);
    tsr_json_str (json, "seq", seq);
    tsr_json_str (json, "type", event->type);
    tsr_json_str (json, "reason", reason);
    tsr_log_warn (event->trace_id, "mail.event_refused", "source", event->service,
                  "type", event->type, "seq", seq, "reason", reason, NULL);
    return mail_audit (db, actor, "mail.event_refused", event->subject, event->trace_id, &json);
}

ProtobufCMessage *
mail_event_sealed (mail_state_t *state, tsr_db_t *db, const Tessera__V1__Event *event,
                   const ProtobufCMessageDescriptor *descriptor, const char *other_key, int *rc)
{
    ProtobufCMessage *message = protobuf_c_message_unpack (descriptor, NULL, event->payload.len,
                                                           event->payload.data);
    if (!message) {
        char reason [96];
        snprintf (reason, sizeof reason, "the payload is not a %s", descriptor->short_name);
        *rc = mail_event_refused (db, event, reason);
        return NULL;
    }
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name (descriptor, "sealed_for_key");
    const char *sealed_for_key = field && field->type == PROTOBUF_C_TYPE_STRING
                               ? *(char * const *) ((const char *) message + field->offset)
                               : NULL;
    if (!mail_keys_match (state->keys, sealed_for_key)) {
        protobuf_c_message_free_unpacked (message, NULL);
        *rc = mail_event_refused (db, event, other_key);
        return NULL;
    }
    return message;
}

//  "account.created" / "account.password_reset": OneTimePasswordIssued.
static int
s_one_time_password (mail_state_t *state, tsr_db_t *db, const Tessera__V1__Event *event)
{
    int rc = 0;
    Tessera__V1__OneTimePasswordIssued *issued = (Tessera__V1__OneTimePasswordIssued *)
        mail_event_sealed (state, db, event, &tessera__v1__one_time_password_issued__descriptor,
                           "the password is sealed to another key than mail's (TSR_MAIL_CERT at "
                           "validation)", &rc);
    if (!issued)
        return rc;
    if (issued->sealed_password.len == 0 || issued->sealed_password.len > MAIL_SEALED_MAX
    ||  !mail_id_valid (issued->person_id) || !mail_text_valid (issued->login, 1, 254))
        rc = mail_event_refused (db, event, "the sealed password, person id or login is out "
                                            "of bounds");
    else {
        char expires [32], dedup [64], actor [32];
        mail_time_format (issued->expires_unix, expires);
        snprintf (dedup, sizeof dedup, "validation:%llu", (unsigned long long) event->seq);
        snprintf (actor, sizeof actor, "events:%s", event->service);
        mail_param_t params [] = {
            { "login", issued->login }, { "expires", expires },
            { "portal_url", state->portal_url },
        };
        mail_notice_t notice = {
            .template_id = TESSERA__V1__EMAIL_TEMPLATE__EMAIL_TEMPLATE_ONE_TIME_PASSWORD,
            .params = params, .param_count = 3, .sealed_secret = issued->sealed_password.data,
            .sealed_size = issued->sealed_password.len, .source_service = event->service,
            .source_event_seq = event->seq, .dedup_key = dedup, .actor = actor,
            .trace_id = event->trace_id,
        };
        rc = mail_notice_person_id (db, state, issued->person_id, &notice);
    }
    tessera__v1__one_time_password_issued__free_unpacked (issued, NULL);
    return rc;
}

int
mail_apply_validation (void *state, tsr_db_t *db, const Tessera__V1__Event *event)
{
    if (strcmp (event->type, "account.created") == 0
    ||  strcmp (event->type, "account.password_reset") == 0)
        return s_one_time_password (state, db, event);
    return 0;
}

//  Every enabled validation operator with an address gets the notice.
static int
s_notify_validators (mail_state_t *state, tsr_db_t *db, const Tessera__V1__Event *event,
                     mail_param_t *params, size_t count)
{
    char page_token [256] = "", actor [32];
    snprintf (actor, sizeof actor, "events:%s", event->service);
    for (int page = 0; page < S_OPERATOR_PAGES_MAX; page++) {
        Tessera__V1__ListOperatorsReply *listed = NULL;
        char message [160] = "";
        tsr_status_t status = mail_directory_operators (
            state->enrollment, event->trace_id,
            TESSERA__V1__OPERATOR_ROLE__OPERATOR_ROLE_VALIDATION, page_token, &listed, message,
            sizeof message);
        if (status != TESSERA__V1__STATUS__STATUS_OK) {
            tsr_log_warn (event->trace_id, "mail.enrollment_unavailable", "reason", message, NULL);
            return -1;
        }
        int rc = 0;
        for (size_t i = 0; rc == 0 && i < listed->n_operators; i++) {
            const Tessera__V1__Operator *operator = listed->operators [i];
            if (operator->disabled || *operator->service_name || !*operator->email)
                continue;
            char dedup [160];
            snprintf (dedup, sizeof dedup, "enrollment:%llu:%.64s",
                      (unsigned long long) event->seq, operator->operator_id);
            mail_notice_t notice = {
                .template_id = TESSERA__V1__EMAIL_TEMPLATE__EMAIL_TEMPLATE_BATCH_AWAITING_VALIDATION,
                .params = params, .param_count = count, .source_service = event->service,
                .source_event_seq = event->seq, .dedup_key = dedup, .actor = actor,
                .trace_id = event->trace_id,
            };
            rc = mail_notice_operator (db, state, operator, &notice);
        }
        snprintf (page_token, sizeof page_token, "%s", listed->next_page_token);
        tessera__v1__list_operators_reply__free_unpacked (listed, NULL);
        if (rc || !*page_token)
            return rc;
    }
    return 0;
}

//  "batch.submitted": BatchSubmitted.
static int
s_batch_submitted (mail_state_t *state, tsr_db_t *db, const Tessera__V1__Event *event)
{
    Tessera__V1__BatchSubmitted *batch = tessera__v1__batch_submitted__unpack (
        NULL, event->payload.len, event->payload.data);
    if (!batch)
        return mail_event_refused (db, event, "the payload is not a BatchSubmitted");
    if (!mail_id_valid (batch->batch_id) || !mail_id_valid (batch->organisation_id)) {
        tessera__v1__batch_submitted__free_unpacked (batch, NULL);
        return mail_event_refused (db, event, "the batch or organisation id is not well formed");
    }
    Tessera__V1__Organisation *organisation = NULL;
    char message [160] = "";
    tsr_status_t status = mail_directory_organisation (state->enrollment, event->trace_id,
                                                       batch->organisation_id, &organisation,
                                                       message, sizeof message);
    int rc = 0;
    if (status != TESSERA__V1__STATUS__STATUS_OK
    &&  mail_peer_status (status) != TESSERA__V1__STATUS__STATUS_NOT_FOUND) {
        tsr_log_warn (event->trace_id, "mail.enrollment_unavailable", "reason", message, NULL);
        rc = -1;
    }
    else {
        char count [16], submitted [32];
        snprintf (count, sizeof count, "%zu", batch->n_card_request_ids);
        mail_time_format (batch->submitted_at_unix, submitted);
        mail_param_t params [] = {
            { "batch_id", batch->batch_id },
            { "organisation", organisation ? organisation->legal_name : batch->organisation_id },
            { "request_count", count }, { "submitted_at", submitted },
        };
        rc = s_notify_validators (state, db, event, params, 4);
    }
    if (organisation)
        tessera__v1__organisation__free_unpacked (organisation, NULL);
    tessera__v1__batch_submitted__free_unpacked (batch, NULL);
    return rc;
}

int
mail_apply_enrollment (void *state, tsr_db_t *db, const Tessera__V1__Event *event)
{
    if (strcmp (event->type, "batch.submitted") == 0)
        return s_batch_submitted (state, db, event);
    return 0;
}
