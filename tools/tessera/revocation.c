/*  tessera revocation ...: the revocation operator's work, from the command
    line (services/revocation; docs/revocation.md).

    list         [--overdue] [--state STATE] [--channel CHANNEL] [--holder ID]
                 [--organisation ID]      every page, oldest deadline first
    show         REVOCATION_ID
    decide       REVOCATION_ID --approve|--reject [--reason REASON] [--note TEXT]
    phone-start  --caller PERSON_ID [--holder PERSON_ID] [--serial HEX]...
                 picks the questions to read to the caller
    phone-answer CHALLENGE_ID (--answer QUESTION_ID=TEXT... | --answers-stdin)
                 the caller's answers, checked once (stdin: one ID=TEXT a line,
                 so that answers stay off the command line)
    phone-record CHALLENGE_ID (--serial HEX... | --card UUID) --reason REASON
                 [--statement TEXT] [--as rl|mc|holder]
    paper        --requester PERSON_ID [--holder PERSON_ID] (--serial HEX... |
                 --card UUID) --reason REASON (--form FILE | --form-sha256 HEX)
                 --received YYYY-MM-DD|UNIX --reference-document DOCUMENT_ID
                 --signature-matches [--statement TEXT] [--as rl|mc|holder]
    phone-status PERSON_ID                failed attempts and lock
    archive      [--from UNIX] [--to UNIX]   archived requests, every page
    suspend, resume  certificates on hold and released (see suspension.c)

    --card names a card instead of its certificates: revocation reads them
    from perso and leaves out those revoked already.
    STATE: pending, approved, applied, rejected. CHANNEL: online, phone,
    paper. REASON: unspecified, key-compromise, affiliation-changed,
    superseded, cessation-of-operation, certificate-hold, privilege-withdrawn.
    With --json, each request is one JSON object on its own line.
*/
#include "cli.h"
#include "tessera/json.h"
#include "tessera/v1/revocation.pb-c.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_SERIALS_MAX 16
#define S_ANSWERS_MAX 10
#define S_ANSWER_LINE 1024

static const char *s_reasons [] = {
    "not-set", "unspecified", "key-compromise", "ca-compromise", "affiliation-changed",
    "superseded", "cessation-of-operation", "certificate-hold", NULL, "remove-from-crl",
    "privilege-withdrawn", "aa-compromise" };
static const char *s_states [] = { NULL, "pending", "approved", "applied", "rejected" };
static const char *s_channels [] = { NULL, "online", "phone", "paper" };
static const char *s_roles [] = { NULL, "rl", "mc", "holder" };

static const char *
s_name (const char *const *names, int count, int value)
{
    return value >= 0 && value < count && names [value] ? names [value] : "?";
}

#define S_NAME(names, value) s_name (names, (int) (sizeof names / sizeof names [0]), (int) (value))
#define S_LOOKUP(names, text) cli_lookup (names, (int) (sizeof names / sizeof names [0]), text)

//  The request's authentication as a JSON object (caller frees).
static char *
s_authentication_json (const Tessera__V1__RevocationRecord *record)
{
    tsr_json_t *json = tsr_json_new ();
    if (record->phone) {
        tsr_json_str (json, "challenge_id", record->phone->challenge_id);
        tsr_json_str (json, "answered_by_person_id", record->phone->answered_by_person_id);
        tsr_json_int (json, "questions_asked", record->phone->questions_asked);
        tsr_json_str (json, "operator_id", record->phone->operator_id);
        tsr_json_int (json, "passed_at_unix", record->phone->passed_at_unix);
    }
    if (record->paper) {
        tsr_json_str (json, "form_sha256", record->paper->form_sha256);
        tsr_json_int (json, "form_received_unix", record->paper->form_received_unix);
        tsr_json_str (json, "signature_checked_by_operator_id",
                      record->paper->signature_checked_by_operator_id);
        tsr_json_str (json, "reference_document_id", record->paper->reference_document_id);
    }
    if (record->online) {
        tsr_json_str (json, "account_id", record->online->account_id);
        tsr_json_str (json, "client_address", record->online->client_address);
        tsr_json_str (json, "user_agent", record->online->user_agent);
    }
    return tsr_json_finish (&json);
}

