/*  tessera keygen: a CURVE certificate pair for a service, an operator or an
    integrator. The public file goes into the keyring directories of the
    services it may call; the secret file stays with its owner (mode 0600).
*/
#include "cli.h"
#include "tessera/json.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int
cli_keygen (cli_t *cli, int argc, char **argv)
{
    const char *name = NULL, *out = NULL;
    const char *names [] = { "--name", "--out", NULL };
    const char **slots [] = { &name, &out };
    if (cli_options (cli, argc, argv, names, slots, NULL) != CLI_OK)
        return CLI_USAGE;
    if (!name || !out)
        return cli_fail (cli, CLI_USAGE, "keygen needs --name and --out", NULL);
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_')
        ||  p - name >= 64)
            return cli_fail (cli, CLI_USAGE, "name must be at most 64 of [a-z0-9_-]", name);
    if (zsys_dir_create ("%s", out) != 0)
        return cli_fail (cli, CLI_FAILED, "cannot create the directory", out);
    char path [1024];
    if (snprintf (path, sizeof path, "%s/%s.cert", out, name) >= (int) sizeof path)
        return cli_fail (cli, CLI_USAGE, "path too long", out);
    if (zsys_file_exists (path))
        return cli_fail (cli, CLI_FAILED, "refusing to overwrite an existing certificate", path);
    zcert_t *cert = zcert_new ();
    if (!cert)
        return cli_fail (cli, CLI_FAILED, "cannot make a key pair", NULL);
    zcert_set_meta (cert, "name", "%s", name);
    mode_t old_mask = umask (077);
    int saved = zcert_save (cert, path);
    umask (old_mask);
    if (saved != 0) {
        zcert_destroy (&cert);
        return cli_fail (cli, CLI_FAILED, "cannot write the certificate", path);
    }
    chmod (path, 0644);     //  the public half is meant to be shared
    if (cli->json) {
        char secret [1040];
        snprintf (secret, sizeof secret, "%s_secret", path);
        tsr_json_t *json = tsr_json_new ();
        tsr_json_bool (json, "ok", true);
        tsr_json_str (json, "name", name);
        tsr_json_str (json, "public_key", zcert_public_txt (cert));
        tsr_json_str (json, "public_file", path);
        tsr_json_str (json, "secret_file", secret);
        cli_print_json (&json);
    }
    else
        printf ("%-10s %s\n%-10s %s\n%-10s %s_secret\n", "name", name, "public", path,
                "secret", path);
    zcert_destroy (&cert);
    return CLI_OK;
}
