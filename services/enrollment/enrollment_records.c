/*  enrollment_records: the registry's rows as messages (see
    enrollment_records.h).
*/
#include "enrollment_records.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_CHUNK 32

struct _enrollment_arena_t {
    void **blocks;
    size_t block_count, block_room;
    PGresult **results;
    size_t result_count, result_room;
};

enrollment_arena_t *
enrollment_arena_new (void)
{
    return calloc (1, sizeof (enrollment_arena_t));
}

void
enrollment_arena_destroy (enrollment_arena_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    enrollment_arena_t *self = *self_p;
    for (size_t i = 0; i < self->block_count; i++)
        free (self->blocks [i]);
    for (size_t i = 0; i < self->result_count; i++)
        PQclear (self->results [i]);
    free (self->blocks);
    free (self->results);
    free (self);
    *self_p = NULL;
}

//  Makes room for one more pointer in *list.
static int
s_grow (void ***list, size_t count, size_t *room)
{
    if (count < *room)
        return 0;
    void **bigger = realloc (*list, (*room + S_CHUNK) * sizeof **list);
    if (!bigger)
        return -1;
    *list = bigger;
    *room += S_CHUNK;
    return 0;
}

void *
enrollment_arena_alloc (enrollment_arena_t *self, size_t size)
{
    if (!self || s_grow (&self->blocks, self->block_count, &self->block_room))
        return NULL;
    void *block = calloc (1, size ? size : 1);
    if (block)
        self->blocks [self->block_count++] = block;
    return block;
}

PGresult *
enrollment_arena_keep (enrollment_arena_t *self, PGresult *res)
{
    if (!res)
        return NULL;
    void **list = (void **) self->results;
    if (s_grow (&list, self->result_count, &self->result_room)) {
        PQclear (res);
        return NULL;
    }
    self->results = (PGresult **) list;
    self->results [self->result_count++] = res;
    return res;
}

static int64_t
s_int (PGresult *res, int row, int column)
{
    return strtoll (PQgetvalue (res, row, column), NULL, 10);
}

static bool
s_bool (PGresult *res, int row, int column)
{
    return PQgetvalue (res, row, column) [0] == 't';
}

//  text split at each separator into an arena array of arena strings; an
//  empty text gives no item.
static char **
s_split (enrollment_arena_t *arena, const char *text, char separator, size_t *count)
{
    size_t len = strlen (text), items = len ? 1 : 0;
    for (size_t i = 0; i < len; i++)
        items += text [i] == separator;
    char **list = enrollment_arena_alloc (arena, (items + 1) * sizeof *list);
    char *copy = enrollment_arena_alloc (arena, len + 1);
    if (!list || !copy)
        return NULL;
    memcpy (copy, text, len + 1);
    size_t n = 0;
    for (char *cursor = copy; n < items; n++) {
        list [n] = cursor;
        char *end = strchr (cursor, separator);
        if (end) {
            *end = 0;
            cursor = end + 1;
        }
    }
    *count = items;
    return list;
}

//  Columns lines, postal_code, city, country_code from first.
static Tessera__V1__PostalAddress *
s_address (enrollment_arena_t *arena, PGresult *res, int row, int first)
{
    Tessera__V1__PostalAddress *address = enrollment_arena_alloc (arena, sizeof *address);
    if (!address)
        return NULL;
    tessera__v1__postal_address__init (address);
    address->lines = s_split (arena, PQgetvalue (res, row, first), '\n', &address->n_lines);
    if (!address->lines)
        return NULL;
    address->postal_code = PQgetvalue (res, row, first + 1);
    address->city = PQgetvalue (res, row, first + 2);
    address->country_code = PQgetvalue (res, row, first + 3);
    return address;
}

Tessera__V1__Organisation *
enrollment_organisation_row (enrollment_arena_t *arena, PGresult *res, int row)
{
    Tessera__V1__Organisation *self = enrollment_arena_alloc (arena, sizeof *self);
    char *siren = enrollment_arena_alloc (arena, 10);
    if (!self || !siren)
        return NULL;
    tessera__v1__organisation__init (self);
    self->organisation_id = PQgetvalue (res, row, 0);
    self->legal_name = PQgetvalue (res, row, 1);
    self->siret = PQgetvalue (res, row, 2);
    memcpy (siren, self->siret, 9);
    self->siren = siren;
    self->kind = (Tessera__V1__OrganisationKind) s_int (res, row, 3);
    self->postal_address = s_address (arena, res, row, 4);
    self->dossier_id = PQgetvalue (res, row, 8);
    self->created_at_unix = s_int (res, row, 9);
    self->created_by_operator_id = PQgetvalue (res, row, 10);
    self->updated_at_unix = s_int (res, row, 11);
    return self->postal_address ? self : NULL;
}

