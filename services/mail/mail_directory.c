/*  mail_directory: typed reads from enrollment, perso and validation (see
    mail_directory.h).
*/
#include "mail_directory.h"

#define S_CALL(peer, method, request, type, trace_id, reply_p, message, size) \
    tsr_peer_call (peer, method, &(request).base, &tessera__v1__##type##__descriptor, NULL, \
                   trace_id, (ProtobufCMessage **) (reply_p), message, size)

tsr_status_t
mail_directory_person (tsr_peer_t *enrollment, const char *trace_id, const char *person_id,
                       Tessera__V1__Person **reply_p, char *message, size_t message_size)
{
    Tessera__V1__GetPersonRequest request = TESSERA__V1__GET_PERSON_REQUEST__INIT;
    request.person_id = (char *) person_id;
    return S_CALL (enrollment, "GetPerson", request, person, trace_id, reply_p, message,
                   message_size);
}

tsr_status_t
mail_directory_organisation (tsr_peer_t *enrollment, const char *trace_id,
                             const char *organisation_id, Tessera__V1__Organisation **reply_p,
                             char *message, size_t message_size)
{
    Tessera__V1__GetOrganisationRequest request = TESSERA__V1__GET_ORGANISATION_REQUEST__INIT;
    request.organisation_id = (char *) organisation_id;
    return S_CALL (enrollment, "GetOrganisation", request, organisation, trace_id, reply_p,
                   message, message_size);
}

tsr_status_t
mail_directory_operator_by_key (tsr_peer_t *enrollment, const char *trace_id,
                                const char *public_key, Tessera__V1__Operator **reply_p,
                                char *message, size_t message_size)
{
    Tessera__V1__GetOperatorRequest request = TESSERA__V1__GET_OPERATOR_REQUEST__INIT;
    request.public_key = (char *) public_key;
    return S_CALL (enrollment, "GetOperator", request, operator, trace_id, reply_p, message,
                   message_size);
}

tsr_status_t
mail_directory_operators (tsr_peer_t *enrollment, const char *trace_id,
                          Tessera__V1__OperatorRole role, const char *page_token,
                          Tessera__V1__ListOperatorsReply **reply_p,
                          char *message, size_t message_size)
{
    Tessera__V1__ListOperatorsRequest request = TESSERA__V1__LIST_OPERATORS_REQUEST__INIT;
    request.role = role;
    request.page_token = (char *) page_token;
    return S_CALL (enrollment, "ListOperators", request, list_operators_reply, trace_id, reply_p,
                   message, message_size);
}

tsr_status_t
mail_directory_persons (tsr_peer_t *enrollment, const char *trace_id,
                        const char *organisation_id, Tessera__V1__PersonRole role,
                        const char *page_token, Tessera__V1__ListPersonsReply **reply_p,
                        char *message, size_t message_size)
{
    Tessera__V1__ListPersonsRequest request = TESSERA__V1__LIST_PERSONS_REQUEST__INIT;
    request.organisation_id = (char *) organisation_id;
    request.role = role;
    request.page_token = (char *) page_token;
    return S_CALL (enrollment, "ListPersons", request, list_persons_reply, trace_id, reply_p,
                   message, message_size);
}

tsr_status_t
mail_directory_card (tsr_peer_t *perso, const char *trace_id, const char *card_uuid,
                     Tessera__V1__Card **reply_p, char *message, size_t message_size)
{
    Tessera__V1__GetCardRequest request = TESSERA__V1__GET_CARD_REQUEST__INIT;
    request.card_uuid = (char *) card_uuid;
    return S_CALL (perso, "GetCard", request, card, trace_id, reply_p, message, message_size);
}

tsr_status_t
mail_directory_account (tsr_peer_t *validation, const char *trace_id, const char *account_id,
                        Tessera__V1__HolderAccount **reply_p, char *message, size_t message_size)
{
    Tessera__V1__GetHolderAccountRequest request = TESSERA__V1__GET_HOLDER_ACCOUNT_REQUEST__INIT;
    request.account_id = (char *) account_id;
    return S_CALL (validation, "GetHolderAccount", request, holder_account, trace_id, reply_p,
                   message, message_size);
}
