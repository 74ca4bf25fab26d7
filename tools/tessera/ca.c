/*  tessera ca ...: the CA's operations from the command line.

    ceremony   --org ORG --root-cn CN --issuing-cn CN --custodian NAME=CERT...
               [--threshold K] [--root-alg ALG] [--issuing-alg ALG]
               [--root-days N] [--issuing-days N] [--so-pin-file FILE] --out DIR
               A security officer's key ceremony. Writes DIR/root.pem,
               DIR/issuing.pem and, per custodian, DIR/NAME/ca-CEREMONY.NNN
               (folder 0700, file 0600): the share in libgfshare's format,
               to hand to that custodian alone.
    activate   --share FILE          a custodian presents their share
    deactivate                       drops the active key at once
    status                           activation progress
    issue      --csr FILE --use auth|sign|ocsp|mail --card-request ID --holder ID
               --org ORG [--org-id SIREN|SIRET] [--given-name G --surname S | --cn CN]
               [--email E] [--level 1|2|3] [--days N] [--on-hold] --out FILE
    revoke     SERIAL --reason REASON [--invalidity-date UNIX] [--request REF]
    cert-status SERIAL
    chain      --out DIR             DIR/issuing.pem and DIR/root.pem
    crl        [--delta-of NUMBER] [--hours N] --out FILE

    ALG: ec-p256, ec-p384, rsa-3072, rsa-4096. REASON: unspecified,
    key-compromise, ca-compromise, affiliation-changed, superseded,
    cessation-of-operation, certificate-hold, remove-from-crl,
    privilege-withdrawn, aa-compromise.
*/
#include "cli.h"
#include "ca_shares.h"
#include "tessera/json.h"
#include "tessera/v1/ca.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_MAX_FILE (64 * 1024)
#define S_CEREMONY_TIMEOUT_MS 300000

static const char *s_algorithms [] = { NULL, "ec-p256", "ec-p384", "rsa-3072", "rsa-4096" };
static const char *s_uses [] = { NULL, "auth", "sign", "ocsp", "mail" };
static const char *s_reasons [] = {
    "not-set", "unspecified", "key-compromise", "ca-compromise", "affiliation-changed",
    "superseded", "cessation-of-operation", "certificate-hold", NULL, "remove-from-crl",
    "privilege-withdrawn", "aa-compromise" };

static int
s_write_pem (const char *path, const uint8_t *der, size_t size, bool crl)
{
    const unsigned char *cursor = der;
    FILE *file = fopen (path, "w");
    int ok = 0;
    if (file && crl) {
        X509_CRL *object = d2i_X509_CRL (NULL, &cursor, (long) size);
        ok = object && PEM_write_X509_CRL (file, object);
        X509_CRL_free (object);
    }
    else
    if (file) {
        X509 *object = d2i_X509 (NULL, &cursor, (long) size);
        ok = object && PEM_write_X509 (file, object);
        X509_free (object);
    }
    if (file && fclose (file))
        ok = 0;
    return ok ? 0 : -1;
}

static void
s_print_json_or_text (cli_t *cli, tsr_json_t **json_p, const char *text)
{
    if (cli->json)
        cli_print_json (json_p);
    else {
        tsr_json_destroy (json_p);
        printf ("%s\n", text);
    }
}