Tessera__V1__Person *
enrollment_person_row (enrollment_arena_t *arena, PGresult *res, int row)
{
    Tessera__V1__Person *self = enrollment_arena_alloc (arena, sizeof *self);
    if (!self)
        return NULL;
    tessera__v1__person__init (self);
    self->person_id = PQgetvalue (res, row, 0);
    self->organisation_id = PQgetvalue (res, row, 1);
    self->role = (Tessera__V1__PersonRole) s_int (res, row, 2);
    self->given_name = PQgetvalue (res, row, 3);
    self->surname = PQgetvalue (res, row, 4);
    self->email = PQgetvalue (res, row, 5);
    self->postal_address = s_address (arena, res, row, 6);
    self->language = PQgetvalue (res, row, 10);
    self->designated_by_person_id = PQgetvalue (res, row, 11);
    self->dossier_id = PQgetvalue (res, row, 12);
    self->created_at_unix = s_int (res, row, 13);
    self->created_by_operator_id = PQgetvalue (res, row, 14);
    self->updated_at_unix = s_int (res, row, 15);
    return self->postal_address ? self : NULL;
}

Tessera__V1__Dossier *
enrollment_dossier_row (enrollment_arena_t *arena, PGresult *res, int row)
{
    Tessera__V1__Dossier *self = enrollment_arena_alloc (arena, sizeof *self);
    if (!self)
        return NULL;
    tessera__v1__dossier__init (self);
    self->dossier_id = PQgetvalue (res, row, 0);
    self->organisation_id = PQgetvalue (res, row, 1);
    self->person_id = PQgetvalue (res, row, 2);
    self->state = (Tessera__V1__DossierState) s_int (res, row, 3);
    self->opened_at_unix = s_int (res, row, 4);
    self->closed_at_unix = s_int (res, row, 5);
    self->archived_at_unix = s_int (res, row, 6);
    self->retain_until_unix = s_int (res, row, 7);
    return self;
}

Tessera__V1__Document *
enrollment_document_row (enrollment_arena_t *arena, PGresult *res, int row)
{
    Tessera__V1__Document *self = enrollment_arena_alloc (arena, sizeof *self);
    if (!self)
        return NULL;
    tessera__v1__document__init (self);
    self->document_id = PQgetvalue (res, row, 0);
    self->dossier_id = PQgetvalue (res, row, 1);
    self->type = (Tessera__V1__DocumentType) s_int (res, row, 2);
    self->identity_document_kind = (Tessera__V1__IdentityDocumentKind) s_int (res, row, 3);
    self->reference = PQgetvalue (res, row, 4);
    self->received_unix = s_int (res, row, 5);
    self->issued_unix = s_int (res, row, 6);
    self->expires_unix = s_int (res, row, 7);
    self->checked_by_operator_id = PQgetvalue (res, row, 8);
    self->recorded_by_operator_id = PQgetvalue (res, row, 9);
    self->recorded_at_unix = s_int (res, row, 10);
    self->scan_sha256 = PQgetvalue (res, row, 11);
    self->signed_by = s_split (arena, PQgetvalue (res, row, 12), ',', &self->n_signed_by);
    self->note = PQgetvalue (res, row, 13);
    self->withdrawn = s_bool (res, row, 14);
    self->withdrawn_reason = PQgetvalue (res, row, 15);
    self->withdrawn_at_unix = s_int (res, row, 16);
    return self->signed_by ? self : NULL;
}

Tessera__V1__Batch *
enrollment_batch_row (enrollment_arena_t *arena, PGresult *res, int row)
{
    Tessera__V1__Batch *self = enrollment_arena_alloc (arena, sizeof *self);
    if (!self)
        return NULL;
    tessera__v1__batch__init (self);
    self->batch_id = PQgetvalue (res, row, 0);
    self->organisation_id = PQgetvalue (res, row, 1);
    self->label = PQgetvalue (res, row, 2);
    self->state = (Tessera__V1__BatchState) s_int (res, row, 3);
    self->card_request_ids = s_split (arena, PQgetvalue (res, row, 4), ',', &self->n_card_request_ids);
    self->created_by_operator_id = PQgetvalue (res, row, 5);
    self->created_at_unix = s_int (res, row, 6);
    self->submitted_by_operator_id = PQgetvalue (res, row, 7);
    self->submitted_at_unix = s_int (res, row, 8);
    return self->card_request_ids ? self : NULL;
}

