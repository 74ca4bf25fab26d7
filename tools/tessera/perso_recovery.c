/*  tessera perso recovery-* | escrowed-keys: recovery of escrowed
    encryption keys (docs/perso.md, "Escrow and recovery").

    recovery-request --person ID --purpose holder|legal --reason TEXT
                     --reference TEXT [--key KEY_ID]
             service-desk or a recovery officer: asks for the holder's
             escrowed keys (all, or one)
    recovery-approve RECOVERY_ID
             a recovery officer (two distinct ones, never the requester)
    recovery-show RECOVERY_ID
    recovery-deliver RECOVERY_ID --out FILE
             the requester, once approved, once: writes the PKCS#12 (mode
             0600); its password goes to the holder by mail, not here
    escrowed-keys --person ID
             the holder's escrowed keys (no key material)
*/
#include "cli.h"
#include "tessera/json.h"
#include "tessera/v1/perso.pb-c.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_SLOW_MS 60000

static const char *s_states [] = { "unspecified", "pending", "approved", "delivered" };
static const char *s_purposes [] = { "unspecified", "holder", "legal" };

typedef struct {
    const char *id, *person, *purpose, *reason, *reference, *key, *out;
} s_args_t;

static int
s_args (cli_t *cli, int argc, char **argv, s_args_t *args)
{
    memset (args, 0, sizeof *args);
    const char *names [] = { "--person", "--purpose", "--reason", "--reference", "--key", "--out",
                             NULL };
    const char **slots [] = { &args->person, &args->purpose, &args->reason, &args->reference,
                              &args->key, &args->out };
    return cli_options (cli, argc, argv, names, slots, &args->id);
}

static int
s_show (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message, const void *args)
{
    (void) reply;
    (void) args;
    const Tessera__V1__KeyRecovery *recovery = (const Tessera__V1__KeyRecovery *) message;
    const char *state = recovery->state <= 3 ? s_states [recovery->state] : "?";
    const char *purpose = recovery->purpose <= 2 ? s_purposes [recovery->purpose] : "?";
    if (cli->json) {
        tsr_json_t *json = tsr_json_new ();
        tsr_json_bool (json, "ok", true);
        tsr_json_str (json, "recovery_id", recovery->recovery_id);
        tsr_json_str (json, "person_id", recovery->person_id);
        tsr_json_str (json, "key_id", recovery->key_id);
        tsr_json_str (json, "purpose", purpose);
        tsr_json_str (json, "state", state);
        tsr_json_str (json, "reference", recovery->reference);
        tsr_json_str (json, "requested_by", recovery->requested_by_operator_id);
        tsr_json_int (json, "approvals", (int64_t) recovery->n_approvals);
        tsr_json_int (json, "key_count", recovery->key_count);
        cli_print_json (&json);
    }
    else {
        printf ("recovery %s  holder %s  %s  %s  keys %u\n  reason: %s\n  reference: %s\n"
                "  requested by %s\n", recovery->recovery_id, recovery->person_id, purpose,
                state, recovery->key_count, recovery->reason, recovery->reference,
                recovery->requested_by_operator_id);
        for (size_t i = 0; i < recovery->n_approvals; i++)
            printf ("  approved by %s\n", recovery->approvals [i]->operator_id);
    }
    return CLI_OK;
}

static int
s_call_show (cli_t *cli, const char *method, const ProtobufCMessage *request)
{
    static const cli_reply_t expected = {
        &tessera__v1__key_recovery__descriptor, "the reply is not a KeyRecovery", NULL, s_show
    };
    return cli_call_print (cli, "perso", method, request, NULL, 0, &expected, NULL);
}

static int
s_request (cli_t *cli, const s_args_t *args)
{
    int purpose = args->purpose && streq (args->purpose, "holder") ? 1
                : args->purpose && streq (args->purpose, "legal") ? 2 : 0;
    if (!args->person || !purpose || !args->reason || !args->reference)
        return cli_fail (cli, CLI_USAGE, "recovery-request --person ID --purpose holder|legal "
                         "--reason TEXT --reference TEXT [--key KEY_ID]", NULL);
    Tessera__V1__RequestKeyRecoveryRequest request =
        TESSERA__V1__REQUEST_KEY_RECOVERY_REQUEST__INIT;
    request.person_id = (char *) args->person;
    request.key_id = (char *) (args->key ? args->key : "");
    request.purpose = (Tessera__V1__KeyRecoveryPurpose) purpose;
    request.reason = (char *) args->reason;
    request.reference = (char *) args->reference;
    return s_call_show (cli, "RequestKeyRecovery", &request.base);
}

//  The PKCS#12, created 0600 (never over an existing file).
static int
s_write_private (const char *path, const uint8_t *data, size_t size)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return -1;
    int rc = write (fd, data, size) == (ssize_t) size ? 0 : -1;
    if (close (fd))
        rc = -1;
    return rc;
}