static int
s_print_json (cli_t *cli, const Tessera__V1__RevocationRecord *record)
{
    char *serials = tsr_json_string_array ((const char *const *) record->serials,
                                           record->n_serials);
    char *authentication = s_authentication_json (record);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_bool (json, "ok", true);
    tsr_json_str (json, "revocation_id", record->revocation_id);
    tsr_json_str (json, "channel", S_NAME (s_channels, record->channel));
    tsr_json_str (json, "state", S_NAME (s_states, record->state));
    tsr_json_bool (json, "overdue", record->overdue);
    tsr_json_str (json, "requester_person_id", record->requester_person_id);
    tsr_json_str (json, "requester_role", S_NAME (s_roles, record->requester_role));
    tsr_json_str (json, "holder_person_id", record->holder_person_id);
    tsr_json_str (json, "organisation_id", record->organisation_id);
    tsr_json_str (json, "card_uuid", record->card_uuid);
    tsr_json_raw (json, "serials", serials ? serials : "[]");
    tsr_json_str (json, "requested_reason", S_NAME (s_reasons, record->requested_reason));
    tsr_json_str (json, "reason", S_NAME (s_reasons, record->reason));
    tsr_json_int (json, "level", record->level);
    tsr_json_str (json, "statement", record->statement);
    tsr_json_raw (json, "authentication", authentication ? authentication : "{}");
    tsr_json_str (json, "recorded_by_operator_id", record->recorded_by_operator_id);
    tsr_json_int (json, "received_at_unix", record->received_at_unix);
    tsr_json_int (json, "recorded_at_unix", record->recorded_at_unix);
    tsr_json_int (json, "deadline_unix", record->deadline_unix);
    tsr_json_str (json, "decided_by_operator_id", record->decided_by_operator_id);
    tsr_json_int (json, "decided_at_unix", record->decided_at_unix);
    tsr_json_str (json, "decision_note", record->decision_note);
    tsr_json_int (json, "applied_at_unix", record->applied_at_unix);
    tsr_json_str (json, "last_apply_error", record->last_apply_error);
    tsr_json_int (json, "archived_at_unix", record->archived_at_unix);
    tsr_json_int (json, "retain_until_unix", record->retain_until_unix);
    int rc = cli_print_json_checked (cli, &json);
    free (serials);
    free (authentication);
    return rc;
}

static void
s_time (int64_t unix_s, char out [24])
{
    time_t when = (time_t) unix_s;
    struct tm tm;
    if (!unix_s || !gmtime_r (&when, &tm) || !strftime (out, 24, "%Y-%m-%d %H:%M", &tm))
        snprintf (out, 24, "-");
}

