/*  perso_run_keys: the steps that make and use the holder's keys and
    secrets on the card: GENERATE_*_KEY, SIGN_CSRS, SET_PIN_AND_PUK,
    CHANGE_MANAGEMENT_KEY (see perso_run.h).
*/
#include "perso_run.h"
#include "perso_csr.h"
#include "perso_records.h"
#include "perso_secrets.h"
#include "tessera/log.h"

#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#define S_REVOKE_SUPERSEDED TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_SUPERSEDED

static uint8_t
s_algorithm (const perso_job_t *job)
{
    return job->key_algorithm == TESSERA__V1__CARD_KEY_ALGORITHM__CARD_KEY_ALGORITHM_RSA_2048
         ? PERSO_PIV_ALG_RSA2048 : PERSO_PIV_ALG_ECCP256;
}

static EVP_PKEY *
s_public_key (const perso_job_key_t *key)
{
    const unsigned char *cursor = key->public_key_der;
    return key->public_key_der
         ? d2i_PUBKEY (NULL, &cursor, (long) key->public_key_size) : NULL;
}

static int
s_verify_pin (perso_run_t *run)
{
    perso_piv_status_t status;
    //  A renewal: the holder's PIN, typed at the desk.
    const char *pin = *run->holder_pin ? run->holder_pin : run->state->transport_pin;
    if (perso_piv_verify_pin (&run->card, pin, &status) == 0)
        return 0;
    perso_run_card_failed (run, &status);
    if (status.io == PERSO_IO_OK && status.sw == 0x6983)
        snprintf (run->detail, sizeof run->detail,
                  "VERIFY PIN: the card's PIN is blocked (SW 6983): the card cannot be "
                  "personalised; abandon the job");
    else
    if (status.io == PERSO_IO_OK && (status.sw & 0xFFF0) == 0x63C0)
        snprintf (run->detail, sizeof run->detail,
                  "VERIFY PIN: the card refuses the %s PIN (SW %04X, %u tries left)",
                  *run->holder_pin ? "holder's" : "transport", status.sw, status.sw & 0x0F);
    return -1;
}

//  Does the card still hold key (a test signature that verifies)? 1 yes,
//  0 no (it lost the key), -1 failure (run->detail).
static int
s_key_on_card (perso_run_t *run, const perso_job_key_t *key)
{
    EVP_PKEY *public_key = s_public_key (key);
    if (!public_key) {
        snprintf (run->detail, sizeof run->detail, "the recorded public key does not decode");
        return -1;
    }
    uint8_t digest [32], input [256], sig [PERSO_PIV_SIGNATURE_MAX];
    size_t input_size = 32, sig_size = 0;
    randombytes_buf (digest, sizeof digest);
    memcpy (input, digest, sizeof digest);
    int rc = -1;
    if (s_algorithm (&run->job) == PERSO_PIV_ALG_RSA2048) {
        input_size = 256;
        perso_csr_pkcs1_block (digest, input, input_size);
    }
    if (s_verify_pin (run))
        goto done;
    perso_piv_status_t status;
    if (perso_piv_sign (&run->card, key->slot, s_algorithm (&run->job), input, input_size, sig,
                        &sig_size, &status)) {
        if (status.io != PERSO_IO_OK && status.io != PERSO_IO_MALFORMED) {
            perso_run_card_failed (run, &status);
            goto done;
        }
        rc = 0;     //  refused or nonsense: no such key there
        goto done;
    }
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new (public_key, NULL);
    rc = ctx && EVP_PKEY_verify_init (ctx) > 0
      && EVP_PKEY_CTX_set_signature_md (ctx, EVP_sha256 ()) > 0
      && EVP_PKEY_verify (ctx, sig, sig_size, digest, sizeof digest) == 1 ? 1 : 0;
    EVP_PKEY_CTX_free (ctx);
done:
    EVP_PKEY_free (public_key);
    return rc;
}

//  The key was lost: its certificate (if any) is revoked, superseded, and
//  everything made from it forgotten.
static int
s_forget_key (perso_run_t *run, perso_job_key_t *key)
{
    if (*key->serial_hex) {
        char message [256] = "";
        if (perso_run_revoke (run->state, run->trace_id, key->serial_hex, S_REVOKE_SUPERSEDED,
                              run->job.job_id, message, sizeof message)) {
            snprintf (run->detail, sizeof run->detail,
                      "the card lost the key of certificate %s, which cannot be revoked: %s",
                      key->serial_hex, message);
            return -1;
        }
        if (tsr_db_begin (run->db) || perso_job_record_revoked (run->db, &run->job, key->slot,
                                                                key->serial_hex, S_REVOKE_SUPERSEDED)
        ||  tsr_db_commit (run->db)) {
            tsr_db_rollback (run->db);
            snprintf (run->detail, sizeof run->detail, "cannot record the revocation (database)");
            return -1;
        }
        tsr_log_warn (run->trace_id, "perso.certificate_superseded", "job_id", run->job.job_id,
                      "serial", key->serial_hex, NULL);
    }
    free (key->public_key_der);
    free (key->csr_der);
    free (key->certificate_der);
    key->public_key_der = key->csr_der = key->certificate_der = NULL;
    key->public_key_size = key->csr_size = key->certificate_size = 0;
    key->spki_sha256 [0] = key->serial_hex [0] = 0;
    key->not_after_unix = 0;
    run->job.certs_written = false;
    return perso_run_checkpoint (run);
}

