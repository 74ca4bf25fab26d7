/*  portal_i18n: the catalogue and language choice (see portal_i18n.h).
*/
#include "portal_i18n.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct {
    const char *key;
    const char *fr;
    const char *en;
} s_text_t;

static const s_text_t s_texts [] = {
    { "portal_name", "Portail du porteur", "Holder portal" },
    { "footer", "tessera — autorité de certification. Ne communiquez jamais votre mot de passe ni votre code d'activation.",
      "tessera — certification authority. Never share your password or your activation code." },
    { "language", "Langue", "Language" },
    { "nav_cards", "Mes cartes", "My cards" },
    { "nav_password", "Mot de passe", "Password" },
    { "nav_questions", "Questions secrètes", "Secret questions" },
    { "logout", "Se déconnecter", "Log out" },
    { "signed_in_as", "Connecté :", "Signed in:" },
    //  Login
    { "login_title", "Connexion", "Log in" },
    { "login_intro", "Connectez-vous avec l'adresse électronique et le mot de passe reçus par courriel. À la première connexion, vous choisirez un nouveau mot de passe.",
      "Log in with the e-mail address and the password you received by e-mail. At your first login you will choose a new password." },
    { "login_field", "Identifiant (adresse électronique)", "Login (e-mail address)" },
    { "password_field", "Mot de passe", "Password" },
    { "login_submit", "Se connecter", "Log in" },
    { "login_failed", "Identifiant ou mot de passe incorrect, ou compte verrouillé.",
      "Wrong login or password, or the account is locked." },
    { "too_many_attempts", "Trop de tentatives. Réessayez dans quelques minutes.",
      "Too many attempts. Try again in a few minutes." },
    { "logged_out", "Vous êtes déconnecté.", "You are logged out." },
    //  Password
    { "password_title", "Nouveau mot de passe", "New password" },
    { "password_forced", "Le mot de passe reçu par courriel ne sert qu'une fois : choisissez maintenant votre propre mot de passe.",
      "The password you received by e-mail works once only: choose your own password now." },
    { "password_rules", "12 à 128 caractères ; pas votre identifiant ; pas un mot de passe courant.",
      "12 to 128 characters; not your login; not a common password." },
    { "current_password_field", "Mot de passe actuel", "Current password" },
    { "new_password_field", "Nouveau mot de passe", "New password" },
    { "confirm_password_field", "Confirmez le nouveau mot de passe", "Confirm the new password" },
    { "password_submit", "Enregistrer le mot de passe", "Save the password" },
    { "password_mismatch", "Les deux mots de passe ne sont pas identiques.", "The two passwords differ." },
    { "password_refused", "Ce mot de passe est refusé :", "This password is refused:" },
    { "password_changed", "Votre mot de passe est enregistré.", "Your password is saved." },
    { "current_password_wrong", "Le mot de passe actuel est incorrect.", "The current password is wrong." },
    { "password_token_expired", "Le délai pour changer le mot de passe est dépassé. Demandez un nouveau mot de passe au support.",
      "The time to change the password is over. Ask the service desk for a new password." },
    //  Secret questions
    { "questions_title", "Questions secrètes", "Secret questions" },
    { "questions_intro", "Choisissez au moins cinq questions et leurs réponses. Elles vous seront posées si vous demandez la révocation de vos certificats par téléphone. Les réponses sont enregistrées sous forme d'empreinte uniquement ; majuscules, accents et espaces n'y comptent pas.",
      "Choose at least five questions and their answers. They will be asked if you request the revocation of your certificates by phone. Answers are stored only as a hash; case, accents and spaces do not matter." },
    { "question_field", "Question", "Question" },
    { "answer_field", "Réponse", "Answer" },
    { "questions_submit", "Enregistrer les questions", "Save the questions" },
    { "questions_saved", "Vos questions secrètes sont enregistrées.", "Your secret questions are saved." },
    { "questions_incomplete", "Remplissez les cinq questions et leurs réponses (128 caractères au plus chacune), avec des questions différentes.",
      "Fill in the five questions and their answers (at most 128 characters each), with different questions." },
    { "questions_refused", "Ces questions sont refusées :", "These questions are refused:" },
    { "question_hint_1", "Nom de votre première école ?", "Name of your first school?" },
    { "question_hint_2", "Ville de naissance de votre mère ?", "Your mother's city of birth?" },
    { "question_hint_3", "Nom de votre premier animal ?", "Name of your first pet?" },
    { "question_hint_4", "Modèle de votre première voiture ?", "Model of your first car?" },
    { "question_hint_5", "Prénom de votre meilleur ami d'enfance ?", "First name of your best childhood friend?" },
    //  Cards
    { "cards_title", "Mes cartes et certificats", "My cards and certificates" },
    { "cards_none", "Aucune carte n'est encore enregistrée à votre nom.", "No card is registered in your name yet." },
    { "cards_unavailable", "La liste des cartes n'est pas disponible pour le moment. Réessayez plus tard.",
      "The list of cards is not available right now. Try again later." },
    { "card", "Carte", "Card" },
    { "card_state", "État", "State" },
    { "card_activated_at", "Activée le", "Activated on" },
    { "certificates", "Certificats", "Certificates" },
    { "certificate_use", "Usage", "Use" },
    { "serial", "Numéro de série", "Serial number" },
    { "status", "Statut", "Status" },
    { "valid_from", "Valide du", "Valid from" },
    { "valid_until", "au", "until" },
    { "no_certificates", "Aucun certificat sur cette carte.", "No certificate on this card." },
    { "state_unspecified", "inconnu", "unknown" },
    { "state_formatted", "vierge", "blank" },
    { "state_personalised", "personnalisée", "personalised" },
    { "state_shipped", "expédiée", "shipped" },
    { "state_active", "active", "active" },
    { "state_suspended", "suspendue", "suspended" },
    { "state_lost", "perdue", "lost" },
    { "state_damaged", "endommagée", "damaged" },
    { "state_returned", "retournée", "returned" },
    { "state_destroyed", "détruite", "destroyed" },
    { "use_authentication", "authentification", "authentication" },
    { "use_signature", "signature", "signature" },
    { "use_other", "autre", "other" },
    { "cert_good", "valide", "valid" },
    { "cert_revoked", "révoqué", "revoked" },
    { "cert_on_hold", "suspendu (en attente d'activation)", "on hold (awaiting activation)" },
    { "cert_unknown", "inconnu", "unknown" },
    { "cert_status_unavailable", "statut indisponible", "status unavailable" },
    //  Activation
    { "activate_title", "Activer la carte", "Activate the card" },
    { "activate_intro", "Saisissez le code d'activation reçu dans le pli confidentiel (courrier du code PIN). Le code ne sert qu'une fois ; cinq codes erronés bloquent l'activation.",
      "Enter the activation code from your PIN mailer. The code works once; five wrong codes lock activation." },
    { "activation_code_field", "Code d'activation", "Activation code" },
    { "activate_submit", "Activer", "Activate" },
    { "activated", "La carte est activée : ses certificats sont valides.", "The card is activated: its certificates are valid." },
    { "activation_wrong", "Code d'activation incorrect.", "Wrong activation code." },
    { "attempts_left", "Essais restants :", "Attempts left:" },
    { "activation_locked", "L'activation est bloquée. Contactez le support pour obtenir un nouveau code.",
      "Activation is locked. Contact the service desk for a new code." },
    { "activation_paused", "Trop de codes erronés : l'activation est suspendue quelques minutes pour ce compte ou cette adresse.",
      "Too many wrong codes: activation is paused for a few minutes for this account or address." },
    { "activation_refused", "L'activation est refusée :", "Activation is refused:" },
    //  Acceptance
    { "accept_title", "Accepter les certificats", "Accept the certificates" },
    { "accept_text", "J'ai vérifié les informations de mes certificats ; je les accepte et je m'engage à les utiliser conformément aux conditions générales d'utilisation.",
      "I have checked the details of my certificates; I accept them and undertake to use them according to the terms of use." },
    { "accept_checkbox", "J'accepte", "I accept" },
    { "accept_submit", "Enregistrer mon acceptation", "Record my acceptance" },
    { "accept_required", "Cochez la case pour accepter.", "Tick the box to accept." },
    { "accepted", "Votre acceptation est enregistrée.", "Your acceptance is recorded." },
    { "accepted_on", "Acceptés le", "Accepted on" },
    { "accept_not_active", "Activez d'abord la carte avec son code d'activation.", "Activate the card with its activation code first." },
    { "accept_unavailable", "L'acceptation ne peut pas être enregistrée pour le moment. Réessayez plus tard.",
      "The acceptance cannot be recorded right now. Try again later." },
    //  Revocation
    { "revoke_link", "Révoquer", "Revoke" },
    { "revoke_card_link", "Révoquer tous les certificats de la carte", "Revoke every certificate of the card" },
    { "revoke_title", "Révoquer un certificat", "Revoke a certificate" },
    { "revoke_intro", "La révocation est définitive : le certificat ne pourra plus être utilisé.",
      "Revocation is final: the certificate can no longer be used." },
    { "revoke_target", "À révoquer", "To revoke" },
    { "revoke_all_of_card", "tous les certificats de la carte", "every certificate of the card" },
    { "reason_field", "Motif", "Reason" },
    { "statement_field", "Précisions (facultatif, 1000 caractères au plus)", "Details (optional, at most 1000 characters)" },
    { "revoke_continue", "Continuer", "Continue" },
    { "revoke_confirm_title", "Confirmer la révocation", "Confirm the revocation" },
    { "revoke_confirm_text", "Confirmez-vous la révocation définitive ?", "Do you confirm the final revocation?" },
    { "revoke_confirm_submit", "Oui, révoquer définitivement", "Yes, revoke for good" },
    { "cancel", "Annuler", "Cancel" },
    { "revoked", "La révocation est enregistrée.", "The revocation is recorded." },
    { "revoke_refused", "La révocation est refusée :", "The revocation is refused:" },
    { "revoke_nothing", "Aucun certificat de cette carte n'est encore valide : rien à révoquer.",
      "No certificate of this card is still valid: nothing to revoke." },
    { "revoke_invalid", "Choisissez un motif ; les précisions tiennent en 1000 caractères.",
      "Choose a reason; details fit in 1000 characters." },
    { "reason_unspecified", "non précisé", "unspecified" },
    { "reason_key_compromise", "clé compromise (carte perdue, volée ou code divulgué)", "key compromise (card lost, stolen or PIN disclosed)" },
    { "reason_affiliation_changed", "changement de rattachement (départ de l'organisation)", "affiliation changed (left the organisation)" },
    { "reason_superseded", "remplacé par un nouveau certificat", "superseded by a new certificate" },
    { "reason_cessation_of_operation", "cessation d'activité", "cessation of operation" },
    { "reason_privilege_withdrawn", "droit retiré", "privilege withdrawn" },
    { "reason_other", "autre", "other" },
    //  PIN unblock
    { "unblock_link", "Code PIN bloqué ? Débloquer la carte", "PIN blocked? Unblock the card" },
    { "unblock_title", "Débloquer le code PIN", "Unblock the PIN" },
    { "unblock_intro", "Après trois codes PIN erronés, la carte se bloque. Répondez à vos questions secrètes : vous recevrez une seule fois le code de déblocage (PUK) de la carte, avec lequel vous choisirez un nouveau code PIN.",
      "After three wrong PINs the card blocks. Answer your secret questions: you will receive the card's unblocking code (PUK) once, with which you will choose a new PIN." },
    { "unblock_submit", "Recevoir le code de déblocage", "Get the unblocking code" },
    { "unblock_invalid", "Répondez à chaque question (128 caractères au plus).",
      "Answer every question (at most 128 characters)." },
    { "unblock_wrong", "Réponses incorrectes.", "Wrong answers." },
    { "unblock_locked", "Trop de réponses incorrectes : le déblocage est suspendu pour ce porteur. Réessayez plus tard ou appelez le support.",
      "Too many wrong answers: unblocking is suspended for this holder. Try again later or call the service desk." },
    { "unblock_refused", "Le déblocage n'est pas possible :", "The card cannot be unblocked:" },
    { "unblock_puk_intro", "Code de déblocage (PUK) de la carte", "Unblocking code (PUK) of the card" },
    { "unblock_step_tool", "Insérez la carte et ouvrez l'outil de votre carte (gestionnaire de la carte, ou « yubico-piv-tool -a unblock-pin » ou « pkcs15-tool --unblock-pin »).",
      "Insert the card and open your card tool (the card manager, or \"yubico-piv-tool -a unblock-pin\" or \"pkcs15-tool --unblock-pin\")." },
    { "unblock_step_puk", "Saisissez ce code quand l'outil demande le PUK.", "Type this code when the tool asks for the PUK." },
    { "unblock_step_pin", "Choisissez un nouveau code PIN (6 à 8 chiffres) et confirmez-le.", "Choose a new PIN (6 to 8 digits) and confirm it." },
    { "unblock_puk_once", "Ce code n'est affiché qu'une fois et n'est pas envoyé par courriel. Il sera changé lors du prochain passage de la carte au bureau des cartes.",
      "This code is shown once and is not e-mailed. It is changed the next time the card bureau meets the card." },
    //  Errors
    { "error_title", "Erreur", "Error" },
    { "not_found", "Page introuvable.", "Page not found." },
    { "method_not_allowed", "Méthode non permise.", "Method not allowed." },
    { "bad_request", "La demande est mal formée ou trop longue.", "The request is malformed or too long." },
    { "csrf_refused", "Le formulaire a expiré ou ne vient pas de ce site. Rechargez la page et recommencez.",
      "The form has expired or did not come from this site. Reload the page and try again." },
    { "session_expired", "Votre session a expiré. Connectez-vous à nouveau.", "Your session has expired. Log in again." },
    { "service_unavailable", "Le service est momentanément indisponible. Réessayez plus tard.",
      "The service is unavailable right now. Try again later." },
    { "card_not_found", "Carte ou certificat introuvable.", "Card or certificate not found." },
    { "back_to_cards", "Retour à mes cartes", "Back to my cards" },
    { "back_to_login", "Retour à la connexion", "Back to the login page" },
};

