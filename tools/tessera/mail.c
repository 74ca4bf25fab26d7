/*  tessera mail ...: the mail service's outbox, shipments and acceptances.

    emails      [--state queued|sending|sent|dead-letter] [--template NAME]
                [--person ID]                 e-mails, newest first (all pages)
    email       EMAIL_ID
    requeue     EMAIL_ID --reason TEXT        a dead letter goes again (same
                                              Message-ID); system engineer
    sweep                                     the expiry sweep now
    prepare     --card UUID [--to PERSON_ID]  a card's registered mail
    post        SHIPMENT_ID [--tracking NUMBER] [--note TEXT]
    delivered   SHIPMENT_ID [--at UNIX] [--note TEXT]
    returned    SHIPMENT_ID [--at UNIX] [--note TEXT]
    shipment    SHIPMENT_ID
    shipments   [--card UUID] [--holder ID] [--kind card|pin-mailer]
    pin-mailer  --card UUID --out FILE        the PIN mailer PDF, once (the file
                                              is created 0600 and must not exist)
    accept      --card UUID --acceptance-sha256 HEX --report-sha256 HEX
                [--received UNIX] [--serial HEX]...
                                              a paper acceptance and its PV
    acceptances [--person ID] [--card UUID]

    NAME: one-time-password, batch-awaiting-validation, card-shipped,
    pin-mailer-sent, revocation-confirmed, certificate-expiring,
    renewal-invitation. With --json each record is one JSON object per line;
    enum values are printed by their proto names.
*/
#include "cli.h"
#include "tessera/json.h"
#include "tessera/v1/mail.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_PAGES_MAX 1000

static const char *s_templates [] = {
    NULL, "one-time-password", "batch-awaiting-validation", "card-shipped", "pin-mailer-sent",
    "revocation-confirmed", "certificate-expiring", "renewal-invitation"
};
static const char *s_states [] = { NULL, "queued", "sending", "sent", "dead-letter" };

//  Any message of the mail API as one flat-ish JSON object (nested
//  messages nested, repeated strings as arrays, bytes left out). Caller
//  frees; NULL when out of memory.
static char *
s_json (const ProtobufCMessage *message)
{
    const ProtobufCMessageDescriptor *descriptor = message->descriptor;
    tsr_json_t *json = tsr_json_new ();
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &descriptor->fields [i];
        const char *at = (const char *) message + field->offset;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            if (field->type == PROTOBUF_C_TYPE_STRING) {
                size_t count = *(const size_t *) ((const char *) message
                                                  + field->quantifier_offset);
                char *array = tsr_json_string_array (*(const char *const *const *) at, count);
                if (array)
                    tsr_json_raw (json, field->name, array);
                free (array);
            }
            continue;
        }
        switch (field->type) {
            case PROTOBUF_C_TYPE_STRING:
                tsr_json_str (json, field->name, *(char *const *) at);
                break;
            case PROTOBUF_C_TYPE_BOOL:
                tsr_json_bool (json, field->name, *(const protobuf_c_boolean *) at);
                break;
            case PROTOBUF_C_TYPE_INT64:
                tsr_json_int (json, field->name, *(const int64_t *) at);
                break;
            case PROTOBUF_C_TYPE_UINT64:
                tsr_json_int (json, field->name, (int64_t) *(const uint64_t *) at);
                break;
            case PROTOBUF_C_TYPE_UINT32:
                tsr_json_int (json, field->name, *(const uint32_t *) at);
                break;
            case PROTOBUF_C_TYPE_ENUM: {
                const ProtobufCEnumValue *value = protobuf_c_enum_descriptor_get_value (
                    field->descriptor, *(const int *) at);
                tsr_json_str (json, field->name, value ? value->name : "unknown");
                break;
            }
            case PROTOBUF_C_TYPE_MESSAGE: {
                const ProtobufCMessage *nested = *(ProtobufCMessage *const *) at;
                char *text = nested ? s_json (nested) : NULL;
                if (text)
                    tsr_json_raw (json, field->name, text);
                free (text);
                break;
            }
            default:
                break;
        }
    }
    return tsr_json_finish (&json);
}