int
perso_run_generate (perso_run_t *run, int key_index)
{
    perso_job_key_t *key = &run->job.keys [key_index];
    if (!key->wanted) {
        snprintf (run->detail, sizeof run->detail, "not requested");
        return 0;
    }
    if (key->public_key_der) {
        //  Once the PIN is the holder's, keys can no longer be tested
        //  (but a renewal holds the holder's PIN).
        if (run->job.pin_changed && !*run->holder_pin) {
            snprintf (run->detail, sizeof run->detail, "made in an earlier run");
            return 0;
        }
        int present = s_key_on_card (run, key);
        if (present < 0)
            return -1;
        if (present) {
            snprintf (run->detail, sizeof run->detail,
                      "made in an earlier run; the card still holds it (test signature verified)");
            return 0;
        }
        if (s_forget_key (run, key))
            return -1;
    }
    perso_piv_status_t status;
    EVP_PKEY *public_key = NULL;
    if (perso_piv_generate (&run->card, key->slot, s_algorithm (&run->job), &public_key, &status))
        return perso_run_card_failed (run, &status);
    unsigned char *spki = NULL;
    int spki_size = i2d_PUBKEY (public_key, &spki);
    EVP_PKEY_free (public_key);
    uint8_t digest [32];
    if (spki_size <= 0 || !EVP_Digest (spki, (size_t) spki_size, digest, NULL, EVP_sha256 (), NULL)
    ||  !(key->public_key_der = malloc ((size_t) spki_size))) {
        OPENSSL_free (spki);
        snprintf (run->detail, sizeof run->detail, "cannot encode the public key");
        return -1;
    }
    memcpy (key->public_key_der, spki, (size_t) spki_size);
    key->public_key_size = (size_t) spki_size;
    OPENSSL_free (spki);
    perso_hex (digest, sizeof digest, key->spki_sha256);
    snprintf (run->detail, sizeof run->detail, "%s key made on the card in slot %02X, SPKI sha256 %s",
              s_algorithm (&run->job) == PERSO_PIV_ALG_RSA2048 ? "RSA 2048" : "EC P-256",
              key->slot, key->spki_sha256);
    return 0;
}

//  The card as a CSR signer: VERIFY (9C wants it before each signature),
//  then GENERAL AUTHENTICATE.
typedef struct {
    perso_run_t *run;
    uint8_t slot;
} s_signer_t;

static int
s_card_sign (void *signer, const uint8_t *input, size_t input_size, uint8_t *sig,
             size_t *sig_size, char *err, size_t err_size)
{
    s_signer_t *self = signer;
    perso_piv_status_t status;
    if (s_verify_pin (self->run)) {
        snprintf (err, err_size, "%s", self->run->detail);
        return -1;
    }
    if (perso_piv_sign (&self->run->card, self->slot, s_algorithm (&self->run->job), input,
                        input_size, sig, sig_size, &status)) {
        snprintf (err, err_size, "%s", status.detail);
        return -1;
    }
    return 0;
}

int
perso_run_sign_csrs (perso_run_t *run)
{
    int signed_count = 0;
    for (int i = 0; i < PERSO_JOB_KEYS; i++) {
        perso_job_key_t *key = &run->job.keys [i];
        if (!key->wanted || key->csr_der)
            continue;
        if (run->job.pin_changed && !*run->holder_pin) {
            snprintf (run->detail, sizeof run->detail,
                      "slot %02X has no CSR and the PIN was changed already: abandon the job",
                      key->slot);
            return -1;
        }
        EVP_PKEY *public_key = s_public_key (key);
        char common_name [64], err [400] = "";
        snprintf (common_name, sizeof common_name, "%s %02X", run->job.card_uuid, key->slot);
        s_signer_t signer = { run, key->slot };
        uint8_t *der = NULL;
        size_t der_size = 0;
        int rc = public_key ? perso_csr_build (public_key, common_name, s_card_sign, &signer,
                                               &der, &der_size, err, sizeof err) : -1;
        EVP_PKEY_free (public_key);
        if (rc) {
            snprintf (run->detail, sizeof run->detail, "slot %02X: %s", key->slot,
                      *err ? err : "the recorded public key does not decode");
            return -1;
        }
        key->csr_der = malloc (der_size);
        if (key->csr_der) {
            memcpy (key->csr_der, der, der_size);
            key->csr_size = der_size;
        }
        OPENSSL_free (der);
        if (!key->csr_der || perso_run_checkpoint (run))
            return -1;
        signed_count++;
    }
    snprintf (run->detail, sizeof run->detail, signed_count
              ? "%d CSR%s signed by the card and verified" : "signed in an earlier run",
              signed_count, signed_count == 1 ? "" : "s");
    return 0;
}

