/*  perso_puk: PIN unblock. A holder whose PIN is blocked proves who they
    are and receives the card's PUK once; perso changes it at the card's
    next contact (docs/perso.md, "PIN unblock").

    - StartPukRelease (perso_puk_start.c): the card is the holder's and
      usable, no release awaits its change, releases are not locked for
      the holder; questions picked at random (2, 4, 5 by the card's level)
      among the holder's secret questions at validation.
    - ReleasePuk (perso_puk_release.c): the answers checked once by
      validation; right, the PUK of the card's current version in the
      reply (TSR_METHOD_SECRET_REPLY) and the release recorded; wrong,
      counted toward the lockout (TSR_PERSO_PUK_MAX_FAILURES within
      TSR_PERSO_PUK_LOCK_S lock releases for as long).
    - ChangePuk (perso_puk_card.c): the card in a reader; the released PUK
      changed to the next version with CHANGE REFERENCE DATA (81).
      perso_puk_card_contact does that step for any code that holds a
      card session (a later job on a known card should call it first).

    The PUK is never stored: version v is derived from the master key and
    the card's UUID (perso_diversify_puk_version), so only perso can make
    it. Answers and PUKs are wiped after use and never logged.
*/
#ifndef PERSO_PUK_H
#define PERSO_PUK_H

#include <stdbool.h>
#include <stdint.h>
#include "perso_apdu.h"
#include "perso_cards.h"
#include "perso_state.h"
#include "tessera/bus.h"

#define PERSO_PUK_CHANNEL_PORTAL 1
#define PERSO_PUK_CHANNEL_PHONE 2
#define PERSO_PUK_QUESTIONS_MAX 5
#define PERSO_PUK_ANSWER_MAX 200

//  The bus methods.
tsr_status_t perso_handle_start_puk_release (tsr_call_t *call);
tsr_status_t perso_handle_release_puk (tsr_call_t *call);
tsr_status_t perso_handle_change_puk (tsr_call_t *call);

//  Who asks: the portal for an account, or a service-desk operator for a
//  person on the phone.
typedef struct {
    int channel;
    char account_id [65];           //  portal
    char person_id [65];            //  the card's holder (filled from the card)
    char operator_id [65];          //  phone: the operator; portal: ""
} perso_puk_holder_t;

//  The card of a release, as checked by perso_puk_card_check.
typedef struct {
    perso_card_row_t row;
    int level;                      //  1..3
    uint32_t puk_version;
} perso_puk_card_t;

//  The holder from the request (exactly one of account_id or person_id,
//  which one by the caller: a service key is the portal, an operator the
//  phone). STATUS_OK, or INVALID_ARGUMENT naming the field.
tsr_status_t perso_puk_holder_from (tsr_call_t *call, const char *account_id,
                                    const char *person_id, perso_puk_holder_t *holder);

//  Loads the card (locked) and checks it may have its PUK released to
//  holder: theirs (another holder's card is answered as unknown, and the
//  attempt audited), personalised, shipped or active, no release awaiting
//  its change. Fills holder->person_id. STATUS_OK, or the refusal set.
tsr_status_t perso_puk_card_check (tsr_call_t *call, const char *card_uuid,
                                   perso_puk_holder_t *holder, perso_puk_card_t *card);

//  A holder's release lockout now.
typedef struct {
    int failures;                   //  wrong answer sets in the current window
    int64_t locked_until_unix;      //  0 when not locked
} perso_puk_lockout_t;

//  Reads the holder's lockout into *out: STATUS_OK when releases are not
//  locked, else FAILED_PRECONDITION (the refusal kept on record) or
//  UNAVAILABLE, with the message set.
tsr_status_t perso_puk_lockout_check (tsr_call_t *call, const char *card_uuid,
                                      const char *person_id, perso_puk_lockout_t *out);
//  Counts a wrong answer set; *locked_now when it locked releases. 0, or -1.
int perso_puk_lockout_fail (tsr_call_t *call, const char *person_id, perso_puk_lockout_t *out,
                            bool *locked_now);
//  A right answer set clears the count. 0, or -1.
int perso_puk_lockout_clear (tsr_call_t *call, const char *person_id);

//  Questions asked at level (1..3): 2, 4, 5; 0 for another level.
size_t perso_puk_questions_for_level (int level);

//  The card's next contact: when a released PUK of card_uuid awaits its
//  change, changes it on the card (open session, PIV selected, the card's
//  GUID checked by the caller) to the next version, and records it (card
//  row, release row, audit, "puk.changed") in db's transaction.
//  1 changed (*version the new one), 0 nothing awaited (*version the
//  current one), -1 failed with detail (the card refused, was removed,
//  or the database failed; nothing recorded).
int perso_puk_card_contact (perso_state_t *state, tsr_db_t *db, perso_card_t *card,
                            const char *card_uuid, const char *actor, const char *trace_id,
                            uint32_t *version, char *detail, size_t detail_size);

#endif
