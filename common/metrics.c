/*  tsr_metrics: a bounded, thread-safe Prometheus registry (see metrics.h).

    All state lives in fixed arrays sized by the header's limits, so a flood
    of distinct label values (bus method names come from clients) can not
    grow memory: values past TSR_METRICS_MAX_LABEL_VALUES, and values of
    S_LABEL_VALUE_SIZE bytes or more, are recorded as "other". Observations
    never allocate; only declaring a family and rendering do. One mutex per
    registry guards everything, so a render is a consistent snapshot.
*/
#include "tessera/metrics.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_NAME_MAX          128     //  longest metric or label name accepted
#define S_LABEL_VALUE_SIZE  128     //  longer label values count as "other"
#define S_OTHER             "other"
#define S_NUMBER_SIZE       32      //  fits "%.17g" of any double and any uint64
#define S_RENDER_START      4096

typedef enum { S_COUNTER, S_GAUGE, S_HISTOGRAM } s_kind_t;

//  One time series: a label value of a labelled family, or the only series
//  of an unlabelled one (label_value "").
typedef struct {
    char label_value [S_LABEL_VALUE_SIZE];
    uint64_t count;             //  counter value; histogram observation count
    double value;               //  gauge value; histogram sum
    uint64_t bucket_counts [TSR_METRICS_MAX_BUCKETS];  //  per bucket, not cumulative
} s_series_t;

//  The public handle types stay incomplete: a handle is a family pointer
//  converted to the kind's type, and converted back before use. The kinds
//  stay distinct types for callers at no cost here.
typedef struct {
    tsr_metrics_t *owner;       //  for its mutex
    s_kind_t kind;
    char *name;
    char *help;
    char *label_name;           //  NULL when unlabelled
    double bounds [TSR_METRICS_MAX_BUCKETS];
    size_t bound_count;
    size_t series_count;
    s_series_t series [TSR_METRICS_MAX_LABEL_VALUES + 1];  //  + 1 for "other"
} s_family_t;

struct _tsr_metrics_t {
    pthread_mutex_t mutex;
    char *service;
    s_family_t *families [TSR_METRICS_MAX_FAMILIES];
    size_t family_count;
};

//  A growing, always NUL-terminated render buffer. The first failed
//  allocation sets failed and later appends do nothing, so the renderer
//  checks once at the end.
typedef struct {
    char *data;
    size_t len;
    size_t cap;
    int failed;
} s_buf_t;


//  Name rules of the exposition format, without locale-dependent ctype:
//  metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names the same without ':'.
static int
s_name_valid (const char *name, int allow_colon)
{
    if (!name || !*name || strnlen (name, S_NAME_MAX + 1) > S_NAME_MAX)
        return 0;
    for (const char *p = name; *p; p++) {
        char c = *p;
        int valid = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
                 || (allow_colon && c == ':') || (p != name && c >= '0' && c <= '9');
        if (!valid)
            return 0;
    }
    return 1;
}

//  "__" names are reserved by Prometheus, "service" is our constant label,
//  and "le" is the bucket label of histograms.
static int
s_label_name_valid (const char *label_name, s_kind_t kind)
{
    return s_name_valid (label_name, 0)
        && strncmp (label_name, "__", 2) != 0
        && strcmp (label_name, "service") != 0
        && !(kind == S_HISTOGRAM && strcmp (label_name, "le") == 0);
}

//  Bounds must be finite and strictly ascending; +Inf is always implicit.
static int
s_bounds_valid (const double *bounds, size_t bound_count)
{
    if (bound_count > TSR_METRICS_MAX_BUCKETS || (bound_count && !bounds))
        return 0;
    for (size_t i = 0; i < bound_count; i++)
        if (!isfinite (bounds [i]) || (i && !(bounds [i] > bounds [i - 1])))
            return 0;
    return 1;
}

static void
s_family_destroy (s_family_t **family_p)
{
    if (!family_p || !*family_p)
        return;
    s_family_t *family = *family_p;
    free (family->name);
    free (family->help);
    free (family->label_name);
    free (family);
    *family_p = NULL;
}

