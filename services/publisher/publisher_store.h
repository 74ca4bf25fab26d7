/*  publisher_store: the publisher's tables (sql/001_publisher.sql) seen as
    C structures: issuers, published CRLs, pending revocations.

    Every function runs on the caller's connection, inside or outside a
    transaction as the caller decides; none keeps state.
*/
#ifndef PUBLISHER_STORE_H
#define PUBLISHER_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include "tessera/db.h"

//  One published CRL, without its DER.
typedef struct {
    char issuer_sha256 [65];
    bool delta;
    uint64_t number;
    uint64_t base;                  //  delta only
    int64_t this_update;            //  unix seconds
    int64_t next_update;
    uint32_t entry_count;
    char crl_sha256 [65];
    uint32_t size;
    int trigger;                    //  CrlTrigger
    uint64_t covers_event_seq;
    int64_t generated_at_ms;
    int64_t published_at_ms;
} publisher_crl_row_t;

//  The columns publisher_store_crl_from_row reads, in order.
#define PUBLISHER_CRL_SELECT \
    "SELECT issuer_sha256, crl_number, is_delta, coalesce(base_number, 0), this_update," \
    " next_update, entry_count, crl_sha256, length(crl_der), trigger, covers_event_seq," \
    " generated_at_ms, published_at_ms FROM crls"

void publisher_store_crl_from_row (PGresult *res, int row, publisher_crl_row_t *out);

int publisher_store_crl_insert (tsr_db_t *db, const publisher_crl_row_t *row,
                                const uint8_t *der, size_t size);

//  The CRL numbered number (0: the latest) of the issuer and kind; with its
//  DER (malloc) when der is not NULL. 1 found, 0 none, -1 error.
int publisher_store_crl_get (tsr_db_t *db, const char *issuer_sha256, bool delta,
                             uint64_t number, publisher_crl_row_t *out, uint8_t **der,
                             size_t *size);

//  The largest CRL number published for the issuer, full or delta (0:
//  none). 0, or -1.
int publisher_store_crl_max_number (tsr_db_t *db, const char *issuer_sha256, uint64_t *number);

//  A delta's base: the oldest full CRL still within its nextUpdate at now,
//  so that every relying party holding a valid full CRL can apply the
//  delta (RFC 5280 5.2.4). 1 found, 0 none, -1 error.
int publisher_store_delta_base (tsr_db_t *db, const char *issuer_sha256, int64_t now,
                                uint64_t *base);

//  When the oldest status change no full CRL covers yet was applied (0:
//  none). 0, or -1.
int publisher_store_pending_since (tsr_db_t *db, const char *issuer_sha256,
                                   int64_t *pending_since_ms);

//  The last ca event applied (the consumer's cursor; 0 before any). 0, or -1.
int publisher_store_event_seq (tsr_db_t *db, uint64_t *seq);

//  Records the issuer (once) and makes it the current one.
int publisher_store_issuer_save (tsr_db_t *db, const char *issuer_sha256, const uint8_t *cert,
                                 size_t cert_size, const uint8_t *root, size_t root_size);

//  Resolves an issuer as the API names it: "" or "issuing" (the current
//  one), its 16-hex name, or its full SHA-256. 1 found (sha256 filled),
//  0 none, -1 error.
int publisher_store_issuer_resolve (tsr_db_t *db, const char *issuer, char sha256 [65]);

#endif
