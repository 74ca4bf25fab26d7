/*  The sub-commands' "--NAME VALUE ... [ID]" arguments (cli_options in
    cli.h): one loop for the commands whose options all take a value and
    which name at most one thing, so that each reads its arguments, and
    refuses the others, the same way; and cli_lookup, an option's value
    into the enum it names.
*/
#include "cli.h"

#include <czmq.h>
#include <stdbool.h>

int
cli_options (cli_t *cli, int argc, char **argv, const char *const names [],
             const char **slots [], const char **positional)
{
    bool named = false;
    for (int i = 0; i < argc; i++) {
        int option = 0;
        while (names [option] && !streq (names [option], argv [i]))
            option++;
        if (names [option] && i + 1 < argc)
            *slots [option] = argv [++i];
        else
        if (positional && !named && argv [i][0] != '-') {
            *positional = argv [i];
            named = true;
        }
        else
            return cli_fail (cli, CLI_USAGE, "unexpected argument", argv [i]);
    }
    return CLI_OK;
}

int
cli_lookup (const char *const *names, int count, const char *name)
{
    for (int i = 1; i < count; i++)
        if (names [i] && streq (names [i], name))
            return i;
    return 0;
}
