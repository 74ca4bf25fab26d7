/*  Roles from enrollment, cached (see role_client.h).
*/
#include "tessera/role_client.h"
#include "tessera/log.h"
#include "tessera/roles.h"
#include "tessera/service.h"
#include "tessera/v1/enrollment.pb-c.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define S_CACHE_SIZE 256

typedef struct {
    char key [41];
    uint32_t roles;
    int64_t expires_ms;
} s_entry_t;

struct _tsr_role_client_t {
    pthread_mutex_t lock;
    tsr_bus_client_t *client;
    long cache_ms;
    s_entry_t cache [S_CACHE_SIZE];
};

uint32_t
tsr_roles_from_operator (const int *roles, size_t count, bool disabled)
{
    uint32_t mask = 0;
    for (size_t i = 0; !disabled && i < count; i++)
        if (roles [i] >= 1 && roles [i] <= TSR_ROLE_MAX_VALUE)
            mask |= TSR_ROLE_BIT (roles [i]);
    return mask;
}

tsr_role_client_t *
tsr_role_client_new (tsr_config_t *config, zcert_t *cert, const char *keyring_dir,
                     char *err, size_t err_size)
{
    char fallback_endpoint [256], fallback_cert [1024];
    tsr_service_default_endpoint (tsr_service_port_offset ("enrollment"), fallback_endpoint,
                                  sizeof fallback_endpoint);
    snprintf (fallback_cert, sizeof fallback_cert, "%s/enrollment.cert",
              keyring_dir ? keyring_dir : ".");
    const char *endpoint = tsr_config_get (config, "TSR_ENROLLMENT_ENDPOINT", fallback_endpoint);
    const char *cert_path = tsr_config_get (config, "TSR_ENROLLMENT_CERT", fallback_cert);
    long cache_ms = 0, timeout_ms = 0;
    if (tsr_config_get_long (config, "TSR_ROLE_CACHE_MS", 5000, 0, 600000, &cache_ms, err, err_size)
    ||  tsr_config_get_long (config, "TSR_ROLE_TIMEOUT_MS", 2000, 100, 60000, &timeout_ms,
                             err, err_size))
        return NULL;
    zcert_t *enrollment = zcert_load (cert_path);
    if (!enrollment) {
        snprintf (err, err_size, "cannot read enrollment's certificate %s (TSR_ENROLLMENT_CERT)",
                  cert_path);
        return NULL;
    }
    tsr_role_client_t *self = calloc (1, sizeof *self);
    if (self) {
        pthread_mutex_init (&self->lock, NULL);
        self->cache_ms = cache_ms;
        self->client = tsr_bus_client_new (endpoint, cert, zcert_public_txt (enrollment),
                                           (int) timeout_ms, 1);
    }
    zcert_destroy (&enrollment);
    if (!self || !self->client) {
        snprintf (err, err_size, "cannot reach enrollment at %s", endpoint);
        tsr_role_client_destroy (&self);
        return NULL;
    }
    return self;
}

void
tsr_role_client_destroy (tsr_role_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsr_role_client_t *self = *self_p;
    tsr_bus_client_destroy (&self->client);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

static s_entry_t *
s_slot (tsr_role_client_t *self, const char *key)
{
    //  FNV-1a of the key picks the slot; a colliding key simply replaces it.
    uint32_t hash = 2166136261u;
    for (const char *c = key; *c; c++)
        hash = (hash ^ (uint8_t) *c) * 16777619u;
    return &self->cache [hash % S_CACHE_SIZE];
}

int
tsr_role_client_resolve (void *resolver, tsr_db_t *db, const char *caller_key, uint32_t *roles)
{
    (void) db;
    tsr_role_client_t *self = resolver;
    int64_t now = tsr_now_ms ();
    pthread_mutex_lock (&self->lock);
    s_entry_t *entry = s_slot (self, caller_key);
    if (strcmp (entry->key, caller_key) == 0 && entry->expires_ms > now) {
        *roles = entry->roles;
        pthread_mutex_unlock (&self->lock);
        return 0;
    }
    Tessera__V1__GetOperatorRequest request = TESSERA__V1__GET_OPERATOR_REQUEST__INIT;
    request.public_key = (char *) caller_key;
    uint8_t payload [128];
    size_t size = tessera__v1__get_operator_request__pack (&request, payload);
    tsr_envelope_t *reply = tsr_bus_client_call (self->client, "GetOperator", payload, size,
                                                 NULL, NULL);
    int rc = -1;
    if (reply && reply->status == TESSERA__V1__STATUS__STATUS_NOT_FOUND) {
        *roles = 0;
        rc = 0;
    }
    else
    if (reply && reply->status == TESSERA__V1__STATUS__STATUS_OK) {
        Tessera__V1__Operator *operator = tessera__v1__operator__unpack (
            NULL, reply->payload.len, reply->payload.data);
        if (operator) {
            *roles = tsr_roles_from_operator ((const int *) operator->roles, operator->n_roles,
                                              operator->disabled);
            tessera__v1__operator__free_unpacked (operator, NULL);
            rc = 0;
        }
    }
    if (rc == 0) {
        snprintf (entry->key, sizeof entry->key, "%s", caller_key);
        entry->roles = *roles;
        entry->expires_ms = now + self->cache_ms;
    }
    else
        tsr_log_warn (NULL, "roles.unavailable", "reason",
                      reply ? reply->status_message : "enrollment did not answer", NULL);
    pthread_mutex_unlock (&self->lock);
    tsr_envelope_free (&reply);
    return rc;
}
