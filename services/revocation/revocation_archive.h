/*  revocation_archive: closed requests (applied or rejected) are archived
    with everything that justified them (the channel's authentication, the
    form's digest, the decision) and kept REVOCATION_RETENTION (5 years)
    from then; ExportRevocationArchive reads them back page by page. The
    archive is the same table: archiving sets archived_at and retain_until
    and closes the request's certificates; nothing is ever deleted
    (the runtime role has no DELETE).
*/
#ifndef REVOCATION_ARCHIVE_H
#define REVOCATION_ARCHIVE_H

#include "tessera/bus.h"
#include "tessera/db.h"

//  Archives one closed request in db's transaction: rows, audit row
//  "revocation.archived", event "revocation.archived". 0, or -1.
int revocation_archive (tsr_db_t *db, const char *revocation_id, const char *actor,
                        const char *trace_id);

//  ExportRevocationArchive (handler).
tsr_status_t revocation_handle_export_archive (tsr_call_t *call);

#endif