//  The ceremony's certificates and shares into the folder args, then its
//  summary.
static int
s_write_ceremony (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message,
                  const void *args)
{
    (void) reply;
    const char *out = args;
    Tessera__V1__CeremonyReply *made = (Tessera__V1__CeremonyReply *) message;
    char path [1024];
    snprintf (path, sizeof path, "%s/root.pem", out);
    if (s_write_pem (path, made->root_certificate_der.data, made->root_certificate_der.len, false))
        return cli_fail (cli, CLI_FAILED, "cannot write", path);
    snprintf (path, sizeof path, "%s/issuing.pem", out);
    if (s_write_pem (path, made->issuing_certificate_der.data, made->issuing_certificate_der.len, false))
        return cli_fail (cli, CLI_FAILED, "cannot write", path);
    for (size_t i = 0; i < made->n_shares; i++) {
        Tessera__V1__Share *share_message = made->shares [i];
        char folder [1024], stem [1100], written [1200], err [256];
        snprintf (folder, sizeof folder, "%s/%s", out, share_message->custodian->name);
        if (mkdir (folder, 0700) && errno != EEXIST)
            return cli_fail (cli, CLI_FAILED, "cannot create the custodian's folder", folder);
        snprintf (stem, sizeof stem, "%s/ca-%s", folder, made->ceremony_id);
        ca_share_t share = { .x = (uint8_t) share_message->index, .size = share_message->data.len };
        if (share.size > CA_SECRET_MAX)
            return cli_fail (cli, CLI_FAILED, "a share in the reply is too large", NULL);
        memcpy (share.bytes, share_message->data.data, share.size);
        int written_rc = ca_shares_write_file (&share, stem, written, sizeof written, err, sizeof err);
        ca_share_wipe (&share);
        OPENSSL_cleanse (share_message->data.data, share_message->data.len);
        if (written_rc)
            return cli_fail (cli, CLI_FAILED, "cannot write a share", err);
        if (!cli->json)
            printf ("share %u of %zu for %s: %s\n", share_message->index, made->n_shares,
                    share_message->custodian->name, written);
    }
    tsr_json_t *json = tsr_json_new ();
    tsr_json_bool (json, "ok", true);
    tsr_json_str (json, "ceremony_id", made->ceremony_id);
    tsr_json_str (json, "root_sha256", made->root_sha256);
    tsr_json_str (json, "issuing_sha256", made->issuing_sha256);
    tsr_json_int (json, "threshold", made->threshold);
    tsr_json_int (json, "shares", (int64_t) made->n_shares);
    tsr_json_str (json, "out", out);
    char text [512];
    snprintf (text, sizeof text, "ceremony %s: root %s, issuing %s; %u of %zu shares activate the key",
              made->ceremony_id, made->root_sha256, made->issuing_sha256, made->threshold,
              made->n_shares);
    s_print_json_or_text (cli, &json, text);
    return CLI_OK;
}

static const cli_reply_t s_ceremony_reply = {
    &tessera__v1__ceremony_reply__descriptor, "the reply is not a CeremonyReply", NULL,
    s_write_ceremony
};

static int
s_ceremony (cli_t *cli, int argc, char **argv)
{
    Tessera__V1__CeremonyRequest request = TESSERA__V1__CEREMONY_REQUEST__INIT;
    Tessera__V1__Custodian custodians [CA_SHARES_MAX];
    Tessera__V1__Custodian *custodian_list [CA_SHARES_MAX];
    char names [CA_SHARES_MAX][128];
    char *keys [CA_SHARES_MAX] = { NULL };
    const char *out = NULL, *so_pin_file = NULL;
    char so_pin [256] = "";
    int rc = CLI_USAGE;
    for (int i = 0; i < argc; i++) {
        const char *value = i + 1 < argc ? argv [i + 1] : NULL;
        if (!value)
            return cli_fail (cli, CLI_USAGE, "missing value", argv [i]);
        if (streq (argv [i], "--org"))
            request.organization = (char *) value;
        else if (streq (argv [i], "--root-cn"))
            request.root_common_name = (char *) value;
        else if (streq (argv [i], "--issuing-cn"))
            request.issuing_common_name = (char *) value;
        else if (streq (argv [i], "--threshold"))
            request.threshold = (uint32_t) strtoul (value, NULL, 10);
        else if (streq (argv [i], "--root-days"))
            request.root_validity_days = (uint32_t) strtoul (value, NULL, 10);
        else if (streq (argv [i], "--issuing-days"))
            request.issuing_validity_days = (uint32_t) strtoul (value, NULL, 10);
        else if (streq (argv [i], "--root-alg") || streq (argv [i], "--issuing-alg")) {
            int algorithm = cli_lookup (s_algorithms, 5, value);
            if (!algorithm)
                return cli_fail (cli, CLI_USAGE, "unknown algorithm (ec-p256, ec-p384, rsa-3072, rsa-4096)", value);
            if (streq (argv [i], "--root-alg"))
                request.root_algorithm = (Tessera__V1__KeyAlgorithm) algorithm;
            else
                request.issuing_algorithm = (Tessera__V1__KeyAlgorithm) algorithm;
        }
        else if (streq (argv [i], "--so-pin-file"))
            so_pin_file = value;
        else if (streq (argv [i], "--out"))
            out = value;
        else if (streq (argv [i], "--custodian")) {
            const char *equals = strchr (value, '=');
            size_t n = request.n_custodians;
            if (!equals || equals == value || (size_t) (equals - value) >= sizeof names [0]
            ||  n >= CA_SHARES_MAX)
                return cli_fail (cli, CLI_USAGE, "--custodian NAME=CERTFILE (at most 16)", value);
            zcert_t *cert = zcert_load (equals + 1);
            if (!cert)
                return cli_fail (cli, CLI_FAILED, "cannot read the custodian's certificate", equals + 1);
            keys [n] = strdup (zcert_public_txt (cert));
            zcert_destroy (&cert);
            snprintf (names [n], sizeof names [n], "%.*s", (int) (equals - value), value);
            tessera__v1__custodian__init (&custodians [n]);
            custodians [n].name = names [n];
            custodians [n].public_key = keys [n];
            custodian_list [n] = &custodians [n];
            request.n_custodians++;
        }
        else
            return cli_fail (cli, CLI_USAGE, "unexpected argument", argv [i]);
        i++;
    }
    request.custodians = custodian_list;
    if (!out || !request.organization [0] || !request.root_common_name [0]
    ||  !request.issuing_common_name [0] || request.n_custodians == 0) {
        rc = cli_fail (cli, CLI_USAGE, "ceremony needs --org, --root-cn, --issuing-cn, --custodian and --out", NULL);
        goto done;
    }
    if (so_pin_file) {
        FILE *file = fopen (so_pin_file, "r");
        if (!file || !fgets (so_pin, sizeof so_pin, file)) {
            if (file)
                fclose (file);
            rc = cli_fail (cli, CLI_FAILED, "cannot read the SO PIN file", so_pin_file);
            goto done;
        }
        fclose (file);
        so_pin [strcspn (so_pin, "\r\n")] = 0;
        request.token_so_pin = so_pin;
    }
    if (mkdir (out, 0700) && errno != EEXIST) {
        rc = cli_fail (cli, CLI_FAILED, "cannot create the output folder", out);
        goto done;
    }
    rc = cli_call_print (cli, "ca", "Ceremony", &request.base, NULL, S_CEREMONY_TIMEOUT_MS,
                         &s_ceremony_reply, out);
done:
    OPENSSL_cleanse (so_pin, sizeof so_pin);
    for (int i = 0; i < CA_SHARES_MAX; i++)
        free (keys [i]);
    return rc;
}

