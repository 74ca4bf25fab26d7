/*  Events about certificates and cards: ca's issuance and revocations,
    perso's PIN mailers (see mail_events.h).
*/
#include "mail_events.h"
#include "mail_address.h"
#include "mail_directory.h"
#include "mail_input.h"
#include "mail_notices.h"
#include "mail_records.h"
#include "mail_reasons.h"
#include "tessera/log.h"
#include "tessera/v1/ca.pb-c.h"
#include "tessera/v1/mail.pb-c.h"

#include <stdio.h>
#include <string.h>

#define S_USE_OCSP TESSERA__V1__CERTIFICATE_USE__CERTIFICATE_USE_OCSP_RESPONDER
#define S_USE_MAIL TESSERA__V1__CERTIFICATE_USE__CERTIFICATE_USE_MAIL_SIGNER

//  "certificate.issued": holders' certificates only (services' own ones
//  expire into their own renewal, not a holder's notice).
static int
s_issued (tsr_db_t *db, const Tessera__V1__Event *event)
{
    Tessera__V1__CertificateIssued *issued = tessera__v1__certificate_issued__unpack (
        NULL, event->payload.len, event->payload.data);
    if (!issued)
        return mail_event_refused (db, event, "the payload is not a CertificateIssued");
    int rc = 0;
    if (issued->use == S_USE_OCSP || issued->use == S_USE_MAIL)
        rc = 0;
    else
    if (!mail_serial_valid (issued->serial_hex) || !mail_id_valid (issued->card_request_id)
    ||  !mail_id_valid (issued->holder_id) || issued->not_after_unix <= 0)
        rc = mail_event_refused (db, event, "serial, card request, holder or expiry out of bounds");
    else {
        char use [8], not_after [24];
        snprintf (use, sizeof use, "%d", (int) issued->use);
        snprintf (not_after, sizeof not_after, "%lld", (long long) issued->not_after_unix);
        const char *values [] = { issued->serial_hex, issued->card_request_id, issued->holder_id,
                                  use, not_after };
        PGresult *res = tsr_db_query (db,
            "INSERT INTO certificates (serial_hex, card_request_id, holder_id, use, not_after)"
            " VALUES ($1, $2, $3, $4, to_timestamp($5::bigint)) ON CONFLICT DO NOTHING",
            5, values);
        rc = res ? 0 : -1;
        PQclear (res);
    }
    tessera__v1__certificate_issued__free_unpacked (issued, NULL);
    return rc;
}

//  "certificate.revoked" and "certificate.hold_released".
static int
s_revoked (mail_state_t *state, tsr_db_t *db, const Tessera__V1__Event *event, bool released)
{
    Tessera__V1__CertificateRevoked *revoked = tessera__v1__certificate_revoked__unpack (
        NULL, event->payload.len, event->payload.data);
    if (!revoked)
        return mail_event_refused (db, event, "the payload is not a CertificateRevoked");
    bool hold = revoked->reason == TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_CERTIFICATE_HOLD;
    char stored_state [4];
    snprintf (stored_state, sizeof stored_state, "%d", released ? 1 : hold ? 3 : 2);
    const char *values [] = { revoked->serial_hex, stored_state };
    PGresult *res = tsr_db_query (db,
        "UPDATE certificates SET state = $2::smallint,"
        " revoked_at = CASE WHEN $2 = '2' THEN now() ELSE revoked_at END"
        " WHERE serial_hex = $1 AND state <> 2 RETURNING holder_id", 2, values);
    int rc = res ? 0 : -1;
    //  A revocation (not a hold, not a release) of a holder's certificate
    //  we know: the holder is told.
    if (res && PQntuples (res) == 1 && !released && !hold) {
        char revoked_at [32], dedup [64], actor [32];
        mail_time_format (revoked->revoked_at_unix, revoked_at);
        snprintf (dedup, sizeof dedup, "ca:%llu", (unsigned long long) event->seq);
        snprintf (actor, sizeof actor, "events:%s", event->service);
        mail_param_t params [] = {
            { "serial", revoked->serial_hex }, { "revoked_at", revoked_at },
            { "reason_fr", mail_reason_text (revoked->reason, "fr") },
            { "reason_en", mail_reason_text (revoked->reason, "en") },
        };
        mail_notice_t notice = {
            .template_id = TESSERA__V1__EMAIL_TEMPLATE__EMAIL_TEMPLATE_REVOCATION_CONFIRMED,
            .params = params, .param_count = 4, .source_service = event->service,
            .source_event_seq = event->seq, .dedup_key = dedup, .actor = actor,
            .trace_id = event->trace_id,
        };
        rc = mail_notice_person_id (db, state, PQgetvalue (res, 0, 0), &notice);
    }
    PQclear (res);
    tessera__v1__certificate_revoked__free_unpacked (revoked, NULL);
    return rc;
}

