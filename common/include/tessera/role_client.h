/*  tsr_role_client: resolves callers' roles by asking enrollment, the
    keeper of operators (GetOperator by public key), for the services other
    than enrollment. Answers are kept TSR_ROLE_CACHE_MS (default 5000 ms),
    unknown keys too, so a revoked role stops working within that time.

    Configuration: TSR_ENROLLMENT_ENDPOINT (default tcp://127.0.0.1:7101),
    TSR_ENROLLMENT_CERT (default $TSR_KEYRING_DIR/enrollment.cert),
    TSR_ROLE_CACHE_MS, TSR_ROLE_TIMEOUT_MS (default 2000).
*/
#ifndef TSR_ROLE_CLIENT_H
#define TSR_ROLE_CLIENT_H

#include <czmq.h>
#include "tessera/bus.h"
#include "tessera/config.h"

typedef struct _tsr_role_client_t tsr_role_client_t;

//  cert: the service's own certificate (borrowed, outlives the client).
tsr_role_client_t *tsr_role_client_new (tsr_config_t *config, zcert_t *cert,
                                        const char *keyring_dir, char *err, size_t err_size);
void tsr_role_client_destroy (tsr_role_client_t **self_p);

//  A tsr_role_resolve_fn; resolver is the tsr_role_client_t.
int tsr_role_client_resolve (void *resolver, tsr_db_t *db, const char *caller_key,
                             uint32_t *roles);

//  Roles of an Operator message's repeated OperatorRole (0 if disabled).
uint32_t tsr_roles_from_operator (const int *roles, size_t count, bool disabled);

#endif
