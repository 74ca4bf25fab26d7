/*  GetCrl and ListCrls: the publication history, from the crls table.
*/
#include "publisher_handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define S_LIST_MAX 100

void
publisher_crl_info (publisher_state_t *state, const publisher_crl_row_t *row,
                    Tessera__V1__CrlInfo *info, publisher_crl_info_text_t *text)
{
    tessera__v1__crl_info__init (info);
    //  The current issuer is "issuing", as in the certificates' URLs.
    pthread_mutex_lock (&state->lock);
    bool current = strcmp (state->view.issuer_sha256, row->issuer_sha256) == 0;
    pthread_mutex_unlock (&state->lock);
    if (current)
        snprintf (text->name, sizeof text->name, "%s", PUBLISHER_CURRENT_NAME);
    else
        publisher_issuer_name (row->issuer_sha256, text->name);
    char path [64];
    snprintf (path, sizeof path, "/crl/%s%s.crl", text->name, row->delta ? "-delta" : "");
    publisher_state_url (state, path, text->url, sizeof text->url);
    info->issuer = text->name;
    info->issuer_sha256 = (char *) row->issuer_sha256;
    info->kind = row->delta ? TESSERA__V1__CRL_KIND__CRL_KIND_DELTA : TESSERA__V1__CRL_KIND__CRL_KIND_FULL;
    info->crl_number = row->number;
    info->delta_base_crl_number = row->base;
    info->this_update_unix = row->this_update;
    info->next_update_unix = row->next_update;
    info->entry_count = row->entry_count;
    info->crl_sha256 = (char *) row->crl_sha256;
    info->size_bytes = row->size;
    info->trigger = (Tessera__V1__CrlTrigger) row->trigger;
    info->generated_at_unix_ms = row->generated_at_ms;
    info->published_at_unix_ms = row->published_at_ms;
    info->publication_delay_ms = row->published_at_ms - row->generated_at_ms;
    info->url = text->url;
}

static bool
s_kind_ok (Tessera__V1__CrlKind kind)
{
    return kind == TESSERA__V1__CRL_KIND__CRL_KIND_UNSPECIFIED
        || kind == TESSERA__V1__CRL_KIND__CRL_KIND_FULL
        || kind == TESSERA__V1__CRL_KIND__CRL_KIND_DELTA;
}

tsr_status_t
publisher_handle_get_crl (tsr_call_t *call)
{
    tsr_status_t unpack_status;
    Tessera__V1__GetCrlRequest *request = (Tessera__V1__GetCrlRequest *) tsr_call_unpack (
        call, &tessera__v1__get_crl_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    tsr_status_t status;
    char sha256 [65];
    uint8_t *der = NULL;
    size_t size = 0;
    publisher_crl_row_t row;
    memset (&row, 0, sizeof row);
    bool delta = request->kind == TESSERA__V1__CRL_KIND__CRL_KIND_DELTA;
    int found = 0;
    if (!s_kind_ok (request->kind) || strlen (request->issuer) > 64) {
        status = tsr_call_fail (call, S_INVALID, "kind must be full or delta, issuer at most 64 characters");
        goto done;
    }
    found = publisher_store_issuer_resolve (call->db, request->issuer, sha256);
    if (found == 1)
        found = publisher_store_crl_get (call->db, sha256, delta, request->crl_number, &row,
                                         request->include_der ? &der : NULL, &size);
    if (found < 0)
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the published CRLs");
    else
    if (found == 0)
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND,
                                "no such %s CRL published for issuer \"%s\"", delta ? "delta" : "full",
                                request->issuer [0] ? request->issuer : PUBLISHER_CURRENT_NAME);
    else {
        Tessera__V1__CrlInfo info;
        publisher_crl_info_text_t text;
        publisher_crl_info (call->state, &row, &info, &text);
        info.crl_der.data = der;
        info.crl_der.len = der ? size : 0;
        status = tsr_call_reply (call, &info.base, "published CRL");
    }
done:
    free (der);
    tessera__v1__get_crl_request__free_unpacked (request, NULL);
    return status;
}

//  A positive decimal as the service writes it: 1 to 18 digits (it fits
//  a bigint), no sign, space or leading zero. The digits end at *end.
static bool
s_decimal (const char *text, const char **end, long long *value)
{
    size_t digits = strspn (text, "0123456789");
    if (digits < 1 || digits > 18 || text [0] == '0')
        return false;
    long long result = 0;
    for (size_t i = 0; i < digits; i++)
        result = result * 10 + (text [i] - '0');
    *value = result;
    *end = text + digits;
    return true;
}

