/*  Fuzz target: subject names built from request fields (the input is cut
    into the fields at NUL bytes).
*/
#include "ca_subject.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char *text = malloc (size + 6);
    if (!text)
        return 0;
    memcpy (text, data, size);
    memset (text + size, 0, 6);
    const char *fields [6];
    size_t offset = 0;
    for (int i = 0; i < 6; i++) {
        fields [i] = text + offset;
        offset += strlen (text + offset) + 1;
        if (offset > size + 5)
            offset = size + 5;
    }
    ca_subject_fields_t subject = {
        .given_name = fields [0], .surname = fields [1], .organization = fields [2],
        .organization_id = fields [3], .common_name = fields [4], .email = fields [5],
    };
    char err [256];
    for (int holder = 0; holder < 2; holder++) {
        X509_NAME *name = ca_subject_build (&subject, holder, err, sizeof err);
        X509_NAME_free (name);
    }
    free (text);
    return 0;
}