static int
s_print (cli_t *cli, const Tessera__V1__RevocationRecord *record, bool row)
{
    if (cli->json)
        return s_print_json (cli, record);
    char deadline [24], decided [24];
    s_time (record->deadline_unix, deadline);
    s_time (record->decided_at_unix, decided);
    if (row) {
        printf ("%-35s  %-6s  %-8s  %-16s  %-7s  %-24s  %s\n", record->revocation_id,
                S_NAME (s_channels, record->channel), S_NAME (s_states, record->state), deadline,
                record->overdue ? "OVERDUE" : "", record->holder_person_id,
                S_NAME (s_reasons, record->reason));
        return CLI_OK;
    }
    printf ("%s  %s, %s%s\n", record->revocation_id, S_NAME (s_channels, record->channel),
            S_NAME (s_states, record->state), record->overdue ? " (OVERDUE)" : "");
    printf ("  requester   %s (%s)\n", record->requester_person_id,
            S_NAME (s_roles, record->requester_role));
    printf ("  holder      %s of organisation %s\n", record->holder_person_id,
            record->organisation_id);
    if (*record->card_uuid)
        printf ("  card        %s\n", record->card_uuid);
    for (size_t i = 0; i < record->n_serials; i++)
        printf ("  serial      %s\n", record->serials [i]);
    printf ("  reason      %s (asked: %s)\n", S_NAME (s_reasons, record->reason),
            S_NAME (s_reasons, record->requested_reason));
    printf ("  deadline    %s UTC (level %d)\n", deadline, (int) record->level);
    printf ("  recorded by %s\n", *record->recorded_by_operator_id
                                  ? record->recorded_by_operator_id : "the holder, online");
    printf ("  decided     %s UTC by %s%s%s\n", decided,
            *record->decided_by_operator_id ? record->decided_by_operator_id : "-",
            *record->decision_note ? ": " : "", record->decision_note);
    if (*record->last_apply_error)
        printf ("  waiting     %s\n", record->last_apply_error);
    return CLI_OK;
}

//  A reply that is a RevocationRecord, after its message.
static int
s_print_reply (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message,
               const void *args)
{
    (void) args;
    if (!cli->json)
        printf ("%s\n", reply->status_message);
    return s_print (cli, (const Tessera__V1__RevocationRecord *) message, false);
}

//  Calls method on revocation and prints the RevocationRecord it answers.
static int
s_call_record (cli_t *cli, const char *method, const ProtobufCMessage *request)
{
    static const cli_reply_t expected = {
        &tessera__v1__revocation_record__descriptor, "the reply is not a RevocationRecord", NULL,
        s_print_reply
    };
    return cli_call_print (cli, "revocation", method, request, NULL, 0, &expected, NULL);
}

//  One listed record, for cli_call_pages: a row.
static int
s_print_item (cli_t *cli, const ProtobufCMessage *item, const void *args)
{
    (void) args;
    return s_print (cli, (const Tessera__V1__RevocationRecord *) item, true);
}

//  list and archive: every page.
static int
s_pages (cli_t *cli, const char *method, ProtobufCMessage *request, char **token_field)
{
    if (!cli->json)
        printf ("%-35s  %-6s  %-8s  %-16s  %-7s  %-24s  %s\n", "REVOCATION", "CHANNEL", "STATE",
                "DEADLINE (UTC)", "", "HOLDER", "REASON");
    //  Both replies are (repeated RevocationRecord = 1, string token = 2).
    const cli_pages_t pages = {
        "revocation", method, &tessera__v1__list_revocations_reply__descriptor,
        "the reply is not a list of revocation requests", NULL, 0, s_print_item, NULL
    };
    return cli_call_pages (cli, &pages, request, token_field);
}

static int
s_list (cli_t *cli, int argc, char **argv)
{
    Tessera__V1__ListRevocationsRequest request = TESSERA__V1__LIST_REVOCATIONS_REQUEST__INIT;
    for (int i = 0; i < argc; i++) {
        const char *value = i + 1 < argc ? argv [i + 1] : NULL;
        if (streq (argv [i], "--overdue")) {
            request.overdue_only = true;
            continue;
        }
        if (!value)
            return cli_fail (cli, CLI_USAGE, "missing value", argv [i]);
        if (streq (argv [i], "--state")
        &&  (request.state = (Tessera__V1__RevocationState) S_LOOKUP (s_states, value)))
            ;
        else
        if (streq (argv [i], "--channel")
        &&  (request.channel = (Tessera__V1__RevocationChannel) S_LOOKUP (s_channels, value)))
            ;
        else
        if (streq (argv [i], "--holder"))
            request.holder_person_id = (char *) value;
        else
        if (streq (argv [i], "--organisation"))
            request.organisation_id = (char *) value;
        else
            return cli_fail (cli, CLI_USAGE, "list [--overdue] [--state pending|approved|applied|"
                             "rejected] [--channel online|phone|paper] [--holder ID] "
                             "[--organisation ID]", argv [i]);
        i++;
    }
    return s_pages (cli, "ListRevocations", &request.base, &request.page_token);
}

