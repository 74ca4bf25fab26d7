/*  Unit tests for revocation_policy: questions and deadlines per level,
    reasons per channel, who may ask for whom, the random pick.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "revocation_policy.h"

#define S_REASON(name) TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_##name

static void
test_levels (void **state)
{
    (void) state;
    assert_int_equal (revocation_questions_for_level (1), 2);
    assert_int_equal (revocation_questions_for_level (2), 4);
    assert_int_equal (revocation_questions_for_level (3), 5);
    assert_int_equal (revocation_questions_for_level (0), 0);
    assert_int_equal (revocation_deadline_s (1, 0), 72 * 3600);
    assert_int_equal (revocation_deadline_s (2, 0), 24 * 3600);
    assert_int_equal (revocation_deadline_s (3, 0), 24 * 3600);
    assert_int_equal (revocation_deadline_s (1, 5), 5);
    assert_int_equal (revocation_deadline_s (4, 0), 0);
    assert_string_equal (revocation_level_stars (3), "***");
}

static void
test_reasons (void **state)
{
    (void) state;
    assert_null (revocation_reason_refusal (S_REASON (KEY_COMPROMISE), REVOCATION_CHANNEL_ONLINE));
    assert_null (revocation_reason_refusal (S_REASON (UNSPECIFIED), REVOCATION_CHANNEL_PAPER));
    assert_null (revocation_reason_refusal (S_REASON (PRIVILEGE_WITHDRAWN),
                                            REVOCATION_CHANNEL_PHONE));
    //  A hold by phone or paper, never online.
    assert_null (revocation_reason_refusal (S_REASON (CERTIFICATE_HOLD), REVOCATION_CHANNEL_PHONE));
    assert_non_null (revocation_reason_refusal (S_REASON (CERTIFICATE_HOLD),
                                                REVOCATION_CHANNEL_ONLINE));
    assert_non_null (revocation_reason_refusal (S_REASON (REMOVE_FROM_CRL),
                                                REVOCATION_CHANNEL_PHONE));
    assert_non_null (revocation_reason_refusal (S_REASON (CA_COMPROMISE), REVOCATION_CHANNEL_PAPER));
    assert_non_null (revocation_reason_refusal (S_REASON (AA_COMPROMISE), REVOCATION_CHANNEL_PAPER));
    assert_non_null (revocation_reason_refusal (S_REASON (NOT_SET), REVOCATION_CHANNEL_PAPER));
    assert_non_null (revocation_reason_refusal ((Tessera__V1__RevocationReason) 8,
                                                REVOCATION_CHANNEL_PAPER));
    assert_non_null (revocation_reason_refusal ((Tessera__V1__RevocationReason) 12,
                                                REVOCATION_CHANNEL_PAPER));
}

static void
test_requesters (void **state)
{
    (void) state;
    const char *why = NULL;
    revocation_party_t holder = { "p-h", "org-a", REVOCATION_ROLE_HOLDER };
    revocation_party_t other = { "p-o", "org-a", REVOCATION_ROLE_HOLDER };
    revocation_party_t rl = { "p-rl", "org-a", REVOCATION_ROLE_RL };
    revocation_party_t mc = { "p-mc", "org-a", REVOCATION_ROLE_MC };
    revocation_party_t mc_b = { "p-mcb", "org-b", REVOCATION_ROLE_MC };
    revocation_party_t rl_self = { "p-rl", "org-a", REVOCATION_ROLE_RL };
    assert_int_equal (revocation_requester_role (&holder, &holder, &why), REVOCATION_ROLE_HOLDER);
    assert_null (why);
    //  An RL asking for their own certificates asks as their holder.
    assert_int_equal (revocation_requester_role (&rl, &rl_self, &why), REVOCATION_ROLE_HOLDER);
    assert_int_equal (revocation_requester_role (&rl, &holder, &why), REVOCATION_ROLE_RL);
    assert_int_equal (revocation_requester_role (&mc, &holder, &why), REVOCATION_ROLE_MC);
    assert_int_equal (revocation_requester_role (&mc_b, &holder, &why), 0);
    assert_non_null (strstr (why, "own organisation"));
    assert_int_equal (revocation_requester_role (&other, &holder, &why), 0);
    assert_non_null (strstr (why, "their own"));
}

static void
test_pick (void **state)
{
    (void) state;
    assert_true (sodium_init () >= 0);
    uint32_t ids [] = { 1, 2, 3, 4, 5 };
    uint32_t picked [5];
    unsigned seen [6] = { 0 };
    for (int round = 0; round < 2000; round++) {
        assert_int_equal (revocation_pick (ids, 5, 4, picked), 0);
        for (int i = 0; i < 4; i++) {
            assert_true (picked [i] >= 1 && picked [i] <= 5);
            for (int j = 0; j < i; j++)
                assert_int_not_equal (picked [i], picked [j]);
            seen [picked [i]]++;
        }
    }
    //  Each question is left out about one time in five: asked about 1600
    //  times in 2000 rounds.
    for (int id = 1; id <= 5; id++)
        assert_true (seen [id] > 1450 && seen [id] < 1750);
    assert_int_equal (revocation_pick (ids, 3, 4, picked), -1);
    assert_int_equal (revocation_pick (ids, 5, 5, picked), 0);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_levels),
        cmocka_unit_test (test_reasons),
        cmocka_unit_test (test_requesters),
        cmocka_unit_test (test_pick),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