//  The recovered keys' PKCS#12 into args->out (args: the s_args_t).
static int
s_write_delivered (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message,
                   const void *args_p)
{
    (void) reply;
    const s_args_t *args = args_p;
    Tessera__V1__DeliverRecoveredKeyReply *result =
        (Tessera__V1__DeliverRecoveredKeyReply *) message;
    int rc = CLI_OK;
    if (s_write_private (args->out, result->pkcs12_der.data, result->pkcs12_der.len))
        rc = cli_fail (cli, CLI_FAILED, "cannot create the file (it must not exist yet); the "
                       "recovery is delivered: the PKCS#12 is lost", args->out);
    else
    if (cli->json) {
        tsr_json_t *json = tsr_json_new ();
        tsr_json_bool (json, "ok", true);
        tsr_json_str (json, "out", args->out);
        tsr_json_int (json, "keys", (int64_t) result->n_key_ids);
        cli_print_json (&json);
    }
    else
        printf ("%s: %zu key(s); its password goes to the holder by e-mail\n", args->out,
                result->n_key_ids);
    OPENSSL_cleanse (result->pkcs12_der.data, result->pkcs12_der.len);
    return rc;
}

static int
s_deliver (cli_t *cli, const s_args_t *args)
{
    if (!args->id || !args->out)
        return cli_fail (cli, CLI_USAGE, "recovery-deliver RECOVERY_ID --out FILE", NULL);
    static const cli_reply_t expected = {
        &tessera__v1__deliver_recovered_key_reply__descriptor,
        "the reply is not a DeliverRecoveredKeyReply", NULL, s_write_delivered
    };
    Tessera__V1__DeliverRecoveredKeyRequest request =
        TESSERA__V1__DELIVER_RECOVERED_KEY_REQUEST__INIT;
    request.recovery_id = (char *) args->id;
    return cli_call_print (cli, "perso", "DeliverRecoveredKey", &request.base, NULL, S_SLOW_MS,
                           &expected, args);
}

static int
s_print_escrowed (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message,
                  const void *args)
{
    (void) reply;
    (void) args;
    const Tessera__V1__ListEscrowedKeysReply *list =
        (const Tessera__V1__ListEscrowedKeysReply *) message;
    for (size_t i = 0; i < list->n_keys; i++) {
        Tessera__V1__EscrowedKey *key = list->keys [i];
        if (cli->json) {
            tsr_json_t *json = tsr_json_new ();
            tsr_json_str (json, "key_id", key->key_id);
            tsr_json_str (json, "card_request_id", key->card_request_id);
            tsr_json_str (json, "serial", key->serial_hex);
            tsr_json_int (json, "not_after_unix", key->not_after_unix);
            tsr_json_int (json, "retain_until_unix", key->retain_until_unix);
            cli_print_json (&json);
        }
        else
            printf ("%s  request %s  serial %s  retained until %lld\n", key->key_id,
                    key->card_request_id, key->serial_hex, (long long) key->retain_until_unix);
    }
    return CLI_OK;
}

static int
s_escrowed_keys (cli_t *cli, const s_args_t *args)
{
    if (!args->person)
        return cli_fail (cli, CLI_USAGE, "escrowed-keys --person ID", NULL);
    static const cli_reply_t expected = {
        &tessera__v1__list_escrowed_keys_reply__descriptor,
        "the reply is not a ListEscrowedKeysReply", NULL, s_print_escrowed
    };
    Tessera__V1__ListEscrowedKeysRequest request = TESSERA__V1__LIST_ESCROWED_KEYS_REQUEST__INIT;
    request.person_id = (char *) args->person;
    return cli_call_print (cli, "perso", "ListEscrowedKeys", &request.base, NULL, 0, &expected,
                           NULL);
}

int
cli_perso_recovery (cli_t *cli, const char *command, int argc, char **argv)
{
    s_args_t args;
    int rc = s_args (cli, argc, argv, &args);
    if (rc != CLI_OK)
        return rc;
    if (streq (command, "recovery-request"))
        return s_request (cli, &args);
    if (streq (command, "recovery-deliver"))
        return s_deliver (cli, &args);
    if (streq (command, "escrowed-keys"))
        return s_escrowed_keys (cli, &args);
    if (!args.id)
        return cli_fail (cli, CLI_USAGE, "missing the recovery id", command);
    if (streq (command, "recovery-approve")) {
        Tessera__V1__ApproveKeyRecoveryRequest request =
            TESSERA__V1__APPROVE_KEY_RECOVERY_REQUEST__INIT;
        request.recovery_id = (char *) args.id;
        return s_call_show (cli, "ApproveKeyRecovery", &request.base);
    }
    Tessera__V1__GetKeyRecoveryRequest request = TESSERA__V1__GET_KEY_RECOVERY_REQUEST__INIT;
    request.recovery_id = (char *) args.id;
    return s_call_show (cli, "GetKeyRecovery", &request.base);
}
