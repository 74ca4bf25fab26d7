/*  revocation_checks: what every channel asks the other services before a
    request is recorded, each answer checked and each refusal worded the
    same way:

    - who the calling operator is (enrollment's GetOperator by the caller's
      authenticated key; never a payload claim);
    - who the requester and the holder are (enrollment's GetPerson), and
      whether the requester may ask for the holder's certificates
      (revocation_policy.h; a refusal is kept, revocation_refusal.h);
    - whether each certificate is the holder's and still revocable (ca's
      GetCertificate: holder_id must be the holder's person id), and the
      highest level among them;
    - whether a certificate is already in an open request here.

    Each returns STATUS_OK, or the status the handler answers with, its
    message set in call.
*/
#ifndef REVOCATION_CHECKS_H
#define REVOCATION_CHECKS_H

#include "revocation_input.h"
#include "tessera/bus.h"
#include "tessera/v1/enrollment.pb-c.h"

//  The caller's operator id (enrollment), into operator_id.
tsr_status_t revocation_caller_operator (tsr_call_t *call,
                                         char operator_id [REVOCATION_ID_MAX + 1]);

//  The requester, the holder and the role the requester asks as.
typedef struct {
    Tessera__V1__Person *requester;
    Tessera__V1__Person *holder;    //  may be the same person (not freed twice)
    int requester_role;             //  PersonRole: 1 RL, 2 MC, 3 the holder
} revocation_parties_t;

//  Reads both persons (holder_id empty: the requester) and checks the
//  requester may ask for the holder's certificates. requester_field and
//  holder_field name the request's fields in messages.
tsr_status_t revocation_parties_check (tsr_call_t *call, const char *requester_id,
                                       const char *requester_field, const char *holder_id,
                                       const char *holder_field, revocation_parties_t *parties);
void revocation_parties_release (revocation_parties_t *parties);

//  Checks each certificate at ca: issued here to holder_id, not revoked.
//  levels [i] gets its level (1..3; the deployment's when ca has none),
//  *max_level the highest.
tsr_status_t revocation_certificates_check (tsr_call_t *call, const char *holder_id,
                                            char serials [][REVOCATION_SERIAL_HEX_MAX + 1],
                                            size_t count, int *levels, int *max_level);

//  A request by card: the card (perso's GetCard) must be holder_id's; its
//  certificates go into serials (*count of them) and are checked as
//  revocation_certificates_check does, except that those revoked already
//  are left out. None left: FAILED_PRECONDITION.
tsr_status_t revocation_card_certificates (tsr_call_t *call, const char *card_uuid,
                                           const char *holder_id,
                                           char serials [][REVOCATION_SERIAL_HEX_MAX + 1],
                                           size_t *count, int *levels, int *max_level);

//  A request's certificates, named by *count serials, or by a card
//  (card_uuid not empty; serials and *count are then the card's): the
//  one or the other of the two checks above.
tsr_status_t revocation_request_certificates (tsr_call_t *call, const char *card_uuid,
                                              const char *holder_id,
                                              char serials [][REVOCATION_SERIAL_HEX_MAX + 1],
                                              size_t *count, int *levels, int *max_level);

//  Refuses (FAILED_PRECONDITION) a certificate already in a pending or
//  approved request.
tsr_status_t revocation_open_check (tsr_call_t *call,
                                    char serials [][REVOCATION_SERIAL_HEX_MAX + 1],
                                    size_t count);

#endif
