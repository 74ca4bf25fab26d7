/*  publisher_store: the publisher's tables (see publisher_store.h).
*/
#include "publisher_store.h"
#include "publisher_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
publisher_store_crl_from_row (PGresult *res, int row, publisher_crl_row_t *out)
{
    memset (out, 0, sizeof *out);
    snprintf (out->issuer_sha256, sizeof out->issuer_sha256, "%s", PQgetvalue (res, row, 0));
    out->number = strtoull (PQgetvalue (res, row, 1), NULL, 10);
    out->delta = PQgetvalue (res, row, 2) [0] == 't';
    out->base = strtoull (PQgetvalue (res, row, 3), NULL, 10);
    out->this_update = strtoll (PQgetvalue (res, row, 4), NULL, 10);
    out->next_update = strtoll (PQgetvalue (res, row, 5), NULL, 10);
    out->entry_count = (uint32_t) strtoul (PQgetvalue (res, row, 6), NULL, 10);
    snprintf (out->crl_sha256, sizeof out->crl_sha256, "%s", PQgetvalue (res, row, 7));
    out->size = (uint32_t) strtoul (PQgetvalue (res, row, 8), NULL, 10);
    out->trigger = (int) strtol (PQgetvalue (res, row, 9), NULL, 10);
    out->covers_event_seq = strtoull (PQgetvalue (res, row, 10), NULL, 10);
    out->generated_at_ms = strtoll (PQgetvalue (res, row, 11), NULL, 10);
    out->published_at_ms = strtoll (PQgetvalue (res, row, 12), NULL, 10);
}

int
publisher_store_crl_insert (tsr_db_t *db, const publisher_crl_row_t *row, const uint8_t *der,
                            size_t size)
{
    char number [24], base [24], this_update [24], next_update [24], entries [16], trigger [8],
         covers [24], generated [24], published [24];
    snprintf (number, sizeof number, "%llu", (unsigned long long) row->number);
    snprintf (base, sizeof base, "%llu", (unsigned long long) row->base);
    snprintf (this_update, sizeof this_update, "%lld", (long long) row->this_update);
    snprintf (next_update, sizeof next_update, "%lld", (long long) row->next_update);
    snprintf (entries, sizeof entries, "%u", row->entry_count);
    snprintf (trigger, sizeof trigger, "%d", row->trigger);
    snprintf (covers, sizeof covers, "%llu", (unsigned long long) row->covers_event_seq);
    snprintf (generated, sizeof generated, "%lld", (long long) row->generated_at_ms);
    snprintf (published, sizeof published, "%lld", (long long) row->published_at_ms);
    const char *values [] = { row->issuer_sha256, number, row->delta ? "true" : "false",
                              row->delta ? base : NULL, this_update, next_update, entries,
                              row->crl_sha256, (const char *) der, trigger, covers, generated,
                              published };
    int lengths [] = { 0, 0, 0, 0, 0, 0, 0, 0, (int) size, 0, 0, 0, 0 };
    int formats [] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0 };
    PGresult *res = tsr_db_query_ex (db,
        "INSERT INTO crls (issuer_sha256, crl_number, is_delta, base_number, this_update,"
        " next_update, entry_count, crl_sha256, crl_der, trigger, covers_event_seq,"
        " generated_at_ms, published_at_ms)"
        " VALUES ($1, $2::bigint, $3::boolean, $4::bigint, $5::bigint, $6::bigint, $7::integer,"
        " $8, $9, $10::smallint, $11::bigint, $12::bigint, $13::bigint)",
        13, values, lengths, formats, 0);
    PQclear (res);
    return res ? 0 : -1;
}

int
publisher_store_crl_get (tsr_db_t *db, const char *issuer_sha256, bool delta, uint64_t number,
                         publisher_crl_row_t *out, uint8_t **der, size_t *size)
{
    char number_text [24];
    snprintf (number_text, sizeof number_text, "%llu", (unsigned long long) number);
    const char *values [] = { issuer_sha256, delta ? "true" : "false", number_text };
    PGresult *res = tsr_db_query (db, PUBLISHER_CRL_SELECT
        " WHERE issuer_sha256 = $1 AND is_delta = $2::boolean"
        " AND ($3::bigint = 0 OR crl_number = $3::bigint)"
        " ORDER BY crl_number DESC LIMIT 1", 3, values);
    if (!res)
        return -1;
    int found = PQntuples (res) == 1;
    if (found)
        publisher_store_crl_from_row (res, 0, out);
    PQclear (res);
    if (!found || !der)
        return found;
    //  The DER alone, in binary.
    snprintf (number_text, sizeof number_text, "%llu", (unsigned long long) out->number);
    const char *key [] = { issuer_sha256, number_text };
    res = tsr_db_query_ex (db, "SELECT crl_der FROM crls WHERE issuer_sha256 = $1"
                           " AND crl_number = $2::bigint", 2, key, NULL, NULL, 1);
    if (!res || PQntuples (res) != 1) {
        PQclear (res);
        return -1;
    }
    *size = (size_t) PQgetlength (res, 0, 0);
    *der = malloc (*size ? *size : 1);
    if (*der)
        memcpy (*der, PQgetvalue (res, 0, 0), *size);
    PQclear (res);
    return *der ? 1 : -1;
}