//  One record: a JSON line, or "field value" lines for people.
static int
s_print (cli_t *cli, const ProtobufCMessage *message)
{
    char *text = s_json (message);
    if (!text)
        return cli_fail (cli, CLI_FAILED, "out of memory", NULL);
    if (cli->json)
        printf ("%s\n", text);
    else {
        //  {"a":"x","b":1} printed one field per line, as returned.
        for (char *p = text + 1; *p && *p != '}'; ) {
            char *end = p;
            int depth = 0;
            bool quoted = false;
            for (; *end && (quoted || depth || (*end != ',' && *end != '}')); end++) {
                if (*end == '\\' && quoted && end [1])
                    end++;
                else if (*end == '"')
                    quoted = !quoted;
                else if (!quoted && (*end == '{' || *end == '['))
                    depth++;
                else if (!quoted && (*end == '}' || *end == ']'))
                    depth--;
            }
            char *colon = strstr (p, "\":");
            if (colon && colon < end)
                printf ("  %-26.*s %.*s\n", (int) (colon - p - 1), p + 1,
                        (int) (end - colon - 2), colon + 2);
            p = *end == ',' ? end + 1 : end;
        }
        printf ("\n");
    }
    free (text);
    return CLI_OK;
}

//  A reply, after its message.
static int
s_print_reply (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message,
               const void *args)
{
    (void) args;
    if (!cli->json)
        printf ("%s\n", reply->status_message);
    return s_print (cli, message);
}

//  Calls method and prints the reply as reply_descriptor.
static int
s_call_print (cli_t *cli, const char *method, const ProtobufCMessage *request,
              const ProtobufCMessageDescriptor *reply_descriptor)
{
    const cli_reply_t expected = {
        reply_descriptor, "the reply does not decode", method, s_print_reply
    };
    return cli_call_print (cli, "mail", method, request, NULL, 0, &expected, NULL);
}

//  One listed record, for cli_call_pages.
static int
s_print_item (cli_t *cli, const ProtobufCMessage *item, const void *args)
{
    (void) args;
    return s_print (cli, item);
}

//  Every page of a list. The reply's repeated field is its first field,
//  its next page token the second; *page_token is the request's field.
static int
s_list (cli_t *cli, const char *method, ProtobufCMessage *request, char **page_token,
        const ProtobufCMessageDescriptor *reply_descriptor)
{
    const cli_pages_t pages = {
        "mail", method, reply_descriptor, "the reply does not decode", method, S_PAGES_MAX,
        s_print_item, NULL
    };
    return cli_call_pages (cli, &pages, request, page_token);
}

static int
s_emails (cli_t *cli, int argc, char **argv)
{
    Tessera__V1__ListEmailsRequest request = TESSERA__V1__LIST_EMAILS_REQUEST__INIT;
    for (int i = 0; i < argc; i++) {
        const char *value = i + 1 < argc ? argv [i + 1] : NULL;
        if (!value)
            return cli_fail (cli, CLI_USAGE, "missing value", argv [i]);
        if (streq (argv [i], "--state")) {
            if (!(request.state = cli_lookup (s_states, 5, value)))
                return cli_fail (cli, CLI_USAGE, "state: queued, sending, sent or dead-letter",
                                 value);
        }
        else if (streq (argv [i], "--template")) {
            if (!(request.email_template = cli_lookup (s_templates, 8, value)))
                return cli_fail (cli, CLI_USAGE, "unknown template", value);
        }
        else if (streq (argv [i], "--person"))
            request.recipient_person_id = (char *) value;
        else
            return cli_fail (cli, CLI_USAGE, "emails [--state S] [--template NAME] [--person ID]",
                             argv [i]);
        i++;
    }
    return s_list (cli, "ListEmails", &request.base, &request.page_token,
                   &tessera__v1__list_emails_reply__descriptor);
}