#define S_TEXT_COUNT (sizeof s_texts / sizeof s_texts [0])

const char *
portal_text (portal_lang_t lang, const char *key)
{
    for (size_t i = 0; key && i < S_TEXT_COUNT; i++)
        if (strcmp (s_texts [i].key, key) == 0)
            return lang == PORTAL_LANG_EN ? s_texts [i].en : s_texts [i].fr;
    return NULL;
}

const char *const *
portal_text_keys (void)
{
    static const char *s_keys [S_TEXT_COUNT + 1];
    if (!s_keys [0])
        for (size_t i = 0; i < S_TEXT_COUNT; i++)
            s_keys [i] = s_texts [i].key;
    return s_keys;
}

const char *
portal_lang_code (portal_lang_t lang)
{
    return lang == PORTAL_LANG_EN ? "en" : "fr";
}

bool
portal_lang_parse (const char *code, portal_lang_t *lang)
{
    if (code && strcmp (code, "fr") == 0)
        *lang = PORTAL_LANG_FR;
    else
    if (code && strcmp (code, "en") == 0)
        *lang = PORTAL_LANG_EN;
    else
        return false;
    return true;
}

//  "q=0.8" after a range: its weight in thousandths (1000 without one, -1
//  when malformed).
static int
s_weight (const char *params, size_t size)
{
    const char *q = NULL;
    for (size_t i = 0; i + 1 < size; i++)
        if ((params [i] == 'q' || params [i] == 'Q') && params [i + 1] == '='
        &&  (i == 0 || params [i - 1] == ';' || params [i - 1] == ' '))
            q = params + i + 2;
    if (!q)
        return 1000;
    const char *end = params + size;
    if (q >= end || (*q != '0' && *q != '1'))
        return -1;
    int weight = (*q - '0') * 1000;
    q++;
    if (q < end && *q == '.') {
        q++;
        for (int scale = 100; q < end && isdigit ((unsigned char) *q) && scale; scale /= 10, q++)
            weight += (*q - '0') * scale;
    }
    return weight > 1000 ? 1000 : weight;
}

