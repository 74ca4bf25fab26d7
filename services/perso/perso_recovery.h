/*  perso_recovery: recovery of escrowed encryption keys (issue 13;
    docs/perso.md, "Escrow and recovery").

    RequestKeyRecovery (service-desk or a recovery officer) records who
    asks, for which holder (all the holder's escrowed keys, or one), why
    (the holder lost the card, or a legal procedure) and under which
    reference. ApproveKeyRecovery: two distinct recovery officers, neither
    the requester, neither holding an operator role (their roles come from
    enrollment, as for every call). DeliverRecoveredKey (the requester,
    once): the keys opened with the key-recovery authority's private key
    (TSR_PERSO_RECOVERY_KEY_FILE, read for this call and wiped), in a
    PKCS#12 under a fresh random password; the password is not in the
    reply but sealed to mail in "key_recovery.password_ready", so file and
    password reach the holder by two channels. Every step and refusal is
    audited.
*/
#ifndef PERSO_RECOVERY_H
#define PERSO_RECOVERY_H

#include "tessera/bus.h"
#include "tessera/v1/perso.pb-c.h"

#define PERSO_RECOVERY_APPROVALS 2
#define PERSO_RECOVERY_REASON_MAX 512
#define PERSO_RECOVERY_REFERENCE_MAX 128
#define PERSO_RECOVERY_PASSWORD_CHARS 24

tsr_status_t perso_handle_request_key_recovery (tsr_call_t *call);
tsr_status_t perso_handle_approve_key_recovery (tsr_call_t *call);
tsr_status_t perso_handle_deliver_recovered_key (tsr_call_t *call);
tsr_status_t perso_handle_get_key_recovery (tsr_call_t *call);
tsr_status_t perso_handle_list_escrowed_keys (tsr_call_t *call);

//  Field checks that need no database (also for the fuzz target).
tsr_status_t perso_request_key_recovery_check (tsr_call_t *call,
                                               const Tessera__V1__RequestKeyRecoveryRequest *in);

//  The recovery as KeyRecovery, replied. S_OK or the refusal set
//  (perso_recovery_view.c).
tsr_status_t perso_recovery_reply (tsr_call_t *call, const char *recovery_id,
                                   const char *message);

#endif
