/*  ca_crl_copy: a CRL's rows moved with COPY in binary (see ca_crl_copy.h).

    The binary COPY format (PostgreSQL's documentation, "COPY", "Binary
    Format"): an 11-byte signature, a 32-bit flags word and a 32-bit header
    extension length; then per row a 16-bit field count and per field a
    32-bit length (-1 for NULL) and the field's binary form; a field count
    of -1 ends the data. All integers are big-endian; a timestamptz is the
    count of microseconds since 2000-01-01 00:00 UTC.
*/
#include "ca_crl_copy.h"

#include "tessera/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_SIGNATURE "PGCOPY\n\377\r\n"  //  and its terminating NUL: 11 octets
#define S_SIGNATURE_SIZE 11
#define S_HEADER_SIZE (S_SIGNATURE_SIZE + 8)
#define S_EPOCH_2000 946684800LL         //  2000-01-01 in Unix seconds
#define S_US 1000000LL
#define S_FIELDS 5
#define S_STATE_GOOD 1
#define S_RFC_REMOVE 8
#define S_PIECE (1024 * 1024)           //  DER sent to the server per CopyData

static uint32_t
s_get32 (const uint8_t *p)
{
    return (uint32_t) p [0] << 24 | (uint32_t) p [1] << 16 | (uint32_t) p [2] << 8 | p [3];
}

static uint64_t
s_get64 (const uint8_t *p)
{
    return (uint64_t) s_get32 (p) << 32 | s_get32 (p + 4);
}

static uint8_t *
s_put16 (uint8_t *out, uint16_t value)
{
    *out++ = (uint8_t) (value >> 8);
    *out++ = (uint8_t) value;
    return out;
}

static uint8_t *
s_put32 (uint8_t *out, uint32_t value)
{
    for (int shift = 24; shift >= 0; shift -= 8)
        *out++ = (uint8_t) (value >> shift);
    return out;
}

static uint8_t *
s_put64 (uint8_t *out, uint64_t value)
{
    out = s_put32 (out, (uint32_t) (value >> 32));
    return s_put32 (out, (uint32_t) value);
}

//  Unix seconds from a timestamptz, rounded half away from zero as
//  extract(epoch FROM t)::bigint rounds. Out of range (infinity, or past
//  what a CRL can hold): INT64_MAX, which ca_crl_entries_add refuses.
static int64_t
s_unix_seconds (int64_t us_2000)
{
    if (us_2000 > INT64_MAX - S_EPOCH_2000 * S_US - S_US || us_2000 <= INT64_MIN + S_US)
        return INT64_MAX;
    int64_t us = us_2000 + S_EPOCH_2000 * S_US;
    return us >= 0 ? (us + S_US / 2) / S_US : -((-us + S_US / 2) / S_US);
}

typedef struct {
    ca_crl_entries_t *entries;
    time_t now;
    bool header_seen;
    bool ended;
} s_reader_t;

//  One field: its value and length (-1 for NULL). false when it runs past
//  the message.
static bool
s_field (const uint8_t *data, size_t size, size_t *pos, const uint8_t **value, int32_t *length)
{
    if (size - *pos < 4)
        return false;
    *length = (int32_t) s_get32 (data + *pos);
    *pos += 4;
    *value = data + *pos;
    if (*length < 0)
        return *length == -1;
    if (size - *pos < (size_t) *length)
        return false;
    *pos += (size_t) *length;
    return true;
}

//  An integer field of `width` octets (2 or 8), NULL as 0.
static bool
s_integer (const uint8_t *value, int32_t length, int width, int64_t *out)
{
    if (length == -1) {
        *out = 0;
        return true;
    }
    if (length != width)
        return false;
    *out = width == 2 ? (int16_t) (value [0] << 8 | value [1]) : (int64_t) s_get64 (value);
    return true;
}

