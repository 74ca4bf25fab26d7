/*  Fuzz target: revocation's request payloads (fuzz_payload.h), each
    through the handler's own pure first step where it has one.
*/
#include "fuzz_payload.h"
#include "revocation_handlers.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char s_serials [REVOCATION_SERIALS_MAX][REVOCATION_SERIAL_HEX_MAX + 1];
static char s_card_uuid [REVOCATION_UUID_MAX + 1];

static tsr_status_t
s_online (tsr_call_t *call, const ProtobufCMessage *request)
{
    return revocation_online_check (call, (const Tessera__V1__RevokeOnlineRequest *) request,
                                    s_serials, s_card_uuid);
}

static tsr_status_t
s_start_phone (tsr_call_t *call, const ProtobufCMessage *request)
{
    return revocation_start_phone_check (
        call, (const Tessera__V1__StartPhoneChallengeRequest *) request, s_serials);
}

static tsr_status_t
s_answer_phone (tsr_call_t *call, const ProtobufCMessage *request)
{
    return revocation_answer_phone_check (
        call, (const Tessera__V1__AnswerPhoneChallengeRequest *) request);
}

static tsr_status_t
s_record_phone (tsr_call_t *call, const ProtobufCMessage *request)
{
    return revocation_record_phone_check (
        call, (const Tessera__V1__RecordPhoneRevocationRequest *) request, s_serials,
        s_card_uuid);
}

static tsr_status_t
s_paper (tsr_call_t *call, const ProtobufCMessage *request)
{
    char form_sha256 [65];
    return revocation_paper_check (
        call, (const Tessera__V1__RecordPaperRevocationRequest *) request, form_sha256,
        s_serials, s_card_uuid);
}

static tsr_status_t
s_decide (tsr_call_t *call, const ProtobufCMessage *request)
{
    return revocation_decide_check (call, (const Tessera__V1__DecideRevocationRequest *) request);
}

static tsr_status_t
s_list (tsr_call_t *call, const ProtobufCMessage *request)
{
    int64_t after_seconds, after_seq;
    return revocation_list_check (call, (const Tessera__V1__ListRevocationsRequest *) request,
                                  &after_seconds, &after_seq);
}

static const fuzz_payload_check_t s_checks [] = {
    { "RevokeOnline", &tessera__v1__revoke_online_request__descriptor, s_online },
    { "StartPhoneChallenge", &tessera__v1__start_phone_challenge_request__descriptor,
      s_start_phone },
    { "AnswerPhoneChallenge", &tessera__v1__answer_phone_challenge_request__descriptor,
      s_answer_phone },
    { "RecordPhoneRevocation", &tessera__v1__record_phone_revocation_request__descriptor,
      s_record_phone },
    { "RecordPaperRevocation", &tessera__v1__record_paper_revocation_request__descriptor,
      s_paper },
    { "DecideRevocation", &tessera__v1__decide_revocation_request__descriptor, s_decide },
    { "ListRevocations", &tessera__v1__list_revocations_request__descriptor, s_list },
};

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_payload_run (&tessera__v1__revocation__descriptor, s_checks,
                      sizeof s_checks / sizeof s_checks [0], data, size);
    return 0;
}