Tessera__V1__CardRequest *
enrollment_card_request_row (enrollment_arena_t *arena, PGresult *res, int row)
{
    Tessera__V1__CardRequest *self = enrollment_arena_alloc (arena, sizeof *self);
    Tessera__V1__CertificateUse *uses = enrollment_arena_alloc (arena, 3 * sizeof *uses);
    if (!self || !uses)
        return NULL;
    tessera__v1__card_request__init (self);
    self->card_request_id = PQgetvalue (res, row, 0);
    self->batch_id = PQgetvalue (res, row, 1);
    self->person_id = PQgetvalue (res, row, 2);
    self->organisation_id = PQgetvalue (res, row, 3);
    self->dossier_id = PQgetvalue (res, row, 4);
    self->level = (Tessera__V1__PolicyLevel) s_int (res, row, 5);
    if (s_bool (res, row, 6))
        uses [self->n_uses++] = TESSERA__V1__CERTIFICATE_USE__CERTIFICATE_USE_AUTHENTICATION;
    if (s_bool (res, row, 7))
        uses [self->n_uses++] = TESSERA__V1__CERTIFICATE_USE__CERTIFICATE_USE_SIGNATURE;
    if (s_bool (res, row, 22))
        uses [self->n_uses++] = TESSERA__V1__CERTIFICATE_USE__CERTIFICATE_USE_ENCRYPTION;
    self->uses = uses;
    self->software_certificate = s_bool (res, row, 8);
    self->state = (Tessera__V1__CardRequestState) s_int (res, row, 9);
    self->entered_by_operator_id = PQgetvalue (res, row, 10);
    self->created_at_unix = s_int (res, row, 11);
    self->submitted_at_unix = s_int (res, row, 12);
    self->decided_by_operator_id = PQgetvalue (res, row, 13);
    self->decided_at_unix = s_int (res, row, 14);
    self->rejection_reason = PQgetvalue (res, row, 15);
    self->cancel_reason = PQgetvalue (res, row, 16);
    self->kind = (Tessera__V1__CardRequestKind) s_int (res, row, 18);
    self->previous_card_request_id = PQgetvalue (res, row, 19);
    self->replacement_reason = (Tessera__V1__ReplacementReason) s_int (res, row, 20);
    self->dossier_reused = s_bool (res, row, 21);
    return self;
}

int
enrollment_dossier_documents (enrollment_arena_t *arena, tsr_db_t *db, Tessera__V1__Dossier *dossier)
{
    const char *values [] = { dossier->dossier_id };
    PGresult *res = enrollment_arena_keep (arena, tsr_db_query (db,
        ENROLLMENT_DOCUMENT_SELECT " WHERE d.dossier_id = $1 ORDER BY d.row_seq", 1, values));
    if (!res)
        return -1;
    size_t rows = (size_t) PQntuples (res);
    dossier->documents = enrollment_arena_alloc (arena, (rows + 1) * sizeof *dossier->documents);
    if (!dossier->documents)
        return -1;
    for (size_t i = 0; i < rows; i++)
        if (!(dossier->documents [i] = enrollment_document_row (arena, res, (int) i)))
            return -1;
    dossier->n_documents = rows;
    return 0;
}

int
enrollment_page (enrollment_arena_t *arena, PGresult *res, uint32_t limit, size_t *count,
                 char **next_token)
{
    size_t rows = (size_t) PQntuples (res);
    *count = rows > limit ? limit : rows;
    *next_token = enrollment_arena_alloc (arena, 24);
    if (!*next_token)
        return -1;
    if (rows > limit && limit > 0)
        snprintf (*next_token, 24, "%s", PQgetvalue (res, (int) limit - 1, PQnfields (res) - 1));
    return 0;
}

int
enrollment_address_join (const Tessera__V1__PostalAddress *address, char *out, size_t size)
{
    size_t used = 0;
    out [0] = 0;
    for (size_t i = 0; i < address->n_lines; i++) {
        int written = snprintf (out + used, size - used, "%s%s", i ? "\n" : "", address->lines [i]);
        if (written < 0 || (size_t) written >= size - used)
            return -1;
        used += (size_t) written;
    }
    return 0;
}
