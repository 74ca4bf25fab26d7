/*  The revocation service's bus methods (table in main.c). Each runs
    inside the request's transaction (see tsr_call_t); call->state is the
    revocation_state_t.
*/
#ifndef REVOCATION_HANDLERS_H
#define REVOCATION_HANDLERS_H

#include "revocation_input.h"
#include "tessera/bus.h"
#include "tessera/v1/revocation.pb-c.h"

//  Channels (revocation_online.c, revocation_phone.c,
//  revocation_phone_record.c, revocation_paper.c).
tsr_status_t revocation_handle_revoke_online (tsr_call_t *call);
tsr_status_t revocation_handle_start_phone (tsr_call_t *call);
tsr_status_t revocation_handle_answer_phone (tsr_call_t *call);
tsr_status_t revocation_handle_record_phone (tsr_call_t *call);
tsr_status_t revocation_handle_record_paper (tsr_call_t *call);

//  Decision (revocation_decide.c).
tsr_status_t revocation_handle_decide (tsr_call_t *call);

//  Reads (revocation_read.c; revocation_lockout.c; revocation_archive.c).
tsr_status_t revocation_handle_get (tsr_call_t *call);
tsr_status_t revocation_handle_list (tsr_call_t *call);
tsr_status_t revocation_handle_phone_status (tsr_call_t *call);
tsr_status_t revocation_handle_export_archive (tsr_call_t *call);

//  Suspension (revocation_suspend.c, revocation_resume.c).
tsr_status_t revocation_handle_suspend (tsr_call_t *call);
tsr_status_t revocation_handle_resume (tsr_call_t *call);

//  The pure first step of each channel and method: every bound of the
//  request that needs no database and no other service. STATUS_OK, or the
//  refusal with the call's message set. The handlers call them first; so
//  does tests/fuzz/fuzz_payload_revocation.c. serials get the normalised
//  serials, card_uuid the normalised card (revocation_common_check),
//  form_sha256 the lower-case digest.
tsr_status_t revocation_online_check (tsr_call_t *call,
                                      const Tessera__V1__RevokeOnlineRequest *request,
                                      char serials [][REVOCATION_SERIAL_HEX_MAX + 1],
                                      char card_uuid [REVOCATION_UUID_MAX + 1]);
tsr_status_t revocation_start_phone_check (tsr_call_t *call,
                                           const Tessera__V1__StartPhoneChallengeRequest *request,
                                           char serials [][REVOCATION_SERIAL_HEX_MAX + 1]);
tsr_status_t revocation_answer_phone_check (tsr_call_t *call,
                                            const Tessera__V1__AnswerPhoneChallengeRequest *request);
tsr_status_t revocation_record_phone_check (tsr_call_t *call,
                                            const Tessera__V1__RecordPhoneRevocationRequest *request,
                                            char serials [][REVOCATION_SERIAL_HEX_MAX + 1],
                                            char card_uuid [REVOCATION_UUID_MAX + 1]);
tsr_status_t revocation_paper_check (tsr_call_t *call,
                                     const Tessera__V1__RecordPaperRevocationRequest *request,
                                     char form_sha256 [65],
                                     char serials [][REVOCATION_SERIAL_HEX_MAX + 1],
                                     char card_uuid [REVOCATION_UUID_MAX + 1]);
tsr_status_t revocation_decide_check (tsr_call_t *call,
                                      const Tessera__V1__DecideRevocationRequest *request);
//  after_seconds, after_seq: the page token's position.
tsr_status_t revocation_list_check (tsr_call_t *call,
                                    const Tessera__V1__ListRevocationsRequest *request,
                                    int64_t *after_seconds, int64_t *after_seq);

#endif
