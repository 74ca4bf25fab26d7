/*  mail_header: RFC 5322 header fields that nobody can break out of.

    Header injection is made impossible in two ways. Every text that goes
    into a header (names, subjects) is first checked as "text"
    (mail_input.h): a CR, an LF or any other control character is refused,
    never stripped. What passes is then written either as plain ASCII (only
    when it is made of safe characters) or as RFC 2047 encoded words
    (=?UTF-8?B?...?=, base64, at most 75 characters each, folded with CRLF
    SP), so no byte of it can end the line. Addresses are plain ASCII
    local@domain, checked character by character.
*/
#ifndef MAIL_HEADER_H
#define MAIL_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include "mail_buf.h"

#define MAIL_ADDRESS_MAX 254
#define MAIL_NAME_MAX 128               //  display names
#define MAIL_SUBJECT_MAX 200

//  A plain ASCII address local@domain of at most 254 characters: the local
//  part 1..64 of letters, digits and !#$%&'*+/=?^_`{|}~.- without a dot at
//  either end or two in a row; the domain two or more labels of letters,
//  digits and '-' (not at a label's ends), each 1..63.
bool mail_address_valid (const char *address);

//  Appends "Name: value CRLF". value is text (1..max_chars); it is written
//  as is when it is printable ASCII without "=?", else as encoded words.
//  Returns 0, or -1 when value is not header-safe text (nothing written).
int mail_header_text (mail_buf_t *buf, const char *name, const char *value, size_t max_chars);

//  Appends "Name: display <address> CRLF" (display may be empty: then
//  just the address). display is written as is when it is letters, digits
//  and spaces only, else as encoded words. Returns 0, or -1 when the
//  address or the display name is refused.
int mail_header_mailbox (mail_buf_t *buf, const char *name, const char *display,
                         const char *address);

//  Splits "Display Name <local@domain>" or "local@domain" (TSR_SMTP_FROM)
//  into its parts. Returns 0, or -1 when it is neither form or a part is
//  refused.
int mail_mailbox_parse (const char *text, char *display, size_t display_size,
                        char *address, size_t address_size);

#endif
