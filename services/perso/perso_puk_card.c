/*  The card's next contact after a PUK release: ChangePuk (a perso
    operator, the card in a reader) and perso_puk_card_contact, the step
    itself for any code holding a card session.

    The released PUK (version v) is replaced on the card with version v+1
    by CHANGE REFERENCE DATA on key reference 81, the released one proving
    the change. When the card refuses the released PUK, an earlier contact
    may have changed it with its answer lost: the new PUK is tried in its
    place (new to new), which a card that has it accepts and which gives
    back the try the first refusal spent (only while a second refusal
    would leave the card a try). Nothing is recorded unless the
    card accepted; then the card's version, the release's change, the
    audit row and "puk.changed" go in one transaction.
*/
#include "perso_caller.h"
#include "perso_input.h"
#include "perso_pcsc.h"
#include "perso_piv.h"
#include "perso_puk.h"
#include "perso_records.h"
#include "perso_secrets.h"
#include "tessera/log.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define S_NOT_FOUND TESSERA__V1__STATUS__STATUS_NOT_FOUND

//  The card's PUK version, its holder and the awaiting release (0 when
//  none). 1 found (the card row locked), 0 unknown card, -1 error.
static int
s_awaiting (tsr_db_t *db, const char *uuid, uint32_t *version, long long *release_seq,
            char person_id [65])
{
    const char *values [] = { uuid };
    PGresult *res = tsr_db_query (db,
        "SELECT c.puk_version, c.person_id,"
        " (SELECT r.seq FROM puk_releases r WHERE r.card_uuid = c.card_uuid"
        "  AND r.changed_at IS NULL)"
        " FROM cards c WHERE c.card_uuid = $1 FOR UPDATE OF c", 1, values);
    if (!res)
        return -1;
    int found = PQntuples (res) == 1;
    if (found) {
        *version = (uint32_t) strtoul (PQgetvalue (res, 0, 0), NULL, 10);
        snprintf (person_id, 65, "%s", PQgetvalue (res, 0, 1));
        *release_seq = PQgetisnull (res, 0, 2) ? 0 : strtoll (PQgetvalue (res, 0, 2), NULL, 10);
    }
    PQclear (res);
    return found;
}

//  CHANGE REFERENCE DATA 81 from version to version + 1 on the card. 0, or
//  -1 with detail.
static int
s_change_on_card (perso_state_t *state, perso_card_t *card, const uint8_t uuid [16],
                  uint32_t version, char *detail, size_t detail_size)
{
    char released [PERSO_PIN_DIGITS + 1], next [PERSO_PIN_DIGITS + 1];
    int rc = -1;
    perso_piv_status_t status = { 0 };
    if (perso_diversify_puk_version (state->master_key, state->master_key_size, uuid, version,
                                     released)
    ||  perso_diversify_puk_version (state->master_key, state->master_key_size, uuid,
                                     version + 1, next)) {
        snprintf (detail, detail_size, "cannot derive the card's PUKs");
        goto done;
    }
    rc = perso_piv_change_reference (card, PERSO_PIV_REF_PUK, released, next, &status);
    //  Refused: perhaps changed already (a lost answer). Tried only while
    //  a refusal would still leave the card a try, so perso never blocks
    //  the PUK.
    if (rc && status.io == PERSO_IO_OK && (status.sw & 0xFFF0) == 0x63C0
    &&  (status.sw & 0x0F) >= 2)
        rc = perso_piv_change_reference (card, PERSO_PIV_REF_PUK, next, next, &status);
    if (rc)
        snprintf (detail, detail_size, "CHANGE REFERENCE DATA (PUK): %s", status.detail);
done:
    sodium_memzero (released, sizeof released);
    sodium_memzero (next, sizeof next);
    return rc;
}

int
perso_puk_card_contact (perso_state_t *state, tsr_db_t *db, perso_card_t *card,
                        const char *card_uuid, const char *actor, const char *trace_id,
                        uint32_t *version, char *detail, size_t detail_size)
{
    uint8_t uuid [16];
    long long release_seq = 0;
    char person_id [65] = "";
    int found = s_awaiting (db, card_uuid, version, &release_seq, person_id);
    if (found != 1) {
        snprintf (detail, detail_size, found ? "cannot read the card" : "unknown card %s",
                  card_uuid);
        return -1;
    }
    if (!release_seq)
        return 0;
    if (!state->have_master_key || perso_uuid_parse (card_uuid, uuid)) {
        snprintf (detail, detail_size, "perso cannot derive the card's PUK (is "
                  "TSR_PERSO_MASTER_KEY_FILE set?)");
        return -1;
    }
    if (s_change_on_card (state, card, uuid, *version, detail, detail_size))
        return -1;
    char to_text [16], seq_text [24];
    snprintf (to_text, sizeof to_text, "%u", *version + 1);
    snprintf (seq_text, sizeof seq_text, "%lld", release_seq);
    const char *values [] = { card_uuid, to_text, seq_text };
    PGresult *res = tsr_db_query (db,
        "WITH card AS (UPDATE cards SET puk_version = $2::int, updated_at = now()"
        "  WHERE card_uuid = $1 RETURNING card_uuid)"
        " UPDATE puk_releases SET changed_at = now(), changed_to_version = $2::int"
        " WHERE seq = $3::bigint AND card_uuid IN (SELECT card_uuid FROM card)", 3, values);
    bool updated = res && streq (PQcmdTuples (res), "1");
    PQclear (res);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_int (json, "from_version", *version);
    tsr_json_int (json, "to_version", *version + 1);
    tsr_json_int (json, "release_seq", release_seq);
    Tessera__V1__PukChanged event = TESSERA__V1__PUK_CHANGED__INIT;
    event.card_uuid = (char *) card_uuid;
    event.person_id = person_id;
    event.from_version = *version;
    event.to_version = *version + 1;
    if (!updated || perso_audit (db, actor, "perso.puk_changed", card_uuid, trace_id, &json)
    ||  perso_emit (db, "puk.changed", card_uuid, trace_id, &event.base)) {
        tsr_json_destroy (&json);
        snprintf (detail, detail_size, "the card has its new PUK but the change cannot be "
                  "recorded: %s", tsr_db_error (db));
        return -1;
    }
    tsr_log_info (trace_id, "perso.puk_changed", "card_uuid", card_uuid, "to_version", to_text,
                  NULL);
    *version += 1;
    return 1;
}

