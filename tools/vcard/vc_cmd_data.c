/*  GET DATA and PUT DATA (SP 800-73-4 3.1.2 and 3.3.2): data objects named
    by a 5C tag list of one id. The card stores each object as the TLV GET
    DATA gives back (53 L ... for most, 7E L ... for Discovery, 7F61 for the
    biometric group template); PUT DATA of an empty 53 deletes one.
*/
#include "vc_card_internal.h"
#include "vc_tlv.h"

//  Objects whose reading needs the PIN (SP 800-73-4 Table 3): fingerprints,
//  facial image, printed information, iris images.
static bool
s_needs_pin (uint32_t id)
{
    return id == 0x5FC103 || id == 0x5FC108 || id == 0x5FC109 || id == 0x5FC121;
}

//  Ids a host may write: the PIV range 5FC1xx, the vendor range 5FFFxx
//  (yubico-piv-tool keeps its admin data there), Discovery and BIT group.
static bool
s_writable (uint32_t id)
{
    return (id >= 0x5FC101 && id <= 0x5FC1FF) || (id >= 0x5FFF00 && id <= 0x5FFFFF)
        || id == 0x7E || id == 0x7F61;
}

//  Reads the id from a 5C TLV of 1 to 3 bytes.
static int
s_object_id (const vc_tlv_t *tag_list, uint32_t *id)
{
    if (tag_list->tag != 0x5C || tag_list->len < 1 || tag_list->len > 3)
        return -1;
    uint32_t value = 0;
    for (size_t i = 0; i < tag_list->len; i++)
        value = (value << 8) | tag_list->value [i];
    *id = value;
    return 0;
}

uint16_t
vc_cmd_get_data (vc_card_t *card, const vc_apdu_t *apdu, const uint8_t *data, size_t data_len,
                 vc_buf_t *out)
{
    if (apdu->p1 != 0x3F || apdu->p2 != 0xFF)
        return VC_SW_INCORRECT_P1P2;
    vc_tlv_t tag_list;
    uint32_t id;
    if (vc_tlv_single (data, data_len, &tag_list) || s_object_id (&tag_list, &id))
        return VC_SW_WRONG_DATA;
    const vc_object_t *object = vc_state_object (card->state, id);
    if (!object)
        return VC_SW_NOT_FOUND;
    if (s_needs_pin (id) && !card->pin_verified)
        return VC_SW_SECURITY_STATUS;
    vc_buf_put (out, object->body, object->body_len);
    return VC_SW_OK;
}

uint16_t
vc_cmd_put_data (vc_card_t *card, const vc_apdu_t *apdu, const uint8_t *data, size_t data_len,
                 vc_buf_t *out)
{
    (void) out;
    if (apdu->p1 != 0x3F || apdu->p2 != 0xFF)
        return VC_SW_INCORRECT_P1P2;
    if (!card->mgmt_authenticated)
        return VC_SW_SECURITY_STATUS;
    size_t pos = 0;
    vc_tlv_t first, body;
    uint32_t id;
    if (vc_tlv_next (data, data_len, &pos, &first))
        return VC_SW_WRONG_DATA;
    if (first.tag == 0x7E || first.tag == 0x7F61) {
        //  Discovery and BIT group template come without a tag list.
        id = first.tag;
        body = first;
    }
    else {
        if (s_object_id (&first, &id) || vc_tlv_next (data, data_len, &pos, &body)
        ||  body.tag != 0x53)
            return VC_SW_WRONG_DATA;
    }
    if (pos != data_len)
        return VC_SW_WRONG_DATA;
    if (!s_writable (id))
        return VC_SW_NOT_FOUND;
    //  The object's own content must be well-formed BER-TLV, as every
    //  PIV container is; a host that writes garbage hears about it now.
    if (vc_tlv_check (body.value, body.len))
        return VC_SW_WRONG_DATA;
    const uint8_t *stored = body.value - (body.total - body.len);
    if (vc_state_put_object (card->state, id, stored, body.len ? body.total : 0))
        return VC_SW_NOT_ENOUGH_MEMORY;
    if (vc_card_save (card))
        return VC_SW_MEMORY_FAILURE;
    return VC_SW_OK;
}