static int
s_print_activation (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message,
                    const void *args)
{
    (void) args;
    const Tessera__V1__ActivationStatus *status = (const Tessera__V1__ActivationStatus *) message;
    tsr_json_t *json = tsr_json_new ();
    tsr_json_bool (json, "ok", true);
    tsr_json_bool (json, "active", status->active);
    tsr_json_str (json, "ceremony_id", status->ceremony_id);
    tsr_json_int (json, "shares_presented", status->shares_presented);
    tsr_json_int (json, "threshold", status->threshold);
    tsr_json_str (json, "message", reply->status_message);
    char text [512];
    snprintf (text, sizeof text, "%s: %u of %u shares (%s)", status->active ? "active" : "inactive",
              status->shares_presented, status->threshold, reply->status_message);
    s_print_json_or_text (cli, &json, text);
    return CLI_OK;
}

static const cli_reply_t s_activation = {
    &tessera__v1__activation_status__descriptor, "the reply is not an ActivationStatus", NULL,
    s_print_activation
};

static int
s_activate (cli_t *cli, int argc, char **argv)
{
    if (argc != 2 || !streq (argv [0], "--share"))
        return cli_fail (cli, CLI_USAGE, "activate --share FILE", NULL);
    ca_share_t share;
    char err [256];
    if (ca_shares_read_file (argv [1], &share, err, sizeof err))
        return cli_fail (cli, CLI_FAILED, "cannot read the share", err);
    Tessera__V1__ActivateRequest request = TESSERA__V1__ACTIVATE_REQUEST__INIT;
    request.index = share.x;
    request.share.data = share.bytes;
    request.share.len = share.size;
    int rc = cli_call_print (cli, "ca", "Activate", &request.base, NULL, 0, &s_activation, NULL);
    ca_share_wipe (&share);
    return rc;
}

