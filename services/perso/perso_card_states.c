/*  perso_card_states: the transition table (see perso_card_states.h).
    Keep docs/perso.md's table in step with this one.
*/
#include "perso_card_states.h"
#include "tessera/roles.h"

#define S_DESK TSR_ROLE_SERVICE_DESK
#define S_REVOCATION TSR_ROLE_REVOCATION
#define S_PERSO TSR_ROLE_PERSO
#define S_SHIPPING TSR_ROLE_SHIPPING
#define S_OP PERSO_BY_OPERATOR
#define S_CARD PERSO_BY_CARD_OPERATION

//  Suspension and resume: also the revocation service's key, carrying out
//  a suspension an operator recorded there (SuspendCertificates).
#define S_SUSPEND (S_DESK | S_REVOCATION | TSR_ROLE_SERVICE)

static const perso_transition_t s_table [] = {
    //  --- Operator-made (ChangeCardState) --------------------------------
    //  Suspension: the service desk (holder's call) or revocation.
    { PERSO_CARD_PERSONALISED, PERSO_CARD_SUSPENDED, S_OP, S_SUSPEND, false },
    { PERSO_CARD_SHIPPED, PERSO_CARD_SUSPENDED, S_OP, S_SUSPEND, false },
    { PERSO_CARD_ACTIVE, PERSO_CARD_SUSPENDED, S_OP, S_SUSPEND, false },
    //  Resume: back to where it was, nowhere else.
    { PERSO_CARD_SUSPENDED, PERSO_CARD_PERSONALISED, S_OP, S_SUSPEND, true },
    { PERSO_CARD_SUSPENDED, PERSO_CARD_SHIPPED, S_OP, S_SUSPEND, true },
    { PERSO_CARD_SUSPENDED, PERSO_CARD_ACTIVE, S_OP, S_SUSPEND, true },
    //  Lost: declared by the holder (desk) or found in a revocation.
    { PERSO_CARD_SHIPPED, PERSO_CARD_LOST, S_OP, S_DESK | S_REVOCATION | S_SHIPPING, false },
    { PERSO_CARD_ACTIVE, PERSO_CARD_LOST, S_OP, S_DESK | S_REVOCATION, false },
    { PERSO_CARD_SUSPENDED, PERSO_CARD_LOST, S_OP, S_DESK | S_REVOCATION, false },
    //  Damaged: seen at the bureau, in the post or by the holder.
    { PERSO_CARD_PERSONALISED, PERSO_CARD_DAMAGED, S_OP, S_PERSO | S_SHIPPING, false },
    { PERSO_CARD_SHIPPED, PERSO_CARD_DAMAGED, S_OP, S_DESK | S_SHIPPING, false },
    { PERSO_CARD_ACTIVE, PERSO_CARD_DAMAGED, S_OP, S_DESK, false },
    { PERSO_CARD_SUSPENDED, PERSO_CARD_DAMAGED, S_OP, S_DESK, false },
    { PERSO_CARD_RETURNED, PERSO_CARD_DAMAGED, S_OP, S_PERSO | S_SHIPPING, false },
    //  Returned: a parcel back at the bureau, a card handed back.
    { PERSO_CARD_SHIPPED, PERSO_CARD_RETURNED, S_OP, S_SHIPPING, false },
    { PERSO_CARD_ACTIVE, PERSO_CARD_RETURNED, S_OP, S_DESK | S_SHIPPING, false },
    { PERSO_CARD_SUSPENDED, PERSO_CARD_RETURNED, S_OP, S_DESK | S_SHIPPING, false },
    //  Destroyed: only a card the bureau holds (a lost card found again).
    { PERSO_CARD_PERSONALISED, PERSO_CARD_DESTROYED, S_OP, S_PERSO, false },
    { PERSO_CARD_LOST, PERSO_CARD_DESTROYED, S_OP, S_PERSO | S_SHIPPING, false },
    { PERSO_CARD_RETURNED, PERSO_CARD_DESTROYED, S_OP, S_PERSO | S_SHIPPING, false },
    { PERSO_CARD_DAMAGED, PERSO_CARD_DESTROYED, S_OP, S_PERSO | S_SHIPPING, false },

    //  --- Card operations (never through ChangeCardState) ---------------
    //  A personalisation job succeeded.
    { PERSO_CARD_FORMATTED, PERSO_CARD_PERSONALISED, S_CARD, 0, false },
    //  Mail posted the card (its "card.shipped"), again after a return.
    { PERSO_CARD_PERSONALISED, PERSO_CARD_SHIPPED, S_CARD, 0, false },
    { PERSO_CARD_RETURNED, PERSO_CARD_SHIPPED, S_CARD, 0, false },
    //  The post brought the parcel back (mail's "shipment.returned").
    { PERSO_CARD_SHIPPED, PERSO_CARD_RETURNED, S_CARD, 0, false },
    //  The holder activated it with the activation code: after shipment,
    //  or handed over at the desk without shipment.
    { PERSO_CARD_SHIPPED, PERSO_CARD_ACTIVE, S_CARD, 0, false },
    { PERSO_CARD_PERSONALISED, PERSO_CARD_ACTIVE, S_CARD, 0, false },
};

const perso_transition_t *
perso_card_transitions (size_t *count)
{
    *count = sizeof s_table / sizeof s_table [0];
    return s_table;
}

perso_transition_check_t
perso_card_transition_check (perso_card_state_t from, perso_card_state_t to,
                             perso_transition_kind_t kind, uint32_t roles,
                             perso_card_state_t suspended_from, const perso_transition_t **row_p)
{
    if (row_p)
        *row_p = NULL;
    for (size_t i = 0; i < sizeof s_table / sizeof s_table [0]; i++) {
        const perso_transition_t *row = &s_table [i];
        if (row->from != from || row->to != to || row->kind != kind)
            continue;
        if (row_p)
            *row_p = row;
        if (row->only_to_previous_state && suspended_from != to)
            return PERSO_TRANSITION_NOT_PREVIOUS;
        if (kind == PERSO_BY_OPERATOR && !(row->roles & roles))
            return PERSO_TRANSITION_ROLE;
        return PERSO_TRANSITION_OK;
    }
    return PERSO_TRANSITION_NOT_LISTED;
}

uint32_t
perso_card_operator_roles (void)
{
    uint32_t roles = 0;
    for (size_t i = 0; i < sizeof s_table / sizeof s_table [0]; i++)
        if (s_table [i].kind == PERSO_BY_OPERATOR)
            roles |= s_table [i].roles;
    return roles;
}

const char *
perso_card_state_name (perso_card_state_t state)
{
    static const char *names [] = {
        "unspecified", "formatted", "personalised", "shipped", "active", "suspended", "lost",
        "damaged", "returned", "destroyed" };
    return perso_card_state_valid ((int) state) ? names [state] : "unknown";
}

bool
perso_card_state_valid (int state)
{
    return state >= 1 && state <= 9;
}
