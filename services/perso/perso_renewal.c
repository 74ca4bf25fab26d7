/*  perso_renewal: StartJob's checks of a renewal or a replacement, the
    holder's PIN of a renewal job, and the superseding of the replaced
    certificates at acceptance (see perso_renewal.h).
*/
#include "perso_renewal.h"
#include "perso_card_states.h"
#include "tessera/peer.h"
#include "perso_records.h"
#include "perso_state.h"
#include "tessera/log.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define S_RENEWAL TESSERA__V1__CARD_REQUEST_KIND__CARD_REQUEST_KIND_RENEWAL
#define S_REPLACEMENT TESSERA__V1__CARD_REQUEST_KIND__CARD_REQUEST_KIND_REPLACEMENT
#define S_DAMAGED TESSERA__V1__REPLACEMENT_REASON__REPLACEMENT_REASON_DAMAGED
#define S_KEY_COMPROMISE TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_KEY_COMPROMISE
#define S_CESSATION TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_CESSATION_OF_OPERATION
#define S_SUPERSEDED TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_SUPERSEDED
#define S_PIN_LABEL "tessera/perso/holder-pin/v1"

//  The secretbox key of held PINs: HMAC-SHA256(master, label).
static int
s_pin_key (const perso_state_t *state, uint8_t key [crypto_secretbox_KEYBYTES])
{
    unsigned int size = 0;
    if (!state->have_master_key)
        return -1;
    return HMAC (EVP_sha256 (), state->master_key, (int) state->master_key_size,
                 (const uint8_t *) S_PIN_LABEL, strlen (S_PIN_LABEL), key, &size) && size == 32
           ? 0 : -1;
}

static bool
s_pin_valid (const char *pin)
{
    size_t size = strnlen (pin, PERSO_HOLDER_PIN_MAX + 1);
    if (size < 6 || size > PERSO_HOLDER_PIN_MAX)
        return false;
    for (size_t i = 0; i < size; i++)
        if (pin [i] < '0' || pin [i] > '9')
            return false;
    return true;
}

//  Is serial revoked at ca with reason? S_OK or the refusal.
static tsr_status_t
s_revoked_with (tsr_call_t *call, const char *serial, int reason, const char *why)
{
    perso_state_t *state = call->state;
    char message [200] = "";
    Tessera__V1__GetStatusRequest ask = TESSERA__V1__GET_STATUS_REQUEST__INIT;
    ask.serial_hex = (char *) serial;
    Tessera__V1__CertificateStatus *now = NULL;
    if (tsr_peer_call (state->ca, "GetStatus", &ask.base,
                       &tessera__v1__certificate_status__descriptor, NULL,
                       call->request->trace_id, (ProtobufCMessage **) &now, message,
                       sizeof message) != S_OK)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot ask ca about %s (%.120s); retry",
                              serial, message);
    bool done = now->state == TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_REVOKED
             && (int) now->reason == reason;
    tessera__v1__certificate_status__free_unpacked (now, NULL);
    return done ? S_OK
         : tsr_call_fail (call, S_PRECONDITION, "certificate %s of the replaced card is not revoked"
                          " %s: revoke it first (revocation service)", serial, why);
}

//  A replacement: the replaced card's certificates revoked with the reason
//  that fits, a damaged card's return recorded.
static tsr_status_t
s_replacement_check (tsr_call_t *call, const Tessera__V1__CardRequest *request)
{
    const char *values [] = { request->previous_card_request_id };
    PGresult *res = tsr_db_query (call->db,
        "SELECT c.card_uuid, c.state, coalesce(string_agg(x.serial_hex, ' '), '') FROM cards c"
        " LEFT JOIN card_certificates x ON x.card_uuid = c.card_uuid"
        " WHERE c.card_request_id = $1 GROUP BY c.card_uuid, c.state", 1, values);
    if (!res)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the replaced card");
    tsr_status_t status = S_OK;
    bool damaged = request->replacement_reason == S_DAMAGED;
    for (int row = 0; status == S_OK && row < PQntuples (res); row++) {
        int card_state = (int) strtol (PQgetvalue (res, row, 1), NULL, 10);
        if (damaged && card_state != PERSO_CARD_RETURNED && card_state != PERSO_CARD_DAMAGED
        &&  card_state != PERSO_CARD_DESTROYED) {
            status = tsr_call_fail (call, S_PRECONDITION, "damaged card %s is %s: record its return"
                                    " first (ChangeCardState to returned or damaged)",
                                    PQgetvalue (res, row, 0), perso_card_state_name (card_state));
            break;
        }
        char serials [128];
        snprintf (serials, sizeof serials, "%s", PQgetvalue (res, row, 2));
        char *saveptr = NULL;
        for (char *serial = strtok_r (serials, " ", &saveptr); serial && status == S_OK;
             serial = strtok_r (NULL, " ", &saveptr))
            status = s_revoked_with (call, serial, damaged ? S_CESSATION : S_KEY_COMPROMISE,
                                     damaged ? "cessationOfOperation" : "keyCompromise");
    }
    PQclear (res);
    return status;
}