//  The issued certificate into the file args, then its serial.
static int
s_write_issued (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message,
                const void *args)
{
    (void) reply;
    const char *out = args;
    const Tessera__V1__IssueCertificateReply *issued =
        (const Tessera__V1__IssueCertificateReply *) message;
    if (!issued->certificate)
        return cli_fail (cli, CLI_FAILED, "the reply is not an IssueCertificateReply", NULL);
    if (s_write_pem (out, issued->certificate->certificate_der.data,
                     issued->certificate->certificate_der.len, false))
        return cli_fail (cli, CLI_FAILED, "cannot write", out);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_bool (json, "ok", true);
    tsr_json_str (json, "serial_hex", issued->certificate->serial_hex);
    tsr_json_int (json, "not_after_unix", issued->certificate->not_after_unix);
    tsr_json_str (json, "out", out);
    char text [256];
    snprintf (text, sizeof text, "issued %s -> %s", issued->certificate->serial_hex, out);
    s_print_json_or_text (cli, &json, text);
    return CLI_OK;
}

static const cli_reply_t s_issued = {
    &tessera__v1__issue_certificate_reply__descriptor,
    "the reply is not an IssueCertificateReply", NULL, s_write_issued
};

static int
s_issue (cli_t *cli, int argc, char **argv)
{
    Tessera__V1__IssueCertificateRequest request = TESSERA__V1__ISSUE_CERTIFICATE_REQUEST__INIT;
    Tessera__V1__Subject subject = TESSERA__V1__SUBJECT__INIT;
    request.subject = &subject;
    request.level = TESSERA__V1__POLICY_LEVEL__POLICY_LEVEL_TWO_STARS;
    const char *csr_path = NULL, *out = NULL;
    for (int i = 0; i < argc; i++) {
        if (streq (argv [i], "--on-hold")) {
            request.on_hold = true;
            continue;
        }
        const char *value = i + 1 < argc ? argv [i + 1] : NULL;
        if (!value)
            return cli_fail (cli, CLI_USAGE, "missing value", argv [i]);
        if (streq (argv [i], "--csr")) csr_path = value;
        else if (streq (argv [i], "--out")) out = value;
        else if (streq (argv [i], "--card-request")) request.card_request_id = (char *) value;
        else if (streq (argv [i], "--holder")) request.holder_id = (char *) value;
        else if (streq (argv [i], "--org")) subject.organization = (char *) value;
        else if (streq (argv [i], "--org-id")) subject.organization_id = (char *) value;
        else if (streq (argv [i], "--given-name")) subject.given_name = (char *) value;
        else if (streq (argv [i], "--surname")) subject.surname = (char *) value;
        else if (streq (argv [i], "--cn")) subject.common_name = (char *) value;
        else if (streq (argv [i], "--email")) subject.email = (char *) value;
        else if (streq (argv [i], "--days")) request.validity_days = (uint32_t) strtoul (value, NULL, 10);
        else if (streq (argv [i], "--level"))
            request.level = (Tessera__V1__PolicyLevel) strtol (value, NULL, 10);
        else if (streq (argv [i], "--use")) {
            request.use = (Tessera__V1__CertificateUse) cli_lookup (s_uses, 5, value);
            if (!request.use)
                return cli_fail (cli, CLI_USAGE, "unknown use (auth, sign, ocsp, mail)", value);
        }
        else
            return cli_fail (cli, CLI_USAGE, "unexpected argument", argv [i]);
        i++;
    }
    if (!csr_path || !out)
        return cli_fail (cli, CLI_USAGE, "issue needs --csr FILE and --out FILE", NULL);
    size_t csr_size = 0;
    uint8_t *csr = cli_read_file (csr_path, S_MAX_FILE, &csr_size);
    if (!csr)
        return cli_fail (cli, CLI_FAILED, "cannot read the CSR (DER, at most 64 KiB)", csr_path);
    request.csr_der.data = csr;
    request.csr_der.len = csr_size;
    int rc = cli_call_print (cli, "ca", "IssueCertificate", &request.base, NULL, 0, &s_issued,
                             out);
    free (csr);
    return rc;
}

