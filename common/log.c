/*  tsr_log: JSON lines on stderr (see log.h). Each line is built in memory
    and written with one write(2), so lines from several threads never mix.
*/
#include "tessera/log.h"
#include "tessera/json.h"
#include "tessera/trace.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char s_service [64] = "tessera";
static tsr_log_level_t s_min_level = TSR_LOG_INFO;
static const char *s_level_names [] = { "debug", "info", "warn", "error" };

void
tsr_log_init (const char *service, tsr_log_level_t min_level)
{
    snprintf (s_service, sizeof s_service, "%s", service ? service : "tessera");
    s_min_level = min_level;
}

int
tsr_log_level_parse (const char *text)
{
    for (int level = 0; text && level < 4; level++)
        if (strcmp (text, s_level_names [level]) == 0)
            return level;
    return -1;
}

static void
s_now_text (char *text, size_t size)
{
    struct timespec now;
    struct tm utc;
    clock_gettime (CLOCK_REALTIME, &now);
    gmtime_r (&now.tv_sec, &utc);
    char seconds [32];
    strftime (seconds, sizeof seconds, "%Y-%m-%dT%H:%M:%S", &utc);
    unsigned milliseconds = (unsigned) (now.tv_nsec / 1000000) % 1000u;
    snprintf (text, size, "%.24s.%03uZ", seconds, milliseconds);
}

void
tsr_log (tsr_log_level_t level, const char *trace_id, const char *event, ...)
{
    if (level < s_min_level || level > TSR_LOG_ERROR)
        return;
    char now [48];
    s_now_text (now, sizeof now);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "time", now);
    tsr_json_str (json, "level", s_level_names [level]);
    tsr_json_str (json, "service", s_service);
    //  Code that has no trace id at hand logs under the one of the request
    //  or event this thread is handling.
    trace_id = tsr_trace_or_current (trace_id);
    if (trace_id)
        tsr_json_str (json, "trace_id", trace_id);
    tsr_json_str (json, "event", event);
    va_list args;
    va_start (args, event);
    const char *key;
    while ((key = va_arg (args, const char *)) != NULL) {
        const char *value = va_arg (args, const char *);
        tsr_json_str (json, key, value);
    }
    va_end (args);
    char *line = tsr_json_finish (&json);
    if (!line)
        return;
    size_t len = strlen (line);
    char *with_newline = realloc (line, len + 2);
    if (with_newline) {
        with_newline [len] = '\n';
        with_newline [len + 1] = '\0';
        ssize_t written = write (STDERR_FILENO, with_newline, len + 1);
        (void) written;
        line = with_newline;
    }
    free (line);
}
