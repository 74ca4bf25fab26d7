/*  publisher_state: what the publisher process holds, shared by the bus
    workers, the ca event consumer, the scheduler and the HTTP threads.

    Configuration is read once (state_new); the parts are made there too,
    except the scheduler and the public HTTP endpoint, which start in
    on_start (they need the metrics registry) and stop in on_stop. The
    view is what the scheduler last saw (under lock), for
    GetPublicationStatus.
*/
#ifndef PUBLISHER_STATE_H
#define PUBLISHER_STATE_H

#include <czmq.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "tessera/peer.h"
#include "tessera/v1/ca.pb-c.h"
#include "publisher_cache.h"
#include "publisher_dbpool.h"
#include "publisher_responder.h"
#include "tessera/config.h"
#include "tessera/metrics.h"

typedef struct _publisher_scheduler_t publisher_scheduler_t;
typedef struct _publisher_http_t publisher_http_t;

//  The metric families (tsr_metrics ignores NULL ones).
typedef struct {
    tsr_histogram_t *publication_delay;     //  thisUpdate -> served, by kind
    tsr_histogram_t *revocation_delay;      //  revocation applied -> full CRL served
    tsr_gauge_t *last_publication_delay;    //  by kind
    tsr_gauge_t *stale;                     //  the alert
    tsr_gauge_t *crl_age;                   //  by kind
    tsr_gauge_t *crl_number;                //  by kind
    tsr_gauge_t *crl_next_update;           //  by kind
    tsr_gauge_t *crl_next_update_margin;    //  nextUpdate - now, by kind
    tsr_gauge_t *revocation_pending;        //  seconds a revocation has waited
    tsr_counter_t *published;               //  by trigger
    tsr_counter_t *failures;                //  by what failed
    tsr_counter_t *ocsp_responses;          //  by answer
    tsr_counter_t *http_requests;           //  by route
    tsr_gauge_t *responder_not_after;
    tsr_gauge_t *ready;
} publisher_metrics_t;

//  What the scheduler last saw, for GetPublicationStatus (under lock).
typedef struct {
    bool ready;
    char not_ready_reason [256];
    char issuer_sha256 [65];        //  "" until the issuer is known
    int64_t next_full_due_ms;
    int64_t next_delta_due_ms;
    int64_t pending_since_ms;
    int64_t last_publication_delay_ms;
    bool late;
    char late_reason [160];
} publisher_view_t;

typedef struct {
    //  Configuration, read once at start (docs/configuration.md).
    int level;                      //  TSR_POLICY_LEVEL
    long crl_hours;                 //  full CRL nextUpdate - thisUpdate
    long delta_hours;
    long interval_s;                //  full CRLs at least this often
    long coalesce_ms;               //  after a revocation
    long retry_s;                   //  after a failure
    long alert_s;                   //  staleness alert
    long max_age_s;                 //  HTTP Cache-Control bound
    long ocsp_next_update_s;
    char base_url [256];
    char publish_address [64];
    long publish_port;
    long publish_threads;
    char *dsn;
    char *schema;
    zcert_t *cert;                  //  the publisher's own CURVE certificate
    //  Parts.
    tsr_peer_t *ca;
    publisher_responder_t *responder;
    publisher_cache_t *cache;
    publisher_dbpool_t *dbpool;
    publisher_scheduler_t *scheduler;
    publisher_http_t *http;
    publisher_metrics_t metrics;
    //  Shared view (under lock).
    pthread_mutex_t lock;
    publisher_view_t view;
    uint64_t ca_event_seq;
    int64_t ca_event_applied_ms;
    atomic_uint_fast64_t ocsp_requests;
    atomic_uint_fast64_t ocsp_malformed;
} publisher_state_t;

//  The service's state_new/state_destroy and on_start/on_stop.
void *publisher_state_new (tsr_config_t *config, char *err, size_t err_size);
void publisher_state_destroy (void **state_p);
int publisher_on_start (void *state, tsr_metrics_t *metrics, char *err, size_t err_size);
void publisher_on_stop (void *state);

//  A copy of the view.
void publisher_state_view (publisher_state_t *self, publisher_view_t *view);

//  The public URL of an object: base_url + path.
void publisher_state_url (publisher_state_t *self, const char *path, char *out, size_t size);

#endif