//  Arguments are already validated.
static s_family_t *
s_family_new (tsr_metrics_t *owner, s_kind_t kind, const char *name, const char *help,
              const char *label_name, const double *bounds, size_t bound_count)
{
    s_family_t *family = calloc (1, sizeof *family);
    if (!family)
        return NULL;
    family->owner = owner;
    family->kind = kind;
    family->name = strdup (name);
    family->help = strdup (help ? help : "");
    family->label_name = label_name ? strdup (label_name) : NULL;
    if (!family->name || !family->help || (label_name && !family->label_name))
        goto failed;
    if (bound_count)
        memcpy (family->bounds, bounds, bound_count * sizeof *bounds);
    family->bound_count = bound_count;
    //  An unlabelled family has its one series from the start, so it
    //  renders 0 before the first observation.
    if (!label_name)
        family->series_count = 1;
    return family;

failed:
    s_family_destroy (&family);
    return NULL;
}

//  Returns the registry's family of that name and kind, declaring it if new.
static s_family_t *
s_declare (tsr_metrics_t *self, s_kind_t kind, const char *name, const char *help,
           const char *label_name, const double *bounds, size_t bound_count)
{
    if (!self || !s_name_valid (name, 1))
        return NULL;
    if (label_name && !s_label_name_valid (label_name, kind))
        return NULL;
    if (kind == S_HISTOGRAM && !s_bounds_valid (bounds, bound_count))
        return NULL;
    if (pthread_mutex_lock (&self->mutex) != 0)
        return NULL;

    s_family_t *family = NULL;
    for (size_t i = 0; i < self->family_count; i++)
        if (strcmp (self->families [i]->name, name) == 0) {
            //  A family of another kind can not be handed out as this type.
            if (self->families [i]->kind == kind)
                family = self->families [i];
            goto unlock;
        }
    if (self->family_count == TSR_METRICS_MAX_FAMILIES)
        goto unlock;
    family = s_family_new (self, kind, name, help, label_name, bounds, bound_count);
    if (family)
        self->families [self->family_count++] = family;

unlock:
    (void) pthread_mutex_unlock (&self->mutex);
    return family;
}

static s_series_t *
s_series_find (s_family_t *family, const char *label_value)
{
    for (size_t i = 0; i < family->series_count; i++)
        if (strcmp (family->series [i].label_value, label_value) == 0)
            return &family->series [i];
    return NULL;
}

//  Finds or adds the series for label_value; called with the mutex held.
//  Never NULL: when the family is full the value becomes "other", and the
//  array keeps one slot beyond the limit for it.
static s_series_t *
s_series (s_family_t *family, const char *label_value)
{
    if (!family->label_name)
        return &family->series [0];
    if (!label_value)
        label_value = "";
    if (strnlen (label_value, S_LABEL_VALUE_SIZE) == S_LABEL_VALUE_SIZE)
        label_value = S_OTHER;

    s_series_t *series = s_series_find (family, label_value);
    if (series)
        return series;
    if (family->series_count >= TSR_METRICS_MAX_LABEL_VALUES) {
        label_value = S_OTHER;
        series = s_series_find (family, label_value);
        if (series)
            return series;
    }
    series = &family->series [family->series_count++];
    snprintf (series->label_value, sizeof series->label_value, "%s", label_value);
    return series;
}

tsr_metrics_t *
tsr_metrics_new (const char *service)
{
    if (!service || !*service)
        return NULL;
    tsr_metrics_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->service = strdup (service);
    if (!self->service)
        goto failed;
    if (pthread_mutex_init (&self->mutex, NULL) != 0)
        goto failed;
    return self;

failed:
    free (self->service);
    free (self);
    return NULL;
}

void
tsr_metrics_destroy (tsr_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsr_metrics_t *self = *self_p;
    for (size_t i = 0; i < self->family_count; i++)
        s_family_destroy (&self->families [i]);
    (void) pthread_mutex_destroy (&self->mutex);
    free (self->service);
    free (self);
    *self_p = NULL;
}

tsr_counter_t *
tsr_metrics_counter (tsr_metrics_t *self, const char *name, const char *help,
                     const char *label_name)
{
    return (tsr_counter_t *) s_declare (self, S_COUNTER, name, help, label_name, NULL, 0);
}

