/*  perso_job_store: job rows in and out (see perso_job.h).
*/
#include "perso_job.h"
#include "perso_piv.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_JOB_SELECT \
    "SELECT job_id, card_request_id, person_id, organisation_id, account_id, level," \
    " given_name, surname, organization, organization_id, state, reader_name, key_algorithm," \
    " coalesce(card_uuid, ''), atr_hex, fascn_credential, attempts, certs_written," \
    " chuid_written, pin_pending, pin_changed, puk_changed, mgmt_pending, mgmt_changed," \
    " sealed_pin, renewal, coalesce(renews_card_uuid, ''), encryption, email FROM jobs"

static bool
s_bool (PGresult *res, int row, int column)
{
    return PQgetvalue (res, row, column) [0] == 't';
}

static int
s_int (PGresult *res, int row, int column)
{
    return (int) strtol (PQgetvalue (res, row, column), NULL, 10);
}

static void
s_copy (char *out, size_t size, PGresult *res, int row, int column)
{
    snprintf (out, size, "%s", PQgetvalue (res, row, column));
}

//  A bytea column read in text form ("\x...") into a fresh buffer.
static int
s_bytes (PGresult *res, int row, int column, uint8_t **out, size_t *size)
{
    *out = NULL;
    *size = 0;
    if (PQgetisnull (res, row, column))
        return 0;
    size_t length = 0;
    unsigned char *bytes = PQunescapeBytea ((const unsigned char *) PQgetvalue (res, row, column),
                                            &length);
    if (!bytes)
        return -1;
    *out = malloc (length ? length : 1);
    if (*out) {
        memcpy (*out, bytes, length);
        *size = length;
    }
    PQfreemem (bytes);
    return *out ? 0 : -1;
}

static int
s_load_keys (tsr_db_t *db, perso_job_t *job)
{
    job->keys [0].slot = PERSO_PIV_SLOT_AUTHENTICATION;
    job->keys [0].use = 1;
    job->keys [1].slot = PERSO_PIV_SLOT_SIGNATURE;
    job->keys [1].use = 2;
    const char *values [] = { job->job_id };
    PGresult *res = tsr_db_query (db,
        "SELECT slot, public_key_der, coalesce(spki_sha256, ''), csr_der, coalesce(serial_hex, ''),"
        " certificate_der, coalesce(extract(epoch FROM not_after)::bigint, 0)"
        " FROM job_keys WHERE job_id = $1 ORDER BY slot", 1, values);
    if (!res)
        return -1;
    int rc = 0;
    for (int row = 0; row < PQntuples (res) && rc == 0; row++) {
        int slot = s_int (res, row, 0);
        perso_job_key_t *key = slot == PERSO_PIV_SLOT_AUTHENTICATION ? &job->keys [0]
                             : slot == PERSO_PIV_SLOT_SIGNATURE ? &job->keys [1] : NULL;
        if (!key)
            continue;
        key->wanted = true;
        s_copy (key->spki_sha256, sizeof key->spki_sha256, res, row, 2);
        s_copy (key->serial_hex, sizeof key->serial_hex, res, row, 4);
        key->not_after_unix = strtoll (PQgetvalue (res, row, 6), NULL, 10);
        if (s_bytes (res, row, 1, &key->public_key_der, &key->public_key_size)
        ||  s_bytes (res, row, 3, &key->csr_der, &key->csr_size)
        ||  s_bytes (res, row, 5, &key->certificate_der, &key->certificate_size))
            rc = -1;
    }
    PQclear (res);
    return rc;
}