int
mail_apply_ca (void *state, tsr_db_t *db, const Tessera__V1__Event *event)
{
    if (strcmp (event->type, "certificate.issued") == 0)
        return s_issued (db, event);
    if (strcmp (event->type, "certificate.revoked") == 0)
        return s_revoked (state, db, event, false);
    if (strcmp (event->type, "certificate.hold_released") == 0)
        return s_revoked (state, db, event, true);
    return 0;
}

//  The holder's name and address as the PIN mailer will print them, when
//  enrollment knows the person (refreshed again at release).
static int
s_holder (mail_state_t *state, const char *trace_id, const char *person_id,
          Tessera__V1__Person **person_p)
{
    char message [160] = "";
    tsr_status_t status = mail_directory_person (state->enrollment, trace_id, person_id,
                                                 person_p, message, sizeof message);
    if (status == TESSERA__V1__STATUS__STATUS_OK
    ||  mail_peer_status (status) == TESSERA__V1__STATUS__STATUS_NOT_FOUND)
        return 0;
    tsr_log_warn (trace_id, "mail.enrollment_unavailable", "reason", message, NULL);
    return -1;
}

//  "pin_mailer.ready": PinMailerReady. A newer PIN mailer for the card
//  supersedes one still waiting (its activation code no longer works).
static int
s_pin_mailer_ready (mail_state_t *state, tsr_db_t *db, const Tessera__V1__Event *event)
{
    int rc = 0;
    Tessera__V1__PinMailerReady *ready = (Tessera__V1__PinMailerReady *) mail_event_sealed (
        state, db, event, &tessera__v1__pin_mailer_ready__descriptor,
        "the PIN and code are sealed to another key than mail's", &rc);
    if (!ready)
        return rc;
    Tessera__V1__Person *person = NULL;
    if (!mail_card_uuid_valid (ready->card_uuid) || !mail_id_valid (ready->person_id)
    ||  !mail_optional_id_valid (ready->card_request_id)
    ||  ready->sealed_activation_code.len == 0
    ||  ready->sealed_activation_code.len > MAIL_SEALED_MAX
    ||  ready->sealed_pin.len > MAIL_SEALED_MAX || (ready->sealed_pin.len == 0 && !ready->reissue))
        rc = mail_event_refused (db, event, "card, person, request or sealed values out of bounds");
    else
    if ((rc = s_holder (state, event->trace_id, ready->person_id, &person)) == 0) {
        char shipment_id [TSR_ID_HEX_SIZE], now [24], err [160];
        tsr_random_id (shipment_id);
        snprintf (now, sizeof now, "%lld", (long long) mail_now (state));
        //  Name and address as they stand now; checked and refreshed again
        //  when the PIN mailer is printed.
        mail_postal_t postal;
        bool printable = person && mail_postal_check (person, &postal, err, sizeof err) == 0;
        const char *card [] = { ready->card_uuid };
        PGresult *res = tsr_db_query (db,
            "UPDATE shipments SET superseded = true, sealed_pin = NULL,"
            " sealed_activation_code = NULL, note = 'superseded by a newer PIN mailer'"
            " WHERE card_uuid = $1 AND kind = 2 AND state = 1 AND NOT superseded", 1, card);
        PQclear (res);
        const char *values [] = {
            shipment_id, ready->card_uuid, ready->card_request_id, ready->person_id,
            person ? person->organisation_id : "", person ? person->language : "fr",
            (const char *) ready->sealed_pin.data, (const char *) ready->sealed_activation_code.data,
            ready->reissue ? "t" : "f", now, printable ? postal.name : "",
            printable ? postal.lines : "", printable ? postal.postal_code : "",
            printable ? postal.city : "", printable ? postal.country_code : ""
        };
        int lengths [15] = { [6] = (int) ready->sealed_pin.len,
                             [7] = (int) ready->sealed_activation_code.len };
        int formats [15] = { [6] = 1, [7] = 1 };
        if (ready->sealed_pin.len == 0)
            values [6] = NULL;
        PGresult *inserted = res ? tsr_db_query_ex (db,
            "INSERT INTO shipments (shipment_id, kind, card_uuid, card_request_id,"
            " holder_person_id, organisation_id, recipient_person_id, language, state,"
            " sealed_pin, sealed_activation_code, reissue, prepared_at, holder_name,"
            " recipient_name, address_lines, postal_code, city, country_code)"
            " VALUES ($1, 2, $2, $3, $4, $5, $4, CASE WHEN $6 = 'en' THEN 'en' ELSE 'fr' END, 1,"
            " $7, $8, $9::boolean, to_timestamp($10::bigint), $11, $11,"
            " CASE WHEN $12 = '' THEN '{}'::text[] ELSE string_to_array($12, E'\\n') END,"
            " $13, $14, $15)", 15, values, lengths, formats, 0) : NULL;
        tsr_json_t *json = tsr_json_new ();
        tsr_json_str (json, "card_uuid", ready->card_uuid);
        tsr_json_str (json, "holder_person_id", ready->person_id);
        tsr_json_bool (json, "reissue", ready->reissue);
        tsr_json_bool (json, "pin", ready->sealed_pin.len > 0);
        char actor [32];
        snprintf (actor, sizeof actor, "events:%s", event->service);
        rc = inserted && mail_audit (db, actor, "mail.pin_mailer_waiting", shipment_id,
                                     event->trace_id, &json) == 0 ? 0 : -1;
        tsr_json_destroy (&json);
        PQclear (inserted);
    }
    if (person)
        tessera__v1__person__free_unpacked (person, NULL);
    tessera__v1__pin_mailer_ready__free_unpacked (ready, NULL);
    return rc;
}