tsr_gauge_t *
tsr_metrics_gauge (tsr_metrics_t *self, const char *name, const char *help,
                   const char *label_name)
{
    return (tsr_gauge_t *) s_declare (self, S_GAUGE, name, help, label_name, NULL, 0);
}

tsr_histogram_t *
tsr_metrics_histogram (tsr_metrics_t *self, const char *name, const char *help,
                       const char *label_name, const double *bounds, size_t bound_count)
{
    return (tsr_histogram_t *) s_declare (self, S_HISTOGRAM, name, help, label_name,
                                          bounds, bound_count);
}

void
tsr_counter_inc (tsr_counter_t *counter, const char *label_value, uint64_t n)
{
    if (!counter)
        return;
    s_family_t *family = (s_family_t *) counter;
    if (pthread_mutex_lock (&family->owner->mutex) != 0)
        return;
    s_series (family, label_value)->count += n;
    (void) pthread_mutex_unlock (&family->owner->mutex);
}

void
tsr_gauge_set (tsr_gauge_t *gauge, const char *label_value, double value)
{
    if (!gauge)
        return;
    s_family_t *family = (s_family_t *) gauge;
    if (pthread_mutex_lock (&family->owner->mutex) != 0)
        return;
    s_series (family, label_value)->value = value;
    (void) pthread_mutex_unlock (&family->owner->mutex);
}

void
tsr_gauge_add (tsr_gauge_t *gauge, const char *label_value, double delta)
{
    if (!gauge)
        return;
    s_family_t *family = (s_family_t *) gauge;
    if (pthread_mutex_lock (&family->owner->mutex) != 0)
        return;
    s_series (family, label_value)->value += delta;
    (void) pthread_mutex_unlock (&family->owner->mutex);
}

//  A value lands in the first bucket whose upper bound is >= value; past
//  the last bound it is only in the implicit +Inf bucket (= count).
void
tsr_histogram_observe (tsr_histogram_t *histogram, const char *label_value, double value)
{
    if (!histogram)
        return;
    s_family_t *family = (s_family_t *) histogram;
    if (pthread_mutex_lock (&family->owner->mutex) != 0)
        return;
    s_series_t *series = s_series (family, label_value);
    for (size_t i = 0; i < family->bound_count; i++)
        if (value <= family->bounds [i]) {
            series->bucket_counts [i]++;
            break;
        }
    series->count++;
    series->value += value;
    (void) pthread_mutex_unlock (&family->owner->mutex);
}

static void
s_buf_add_len (s_buf_t *buf, const char *text, size_t len)
{
    if (buf->failed)
        return;
    if (buf->cap - buf->len <= len) {
        size_t cap = buf->cap ? buf->cap : S_RENDER_START;
        while (cap - buf->len <= len) {
            if (cap > SIZE_MAX / 2) {
                buf->failed = 1;
                return;
            }
            cap *= 2;
        }
        char *data = realloc (buf->data, cap);
        if (!data) {
            buf->failed = 1;
            return;
        }
        buf->data = data;
        buf->cap = cap;
    }
    memcpy (buf->data + buf->len, text, len);
    buf->len += len;
    buf->data [buf->len] = '\0';
}

static void
s_buf_add (s_buf_t *buf, const char *text)
{
    s_buf_add_len (buf, text, strlen (text));
}

//  Label values escape backslash, double quote and newline; HELP text
//  escapes only backslash and newline (exposition format 0.0.4).
static void
s_buf_add_escaped (s_buf_t *buf, const char *text, int escape_quote)
{
    for (const char *p = text; *p; p++) {
        if (*p == '\\')
            s_buf_add_len (buf, "\\\\", 2);
        else
        if (*p == '\n')
            s_buf_add_len (buf, "\\n", 2);
        else
        if (*p == '"' && escape_quote)
            s_buf_add_len (buf, "\\\"", 2);
        else
            s_buf_add_len (buf, p, 1);
    }
}

//  Shortest of %.15g / %.17g that reads back as the same double, so 0.1
//  renders as "0.1"; infinities and NaN as Prometheus spells them.
static void
s_format_double (double value, char *text, size_t text_size)
{
    if (isnan (value))
        snprintf (text, text_size, "NaN");
    else
    if (isinf (value))
        snprintf (text, text_size, "%s", value > 0 ? "+Inf" : "-Inf");
    else {
        snprintf (text, text_size, "%.15g", value);
        if (strtod (text, NULL) != value)
            snprintf (text, text_size, "%.17g", value);
    }
}

