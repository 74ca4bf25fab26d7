/*  perso_run_card: the steps that talk to the card alone: CONNECT,
    SELECT_APPLICATION, AUTHENTICATE_TRANSPORT_KEY, WRITE_CERTIFICATES,
    WRITE_CHUID (see perso_run.h).
*/
#include "perso_puk.h"
#include "perso_records.h"
#include "perso_run.h"
#include "perso_secrets.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int
perso_run_connect (perso_run_t *run)
{
    char err [256] = "", atr [PERSO_ATR_HEX_SIZE];
    perso_io_t io = perso_pcsc_connect (run->pcsc, run->job.reader_name,
                                        (int) run->state->card_wait_ms, atr, err, sizeof err);
    if (io != PERSO_IO_OK) {
        snprintf (run->detail, sizeof run->detail, "%s: %s", perso_io_text (io), err);
        return -1;
    }
    snprintf (run->job.atr_hex, sizeof run->job.atr_hex, "%s", atr);
    snprintf (run->detail, sizeof run->detail, "card in %s, ATR %s", run->job.reader_name, atr);
    return 0;
}

//  Is this UUID a card perso personalised already? 1 yes, 0 no, -1 error.
static int
s_known_card (perso_run_t *run, const char *uuid, char *state, size_t state_size)
{
    const char *values [] = { uuid };
    PGresult *res = tsr_db_query (run->db, "SELECT state FROM cards WHERE card_uuid = $1", 1,
                                  values);
    if (!res)
        return -1;
    int found = PQntuples (res) == 1;
    if (found)
        snprintf (state, state_size, "%s", PQgetvalue (res, 0, 0));
    PQclear (res);
    return found;
}

//  A card perso knows (a renewal): a PUK released since perso last met
//  it is changed now, in a transaction of its own (perso_puk.h). 1
//  changed, 0 nothing to do, -1 failed with run->detail.
static int
s_puk_contact (perso_run_t *run)
{
    uint32_t version = 0;
    char detail [320] = "";
    int rc = tsr_db_begin (run->db) ? -1
           : perso_puk_card_contact (run->state, run->db, &run->card, run->job.card_uuid,
                                     PERSO_RUNNER_ACTOR, run->trace_id, &version, detail,
                                     sizeof detail);
    if (rc < 0 || tsr_db_commit (run->db)) {
        tsr_db_rollback (run->db);
        snprintf (run->detail, sizeof run->detail, "the released PUK could not be changed: %s",
                  *detail ? detail : "database");
        return -1;
    }
    return rc;
}

int
perso_run_select (perso_run_t *run)
{
    perso_piv_status_t status;
    if (perso_piv_select (&run->card, &status))
        return perso_run_card_failed (run, &status);
    uint8_t chuid [PERSO_PIV_OBJECT_MAX], guid [PERSO_PIV_GUID_SIZE];
    size_t chuid_size = 0;
    bool found = false;
    if (perso_piv_get_data (&run->card, PERSO_PIV_OBJ_CHUID, chuid, sizeof chuid, &chuid_size,
                            &found, &status))
        return perso_run_card_failed (run, &status);
    int have_guid = found ? perso_piv_chuid_guid (chuid, chuid_size, guid) : 0;
    if (have_guid < 0) {
        snprintf (run->detail, sizeof run->detail,
                  "GET DATA CHUID: malformed card answer: the CHUID's GUID (34) is not 16 bytes");
        return -1;
    }
    char text [37] = "";
    if (have_guid)
        perso_uuid_format (guid, text);
    perso_job_t *job = &run->job;
    if (*job->card_uuid) {
        //  A later run: the card must be the job's.
        if (have_guid && strcmp (text, job->card_uuid) != 0) {
            snprintf (run->detail, sizeof run->detail,
                      "the card in the reader (CHUID %s) is not this job's card %s", text,
                      job->card_uuid);
            return -1;
        }
        if (!have_guid && job->chuid_written) {
            snprintf (run->detail, sizeof run->detail,
                      "the card in the reader has no CHUID: it is not this job's card %s "
                      "(or it was wiped); put that card back or abandon the job", job->card_uuid);
            return -1;
        }
        //  Only a card whose CHUID named it: never another card's PUK tries.
        int puk_changed = job->renewal && have_guid ? s_puk_contact (run) : 0;
        if (puk_changed < 0)
            return -1;
        snprintf (run->detail, sizeof run->detail, "PIV selected, card %s%s", job->card_uuid,
                  puk_changed ? "; the released PUK changed" : "");
        return 0;
    }
    if (have_guid) {
        char state [8] = "";
        int known = s_known_card (run, text, state, sizeof state);
        if (known != 0) {
            snprintf (run->detail, sizeof run->detail, known < 0
                      ? "cannot read the cards (database)"
                      : "card %s is personalised already (state %s): use a blank card", text,
                      state);
            return -1;
        }
        snprintf (job->card_uuid, sizeof job->card_uuid, "%s", text);
        snprintf (run->detail, sizeof run->detail, "PIV selected, card %s (from its CHUID)", text);
    }
    else {
        perso_uuid_random (guid);
        perso_uuid_format (guid, job->card_uuid);
        snprintf (run->detail, sizeof run->detail, "PIV selected, blank card: UUID %s assigned",
                  job->card_uuid);
    }
    return 0;
}

