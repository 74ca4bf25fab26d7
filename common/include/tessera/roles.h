/*  tsr_roles: who may call what.

    An operator is a CURVE public key (the bus identity) with a set of roles
    (OperatorRole in proto/tessera/v1/enrollment.proto); the set travels as
    a bit mask, bit r for OperatorRole value r. Every bus method declares
    the roles it admits (tsr_method_t.roles); the bus worker resolves the
    caller's roles before the handler runs, and refuses and audits a caller
    holding none of them.

    Where roles come from:
    - enrollment keeps the operators (tessera operator add|grant|revoke|list)
      and resolves from its own table;
    - every other service asks enrollment (GetOperator by public key) and
      keeps the answer for TSR_ROLE_CACHE_MS;
    - a tessera service's own key (the public key of <service>.cert in the
      keyring directory, for the seven services and the portal) holds
      TSR_ROLE_SERVICE: services call each other without an operator record.

    Incompatible roles (RGS ** and ***; at * only the controller rule
    applies): security-officer with system-engineer; controller with any
    other role; security-officer or system-engineer with any operator role;
    custodian with any operator role. At every level: a recovery officer
    (approves escrowed key recoveries, perso) holds no operator role.
*/
#ifndef TSR_ROLES_H
#define TSR_ROLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TSR_ROLE_BIT(role) (UINT32_C (1) << (role))

enum {
    TSR_ROLE_AGENT = TSR_ROLE_BIT (1),
    TSR_ROLE_SERVICE_DESK = TSR_ROLE_BIT (2),
    TSR_ROLE_ENTRY = TSR_ROLE_BIT (3),
    TSR_ROLE_VALIDATION = TSR_ROLE_BIT (4),
    TSR_ROLE_PERSO = TSR_ROLE_BIT (5),
    TSR_ROLE_ACTIVATION_CODE = TSR_ROLE_BIT (6),
    TSR_ROLE_SHIPPING = TSR_ROLE_BIT (7),
    TSR_ROLE_REVOCATION = TSR_ROLE_BIT (8),
    TSR_ROLE_SYSTEM_ENGINEER = TSR_ROLE_BIT (9),
    TSR_ROLE_SECURITY_OFFICER = TSR_ROLE_BIT (10),
    TSR_ROLE_CONTROLLER = TSR_ROLE_BIT (11),
    TSR_ROLE_CUSTODIAN = TSR_ROLE_BIT (12),
    TSR_ROLE_RECOVERY_OFFICER = TSR_ROLE_BIT (13),
    //  Not an operator role: a tessera service's own key.
    TSR_ROLE_SERVICE = TSR_ROLE_BIT (20),
};

#define TSR_ROLE_MAX_VALUE 13
//  The operator roles of the registration process (not the trusted roles).
#define TSR_ROLES_OPERATOR (TSR_ROLE_AGENT | TSR_ROLE_SERVICE_DESK | TSR_ROLE_ENTRY \
    | TSR_ROLE_VALIDATION | TSR_ROLE_PERSO | TSR_ROLE_ACTIVATION_CODE | TSR_ROLE_SHIPPING \
    | TSR_ROLE_REVOCATION)
//  A method anyone admitted on the bus may call (Ping, ListEvents).
#define TSR_ROLES_ANY UINT32_C (0xFFFFFFFF)

//  "entry" -> TSR_ROLE_ENTRY; 0 for an unknown name.
uint32_t tsr_role_from_name (const char *name);
//  The name of one role bit ("entry"), or NULL.
const char *tsr_role_name (uint32_t role_bit);
//  "entry, validation" into out (or "none").
void tsr_roles_format (uint32_t roles, char *out, size_t size);

//  May an operator holding `held` also get `role` at RGS level (1..3)?
//  Returns true, or false with the rule in why.
bool tsr_roles_compatible (uint32_t held, uint32_t role, int level, char *why, size_t why_size);

#endif