static int
s_archive (cli_t *cli, int argc, char **argv)
{
    Tessera__V1__ExportRevocationArchiveRequest request =
        TESSERA__V1__EXPORT_REVOCATION_ARCHIVE_REQUEST__INIT;
    for (int i = 0; i + 1 < argc || i < argc; i += 2) {
        char *end = NULL;
        long long value = i + 1 < argc ? strtoll (argv [i + 1], &end, 10) : -1;
        if (i + 1 >= argc || !end || *end || value < 0)
            return cli_fail (cli, CLI_USAGE, "archive [--from UNIX] [--to UNIX]", argv [i]);
        if (streq (argv [i], "--from"))
            request.archived_from_unix = value;
        else
        if (streq (argv [i], "--to"))
            request.archived_to_unix = value;
        else
            return cli_fail (cli, CLI_USAGE, "archive [--from UNIX] [--to UNIX]", argv [i]);
    }
    return s_pages (cli, "ExportRevocationArchive", &request.base, &request.page_token);
}

static int
s_decide (cli_t *cli, int argc, char **argv)
{
    Tessera__V1__DecideRevocationRequest request = TESSERA__V1__DECIDE_REVOCATION_REQUEST__INIT;
    int decisions = 0;
    for (int i = 0; i < argc; i++) {
        if (streq (argv [i], "--approve") || streq (argv [i], "--reject")) {
            request.approve = streq (argv [i], "--approve");
            decisions++;
        }
        else
        if (streq (argv [i], "--note") && i + 1 < argc)
            request.note = argv [++i];
        else
        if (streq (argv [i], "--reason") && i + 1 < argc) {
            request.reason = (Tessera__V1__RevocationReason) S_LOOKUP (s_reasons, argv [++i]);
            if (!request.reason)
                return cli_fail (cli, CLI_USAGE, "unknown reason", argv [i]);
        }
        else
        if (argv [i][0] != '-' && !*request.revocation_id)
            request.revocation_id = argv [i];
        else
            return cli_fail (cli, CLI_USAGE, "unexpected argument", argv [i]);
    }
    if (!*request.revocation_id || decisions != 1)
        return cli_fail (cli, CLI_USAGE, "decide REVOCATION_ID --approve|--reject [--reason "
                         "REASON] [--note TEXT]", NULL);
    return s_call_record (cli, "DecideRevocation", &request.base);
}

//  The options phone-record and paper share; 1 when argv [*i] was one.
typedef struct {
    char *serials [S_SERIALS_MAX];
    size_t serial_count;
    char *card_uuid;
    Tessera__V1__RevocationReason reason;
    char *statement;
    Tessera__V1__PersonRole role;
    bool bad;
} s_common_t;

static int
s_common_option (s_common_t *common, int argc, char **argv, int *i)
{
    if (*i + 1 >= argc)
        return 0;
    const char *option = argv [*i];
    char *value = argv [*i + 1];
    if (streq (option, "--serial")) {
        if (common->serial_count >= S_SERIALS_MAX)
            common->bad = true;
        else
            common->serials [common->serial_count++] = value;
    }
    else
    if (streq (option, "--card"))
        common->card_uuid = value;
    else
    if (streq (option, "--reason"))
        common->bad |= !(common->reason = (Tessera__V1__RevocationReason) S_LOOKUP (s_reasons, value));
    else
    if (streq (option, "--statement"))
        common->statement = value;
    else
    if (streq (option, "--as"))
        common->bad |= !(common->role = (Tessera__V1__PersonRole) S_LOOKUP (s_roles, value));
    else
        return 0;
    (*i)++;
    return 1;
}

