/*  tessera perso puk-challenge | puk-release | change-puk: PIN unblock
    by phone, and the card contact that changes a released PUK
    (docs/perso.md, "PIN unblock").

    puk-challenge CARD_UUID --person ID
             a service-desk operator on the phone: the questions to read to
             the caller (picked at random by perso)
    puk-release CARD_UUID --person ID --challenge ID
             the caller's answers on stdin, one QUESTION_ID=TEXT a line (off
             the command line); prints the card's PUK once when they all
             match; exit 1 when they do not (counted toward the lockout)
    change-puk CARD_UUID --reader NAME
             a perso operator, the card in the reader: a released PUK is
             changed on the card
*/
#include "cli.h"
#include "tessera/json.h"
#include "tessera/v1/perso.pb-c.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ANSWERS_MAX 5
#define S_LINE_MAX 1024
#define S_SLOW_MS 60000

typedef struct {
    const char *card_uuid, *person, *challenge, *reader;
} s_args_t;

static int
s_args (cli_t *cli, int argc, char **argv, s_args_t *args)
{
    memset (args, 0, sizeof *args);
    const char *names [] = { "--person", "--challenge", "--reader", NULL };
    const char **slots [] = { &args->person, &args->challenge, &args->reader };
    return cli_options (cli, argc, argv, names, slots, &args->card_uuid);
}

//  The challenge's questions (args: the s_args_t, for the person).
static int
s_show_challenge (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message,
                  const void *args_p)
{
    (void) reply;
    const s_args_t *args = args_p;
    const Tessera__V1__PukChallenge *challenge = (const Tessera__V1__PukChallenge *) message;
    if (cli->json) {
        tsr_json_t *json = tsr_json_new ();
        tsr_json_bool (json, "ok", true);
        tsr_json_str (json, "challenge_id", challenge->challenge_id);
        tsr_json_str (json, "card_uuid", challenge->card_uuid);
        tsr_json_int (json, "expires_at_unix", challenge->expires_at_unix);
        tsr_json_int (json, "failed_attempts", challenge->failed_attempts);
        tsr_json_int (json, "attempts_left", challenge->attempts_left);
        tsr_json_int (json, "questions_asked", (int64_t) challenge->n_questions);
        cli_print_json (&json);
        //  Then each question on a line of its own.
        for (size_t i = 0; i < challenge->n_questions; i++) {
            tsr_json_t *question = tsr_json_new ();
            tsr_json_int (question, "question_id", challenge->questions [i]->question_id);
            tsr_json_str (question, "question", challenge->questions [i]->question);
            cli_print_json (&question);
        }
    }
    else {
        printf ("challenge %s (answer with `tessera perso puk-release %s --person %s "
                "--challenge %s`, answers on stdin as QUESTION_ID=TEXT)\n",
                challenge->challenge_id, challenge->card_uuid, args->person,
                challenge->challenge_id);
        for (size_t i = 0; i < challenge->n_questions; i++)
            printf ("  %u  %s\n", challenge->questions [i]->question_id,
                    challenge->questions [i]->question);
        printf ("%u wrong answer sets so far, %u left before releases lock\n",
                challenge->failed_attempts, challenge->attempts_left);
    }
    return CLI_OK;
}

static int
s_challenge (cli_t *cli, const s_args_t *args)
{
    if (!args->card_uuid || !args->person)
        return cli_fail (cli, CLI_USAGE, "puk-challenge CARD_UUID --person PERSON_ID", NULL);
    static const cli_reply_t expected = {
        &tessera__v1__puk_challenge__descriptor, "the reply is not a PukChallenge", NULL,
        s_show_challenge
    };
    Tessera__V1__StartPukReleaseRequest request = TESSERA__V1__START_PUK_RELEASE_REQUEST__INIT;
    request.card_uuid = (char *) args->card_uuid;
    request.person_id = (char *) args->person;
    return cli_call_print (cli, "perso", "StartPukRelease", &request.base, NULL, 0, &expected,
                           args);
}

//  "ID=TEXT" into answer (text borrowed from line); false when malformed.
static bool
s_parse_answer (char *line, Tessera__V1__SecretAnswer *answer)
{
    line [strcspn (line, "\r\n")] = 0;
    char *equals = strchr (line, '='), *end = NULL;
    if (!equals || equals == line)
        return false;
    *equals = 0;
    unsigned long id = strtoul (line, &end, 10);
    tessera__v1__secret_answer__init (answer);
    answer->question_id = (uint32_t) id;
    answer->answer = equals + 1;
    return end && !*end && id >= 1 && id <= 100;
}

