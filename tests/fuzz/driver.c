/*  Replays fuzz inputs without libFuzzer: each argument is a file or a
    folder of files, each file one input to LLVMFuzzerTestOneInput. Used by
    ctest to run the seed corpora in every build (gcc, sanitizers).
*/
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define S_INPUT_MAX (4 * 1024 * 1024)

static int
s_run_file (const char *path)
{
    FILE *file = fopen (path, "rb");
    if (!file) {
        fprintf (stderr, "cannot open %s\n", path);
        return -1;
    }
    uint8_t *data = malloc (S_INPUT_MAX);
    size_t size = data ? fread (data, 1, S_INPUT_MAX, file) : 0;
    fclose (file);
    if (!data)
        return -1;
    //  A copy of exactly the input's size, so reads past it are caught.
    uint8_t *exact = malloc (size ? size : 1);
    if (exact) {
        memcpy (exact, data, size);
        LLVMFuzzerTestOneInput (exact, size);
    }
    free (exact);
    free (data);
    return exact ? 0 : -1;
}

int
main (int argc, char **argv)
{
    int count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat info;
        if (stat (argv [i], &info)) {
            fprintf (stderr, "cannot read %s\n", argv [i]);
            return 1;
        }
        if (!S_ISDIR (info.st_mode)) {
            if (s_run_file (argv [i]))
                return 1;
            count++;
            continue;
        }
        DIR *dir = opendir (argv [i]);
        struct dirent *entry;
        while (dir && (entry = readdir (dir))) {
            if (entry->d_name [0] == '.')
                continue;
            char path [4096];
            snprintf (path, sizeof path, "%s/%s", argv [i], entry->d_name);
            if (s_run_file (path)) {
                closedir (dir);
                return 1;
            }
            count++;
        }
        if (dir)
            closedir (dir);
    }
    //  The empty input always runs too.
    LLVMFuzzerTestOneInput ((const uint8_t *) "", 0);
    printf ("%d inputs replayed\n", count + 1);
    return 0;
}
