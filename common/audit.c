/*  tsr_audit: hash-chained audit rows (see audit.h).
*/
#include "tessera/audit.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_VERIFY_BATCH 1000

static void
s_put_be (uint8_t *out, uint64_t value, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--) {
        out [i] = (uint8_t) (value & 0xff);
        value >>= 8;
    }
}

static void
s_hash_field (EVP_MD_CTX *md, const char *text)
{
    uint8_t len_be [4];
    size_t len = text ? strlen (text) : 0;
    s_put_be (len_be, (uint64_t) len, 4);
    EVP_DigestUpdate (md, len_be, 4);
    if (len)
        EVP_DigestUpdate (md, text, len);
}

void
tsr_audit_hash (const tsr_audit_entry_t *entry, const uint8_t prev_hash [TSR_AUDIT_HASH_SIZE],
                uint8_t hash [TSR_AUDIT_HASH_SIZE])
{
    static const char domain [] = "tessera-audit-v1";
    uint8_t numbers [16];
    s_put_be (numbers, (uint64_t) entry->seq, 8);
    s_put_be (numbers + 8, (uint64_t) entry->at_unix_us, 8);
    EVP_MD_CTX *md = EVP_MD_CTX_new ();
    unsigned int out_len = 0;
    if (!md || !EVP_DigestInit_ex (md, EVP_sha256 (), NULL)) {
        //  Only on allocation failure: a hash that never matches.
        memset (hash, 0xff, TSR_AUDIT_HASH_SIZE);
        EVP_MD_CTX_free (md);
        return;
    }
    EVP_DigestUpdate (md, domain, sizeof domain);   //  with its NUL
    EVP_DigestUpdate (md, numbers, sizeof numbers);
    s_hash_field (md, entry->actor);
    s_hash_field (md, entry->action);
    s_hash_field (md, entry->subject);
    s_hash_field (md, entry->trace_id);
    s_hash_field (md, entry->details);
    EVP_DigestUpdate (md, prev_hash, TSR_AUDIT_HASH_SIZE);
    EVP_DigestFinal_ex (md, hash, &out_len);
    EVP_MD_CTX_free (md);
}

static int
s_hex_decode (const char *hex, uint8_t *out, size_t out_size)
{
    //  bytea text output: "\x" then hex.
    if (strncmp (hex, "\\x", 2) == 0)
        hex += 2;
    if (strlen (hex) != out_size * 2)
        return -1;
    for (size_t i = 0; i < out_size; i++) {
        unsigned int byte;
        if (sscanf (hex + 2 * i, "%2x", &byte) != 1)
            return -1;
        out [i] = (uint8_t) byte;
    }
    return 0;
}

//  One statement, one round trip, so that the head's row lock (which
//  serialises every append until its transaction ends) is taken by the
//  last statement a handler sends. The head moves on and hands back the
//  link it replaced; PostgreSQL hashes exactly the bytes tsr_audit_hash
//  takes (the domain with its NUL, seq and time big-endian, each field as
//  a 4-byte big-endian length and its bytes in the client's encoding, the
//  previous hash), and verify recomputes it in C.
static const char s_append_sql [] =
    "WITH field AS (SELECT convert_to($2::text, enc) AS actor,"
    " convert_to($3::text, enc) AS action, convert_to($4::text, enc) AS subject,"
    " convert_to($5::text, enc) AS trace_id, convert_to($6::text, enc) AS details"
    " FROM (SELECT pg_client_encoding () AS enc) AS client),"
    " head AS (UPDATE audit_head SET seq = seq + 1, prev_hash = row_hash,"
    " row_hash = sha256 ('\\x746573736572612d61756469742d763100'::bytea"
    " || int8send (seq + 1) || int8send ($1::bigint)"
    " || int4send (length (field.actor)) || field.actor"
    " || int4send (length (field.action)) || field.action"
    " || int4send (length (field.subject)) || field.subject"
    " || int4send (length (field.trace_id)) || field.trace_id"
    " || int4send (length (field.details)) || field.details || row_hash)"
    " FROM field WHERE id RETURNING seq, prev_hash, row_hash)"
    " INSERT INTO audit_log (seq, at_unix_us, actor, action, subject, trace_id, details,"
    " prev_hash, row_hash)"
    " SELECT seq, $1, $2, $3, $4, $5, $6, prev_hash, row_hash FROM head";

static void
s_at_now (char at_text [24])
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    snprintf (at_text, 24, "%" PRId64, (int64_t) now.tv_sec * 1000000 + now.tv_nsec / 1000);
}

int
tsr_audit_append (tsr_db_t *db, const char *actor, const char *action,
                  const char *subject, const char *trace_id, const char *details)
{
    char at_text [24];
    s_at_now (at_text);
    const char *values [] = { at_text, actor ? actor : "", action ? action : "",
                              subject ? subject : "", trace_id ? trace_id : "",
                              details ? details : "{}" };
    PGresult *res = tsr_db_prepared (db, s_append_sql, 6, values);
    if (!res)
        return -1;
    //  No head row: nothing was appended.
    int rc = strcmp (PQcmdTuples (res), "1") == 0 ? 0 : -1;
    PQclear (res);
    return rc;
}