//  The card's own management key, diversified from the master key.
static int
s_diversified (perso_run_t *run, uint8_t key [PERSO_MGMT_KEY_SIZE])
{
    uint8_t uuid [16];
    if (!run->state->have_master_key) {
        snprintf (run->detail, sizeof run->detail,
                  "no master key is configured (TSR_PERSO_MASTER_KEY_FILE)");
        return -1;
    }
    if (perso_uuid_parse (run->job.card_uuid, uuid)
    ||  perso_diversify_management_key (run->state->master_key, run->state->master_key_size,
                                        uuid, key)) {
        snprintf (run->detail, sizeof run->detail, "cannot diversify the management key");
        return -1;
    }
    return 0;
}

int
perso_run_authenticate (perso_run_t *run)
{
    perso_piv_status_t status;
    perso_job_t *job = &run->job;
    uint8_t key [PERSO_MGMT_KEY_SIZE];
    int rc = -1;
    if (!job->mgmt_changed) {
        if (perso_piv_authenticate (&run->card, run->state->transport_algorithm,
                                    run->state->transport_key, run->state->transport_key_size,
                                    &status) == 0) {
            snprintf (run->detail, sizeof run->detail, "transport management key accepted");
            return 0;
        }
        //  Not the transport key: wrong card, or our own change went
        //  through while the card was pulled.
        if (!job->mgmt_pending || status.io != PERSO_IO_OK)
            return perso_run_card_failed (run, &status);
    }
    if (s_diversified (run, key))
        goto done;
    if (perso_piv_authenticate (&run->card, PERSO_PIV_ALG_AES128, key, sizeof key, &status)) {
        perso_run_card_failed (run, &status);
        goto done;
    }
    job->mgmt_changed = true;
    snprintf (run->detail, sizeof run->detail, "the card's diversified management key accepted");
    rc = 0;
done:
    OPENSSL_cleanse (key, sizeof key);
    return rc;
}

int
perso_run_write_certificates (perso_run_t *run)
{
    perso_job_t *job = &run->job;
    if (job->certs_written) {
        snprintf (run->detail, sizeof run->detail, "written in an earlier run");
        return 0;
    }
    int written = 0;
    for (int i = 0; i < PERSO_JOB_KEYS; i++) {
        perso_job_key_t *key = &job->keys [i];
        if (!key->wanted)
            continue;
        if (!key->certificate_der) {
            snprintf (run->detail, sizeof run->detail, "no certificate for slot %02X", key->slot);
            return -1;
        }
        perso_buf_t object;
        perso_buf_init (&object);
        perso_piv_cert_object (key->certificate_der, key->certificate_size, &object);
        perso_piv_status_t status;
        bool too_large = object.failed;
        int rc = too_large ? -1
               : perso_piv_put_data (&run->card, key->slot == PERSO_PIV_SLOT_AUTHENTICATION
                                                 ? PERSO_PIV_OBJ_CERT_9A : PERSO_PIV_OBJ_CERT_9C,
                                     object.data, object.size, &status);
        perso_buf_free (&object);
        if (too_large) {
            snprintf (run->detail, sizeof run->detail, "certificate object too large");
            return -1;
        }
        if (rc)
            return perso_run_card_failed (run, &status);
        written++;
    }
    job->certs_written = true;
    snprintf (run->detail, sizeof run->detail, "%d certificate%s written", written,
              written == 1 ? "" : "s");
    return 0;
}

int
perso_run_write_chuid (perso_run_t *run)
{
    perso_job_t *job = &run->job;
    if (job->chuid_written) {
        snprintf (run->detail, sizeof run->detail, "written in an earlier run");
        return 0;
    }
    uint8_t guid [PERSO_PIV_GUID_SIZE], fascn [PERSO_PIV_FASCN_SIZE];
    char credential [8], expiry [16];
    snprintf (credential, sizeof credential, "%06d", job->fascn_credential % 1000000);
    //  The CHUID expires with the last certificate on the card.
    int64_t not_after = 0;
    for (int i = 0; i < PERSO_JOB_KEYS; i++)
        if (job->keys [i].wanted && job->keys [i].not_after_unix > not_after)
            not_after = job->keys [i].not_after_unix;
    time_t when = (time_t) not_after;
    struct tm tm;
    if (perso_uuid_parse (job->card_uuid, guid)
    ||  perso_piv_fascn (run->state->fascn_agency, run->state->fascn_system, credential, fascn)
    ||  !gmtime_r (&when, &tm) || strftime (expiry, sizeof expiry, "%Y%m%d", &tm) != 8) {
        snprintf (run->detail, sizeof run->detail, "cannot build the CHUID");
        return -1;
    }
    perso_buf_t chuid;
    perso_buf_init (&chuid);
    perso_piv_chuid (fascn, guid, expiry, &chuid);
    perso_piv_status_t status;
    int rc = chuid.failed ? -1 : perso_piv_put_data (&run->card, PERSO_PIV_OBJ_CHUID, chuid.data,
                                                     chuid.size, &status);
    bool failed = chuid.failed;
    perso_buf_free (&chuid);
    if (rc) {
        if (failed)
            snprintf (run->detail, sizeof run->detail, "cannot build the CHUID");
        return failed ? -1 : perso_run_card_failed (run, &status);
    }
    job->chuid_written = true;
    snprintf (run->detail, sizeof run->detail, "CHUID with GUID %s, FASC-N %s-%s-%s, expires %s",
              job->card_uuid, run->state->fascn_agency, run->state->fascn_system, credential,
              expiry);
    return 0;
}
