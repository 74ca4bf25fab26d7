/*  Unit tests for perso_card_states: the one transition table. Operator
    rows need one of their roles; card operations are never an operator's;
    a suspended card returns only to the state it came from; every state
    but destroyed has a way on, and destroyed is final.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "perso_card_states.h"
#include "tessera/roles.h"

static void
test_suspension_returns_to_where_the_card_was (void **state)
{
    (void) state;
    uint32_t desk = TSR_ROLE_SERVICE_DESK;
    assert_int_equal (perso_card_transition_check (PERSO_CARD_ACTIVE, PERSO_CARD_SUSPENDED,
                                                   PERSO_BY_OPERATOR, desk, 0, NULL),
                      PERSO_TRANSITION_OK);
    assert_int_equal (perso_card_transition_check (PERSO_CARD_SUSPENDED, PERSO_CARD_ACTIVE,
                                                   PERSO_BY_OPERATOR, desk, PERSO_CARD_ACTIVE,
                                                   NULL), PERSO_TRANSITION_OK);
    assert_int_equal (perso_card_transition_check (PERSO_CARD_SUSPENDED, PERSO_CARD_SHIPPED,
                                                   PERSO_BY_OPERATOR, desk, PERSO_CARD_ACTIVE,
                                                   NULL), PERSO_TRANSITION_NOT_PREVIOUS);
    assert_int_equal (perso_card_transition_check (PERSO_CARD_SUSPENDED, PERSO_CARD_SHIPPED,
                                                   PERSO_BY_OPERATOR, desk, PERSO_CARD_SHIPPED,
                                                   NULL), PERSO_TRANSITION_OK);
}

static void
test_roles_and_kinds_are_kept_apart (void **state)
{
    (void) state;
    //  A perso operator may not suspend; nobody activates by hand.
    assert_int_equal (perso_card_transition_check (PERSO_CARD_ACTIVE, PERSO_CARD_SUSPENDED,
                                                   PERSO_BY_OPERATOR, TSR_ROLE_PERSO, 0, NULL),
                      PERSO_TRANSITION_ROLE);
    assert_int_equal (perso_card_transition_check (PERSO_CARD_SHIPPED, PERSO_CARD_ACTIVE,
                                                   PERSO_BY_OPERATOR, UINT32_MAX, 0, NULL),
                      PERSO_TRANSITION_NOT_LISTED);
    assert_int_equal (perso_card_transition_check (PERSO_CARD_SHIPPED, PERSO_CARD_ACTIVE,
                                                   PERSO_BY_CARD_OPERATION, 0, 0, NULL),
                      PERSO_TRANSITION_OK);
    assert_int_equal (perso_card_transition_check (PERSO_CARD_FORMATTED,
                                                   PERSO_CARD_PERSONALISED, PERSO_BY_OPERATOR,
                                                   UINT32_MAX, 0, NULL),
                      PERSO_TRANSITION_NOT_LISTED);
    uint32_t roles = perso_card_operator_roles ();
    assert_true (roles & TSR_ROLE_SERVICE_DESK);
    assert_false (roles & TSR_ROLE_CONTROLLER);
}

static void
test_every_state_but_destroyed_leads_somewhere (void **state)
{
    (void) state;
    size_t count = 0;
    const perso_transition_t *table = perso_card_transitions (&count);
    for (int from = 1; from <= 9; from++) {
        bool out = false;
        for (size_t i = 0; i < count; i++) {
            assert_true (perso_card_state_valid ((int) table [i].from));
            assert_true (perso_card_state_valid ((int) table [i].to));
            assert_int_not_equal (table [i].from, table [i].to);
            if (table [i].kind == PERSO_BY_OPERATOR)
                assert_int_not_equal (table [i].roles, 0);
            else
                assert_int_equal (table [i].roles, 0);
            if ((int) table [i].from == from)
                out = true;
        }
        assert_true (from == PERSO_CARD_DESTROYED ? !out : out);
    }
    assert_string_equal (perso_card_state_name (PERSO_CARD_RETURNED), "returned");
    assert_false (perso_card_state_valid (0));
    assert_false (perso_card_state_valid (10));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_suspension_returns_to_where_the_card_was),
        cmocka_unit_test (test_roles_and_kinds_are_kept_apart),
        cmocka_unit_test (test_every_state_but_destroyed_leads_somewhere),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
