/*  The tessera command-line client: shared options and the commands' entry
    points. Each command prints a table for people or, with --json, one JSON
    object per line for scripts; errors go to stderr with a non-zero exit.
*/
#ifndef TSR_CLI_H
#define TSR_CLI_H

#include <stdbool.h>
#include "tessera/bus.h"
#include "tessera/config.h"
#include "tessera/json.h"

enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2 };

typedef struct {
    bool json;
    tsr_config_t *config;
} cli_t;

//  Prints a one-line error (and the JSON form with --json) and returns code.
int cli_fail (cli_t *cli, int code, const char *message, const char *detail);

//  Finishes *json_p and prints it as one line ("{}" if it cannot be built).
void cli_print_json (tsr_json_t **json_p);

//  The same, but a JSON that cannot be built is an error: "out of memory"
//  (CLI_FAILED). CLI_OK when printed.
int cli_print_json_checked (cli_t *cli, tsr_json_t **json_p);


//  Calls method on service with request (packed here). On CLI_OK,
//  *reply_p is the OK reply (caller frees with tsr_envelope_free);
//  otherwise the error was printed. timeout_ms 0: TSR_TIMEOUT_MS.
int cli_call (cli_t *cli, const char *service, const char *method, const ProtobufCMessage *request,
              const char *request_id, long timeout_ms, tsr_envelope_t **reply_p,
              int64_t *elapsed_us);

//  Prints an OK reply of cli_call_print, decoded as message (freed after,
//  so it may be wiped here); args is the caller's. Returns a CLI_ code.
typedef int (cli_print_fn) (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message,
                            const void *args);

//  What cli_call_print decodes a reply as, the error when it does not
//  decode, and what prints it.
typedef struct {
    const ProtobufCMessageDescriptor *descriptor;
    const char *undecoded;          //  the error when the reply does not decode
    const char *undecoded_detail;   //  and its detail (NULL: none)
    cli_print_fn *print;
} cli_reply_t;

//  cli_call, then, when it answered OK, the reply decoded as
//  expected->descriptor and printed by expected->print (message, args);
//  the reply is wiped and freed after. Returns cli_call's code, CLI_FAILED
//  when the reply does not decode (expected->undecoded printed), else
//  print's.
int cli_call_print (cli_t *cli, const char *service, const char *method,
                    const ProtobufCMessage *request, const char *request_id, long timeout_ms,
                    const cli_reply_t *expected, const void *args);

//  Prints one item of a listed page (an element of the reply's repeated
//  field); args is the caller's. Returns a CLI_ code.
typedef int (cli_item_fn) (cli_t *cli, const ProtobufCMessage *item, const void *args);

//  A list that comes in pages: its reply holds the items as its first
//  field (repeated) and the next page's token as its second ("" on the
//  last page).
typedef struct {
    const char *service;
    const char *method;
    const ProtobufCMessageDescriptor *reply_descriptor;
    const char *undecoded;          //  the error when a page does not decode
    const char *undecoded_detail;   //  and its detail (NULL: none)
    int pages_max;                  //  0: as many as the service gives
    cli_item_fn *print;
    const void *args;               //  print's
} cli_pages_t;

//  Every page of pages: cli_call with request, each time with the last
//  page's token in *page_token (the request's field, "" after), and
//  pages->print on each item. A token that does not move is an error.
//  Returns cli_call's code, else print's or CLI_FAILED.
int cli_call_pages (cli_t *cli, const cli_pages_t *pages, ProtobufCMessage *request,
                    char **page_token);

//  A sub-command's arguments (options.c): each "--NAME VALUE" whose NAME
//  is in names (NULL-terminated) sets the slot of the same index, and, when
//  positional is not NULL, the one argument that does not start with '-'
//  sets *positional. Slots not named keep their values. Anything else, a
//  NAME last without its value included, is "unexpected argument"
//  (CLI_USAGE).
int cli_options (cli_t *cli, int argc, char **argv, const char *const names [],
                 const char **slots [], const char **positional);

//  The index of name in names [1..count-1] (NULL entries skipped): an
//  option's value into the enum it names. 0 when it is none of them.
int cli_lookup (const char *const *names, int count, const char *name);

//  The whole of a small file (files.c) in a buffer of max bytes (caller
//  frees; wipes max bytes first if it holds a secret), *size its length.
//  NULL when it cannot be read, is empty or is longer than max.
uint8_t *cli_read_file (const char *path, size_t max, size_t *size);

int cli_keygen (cli_t *cli, int argc, char **argv);
int cli_ping (cli_t *cli, int argc, char **argv);
int cli_audit (cli_t *cli, int argc, char **argv);
int cli_ca (cli_t *cli, int argc, char **argv);
int cli_operator (cli_t *cli, int argc, char **argv);
int cli_publisher (cli_t *cli, int argc, char **argv);
int cli_mail (cli_t *cli, int argc, char **argv);
int cli_revocation (cli_t *cli, int argc, char **argv);
int cli_perso (cli_t *cli, int argc, char **argv);
//  enrollment renew|replace (enrollment.c).
int cli_enrollment (cli_t *cli, int argc, char **argv);
//  perso puk-challenge | puk-release | change-puk (perso_puk.c).
int cli_perso_puk (cli_t *cli, const char *command, int argc, char **argv);
//  perso recovery-* | escrowed-keys (perso_recovery.c).
int cli_perso_recovery (cli_t *cli, const char *command, int argc, char **argv);
//  revocation suspend|resume (suspension.c).
int cli_suspension (cli_t *cli, bool resume, int argc, char **argv);
int cli_card (cli_t *cli, int argc, char **argv);

#endif
