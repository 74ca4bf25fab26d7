/*  Fuzz target: mail's request payloads (fuzz_payload.h), each through the
    handler's own pure first step where it has one.

    A first byte of 0xFF instead makes the rest enrollment's Person, as mail
    reads it from GetPerson's reply before printing an envelope or a PIN
    mailer: mail_postal_check must accept it whole or refuse it naming the
    field, and what it accepts fits the envelope's window.
*/
#include "fuzz_payload.h"
#include "mail_address.h"
#include "mail_handlers.h"

#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static tsr_status_t
s_prepare (tsr_call_t *call, const ProtobufCMessage *request)
{
    return mail_prepare_shipment_check (call, (const Tessera__V1__PrepareShipmentRequest *) request);
}

static tsr_status_t
s_shipment_state (tsr_call_t *call, const ProtobufCMessage *request)
{
    return mail_shipment_state_check (call, (const Tessera__V1__SetShipmentStateRequest *) request);
}

static tsr_status_t
s_acceptance (tsr_call_t *call, const ProtobufCMessage *request)
{
    return mail_acceptance_check (call, (const Tessera__V1__RecordAcceptanceRequest *) request,
                                  1800000000);
}

static const fuzz_payload_check_t s_checks [] = {
    { "PrepareShipment", &tessera__v1__prepare_shipment_request__descriptor, s_prepare },
    { "SetShipmentState", &tessera__v1__set_shipment_state_request__descriptor, s_shipment_state },
    { "RecordAcceptance", &tessera__v1__record_acceptance_request__descriptor, s_acceptance },
};

static void
s_person (const uint8_t *data, size_t size)
{
    if (!tsr_payload_strings_clean (&tessera__v1__person__descriptor, data, size))
        return;     //  the peer client refuses these as tsr_call_unpack does
    Tessera__V1__Person *person = tessera__v1__person__unpack (NULL, size, data);
    if (!person)
        return;
    mail_postal_t postal;
    char err [200] = "";
    if (mail_postal_check (person, &postal, err, sizeof err) == 0) {
        if (strlen (postal.name) >= sizeof postal.name || strlen (postal.lines) >= sizeof postal.lines)
            __builtin_trap ();
    }
    else
    if (!*err || !memchr (err, 0, sizeof err))
        __builtin_trap ();
    tessera__v1__person__free_unpacked (person, NULL);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size >= 1 && data [0] == 0xFF) {
        s_person (data + 1, size - 1);
        return 0;
    }
    fuzz_payload_run (&tessera__v1__mail__descriptor, s_checks,
                      sizeof s_checks / sizeof s_checks [0], data, size);
    return 0;
}