tsr_status_t
perso_renewal_start_check (tsr_call_t *call, const Tessera__V1__CardRequest *request,
                           const Tessera__V1__StartJobRequest *in, char card_uuid [37],
                           bool *same_card)
{
    *card_uuid = 0;
    *same_card = false;
    if (request->kind != S_RENEWAL) {
        if (*in->holder_pin)
            return tsr_call_fail (call, S_INVALID, "holder_pin: only for a renewal");
        return request->kind == S_REPLACEMENT ? s_replacement_check (call, request) : S_OK;
    }
    if (*in->holder_pin && !s_pin_valid (in->holder_pin))
        return tsr_call_fail (call, S_INVALID, "holder_pin: the holder's PIN, 6 to 8 digits");
    char days [16];
    snprintf (days, sizeof days, "%d", PERSO_HOLDER_CERT_DAYS);
    const char *values [] = { request->previous_card_request_id, days };
    PGresult *res = tsr_db_query (call->db,
        "SELECT card_uuid, state, person_id, expires_at < now() + $2::int * interval '1 day',"
        " to_char(expires_at, 'YYYY-MM-DD') FROM cards WHERE card_request_id = $1 FOR UPDATE",
        2, values);
    if (!res)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the renewed card");
    tsr_status_t status = S_OK;
    if (PQntuples (res) != 1)
        status = tsr_call_fail (call, S_PRECONDITION, "card request %s has no card perso"
                                " personalised: nothing to renew on a card",
                                request->previous_card_request_id);
    else
    if (strcmp (PQgetvalue (res, 0, 2), request->person_id) != 0)
        status = tsr_call_fail (call, S_PRECONDITION, "card %s is not the holder's",
                                PQgetvalue (res, 0, 0));
    else
    if ((int) strtol (PQgetvalue (res, 0, 1), NULL, 10) != PERSO_CARD_ACTIVE)
        status = tsr_call_fail (call, S_PRECONDITION, "card %s is %s: only an active card is"
                                " renewed", PQgetvalue (res, 0, 0),
                                perso_card_state_name ((int) strtol (PQgetvalue (res, 0, 1),
                                                                     NULL, 10)));
    else
    if (strcmp (PQgetvalue (res, 0, 3), "t") == 0 && *in->holder_pin)
        status = tsr_call_fail (call, S_PRECONDITION, "card %s itself expires on %s, before new"
                                " certificates would (%d days): renew on a new card (a blank card"
                                " in the reader, no holder_pin)", PQgetvalue (res, 0, 0),
                                PQgetvalue (res, 0, 4), PERSO_HOLDER_CERT_DAYS);
    else
    if (strcmp (PQgetvalue (res, 0, 3), "t") != 0 && !*in->holder_pin)
        status = tsr_call_fail (call, S_INVALID, "holder_pin: the holder's PIN, 6 to 8 digits, is"
                                " needed for a renewal on the card");
    else {
        snprintf (card_uuid, 37, "%s", PQgetvalue (res, 0, 0));
        *same_card = *in->holder_pin != 0;
    }
    PQclear (res);
    return status;
}

