/*  perso_page: one page of ListCards and ListJobs (perso_page.h).
*/
#include "perso_page.h"

#include <stdio.h>

#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT

tsr_status_t
perso_page_start (tsr_call_t *call, uint32_t limit, const char *page_token, perso_page_t *page)
{
    long long after = 0;
    if (limit > PERSO_LIST_MAX)
        return tsr_call_fail (call, S_INVALID, "limit must be at most %d", PERSO_LIST_MAX);
    if (!perso_page_token_valid (page_token, &after))
        return tsr_call_fail (call, S_INVALID, "page_token is not one this service gave");
    page->limit = limit ? limit : PERSO_LIST_MAX;
    snprintf (page->after, sizeof page->after, "%lld", after);
    snprintf (page->limit_text, sizeof page->limit_text, "%zu", page->limit);
    page->next [0] = 0;
    return TESSERA__V1__STATUS__STATUS_OK;
}

size_t
perso_page_end (perso_page_t *page, const PGresult *res)
{
    size_t rows = (size_t) PQntuples (res);
    size_t count = rows > page->limit ? page->limit : rows;
    page->next [0] = 0;
    if (rows > page->limit)
        snprintf (page->next, sizeof page->next, "%s", PQgetvalue (res, (int) count - 1, 1));
    return count;
}
