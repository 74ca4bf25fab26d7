/*  enrollment's operators and roles, inside the service (the public side is
    enrollment.h: the method table and the role resolver).

    Three parts, one file each:
    - enrollment_operators_check.c: the input rules, pure functions (unit
      tested in tests/unit/enrollment/test_operators_check.c);
    - enrollment_operators_store.c: the operators table read as Operator
      messages, and the record every change leaves in the same transaction
      (a history row, an audit row, an "operator.*" event);
    - enrollment_operators_write.c / _read.c: the bus methods.
    enrollment_operators.c holds the method table, the resolver and the
    bootstrap of the first security officers.
*/
#ifndef ENROLLMENT_OPERATORS_H
#define ENROLLMENT_OPERATORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "enrollment.h"
#include "tessera/roles.h"
#include "tessera/v1/enrollment.pb-c.h"

//  The names carry OPERATOR / operator_: the registry's input rules
//  (enrollment_input.h) live beside these, with bounds of their own.
#define ENROLLMENT_OPERATOR_NAME_MAX 128    //  characters (code points)
#define ENROLLMENT_OPERATOR_EMAIL_MAX 128   //  bytes (a plain address is ASCII)
#define ENROLLMENT_OPERATOR_REASON_MAX 256  //  characters
#define ENROLLMENT_OPERATOR_KEY_SIZE 40     //  Z85 CURVE public key
#define ENROLLMENT_OPERATOR_ID_SIZE 20      //  "op-" + 16 hex digits + NUL
#define ENROLLMENT_OPERATOR_LIST_MAX 100    //  ListOperators' page cap
//  The actor of what no caller asked for (the bootstrap).
#define ENROLLMENT_OPERATOR_SYSTEM "system"

//  ---------------------------------------------------------------------
//  Input rules (enrollment_operators_check.c)

//  1..max_chars characters of strict UTF-8 with no control character (C0,
//  DEL, C1), no line or paragraph separator, no bidirectional override or
//  mark, not starting or ending with a space. allow_empty admits "".
bool enrollment_operator_text_valid (const char *text, size_t max_chars, bool allow_empty);
//  "" or a plain address local@domain of at most ENROLLMENT_OPERATOR_EMAIL_MAX bytes:
//  dot-separated labels of [A-Za-z0-9] and +_- in the local part, a
//  domain of at least two labels of [A-Za-z0-9-] not starting or ending
//  with '-'.
bool enrollment_operator_email_valid (const char *email);
//  "fr" for "", the language for "fr" or "en", NULL for anything else.
const char *enrollment_operator_language (const char *language);
//  Exactly 40 characters of the Z85 alphabet that decode to 32 bytes.
bool enrollment_operator_key_valid (const char *key);
//  "op-" and 16 lower-case hex digits.
bool enrollment_operator_id_valid (const char *operator_id);
//  "" or a tessera service that may register its own key ("validation",
//  "perso", "mail", "revocation", "publisher", "ca", "portal").
bool enrollment_operator_service_valid (const char *service_name);
//  The bit of an OperatorRole value, 0 when the value is not 1..13.
uint32_t enrollment_operator_role_bit (int role);

typedef enum {
    ENROLLMENT_OPERATOR_ROLES_OK = 0,
    ENROLLMENT_OPERATOR_ROLES_INVALID,           //  a value outside 1..13, or twice
    ENROLLMENT_OPERATOR_ROLES_INCOMPATIBLE,      //  two of them may not go together
} enrollment_operator_roles_t;

//  The roles of an AddOperatorRequest as a mask, checked one by one
//  against those before them (tsr_roles_compatible at level). why says
//  what is wrong when the result is not OK.
enrollment_operator_roles_t enrollment_operator_roles_check (const int *roles, size_t count,
                                                             int level, uint32_t *mask,
                                                             char *why, size_t why_size);

//  Everything in an AddOperatorRequest that needs no database, roles
//  checked at the deployment's level; *roles gets their mask. STATUS_OK,
//  or the refusal with the call's message set (enrollment_operators_write.c).
tsr_status_t enrollment_operator_add_check (tsr_call_t *call,
                                            const Tessera__V1__AddOperatorRequest *request,
                                            int level, uint32_t *roles);

//  A fresh operator id, "op-" and 16 hex digits from the CSPRNG.
void enrollment_operator_id_new (char operator_id [ENROLLMENT_OPERATOR_ID_SIZE]);

//  ---------------------------------------------------------------------
//  The table (enrollment_operators_store.c)

//  The columns enrollment_operator_from_row reads, in order.
#define ENROLLMENT_OPERATOR_COLUMNS \
    "operator_id, name, email, language, public_key, roles, disabled, service_name," \
    " extract(epoch FROM created_at)::bigint, created_by, extract(epoch FROM updated_at)::bigint"

//  One operator as a message. The strings point into the PGresult it was
//  read from: valid while that result lives.
typedef struct {
    Tessera__V1__Operator message;
    Tessera__V1__OperatorRole roles [TSR_ROLE_MAX_VALUE];
    uint32_t role_mask;
} enrollment_operator_t;

void enrollment_operator_from_row (PGresult *res, int row, enrollment_operator_t *out);

//  Reads the operator by id FOR UPDATE (locked until the transaction ends).
//  Returns 1 found (res kept in *res_p, caller PQclears), 0 not found, -1
//  when the table can not be read.
int enrollment_operator_lock (tsr_db_t *db, const char *operator_id, PGresult **res_p,
                              enrollment_operator_t *out);

//  What a change was, for its record.
typedef struct {
    const char *change;     //  "bootstrapped", "added", "role_granted", "role_revoked", "disabled"
    uint32_t role_bit;      //  the role granted or revoked, else 0
    const char *reason;     //  may be NULL
    const char *actor_key;  //  the audit actor: the caller's key, or "system"
    const char *actor_id;   //  the caller's operator id, or "system"
    const char *trace_id;
} enrollment_operator_change_t;

//  Appends the history row, the audit row ("operator.<change>", subject
//  the operator id) and the event ("operator.<change>"; a bootstrap is an
//  "operator.added") inside the open transaction. operator is the state
//  after the change. 0, or -1.
int enrollment_operator_record (tsr_db_t *db, const enrollment_operator_t *operator,
                                const enrollment_operator_change_t *change);

//  ---------------------------------------------------------------------
//  The bus methods (enrollment_operators_write.c, _read.c)


tsr_status_t enrollment_handle_add_operator (tsr_call_t *call);
tsr_status_t enrollment_handle_grant_role (tsr_call_t *call);
tsr_status_t enrollment_handle_revoke_role (tsr_call_t *call);
tsr_status_t enrollment_handle_disable_operator (tsr_call_t *call);
tsr_status_t enrollment_handle_get_operator (tsr_call_t *call);
tsr_status_t enrollment_handle_list_operators (tsr_call_t *call);

#endif
