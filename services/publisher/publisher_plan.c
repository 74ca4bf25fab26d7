/*  publisher_plan: the schedule's rules (see publisher_plan.h).
*/
#include "publisher_plan.h"

#include <stdio.h>
#include <string.h>

static int64_t
s_min (int64_t a, int64_t b)
{
    return a < b ? a : b;
}

void
publisher_plan (const publisher_plan_input_t *in, publisher_plan_t *out)
{
    memset (out, 0, sizeof *out);
    int64_t now = in->now_ms;
    int64_t interval_ms = (int64_t) in->interval_s * 1000;
    int64_t alert_ms = (int64_t) in->alert_s * 1000;

    out->next_full_due_ms = in->have_full ? in->full_this_update_ms + interval_ms : now;
    //  The full CRL must also be renewed before it expires, whatever the
    //  interval says.
    if (in->have_full)
        out->next_full_due_ms = s_min (out->next_full_due_ms,
                                       in->full_next_update_ms - PUBLISHER_PLAN_GRACE_MS);
    out->next_delta_due_ms = in->have_delta
        ? in->delta_next_update_ms - PUBLISHER_PLAN_DELTA_MARGIN_MS : now;
    int64_t revocation_due = in->pending_since_ms ? in->pending_since_ms + in->coalesce_ms
                                                  : INT64_MAX;
    out->due_ms = s_min (s_min (out->next_full_due_ms, out->next_delta_due_ms), revocation_due);
    out->trigger = !in->have_full ? PUBLISHER_TRIGGER_STARTUP
                 : out->due_ms == revocation_due ? PUBLISHER_TRIGGER_REVOCATION
                 : PUBLISHER_TRIGGER_SCHEDULE;
    if (in->retry_at_ms > out->due_ms)
        out->due_ms = in->retry_at_ms;
    out->publish = now >= out->due_ms;

    if (in->pending_since_ms && now - in->pending_since_ms > alert_ms)
        snprintf (out->late_reason, sizeof out->late_reason,
                  "a revocation has waited %lld s for a CRL (alert after %ld s)",
                  (long long) ((now - in->pending_since_ms) / 1000), in->alert_s);
    else
    if (!in->have_full && now - in->started_ms > alert_ms)
        snprintf (out->late_reason, sizeof out->late_reason,
                  "no CRL published %lld s after start (alert after %ld s)",
                  (long long) ((now - in->started_ms) / 1000), in->alert_s);
    else
    if (in->have_full && now >= in->full_next_update_ms)
        snprintf (out->late_reason, sizeof out->late_reason, "the full CRL is past its nextUpdate");
    else
    if (in->have_full && now - in->full_this_update_ms > interval_ms + PUBLISHER_PLAN_GRACE_MS)
        snprintf (out->late_reason, sizeof out->late_reason,
                  "the full CRL is %lld s old, beyond the %ld s schedule",
                  (long long) ((now - in->full_this_update_ms) / 1000), in->interval_s);
    out->late = out->late_reason [0] != 0;
}
