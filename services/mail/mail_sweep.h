/*  mail_sweep: the expiry sweep.

    Over the holders' certificates mail knows from ca's events (good ones,
    grouped by card request), as of the service's clock: those expiring
    within TSR_MAIL_EXPIRY_NOTICE_DAYS (60) get a "certificates expiring"
    notice, those within TSR_MAIL_RENEWAL_NOTICE_DAYS (15) a renewal
    invitation too; each once per card request (dedup keys "expiring:" and
    "renewal:"). The background sweeper runs it when the last scheduled run
    is older than TSR_MAIL_SWEEP_INTERVAL_S (a day), so restarts neither
    skip nor repeat a day; RunExpirySweep runs it at once.
*/
#ifndef MAIL_SWEEP_H
#define MAIL_SWEEP_H

#include <czmq.h>
#include <stdint.h>
#include "mail_state.h"
#include "tessera/db.h"

//  One sweep in db's open transaction; records the run. 0 with the counts,
//  -1 (database error or enrollment unavailable: roll back, try later).
int mail_sweep_run (mail_state_t *state, tsr_db_t *db, const char *trigger, const char *actor,
                    const char *trace_id, uint32_t *checked, uint32_t *queued);

//  Starts the background sweeper (state borrowed). NULL on failure.
zactor_t *mail_sweeper_new (mail_state_t *state);

#endif
