/*  The small files the sub-commands read whole (cli_read_file in cli.h): a
    CSR, a PKCS#12 password, a holder's PIN.
*/
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>

uint8_t *
cli_read_file (const char *path, size_t max, size_t *size)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return NULL;
    uint8_t *data = malloc (max);
    *size = data ? fread (data, 1, max, file) : 0;
    bool too_big = data && *size == max && fgetc (file) != EOF;
    fclose (file);
    if (!data || too_big || *size == 0) {
        free (data);
        return NULL;
    }
    return data;
}
