/*  mail_directory: what mail reads from the other services, as typed
    calls over tsr_peer (tessera/peer.h). Persons, organisations and operators come from
    enrollment, cards from perso, holder accounts from validation; nothing
    of theirs is copied into mail's schema beyond what a shipment or an
    e-mail printed. Same contract as tsr_peer_call; replies are freed by
    the caller with the message type's free_unpacked.
*/
#ifndef MAIL_DIRECTORY_H
#define MAIL_DIRECTORY_H

#include "tessera/peer.h"
#include "tessera/v1/enrollment.pb-c.h"
#include "tessera/v1/perso.pb-c.h"
#include "tessera/v1/validation.pb-c.h"

tsr_status_t mail_directory_person (tsr_peer_t *enrollment, const char *trace_id,
                                    const char *person_id, Tessera__V1__Person **reply_p,
                                    char *message, size_t message_size);
tsr_status_t mail_directory_organisation (tsr_peer_t *enrollment, const char *trace_id,
                                          const char *organisation_id,
                                          Tessera__V1__Organisation **reply_p,
                                          char *message, size_t message_size);
tsr_status_t mail_directory_operator_by_key (tsr_peer_t *enrollment, const char *trace_id,
                                             const char *public_key,
                                             Tessera__V1__Operator **reply_p,
                                             char *message, size_t message_size);
//  One page of the enabled operators holding role.
tsr_status_t mail_directory_operators (tsr_peer_t *enrollment, const char *trace_id,
                                       Tessera__V1__OperatorRole role, const char *page_token,
                                       Tessera__V1__ListOperatorsReply **reply_p,
                                       char *message, size_t message_size);
//  One page of an organisation's persons holding role.
tsr_status_t mail_directory_persons (tsr_peer_t *enrollment, const char *trace_id,
                                     const char *organisation_id, Tessera__V1__PersonRole role,
                                     const char *page_token,
                                     Tessera__V1__ListPersonsReply **reply_p,
                                     char *message, size_t message_size);
tsr_status_t mail_directory_card (tsr_peer_t *perso, const char *trace_id,
                                  const char *card_uuid, Tessera__V1__Card **reply_p,
                                  char *message, size_t message_size);
tsr_status_t mail_directory_account (tsr_peer_t *validation, const char *trace_id,
                                     const char *account_id,
                                     Tessera__V1__HolderAccount **reply_p,
                                     char *message, size_t message_size);

#endif
