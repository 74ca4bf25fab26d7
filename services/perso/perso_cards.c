/*  perso_cards: card rows, transitions, Card messages (see perso_cards.h).
*/
#include "perso_cards.h"
#include "perso_records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t
s_int (PGresult *res, int row, int column)
{
    return strtoll (PQgetvalue (res, row, column), NULL, 10);
}

int
perso_card_row_load (tsr_db_t *db, const char *card_uuid, bool lock, perso_card_row_t *row)
{
    memset (row, 0, sizeof *row);
    const char *values [] = { card_uuid };
    PGresult *res = tsr_db_query (db, lock
        ? "SELECT card_uuid, person_id, account_id, state, suspended_from_state,"
          " coalesce(activation_code_hash, ''), activation_failures, activation_locked"
          " FROM cards WHERE card_uuid = $1 FOR UPDATE"
        : "SELECT card_uuid, person_id, account_id, state, suspended_from_state,"
          " coalesce(activation_code_hash, ''), activation_failures, activation_locked"
          " FROM cards WHERE card_uuid = $1", 1, values);
    if (!res)
        return -1;
    int found = PQntuples (res) == 1;
    if (found) {
        snprintf (row->card_uuid, sizeof row->card_uuid, "%s", PQgetvalue (res, 0, 0));
        snprintf (row->person_id, sizeof row->person_id, "%s", PQgetvalue (res, 0, 1));
        snprintf (row->account_id, sizeof row->account_id, "%s", PQgetvalue (res, 0, 2));
        row->state = (perso_card_state_t) s_int (res, 0, 3);
        row->suspended_from = (perso_card_state_t) s_int (res, 0, 4);
        snprintf (row->activation_code_hash, sizeof row->activation_code_hash, "%s",
                  PQgetvalue (res, 0, 5));
        row->activation_failures = (int) s_int (res, 0, 6);
        row->activation_locked = PQgetvalue (res, 0, 7) [0] == 't';
    }
    PQclear (res);
    return found;
}

int
perso_card_apply (tsr_db_t *db, const perso_card_row_t *row, perso_card_state_t to,
                  perso_transition_kind_t kind, uint32_t roles, const perso_card_change_t *change)
{
    perso_transition_check_t check = perso_card_transition_check (row->state, to, kind, roles,
                                                                  row->suspended_from, NULL);
    if (check != PERSO_TRANSITION_OK)
        return (int) check;
    char from_text [8], to_text [8], kind_text [8], suspended [8];
    snprintf (from_text, sizeof from_text, "%d", (int) row->state);
    snprintf (to_text, sizeof to_text, "%d", (int) to);
    snprintf (kind_text, sizeof kind_text, "%d", (int) kind);
    snprintf (suspended, sizeof suspended, "%d",
              to == PERSO_CARD_SUSPENDED ? (int) row->state : 0);
    const char *reason = change->reason ? change->reason : "";
    const char *operator_id = change->operator_id ? change->operator_id : "";
    const char *update [] = { row->card_uuid, to_text, suspended, from_text };
    PGresult *res = tsr_db_query (db,
        "UPDATE cards SET state = $2, suspended_from_state = $3, updated_at = now()"
        " WHERE card_uuid = $1 AND state = $4", 4, update);
    bool ok = res && strcmp (PQcmdTuples (res), "1") == 0;
    PQclear (res);
    if (!ok)
        return -1;
    const char *history [] = { row->card_uuid, from_text, to_text, kind_text, operator_id, reason };
    res = tsr_db_query (db,
        "INSERT INTO card_history (card_uuid, from_state, to_state, kind, operator_id, reason)"
        " VALUES ($1, $2, $3, $4, $5, $6)", 6, history);
    PQclear (res);
    if (!res)
        return -1;
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "from", perso_card_state_name (row->state));
    tsr_json_str (json, "to", perso_card_state_name (to));
    tsr_json_str (json, "kind", kind == PERSO_BY_OPERATOR ? "operator" : "card-operation");
    tsr_json_str (json, "operator_id", operator_id);
    tsr_json_str (json, "reason", reason);
    Tessera__V1__CardStateChanged event = TESSERA__V1__CARD_STATE_CHANGED__INIT;
    event.card_uuid = (char *) row->card_uuid;
    event.person_id = (char *) row->person_id;
    event.from_state = row->state;
    event.to_state = to;
    event.kind = (Tessera__V1__CardTransitionKind) kind;
    event.operator_id = (char *) operator_id;
    event.reason = (char *) reason;
    if (perso_audit (db, change->actor, "perso.card_state_changed", row->card_uuid,
                     change->trace_id, &json)
    ||  perso_emit (db, "card.state_changed", row->card_uuid, change->trace_id, &event.base))
        return -1;
    return PERSO_TRANSITION_OK;
}

#define S_CARD_SELECT \
    "SELECT card_uuid, atr_hex, reader_name, card_request_id, person_id, organisation_id," \
    " level, state, suspended_from_state," \
    " coalesce(extract(epoch FROM activation_code_issued_at)::bigint, 0)," \
    " activation_failures, activation_locked," \
    " coalesce(extract(epoch FROM activated_at)::bigint, 0)," \
    " extract(epoch FROM personalised_at)::bigint, extract(epoch FROM updated_at)::bigint" \
    " FROM cards WHERE card_uuid = $1"

