/*  publisher_plan: when the next CRLs are due, and whether publication is
    late. Pure (the scheduler gives it what it read and the time), so the
    unit tests pin every rule.

    A publication (a full CRL, then a delta) is due:
    - at once when the issuer has no full CRL (trigger STARTUP);
    - interval_s after the full CRL's thisUpdate (SCHEDULE);
    - coalesce_ms after the oldest revocation no full CRL lists yet
      (REVOCATION): later revocations within the delay join the same CRL;
    - five minutes before the delta's nextUpdate, or at once when there is
      no delta (SCHEDULE);
    - never before retry_at_ms after a failure.

    Late (the alert, tessera_publisher_crl_stale): a revocation has waited
    longer than alert_s, or the full CRL is older than the schedule
    (interval_s plus a minute's grace for the regeneration itself) or past
    its nextUpdate, or no full CRL was published alert_s after start.
*/
#ifndef PUBLISHER_PLAN_H
#define PUBLISHER_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#define PUBLISHER_PLAN_GRACE_MS 60000
#define PUBLISHER_PLAN_DELTA_MARGIN_MS 300000

//  CrlTrigger values (publisher.proto).
enum {
    PUBLISHER_TRIGGER_SCHEDULE = 1,
    PUBLISHER_TRIGGER_REVOCATION = 2,
    PUBLISHER_TRIGGER_OPERATOR = 3,
    PUBLISHER_TRIGGER_STARTUP = 4,
};

typedef struct {
    int64_t now_ms;
    int64_t started_ms;             //  when the process started
    bool have_full;
    int64_t full_this_update_ms;
    int64_t full_next_update_ms;
    bool have_delta;
    int64_t delta_next_update_ms;
    int64_t pending_since_ms;       //  0: no revocation waiting
    int64_t retry_at_ms;            //  0: no failure to wait out
    long interval_s;
    long coalesce_ms;
    long alert_s;
} publisher_plan_input_t;

typedef struct {
    bool publish;                   //  publish now
    int trigger;                    //  why (when publish)
    int64_t due_ms;                 //  when the next publication is due
    int64_t next_full_due_ms;       //  the schedule alone (for the status)
    int64_t next_delta_due_ms;
    bool late;
    char late_reason [160];
} publisher_plan_t;

void publisher_plan (const publisher_plan_input_t *in, publisher_plan_t *out);

#endif