static int
s_show_release (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message,
                const void *args)
{
    (void) args;
    Tessera__V1__ReleasePukReply *result = (Tessera__V1__ReleasePukReply *) message;
    if (cli->json) {
        tsr_json_t *json = tsr_json_new ();
        tsr_json_bool (json, "ok", true);
        tsr_json_bool (json, "released", result->released);
        tsr_json_str (json, "card_uuid", result->card_uuid);
        tsr_json_str (json, "puk", result->puk);
        tsr_json_int (json, "puk_version", result->puk_version);
        tsr_json_int (json, "failed_attempts", result->failed_attempts);
        tsr_json_int (json, "attempts_left", result->attempts_left);
        tsr_json_int (json, "locked_until_unix", result->locked_until_unix);
        cli_print_json (&json);
    }
    else
    if (result->released)
        printf ("PUK of card %s: %s\nRead it to the holder once: with it their card software "
                "unblocks the PIN and sets a new one. It changes when the card bureau next "
                "meets the card.\n", result->card_uuid, result->puk);
    else
        printf ("%s (%u wrong answer sets, %u left)\n", reply->status_message,
                result->failed_attempts, result->attempts_left);
    //  Wrong answers are an answer, not an error, but scripts must tell.
    int rc = result->released ? CLI_OK : CLI_FAILED;
    if (result->puk)
        OPENSSL_cleanse (result->puk, strlen (result->puk));
    return rc;
}

static int
s_release (cli_t *cli, const s_args_t *args)
{
    if (!args->card_uuid || !args->person || !args->challenge)
        return cli_fail (cli, CLI_USAGE, "puk-release CARD_UUID --person PERSON_ID --challenge ID "
                         "(answers on stdin, one QUESTION_ID=TEXT a line)", NULL);
    Tessera__V1__ReleasePukRequest request = TESSERA__V1__RELEASE_PUK_REQUEST__INIT;
    Tessera__V1__SecretAnswer answers [S_ANSWERS_MAX], *list [S_ANSWERS_MAX];
    char lines [S_ANSWERS_MAX][S_LINE_MAX];
    size_t count = 0;
    int rc = CLI_OK;
    while (rc == CLI_OK && count < S_ANSWERS_MAX && fgets (lines [count], S_LINE_MAX, stdin)) {
        if (lines [count][0] == '\n')
            continue;
        if (!s_parse_answer (lines [count], &answers [count]))
            rc = cli_fail (cli, CLI_USAGE, "each line of stdin is QUESTION_ID=TEXT", NULL);
        list [count] = &answers [count];
        count++;
    }
    if (rc == CLI_OK && !count)
        rc = cli_fail (cli, CLI_USAGE, "no answers on stdin (one QUESTION_ID=TEXT a line)", NULL);
    if (rc == CLI_OK) {
        request.challenge_id = (char *) args->challenge;
        request.card_uuid = (char *) args->card_uuid;
        request.person_id = (char *) args->person;
        request.answers = list;
        request.n_answers = count;
        //  Its reply is sent once: a retry after a slow answer would be
        //  refused, so this call waits longer than the others.
        static const cli_reply_t expected = {
            &tessera__v1__release_puk_reply__descriptor, "the reply is not a ReleasePukReply",
            NULL, s_show_release
        };
        rc = cli_call_print (cli, "perso", "ReleasePuk", &request.base, NULL, S_SLOW_MS,
                             &expected, NULL);
    }
    OPENSSL_cleanse (lines, sizeof lines);
    return rc;
}

static int
s_show_change (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message,
               const void *args)
{
    (void) args;
    const Tessera__V1__ChangePukReply *result = (const Tessera__V1__ChangePukReply *) message;
    if (cli->json) {
        tsr_json_t *json = tsr_json_new ();
        tsr_json_bool (json, "ok", true);
        tsr_json_str (json, "card_uuid", result->card_uuid);
        tsr_json_bool (json, "changed", result->changed);
        tsr_json_int (json, "puk_version", result->puk_version);
        cli_print_json (&json);
    }
    else
        printf ("%s (card %s, PUK version %u)\n", reply->status_message, result->card_uuid,
                result->puk_version);
    return CLI_OK;
}

static int
s_change (cli_t *cli, const s_args_t *args)
{
    if (!args->card_uuid || !args->reader)
        return cli_fail (cli, CLI_USAGE, "change-puk CARD_UUID --reader NAME", NULL);
    static const cli_reply_t expected = {
        &tessera__v1__change_puk_reply__descriptor, "the reply is not a ChangePukReply", NULL,
        s_show_change
    };
    Tessera__V1__ChangePukRequest request = TESSERA__V1__CHANGE_PUK_REQUEST__INIT;
    request.card_uuid = (char *) args->card_uuid;
    request.reader_name = (char *) args->reader;
    //  The card may be a while in the reader's hands.
    return cli_call_print (cli, "perso", "ChangePuk", &request.base, NULL, S_SLOW_MS, &expected,
                           NULL);
}

int
cli_perso_puk (cli_t *cli, const char *command, int argc, char **argv)
{
    s_args_t args;
    if (s_args (cli, argc, argv, &args) != CLI_OK)
        return CLI_USAGE;
    if (streq (command, "puk-challenge"))
        return s_challenge (cli, &args);
    if (streq (command, "puk-release"))
        return s_release (cli, &args);
    return s_change (cli, &args);
}
