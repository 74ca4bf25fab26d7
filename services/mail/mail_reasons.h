/*  mail_reasons: RFC 5280 revocation reasons as the revocation notice
    words them, in French and English.
*/
#ifndef MAIL_REASONS_H
#define MAIL_REASONS_H

//  reason: a RevocationReason value (ca.proto); language "fr" or "en".
const char *mail_reason_text (int reason, const char *language);

#endif
