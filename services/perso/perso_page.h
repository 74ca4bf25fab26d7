/*  perso_page: one page of ListCards and ListJobs. A page asks for at most
    limit rows (0: PERSO_LIST_MAX) older than its token; the query reads one
    row more than the page shows, newest first with its seq in column 1,
    so that the extra row tells there is a page after, and the last row
    shown gives its token.

        perso_page_t page;
        status = perso_page_start (call, in->limit, in->page_token, &page);
        ...  WHERE ... ($n::bigint = 0 OR seq < $n::bigint) ... LIMIT $m::int + 1
             with page.after and page.limit_text
        count = perso_page_end (&page, res);
        reply.next_page_token = page.next;
*/
#ifndef PERSO_PAGE_H
#define PERSO_PAGE_H

#include "perso_input.h"
#include "tessera/bus.h"

#include <libpq-fe.h>
#include <stdint.h>

typedef struct {
    size_t limit;
    char after [24];                    //  the token's seq, "0" for the first page
    char limit_text [16];
    char next [PERSO_PAGE_TOKEN_MAX + 1];   //  by perso_page_end; "" on the last page
} perso_page_t;

//  The page a request asks for. STATUS_OK, or INVALID_ARGUMENT set on call
//  (limit, then page_token).
tsr_status_t perso_page_start (tsr_call_t *call, uint32_t limit, const char *page_token,
                               perso_page_t *page);

//  How many of res's rows the page shows; sets page->next.
size_t perso_page_end (perso_page_t *page, const PGresult *res);

#endif