portal_lang_t
portal_lang_negotiate (const char *accept_language, portal_lang_t fallback)
{
    if (!accept_language || strlen (accept_language) > 1024)
        return fallback;
    int best_weight [2] = { -1, -1 };
    int best_order [2] = { 0, 0 };
    int order = 0;
    const char *p = accept_language;
    while (*p) {
        size_t item_size = strcspn (p, ",");
        const char *item = p;
        while (item_size && (*item == ' ' || *item == '\t')) {
            item++;
            item_size--;
        }
        size_t range_size = strcspn (item, ";, \t");
        if (range_size > item_size)
            range_size = item_size;
        int weight = s_weight (item + range_size, item_size - range_size);
        int lang = -1;
        if (range_size >= 2 && strncasecmp (item, "fr", 2) == 0
        &&  (range_size == 2 || item [2] == '-'))
            lang = PORTAL_LANG_FR;
        else
        if (range_size >= 2 && strncasecmp (item, "en", 2) == 0
        &&  (range_size == 2 || item [2] == '-'))
            lang = PORTAL_LANG_EN;
        order++;
        if (lang >= 0 && weight > best_weight [lang]) {
            best_weight [lang] = weight;
            best_order [lang] = order;
        }
        p += strcspn (p, ",");
        if (*p == ',')
            p++;
    }
    int fr = best_weight [PORTAL_LANG_FR], en = best_weight [PORTAL_LANG_EN];
    if (fr <= 0 && en <= 0)
        return fallback;
    if (fr == en)
        return best_order [PORTAL_LANG_FR] < best_order [PORTAL_LANG_EN] ? PORTAL_LANG_FR
                                                                         : PORTAL_LANG_EN;
    return fr > en ? PORTAL_LANG_FR : PORTAL_LANG_EN;
}

void
portal_format_time (portal_lang_t lang, int64_t unix_s, char *out, size_t size)
{
    if (unix_s <= 0) {
        snprintf (out, size, "—");
        return;
    }
    time_t when = (time_t) unix_s;
    struct tm utc;
    if (!gmtime_r (&when, &utc)) {
        snprintf (out, size, "—");
        return;
    }
    if (lang == PORTAL_LANG_EN)
        strftime (out, size, "%Y-%m-%d %H:%M UTC", &utc);
    else
        strftime (out, size, "%d/%m/%Y %H:%M UTC", &utc);
}