//  A command whose only argument is an id.
static const char *
s_one_id (int argc, char **argv)
{
    return argc >= 1 && argv [0][0] != '-' ? argv [0] : NULL;
}

static int
s_requeue (cli_t *cli, int argc, char **argv)
{
    Tessera__V1__RequeueEmailRequest request = TESSERA__V1__REQUEUE_EMAIL_REQUEST__INIT;
    const char *id = s_one_id (argc, argv);
    if (id && argc == 3 && streq (argv [1], "--reason"))
        request.reason = argv [2];
    if (!id || !*request.reason)
        return cli_fail (cli, CLI_USAGE, "requeue EMAIL_ID --reason TEXT", NULL);
    request.email_id = (char *) id;
    return s_call_print (cli, "RequeueEmail", &request.base, &tessera__v1__email__descriptor);
}

//  post, delivered, returned.
static int
s_move (cli_t *cli, int argc, char **argv, Tessera__V1__ShipmentState state)
{
    Tessera__V1__SetShipmentStateRequest request = TESSERA__V1__SET_SHIPMENT_STATE_REQUEST__INIT;
    request.state = state;
    const char *id = s_one_id (argc, argv);
    for (int i = 1; id && i < argc; i += 2) {
        const char *value = i + 1 < argc ? argv [i + 1] : NULL;
        char *end = NULL;
        if (!value)
            return cli_fail (cli, CLI_USAGE, "missing value", argv [i]);
        if (streq (argv [i], "--tracking") && state == TESSERA__V1__SHIPMENT_STATE__SHIPMENT_STATE_POSTED)
            request.tracking_number = (char *) value;
        else if (streq (argv [i], "--note"))
            request.note = (char *) value;
        else if (streq (argv [i], "--at") && state != TESSERA__V1__SHIPMENT_STATE__SHIPMENT_STATE_POSTED
             &&  (errno = 0, request.occurred_at_unix = strtoll (value, &end, 10), !errno && !*end))
            ;
        else
            return cli_fail (cli, CLI_USAGE, "unexpected argument", argv [i]);
    }
    if (!id)
        return cli_fail (cli, CLI_USAGE, "SHIPMENT_ID [--tracking N] [--at UNIX] [--note TEXT]",
                         NULL);
    request.shipment_id = (char *) id;
    return s_call_print (cli, "SetShipmentState", &request.base,
                         &tessera__v1__shipment__descriptor);
}

static int
s_shipments (cli_t *cli, int argc, char **argv)
{
    Tessera__V1__ListShipmentsRequest request = TESSERA__V1__LIST_SHIPMENTS_REQUEST__INIT;
    for (int i = 0; i < argc; i += 2) {
        const char *value = i + 1 < argc ? argv [i + 1] : NULL;
        if (!value)
            return cli_fail (cli, CLI_USAGE, "missing value", argv [i]);
        if (streq (argv [i], "--card"))
            request.card_uuid = (char *) value;
        else if (streq (argv [i], "--holder"))
            request.holder_person_id = (char *) value;
        else if (streq (argv [i], "--kind") && (streq (value, "card") || streq (value, "pin-mailer")))
            request.kind = streq (value, "card") ? TESSERA__V1__SHIPMENT_KIND__SHIPMENT_KIND_CARD
                                                 : TESSERA__V1__SHIPMENT_KIND__SHIPMENT_KIND_PIN_MAILER;
        else
            return cli_fail (cli, CLI_USAGE, "shipments [--card UUID] [--holder ID] "
                             "[--kind card|pin-mailer]", argv [i]);
    }
    return s_list (cli, "ListShipments", &request.base, &request.page_token,
                   &tessera__v1__list_shipments_reply__descriptor);
}

//  Where s_write_pdf writes.
typedef struct {
    int fd;
    const char *out;
} s_pdf_t;

