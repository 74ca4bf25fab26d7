/*  mail_reasons: revocation reasons in words (see mail_reasons.h).
*/
#include "mail_reasons.h"

#include <string.h>

typedef struct {
    const char *fr;
    const char *en;
} s_words_t;

//  Indexed by RevocationReason (the RFC 5280 code plus one).
static const s_words_t s_reasons [] = {
    { "non précisé", "not given" },
    { "non précisé", "unspecified" },
    { "compromission de la clé", "key compromise" },
    { "compromission de l'autorité", "CA compromise" },
    { "changement d'affiliation", "affiliation changed" },
    { "certificat remplacé", "superseded" },
    { "cessation d'activité", "cessation of operation" },
    { "suspension", "certificate hold" },
    { "non précisé", "not given" },
    { "levée de suspension", "removed from the CRL" },
    { "privilège retiré", "privilege withdrawn" },
    { "compromission de l'autorité d'attributs", "AA compromise" },
};

const char *
mail_reason_text (int reason, const char *language)
{
    int count = (int) (sizeof s_reasons / sizeof s_reasons [0]);
    const s_words_t *words = &s_reasons [reason >= 0 && reason < count ? reason : 0];
    return language && strcmp (language, "en") == 0 ? words->en : words->fr;
}
