/*  tsr_http: the operations HTTP endpoint every service serves (libmicrohttpd).

    GET /healthz  200 "ok" while the process runs.
    GET /readyz   200 "ready" when the ready callback says so, else 503 with
                  the reason it gave (e.g. "database unreachable").
    GET /metrics  200, Prometheus text format, from the registry.
    Any other path is 404, any other method 405 (HEAD is served as GET
    without a body). Request bodies are refused (413); connections are
    limited and time out, so a slow client can not hold the port.

        tsr_http_t *http = tsr_http_new ("127.0.0.1", 8101, metrics, s_ready, self);
        ...
        tsr_http_destroy (&http);
*/
#ifndef TSR_HTTP_H
#define TSR_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include "tessera/metrics.h"

typedef struct _tsr_http_t tsr_http_t;

//  Returns 1 when ready; else 0 and writes a short reason into reason.
//  Called from the HTTP thread: it must be thread-safe and quick.
typedef int (tsr_http_ready_fn) (void *arg, char *reason, size_t reason_size);

//  Starts serving on bind_address:port (port 0 picks a free port). metrics
//  and ready are borrowed and must outlive the server; ready may be NULL
//  (always ready). NULL if the port can not be bound.
tsr_http_t *tsr_http_new (const char *bind_address, uint16_t port,
                          tsr_metrics_t *metrics, tsr_http_ready_fn *ready,
                          void *ready_arg);
//  Stops serving and frees; accepts NULL and sets *self_p to NULL.
void tsr_http_destroy (tsr_http_t **self_p);
//  The port actually bound.
uint16_t tsr_http_port (tsr_http_t *self);

#endif
