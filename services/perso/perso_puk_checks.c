/*  What StartPukRelease and ReleasePuk both check before a PUK may leave
    perso: who the holder is, that the card is theirs and in a state to be
    unblocked, that no released PUK still awaits its change, and the
    holder's lockout (wrong answer sets counted in a window; the third
    locks releases for TSR_PERSO_PUK_LOCK_S).
*/
#include "perso_caller.h"
#include "perso_input.h"
#include "perso_puk.h"
#include "perso_records.h"
#include "tessera/log.h"
#include "tessera/roles.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define S_NOT_FOUND TESSERA__V1__STATUS__STATUS_NOT_FOUND

size_t
perso_puk_questions_for_level (int level)
{
    return level == 1 ? 2 : level == 2 ? 4 : level == 3 ? 5 : 0;
}

tsr_status_t
perso_puk_holder_from (tsr_call_t *call, const char *account_id, const char *person_id,
                       perso_puk_holder_t *holder)
{
    memset (holder, 0, sizeof *holder);
    if (call->caller_roles & TSR_ROLE_SERVICE) {
        //  The portal speaks for its logged-in holder's account.
        if (*person_id)
            return tsr_call_fail (call, S_INVALID, "person_id is for the phone channel: the "
                                  "portal names the holder's account_id");
        if (!perso_id_valid (account_id))
            return tsr_call_fail (call, S_INVALID, "account_id must be 1 to 64 of "
                                  "[A-Za-z0-9._:-]");
        holder->channel = PERSO_PUK_CHANNEL_PORTAL;
        snprintf (holder->account_id, sizeof holder->account_id, "%s", account_id);
        return S_OK;
    }
    if (*account_id)
        return tsr_call_fail (call, S_INVALID, "account_id is for the portal: on the phone, "
                              "name the caller's person_id");
    if (!perso_id_valid (person_id))
        return tsr_call_fail (call, S_INVALID, "person_id must be 1 to 64 of [A-Za-z0-9._:-]");
    holder->channel = PERSO_PUK_CHANNEL_PHONE;
    snprintf (holder->person_id, sizeof holder->person_id, "%s", person_id);
    return S_OK;
}

//  The card's level and PUK version, and when a release awaits its change,
//  when it was made ("" when none). 0, or -1.
static int
s_card_extra (tsr_db_t *db, const char *uuid, perso_puk_card_t *card, char awaiting [32])
{
    const char *values [] = { uuid };
    PGresult *res = tsr_db_query (db,
        "SELECT c.level, c.puk_version,"
        " (SELECT to_char(r.released_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"')"
        "  FROM puk_releases r WHERE r.card_uuid = c.card_uuid AND r.changed_at IS NULL)"
        " FROM cards c WHERE c.card_uuid = $1", 1, values);
    if (!res || PQntuples (res) != 1) {
        PQclear (res);
        return -1;
    }
    card->level = (int) strtol (PQgetvalue (res, 0, 0), NULL, 10);
    card->puk_version = (uint32_t) strtoul (PQgetvalue (res, 0, 1), NULL, 10);
    snprintf (awaiting, 32, "%s", PQgetisnull (res, 0, 2) ? "" : PQgetvalue (res, 0, 2));
    PQclear (res);
    return 0;
}

tsr_status_t
perso_puk_card_check (tsr_call_t *call, const char *card_uuid, perso_puk_holder_t *holder,
                      perso_puk_card_t *card)
{
    char uuid [37] = "", awaiting [32] = "";
    size_t i = 0;
    for (; card_uuid [i] && i < 36; i++)
        uuid [i] = (char) (card_uuid [i] >= 'A' && card_uuid [i] <= 'F' ? card_uuid [i] + 32
                                                                        : card_uuid [i]);
    uuid [i] = 0;
    int found = perso_card_row_load (call->db, uuid, true, &card->row);
    if (found < 0)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the card");
    bool portal = holder->channel == PERSO_PUK_CHANNEL_PORTAL;
    bool theirs = found && (portal ? strcmp (card->row.account_id, holder->account_id) == 0
                                   : strcmp (card->row.person_id, holder->person_id) == 0);
    if (!theirs) {
        //  Another holder's card looks like no card, and the try is kept.
        if (found) {
            tsr_json_t *json = tsr_json_new ();
            tsr_json_str (json, portal ? "account_id" : "person_id",
                          portal ? holder->account_id : holder->person_id);
            tsr_json_int (json, "channel", holder->channel);
            perso_refusal_record (call, "perso.puk_release_not_holder", uuid, &json);
        }
        return tsr_call_fail (call, S_NOT_FOUND, "no card %s for %s %s", uuid,
                              portal ? "account" : "person",
                              portal ? holder->account_id : holder->person_id);
    }
    snprintf (holder->person_id, sizeof holder->person_id, "%s", card->row.person_id);
    perso_card_state_t state = card->row.state;
    if (state != PERSO_CARD_PERSONALISED && state != PERSO_CARD_SHIPPED
    &&  state != PERSO_CARD_ACTIVE)
        return tsr_call_fail (call, S_PRECONDITION, "card %s is %s: only a personalised, "
                              "shipped or active card has its PUK released", uuid,
                              perso_card_state_name (state));
    if (s_card_extra (call->db, uuid, card, awaiting))
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the card");
    if (*awaiting)
        return tsr_call_fail (call, S_PRECONDITION, "the PUK of card %s was released on %s and "
                              "has not been changed since: it is released once, and changes "
                              "when the card bureau next meets the card", uuid, awaiting);
    return S_OK;
}

