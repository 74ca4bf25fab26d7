/*  revocation_timer: the revocation service's own clock, started by
    on_start (revocation_state_start), every TSR_REVOCATION_TIMER_MS (30 s):

    - applies approved requests that ca did not take when they were decided
      (revocation_apply.h), each in a transaction of its own with its row
      locked (SKIP LOCKED: a worker deciding it now keeps it), audited as
      actor "system";
    - sets the gauges tessera_revocation_requests_open{state="pending"|
      "approved"} and tessera_revocation_requests_overdue from the table,
      so /metrics shows what is late even when nobody asks.

    A zactor with a zloop timer and a database connection of its own;
    zactor_destroy stops it.
*/
#ifndef REVOCATION_TIMER_H
#define REVOCATION_TIMER_H

#include <czmq.h>
#include "revocation_state.h"

//  state is borrowed for the actor's life. NULL on failure.
zactor_t *revocation_timer_new (revocation_state_t *state);

#endif
