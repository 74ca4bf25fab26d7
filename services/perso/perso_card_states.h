/*  perso_card_states: the one table of legal card transitions (DESIGN 5b),
    enforced here and nowhere else.

    Two lists, as Dogtag's TPS keeps them: transitions that are the result
    of an operation on or for the card (personalisation, shipment,
    activation, a returned parcel), made by perso itself; and transitions
    an operator asks for with ChangeCardState, each with the roles that may
    ask. A suspended card goes back only to the state it came from (the
    SUSPENDED -> X rows are "only to the previous state").
*/
#ifndef PERSO_CARD_STATES_H
#define PERSO_CARD_STATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tessera/v1/perso.pb-c.h"

typedef Tessera__V1__CardState perso_card_state_t;

#define PERSO_CARD_FORMATTED TESSERA__V1__CARD_STATE__CARD_STATE_FORMATTED
#define PERSO_CARD_PERSONALISED TESSERA__V1__CARD_STATE__CARD_STATE_PERSONALISED
#define PERSO_CARD_SHIPPED TESSERA__V1__CARD_STATE__CARD_STATE_SHIPPED
#define PERSO_CARD_ACTIVE TESSERA__V1__CARD_STATE__CARD_STATE_ACTIVE
#define PERSO_CARD_SUSPENDED TESSERA__V1__CARD_STATE__CARD_STATE_SUSPENDED
#define PERSO_CARD_LOST TESSERA__V1__CARD_STATE__CARD_STATE_LOST
#define PERSO_CARD_DAMAGED TESSERA__V1__CARD_STATE__CARD_STATE_DAMAGED
#define PERSO_CARD_RETURNED TESSERA__V1__CARD_STATE__CARD_STATE_RETURNED
#define PERSO_CARD_DESTROYED TESSERA__V1__CARD_STATE__CARD_STATE_DESTROYED

typedef enum {
    PERSO_BY_OPERATOR = TESSERA__V1__CARD_TRANSITION_KIND__CARD_TRANSITION_KIND_OPERATOR,
    PERSO_BY_CARD_OPERATION = TESSERA__V1__CARD_TRANSITION_KIND__CARD_TRANSITION_KIND_CARD_OPERATION,
} perso_transition_kind_t;

typedef struct {
    perso_card_state_t from;
    perso_card_state_t to;
    perso_transition_kind_t kind;
    uint32_t roles;                 //  operator rows: TSR_ROLE_* that may ask
    bool only_to_previous_state;    //  SUSPENDED -> X: X must be suspended_from
} perso_transition_t;

//  The table, operator rows then card-operation rows.
const perso_transition_t *perso_card_transitions (size_t *count);

//  Why a transition is refused.
typedef enum {
    PERSO_TRANSITION_OK = 0,
    PERSO_TRANSITION_NOT_LISTED,    //  no such row of that kind
    PERSO_TRANSITION_NOT_PREVIOUS,  //  a resume to another state than suspended_from
    PERSO_TRANSITION_ROLE,          //  the caller holds none of the row's roles
} perso_transition_check_t;

//  May the card go from -> to by kind? roles: the caller's (operator
//  rows); suspended_from: the card's, for a resume.
perso_transition_check_t perso_card_transition_check (perso_card_state_t from,
                                                      perso_card_state_t to,
                                                      perso_transition_kind_t kind,
                                                      uint32_t roles,
                                                      perso_card_state_t suspended_from,
                                                      const perso_transition_t **row_p);
//  The union of every operator row's roles (ChangeCardState's bus roles).
uint32_t perso_card_operator_roles (void);
//  "personalised" ...
const char *perso_card_state_name (perso_card_state_t state);
//  Is state one of the nine? (1..9)
bool perso_card_state_valid (int state);

#endif
