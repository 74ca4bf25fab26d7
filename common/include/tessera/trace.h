/*  tsr_trace: the trace id of the work the current thread is doing.

    A trace id is chosen by the first client of a chain and travels in every
    Envelope and Event, so one card request can be followed across the
    services' logs. The bus worker sets it around each request's handler,
    the event consumer around each event it applies, a long-running job
    around its run; tsr_log, tsr_bus_client_call and tsr_events_append use
    it whenever their caller passes none:

        tsr_trace_set (request->trace_id);
        handler (call);            //  logs, bus calls, events: all carry it
        tsr_trace_clear ();

    The value is kept per thread in a fixed buffer (nothing to free) and,
    since it comes from outside, only when it passes the envelope's rule:
    1..TSR_TRACE_ID_MAX characters of [A-Za-z0-9._:-]. Anything else clears
    it.
*/
#ifndef TSR_TRACE_H
#define TSR_TRACE_H

#include <stdbool.h>

//  Makes trace_id the current thread's trace id. Returns false, and clears
//  the current one, when trace_id is NULL, empty or breaks the rule.
bool tsr_trace_set (const char *trace_id);
//  Sets a fresh random trace id (32 hex characters) and returns it.
const char *tsr_trace_set_fresh (void);
void tsr_trace_clear (void);
//  The current thread's trace id, or NULL when it has none. Valid until the
//  thread sets or clears it.
const char *tsr_trace_get (void);
//  given when it is a non-empty string, else the current trace id (NULL
//  when none): what a function taking an optional trace id should use.
const char *tsr_trace_or_current (const char *given);

#endif