//  One unsigned number from a one-row, one-column query (0 when NULL).
static int
s_number (tsr_db_t *db, const char *sql, int count, const char *const *values, uint64_t *out)
{
    PGresult *res = tsr_db_query (db, sql, count, values);
    if (!res || PQntuples (res) != 1) {
        PQclear (res);
        return -1;
    }
    *out = PQgetisnull (res, 0, 0) ? 0 : strtoull (PQgetvalue (res, 0, 0), NULL, 10);
    PQclear (res);
    return 0;
}

int
publisher_store_crl_max_number (tsr_db_t *db, const char *issuer_sha256, uint64_t *number)
{
    const char *values [] = { issuer_sha256 };
    return s_number (db, "SELECT max(crl_number) FROM crls WHERE issuer_sha256 = $1", 1, values,
                     number);
}

int
publisher_store_delta_base (tsr_db_t *db, const char *issuer_sha256, int64_t now, uint64_t *base)
{
    char now_text [24];
    snprintf (now_text, sizeof now_text, "%lld", (long long) now);
    const char *values [] = { issuer_sha256, now_text };
    if (s_number (db, "SELECT min(crl_number) FROM crls WHERE issuer_sha256 = $1"
                  " AND NOT is_delta AND next_update > $2::bigint", 2, values, base))
        return -1;
    return *base ? 1 : 0;
}

int
publisher_store_pending_since (tsr_db_t *db, const char *issuer_sha256, int64_t *pending_since_ms)
{
    const char *values [] = { issuer_sha256 };
    uint64_t since = 0;
    int rc = s_number (db,
        "SELECT min(applied_at_ms) FROM status_changes WHERE event_seq >"
        " (SELECT coalesce(max(covers_event_seq), 0) FROM crls"
        "  WHERE issuer_sha256 = $1 AND NOT is_delta)", 1, values, &since);
    *pending_since_ms = (int64_t) since;
    return rc;
}

int
publisher_store_event_seq (tsr_db_t *db, uint64_t *seq)
{
    return s_number (db, "SELECT coalesce(max(last_seq), 0) FROM event_cursors"
                     " WHERE source = 'ca'", 0, NULL, seq);
}

int
publisher_store_issuer_save (tsr_db_t *db, const char *issuer_sha256, const uint8_t *cert,
                             size_t cert_size, const uint8_t *root, size_t root_size)
{
    char name [PUBLISHER_NAME_SIZE];
    publisher_issuer_name (issuer_sha256, name);
    if (tsr_db_begin (db))
        return -1;
    const char *values [] = { issuer_sha256, name, (const char *) cert, (const char *) root };
    int lengths [] = { 0, 0, (int) cert_size, (int) root_size };
    int formats [] = { 0, 0, 1, 1 };
    const char *key [] = { issuer_sha256 };
    PGresult *res = tsr_db_query (db, "UPDATE issuers SET is_current = false"
                                  " WHERE is_current AND issuer_sha256 <> $1", 1, key);
    PQclear (res);
    if (res) {
        res = tsr_db_query_ex (db,
            "INSERT INTO issuers (issuer_sha256, name, certificate_der, root_der)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (issuer_sha256)"
            " DO UPDATE SET is_current = true, root_der = EXCLUDED.root_der",
            4, values, lengths, formats, 0);
        PQclear (res);
    }
    if (!res || tsr_db_commit (db)) {
        tsr_db_rollback (db);
        return -1;
    }
    return 0;
}

int
publisher_store_issuer_resolve (tsr_db_t *db, const char *issuer, char sha256 [65])
{
    const char *name = issuer && *issuer && strcmp (issuer, PUBLISHER_CURRENT_NAME) ? issuer : "";
    const char *values [] = { name };
    PGresult *res = tsr_db_query (db,
        "SELECT issuer_sha256 FROM issuers WHERE ($1 = '' AND is_current)"
        " OR ($1 <> '' AND (name = lower($1) OR issuer_sha256 = lower($1)))", 1, values);
    if (!res)
        return -1;
    int found = PQntuples (res) == 1;
    if (found)
        snprintf (sha256, 65, "%s", PQgetvalue (res, 0, 0));
    PQclear (res);
    return found;
}
