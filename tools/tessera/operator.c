/*  tessera operator ...: operators and their roles, kept by enrollment.

    add      --name NAME --cert FILE [--email E] [--language fr|en]
             [--role ROLE]... [--service NAME]
             registers the CURVE public key of FILE (a certificate from
             `tessera keygen`) as an operator with its first roles, or as a
             service's own key (--service, then no role)
    grant    OPERATOR_ID ROLE
    revoke   OPERATOR_ID ROLE [--reason TEXT]
    disable  OPERATOR_ID --reason TEXT
             the key is refused by every service from then on
    show     OPERATOR_ID | --cert FILE
    list     [--role ROLE] [--all]
             enabled operators (--all: disabled ones too), every page

    ROLE: agent, service-desk, entry, validation, perso, activation-code,
    shipping, revocation, system-engineer, security-officer, controller,
    custodian. Changes need the security-officer role; show and list the
    security-officer or controller role. With --json, each operator is one
    JSON object on its own line.
*/
#include "cli.h"
#include "tessera/json.h"
#include "tessera/roles.h"
#include "tessera/v1/enrollment.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ROLE_NAMES "agent, service-desk, entry, validation, perso, activation-code, shipping," \
                     " revocation, system-engineer, security-officer, controller, custodian"
#define S_ROLES_MAX TSR_ROLE_MAX_VALUE

//  The OperatorRole value of a role name, 0 for an unknown name.
static int
s_role_value (const char *name)
{
    uint32_t bit = tsr_role_from_name (name);
    for (int value = 1; bit && value <= TSR_ROLE_MAX_VALUE; value++)
        if (bit == TSR_ROLE_BIT (value))
            return value;
    return 0;
}

static void
s_roles_text (const Tessera__V1__Operator *operator, char *out, size_t size)
{
    uint32_t mask = 0;
    for (size_t i = 0; i < operator->n_roles; i++)
        if (operator->roles [i] >= 1 && operator->roles [i] <= TSR_ROLE_MAX_VALUE)
            mask |= TSR_ROLE_BIT (operator->roles [i]);
    tsr_roles_format (mask, out, size);
}

//  The roles as a JSON array of names. The names are roles.c's constants
//  (lower-case ASCII and '-'), so they need no escaping.
static void
s_roles_json (const Tessera__V1__Operator *operator, char *out, size_t size)
{
    size_t used = (size_t) snprintf (out, size, "[");
    for (size_t i = 0; i < operator->n_roles && used < size; i++) {
        int value = (int) operator->roles [i];
        const char *name = value >= 1 && value <= TSR_ROLE_MAX_VALUE
                         ? tsr_role_name (TSR_ROLE_BIT (value)) : NULL;
        used += (size_t) snprintf (out + used, size - used, "%s\"%s\"", i ? "," : "",
                                   name ? name : "unknown");
    }
    if (used < size)
        snprintf (out + used, size - used, "]");
}

static int
s_print_operator (cli_t *cli, const Tessera__V1__Operator *operator)
{
    char roles [256];
    s_roles_text (operator, roles, sizeof roles);
    if (!cli->json) {
        printf ("%s  %s%s\n", operator->operator_id, operator->name,
                operator->disabled ? "  (disabled)" : "");
        printf ("  public key  %s\n", operator->public_key);
        if (*operator->service_name)
            printf ("  service     %s\n", operator->service_name);
        printf ("  roles       %s\n", roles);
        printf ("  e-mail      %s\n", *operator->email ? operator->email : "-");
        printf ("  language    %s\n", operator->language);
        printf ("  created by  %s\n", operator->created_by_operator_id);
        return CLI_OK;
    }
    char roles_json [512];
    s_roles_json (operator, roles_json, sizeof roles_json);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_bool (json, "ok", true);
    tsr_json_str (json, "operator_id", operator->operator_id);
    tsr_json_str (json, "name", operator->name);
    tsr_json_str (json, "email", operator->email);
    tsr_json_str (json, "language", operator->language);
    tsr_json_str (json, "public_key", operator->public_key);
    tsr_json_raw (json, "roles", roles_json);
    tsr_json_bool (json, "disabled", operator->disabled);
    tsr_json_str (json, "service_name", operator->service_name);
    tsr_json_int (json, "created_at_unix", operator->created_at_unix);
    tsr_json_str (json, "created_by_operator_id", operator->created_by_operator_id);
    tsr_json_int (json, "updated_at_unix", operator->updated_at_unix);
    return cli_print_json_checked (cli, &json);
}

