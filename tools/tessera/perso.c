/*  tessera perso ...: the card bureau's operations (perso service).

    readers                          the PC/SC readers perso sees
    start    --request ID --reader NAME [--alg ec-p256|rsa-2048] [--holder-pin-file FILE]
             queues a personalisation job; `tessera perso job` follows it. A
             renewal on the same card needs the holder's PIN (typed by the
             holder into FILE, never on the command line)
    retry    JOB_ID [--reader NAME]  resumes a failed job
    abandon  JOB_ID --reason TEXT    gives it up; its certificates are revoked
    job      JOB_ID [--wait SECONDS] a job and its steps (--wait: until it ends)
    jobs     [--state STATE] [--request ID] [--limit N]
    card     CARD_UUID               a card, its certificates and history
    cards    [--person ID] [--org ID] [--state STATE] [--serial HEX] [--limit N]
    transitions                      the card transition table
    card-state CARD_UUID --to STATE --reason TEXT
    reissue-code CARD_UUID --reason TEXT
    issue-csr --request ID --csr FILE (DER) --use auth|sign --out FILE (DER)
    issue-p12 --request ID --use auth|sign [--use ...] [--alg ec-p256|ec-p384|rsa-3072|rsa-4096]
              --password-file FILE --out FILE
             level * software certificates; the PKCS#12 is returned once
    puk-challenge, puk-release, change-puk
             PIN unblock by phone and the card contact (perso_puk.c)
    recovery-request, recovery-approve, recovery-show, recovery-deliver, escrowed-keys
             recovery of escrowed encryption keys (perso_recovery.c)

    STATE (cards): formatted, personalised, shipped, active, suspended, lost,
    damaged, returned, destroyed. STATE (jobs): pending, running, succeeded,
    failed, abandoned. With --json each job, card or reader is one JSON
    object on its own line.
*/
#include "cli.h"
#include "tessera/json.h"
#include "tessera/v1/perso.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_FILE_MAX (64 * 1024)

static const char *s_card_states [] = { NULL, "formatted", "personalised", "shipped", "active",
                                        "suspended", "lost", "damaged", "returned", "destroyed" };
static const char *s_job_states [] = { NULL, "pending", "running", "succeeded", "failed",
                                       "abandoned" };
static const char *s_step_states [] = { "-", "pending", "done", "failed" };

#define S_COUNT(a) ((int) (sizeof (a) / sizeof (a) [0]))
#define S_NAME(a, v) ((int) (v) >= 0 && (int) (v) < S_COUNT (a) && (a) [(int) (v)] ? (a) [(int) (v)] : "unknown")

static const char *
s_step_name (int step)
{
    const ProtobufCEnumValue *value = protobuf_c_enum_descriptor_get_value (
        &tessera__v1__perso_step__descriptor, step);
    return value ? value->name + strlen ("PERSO_STEP_") : "-";
}

//  The value after argv [*i] (a flag), or NULL with the error printed.
static const char *
s_value (cli_t *cli, int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        cli_fail (cli, CLI_USAGE, "missing value", argv [*i]);
        return NULL;
    }
    return argv [++*i];
}

static int
s_write_file (const char *path, const uint8_t *data, size_t size)
{
    FILE *file = fopen (path, "wb");
    if (!file)
        return -1;
    int rc = fwrite (data, 1, size, file) == size ? 0 : -1;
    if (fclose (file))
        rc = -1;
    return rc;
}

static void
s_emit (cli_t *cli, tsr_json_t **json_p)
{
    char *text = tsr_json_finish (json_p);
    if (cli->json)
        printf ("%s\n", text ? text : "{}");
    free (text);
}