static int
s_phone_record (cli_t *cli, int argc, char **argv)
{
    Tessera__V1__RecordPhoneRevocationRequest request =
        TESSERA__V1__RECORD_PHONE_REVOCATION_REQUEST__INIT;
    s_common_t common = { .statement = "", .card_uuid = "" };
    for (int i = 0; i < argc; i++) {
        if (s_common_option (&common, argc, argv, &i))
            continue;
        if (argv [i][0] != '-' && !*request.challenge_id)
            request.challenge_id = argv [i];
        else
            return cli_fail (cli, CLI_USAGE, "unexpected argument", argv [i]);
    }
    if (common.bad || !*request.challenge_id || !common.serial_count == !*common.card_uuid
    ||  !common.reason)
        return cli_fail (cli, CLI_USAGE, "phone-record CHALLENGE_ID (--serial HEX... | --card "
                         "UUID) --reason REASON [--statement TEXT] [--as rl|mc|holder]", NULL);
    request.card_uuid = common.card_uuid;
    request.serials = common.serials;
    request.n_serials = common.serial_count;
    request.reason = common.reason;
    request.statement = common.statement;
    request.requester_role = common.role;
    return s_call_record (cli, "RecordPhoneRevocation", &request.base);
}

//  Hex SHA-256 of a file into hex (65).
static int
s_file_sha256 (cli_t *cli, const char *path, char hex [65])
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return cli_fail (cli, CLI_FAILED, "cannot read the form's scan", path);
    EVP_MD_CTX *context = EVP_MD_CTX_new ();
    unsigned char buffer [65536], digest [32];
    unsigned int len = 0;
    int ok = context && EVP_DigestInit_ex (context, EVP_sha256 (), NULL);
    size_t got;
    while (ok && (got = fread (buffer, 1, sizeof buffer, file)) > 0)
        ok = EVP_DigestUpdate (context, buffer, got);
    ok = ok && !ferror (file) && EVP_DigestFinal_ex (context, digest, &len) && len == 32;
    EVP_MD_CTX_free (context);
    fclose (file);
    if (!ok)
        return cli_fail (cli, CLI_FAILED, "cannot hash the form's scan", path);
    for (int i = 0; i < 32; i++)
        snprintf (hex + 2 * i, 3, "%02x", digest [i]);
    return CLI_OK;
}