static int
s_change_pin (perso_run_t *run)
{
    perso_job_t *job = &run->job;
    perso_piv_status_t status;
    if (job->pin_pending) {
        //  Sent before, outcome unknown: the transport PIN tells.
        if (perso_piv_verify_pin (&run->card, run->state->transport_pin, &status) == 0)
            job->pin_pending = false;
        else
        if (status.io == PERSO_IO_OK && (status.sw & 0xFFF0) == 0x63C0) {
            job->pin_changed = true;
            return perso_run_checkpoint (run);
        }
        else
            return perso_run_card_failed (run, &status);
    }
    char pin [PERSO_PIN_DIGITS + 1];
    perso_random_pin (pin);
    uint8_t *sealed = NULL;
    size_t sealed_size = 0;
    if (perso_seal (run->state->mail_public_key, pin, PERSO_PIN_DIGITS, &sealed, &sealed_size)) {
        sodium_memzero (pin, sizeof pin);
        snprintf (run->detail, sizeof run->detail, "cannot seal the PIN");
        return -1;
    }
    free (job->sealed_pin);
    job->sealed_pin = sealed;
    job->sealed_pin_size = sealed_size;
    job->pin_pending = true;
    int rc = perso_run_checkpoint (run);
    if (rc == 0 && perso_piv_change_reference (&run->card, PERSO_PIV_REF_PIN,
                                               run->state->transport_pin, pin, &status))
        rc = perso_run_card_failed (run, &status);
    sodium_memzero (pin, sizeof pin);
    if (rc)
        return -1;
    job->pin_changed = true;
    return perso_run_checkpoint (run);
}

static int
s_change_puk (perso_run_t *run)
{
    char puk [PERSO_PIN_DIGITS + 1];
    uint8_t uuid [16];
    if (!run->state->have_master_key || perso_uuid_parse (run->job.card_uuid, uuid)
    ||  perso_diversify_puk (run->state->master_key, run->state->master_key_size, uuid, puk)) {
        snprintf (run->detail, sizeof run->detail,
                  "cannot diversify the PUK (is TSR_PERSO_MASTER_KEY_FILE set?)");
        return -1;
    }
    perso_piv_status_t status;
    int rc = perso_piv_change_reference (&run->card, PERSO_PIV_REF_PUK, run->state->transport_puk,
                                         puk, &status);
    //  Refused: perhaps changed already by a run whose answer was lost;
    //  the PUK it would have set tells.
    if (rc && status.io == PERSO_IO_OK && (status.sw & 0xFFF0) == 0x63C0)
        rc = perso_piv_change_reference (&run->card, PERSO_PIV_REF_PUK, puk, puk, &status);
    sodium_memzero (puk, sizeof puk);
    if (rc)
        return perso_run_card_failed (run, &status);
    run->job.puk_changed = true;
    return 0;
}

int
perso_run_set_pin_and_puk (perso_run_t *run)
{
    if ((!run->job.pin_changed && s_change_pin (run))
    ||  (!run->job.puk_changed && s_change_puk (run)))
        return -1;
    if (run->job.renewal) {
        snprintf (run->detail, sizeof run->detail, "renewal: the holder's PIN and PUK kept");
        return 0;
    }
    snprintf (run->detail, sizeof run->detail,
              "random PIN set (sealed to mail, not kept), PUK set (diversified)");
    return 0;
}

int
perso_run_change_management_key (perso_run_t *run)
{
    perso_job_t *job = &run->job;
    if (job->mgmt_changed) {
        snprintf (run->detail, sizeof run->detail, "changed in an earlier run");
        return 0;
    }
    uint8_t key [PERSO_MGMT_KEY_SIZE], uuid [16];
    perso_piv_status_t status;
    int rc = -1;
    if (!run->state->have_master_key || perso_uuid_parse (job->card_uuid, uuid)
    ||  perso_diversify_management_key (run->state->master_key, run->state->master_key_size,
                                        uuid, key)) {
        snprintf (run->detail, sizeof run->detail,
                  "cannot diversify the management key (is TSR_PERSO_MASTER_KEY_FILE set?)");
        goto done;
    }
    job->mgmt_pending = true;
    if (perso_run_checkpoint (run))
        goto done;
    if (perso_piv_set_management_key (&run->card, PERSO_PIV_ALG_AES128, key, sizeof key, &status)
    ||  perso_piv_authenticate (&run->card, PERSO_PIV_ALG_AES128, key, sizeof key, &status)) {
        perso_run_card_failed (run, &status);
        goto done;
    }
    job->mgmt_changed = true;
    snprintf (run->detail, sizeof run->detail,
              "transport key replaced by the card's AES-128 key (diversified), checked");
    rc = 0;
done:
    OPENSSL_cleanse (key, sizeof key);
    return rc;
}