static void
s_print_job (cli_t *cli, const Tessera__V1__PersoJob *job)
{
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "job_id", job->job_id);
    tsr_json_str (json, "card_request_id", job->card_request_id);
    tsr_json_str (json, "state", S_NAME (s_job_states, job->state));
    tsr_json_str (json, "reader", job->reader_name);
    tsr_json_str (json, "card_uuid", job->card_uuid);
    tsr_json_int (json, "attempts", job->attempts);
    tsr_json_str (json, "failed_step", job->failed_step ? s_step_name (job->failed_step) : "");
    tsr_json_str (json, "failure_reason", job->failure_reason);
    s_emit (cli, &json);
    if (cli->json)
        return;
    printf ("%s  %s  request %s  reader \"%s\"  attempt %u\n", job->job_id,
            S_NAME (s_job_states, job->state), job->card_request_id, job->reader_name,
            job->attempts);
    if (*job->card_uuid)
        printf ("  card        %s  ATR %s\n", job->card_uuid, job->atr_hex);
    for (size_t i = 0; i < job->n_certificate_serials; i++)
        printf ("  serial      %s\n", job->certificate_serials [i]);
    for (size_t i = 0; i < job->n_steps; i++)
        printf ("  %-28s %-8s %s\n", s_step_name (job->steps [i]->step),
                S_NAME (s_step_states, job->steps [i]->state), job->steps [i]->detail);
    if (job->failed_step)
        printf ("  failed at %s: %s\n", s_step_name (job->failed_step), job->failure_reason);
}

static void
s_print_card (cli_t *cli, const Tessera__V1__Card *card)
{
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "card_uuid", card->card_uuid);
    tsr_json_str (json, "state", S_NAME (s_card_states, card->state));
    tsr_json_str (json, "suspended_from", card->suspended_from_state
                  ? S_NAME (s_card_states, card->suspended_from_state) : "");
    tsr_json_str (json, "person_id", card->person_id);
    tsr_json_str (json, "card_request_id", card->card_request_id);
    tsr_json_int (json, "activation_failures", card->activation_failures);
    tsr_json_bool (json, "activation_locked", card->activation_locked);
    tsr_json_int (json, "activated_at_unix", card->activated_at_unix);
    s_emit (cli, &json);
    if (cli->json)
        return;
    printf ("%s  %s  holder %s  request %s\n", card->card_uuid,
            S_NAME (s_card_states, card->state), card->person_id, card->card_request_id);
    for (size_t i = 0; i < card->n_certificates; i++)
        printf ("  %s  serial %s\n", card->certificates [i]->slot,
                card->certificates [i]->serial_hex);
    printf ("  activation  %u wrong codes%s%s\n", card->activation_failures,
            card->activation_locked ? ", locked" : "", card->activated_at_unix ? ", activated" : "");
    for (size_t i = 0; i < card->n_history; i++)
        printf ("  %s -> %s  %s %s\n", S_NAME (s_card_states, card->history [i]->from_state),
                S_NAME (s_card_states, card->history [i]->to_state),
                card->history [i]->operator_id, card->history [i]->reason);
}

//  A job or a card, as a reply or a listed item.
static int
s_print_item (cli_t *cli, const ProtobufCMessage *item, const void *args)
{
    (void) args;
    if (item->descriptor == &tessera__v1__perso_job__descriptor)
        s_print_job (cli, (const Tessera__V1__PersoJob *) item);
    else
        s_print_card (cli, (const Tessera__V1__Card *) item);
    return CLI_OK;
}

static int
s_print_reply (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message,
               const void *args)
{
    (void) reply;
    return s_print_item (cli, message, args);
}

//  Calls method and prints the reply as a job (is_job) or a card.
static int
s_call_print (cli_t *cli, const char *method, const ProtobufCMessage *request, bool is_job)
{
    static const cli_reply_t job = {
        &tessera__v1__perso_job__descriptor, "the reply does not decode", NULL, s_print_reply
    };
    static const cli_reply_t card = {
        &tessera__v1__card__descriptor, "the reply does not decode", NULL, s_print_reply
    };
    return cli_call_print (cli, "perso", method, request, NULL, 0, is_job ? &job : &card, NULL);
}

static int
s_print_readers (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message,
                 const void *args)
{
    (void) reply;
    (void) args;
    const Tessera__V1__ListReadersReply *list = (const Tessera__V1__ListReadersReply *) message;
    for (size_t i = 0; i < list->n_readers; i++) {
        Tessera__V1__Reader *reader = list->readers [i];
        tsr_json_t *json = tsr_json_new ();
        tsr_json_str (json, "name", reader->name);
        tsr_json_bool (json, "card_present", reader->card_present);
        tsr_json_str (json, "atr_hex", reader->atr_hex);
        tsr_json_str (json, "job_id", reader->job_id);
        s_emit (cli, &json);
        if (!cli->json)
            printf ("%s  %s  %s  %s\n", reader->name, reader->card_present ? "card" : "empty",
                    reader->atr_hex, reader->job_id);
    }
    return CLI_OK;
}