//  A reply that is an Operator, after its message.
static int
s_print_reply (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message,
               const void *args)
{
    (void) args;
    if (!cli->json)
        printf ("%s\n", reply->status_message);
    return s_print_operator (cli, (const Tessera__V1__Operator *) message);
}

//  Calls method on enrollment and prints the Operator it answers.
static int
s_call_operator (cli_t *cli, const char *method, const ProtobufCMessage *request)
{
    static const cli_reply_t expected = {
        &tessera__v1__operator__descriptor, "the reply is not an Operator", NULL, s_print_reply
    };
    return cli_call_print (cli, "enrollment", method, request, NULL, 0, &expected, NULL);
}

//  The Z85 public key of a certificate file into key (41 bytes).
static int
s_cert_key (cli_t *cli, const char *path, char key [41])
{
    zcert_t *cert = zcert_load (path);
    if (!cert)
        return cli_fail (cli, CLI_FAILED, "cannot read the certificate", path);
    snprintf (key, 41, "%s", zcert_public_txt (cert));
    zcert_destroy (&cert);
    return CLI_OK;
}

static int
s_add (cli_t *cli, int argc, char **argv)
{
    Tessera__V1__AddOperatorRequest request = TESSERA__V1__ADD_OPERATOR_REQUEST__INIT;
    Tessera__V1__OperatorRole roles [S_ROLES_MAX];
    const char *cert_path = NULL;
    for (int i = 0; i < argc; i++) {
        const char *value = i + 1 < argc ? argv [i + 1] : NULL;
        if (!value)
            return cli_fail (cli, CLI_USAGE, "missing value", argv [i]);
        if (streq (argv [i], "--name"))
            request.name = (char *) value;
        else if (streq (argv [i], "--cert"))
            cert_path = value;
        else if (streq (argv [i], "--email"))
            request.email = (char *) value;
        else if (streq (argv [i], "--language"))
            request.language = (char *) value;
        else if (streq (argv [i], "--service"))
            request.service_name = (char *) value;
        else if (streq (argv [i], "--role")) {
            int role = s_role_value (value);
            if (!role)
                return cli_fail (cli, CLI_USAGE, "unknown role (" S_ROLE_NAMES ")", value);
            if (request.n_roles >= S_ROLES_MAX)
                return cli_fail (cli, CLI_USAGE, "too many --role", value);
            roles [request.n_roles++] = (Tessera__V1__OperatorRole) role;
        }
        else
            return cli_fail (cli, CLI_USAGE, "unexpected argument", argv [i]);
        i++;
    }
    if (!*request.name || !cert_path)
        return cli_fail (cli, CLI_USAGE, "add --name NAME --cert FILE [--email E] [--language fr|en]"
                         " [--role ROLE]... [--service NAME]", NULL);
    char key [41];
    if (s_cert_key (cli, cert_path, key) != CLI_OK)
        return CLI_FAILED;
    request.public_key = key;
    request.roles = roles;
    return s_call_operator (cli, "AddOperator", &request.base);
}

//  grant OPERATOR_ID ROLE and revoke OPERATOR_ID ROLE [--reason TEXT].
static int
s_change_role (cli_t *cli, int argc, char **argv, bool grant)
{
    const char *operator_id = NULL, *role_name = NULL, *reason = "";
    for (int i = 0; i < argc; i++) {
        if (!grant && streq (argv [i], "--reason") && i + 1 < argc)
            reason = argv [++i];
        else
        if (argv [i][0] != '-' && !operator_id)
            operator_id = argv [i];
        else
        if (argv [i][0] != '-' && !role_name)
            role_name = argv [i];
        else
            return cli_fail (cli, CLI_USAGE, "unexpected argument", argv [i]);
    }
    if (!operator_id || !role_name)
        return cli_fail (cli, CLI_USAGE, grant ? "grant OPERATOR_ID ROLE"
                                               : "revoke OPERATOR_ID ROLE [--reason TEXT]", NULL);
    int role = s_role_value (role_name);
    if (!role)
        return cli_fail (cli, CLI_USAGE, "unknown role (" S_ROLE_NAMES ")", role_name);
    if (grant) {
        Tessera__V1__GrantRoleRequest request = TESSERA__V1__GRANT_ROLE_REQUEST__INIT;
        request.operator_id = (char *) operator_id;
        request.role = (Tessera__V1__OperatorRole) role;
        return s_call_operator (cli, "GrantRole", &request.base);
    }
    Tessera__V1__RevokeRoleRequest request = TESSERA__V1__REVOKE_ROLE_REQUEST__INIT;
    request.operator_id = (char *) operator_id;
    request.role = (Tessera__V1__OperatorRole) role;
    request.reason = (char *) reason;
    return s_call_operator (cli, "RevokeRole", &request.base);
}