//  One row: serial, state, reason, revoked_at, invalidity_date.
static int
s_row (s_reader_t *self, const uint8_t *data, size_t size, size_t *pos)
{
    const uint8_t *value [S_FIELDS];
    int32_t length [S_FIELDS];
    for (int i = 0; i < S_FIELDS; i++)
        if (!s_field (data, size, pos, &value [i], &length [i]))
            return -1;
    int64_t state, reason, revoked_at, invalidity;
    if (length [0] < 0 || !s_integer (value [1], length [1], 2, &state)
    ||  !s_integer (value [2], length [2], 2, &reason)
    ||  !s_integer (value [3], length [3], 8, &revoked_at)
    ||  !s_integer (value [4], length [4], 8, &invalidity))
        return -1;
    revoked_at = length [3] == -1 ? 0 : s_unix_seconds (revoked_at);
    invalidity = length [4] == -1 ? 0 : s_unix_seconds (invalidity);
    if (state == S_STATE_GOOD)         //  a released hold, in a delta
        return ca_crl_entries_add_octets (self->entries, value [0], (size_t) length [0],
                                          S_RFC_REMOVE, (int64_t) self->now, 0);
    return ca_crl_entries_add_octets (self->entries, value [0], (size_t) length [0],
                                      (int) reason, revoked_at, invalidity > 0 ? invalidity : 0);
}

//  One CopyData message: the header (with the first row), rows, the end.
//  The server sends each row whole in one message.
static int
s_message (s_reader_t *self, const uint8_t *data, size_t size)
{
    size_t pos = 0;
    if (!self->header_seen) {
        if (size < S_HEADER_SIZE || memcmp (data, S_SIGNATURE, S_SIGNATURE_SIZE) != 0)
            return -1;
        uint32_t extension = s_get32 (data + S_SIGNATURE_SIZE + 4);
        if (extension > size - S_HEADER_SIZE)
            return -1;
        pos = S_HEADER_SIZE + extension;
        self->header_seen = true;
    }
    while (pos < size) {
        if (self->ended || size - pos < 2)
            return -1;
        int16_t fields = (int16_t) (data [pos] << 8 | data [pos + 1]);
        pos += 2;
        if (fields == -1)
            self->ended = true;
        else
        if (fields != S_FIELDS || s_row (self, data, size, &pos))
            return -1;
    }
    return 0;
}

static void
s_fail (PGconn *conn, const char *what, const char *trace_id)
{
    char reason [512];
    snprintf (reason, sizeof reason, "%s", conn ? PQerrorMessage (conn) : "no connection");
    reason [strcspn (reason, "\r\n")] = '\0';
    tsr_log_error (trace_id, "ca.crl_copy_failed", "step", what, "reason", reason, NULL);
}

//  The results that end a COPY: 0 when it succeeded.
static int
s_finish (PGconn *conn)
{
    int rc = 0;
    PGresult *res;
    while ((res = PQgetResult (conn))) {
        if (PQresultStatus (res) != PGRES_COMMAND_OK)
            rc = -1;
        PQclear (res);
    }
    return rc;
}

int
ca_crl_copy_entries (tsr_db_t *db, const char *issuer, uint64_t base, uint64_t base_covers,
                     time_t now, ca_crl_entries_t *entries, const char *trace_id)
{
    PGconn *conn = tsr_db_conn (db);
    if (!conn || PQstatus (conn) != CONNECTION_OK) {
        s_fail (conn, "connection", trace_id);
        return -1;
    }
    char *quoted = PQescapeLiteral (conn, issuer, strlen (issuer));
    if (!quoted) {
        s_fail (conn, "quoting", trace_id);
        return -1;
    }
    char sql [512];
    int written = base
        ? snprintf (sql, sizeof sql,
                  "COPY (SELECT serial, state, reason, revoked_at, invalidity_date"
                  " FROM certificates WHERE issuer_sha256 = %s AND change_seq > %" PRIu64 ")"
                  " TO STDOUT (FORMAT binary)", quoted, base_covers)
        : snprintf (sql, sizeof sql,
                  "COPY (SELECT serial, state, reason, revoked_at, invalidity_date"
                  " FROM certificates WHERE issuer_sha256 = %s AND state IN (2, 3))"
                  " TO STDOUT (FORMAT binary)", quoted);
    PQfreemem (quoted);
    if (written < 0 || (size_t) written >= sizeof sql) {
        tsr_log_error (trace_id, "ca.crl_copy_failed", "step", "reading the entries",
                       "reason", "the issuer does not fit in the statement", NULL);
        return -1;
    }
    PGresult *res = PQexec (conn, sql);
    bool started = PQresultStatus (res) == PGRES_COPY_OUT;
    PQclear (res);
    if (!started) {
        s_fail (conn, "reading the entries", trace_id);
        return -1;
    }
    s_reader_t reader = { .entries = entries, .now = now };
    int rc = 0;
    char *data;
    int size;
    //  A bad row does not stop the reading: the connection must see the
    //  COPY to its end before the transaction can be rolled back.
    while ((size = PQgetCopyData (conn, &data, 0)) > 0) {
        if (rc == 0 && s_message (&reader, (const uint8_t *) data, (size_t) size))
            rc = -1;
        PQfreemem (data);
    }
    if (size == -2 || s_finish (conn)) {
        s_fail (conn, "reading the entries", trace_id);
        return -1;
    }
    if (rc || !reader.ended) {
        tsr_log_error (trace_id, "ca.crl_copy_failed", "step", "reading the entries",
                       "reason", "a certificate row does not fit in a CRL entry", NULL);
        return -1;
    }
    return 0;
}