static int
s_readers (cli_t *cli)
{
    static const cli_reply_t expected = {
        &tessera__v1__list_readers_reply__descriptor, "the reply does not decode", NULL,
        s_print_readers
    };
    Tessera__V1__ListReadersRequest request = TESSERA__V1__LIST_READERS_REQUEST__INIT;
    return cli_call_print (cli, "perso", "ListReaders", &request.base, NULL, 0, &expected, NULL);
}

//  `job --wait`: polls until the job is no longer pending or running.
static int
s_job (cli_t *cli, const char *job_id, long wait_s)
{
    Tessera__V1__GetJobRequest request = TESSERA__V1__GET_JOB_REQUEST__INIT;
    request.job_id = (char *) job_id;
    for (long waited_ms = 0; wait_s > 0 && waited_ms < wait_s * 1000; waited_ms += 500) {
        tsr_envelope_t *reply = NULL;
        if (cli_call (cli, "perso", "GetJob", &request.base, NULL, 0, &reply, NULL) != CLI_OK)
            return CLI_FAILED;
        Tessera__V1__PersoJob *job = tessera__v1__perso_job__unpack (NULL, reply->payload.len,
                                                                    reply->payload.data);
        bool running = job && (job->state == 1 || job->state == 2);
        tessera__v1__perso_job__free_unpacked (job, NULL);
        tsr_envelope_free (&reply);
        if (!running)
            break;
        usleep (500000);
    }
    return s_call_print (cli, "GetJob", &request.base, true);
}

static int
s_list (cli_t *cli, bool jobs, int argc, char **argv)
{
    Tessera__V1__ListJobsRequest job_request = TESSERA__V1__LIST_JOBS_REQUEST__INIT;
    Tessera__V1__ListCardsRequest card_request = TESSERA__V1__LIST_CARDS_REQUEST__INIT;
    for (int i = 0; i < argc; i++) {
        const char *value = s_value (cli, argc, argv, &i);
        if (!value)
            return CLI_USAGE;
        const char *flag = argv [i - 1];
        if (streq (flag, "--state")) {
            int state = jobs ? cli_lookup (s_job_states, S_COUNT (s_job_states), value)
                             : cli_lookup (s_card_states, S_COUNT (s_card_states), value);
            if (!state)
                return cli_fail (cli, CLI_USAGE, "unknown state", value);
            job_request.state = (Tessera__V1__PersoJobState) state;
            card_request.state = (Tessera__V1__CardState) state;
        }
        else if (streq (flag, "--limit"))
            job_request.limit = card_request.limit = (uint32_t) strtoul (value, NULL, 10);
        else if (jobs && streq (flag, "--request"))
            job_request.card_request_id = (char *) value;
        else if (!jobs && streq (flag, "--person"))
            card_request.person_id = (char *) value;
        else if (!jobs && streq (flag, "--org"))
            card_request.organisation_id = (char *) value;
        else if (!jobs && streq (flag, "--serial"))
            card_request.serial_hex = (char *) value;
        else
            return cli_fail (cli, CLI_USAGE, "unknown option", flag);
    }
    //  The first page only: --limit caps what is shown.
    const cli_pages_t pages = {
        "perso", jobs ? "ListJobs" : "ListCards",
        jobs ? &tessera__v1__list_jobs_reply__descriptor
             : &tessera__v1__list_cards_reply__descriptor,
        "the reply does not decode", NULL, 1, s_print_item, NULL
    };
    return cli_call_pages (cli, &pages, jobs ? &job_request.base : &card_request.base,
                           jobs ? &job_request.page_token : &card_request.page_token);
}