static int
s_lockout_read (tsr_call_t *call, const char *person_id, perso_puk_lockout_t *out)
{
    perso_state_t *state = call->state;
    char lock_s [24];
    snprintf (lock_s, sizeof lock_s, "%ld", state->puk_lock_s);
    const char *values [] = { person_id, lock_s };
    //  Failures count within a window of lock_s from the first one.
    PGresult *res = tsr_db_query (call->db,
        "SELECT CASE WHEN window_started_at > now() - make_interval(secs => $2::int)"
        "  THEN failures ELSE 0 END,"
        " CASE WHEN locked_until > now() THEN floor(extract(epoch FROM locked_until))::bigint"
        "  ELSE 0 END"
        " FROM puk_lockouts WHERE person_id = $1", 2, values);
    if (!res)
        return -1;
    out->failures = PQntuples (res) ? (int) strtol (PQgetvalue (res, 0, 0), NULL, 10) : 0;
    out->locked_until_unix = PQntuples (res) ? strtoll (PQgetvalue (res, 0, 1), NULL, 10) : 0;
    PQclear (res);
    return 0;
}

tsr_status_t
perso_puk_lockout_check (tsr_call_t *call, const char *card_uuid, const char *person_id,
                         perso_puk_lockout_t *lockout)
{
    if (s_lockout_read (call, person_id, lockout))
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the holder's lockout");
    if (!lockout->locked_until_unix)
        return S_OK;
    char until [40] = "";
    time_t when = (time_t) lockout->locked_until_unix;
    struct tm tm;
    if (!gmtime_r (&when, &tm) || !strftime (until, sizeof until, "%Y-%m-%d %H:%M UTC", &tm))
        snprintf (until, sizeof until, "%lld", (long long) lockout->locked_until_unix);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "person_id", person_id);
    tsr_json_int (json, "locked_until_unix", lockout->locked_until_unix);
    perso_refusal_record (call, "perso.puk_release_refused_locked", card_uuid, &json);
    return tsr_call_fail (call, S_PRECONDITION, "PUK releases are locked for this holder after "
                          "too many wrong answers, until %s", until);
}

int
perso_puk_lockout_fail (tsr_call_t *call, const char *person_id, perso_puk_lockout_t *out,
                        bool *locked_now)
{
    perso_state_t *state = call->state;
    char lock_s [24];
    snprintf (lock_s, sizeof lock_s, "%ld", state->puk_lock_s);
    const char *values [] = { person_id, lock_s };
    //  A failure after the window closed starts a new one.
    PGresult *res = tsr_db_query (call->db,
        "INSERT INTO puk_lockouts AS l (person_id, failures, window_started_at)"
        " VALUES ($1, 1, now())"
        " ON CONFLICT (person_id) DO UPDATE SET"
        "  failures = CASE WHEN l.window_started_at > now() - make_interval(secs => $2::int)"
        "   THEN l.failures + 1 ELSE 1 END,"
        "  window_started_at = CASE WHEN l.window_started_at > now()"
        "   - make_interval(secs => $2::int) THEN l.window_started_at ELSE now() END"
        " RETURNING failures", 2, values);
    if (!res || PQntuples (res) != 1) {
        PQclear (res);
        return -1;
    }
    out->failures = (int) strtol (PQgetvalue (res, 0, 0), NULL, 10);
    out->locked_until_unix = 0;
    PQclear (res);
    *locked_now = out->failures >= state->puk_max_failures;
    if (!*locked_now)
        return 0;
    //  The one that reaches the maximum locks and starts the count again.
    res = tsr_db_query (call->db,
        "UPDATE puk_lockouts SET failures = 0, window_started_at = NULL,"
        " locked_until = now() + make_interval(secs => $2::int) WHERE person_id = $1"
        " RETURNING floor(extract(epoch FROM locked_until))::bigint", 2, values);
    if (!res || PQntuples (res) != 1) {
        PQclear (res);
        return -1;
    }
    out->locked_until_unix = strtoll (PQgetvalue (res, 0, 0), NULL, 10);
    PQclear (res);
    return 0;
}

int
perso_puk_lockout_clear (tsr_call_t *call, const char *person_id)
{
    const char *values [] = { person_id };
    PGresult *res = tsr_db_query (call->db,
        "UPDATE puk_lockouts SET failures = 0, window_started_at = NULL WHERE person_id = $1",
        1, values);
    PQclear (res);
    return res ? 0 : -1;
}