int
tsr_audit_append_json (tsr_db_t *db, const char *actor, const char *action,
                       const char *subject, const char *trace_id, tsr_json_t **json_p)
{
    char *details = NULL;
    if (json_p && *json_p && !(details = tsr_json_finish (json_p)))
        return -1;      //  out of memory: no row without its details
    int rc = tsr_audit_append (db, actor, action, subject, trace_id, details);
    free (details);
    return rc;
}

int
tsr_audit_append_at_commit (tsr_db_t *db, const char *actor, const char *action,
                            const char *subject, const char *trace_id, const char *details)
{
    if (!tsr_db_in_transaction (db))
        return -1;
    char at_text [24];
    s_at_now (at_text);
    const char *values [] = { at_text, actor ? actor : "", action ? action : "",
                              subject ? subject : "", trace_id ? trace_id : "",
                              details ? details : "{}" };
    return tsr_db_at_commit (db, s_append_sql, 6, values, NULL, NULL);
}

static int
s_broken (tsr_audit_report_t *report, int64_t seq, const char *reason)
{
    report->first_broken_seq = seq;
    snprintf (report->reason, sizeof report->reason, "%s", reason);
    return 1;
}

static int
s_verify (tsr_db_t *db, tsr_audit_report_t *report)
{
    uint8_t prev [TSR_AUDIT_HASH_SIZE] = { 0 };
    int64_t expected_seq = 1;
    for (;;) {
        char after [24];
        snprintf (after, sizeof after, "%" PRId64, expected_seq - 1);
        const char *values [] = { after };
        PGresult *res = tsr_db_query (db,
            "SELECT seq, at_unix_us, actor, action, subject, trace_id, details,"
            " prev_hash, row_hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 1000",
            1, values);
        if (!res)
            return -1;
        int rows = PQntuples (res);
        for (int r = 0; r < rows; r++) {
            tsr_audit_entry_t entry = {
                .seq = strtoll (PQgetvalue (res, r, 0), NULL, 10),
                .at_unix_us = strtoll (PQgetvalue (res, r, 1), NULL, 10),
                .actor = PQgetvalue (res, r, 2),
                .action = PQgetvalue (res, r, 3),
                .subject = PQgetvalue (res, r, 4),
                .trace_id = PQgetvalue (res, r, 5),
                .details = PQgetvalue (res, r, 6)
            };
            uint8_t stored_prev [TSR_AUDIT_HASH_SIZE], stored_hash [TSR_AUDIT_HASH_SIZE];
            uint8_t computed [TSR_AUDIT_HASH_SIZE];
            int rc = 0;
            if (entry.seq != expected_seq)
                rc = s_broken (report, expected_seq, "row missing (sequence gap)");
            else
            if (s_hex_decode (PQgetvalue (res, r, 7), stored_prev, sizeof stored_prev)
            ||  s_hex_decode (PQgetvalue (res, r, 8), stored_hash, sizeof stored_hash))
                rc = s_broken (report, entry.seq, "hash column unreadable");
            else
            if (CRYPTO_memcmp (stored_prev, prev, sizeof prev) != 0)
                rc = s_broken (report, entry.seq, "previous-hash link does not match the row before");
            else {
                tsr_audit_hash (&entry, prev, computed);
                if (CRYPTO_memcmp (computed, stored_hash, sizeof computed) != 0)
                    rc = s_broken (report, entry.seq, "row content does not match its hash");
            }
            if (rc) {
                PQclear (res);
                return rc;
            }
            memcpy (prev, stored_hash, sizeof prev);
            report->rows_checked++;
            expected_seq++;
        }
        PQclear (res);
        if (rows < S_VERIFY_BATCH)
            break;
    }
    //  A removed tail leaves no gap in the rows: the head remembers the count.
    PGresult *head = tsr_db_query (db, "SELECT seq FROM audit_head WHERE id", 0, NULL);
    if (!head)
        return -1;
    int64_t head_seq = PQntuples (head) == 1 ? strtoll (PQgetvalue (head, 0, 0), NULL, 10) : -1;
    PQclear (head);
    if (head_seq != expected_seq - 1)
        return s_broken (report, expected_seq, "rows missing at the end of the chain");
    return 0;
}

//  The rows (read in batches) and the head must be one snapshot: read one
//  after the other while the service appends, the head would count rows
//  the batches never saw, and a sound chain would look cut short. Inside a
//  caller's transaction, that transaction's view is used as it is.
int
tsr_audit_verify (tsr_db_t *db, tsr_audit_report_t *report)
{
    memset (report, 0, sizeof *report);
    if (tsr_db_in_transaction (db))
        return s_verify (db, report);
    if (tsr_db_begin (db))
        return -1;
    PGresult *res = tsr_db_query (db, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
                                  0, NULL);
    int rc = res ? s_verify (db, report) : -1;
    PQclear (res);
    tsr_db_rollback (db);
    return rc;
}
