/*  revocation_suspension: what SuspendCertificates and ResumeCertificates
    (revocation_suspend.c, revocation_resume.c) share.

    - the input's bounds: exactly one of card_uuid and 1..16 serials, the
      reason code, the note (tsr_text_valid, 1..1000 characters), the
      optional requester; INVALID_ARGUMENT naming the field;
    - the suspension's id, derived from the caller's key and request id,
      so that a retry after a failure half-way (ca or perso answered, this
      service's transaction did not commit) asks ca and perso with the
      same request ids and gets their first replies, never a second hold;
    - who asked: nobody but the operator (role 0), or a person the
      channels accept for the holder (revocation_parties_check);
    - the card at perso (GetCard) and its transitions (ChangeCardState
      under the service's key, on behalf of the operator);
    - one hold or release at ca (RevokeCertificate certificateHold or
      removeFromCRL);
    - the audit rows, the events and the stored suspension as a Suspension
      reply: how both end (revocation_suspension_finish).
*/
#ifndef REVOCATION_SUSPENSION_H
#define REVOCATION_SUSPENSION_H

#include "revocation_input.h"
#include "tessera/bus.h"
#include "tessera/json.h"
#include "tessera/v1/perso.pb-c.h"
#include "tessera/v1/revocation.pb-c.h"

#define REVOCATION_NOTE_MAX 1000

//  The request's fields both methods share (borrowed).
typedef struct {
    const char *card_uuid;
    char **serials;
    size_t serial_count;
    const char *requester_person_id;
    int reason;                     //  SuspensionReason or ResumeReason
    int reason_max;                 //  its highest value
    const char *note;
} revocation_suspension_input_t;

//  The bounds; serials normalised into serials, the card's UUID in lower
//  case into card_uuid. STATUS_OK or INVALID_ARGUMENT set on call.
tsr_status_t revocation_suspension_check (tsr_call_t *call,
                                          const revocation_suspension_input_t *input,
                                          char serials [][REVOCATION_SERIAL_HEX_MAX + 1],
                                          char card_uuid [REVOCATION_UUID_MAX + 1]);

//  prefix ("su", "re") and 24 hex digits from the caller's key and the
//  call's request id.
void revocation_suspension_id (tsr_call_t *call, const char *prefix,
                               char id [REVOCATION_ID_MAX + 1]);

//  Who asked: *role 0 when requester_id is empty, else the role the
//  channels give the requester for the holder (a refusal is kept).
tsr_status_t revocation_suspension_requester (tsr_call_t *call, const char *requester_id,
                                              const char *holder_id, int *role);

//  The card at perso. STATUS_OK and *card_p (free with
//  tessera__v1__card__free_unpacked), or the refusal set.
tsr_status_t revocation_card_get (tsr_call_t *call, const char *card_uuid,
                                  Tessera__V1__Card **card_p);

//  Moves the card to to_state at perso, on behalf of operator_id, with
//  request id "<prefix>-<id>" and the reason "<what> <id> (<reason_name>):
//  <note>" (revocation_card_reason). STATUS_OK and *card_p (the card
//  after), or the refusal set (perso's status and message).
tsr_status_t revocation_card_change (tsr_call_t *call, const char *card_uuid, int to_state,
                                     const char *what, const char *id, const char *reason_name,
                                     const char *note, const char *operator_id,
                                     const char *prefix, Tessera__V1__Card **card_p);

//  RevokeCertificate(serial, reason) at ca with request id
//  "<prefix>-<id>-<serial>". ca's status, its message in message; *state
//  gets the certificate's state as ca answered (0 unknown).
tsr_status_t revocation_hold_call (tsr_call_t *call, const char *prefix, const char *id,
                                   const char *serial_hex, int reason, int *state,
                                   char *message, size_t message_size);

//  The certificate's state at ca (CertificateState), 0 when ca did not
//  answer.
int revocation_ca_state (tsr_call_t *call, const char *serial_hex);

//  What both handlers know once the request is opened
//  (revocation_suspension_open); the state of each begins with one.
typedef struct {
    char id [REVOCATION_ID_MAX + 1];            //  the call's (revocation_suspension_id)
    char operator_id [REVOCATION_ID_MAX + 1];   //  the calling operator (enrollment)
    char card_uuid [REVOCATION_UUID_MAX + 1];   //  in lower case; "" when serials are named
    size_t count;                               //  serials: the named ones, none for a card
    char serials [REVOCATION_SERIALS_MAX][REVOCATION_SERIAL_HEX_MAX + 1];
} revocation_suspension_head_t;

//  How both handlers open, the request unpacked: a zeroed state of size
//  bytes, a struct whose first member is a revocation_suspension_head_t,
//  the head filled from input: the bounds, then the calling operator
//  (enrollment) and the call's id (revocation_suspension_id with prefix).
//  The state (free it), or NULL and the refusal in *status.
void *revocation_suspension_open (tsr_call_t *call, const revocation_suspension_input_t *input,
                                  const char *prefix, size_t size, tsr_status_t *status);

//  One step of a suspension, as the audit trail and the event tell it.
typedef struct {
    const char *action;             //  "revocation.suspended", "revocation.resumed"
    const char *event;              //  "certificate.suspended", "certificate.resumed"
    const char *suspension_id;
    const char *resume_id;          //  resume only, else NULL
    int state;                      //  SuspensionState after the step
    const char *holder_id;
    const char *requester_id;
    int requester_role;
    const char *card_uuid;
    int card_state;                 //  the card's previous state
    const char **serials;           //  the certificates of this step
    size_t count;
    int reason;
    const char *reason_name;
    const char *note;
    const char *operator_id;
} revocation_suspension_step_t;

//  Appends the audit row and the event (SuspensionChanged) of step, in
//  call's transaction. 0, or -1.
int revocation_suspension_log (tsr_call_t *call, const revocation_suspension_step_t *step);

//  "card-mislaid" ... for SuspensionReason, "card-found" ... for
//  ResumeReason ("?" out of range); the CLI spells them the same.
const char *revocation_suspension_reason_name (int reason);
const char *revocation_resume_reason_name (int reason);

//  The card's reason at perso (at most 512 characters): what, the id, the
//  reason code and the start of the note, cut at a character boundary.
void revocation_card_reason (char *out, size_t size, const char *what, const char *id,
                             const char *reason_name, const char *note);

//  Replies with the suspension as stored now (in call's transaction).
tsr_status_t revocation_suspension_reply (tsr_call_t *call, const char *suspension_id,
                                          const char *text);

//  How both handlers end, in call's transaction: the audit row and the
//  event of step (revocation_suspension_log), then the reply with the
//  suspension as stored now, text its message. UNAVAILABLE "cannot record
//  the suspension" (or "the resume", for a step with a resume_id) when the
//  log fails.
tsr_status_t revocation_suspension_finish (tsr_call_t *call,
                                           const revocation_suspension_step_t *step,
                                           const char *text);

#endif