//  "key_recovery.password_ready": KeyRecoveryPasswordReady. The password
//  of a recovered PKCS#12 goes to the holder by e-mail, sealed until the
//  attempt renders it, as a one-time password does; the file goes by
//  another channel (perso's DeliverRecoveredKey).
static int
s_recovery_password (mail_state_t *state, tsr_db_t *db, const Tessera__V1__Event *event)
{
    int rc = 0;
    Tessera__V1__KeyRecoveryPasswordReady *ready =
        (Tessera__V1__KeyRecoveryPasswordReady *) mail_event_sealed (
            state, db, event, &tessera__v1__key_recovery_password_ready__descriptor,
            "the password is sealed to another key than mail's", &rc);
    if (!ready)
        return rc;
    if (ready->sealed_password.len == 0 || ready->sealed_password.len > MAIL_SEALED_MAX
    ||  !mail_id_valid (ready->person_id) || !mail_id_valid (ready->recovery_id))
        rc = mail_event_refused (db, event, "the sealed password, person or recovery id is out "
                                            "of bounds");
    else {
        char dedup [64], actor [32];
        snprintf (dedup, sizeof dedup, "perso:%llu", (unsigned long long) event->seq);
        snprintf (actor, sizeof actor, "events:%s", event->service);
        mail_param_t params [] = { { "recovery_id", ready->recovery_id } };
        mail_notice_t notice = {
            .template_id = TESSERA__V1__EMAIL_TEMPLATE__EMAIL_TEMPLATE_KEY_RECOVERY_PASSWORD,
            .params = params, .param_count = 1, .sealed_secret = ready->sealed_password.data,
            .sealed_size = ready->sealed_password.len, .source_service = event->service,
            .source_event_seq = event->seq, .dedup_key = dedup, .actor = actor,
            .trace_id = event->trace_id,
        };
        rc = mail_notice_person_id (db, state, ready->person_id, &notice);
    }
    tessera__v1__key_recovery_password_ready__free_unpacked (ready, NULL);
    return rc;
}

int
mail_apply_perso (void *state, tsr_db_t *db, const Tessera__V1__Event *event)
{
    if (strcmp (event->type, "pin_mailer.ready") == 0)
        return s_pin_mailer_ready (state, db, event);
    if (strcmp (event->type, "key_recovery.password_ready") == 0)
        return s_recovery_password (state, db, event);
    return 0;
}