static int
s_print_transitions (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message,
                     const void *args)
{
    (void) reply;
    (void) args;
    const Tessera__V1__ListCardTransitionsReply *table =
        (const Tessera__V1__ListCardTransitionsReply *) message;
    for (size_t i = 0; i < table->n_transitions; i++) {
        Tessera__V1__CardTransition *row = table->transitions [i];
        tsr_json_t *json = tsr_json_new ();
        tsr_json_str (json, "from", S_NAME (s_card_states, row->from_state));
        tsr_json_str (json, "to", S_NAME (s_card_states, row->to_state));
        tsr_json_str (json, "kind", row->kind == 1 ? "operator" : "card-operation");
        tsr_json_bool (json, "only_to_previous_state", row->only_to_previous_state);
        s_emit (cli, &json);
        if (!cli->json)
            printf ("%-13s -> %-13s %s%s\n", S_NAME (s_card_states, row->from_state),
                    S_NAME (s_card_states, row->to_state),
                    row->kind == 1 ? "operator" : "card operation",
                    row->only_to_previous_state ? " (back to the previous state only)" : "");
    }
    return CLI_OK;
}

static int
s_transitions (cli_t *cli)
{
    static const cli_reply_t expected = {
        &tessera__v1__list_card_transitions_reply__descriptor, "the reply does not decode", NULL,
        s_print_transitions
    };
    Tessera__V1__ListCardTransitionsRequest request =
        TESSERA__V1__LIST_CARD_TRANSITIONS_REQUEST__INIT;
    return cli_call_print (cli, "perso", "ListCardTransitions", &request.base, NULL, 0,
                           &expected, NULL);
}

//  The certificate or the PKCS#12 of an issue reply into the file args.
static int
s_write_issued (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message,
                const void *args)
{
    (void) reply;
    const char *out = args;
    bool p12 = message->descriptor == &tessera__v1__issue_pkcs12_reply__descriptor;
    const ProtobufCBinaryData *data = p12 ? &((Tessera__V1__IssuePkcs12Reply *) message)->pkcs12_der
        : ((Tessera__V1__IssueFromCsrReply *) message)->certificate
        ? &((Tessera__V1__IssueFromCsrReply *) message)->certificate->certificate_der : NULL;
    if (!data || s_write_file (out, data->data, data->len))
        return cli_fail (cli, CLI_FAILED, "cannot write the result", out);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_bool (json, "ok", true);
    tsr_json_str (json, "out", out);
    s_emit (cli, &json);
    if (!cli->json)
        printf ("%s written to %s\n", p12 ? "PKCS#12" : "certificate", out);
    return CLI_OK;
}

//  issue-csr and issue-p12.
static int
s_issue (cli_t *cli, bool p12, int argc, char **argv)
{
    Tessera__V1__IssueFromCsrRequest csr = TESSERA__V1__ISSUE_FROM_CSR_REQUEST__INIT;
    Tessera__V1__IssuePkcs12Request pkcs12 = TESSERA__V1__ISSUE_PKCS12_REQUEST__INIT;
    Tessera__V1__CertificateUse uses [2];
    const char *out = NULL, *csr_path = NULL, *password_path = NULL;
    static const char *algorithms [] = { NULL, "ec-p256", "ec-p384", "rsa-3072", "rsa-4096" };
    for (int i = 0; i < argc; i++) {
        const char *value = s_value (cli, argc, argv, &i);
        if (!value)
            return CLI_USAGE;
        const char *flag = argv [i - 1];
        if (streq (flag, "--request"))
            csr.card_request_id = pkcs12.card_request_id = (char *) value;
        else if (streq (flag, "--out"))
            out = value;
        else if (streq (flag, "--use") && (streq (value, "auth") || streq (value, "sign"))) {
            csr.use = streq (value, "auth") ? 1 : 2;
            if (pkcs12.n_uses == 2)
                return cli_fail (cli, CLI_USAGE, "at most two --use", NULL);
            uses [pkcs12.n_uses++] = csr.use;
        }
        else if (!p12 && streq (flag, "--csr"))
            csr_path = value;
        else if (p12 && streq (flag, "--password-file"))
            password_path = value;
        else if (p12 && streq (flag, "--alg")
             && (pkcs12.key_algorithm = cli_lookup (algorithms, S_COUNT (algorithms), value)))
            ;
        else
            return cli_fail (cli, CLI_USAGE, "unknown option or value", flag);
    }
    if (!out || !*csr.card_request_id || !pkcs12.n_uses || (p12 ? !password_path : !csr_path))
        return cli_fail (cli, CLI_USAGE, p12 ? "issue-p12 needs --request, --use, --password-file"
                         " and --out" : "issue-csr needs --request, --csr, --use and --out", NULL);
    size_t size = 0;
    uint8_t *file = cli_read_file (p12 ? password_path : csr_path, S_FILE_MAX, &size);
    if (!file)
        return cli_fail (cli, CLI_FAILED, "cannot read", p12 ? password_path : csr_path);
    while (p12 && size && (file [size - 1] == '\n' || file [size - 1] == '\r'))
        size--;
    char *password = p12 ? strndup ((char *) file, size) : NULL;
    csr.csr_der.data = file;
    csr.csr_der.len = size;
    pkcs12.uses = uses;
    pkcs12.password = password;
    const cli_reply_t expected = {
        p12 ? &tessera__v1__issue_pkcs12_reply__descriptor
            : &tessera__v1__issue_from_csr_reply__descriptor,
        "cannot write the result", out, s_write_issued
    };
    int rc = cli_call_print (cli, "perso", p12 ? "IssuePkcs12" : "IssueFromCsr",
                             p12 ? &pkcs12.base : &csr.base, NULL, 0, &expected, out);
    if (password)
        memset (password, 0, strlen (password));
    memset (file, 0, size);
    free (password);
    free (file);
    return rc;
}

