/*  perso_job: one personalisation job as the runner holds it, and its
    rows (jobs, job_keys, job_steps) read and written.

    A job's progress is in its columns: which keys were made (their public
    keys), signed (CSRs), certified (serials), what was written, whether
    the PIN, PUK and management key were changed. A step's result is
    committed with the step's "done" row, in one transaction, so what is
    recorded is exactly what was done; a failure records only the failure
    (the step, the reason, the "perso.job.failed" event).
*/
#ifndef PERSO_JOB_H
#define PERSO_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tessera/db.h"
#include "tessera/v1/perso.pb-c.h"

#define PERSO_ID_MAX 64
#define PERSO_NAME_MAX 256          //  bytes of a name (64 characters of UTF-8)
#define PERSO_SERIAL_HEX_MAX 40
#define PERSO_EMAIL_MAX 254
#define PERSO_JOB_KEYS 2            //  [0] 9A authentication, [1] 9C signature

typedef Tessera__V1__PersoStep perso_step_t;
#define PERSO_STEP(name) TESSERA__V1__PERSO_STEP__PERSO_STEP_##name

#define PERSO_JOB_PENDING 1
#define PERSO_JOB_RUNNING 2
#define PERSO_JOB_SUCCEEDED 3
#define PERSO_JOB_FAILED 4
#define PERSO_JOB_ABANDONED 5

typedef struct {
    uint8_t slot;                   //  0x9A or 0x9C
    int use;                        //  CertificateUse
    bool wanted;                    //  the request asks for this use
    uint8_t *public_key_der;        //  SubjectPublicKeyInfo, NULL before generation
    size_t public_key_size;
    char spki_sha256 [65];
    uint8_t *csr_der;
    size_t csr_size;
    char serial_hex [PERSO_SERIAL_HEX_MAX + 1];
    uint8_t *certificate_der;
    size_t certificate_size;
    int64_t not_after_unix;
} perso_job_key_t;

typedef struct {
    char job_id [PERSO_ID_MAX + 1];
    char card_request_id [PERSO_ID_MAX + 1];
    char person_id [PERSO_ID_MAX + 1];
    char organisation_id [PERSO_ID_MAX + 1];
    char account_id [PERSO_ID_MAX + 1];
    int level;
    char given_name [PERSO_NAME_MAX + 1];
    char surname [PERSO_NAME_MAX + 1];
    char organization [PERSO_NAME_MAX + 1];
    char organization_id [15];
    int state;
    char reader_name [129];
    int key_algorithm;              //  CardKeyAlgorithm: 1 RSA 2048, 2 EC P-256
    char card_uuid [37];            //  "" until known
    char atr_hex [67];
    int fascn_credential;
    int attempts;
    bool certs_written, chuid_written;
    bool pin_pending, pin_changed, puk_changed;
    bool mgmt_pending, mgmt_changed;
    bool renewal;                   //  a renewal on a card perso knows (perso_renewal.h)
    char renews_card_uuid [37];     //  a renewal's old card ("" otherwise)
    bool encryption;                //  an escrowed encryption key for 9D (perso_run_escrow.c)
    char email [PERSO_EMAIL_MAX + 1];   //  the holder's, for the encryption certificate
    uint8_t *sealed_pin;
    size_t sealed_pin_size;
    perso_job_key_t keys [PERSO_JOB_KEYS];
} perso_job_t;

//  Loads job_id with its keys. 1 found, 0 none, -1 database error.
//  Release with perso_job_release in every case.
int perso_job_load (tsr_db_t *db, const char *job_id, perso_job_t *job);
void perso_job_release (perso_job_t *job);

//  The step rows of the current attempt (inside the caller's transaction).
int perso_job_step_start (tsr_db_t *db, const perso_job_t *job, perso_step_t step);
int perso_job_step_done (tsr_db_t *db, const perso_job_t *job, perso_step_t step,
                         const char *detail);
//  Job columns of the progress flags, card_uuid and atr_hex, heartbeat.
int perso_job_save_progress (tsr_db_t *db, const perso_job_t *job);
//  One key's columns (public key, CSR, certificate) as they are now.
int perso_job_save_key (tsr_db_t *db, const perso_job_t *job, const perso_job_key_t *key);
//  A certificate revoked on the job's behalf (superseded, abandoned).
int perso_job_record_revoked (tsr_db_t *db, const perso_job_t *job, uint8_t slot,
                              const char *serial_hex, int reason);

//  A job as PersoJob, with its steps and serials (strings borrowed from
//  the results, valid until perso_job_view_release).
typedef struct {
    Tessera__V1__PersoJob message;
    PGresult *job_res, *steps_res, *serials_res;
    Tessera__V1__PersoJobStep *steps;
    Tessera__V1__PersoJobStep **step_list;
    char **serials;
} perso_job_view_t;

//  1 found, 0 none, -1 error; release in every case.
int perso_job_view_load (tsr_db_t *db, const char *job_id, perso_job_view_t *view);
void perso_job_view_release (perso_job_view_t *view);

//  "CONNECT" ...: the step's enum name without its prefix.
const char *perso_step_name (perso_step_t step);

#endif