int
perso_job_load (tsr_db_t *db, const char *job_id, perso_job_t *job)
{
    memset (job, 0, sizeof *job);
    const char *values [] = { job_id };
    PGresult *res = tsr_db_query (db, S_JOB_SELECT " WHERE job_id = $1", 1, values);
    if (!res)
        return -1;
    if (PQntuples (res) != 1) {
        PQclear (res);
        return 0;
    }
    s_copy (job->job_id, sizeof job->job_id, res, 0, 0);
    s_copy (job->card_request_id, sizeof job->card_request_id, res, 0, 1);
    s_copy (job->person_id, sizeof job->person_id, res, 0, 2);
    s_copy (job->organisation_id, sizeof job->organisation_id, res, 0, 3);
    s_copy (job->account_id, sizeof job->account_id, res, 0, 4);
    job->level = s_int (res, 0, 5);
    s_copy (job->given_name, sizeof job->given_name, res, 0, 6);
    s_copy (job->surname, sizeof job->surname, res, 0, 7);
    s_copy (job->organization, sizeof job->organization, res, 0, 8);
    s_copy (job->organization_id, sizeof job->organization_id, res, 0, 9);
    job->state = s_int (res, 0, 10);
    s_copy (job->reader_name, sizeof job->reader_name, res, 0, 11);
    job->key_algorithm = s_int (res, 0, 12);
    s_copy (job->card_uuid, sizeof job->card_uuid, res, 0, 13);
    s_copy (job->atr_hex, sizeof job->atr_hex, res, 0, 14);
    job->fascn_credential = s_int (res, 0, 15);
    job->attempts = s_int (res, 0, 16);
    job->certs_written = s_bool (res, 0, 17);
    job->chuid_written = s_bool (res, 0, 18);
    job->pin_pending = s_bool (res, 0, 19);
    job->pin_changed = s_bool (res, 0, 20);
    job->puk_changed = s_bool (res, 0, 21);
    job->mgmt_pending = s_bool (res, 0, 22);
    job->mgmt_changed = s_bool (res, 0, 23);
    job->renewal = s_bool (res, 0, 25);
    snprintf (job->renews_card_uuid, sizeof job->renews_card_uuid, "%s", PQgetvalue (res, 0, 26));
    job->encryption = s_bool (res, 0, 27);
    s_copy (job->email, sizeof job->email, res, 0, 28);
    int rc = s_bytes (res, 0, 24, &job->sealed_pin, &job->sealed_pin_size);
    PQclear (res);
    if (rc == 0)
        rc = s_load_keys (db, job);
    return rc ? -1 : 1;
}

void
perso_job_release (perso_job_t *job)
{
    for (int i = 0; i < PERSO_JOB_KEYS; i++) {
        free (job->keys [i].public_key_der);
        free (job->keys [i].csr_der);
        free (job->keys [i].certificate_der);
    }
    free (job->sealed_pin);
    memset (job, 0, sizeof *job);
}

int
perso_job_step_start (tsr_db_t *db, const perso_job_t *job, perso_step_t step)
{
    char attempt [16], step_text [8];
    snprintf (attempt, sizeof attempt, "%d", job->attempts);
    snprintf (step_text, sizeof step_text, "%d", (int) step);
    const char *values [] = { job->job_id, attempt, step_text };
    PGresult *res = tsr_db_query (db,
        "INSERT INTO job_steps (job_id, attempt, step, state) VALUES ($1, $2, $3, 1)"
        " ON CONFLICT (job_id, attempt, step) DO UPDATE SET state = 1, started_at = now(),"
        " finished_at = NULL, detail = ''", 3, values);
    PQclear (res);
    if (!res)
        return -1;
    res = tsr_db_query (db, "UPDATE jobs SET current_step = $3, heartbeat_at = now(),"
                            " updated_at = now() WHERE job_id = $1 AND attempts = $2",
                        3, values);
    PQclear (res);
    return res ? 0 : -1;
}

int
perso_job_step_done (tsr_db_t *db, const perso_job_t *job, perso_step_t step, const char *detail)
{
    char attempt [16], step_text [8];
    snprintf (attempt, sizeof attempt, "%d", job->attempts);
    snprintf (step_text, sizeof step_text, "%d", (int) step);
    const char *values [] = { job->job_id, attempt, step_text, detail ? detail : "" };
    PGresult *res = tsr_db_query (db,
        "INSERT INTO job_steps (job_id, attempt, step, state, finished_at, detail)"
        " VALUES ($1, $2, $3, 2, now(), $4)"
        " ON CONFLICT (job_id, attempt, step) DO UPDATE SET state = 2, finished_at = now(),"
        " detail = $4", 4, values);
    PQclear (res);
    return res ? 0 : -1;
}

