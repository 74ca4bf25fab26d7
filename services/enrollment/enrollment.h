/*  enrollment: what main.c wires together. The methods come in two tables,
    one per file group: operators and roles (enrollment_operators*.c), and
    the registry of organisations, persons, dossiers, card requests and
    batches (enrollment_registry*.c and friends).
*/
#ifndef ENROLLMENT_H
#define ENROLLMENT_H

#include "tessera/bus.h"
#include "tessera/config.h"
#include "tessera/v1/events.pb-c.h"

#define ENROLLMENT_BOOTSTRAP_KEYS_MAX 4

//  The service's state, read once at start (shared by the workers).
typedef struct {
    int level;      //  RGS level of the deployment (TSR_POLICY_LEVEL, 1..3, default 2)
    //  TSR_ENROLLMENT_BOOTSTRAP_KEYS: comma-separated Z85 keys registered as
    //  security officers on their first call, when no operator holds that
    //  key yet (a disabled one is never registered again).
    char bootstrap_keys [ENROLLMENT_BOOTSTRAP_KEYS_MAX][41];
    int bootstrap_key_count;
} enrollment_state_t;

void *enrollment_state_new (tsr_config_t *config, char *err, size_t err_size);
void enrollment_state_destroy (void **state_p);

//  Operators and roles (enrollment_operators*.c).
extern const tsr_method_t enrollment_operator_methods [];
extern const size_t enrollment_operator_method_count;
//  The tsr_role_resolve_fn of enrollment: roles from its own operators table.
int enrollment_resolve_roles (void *state, tsr_db_t *db, const char *caller_key, uint32_t *roles);

//  Organisations, persons, dossiers, documents, card requests, batches.
extern const tsr_method_t enrollment_registry_methods [];
extern const size_t enrollment_registry_method_count;
int enrollment_on_validation_event (void *state, tsr_db_t *db, const Tessera__V1__Event *event);
//  Mail's acceptance returns: the request completed, the dossier closed and
//  archived (enrollment_acceptance.c).
int enrollment_on_mail_event (void *state, tsr_db_t *db, const Tessera__V1__Event *event);

#endif
