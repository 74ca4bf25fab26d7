/*  File-system helpers (see files.h).
*/
#include "tessera/files.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int
tsr_make_private_dir (const char *directory, char *err, size_t err_size)
{
    char path [PATH_MAX];
    size_t len = directory ? strlen (directory) : 0;
    if (len == 0 || len >= sizeof path) {
        snprintf (err, err_size, "a folder path of 1 to %d bytes is required", PATH_MAX - 1);
        return -1;
    }
    memcpy (path, directory, len + 1);
    for (char *slash = strchr (path + 1, '/'); slash; slash = strchr (slash + 1, '/')) {
        *slash = 0;
        if (mkdir (path, 0755) && errno != EEXIST) {
            snprintf (err, err_size, "cannot create %s: %s", path, strerror (errno));
            return -1;
        }
        *slash = '/';
    }
    if (mkdir (path, 0700) && errno != EEXIST) {
        snprintf (err, err_size, "cannot create %s: %s", path, strerror (errno));
        return -1;
    }
    struct stat info;
    if (stat (path, &info) || !S_ISDIR (info.st_mode)) {
        snprintf (err, err_size, "%s is not a folder", path);
        return -1;
    }
    if ((info.st_mode & 0077) && chmod (path, 0700)) {
        snprintf (err, err_size, "cannot make %s private (0700): %s", path, strerror (errno));
        return -1;
    }
    return 0;
}