//  Connects to reader and checks the card in it is card_uuid (its CHUID's
//  GUID). STATUS_OK with the session open, or the refusal set.
static tsr_status_t
s_open (tsr_call_t *call, perso_pcsc_t *pcsc, const char *reader, const char *card_uuid,
        perso_card_t *card)
{
    perso_state_t *state = call->state;
    char atr [PERSO_ATR_HEX_SIZE], err [256] = "", guid_text [37] = "";
    if (perso_pcsc_connect (pcsc, reader, (int) state->card_wait_ms, atr, err, sizeof err)
        != PERSO_IO_OK)
        return tsr_call_fail (call, S_PRECONDITION, "%.200s", err);
    perso_piv_status_t status = { 0 };
    uint8_t chuid [PERSO_PIV_OBJECT_MAX], guid [PERSO_PIV_GUID_SIZE];
    size_t size = 0;
    bool found = false;
    if (perso_piv_select (card, &status)
    ||  perso_piv_get_data (card, PERSO_PIV_OBJ_CHUID, chuid, sizeof chuid, &size, &found,
                            &status))
        return tsr_call_fail (call, S_PRECONDITION, "the card in %s: %.180s", reader,
                              status.detail);
    if (!found || perso_piv_chuid_guid (chuid, size, guid) != 1
    ||  perso_uuid_format (guid, guid_text) || strcasecmp (guid_text, card_uuid) != 0)
        return tsr_call_fail (call, S_PRECONDITION, "the card in %s is not card %s (its CHUID "
                              "says %s)", reader, card_uuid, *guid_text ? guid_text : "nothing");
    return S_OK;
}

tsr_status_t
perso_handle_change_puk (tsr_call_t *call)
{
    perso_state_t *state = call->state;
    tsr_status_t status;
    Tessera__V1__ChangePukRequest *in = (Tessera__V1__ChangePukRequest *) tsr_call_unpack (
        call, &tessera__v1__change_puk_request__descriptor, &status);
    if (!in)
        return status;
    char uuid [37] = "", person_id [65] = "", detail [320] = "";
    uint32_t version = 0;
    long long release_seq = 0;
    perso_pcsc_t *pcsc = NULL;
    if (!perso_uuid_valid (in->card_uuid)) {
        status = tsr_call_fail (call, S_INVALID, "card_uuid must be a UUID (8-4-4-4-12 hex)");
        goto done;
    }
    if (!perso_reader_valid (in->reader_name)) {
        status = tsr_call_fail (call, S_INVALID, "reader_name must be 1 to 127 printable "
                                "characters");
        goto done;
    }
    for (size_t i = 0; i < 36; i++)
        uuid [i] = (char) (in->card_uuid [i] >= 'A' && in->card_uuid [i] <= 'F'
                           ? in->card_uuid [i] + 32 : in->card_uuid [i]);
    int found = s_awaiting (call->db, uuid, &version, &release_seq, person_id);
    if (found != 1) {
        status = found ? tsr_call_fail (call, S_UNAVAILABLE, "cannot read the card")
                       : tsr_call_fail (call, S_NOT_FOUND, "no card %s", uuid);
        goto done;
    }
    Tessera__V1__ChangePukReply reply = TESSERA__V1__CHANGE_PUK_REPLY__INIT;
    reply.card_uuid = uuid;
    if (release_seq) {
        if (!state->have_master_key) {
            status = tsr_call_fail (call, S_PRECONDITION, "perso cannot derive the card's PUK "
                                    "(is TSR_PERSO_MASTER_KEY_FILE set?)");
            goto done;
        }
        pcsc = perso_pcsc_new ();
        perso_card_t card = { perso_pcsc_transmit, pcsc };
        if (!pcsc)
            status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "out of memory");
        else
        if ((status = s_open (call, pcsc, in->reader_name, uuid, &card)) == S_OK
        &&  perso_puk_card_contact (state, call->db, &card, uuid, call->caller_key,
                                    call->request->trace_id, &version, detail,
                                    sizeof detail) < 0)
            status = tsr_call_fail (call, S_PRECONDITION, "%.240s", detail);
        if (status != S_OK) {
            tsr_json_t *json = tsr_json_new ();
            tsr_json_str (json, "reader_name", in->reader_name);
            tsr_json_str (json, "reason", call->message);
            perso_refusal_record (call, "perso.puk_change_failed", uuid, &json);
            goto done;
        }
        reply.changed = true;
    }
    reply.puk_version = version;
    status = tsr_call_reply (call, &reply.base, reply.changed
                             ? "the released PUK was changed on the card"
                             : "no released PUK awaits a change on this card");
done:
    perso_pcsc_destroy (&pcsc);
    tessera__v1__change_puk_request__free_unpacked (in, NULL);
    return status;
}
