/*  mail_notices: a notice queued for a person or an operator, with the
    recipient's address, name and language read from enrollment at that
    moment (mail keeps no copy of the directory).

    Used by the event consumers, the shipment handlers and the sweep.
    A recipient mail cannot write to (unknown person, no usable address, a
    name that would break a header) is not an error that stops the caller:
    the refusal is audited (mail.email_refused / mail.notice_skipped) and
    the caller goes on.
*/
#ifndef MAIL_NOTICES_H
#define MAIL_NOTICES_H

#include "mail_outbox.h"
#include "mail_state.h"
#include "tessera/v1/enrollment.pb-c.h"

//  What every notice carries besides its template's own values.
typedef struct {
    int template_id;
    const mail_param_t *params;             //  besides given_name, surname
    size_t param_count;
    const uint8_t *sealed_secret;           //  or NULL
    size_t sealed_size;
    const char *source_service;
    uint64_t source_event_seq;
    const char *dedup_key;
    const char *actor;
    const char *trace_id;
    unsigned *queued;                       //  optional: +1 per e-mail queued
} mail_notice_t;

//  Queues notice for person (given_name and surname added). 0 done
//  (queued, seen before, or refused and audited), -1 database error.
int mail_notice_person (tsr_db_t *db, mail_state_t *state, const Tessera__V1__Person *person,
                        const mail_notice_t *notice);

//  Reads person_id at enrollment, then as mail_notice_person. 0 done
//  (including an unknown person: audited as mail.notice_skipped), -1 to
//  retry later (enrollment unavailable, database error).
int mail_notice_person_id (tsr_db_t *db, mail_state_t *state, const char *person_id,
                           const mail_notice_t *notice);

//  Queues notice for an operator (their e-mail and language;
//  operator_name added). Same contract as mail_notice_person.
int mail_notice_operator (tsr_db_t *db, mail_state_t *state,
                          const Tessera__V1__Operator *operator, const mail_notice_t *notice);

//  Audits that a notice could not be written (mail.notice_skipped). 0/-1.
int mail_notice_skipped (tsr_db_t *db, const mail_notice_t *notice, const char *subject,
                         const char *reason);

#endif
