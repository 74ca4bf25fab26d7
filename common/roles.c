/*  Role names and the incompatible pairs (see roles.h).
*/
#include "tessera/roles.h"

#include <stdio.h>
#include <string.h>

static const char *s_names [] = {
    NULL, "agent", "service-desk", "entry", "validation", "perso", "activation-code",
    "shipping", "revocation", "system-engineer", "security-officer", "controller", "custodian",
    "recovery-officer",
};

uint32_t
tsr_role_from_name (const char *name)
{
    for (int role = 1; name && role <= TSR_ROLE_MAX_VALUE; role++)
        if (strcmp (s_names [role], name) == 0)
            return TSR_ROLE_BIT (role);
    if (name && strcmp (name, "service") == 0)
        return TSR_ROLE_SERVICE;
    return 0;
}

const char *
tsr_role_name (uint32_t role_bit)
{
    for (int role = 1; role <= TSR_ROLE_MAX_VALUE; role++)
        if (role_bit == TSR_ROLE_BIT (role))
            return s_names [role];
    return role_bit == TSR_ROLE_SERVICE ? "service" : NULL;
}

void
tsr_roles_format (uint32_t roles, char *out, size_t size)
{
    size_t used = 0;
    out [0] = 0;
    for (int bit = 0; bit < 32; bit++) {
        const char *name = (roles & (UINT32_C (1) << bit)) ? tsr_role_name (UINT32_C (1) << bit) : NULL;
        if (name && used < size)
            used += (size_t) snprintf (out + used, size - used, "%s%s", used ? ", " : "", name);
    }
    if (!out [0])
        snprintf (out, size, "none");
}

bool
tsr_roles_compatible (uint32_t held, uint32_t role, int level, char *why, size_t why_size)
{
    uint32_t all = held | role;
    if ((all & TSR_ROLE_CONTROLLER) && (all & ~TSR_ROLE_CONTROLLER)) {
        snprintf (why, why_size, "a controller holds no other role");
        return false;
    }
    //  Key recovery is four eyes outside the registration process: an
    //  officer never also enrols, validates or personalises (issue 13).
    if ((all & TSR_ROLE_RECOVERY_OFFICER) && (all & TSR_ROLES_OPERATOR)) {
        snprintf (why, why_size, "a recovery officer holds no operator role");
        return false;
    }
    if (level < 2)
        return true;
    if ((all & TSR_ROLE_SECURITY_OFFICER) && (all & TSR_ROLE_SYSTEM_ENGINEER)) {
        snprintf (why, why_size, "security-officer and system-engineer are incompatible");
        return false;
    }
    if ((all & (TSR_ROLE_SECURITY_OFFICER | TSR_ROLE_SYSTEM_ENGINEER)) && (all & TSR_ROLES_OPERATOR)) {
        snprintf (why, why_size, "security-officer or system-engineer is incompatible with an operator role");
        return false;
    }
    if ((all & TSR_ROLE_CUSTODIAN) && (all & TSR_ROLES_OPERATOR)) {
        snprintf (why, why_size, "a CA key custodian holds no operator role");
        return false;
    }
    return true;
}