//  Options of the single-object commands: --request, --reader, --alg,
//  --reason, --to, --wait.
typedef struct {
    const char *request, *reader, *reason, *to, *holder_pin_file;
    int algorithm;
    long wait_s;
} s_options_t;

static int
s_options (cli_t *cli, int argc, char **argv, s_options_t *options)
{
    memset (options, 0, sizeof *options);
    for (int i = 0; i < argc; i++) {
        const char *value = s_value (cli, argc, argv, &i);
        if (!value)
            return CLI_USAGE;
        const char *flag = argv [i - 1];
        if (streq (flag, "--request"))
            options->request = value;
        else if (streq (flag, "--reader"))
            options->reader = value;
        else if (streq (flag, "--reason"))
            options->reason = value;
        else if (streq (flag, "--to"))
            options->to = value;
        else if (streq (flag, "--holder-pin-file"))
            options->holder_pin_file = value;
        else if (streq (flag, "--wait"))
            options->wait_s = strtol (value, NULL, 10);
        else if (streq (flag, "--alg") && streq (value, "ec-p256"))
            options->algorithm = TESSERA__V1__CARD_KEY_ALGORITHM__CARD_KEY_ALGORITHM_EC_P256;
        else if (streq (flag, "--alg") && streq (value, "rsa-2048"))
            options->algorithm = TESSERA__V1__CARD_KEY_ALGORITHM__CARD_KEY_ALGORITHM_RSA_2048;
        else
            return cli_fail (cli, CLI_USAGE, "unknown option or value", flag);
    }
    return CLI_OK;
}