int
ca_crl_copy_store (tsr_db_t *db, const ca_crl_row_t *row, const char *trace_id)
{
    PGconn *conn = tsr_db_conn (db);
    size_t issuer_size = strlen (row->issuer);
    if (row->der_size > INT32_MAX || issuer_size > 128) {
        tsr_log_error (trace_id, "ca.crl_copy_failed", "step", "storing the CRL",
                       "reason", "the CRL is too large for one field", NULL);
        return -1;
    }
    if (!conn || PQstatus (conn) != CONNECTION_OK) {
        s_fail (conn, "connection", trace_id);
        return -1;
    }
    //  The header and every field before the DER, then the DER, then the end.
    uint8_t head [S_HEADER_SIZE + 2 + 4 + 128 + 7 * (4 + 8)];
    uint8_t *out = head;
    memcpy (out, S_SIGNATURE, S_SIGNATURE_SIZE);
    out = s_put32 (out + S_SIGNATURE_SIZE, 0);
    out = s_put32 (out, 0);
    out = s_put16 (out, 8);
    out = s_put32 (out, (uint32_t) issuer_size);
    memcpy (out, row->issuer, issuer_size);
    out += issuer_size;
    out = s_put64 (s_put32 (out, 8), row->number);
    out = s_put32 (out, 1);
    *out++ = row->base ? 1 : 0;
    out = row->base ? s_put64 (s_put32 (out, 8), row->base) : s_put32 (out, UINT32_MAX);
    out = s_put64 (s_put32 (out, 8), row->covered);
    out = s_put64 (s_put32 (out, 8), (uint64_t) (((int64_t) row->this_update - S_EPOCH_2000) * S_US));
    out = s_put64 (s_put32 (out, 8), (uint64_t) (((int64_t) row->next_update - S_EPOCH_2000) * S_US));
    out = s_put32 (out, (uint32_t) row->der_size);
    uint8_t tail [2];
    s_put16 (tail, UINT16_MAX);         //  -1: no more rows

    PGresult *res = PQexec (conn,
        "COPY crls (issuer_sha256, crl_number, is_delta, base_number, covers_change_seq,"
        " this_update, next_update, crl_der) FROM STDIN (FORMAT binary)");
    bool started = PQresultStatus (res) == PGRES_COPY_IN;
    PQclear (res);
    if (!started) {
        s_fail (conn, "storing the CRL", trace_id);
        return -1;
    }
    bool sent = PQputCopyData (conn, (const char *) head, (int) (out - head)) == 1;
    for (size_t offset = 0; sent && offset < row->der_size; offset += S_PIECE) {
        size_t piece = row->der_size - offset < S_PIECE ? row->der_size - offset : S_PIECE;
        sent = PQputCopyData (conn, (const char *) row->der + offset, (int) piece) == 1;
    }
    sent = sent && PQputCopyData (conn, (const char *) tail, sizeof tail) == 1;
    //  Ended either way; with an error message the server refuses the COPY.
    bool ended = PQputCopyEnd (conn, sent ? NULL : "the CRL could not be sent whole") == 1;
    if (s_finish (conn) || !sent || !ended) {
        s_fail (conn, "storing the CRL", trace_id);
        return -1;
    }
    return 0;
}
