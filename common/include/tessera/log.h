/*  tsr_log: one JSON object per line on stderr.

    Every line has time (UTC, milliseconds), level, service, trace_id (the
    caller's, or when it passes NULL or "" the thread's current one, see
    tessera/trace.h; absent when there is neither), event (a dotted name: "bus.refused") and the
    caller's fields, given as key, value string pairs ending with NULL:

        tsr_log_info (trace_id, "db.connected", "schema", schema, NULL);

    Secrets (passwords, PINs, activation codes, shares, keys) are never
    passed here: log what happened and to what, not the value.
*/
#ifndef TSR_LOG_H
#define TSR_LOG_H

typedef enum {
    TSR_LOG_DEBUG = 0,
    TSR_LOG_INFO = 1,
    TSR_LOG_WARN = 2,
    TSR_LOG_ERROR = 3
} tsr_log_level_t;

//  Sets the service name and the lowest level written. Call once at start.
void tsr_log_init (const char *service, tsr_log_level_t min_level);
//  Parses "debug", "info", "warn", "error"; -1 for anything else.
int tsr_log_level_parse (const char *text);

void tsr_log (tsr_log_level_t level, const char *trace_id, const char *event, ...)
    __attribute__ ((sentinel));

#define tsr_log_debug(trace_id, ...) tsr_log (TSR_LOG_DEBUG, trace_id, __VA_ARGS__)
#define tsr_log_info(trace_id, ...)  tsr_log (TSR_LOG_INFO, trace_id, __VA_ARGS__)
#define tsr_log_warn(trace_id, ...)  tsr_log (TSR_LOG_WARN, trace_id, __VA_ARGS__)
#define tsr_log_error(trace_id, ...) tsr_log (TSR_LOG_ERROR, trace_id, __VA_ARGS__)

#endif