int
cli_perso (cli_t *cli, int argc, char **argv)
{
    if (argc < 1)
        return cli_fail (cli, CLI_USAGE, "perso needs a subcommand (readers, start, retry, "
                         "abandon, job, jobs, card, cards, transitions, card-state, reissue-code, "
                         "issue-csr, issue-p12, puk-challenge, puk-release, "
                         "change-puk, recovery-request, recovery-approve, recovery-show, "
                         "recovery-deliver, escrowed-keys)", NULL);
    const char *command = argv [0];
    argc--, argv++;
    if (streq (command, "readers"))
        return s_readers (cli);
    if (streq (command, "jobs") || streq (command, "cards"))
        return s_list (cli, streq (command, "jobs"), argc, argv);
    if (streq (command, "transitions"))
        return s_transitions (cli);
    if (streq (command, "issue-csr") || streq (command, "issue-p12"))
        return s_issue (cli, streq (command, "issue-p12"), argc, argv);
    if (streq (command, "puk-challenge") || streq (command, "puk-release")
    ||  streq (command, "change-puk"))
        return cli_perso_puk (cli, command, argc, argv);
    if (strncmp (command, "recovery-", 9) == 0 || streq (command, "escrowed-keys"))
        return cli_perso_recovery (cli, command, argc, argv);
    //  The rest name one job or card first (start names none).
    bool start = streq (command, "start");
    const char *id = NULL;
    if (!start) {
        if (argc < 1)
            return cli_fail (cli, CLI_USAGE, "missing the job id or card UUID", command);
        id = argv [0];
        argc--, argv++;
    }
    s_options_t options;
    if (s_options (cli, argc, argv, &options) != CLI_OK)
        return CLI_USAGE;
    if (start) {
        if (!options.request || !options.reader)
            return cli_fail (cli, CLI_USAGE, "start needs --request and --reader", NULL);
        Tessera__V1__StartJobRequest request = TESSERA__V1__START_JOB_REQUEST__INIT;
        request.card_request_id = (char *) options.request;
        request.reader_name = (char *) options.reader;
        request.key_algorithm = (Tessera__V1__CardKeyAlgorithm) options.algorithm;
        size_t size = 0;
        uint8_t *pin = NULL;
        if (options.holder_pin_file) {
            if ((pin = cli_read_file (options.holder_pin_file, S_FILE_MAX, &size)) && size > 16) {
                memset (pin, 0, S_FILE_MAX);
                free (pin);
                pin = NULL;
            }
            if (!pin)
                return cli_fail (cli, CLI_FAILED, "cannot read the holder's PIN (at most 16 bytes)",
                                 options.holder_pin_file);
            while (size && (pin [size - 1] == '\n' || pin [size - 1] == '\r'))
                size--;
            pin [size] = 0;
            request.holder_pin = (char *) pin;
        }
        int rc = s_call_print (cli, "StartJob", &request.base, true);
        if (pin) {
            memset (pin, 0, S_FILE_MAX);
            free (pin);
        }
        return rc;
    }
    if (streq (command, "retry")) {
        Tessera__V1__RetryJobRequest request = TESSERA__V1__RETRY_JOB_REQUEST__INIT;
        request.job_id = (char *) id;
        request.reader_name = (char *) (options.reader ? options.reader : "");
        return s_call_print (cli, "RetryJob", &request.base, true);
    }
    if (streq (command, "abandon")) {
        Tessera__V1__AbandonJobRequest request = TESSERA__V1__ABANDON_JOB_REQUEST__INIT;
        request.job_id = (char *) id;
        request.reason = (char *) (options.reason ? options.reason : "");
        return s_call_print (cli, "AbandonJob", &request.base, true);
    }
    if (streq (command, "job"))
        return s_job (cli, id, options.wait_s);
    if (streq (command, "card")) {
        Tessera__V1__GetCardRequest request = TESSERA__V1__GET_CARD_REQUEST__INIT;
        request.card_uuid = (char *) id;
        return s_call_print (cli, "GetCard", &request.base, false);
    }
    if (streq (command, "card-state")) {
        int to = options.to ? cli_lookup (s_card_states, S_COUNT (s_card_states), options.to) : 0;
        if (!to)
            return cli_fail (cli, CLI_USAGE, "card-state needs --to STATE", options.to);
        Tessera__V1__ChangeCardStateRequest request = TESSERA__V1__CHANGE_CARD_STATE_REQUEST__INIT;
        request.card_uuid = (char *) id;
        request.to_state = (Tessera__V1__CardState) to;
        request.reason = (char *) (options.reason ? options.reason : "");
        return s_call_print (cli, "ChangeCardState", &request.base, false);
    }
    if (streq (command, "reissue-code")) {
        Tessera__V1__ReissueActivationCodeRequest request =
            TESSERA__V1__REISSUE_ACTIVATION_CODE_REQUEST__INIT;
        request.card_uuid = (char *) id;
        request.reason = (char *) (options.reason ? options.reason : "");
        return s_call_print (cli, "ReissueActivationCode", &request.base, false);
    }
    return cli_fail (cli, CLI_USAGE, "unknown perso subcommand", command);
}
