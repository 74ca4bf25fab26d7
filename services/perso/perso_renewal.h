/*  perso_renewal: renewal and replacement jobs (docs/perso.md, "Renewal
    and replacement").

    StartJob of a RENEWAL request re-personalises the card of the request
    it renews: the card must be the same holder's, active, and live longer
    than the new certificates (cards.expires_at against the 3-year holder
    lifetime; a card that expires first is renewed on a new blank card, an
    ordinary job whose activation supersedes the old certificates); the job
    starts with the card's UUID, its diversified
    management key, PIN and PUK kept, and the holder's PIN (typed at the
    desk) sealed under a key derived from the master key, used for VERIFY
    before the card signs the CSRs. RECORD_CARD then swaps the card's
    certificates, keeps the old serials in card_renewals and issues a new
    activation code (a PIN mailer without PIN); the holder's ActivateCard
    with it is the acceptance: the new certificates are released and the
    old ones revoked, reason superseded, once.
    StartJob of a REPLACEMENT request (a new blank card, as any job) checks
    that the replaced card's certificates are revoked with the reason that
    fits (keyCompromise for lost or stolen, cessationOfOperation for
    damaged) and, for a damaged card, that its return is recorded (state
    returned, damaged or destroyed).
*/
#ifndef PERSO_RENEWAL_H
#define PERSO_RENEWAL_H

#include "perso_run.h"
#include "tessera/bus.h"
#include "tessera/v1/enrollment.pb-c.h"
#include "tessera/v1/perso.pb-c.h"

#define PERSO_HOLDER_CERT_DAYS 1095     //  ca's holder profile: 3 years
#define PERSO_HOLDER_PIN_MAX 8

//  StartJob, before the job is recorded: the checks of a RENEWAL or
//  REPLACEMENT request (others: S_OK, nothing). For a renewal, card_uuid
//  receives the renewed card and *same_card whether the job re-personalises
//  it (false: the card expires first, the job takes a blank card).
//  STATUS_OK or the refusal.
tsr_status_t perso_renewal_start_check (tsr_call_t *call, const Tessera__V1__CardRequest *request,
                                        const Tessera__V1__StartJobRequest *in,
                                        char card_uuid [37], bool *same_card);

//  StartJob, after the job is recorded (same transaction): job_id renews
//  card_uuid; on the card itself when holder_pin is given (sealed), on a
//  new card otherwise. STATUS_OK or the refusal.
tsr_status_t perso_renewal_mark_job (tsr_call_t *call, const char *job_id, const char *card_uuid,
                                     const char *holder_pin);

//  RECORD_CARD of a renewal on a new card (in its transaction): the renewed
//  card's certificates noted for superseding at the new card's activation.
//  0, or -1.
int perso_renewal_note_old_card (perso_run_t *run);

//  The runner: the holder's PIN of a renewal job into pin (PERSO_HOLDER_PIN_MAX
//  + 1). 0, or -1 with run->detail.
int perso_renewal_open_pin (perso_run_t *run, char *pin);

//  RECORD_CARD of a renewal job (perso_renewal_record.c).
int perso_renewal_record (perso_run_t *run);

//  ActivateCard's acceptance: revokes the card's replaced certificates
//  (superseded), records and audits each; those done before are skipped.
//  STATUS_OK or the failure (retry).
tsr_status_t perso_renewal_supersede (tsr_call_t *call, const char *card_uuid);

#endif