static int
s_print_cert_status (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message,
                     const void *args)
{
    (void) reply;
    (void) args;
    const Tessera__V1__CertificateStatus *status = (const Tessera__V1__CertificateStatus *) message;
    static const char *states [] = { "unspecified", "good", "revoked", "on-hold", "unknown" };
    const char *state = status->state <= 4 ? states [status->state] : "?";
    const char *reason = (int) status->reason >= 0 && status->reason <= 11 && s_reasons [status->reason]
                       ? s_reasons [status->reason] : "?";
    tsr_json_t *json = tsr_json_new ();
    tsr_json_bool (json, "ok", true);
    tsr_json_str (json, "serial_hex", status->serial_hex);
    tsr_json_str (json, "state", state);
    tsr_json_str (json, "reason", reason);
    tsr_json_int (json, "revoked_at_unix", status->revoked_at_unix);
    tsr_json_int (json, "not_after_unix", status->not_after_unix);
    char text [256];
    snprintf (text, sizeof text, "%s %s%s%s", status->serial_hex, state,
              status->reason ? " " : "", status->reason ? reason : "");
    s_print_json_or_text (cli, &json, text);
    return CLI_OK;
}

static const cli_reply_t s_cert_status_reply = {
    &tessera__v1__certificate_status__descriptor, "the reply is not a CertificateStatus", NULL,
    s_print_cert_status
};

static int
s_revoke (cli_t *cli, int argc, char **argv)
{
    Tessera__V1__RevokeCertificateRequest request = TESSERA__V1__REVOKE_CERTIFICATE_REQUEST__INIT;
    for (int i = 0; i < argc; i++) {
        const char *value = i + 1 < argc ? argv [i + 1] : NULL;
        if (argv [i][0] != '-' && !request.serial_hex [0]) {
            request.serial_hex = argv [i];
            continue;
        }
        if (!value)
            return cli_fail (cli, CLI_USAGE, "missing value", argv [i]);
        if (streq (argv [i], "--reason")) {
            request.reason = (Tessera__V1__RevocationReason) cli_lookup (s_reasons, 12, value);
            if (!request.reason)
                return cli_fail (cli, CLI_USAGE, "unknown reason", value);
        }
        else if (streq (argv [i], "--invalidity-date"))
            request.invalidity_date_unix = strtoll (value, NULL, 10);
        else if (streq (argv [i], "--request"))
            request.revocation_request_id = (char *) value;
        else
            return cli_fail (cli, CLI_USAGE, "unexpected argument", argv [i]);
        i++;
    }
    if (!request.serial_hex [0] || !request.reason)
        return cli_fail (cli, CLI_USAGE, "revoke SERIAL --reason REASON", NULL);
    return cli_call_print (cli, "ca", "RevokeCertificate", &request.base, NULL, 0,
                           &s_cert_status_reply, NULL);
}

static int
s_cert_status (cli_t *cli, int argc, char **argv)
{
    if (argc != 1)
        return cli_fail (cli, CLI_USAGE, "cert-status SERIAL", NULL);
    Tessera__V1__GetStatusRequest request = TESSERA__V1__GET_STATUS_REQUEST__INIT;
    request.serial_hex = argv [0];
    return cli_call_print (cli, "ca", "GetStatus", &request.base, NULL, 0, &s_cert_status_reply,
                           NULL);
}

//  The two certificates of the chain into the folder args.
static int
s_write_chain (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message,
               const void *args)
{
    (void) reply;
    const char *out = args;
    const Tessera__V1__GetCaCertificatesReply *chain =
        (const Tessera__V1__GetCaCertificatesReply *) message;
    static const char *names [] = { "issuing.pem", "root.pem" };
    if (chain->n_chain_der != 2)
        return cli_fail (cli, CLI_FAILED, "the reply is not a two-certificate chain", NULL);
    for (size_t i = 0; i < 2; i++) {
        char path [1024];
        snprintf (path, sizeof path, "%s/%s", out, names [i]);
        if (s_write_pem (path, chain->chain_der [i].data, chain->chain_der [i].len, false))
            return cli_fail (cli, CLI_FAILED, "cannot write", path);
    }
    tsr_json_t *json = tsr_json_new ();
    tsr_json_bool (json, "ok", true);
    tsr_json_str (json, "out", out);
    s_print_json_or_text (cli, &json, "wrote issuing.pem and root.pem");
    return CLI_OK;
}

static const cli_reply_t s_chain_reply = {
    &tessera__v1__get_ca_certificates_reply__descriptor,
    "the reply is not a two-certificate chain", NULL, s_write_chain
};