//  YYYY-MM-DD (00:00 UTC) or seconds since 1970.
static bool
s_parse_day (const char *text, int64_t *unix_s)
{
    struct tm tm;
    memset (&tm, 0, sizeof tm);
    char extra = 0;
    if (strlen (text) == 10
    &&  sscanf (text, "%4d-%2d-%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &extra) == 3) {
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        *unix_s = (int64_t) timegm (&tm);
        return *unix_s > 0;
    }
    char *stop = NULL;
    long long value = strtoll (text, &stop, 10);
    *unix_s = value;
    return stop && !*stop && value > 0;
}

static int
s_paper (cli_t *cli, int argc, char **argv)
{
    Tessera__V1__RecordPaperRevocationRequest request =
        TESSERA__V1__RECORD_PAPER_REVOCATION_REQUEST__INIT;
    s_common_t common = { .statement = "", .card_uuid = "" };
    char sha256 [65] = "";
    for (int i = 0; i < argc; i++) {
        if (s_common_option (&common, argc, argv, &i))
            continue;
        const char *value = i + 1 < argc ? argv [i + 1] : NULL;
        if (streq (argv [i], "--signature-matches")) {
            request.signature_matches = true;
            continue;
        }
        if (!value)
            return cli_fail (cli, CLI_USAGE, "missing value", argv [i]);
        if (streq (argv [i], "--requester"))
            request.requester_person_id = (char *) value;
        else if (streq (argv [i], "--holder"))
            request.holder_person_id = (char *) value;
        else if (streq (argv [i], "--reference-document"))
            request.reference_document_id = (char *) value;
        else if (streq (argv [i], "--form-sha256"))
            snprintf (sha256, sizeof sha256, "%s", value);
        else if (streq (argv [i], "--form")) {
            if (s_file_sha256 (cli, value, sha256) != CLI_OK)
                return CLI_FAILED;
        }
        else if (streq (argv [i], "--received")) {
            if (!s_parse_day (value, &request.form_received_unix))
                return cli_fail (cli, CLI_USAGE, "--received takes YYYY-MM-DD or seconds", value);
        }
        else
            return cli_fail (cli, CLI_USAGE, "unexpected argument", argv [i]);
        i++;
    }
    if (common.bad || !*request.requester_person_id || !common.serial_count == !*common.card_uuid
    ||  !common.reason || !*sha256 || !request.form_received_unix
    ||  !*request.reference_document_id)
        return cli_fail (cli, CLI_USAGE, "paper --requester ID [--holder ID] (--serial HEX... | "
                         "--card UUID) --reason REASON (--form FILE | --form-sha256 HEX) "
                         "--received DAY --reference-document ID --signature-matches "
                         "[--statement TEXT] [--as rl|mc|holder]", NULL);
    request.card_uuid = common.card_uuid;
    request.serials = common.serials;
    request.n_serials = common.serial_count;
    request.reason = common.reason;
    request.statement = common.statement;
    request.requester_role = common.role;
    request.form_sha256 = sha256;
    return s_call_record (cli, "RecordPaperRevocation", &request.base);
}

//  The challenge's questions, for the operator to ask.
static int
s_print_challenge (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message,
                   const void *args)
{
    (void) reply;
    (void) args;
    const Tessera__V1__PhoneChallenge *challenge = (const Tessera__V1__PhoneChallenge *) message;
    tsr_json_t *json = cli->json ? tsr_json_new () : NULL;
    tsr_json_bool (json, "ok", true);
    tsr_json_str (json, "challenge_id", challenge->challenge_id);
    tsr_json_int (json, "level", challenge->level);
    tsr_json_int (json, "expires_at_unix", challenge->expires_at_unix);
    tsr_json_int (json, "failed_attempts", challenge->failed_attempts);
    if (!cli->json)
        printf ("challenge %s (level %d, %u failed attempts before): ask\n",
                challenge->challenge_id, (int) challenge->level, challenge->failed_attempts);
    for (size_t i = 0; i < challenge->n_questions; i++) {
        char key [24];
        snprintf (key, sizeof key, "question_%u", challenge->questions [i]->question_id);
        tsr_json_str (json, key, challenge->questions [i]->question);
        if (!cli->json)
            printf ("  %2u  %s\n", challenge->questions [i]->question_id,
                    challenge->questions [i]->question);
    }
    char *text = json ? tsr_json_finish (&json) : NULL;
    if (text)
        printf ("%s\n", text);
    free (text);
    return CLI_OK;
}

//  phone-start --caller ID [--holder ID] [--serial HEX]...
static int
s_phone_start (cli_t *cli, int argc, char **argv)
{
    Tessera__V1__StartPhoneChallengeRequest request =
        TESSERA__V1__START_PHONE_CHALLENGE_REQUEST__INIT;
    char *serials [S_SERIALS_MAX];
    for (int i = 0; i + 1 < argc; i += 2) {
        if (streq (argv [i], "--caller"))
            request.caller_person_id = argv [i + 1];
        else if (streq (argv [i], "--holder"))
            request.holder_person_id = argv [i + 1];
        else if (streq (argv [i], "--serial") && request.n_serials < S_SERIALS_MAX)
            serials [request.n_serials++] = argv [i + 1];
        else
            return cli_fail (cli, CLI_USAGE, "unexpected argument", argv [i]);
    }
    if (argc % 2 || !*request.caller_person_id)
        return cli_fail (cli, CLI_USAGE, "phone-start --caller PERSON_ID [--holder PERSON_ID] "
                         "[--serial HEX]...", NULL);
    request.serials = serials;
    static const cli_reply_t expected = {
        &tessera__v1__phone_challenge__descriptor, "the reply is not a PhoneChallenge", NULL,
        s_print_challenge
    };
    return cli_call_print (cli, "revocation", "StartPhoneChallenge", &request.base, NULL, 0,
                           &expected, NULL);
}

//  "ID=TEXT" into answer (text borrowed from line); false when malformed.
static bool
s_answer (char *line, Tessera__V1__SecretAnswer *answer)
{
    char *equals = strchr (line, '=');
    char *end = NULL;
    if (!equals)
        return false;
    *equals = 0;
    unsigned long id = strtoul (line, &end, 10);
    if (!end || *end || id < 1 || id > 100)
        return false;
    tessera__v1__secret_answer__init (answer);
    answer->question_id = (uint32_t) id;
    answer->answer = equals + 1;
    answer->answer [strcspn (answer->answer, "\r\n")] = 0;
    return true;
}

//  Whether the answers passed. A failed challenge is an answer, not an
//  error, but scripts need to tell: exit 1 unless passed.
static int
s_print_result (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message,
                const void *args)
{
    (void) args;
    const Tessera__V1__PhoneChallengeResult *result =
        (const Tessera__V1__PhoneChallengeResult *) message;
    if (cli->json) {
        tsr_json_t *json = tsr_json_new ();
        tsr_json_bool (json, "ok", true);
        tsr_json_str (json, "challenge_id", result->challenge_id);
        tsr_json_bool (json, "passed", result->passed);
        tsr_json_int (json, "failed_attempts", result->failed_attempts);
        tsr_json_int (json, "locked_until_unix", result->locked_until_unix);
        cli_print_json (&json);
    }
    else
        printf ("%s (%u failed attempts)\n", reply->status_message, result->failed_attempts);
    return result->passed ? CLI_OK : CLI_FAILED;
}

//  phone-answer CHALLENGE_ID (--answer ID=TEXT... | --answers-stdin)
static int
s_phone_answer (cli_t *cli, int argc, char **argv)
{
    Tessera__V1__AnswerPhoneChallengeRequest request =
        TESSERA__V1__ANSWER_PHONE_CHALLENGE_REQUEST__INIT;
    Tessera__V1__SecretAnswer answers [S_ANSWERS_MAX], *list [S_ANSWERS_MAX];
    char lines [S_ANSWERS_MAX][S_ANSWER_LINE];
    size_t count = 0;
    int rc = CLI_OK;
    for (int i = 0; rc == CLI_OK && i < argc; i++) {
        if (streq (argv [i], "--answer") && i + 1 < argc && count < S_ANSWERS_MAX) {
            snprintf (lines [count], S_ANSWER_LINE, "%s", argv [++i]);
            if (!s_answer (lines [count], &answers [count]))
                rc = cli_fail (cli, CLI_USAGE, "--answer takes QUESTION_ID=TEXT", NULL);
            count++;
        }
        else
        if (streq (argv [i], "--answers-stdin"))
            while (rc == CLI_OK && count < S_ANSWERS_MAX
                   && fgets (lines [count], S_ANSWER_LINE, stdin)) {
                if (lines [count][0] == '\n')
                    continue;
                if (!s_answer (lines [count], &answers [count]))
                    rc = cli_fail (cli, CLI_USAGE, "each line of stdin is QUESTION_ID=TEXT", NULL);
                count++;
            }
        else
        if (argv [i][0] != '-' && !*request.challenge_id)
            request.challenge_id = argv [i];
        else
            rc = cli_fail (cli, CLI_USAGE, "unexpected argument", argv [i]);
    }
    if (rc == CLI_OK && (!*request.challenge_id || !count))
        rc = cli_fail (cli, CLI_USAGE, "phone-answer CHALLENGE_ID (--answer QUESTION_ID=TEXT... "
                       "| --answers-stdin)", NULL);
    if (rc == CLI_OK) {
        static const cli_reply_t expected = {
            &tessera__v1__phone_challenge_result__descriptor,
            "the reply is not a PhoneChallengeResult", NULL, s_print_result
        };
        for (size_t i = 0; i < count; i++)
            list [i] = &answers [i];
        request.answers = list;
        request.n_answers = count;
        rc = cli_call_print (cli, "revocation", "AnswerPhoneChallenge", &request.base, NULL, 0,
                             &expected, NULL);
    }
    OPENSSL_cleanse (lines, sizeof lines);
    return rc;
}

static int
s_print_channel (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message,
                 const void *args)
{
    (void) reply;
    (void) args;
    const Tessera__V1__PhoneChannelStatus *status =
        (const Tessera__V1__PhoneChannelStatus *) message;
    char until [24];
    s_time (status->locked_until_unix, until);
    if (cli->json) {
        tsr_json_t *json = tsr_json_new ();
        tsr_json_bool (json, "ok", true);
        tsr_json_str (json, "person_id", status->person_id);
        tsr_json_int (json, "failed_attempts", status->failed_attempts);
        tsr_json_int (json, "locked_until_unix", status->locked_until_unix);
        cli_print_json (&json);
    }
    else
        printf ("%s  %u failed attempts, %s%s\n", status->person_id, status->failed_attempts,
                status->locked_until_unix ? "locked until " : "open",
                status->locked_until_unix ? until : "");
    return CLI_OK;
}

//  phone-status PERSON_ID
static int
s_phone_status (cli_t *cli, int argc, char **argv)
{
    if (argc != 1)
        return cli_fail (cli, CLI_USAGE, "phone-status PERSON_ID", NULL);
    static const cli_reply_t expected = {
        &tessera__v1__phone_channel_status__descriptor, "the reply is not a PhoneChannelStatus",
        NULL, s_print_channel
    };
    Tessera__V1__GetPhoneChannelStatusRequest request =
        TESSERA__V1__GET_PHONE_CHANNEL_STATUS_REQUEST__INIT;
    request.person_id = argv [0];
    return cli_call_print (cli, "revocation", "GetPhoneChannelStatus", &request.base, NULL, 0,
                           &expected, NULL);
}

int
cli_revocation (cli_t *cli, int argc, char **argv)
{
    if (argc < 1)
        return cli_fail (cli, CLI_USAGE, "revocation needs a subcommand (list, show, decide, "
                         "phone-start, phone-answer, phone-record, paper, phone-status, "
                         "archive, suspend, resume)", NULL);
    const char *command = argv [0];
    argc--, argv++;
    if (streq (command, "list"))
        return s_list (cli, argc, argv);
    if (streq (command, "show")) {
        Tessera__V1__GetRevocationRequest request = TESSERA__V1__GET_REVOCATION_REQUEST__INIT;
        if (argc != 1)
            return cli_fail (cli, CLI_USAGE, "show REVOCATION_ID", NULL);
        request.revocation_id = argv [0];
        return s_call_record (cli, "GetRevocation", &request.base);
    }
    if (streq (command, "decide"))
        return s_decide (cli, argc, argv);
    if (streq (command, "phone-start"))
        return s_phone_start (cli, argc, argv);
    if (streq (command, "phone-answer"))
        return s_phone_answer (cli, argc, argv);
    if (streq (command, "phone-record"))
        return s_phone_record (cli, argc, argv);
    if (streq (command, "paper"))
        return s_paper (cli, argc, argv);
    if (streq (command, "phone-status"))
        return s_phone_status (cli, argc, argv);
    if (streq (command, "archive"))
        return s_archive (cli, argc, argv);
    if (streq (command, "suspend") || streq (command, "resume"))
        return cli_suspension (cli, streq (command, "resume"), argc, argv);
    return cli_fail (cli, CLI_USAGE, "unknown revocation subcommand", command);
}