//  The PIN mailer's PDF into the open file, then its shipment; the PDF is
//  wiped after.
static int
s_write_pdf (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message,
             const void *args)
{
    (void) reply;
    const s_pdf_t *pdf = args;
    Tessera__V1__PinMailerDocument *document = (Tessera__V1__PinMailerDocument *) message;
    int rc = CLI_OK;
    if (!document->shipment)
        rc = cli_fail (cli, CLI_FAILED, "the reply is not a PinMailerDocument", NULL);
    else {
        size_t done = 0;
        while (done < document->pdf.len) {
            ssize_t written = write (pdf->fd, document->pdf.data + done,
                                     document->pdf.len - done);
            if (written <= 0)
                break;
            done += (size_t) written;
        }
        if (done != document->pdf.len || fsync (pdf->fd))
            rc = cli_fail (cli, CLI_FAILED, "cannot write the PDF: it is lost; have perso "
                           "reissue the activation code", pdf->out);
        else
            rc = s_print (cli, &document->shipment->base);
    }
    OPENSSL_cleanse (document->pdf.data, document->pdf.len);
    return rc;
}

//  The PDF into a new file (0600), never over an existing one.
static int
s_pin_mailer (cli_t *cli, int argc, char **argv)
{
    Tessera__V1__ReleasePinMailerRequest request = TESSERA__V1__RELEASE_PIN_MAILER_REQUEST__INIT;
    const char *card = "", *out = NULL;
    const char *names [] = { "--card", "--out", NULL };
    const char **slots [] = { &card, &out };
    //  A last word without its value is the usage error below.
    if (cli_options (cli, argc - argc % 2, argv, names, slots, NULL) != CLI_OK)
        return CLI_USAGE;
    if (!*card || !out || argc != 4)
        return cli_fail (cli, CLI_USAGE, "pin-mailer --card UUID --out FILE", NULL);
    request.card_uuid = (char *) card;
    int fd = open (out, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return cli_fail (cli, CLI_FAILED, "cannot create the file (it must not exist)", out);
    static const cli_reply_t expected = {
        &tessera__v1__pin_mailer_document__descriptor, "the reply is not a PinMailerDocument",
        NULL, s_write_pdf
    };
    const s_pdf_t pdf = { fd, out };
    int rc = cli_call_print (cli, "mail", "ReleasePinMailer", &request.base, NULL, 0, &expected,
                             &pdf);
    if (close (fd) == 0 && rc != CLI_OK)
        unlink (out);
    return rc;
}

static int
s_accept (cli_t *cli, int argc, char **argv)
{
    Tessera__V1__RecordAcceptanceRequest request = TESSERA__V1__RECORD_ACCEPTANCE_REQUEST__INIT;
    request.channel = TESSERA__V1__ACCEPTANCE_CHANNEL__ACCEPTANCE_CHANNEL_PAPER;
    char *serials [16];
    for (int i = 0; i < argc; i += 2) {
        const char *value = i + 1 < argc ? argv [i + 1] : NULL;
        char *end = NULL;
        if (!value)
            return cli_fail (cli, CLI_USAGE, "missing value", argv [i]);
        if (streq (argv [i], "--card"))
            request.card_uuid = (char *) value;
        else if (streq (argv [i], "--acceptance-sha256"))
            request.signed_acceptance_sha256 = (char *) value;
        else if (streq (argv [i], "--report-sha256"))
            request.handover_report_sha256 = (char *) value;
        else if (streq (argv [i], "--serial") && request.n_serials < 16)
            serials [request.n_serials++] = (char *) value;
        else if (streq (argv [i], "--received")
             &&  (errno = 0, request.received_unix = strtoll (value, &end, 10), !errno && !*end))
            ;
        else
            return cli_fail (cli, CLI_USAGE, "unexpected argument", argv [i]);
    }
    request.serials = serials;
    if (!*request.card_uuid)
        return cli_fail (cli, CLI_USAGE, "accept --card UUID --acceptance-sha256 HEX "
                         "--report-sha256 HEX [--received UNIX] [--serial HEX]...", NULL);
    return s_call_print (cli, "RecordAcceptance", &request.base,
                         &tessera__v1__acceptance__descriptor);
}

int
cli_mail (cli_t *cli, int argc, char **argv)
{
    if (argc < 1)
        return cli_fail (cli, CLI_USAGE, "mail needs a subcommand (emails, email, requeue, sweep, "
                         "prepare, post, delivered, returned, shipment, shipments, pin-mailer, "
                         "accept, acceptances)", NULL);
    const char *command = argv [0];
    argc--, argv++;
    const char *id = s_one_id (argc, argv);
    if (streq (command, "emails"))
        return s_emails (cli, argc, argv);
    if (streq (command, "email") && id && argc == 1) {
        Tessera__V1__GetEmailRequest request = TESSERA__V1__GET_EMAIL_REQUEST__INIT;
        request.email_id = (char *) id;
        return s_call_print (cli, "GetEmail", &request.base, &tessera__v1__email__descriptor);
    }
    if (streq (command, "requeue"))
        return s_requeue (cli, argc, argv);
    if (streq (command, "sweep") && argc == 0) {
        Tessera__V1__RunExpirySweepRequest request = TESSERA__V1__RUN_EXPIRY_SWEEP_REQUEST__INIT;
        return s_call_print (cli, "RunExpirySweep", &request.base,
                             &tessera__v1__run_expiry_sweep_reply__descriptor);
    }
    if (streq (command, "prepare")) {
        Tessera__V1__PrepareShipmentRequest request = TESSERA__V1__PREPARE_SHIPMENT_REQUEST__INIT;
        const char *card = "", *to = "";
        const char *names [] = { "--card", "--to", NULL };
        const char **slots [] = { &card, &to };
        if (cli_options (cli, argc - argc % 2, argv, names, slots, NULL) != CLI_OK)
            return CLI_USAGE;
        if (!*card || argc % 2)
            return cli_fail (cli, CLI_USAGE, "prepare --card UUID [--to PERSON_ID]", NULL);
        request.card_uuid = (char *) card;
        request.recipient_person_id = (char *) to;
        return s_call_print (cli, "PrepareShipment", &request.base,
                             &tessera__v1__shipment__descriptor);
    }
    if (streq (command, "post"))
        return s_move (cli, argc, argv, TESSERA__V1__SHIPMENT_STATE__SHIPMENT_STATE_POSTED);
    if (streq (command, "delivered"))
        return s_move (cli, argc, argv, TESSERA__V1__SHIPMENT_STATE__SHIPMENT_STATE_DELIVERED);
    if (streq (command, "returned"))
        return s_move (cli, argc, argv, TESSERA__V1__SHIPMENT_STATE__SHIPMENT_STATE_RETURNED);
    if (streq (command, "shipment") && id && argc == 1) {
        Tessera__V1__GetShipmentRequest request = TESSERA__V1__GET_SHIPMENT_REQUEST__INIT;
        request.shipment_id = (char *) id;
        return s_call_print (cli, "GetShipment", &request.base, &tessera__v1__shipment__descriptor);
    }
    if (streq (command, "shipments"))
        return s_shipments (cli, argc, argv);
    if (streq (command, "pin-mailer"))
        return s_pin_mailer (cli, argc, argv);
    if (streq (command, "accept"))
        return s_accept (cli, argc, argv);
    if (streq (command, "acceptances")) {
        Tessera__V1__ListAcceptancesRequest request = TESSERA__V1__LIST_ACCEPTANCES_REQUEST__INIT;
        const char *person = "", *card = "";
        const char *names [] = { "--person", "--card", NULL };
        const char **slots [] = { &person, &card };
        if (cli_options (cli, argc - argc % 2, argv, names, slots, NULL) != CLI_OK)
            return CLI_USAGE;
        if (argc % 2)
            return cli_fail (cli, CLI_USAGE, "acceptances [--person ID] [--card UUID]", NULL);
        request.person_id = (char *) person;
        request.card_uuid = (char *) card;
        return s_list (cli, "ListAcceptances", &request.base, &request.page_token,
                       &tessera__v1__list_acceptances_reply__descriptor);
    }
    return cli_fail (cli, CLI_USAGE, "unknown or incomplete mail subcommand", command);
}