int
perso_job_save_progress (tsr_db_t *db, const perso_job_t *job)
{
    const char *flags [] = {
        job->certs_written ? "t" : "f", job->chuid_written ? "t" : "f",
        job->pin_pending ? "t" : "f", job->pin_changed ? "t" : "f", job->puk_changed ? "t" : "f",
        job->mgmt_pending ? "t" : "f", job->mgmt_changed ? "t" : "f" };
    const char *values [] = { job->job_id, *job->card_uuid ? job->card_uuid : NULL,
                              job->atr_hex, flags [0], flags [1], flags [2], flags [3],
                              flags [4], flags [5], flags [6], (const char *) job->sealed_pin };
    int lengths [11] = { 0 };
    int formats [11] = { 0 };
    lengths [10] = (int) job->sealed_pin_size;
    formats [10] = 1;
    PGresult *res = tsr_db_query_ex (db,
        "UPDATE jobs SET card_uuid = $2, atr_hex = $3, certs_written = $4, chuid_written = $5,"
        " pin_pending = $6, pin_changed = $7, puk_changed = $8, mgmt_pending = $9,"
        " mgmt_changed = $10, sealed_pin = $11, heartbeat_at = now(), updated_at = now()"
        " WHERE job_id = $1", 11, values, lengths, formats, 0);
    PQclear (res);
    return res ? 0 : -1;
}

int
perso_job_save_key (tsr_db_t *db, const perso_job_t *job, const perso_job_key_t *key)
{
    char slot [8], use [8], not_after [24];
    snprintf (slot, sizeof slot, "%d", key->slot);
    snprintf (use, sizeof use, "%d", key->use);
    snprintf (not_after, sizeof not_after, "%lld", (long long) key->not_after_unix);
    const char *values [] = {
        job->job_id, slot, use, (const char *) key->public_key_der,
        *key->spki_sha256 ? key->spki_sha256 : NULL, (const char *) key->csr_der,
        *key->serial_hex ? key->serial_hex : NULL, (const char *) key->certificate_der,
        key->certificate_der ? not_after : NULL };
    int lengths [] = { 0, 0, 0, (int) key->public_key_size, 0, (int) key->csr_size, 0,
                       (int) key->certificate_size, 0 };
    int formats [] = { 0, 0, 0, 1, 0, 1, 0, 1, 0 };
    PGresult *res = tsr_db_query_ex (db,
        "INSERT INTO job_keys (job_id, slot, use, public_key_der, spki_sha256, csr_der,"
        " serial_hex, certificate_der, not_after, generated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, to_timestamp($9::bigint),"
        "         CASE WHEN $4::bytea IS NULL THEN NULL ELSE now() END)"
        " ON CONFLICT (job_id, slot) DO UPDATE SET public_key_der = $4, spki_sha256 = $5,"
        " csr_der = $6, serial_hex = $7, certificate_der = $8,"
        " not_after = to_timestamp($9::bigint),"
        " generated_at = CASE WHEN $4::bytea IS NULL THEN NULL"
        "                     WHEN job_keys.spki_sha256 IS DISTINCT FROM $5 THEN now()"
        "                     ELSE job_keys.generated_at END", 9, values, lengths, formats, 0);
    PQclear (res);
    return res ? 0 : -1;
}

int
perso_job_record_revoked (tsr_db_t *db, const perso_job_t *job, uint8_t slot,
                          const char *serial_hex, int reason)
{
    char slot_text [8], reason_text [8];
    snprintf (slot_text, sizeof slot_text, "%d", slot);
    snprintf (reason_text, sizeof reason_text, "%d", reason);
    const char *values [] = { job->job_id, serial_hex, slot_text, reason_text };
    PGresult *res = tsr_db_query (db,
        "INSERT INTO job_revoked_certificates (job_id, serial_hex, slot, reason)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (serial_hex) DO NOTHING", 4, values);
    PQclear (res);
    return res ? 0 : -1;
}

const char *
perso_step_name (perso_step_t step)
{
    const ProtobufCEnumValue *value = protobuf_c_enum_descriptor_get_value (
        &tessera__v1__perso_step__descriptor, (int) step);
    return value ? value->name + strlen ("PERSO_STEP_") : "UNKNOWN";
}
