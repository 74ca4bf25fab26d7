/*  tsr_metrics: a small Prometheus registry.

    Families (counter, gauge, histogram) are declared once at start-up with an
    optional single label name; observations name the label value. Label values
    come from the bus (method names) and are bounded: past
    TSR_METRICS_MAX_LABEL_VALUES distinct values a family records into the
    label value "other". Every call is thread-safe. tsr_metrics_render returns
    the Prometheus text exposition format (version 0.0.4).

        tsr_metrics_t *m = tsr_metrics_new ("ca");
        tsr_counter_t *req = tsr_metrics_counter (m, "tessera_requests_total",
                                                  "Requests by method", "method");
        tsr_counter_inc (req, "Ping", 1);
        char *text = tsr_metrics_render (m);   // caller frees
*/
#ifndef TSR_METRICS_H
#define TSR_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define TSR_METRICS_MAX_FAMILIES      64
#define TSR_METRICS_MAX_LABEL_VALUES  64
#define TSR_METRICS_MAX_BUCKETS       24

typedef struct _tsr_metrics_t tsr_metrics_t;
typedef struct _tsr_counter_t tsr_counter_t;
typedef struct _tsr_gauge_t tsr_gauge_t;
typedef struct _tsr_histogram_t tsr_histogram_t;

//  service is added as a constant label service="..." to every sample.
tsr_metrics_t *tsr_metrics_new (const char *service);
void tsr_metrics_destroy (tsr_metrics_t **self_p);

//  Declare a family. name must match [a-zA-Z_:][a-zA-Z0-9_:]*; label_name is
//  NULL for an unlabelled family. Declaring the same name twice returns the
//  first family. NULL on a bad name or when the registry is full. The family
//  belongs to the registry.
tsr_counter_t *tsr_metrics_counter (tsr_metrics_t *self, const char *name,
                                    const char *help, const char *label_name);
tsr_gauge_t *tsr_metrics_gauge (tsr_metrics_t *self, const char *name,
                                const char *help, const char *label_name);
//  bounds: ascending upper bounds (the +Inf bucket is implicit), at most
//  TSR_METRICS_MAX_BUCKETS.
tsr_histogram_t *tsr_metrics_histogram (tsr_metrics_t *self, const char *name,
                                        const char *help, const char *label_name,
                                        const double *bounds, size_t bound_count);

//  label_value is NULL for unlabelled families. A NULL family is ignored,
//  so callers need not check declarations.
void tsr_counter_inc (tsr_counter_t *counter, const char *label_value, uint64_t n);
void tsr_gauge_set (tsr_gauge_t *gauge, const char *label_value, double value);
void tsr_gauge_add (tsr_gauge_t *gauge, const char *label_value, double delta);
void tsr_histogram_observe (tsr_histogram_t *histogram, const char *label_value,
                            double value);

//  Text exposition of every family; heap string, caller frees. NULL on
//  allocation failure.
char *tsr_metrics_render (tsr_metrics_t *self);

#endif
