/*  The operators table as Operator messages, and the record of a change
    (see enrollment_operators.h). Parameterised queries only.

    A change leaves three traces in its transaction: a row of
    operator_changes (the queryable history), an audit row (the hash-chained
    proof) and an "operator.*" event with an OperatorChanged payload (what
    other services follow). Either all of them exist or none.
*/
#include "enrollment_operators.h"
#include "tessera/audit.h"
#include "tessera/events.h"
#include "tessera/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
enrollment_operator_from_row (PGresult *res, int row, enrollment_operator_t *out)
{
    memset (out, 0, sizeof *out);
    tessera__v1__operator__init (&out->message);
    Tessera__V1__Operator *message = &out->message;
    message->operator_id = PQgetvalue (res, row, 0);
    message->name = PQgetvalue (res, row, 1);
    message->email = PQgetvalue (res, row, 2);
    message->language = PQgetvalue (res, row, 3);
    message->public_key = PQgetvalue (res, row, 4);
    //  The table's CHECK keeps the mask to bits 1..13.
    out->role_mask = (uint32_t) strtoul (PQgetvalue (res, row, 5), NULL, 10);
    for (int role = 1; role <= TSR_ROLE_MAX_VALUE; role++)
        if (out->role_mask & TSR_ROLE_BIT (role))
            out->roles [message->n_roles++] = (Tessera__V1__OperatorRole) role;
    message->roles = out->roles;
    message->disabled = strcmp (PQgetvalue (res, row, 6), "t") == 0;
    message->service_name = PQgetvalue (res, row, 7);
    message->created_at_unix = strtoll (PQgetvalue (res, row, 8), NULL, 10);
    message->created_by_operator_id = PQgetvalue (res, row, 9);
    message->updated_at_unix = strtoll (PQgetvalue (res, row, 10), NULL, 10);
}

int
enrollment_operator_lock (tsr_db_t *db, const char *operator_id, PGresult **res_p,
                          enrollment_operator_t *out)
{
    const char *values [] = { operator_id };
    *res_p = tsr_db_query (db, "SELECT " ENROLLMENT_OPERATOR_COLUMNS
                               " FROM operators WHERE operator_id = $1 FOR UPDATE", 1, values);
    if (!*res_p)
        return -1;
    if (PQntuples (*res_p) == 0) {
        PQclear (*res_p);
        *res_p = NULL;
        return 0;
    }
    enrollment_operator_from_row (*res_p, 0, out);
    return 1;
}

static int
s_history (tsr_db_t *db, const enrollment_operator_t *operator,
           const enrollment_operator_change_t *change)
{
    char role [8] = "", roles_after [16];
    if (change->role_bit)
        for (int value = 1; value <= TSR_ROLE_MAX_VALUE; value++)
            if (change->role_bit == TSR_ROLE_BIT (value))
                snprintf (role, sizeof role, "%d", value);
    snprintf (roles_after, sizeof roles_after, "%u", operator->role_mask);
    const char *values [] = {
        operator->message.operator_id, change->change, role [0] ? role : NULL, roles_after,
        change->reason ? change->reason : "", change->actor_id, change->actor_key,
    };
    PGresult *res = tsr_db_query (db,
        "INSERT INTO operator_changes (operator_id, change, role, roles_after, reason,"
        " changed_by, changed_by_key) VALUES ($1, $2, $3::smallint, $4::integer, $5, $6, $7)",
        7, values);
    PQclear (res);
    return res ? 0 : -1;
}

static int
s_audit (tsr_db_t *db, const enrollment_operator_t *operator,
         const enrollment_operator_change_t *change)
{
    char roles [256], action [64];
    tsr_roles_format (operator->role_mask, roles, sizeof roles);
    snprintf (action, sizeof action, "operator.%s", change->change);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "operator_id", operator->message.operator_id);
    tsr_json_str (json, "name", operator->message.name);
    tsr_json_str (json, "public_key", operator->message.public_key);
    if (change->role_bit)
        tsr_json_str (json, "role", tsr_role_name (change->role_bit));
    tsr_json_str (json, "roles", roles);
    tsr_json_bool (json, "disabled", operator->message.disabled);
    if (*operator->message.service_name)
        tsr_json_str (json, "service_name", operator->message.service_name);
    if (change->reason && *change->reason)
        tsr_json_str (json, "reason", change->reason);
    tsr_json_str (json, "changed_by_operator_id", change->actor_id);
    return json ? tsr_audit_append_json (db, change->actor_key, action,
                                         operator->message.operator_id, change->trace_id,
                                         &json) : -1;
}

static int
s_event (tsr_db_t *db, const enrollment_operator_t *operator,
         const enrollment_operator_change_t *change)
{
    Tessera__V1__OperatorChanged event = TESSERA__V1__OPERATOR_CHANGED__INIT;
    event.operator_id = operator->message.operator_id;
    event.public_key = operator->message.public_key;
    event.n_roles = operator->message.n_roles;
    event.roles = operator->message.roles;
    event.disabled = operator->message.disabled;
    event.service_name = operator->message.service_name;
    event.changed_by_operator_id = (char *) change->actor_id;
    //  The proto names four event types: a bootstrap is an addition.
    char type [TSR_EVENT_TYPE_MAX];
    snprintf (type, sizeof type, "operator.%s",
              strcmp (change->change, "bootstrapped") == 0 ? "added" : change->change);
    return tsr_events_append_message (db, type, operator->message.operator_id,
                                      change->trace_id, &event.base, NULL);
}

int
enrollment_operator_record (tsr_db_t *db, const enrollment_operator_t *operator,
                            const enrollment_operator_change_t *change)
{
    //  The event last: it holds the outbox counter until the commit.
    if (s_history (db, operator, change) || s_audit (db, operator, change)
    ||  s_event (db, operator, change))
        return -1;
    return 0;
}
