/*  tsr_files: the file-system habits every service shares.
*/
#ifndef TSR_FILES_H
#define TSR_FILES_H

#include <stddef.h>

//  Makes directory a private folder for keys and secrets: missing parents
//  are created 0755 (umask applies), the folder itself 0700; an existing
//  folder open to others is closed to 0700. Returns 0, or -1 with the
//  reason in err (a path that is not a folder, a path too long, mkdir's
//  errno).
int tsr_make_private_dir (const char *directory, char *err, size_t err_size);

#endif
