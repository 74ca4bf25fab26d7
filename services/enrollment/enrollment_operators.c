/*  Operators and roles: enrollment keeps the operators (a CURVE public key
    with a set of OperatorRole) and answers for them, to its own bus workers
    (enrollment_resolve_roles) and to every other service (GetOperator).

    Who may call what, from the rpc comments of enrollment.proto: the
    security officer changes operators; the security officer, the
    controller and the tessera services read them (the services to resolve
    their own callers' roles).

    The first security officers come from TSR_ENROLLMENT_BOOTSTRAP_KEYS: on
    the first call made with such a key, while no operator holds it, it is
    registered as "bootstrap security officer" with the security-officer
    role (audited as "operator.bootstrapped" by "system"). A key that is
    already an operator, disabled or not, is never bootstrapped again:
    disabling the bootstrap officer sticks. See docs/operators.md.
*/
#include "enrollment_operators.h"
#include "tessera/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OFFICER TSR_ROLE_SECURITY_OFFICER
#define S_READERS (TSR_ROLE_SECURITY_OFFICER | TSR_ROLE_CONTROLLER | TSR_ROLE_SERVICE)

const tsr_method_t enrollment_operator_methods [] = {
    { "AddOperator", enrollment_handle_add_operator, 0, S_OFFICER },
    { "GrantRole", enrollment_handle_grant_role, 0, S_OFFICER },
    { "RevokeRole", enrollment_handle_revoke_role, 0, S_OFFICER },
    { "DisableOperator", enrollment_handle_disable_operator, 0, S_OFFICER },
    { "GetOperator", enrollment_handle_get_operator, TSR_METHOD_READ_ONLY, S_READERS },
    { "ListOperators", enrollment_handle_list_operators, TSR_METHOD_READ_ONLY, S_READERS },
};
const size_t enrollment_operator_method_count =
    sizeof enrollment_operator_methods / sizeof enrollment_operator_methods [0];

#define S_BOOTSTRAP_NAME "bootstrap security officer"

//  The roles of the key, from the table: 1 found (*roles, 0 when disabled),
//  0 not found, -1 when the table can not be read.
static int
s_lookup (tsr_db_t *db, const char *caller_key, uint32_t *roles)
{
    const char *values [] = { caller_key };
    PGresult *res = tsr_db_query (db, "SELECT roles, disabled FROM operators WHERE public_key = $1",
                                  1, values);
    if (!res)
        return -1;
    int found = PQntuples (res) == 1;
    *roles = 0;
    if (found && strcmp (PQgetvalue (res, 0, 1), "f") == 0)
        *roles = (uint32_t) strtoul (PQgetvalue (res, 0, 0), NULL, 10);
    PQclear (res);
    return found;
}

static bool
s_bootstrap_key (const enrollment_state_t *state, const char *caller_key)
{
    for (int i = 0; i < state->bootstrap_key_count; i++)
        if (strcmp (state->bootstrap_keys [i], caller_key) == 0)
            return true;
    return false;
}

//  Registers caller_key as a security officer in a transaction of its own.
//  Two workers bootstrapping the same key at once: the second insert waits
//  for the first to commit and then does nothing (ON CONFLICT), so the key
//  is registered and audited once. 0, or -1.
static int
s_bootstrap (tsr_db_t *db, const char *caller_key)
{
    char operator_id [ENROLLMENT_OPERATOR_ID_SIZE], roles_text [16];
    enrollment_operator_id_new (operator_id);
    snprintf (roles_text, sizeof roles_text, "%u", (unsigned) S_OFFICER);
    const char *values [] = { operator_id, S_BOOTSTRAP_NAME, caller_key, roles_text,
                              ENROLLMENT_OPERATOR_SYSTEM };
    PGresult *res = NULL;
    if (tsr_db_begin (db))
        return -1;
    res = tsr_db_query (db,
        "INSERT INTO operators (operator_id, name, public_key, roles, created_by)"
        " VALUES ($1, $2, $3, $4::integer, $5) ON CONFLICT (public_key) DO NOTHING"
        " RETURNING " ENROLLMENT_OPERATOR_COLUMNS, 5, values);
    if (!res)
        goto failed;
    if (PQntuples (res) == 1) {
        enrollment_operator_t added;
        enrollment_operator_from_row (res, 0, &added);
        enrollment_operator_change_t change = {
            .change = "bootstrapped", .actor_key = ENROLLMENT_OPERATOR_SYSTEM,
            .actor_id = ENROLLMENT_OPERATOR_SYSTEM,
            .reason = "TSR_ENROLLMENT_BOOTSTRAP_KEYS",
        };
        if (enrollment_operator_record (db, &added, &change))
            goto failed;
        tsr_log_info (NULL, "enrollment.operator_bootstrapped", "operator_id", operator_id,
                      "public_key", caller_key, NULL);
    }
    PQclear (res);
    return tsr_db_commit (db) ? -1 : 0;
failed:
    tsr_log_error (NULL, "enrollment.bootstrap_failed", "reason", tsr_db_error (db), NULL);
    PQclear (res);
    tsr_db_rollback (db);
    return -1;
}

int
enrollment_resolve_roles (void *state, tsr_db_t *db, const char *caller_key, uint32_t *roles)
{
    *roles = 0;
    int found = s_lookup (db, caller_key, roles);
    if (found != 0)
        return found < 0 ? -1 : 0;
    if (!state || !s_bootstrap_key (state, caller_key))
        return 0;
    //  Read again after the bootstrap: another worker may have won.
    if (s_bootstrap (db, caller_key) || s_lookup (db, caller_key, roles) < 0)
        return -1;
    return 0;
}