//  Page tokens are "<generated_at_ms>.<crl_number>" of the last row given,
//  exactly as the service wrote them (strtoll would take spaces, a sign, a
//  wrapped "-1" and an overflow as well).
static bool
s_token (const char *token, long long *generated, unsigned long long *number)
{
    *generated = 0;
    *number = 0;
    if (!token || !*token)
        return true;
    const char *end = NULL;
    long long crl_number = 0;
    if (!s_decimal (token, &end, generated) || *end != '.'
    ||  !s_decimal (end + 1, &end, &crl_number) || *end != 0) {
        *generated = 0;
        return false;
    }
    *number = (unsigned long long) crl_number;
    return true;
}

tsr_status_t
publisher_list_crls_check (tsr_call_t *call, const Tessera__V1__ListCrlsRequest *request,
                           long long *generated, unsigned long long *number)
{
    if (!s_kind_ok (request->kind) || strlen (request->issuer) > 64
    ||  !s_token (request->page_token, generated, number) || request->generated_from_unix < 0)
        return tsr_call_fail (call, S_INVALID, "kind, issuer, generated_from_unix or page_token "
                              "is not valid");
    return TESSERA__V1__STATUS__STATUS_OK;
}

tsr_status_t
publisher_handle_list_crls (tsr_call_t *call)
{
    tsr_status_t unpack_status;
    Tessera__V1__ListCrlsRequest *request = (Tessera__V1__ListCrlsRequest *) tsr_call_unpack (
        call, &tessera__v1__list_crls_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    tsr_status_t status;
    long long generated = 0;
    unsigned long long number = 0;
    char sha256 [65] = "";
    PGresult *res = NULL;
    Tessera__V1__CrlInfo *infos = NULL, **list = NULL;
    publisher_crl_info_text_t *texts = NULL;
    publisher_crl_row_t *rows = NULL;
    if ((status = publisher_list_crls_check (call, request, &generated, &number))
            != TESSERA__V1__STATUS__STATUS_OK)
        goto done;
    if (request->issuer [0]) {
        int found = publisher_store_issuer_resolve (call->db, request->issuer, sha256);
        if (found <= 0) {
            status = found < 0 ? tsr_call_fail (call, S_UNAVAILABLE, "cannot read the issuers")
                               : tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND,
                                                "no issuer \"%s\"", request->issuer);
            goto done;
        }
    }
    uint32_t limit = request->limit == 0 || request->limit > S_LIST_MAX ? S_LIST_MAX : request->limit;
    char kind [4], from [24], token_generated [24], token_number [24], limit_text [12];
    snprintf (kind, sizeof kind, "%d", (int) request->kind);
    snprintf (from, sizeof from, "%lld", (long long) request->generated_from_unix * 1000);
    snprintf (token_generated, sizeof token_generated, "%lld", generated);
    snprintf (token_number, sizeof token_number, "%llu", number);
    snprintf (limit_text, sizeof limit_text, "%u", limit + 1);
    const char *values [] = { sha256, kind, from, token_generated, token_number, limit_text };
    res = tsr_db_query (call->db, PUBLISHER_CRL_SELECT
        " WHERE ($1 = '' OR issuer_sha256 = $1)"
        " AND ($2::int = 0 OR is_delta = ($2::int = 2))"
        " AND generated_at_ms >= $3::bigint"
        " AND ($4::bigint = 0 OR (generated_at_ms, crl_number) < ($4::bigint, $5::bigint))"
        " ORDER BY generated_at_ms DESC, crl_number DESC LIMIT $6::int", 6, values);
    if (!res) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the published CRLs");
        goto done;
    }
    int count = PQntuples (res);
    bool more = count > (int) limit;
    if (more)
        count = (int) limit;
    infos = calloc ((size_t) count + 1, sizeof *infos);
    list = calloc ((size_t) count + 1, sizeof *list);
    texts = calloc ((size_t) count + 1, sizeof *texts);
    rows = calloc ((size_t) count + 1, sizeof *rows);
    if (!infos || !list || !texts || !rows) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "out of memory");
        goto done;
    }
    for (int i = 0; i < count; i++) {
        publisher_store_crl_from_row (res, i, &rows [i]);
        publisher_crl_info (call->state, &rows [i], &infos [i], &texts [i]);
        list [i] = &infos [i];
    }
    char next [48] = "";
    if (more)
        snprintf (next, sizeof next, "%lld.%llu", (long long) rows [count - 1].generated_at_ms,
                  (unsigned long long) rows [count - 1].number);
    Tessera__V1__ListCrlsReply reply = TESSERA__V1__LIST_CRLS_REPLY__INIT;
    reply.n_crls = (size_t) count;
    reply.crls = list;
    reply.next_page_token = next;
    status = tsr_call_reply (call, &reply.base, "published CRLs, newest first");
done:
    free (infos);
    free (list);
    free (texts);
    free (rows);
    PQclear (res);
    tessera__v1__list_crls_request__free_unpacked (request, NULL);
    return status;
}
