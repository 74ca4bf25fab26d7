/*  perso_recovery_view: a key recovery as KeyRecovery, GetKeyRecovery and
    ListEscrowedKeys (see perso_recovery.h).
*/
#include "perso_input.h"
#include "perso_recovery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define S_NOT_FOUND TESSERA__V1__STATUS__STATUS_NOT_FOUND
#define S_UNIX(column) "coalesce(extract(epoch FROM " column ")::bigint, 0)"

static int64_t
s_int (PGresult *res, int row, int column)
{
    return strtoll (PQgetvalue (res, row, column), NULL, 10);
}

tsr_status_t
perso_recovery_reply (tsr_call_t *call, const char *recovery_id, const char *message)
{
    const char *values [] = { recovery_id };
    PGresult *res = tsr_db_query (call->db,
        "SELECT recovery_id, person_id, key_id, purpose, reason, reference, state,"
        " requested_by_operator_id, " S_UNIX ("requested_at") ", " S_UNIX ("delivered_at") ","
        " (SELECT count(*) FROM escrowed_keys e WHERE e.person_id = r.person_id AND e.state = 2"
        "   AND e.retain_until > now() AND (r.key_id = '' OR e.key_id = r.key_id))"
        " FROM key_recoveries r WHERE recovery_id = $1", 1, values);
    PGresult *approvals = res ? tsr_db_query (call->db,
        "SELECT operator_id, " S_UNIX ("approved_at") " FROM key_recovery_approvals"
        " WHERE recovery_id = $1 ORDER BY approved_at, operator_id", 1, values) : NULL;
    tsr_status_t status;
    if (!res || !approvals)
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the key recoveries");
    else
    if (PQntuples (res) != 1)
        status = tsr_call_fail (call, S_NOT_FOUND, "no key recovery %s", recovery_id);
    else {
        Tessera__V1__KeyRecovery out = TESSERA__V1__KEY_RECOVERY__INIT;
        out.recovery_id = PQgetvalue (res, 0, 0);
        out.person_id = PQgetvalue (res, 0, 1);
        out.key_id = PQgetvalue (res, 0, 2);
        out.purpose = (Tessera__V1__KeyRecoveryPurpose) s_int (res, 0, 3);
        out.reason = PQgetvalue (res, 0, 4);
        out.reference = PQgetvalue (res, 0, 5);
        out.state = (Tessera__V1__KeyRecoveryState) s_int (res, 0, 6);
        out.requested_by_operator_id = PQgetvalue (res, 0, 7);
        out.requested_at_unix = s_int (res, 0, 8);
        out.delivered_at_unix = s_int (res, 0, 9);
        out.key_count = (uint32_t) s_int (res, 0, 10);
        size_t count = (size_t) PQntuples (approvals);
        Tessera__V1__KeyRecoveryApproval items [PERSO_RECOVERY_APPROVALS];
        Tessera__V1__KeyRecoveryApproval *list [PERSO_RECOVERY_APPROVALS];
        for (size_t i = 0; i < count && i < PERSO_RECOVERY_APPROVALS; i++) {
            tessera__v1__key_recovery_approval__init (&items [i]);
            items [i].operator_id = PQgetvalue (approvals, (int) i, 0);
            items [i].approved_at_unix = s_int (approvals, (int) i, 1);
            list [i] = &items [i];
        }
        out.n_approvals = count < PERSO_RECOVERY_APPROVALS ? count : PERSO_RECOVERY_APPROVALS;
        out.approvals = list;
        status = tsr_call_reply (call, &out.base, message);
    }
    PQclear (res);
    PQclear (approvals);
    return status;
}

tsr_status_t
perso_handle_get_key_recovery (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__GetKeyRecoveryRequest *in = (Tessera__V1__GetKeyRecoveryRequest *)
        tsr_call_unpack (call, &tessera__v1__get_key_recovery_request__descriptor, &status);
    if (!in)
        return status;
    status = perso_id_valid (in->recovery_id)
           ? perso_recovery_reply (call, in->recovery_id, "key recovery")
           : tsr_call_fail (call, S_INVALID, "recovery_id must be 1 to 64 of [A-Za-z0-9._:-]");
    tessera__v1__get_key_recovery_request__free_unpacked (in, NULL);
    return status;
}

tsr_status_t
perso_handle_list_escrowed_keys (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__ListEscrowedKeysRequest *in = (Tessera__V1__ListEscrowedKeysRequest *)
        tsr_call_unpack (call, &tessera__v1__list_escrowed_keys_request__descriptor, &status);
    if (!in)
        return status;
    PGresult *res = NULL;
    if (!perso_id_valid (in->person_id)) {
        status = tsr_call_fail (call, S_INVALID, "person_id must be 1 to 64 of [A-Za-z0-9._:-]");
        goto done;
    }
    const char *values [] = { in->person_id };
    res = tsr_db_query (call->db,
        "SELECT key_id, person_id, card_request_id, serial_hex, " S_UNIX ("created_at") ", "
        S_UNIX ("not_after") ", " S_UNIX ("retain_until") " FROM escrowed_keys"
        " WHERE person_id = $1 AND state = 2 ORDER BY created_at, key_id LIMIT 100", 1, values);
    if (!res) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the escrowed keys");
        goto done;
    }
    size_t count = (size_t) PQntuples (res);
    Tessera__V1__EscrowedKey *items = calloc (count + 1, sizeof *items);
    Tessera__V1__EscrowedKey **list = calloc (count + 1, sizeof *list);
    if (!items || !list) {
        free (items);
        free (list);
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        tessera__v1__escrowed_key__init (&items [i]);
        items [i].key_id = PQgetvalue (res, (int) i, 0);
        items [i].person_id = PQgetvalue (res, (int) i, 1);
        items [i].card_request_id = PQgetvalue (res, (int) i, 2);
        items [i].serial_hex = PQgetvalue (res, (int) i, 3);
        items [i].created_at_unix = s_int (res, (int) i, 4);
        items [i].not_after_unix = s_int (res, (int) i, 5);
        items [i].retain_until_unix = s_int (res, (int) i, 6);
        list [i] = &items [i];
    }
    Tessera__V1__ListEscrowedKeysReply out = TESSERA__V1__LIST_ESCROWED_KEYS_REPLY__INIT;
    out.n_keys = count;
    out.keys = list;
    status = tsr_call_reply (call, &out.base, "escrowed keys");
    free (items);
    free (list);
done:
    PQclear (res);
    tessera__v1__list_escrowed_keys_request__free_unpacked (in, NULL);
    return status;
}
