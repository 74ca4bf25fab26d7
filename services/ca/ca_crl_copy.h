/*  ca_crl_copy: a CRL's rows moved with COPY in binary, for CRLs of a
    million entries.

    Reading: one COPY ... TO STDOUT of the raw columns (the serial's octets,
    the timestamps as integers) streams the entries while they are parsed,
    where a cursor took fifty FETCH round trips of text, each through a
    tuple store, and extract() computed a numeric per timestamp. Storing:
    the crls row goes in by COPY ... FROM STDIN, the DER sent in 1 MiB
    pieces: as a statement parameter it sat whole in libpq's output buffer
    (which never shrinks, so each worker kept 64 MiB) and the planner copied
    it twice as a constant.

    Both run inside the caller's transaction, on its connection. COPY takes
    no parameters: the issuer (64 hex digits) is quoted with
    PQescapeLiteral, the numbers are formatted.
*/
#ifndef CA_CRL_COPY_H
#define CA_CRL_COPY_H

#include "ca_crl_der.h"

#include "tessera/db.h"

#include <stdint.h>
#include <time.h>

//  Adds the entries of a full CRL (base 0: every certificate revoked or on
//  hold) or of a delta (every certificate changed after base_covers; a
//  released hold is removeFromCRL as of now). Revocation and invalidity
//  dates are rounded to the second as extract(epoch)::bigint rounds. 0, or
//  -1 (logged under trace_id).
int ca_crl_copy_entries (tsr_db_t *db, const char *issuer, uint64_t base, uint64_t base_covers,
                         time_t now, ca_crl_entries_t *entries, const char *trace_id);

typedef struct {
    const char *issuer;                 //  issuer_sha256
    uint64_t number;
    uint64_t base;                      //  0 for a full CRL
    uint64_t covered;                   //  covers_change_seq
    time_t this_update, next_update;
    const uint8_t *der;
    size_t der_size;
} ca_crl_row_t;

//  Inserts the crls row. 0, or -1 (logged under trace_id).
int ca_crl_copy_store (tsr_db_t *db, const ca_crl_row_t *row, const char *trace_id);

#endif