static int
s_chain (cli_t *cli, int argc, char **argv)
{
    if (argc != 2 || !streq (argv [0], "--out"))
        return cli_fail (cli, CLI_USAGE, "chain --out DIR", NULL);
    Tessera__V1__GetCaCertificatesRequest request = TESSERA__V1__GET_CA_CERTIFICATES_REQUEST__INIT;
    return cli_call_print (cli, "ca", "GetCaCertificates", &request.base, NULL, 0, &s_chain_reply,
                           argv [1]);
}

//  The signed CRL into the file args, then its number.
static int
s_write_crl (cli_t *cli, const tsr_envelope_t *reply, ProtobufCMessage *message,
             const void *args)
{
    (void) reply;
    const char *out = args;
    const Tessera__V1__SignCrlReply *signed_crl = (const Tessera__V1__SignCrlReply *) message;
    if (s_write_pem (out, signed_crl->crl_der.data, signed_crl->crl_der.len, true))
        return cli_fail (cli, CLI_FAILED, "cannot write", out);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_bool (json, "ok", true);
    tsr_json_int (json, "crl_number", (int64_t) signed_crl->crl_number);
    tsr_json_int (json, "next_update_unix", signed_crl->next_update_unix);
    tsr_json_str (json, "out", out);
    char text [256];
    snprintf (text, sizeof text, "CRL number %llu -> %s",
              (unsigned long long) signed_crl->crl_number, out);
    s_print_json_or_text (cli, &json, text);
    return CLI_OK;
}

static const cli_reply_t s_crl_reply = {
    &tessera__v1__sign_crl_reply__descriptor, "the reply is not a SignCrlReply", NULL,
    s_write_crl
};

static int
s_crl (cli_t *cli, int argc, char **argv)
{
    Tessera__V1__SignCrlRequest request = TESSERA__V1__SIGN_CRL_REQUEST__INIT;
    const char *delta_of = NULL, *hours = NULL, *out = NULL;
    const char *names [] = { "--delta-of", "--hours", "--out", NULL };
    const char **slots [] = { &delta_of, &hours, &out };
    //  A last word without its value is the usage error below.
    if (cli_options (cli, argc - argc % 2, argv, names, slots, NULL) != CLI_OK)
        return CLI_USAGE;
    if (!out || argc % 2)
        return cli_fail (cli, CLI_USAGE, "crl [--delta-of NUMBER] [--hours N] --out FILE", NULL);
    if (delta_of)
        request.delta_base_number = strtoull (delta_of, NULL, 10);
    if (hours)
        request.next_update_hours = (uint32_t) strtoul (hours, NULL, 10);
    return cli_call_print (cli, "ca", "SignCrl", &request.base, NULL, 0, &s_crl_reply, out);
}

int
cli_ca (cli_t *cli, int argc, char **argv)
{
    if (argc < 1)
        return cli_fail (cli, CLI_USAGE, "ca needs a subcommand (ceremony, activate, deactivate, status, "
                         "issue, revoke, cert-status, chain, crl)", NULL);
    const char *command = argv [0];
    argc--, argv++;
    if (streq (command, "ceremony"))
        return s_ceremony (cli, argc, argv);
    if (streq (command, "activate"))
        return s_activate (cli, argc, argv);
    if (streq (command, "deactivate")) {
        Tessera__V1__DeactivateRequest request = TESSERA__V1__DEACTIVATE_REQUEST__INIT;
        return argc ? cli_fail (cli, CLI_USAGE, "deactivate takes no argument", NULL)
                    : cli_call_print (cli, "ca", "Deactivate", &request.base, NULL, 0,
                                      &s_activation, NULL);
    }
    if (streq (command, "status")) {
        Tessera__V1__GetActivationStatusRequest request = TESSERA__V1__GET_ACTIVATION_STATUS_REQUEST__INIT;
        return argc ? cli_fail (cli, CLI_USAGE, "status takes no argument", NULL)
                    : cli_call_print (cli, "ca", "GetActivationStatus", &request.base, NULL, 0,
                                      &s_activation, NULL);
    }
    if (streq (command, "issue"))
        return s_issue (cli, argc, argv);
    if (streq (command, "revoke"))
        return s_revoke (cli, argc, argv);
    if (streq (command, "cert-status"))
        return s_cert_status (cli, argc, argv);
    if (streq (command, "chain"))
        return s_chain (cli, argc, argv);
    if (streq (command, "crl"))
        return s_crl (cli, argc, argv);
    return cli_fail (cli, CLI_USAGE, "unknown ca subcommand", command);
}