static int
s_disable (cli_t *cli, int argc, char **argv)
{
    Tessera__V1__DisableOperatorRequest request = TESSERA__V1__DISABLE_OPERATOR_REQUEST__INIT;
    const char *operator_id = "", *reason = "";
    const char *names [] = { "--reason", NULL };
    const char **slots [] = { &reason };
    if (cli_options (cli, argc, argv, names, slots, &operator_id) != CLI_OK)
        return CLI_USAGE;
    if (!*operator_id || !*reason)
        return cli_fail (cli, CLI_USAGE, "disable OPERATOR_ID --reason TEXT", NULL);
    request.operator_id = (char *) operator_id;
    request.reason = (char *) reason;
    return s_call_operator (cli, "DisableOperator", &request.base);
}

static int
s_show (cli_t *cli, int argc, char **argv)
{
    Tessera__V1__GetOperatorRequest request = TESSERA__V1__GET_OPERATOR_REQUEST__INIT;
    char key [41];
    if (argc == 2 && streq (argv [0], "--cert")) {
        if (s_cert_key (cli, argv [1], key) != CLI_OK)
            return CLI_FAILED;
        request.public_key = key;
    }
    else
    if (argc == 1 && argv [0][0] != '-')
        request.operator_id = argv [0];
    else
        return cli_fail (cli, CLI_USAGE, "show OPERATOR_ID | --cert FILE", NULL);
    return s_call_operator (cli, "GetOperator", &request.base);
}

static void
s_print_row (const Tessera__V1__Operator *operator)
{
    char roles [256];
    s_roles_text (operator, roles, sizeof roles);
    printf ("%-19s  %-8s  %-40s  %-30s  %s\n", operator->operator_id,
            operator->disabled ? "disabled" : "enabled", operator->public_key, operator->name,
            *operator->service_name ? operator->service_name : roles);
}

//  One listed operator, for cli_call_pages: a row, or its JSON.
static int
s_print_item (cli_t *cli, const ProtobufCMessage *item, const void *args)
{
    (void) args;
    const Tessera__V1__Operator *operator = (const Tessera__V1__Operator *) item;
    if (cli->json)
        return s_print_operator (cli, operator);
    s_print_row (operator);
    return CLI_OK;
}

static int
s_list (cli_t *cli, int argc, char **argv)
{
    Tessera__V1__ListOperatorsRequest request = TESSERA__V1__LIST_OPERATORS_REQUEST__INIT;
    for (int i = 0; i < argc; i++) {
        if (streq (argv [i], "--all"))
            request.include_disabled = true;
        else
        if (streq (argv [i], "--role") && i + 1 < argc) {
            int role = s_role_value (argv [++i]);
            if (!role)
                return cli_fail (cli, CLI_USAGE, "unknown role (" S_ROLE_NAMES ")", argv [i]);
            request.role = (Tessera__V1__OperatorRole) role;
        }
        else
            return cli_fail (cli, CLI_USAGE, "list [--role ROLE] [--all]", argv [i]);
    }
    if (!cli->json)
        printf ("%-19s  %-8s  %-40s  %-30s  %s\n", "OPERATOR", "STATE", "PUBLIC KEY", "NAME",
                "ROLES");
    const cli_pages_t pages = {
        "enrollment", "ListOperators", &tessera__v1__list_operators_reply__descriptor,
        "the reply is not a ListOperatorsReply", NULL, 0, s_print_item, NULL
    };
    return cli_call_pages (cli, &pages, &request.base, &request.page_token);
}

int
cli_operator (cli_t *cli, int argc, char **argv)
{
    if (argc < 1)
        return cli_fail (cli, CLI_USAGE, "operator needs a subcommand (add, grant, revoke, disable,"
                         " show, list)", NULL);
    const char *command = argv [0];
    argc--, argv++;
    if (streq (command, "add"))
        return s_add (cli, argc, argv);
    if (streq (command, "grant"))
        return s_change_role (cli, argc, argv, true);
    if (streq (command, "revoke"))
        return s_change_role (cli, argc, argv, false);
    if (streq (command, "disable"))
        return s_disable (cli, argc, argv);
    if (streq (command, "show"))
        return s_show (cli, argc, argv);
    if (streq (command, "list"))
        return s_list (cli, argc, argv);
    return cli_fail (cli, CLI_USAGE, "unknown operator subcommand", command);
}