//  One line: name+suffix{service="..",label="..",le=".."} value
static void
s_render_sample (s_buf_t *buf, const tsr_metrics_t *self, const s_family_t *family,
                 const char *suffix, const s_series_t *series, const char *le,
                 const char *value)
{
    s_buf_add (buf, family->name);
    s_buf_add (buf, suffix);
    s_buf_add (buf, "{service=\"");
    s_buf_add_escaped (buf, self->service, 1);
    s_buf_add (buf, "\"");
    if (family->label_name) {
        s_buf_add (buf, ",");
        s_buf_add (buf, family->label_name);
        s_buf_add (buf, "=\"");
        s_buf_add_escaped (buf, series->label_value, 1);
        s_buf_add (buf, "\"");
    }
    if (le) {
        s_buf_add (buf, ",le=\"");
        s_buf_add (buf, le);
        s_buf_add (buf, "\"");
    }
    s_buf_add (buf, "} ");
    s_buf_add (buf, value);
    s_buf_add (buf, "\n");
}

static void
s_render_histogram_series (s_buf_t *buf, const tsr_metrics_t *self,
                           const s_family_t *family, const s_series_t *series)
{
    char le [S_NUMBER_SIZE];
    char value [S_NUMBER_SIZE];
    uint64_t cumulative = 0;
    for (size_t i = 0; i < family->bound_count; i++) {
        cumulative += series->bucket_counts [i];
        s_format_double (family->bounds [i], le, sizeof le);
        snprintf (value, sizeof value, "%" PRIu64, cumulative);
        s_render_sample (buf, self, family, "_bucket", series, le, value);
    }
    snprintf (value, sizeof value, "%" PRIu64, series->count);
    s_render_sample (buf, self, family, "_bucket", series, "+Inf", value);
    s_format_double (series->value, value, sizeof value);
    s_render_sample (buf, self, family, "_sum", series, NULL, value);
    snprintf (value, sizeof value, "%" PRIu64, series->count);
    s_render_sample (buf, self, family, "_count", series, NULL, value);
}

static void
s_render_family (s_buf_t *buf, const tsr_metrics_t *self, const s_family_t *family)
{
    static const char *type_names [] = { "counter", "gauge", "histogram" };
    if (*family->help) {
        s_buf_add (buf, "# HELP ");
        s_buf_add (buf, family->name);
        s_buf_add (buf, " ");
        s_buf_add_escaped (buf, family->help, 0);
        s_buf_add (buf, "\n");
    }
    s_buf_add (buf, "# TYPE ");
    s_buf_add (buf, family->name);
    s_buf_add (buf, " ");
    s_buf_add (buf, type_names [family->kind]);
    s_buf_add (buf, "\n");

    for (size_t i = 0; i < family->series_count; i++) {
        const s_series_t *series = &family->series [i];
        char value [S_NUMBER_SIZE];
        if (family->kind == S_COUNTER) {
            snprintf (value, sizeof value, "%" PRIu64, series->count);
            s_render_sample (buf, self, family, "", series, NULL, value);
        }
        else
        if (family->kind == S_GAUGE) {
            s_format_double (series->value, value, sizeof value);
            s_render_sample (buf, self, family, "", series, NULL, value);
        }
        else
            s_render_histogram_series (buf, self, family, series);
    }
}

char *
tsr_metrics_render (tsr_metrics_t *self)
{
    if (!self)
        return NULL;
    s_buf_t buf = { NULL, 0, 0, 0 };
    s_buf_add_len (&buf, "", 0);       //  an empty registry renders ""
    if (pthread_mutex_lock (&self->mutex) != 0) {
        free (buf.data);
        return NULL;
    }
    for (size_t i = 0; i < self->family_count; i++)
        s_render_family (&buf, self, self->families [i]);
    (void) pthread_mutex_unlock (&self->mutex);

    if (buf.failed) {
        free (buf.data);
        return NULL;
    }
    return buf.data;
}