static int
s_certificates (tsr_db_t *db, const char *card_uuid, perso_card_view_t *view)
{
    const char *values [] = { card_uuid };
    view->certs_res = tsr_db_query (db,
        "SELECT slot, use, serial_hex, extract(epoch FROM not_after)::bigint, key_algorithm"
        " FROM card_certificates WHERE card_uuid = $1 ORDER BY slot", 1, values);
    if (!view->certs_res)
        return -1;
    size_t count = (size_t) PQntuples (view->certs_res);
    view->certs = calloc (count + 1, sizeof *view->certs);
    view->cert_list = calloc (count + 1, sizeof *view->cert_list);
    if (!view->certs || !view->cert_list)
        return -1;
    for (size_t i = 0; i < count; i++) {
        Tessera__V1__CardCertificate *cert = &view->certs [i];
        tessera__v1__card_certificate__init (cert);
        cert->slot = PQgetvalue (view->certs_res, (int) i, 0);
        cert->use = (Tessera__V1__CertificateUse) s_int (view->certs_res, (int) i, 1);
        cert->serial_hex = PQgetvalue (view->certs_res, (int) i, 2);
        cert->not_after_unix = s_int (view->certs_res, (int) i, 3);
        cert->key_algorithm = (Tessera__V1__CardKeyAlgorithm) s_int (view->certs_res, (int) i, 4);
        view->cert_list [i] = cert;
    }
    view->message.n_certificates = count;
    view->message.certificates = view->cert_list;
    return 0;
}

static int
s_history (tsr_db_t *db, const char *card_uuid, perso_card_view_t *view)
{
    const char *values [] = { card_uuid };
    view->history_res = tsr_db_query (db,
        "SELECT from_state, to_state, kind, operator_id, reason, extract(epoch FROM at)::bigint"
        " FROM card_history WHERE card_uuid = $1 ORDER BY seq", 1, values);
    if (!view->history_res)
        return -1;
    size_t count = (size_t) PQntuples (view->history_res);
    view->history = calloc (count + 1, sizeof *view->history);
    view->history_list = calloc (count + 1, sizeof *view->history_list);
    if (!view->history || !view->history_list)
        return -1;
    for (size_t i = 0; i < count; i++) {
        Tessera__V1__CardStateChange *change = &view->history [i];
        tessera__v1__card_state_change__init (change);
        change->from_state = (Tessera__V1__CardState) s_int (view->history_res, (int) i, 0);
        change->to_state = (Tessera__V1__CardState) s_int (view->history_res, (int) i, 1);
        change->kind = (Tessera__V1__CardTransitionKind) s_int (view->history_res, (int) i, 2);
        change->operator_id = PQgetvalue (view->history_res, (int) i, 3);
        change->reason = PQgetvalue (view->history_res, (int) i, 4);
        change->at_unix = s_int (view->history_res, (int) i, 5);
        view->history_list [i] = change;
    }
    view->message.n_history = count;
    view->message.history = view->history_list;
    return 0;
}

int
perso_card_view_load (tsr_db_t *db, const char *card_uuid, bool with_history,
                      perso_card_view_t *view)
{
    memset (view, 0, sizeof *view);
    tessera__v1__card__init (&view->message);
    const char *values [] = { card_uuid };
    view->card_res = tsr_db_query (db, S_CARD_SELECT, 1, values);
    if (!view->card_res)
        return -1;
    if (PQntuples (view->card_res) != 1)
        return 0;
    PGresult *res = view->card_res;
    Tessera__V1__Card *card = &view->message;
    card->card_uuid = PQgetvalue (res, 0, 0);
    card->atr_hex = PQgetvalue (res, 0, 1);
    card->reader_name = PQgetvalue (res, 0, 2);
    card->card_request_id = PQgetvalue (res, 0, 3);
    card->person_id = PQgetvalue (res, 0, 4);
    card->organisation_id = PQgetvalue (res, 0, 5);
    card->level = (Tessera__V1__PolicyLevel) s_int (res, 0, 6);
    card->state = (Tessera__V1__CardState) s_int (res, 0, 7);
    card->suspended_from_state = (Tessera__V1__CardState) s_int (res, 0, 8);
    card->activation_code_issued_at_unix = s_int (res, 0, 9);
    card->activation_failures = (uint32_t) s_int (res, 0, 10);
    card->activation_locked = PQgetvalue (res, 0, 11) [0] == 't';
    card->activated_at_unix = s_int (res, 0, 12);
    card->personalised_at_unix = s_int (res, 0, 13);
    card->updated_at_unix = s_int (res, 0, 14);
    if (s_certificates (db, card_uuid, view) || (with_history && s_history (db, card_uuid, view)))
        return -1;
    return 1;
}

void
perso_card_view_release (perso_card_view_t *view)
{
    PQclear (view->card_res);
    PQclear (view->certs_res);
    PQclear (view->history_res);
    free (view->certs);
    free (view->cert_list);
    free (view->history);
    free (view->history_list);
    memset (view, 0, sizeof *view);
}
