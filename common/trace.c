/*  tsr_trace: the current thread's trace id (see trace.h). A C11
    thread-local fixed buffer: no allocation, so nothing leaks when a
    thread ends, and threads never see each other's value.
*/
#include "tessera/trace.h"
#include "tessera/envelope.h"

#include <stdio.h>
#include <string.h>

static _Thread_local char s_current [TSR_TRACE_ID_MAX + 1];

bool
tsr_trace_set (const char *trace_id)
{
    if (!tsr_id_valid (trace_id, TSR_TRACE_ID_MAX)) {
        s_current [0] = '\0';
        return false;
    }
    snprintf (s_current, sizeof s_current, "%s", trace_id);
    return true;
}

const char *
tsr_trace_set_fresh (void)
{
    char fresh [TSR_ID_HEX_SIZE];
    tsr_random_id (fresh);
    tsr_trace_set (fresh);
    return s_current;
}

void
tsr_trace_clear (void)
{
    s_current [0] = '\0';
}

const char *
tsr_trace_get (void)
{
    return s_current [0] ? s_current : NULL;
}

const char *
tsr_trace_or_current (const char *given)
{
    return given && *given ? given : tsr_trace_get ();
}