tsr_status_t
perso_renewal_mark_job (tsr_call_t *call, const char *job_id, const char *card_uuid,
                        const char *holder_pin)
{
    if (!holder_pin) {
        //  On a new card: an ordinary job that names the card it renews.
        const char *values [] = { job_id, card_uuid };
        PGresult *res = tsr_db_query (call->db, "UPDATE jobs SET renews_card_uuid = $2"
                                      " WHERE job_id = $1 AND state = 1", 2, values);
        PQclear (res);
        return res ? S_OK : tsr_call_fail (call, S_UNAVAILABLE, "cannot record the job");
    }
    uint8_t key [crypto_secretbox_KEYBYTES];
    size_t pin_size = strlen (holder_pin);
    size_t box_size = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + pin_size;
    uint8_t box [crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + PERSO_HOLDER_PIN_MAX];
    if (s_pin_key (call->state, key))
        return tsr_call_fail (call, S_PRECONDITION, "no master key is configured");
    randombytes_buf (box, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy (box + crypto_secretbox_NONCEBYTES, (const uint8_t *) holder_pin,
                           pin_size, box, key);
    sodium_memzero (key, sizeof key);
    char hex [2 * sizeof box + 3] = "\\x";
    perso_hex (box, box_size, hex + 2);
    const char *values [] = { job_id, card_uuid, hex };
    PGresult *res = tsr_db_query (call->db,
        "UPDATE jobs SET renewal = true, card_uuid = $2, renews_card_uuid = $2,"
        " holder_pin_box = $3::bytea,"
        " mgmt_pending = true, mgmt_changed = true, pin_pending = true, pin_changed = true,"
        " puk_changed = true"
        " WHERE job_id = $1 AND state = 1", 3, values);
    PQclear (res);
    return res ? S_OK : tsr_call_fail (call, S_UNAVAILABLE, "cannot record the job");
}

int
perso_renewal_open_pin (perso_run_t *run, char *pin)
{
    const char *values [] = { run->job.job_id };
    PGresult *res = tsr_db_query (run->db, "SELECT holder_pin_box FROM jobs WHERE job_id = $1"
                                  " AND holder_pin_box IS NOT NULL", 1, values);
    uint8_t key [crypto_secretbox_KEYBYTES];
    size_t size = 0;
    unsigned char *box = res && PQntuples (res) == 1
        ? PQunescapeBytea ((const unsigned char *) PQgetvalue (res, 0, 0), &size) : NULL;
    PQclear (res);
    size_t overhead = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES;
    int rc = -1;
    if (box && size > overhead && size - overhead <= PERSO_HOLDER_PIN_MAX
    &&  s_pin_key (run->state, key) == 0
    &&  crypto_secretbox_open_easy ((uint8_t *) pin, box + crypto_secretbox_NONCEBYTES,
                                    size - crypto_secretbox_NONCEBYTES, box, key) == 0) {
        pin [size - overhead] = 0;
        rc = 0;
    }
    else
        snprintf (run->detail, sizeof run->detail, "the holder's PIN of this renewal cannot be"
                  " read: abandon the job and start another with the PIN");
    sodium_memzero (key, sizeof key);
    if (box) {
        sodium_memzero (box, size);
        PQfreemem (box);
    }
    return rc;
}

tsr_status_t
perso_renewal_supersede (tsr_call_t *call, const char *card_uuid)
{
    const char *values [] = { card_uuid };
    PGresult *res = tsr_db_query (call->db,
        "SELECT job_id, slot, serial_hex FROM card_renewals WHERE card_uuid = $1"
        " AND superseded_at IS NULL ORDER BY job_id, slot", 1, values);
    if (!res)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the card's renewals");
    tsr_status_t status = S_OK;
    for (int row = 0; status == S_OK && row < PQntuples (res); row++) {
        const char *serial = PQgetvalue (res, row, 2);
        char message [256] = "", reference [96];
        snprintf (reference, sizeof reference, "renewal-%s", PQgetvalue (res, row, 0));
        if (perso_run_revoke (call->state, call->request->trace_id, serial, S_SUPERSEDED,
                              reference, message, sizeof message)) {
            status = tsr_call_fail (call, S_UNAVAILABLE, "ca did not revoke the replaced"
                                    " certificate %s (%.120s); retry", serial, message);
            break;
        }
        const char *done [] = { PQgetvalue (res, row, 0), PQgetvalue (res, row, 1) };
        PGresult *update = tsr_db_query (call->db, "UPDATE card_renewals SET superseded_at = now()"
                                         " WHERE job_id = $1 AND slot = $2", 2, done);
        PQclear (update);
        tsr_json_t *json = tsr_json_new ();
        tsr_json_str (json, "serial_hex", serial);
        tsr_json_str (json, "job_id", PQgetvalue (res, row, 0));
        tsr_json_str (json, "reason", "superseded");
        if (!update || perso_audit (call->db, call->caller_key, "perso.certificate_superseded",
                                    card_uuid, call->request->trace_id, &json))
            status = tsr_call_fail (call, S_UNAVAILABLE, "cannot record the superseding");
        else
            tsr_log_info (call->request->trace_id, "perso.certificate_superseded", "card_uuid",
                          card_uuid, "serial_hex", serial, NULL);
    }
    PQclear (res);
    return status;
}
