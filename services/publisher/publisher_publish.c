/*  publisher_publish: sign, check, record, serve (see publisher_publish.h).
*/
#include "publisher_publish.h"
#include "publisher_util.h"

#include "tessera/audit.h"
#include "tessera/events.h"
#include "tessera/json.h"
#include "tessera/log.h"
#include "tessera/v1/publisher.pb-c.h"

#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INTERNAL TESSERA__V1__STATUS__STATUS_INTERNAL
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE

const char *
publisher_trigger_name (int trigger)
{
    static const char *names [] = { "unspecified", "schedule", "revocation", "operator", "startup" };
    return trigger >= 0 && trigger <= 4 ? names [trigger] : "unspecified";
}

//  The CRL the ca signed, read back: ours, signed by our issuer, numbered
//  as the reply says, above every CRL published before, and for a delta
//  against the base asked. Fills row's CRL fields. 0, or -1 with message.
static int
s_check (const Tessera__V1__SignCrlReply *reply, X509 *issuer, uint64_t base, uint64_t published_max,
         publisher_crl_row_t *row, char *message, size_t message_size)
{
    const unsigned char *cursor = reply->crl_der.data;
    X509_CRL *crl = d2i_X509_CRL (NULL, &cursor, (long) reply->crl_der.len);
    ASN1_INTEGER *number = crl ? X509_CRL_get_ext_d2i (crl, NID_crl_number, NULL, NULL) : NULL;
    ASN1_INTEGER *delta_base = crl ? X509_CRL_get_ext_d2i (crl, NID_delta_crl, NULL, NULL) : NULL;
    uint64_t number_value = 0, base_value = 0;
    int rc = -1;
    if (!crl || cursor != reply->crl_der.data + reply->crl_der.len)
        snprintf (message, message_size, "the ca's CRL is not DER");
    else
    if (X509_NAME_cmp (X509_CRL_get_issuer (crl), X509_get_subject_name (issuer)) != 0
    ||  X509_CRL_verify (crl, X509_get0_pubkey (issuer)) != 1)
        snprintf (message, message_size, "the ca's CRL is not signed by the issuing CA served");
    else
    if (!number || !ASN1_INTEGER_get_uint64 (&number_value, number)
    ||  number_value != reply->crl_number)
        snprintf (message, message_size, "the ca's CRL number is not the one its reply says");
    else
    if (number_value <= published_max)
        snprintf (message, message_size, "the ca's CRL number %llu is not above %llu, "
                  "published before", (unsigned long long) number_value,
                  (unsigned long long) published_max);
    else
    if ((base != 0) != (delta_base != NULL)
    ||  (delta_base && (!ASN1_INTEGER_get_uint64 (&base_value, delta_base) || base_value != base)))
        snprintf (message, message_size, "the ca's CRL is not the delta asked for");
    else
    if (!X509_CRL_get0_nextUpdate (crl))
        snprintf (message, message_size, "the ca's CRL has no nextUpdate");
    else {
        row->delta = base != 0;
        row->number = number_value;
        row->base = base;
        row->this_update = publisher_asn1_time_unix (X509_CRL_get0_lastUpdate (crl));
        row->next_update = publisher_asn1_time_unix (X509_CRL_get0_nextUpdate (crl));
        STACK_OF (X509_REVOKED) *entries = X509_CRL_get_REVOKED (crl);
        row->entry_count = entries ? (uint32_t) sk_X509_REVOKED_num (entries) : 0;
        row->size = (uint32_t) reply->crl_der.len;
        publisher_sha256_hex (reply->crl_der.data, reply->crl_der.len, row->crl_sha256);
        rc = row->this_update > 0 && row->next_update > row->this_update ? 0 : -1;
        if (rc)
            snprintf (message, message_size, "the ca's CRL has unreadable update times");
    }
    ASN1_INTEGER_free (number);
    ASN1_INTEGER_free (delta_base);
    X509_CRL_free (crl);
    return rc;
}

//  The row, its event and its audit record, in one transaction.
static int
s_record (tsr_db_t *db, const publisher_crl_row_t *row, const uint8_t *der, size_t size,
          const char *actor, const char *trace_id)
{
    char name [PUBLISHER_NAME_SIZE], number [24];
    publisher_issuer_name (row->issuer_sha256, name);
    snprintf (number, sizeof number, "%llu", (unsigned long long) row->number);
    Tessera__V1__CrlPublished event = TESSERA__V1__CRL_PUBLISHED__INIT;
    event.issuer = name;
    event.issuer_sha256 = (char *) row->issuer_sha256;
    event.kind = row->delta ? TESSERA__V1__CRL_KIND__CRL_KIND_DELTA : TESSERA__V1__CRL_KIND__CRL_KIND_FULL;
    event.crl_number = row->number;
    event.delta_base_crl_number = row->base;
    event.this_update_unix = row->this_update;
    event.next_update_unix = row->next_update;
    event.crl_sha256 = (char *) row->crl_sha256;
    event.trigger = (Tessera__V1__CrlTrigger) row->trigger;
    event.publication_delay_ms = row->published_at_ms - row->generated_at_ms;
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "issuer_sha256", row->issuer_sha256);
    tsr_json_str (json, "kind", row->delta ? "delta" : "full");
    tsr_json_int (json, "crl_number", (int64_t) row->number);
    tsr_json_int (json, "delta_base", (int64_t) row->base);
    tsr_json_int (json, "entries", row->entry_count);
    tsr_json_str (json, "crl_sha256", row->crl_sha256);
    tsr_json_int (json, "next_update_unix", row->next_update);
    tsr_json_str (json, "trigger", publisher_trigger_name (row->trigger));
    char *details = tsr_json_finish (&json);
    int rc = -1;
    if (details && tsr_db_begin (db) == 0) {
        if (publisher_store_crl_insert (db, row, der, size) == 0
        &&  tsr_events_append_message (db, "crl.published", number, trace_id, &event.base,
                                       NULL) == 0
        &&  tsr_audit_append (db, actor, "publisher.crl_published", number, trace_id,
                              details) == 0
        &&  tsr_db_commit (db) == 0)
            rc = 0;
        else
            tsr_db_rollback (db);
    }
    free (details);
    return rc;
}

static void
s_observe (publisher_state_t *state, const publisher_crl_row_t *row, int64_t pending_since_ms)
{
    const char *kind = row->delta ? "delta" : "full";
    double delay_s = (double) (row->published_at_ms - row->generated_at_ms) / 1000.0;
    tsr_histogram_observe (state->metrics.publication_delay, kind, delay_s);
    tsr_gauge_set (state->metrics.last_publication_delay, kind, delay_s);
    tsr_gauge_set (state->metrics.crl_number, kind, (double) row->number);
    tsr_gauge_set (state->metrics.crl_next_update, kind, (double) row->next_update);
    tsr_counter_inc (state->metrics.published, publisher_trigger_name (row->trigger), 1);
    if (!row->delta && pending_since_ms)
        tsr_histogram_observe (state->metrics.revocation_delay, NULL,
                               (double) (row->published_at_ms - pending_since_ms) / 1000.0);
    pthread_mutex_lock (&state->lock);
    state->view.last_publication_delay_ms = row->published_at_ms - row->generated_at_ms;
    pthread_mutex_unlock (&state->lock);
}

//  One CRL: full when base is 0, else a delta against base.
static tsr_status_t
s_one (publisher_state_t *state, tsr_db_t *db, const char *issuer_sha256, X509 *issuer,
       uint64_t base, int trigger, const char *actor, const char *trace_id,
       int64_t pending_since_ms, publisher_crl_row_t *row, char *message, size_t message_size)
{
    memset (row, 0, sizeof *row);
    snprintf (row->issuer_sha256, sizeof row->issuer_sha256, "%s", issuer_sha256);
    row->trigger = trigger;
    uint64_t published_max = 0;
    if (publisher_store_event_seq (db, &row->covers_event_seq)
    ||  publisher_store_crl_max_number (db, issuer_sha256, &published_max)) {
        snprintf (message, message_size, "cannot read the publisher's database");
        return S_UNAVAILABLE;
    }
    Tessera__V1__SignCrlRequest request = TESSERA__V1__SIGN_CRL_REQUEST__INIT;
    request.delta_base_number = base;
    request.next_update_hours = (uint32_t) (base ? state->delta_hours : state->crl_hours);
    Tessera__V1__SignCrlReply *reply = NULL;
    int64_t asked_ms = tsr_now_ms ();
    tsr_status_t status = tsr_peer_call (state->ca, "SignCrl", &request.base,
                                         &tessera__v1__sign_crl_reply__descriptor, NULL, trace_id,
                                         (ProtobufCMessage **) &reply, message, message_size);
    if (status != S_OK)
        return status;
    status = S_INTERNAL;
    if (s_check (reply, issuer, base, published_max, row, message, message_size) == 0) {
        //  Generated: when the ca signed, as near as we know it.
        row->generated_at_ms = row->this_update * 1000 > asked_ms ? row->this_update * 1000
                                                                 : asked_ms;
        row->published_at_ms = tsr_now_ms ();
        if (s_record (db, row, reply->crl_der.data, reply->crl_der.len, actor, trace_id)) {
            snprintf (message, message_size, "cannot record the CRL: %s", tsr_db_error (db));
            status = S_UNAVAILABLE;
        }
        else {
            publisher_cache_put_crl (state->cache, issuer_sha256, row->delta, reply->crl_der.data,
                                     reply->crl_der.len, row->number, row->this_update,
                                     row->next_update);
            s_observe (state, row, pending_since_ms);
            char number [24], entries [16], delay [24];
            snprintf (number, sizeof number, "%llu", (unsigned long long) row->number);
            snprintf (entries, sizeof entries, "%u", row->entry_count);
            snprintf (delay, sizeof delay, "%lld",
                      (long long) (row->published_at_ms - row->generated_at_ms));
            tsr_log_info (trace_id, "publisher.crl_published", "kind", row->delta ? "delta" : "full",
                          "crl_number", number, "entries", entries, "delay_ms", delay,
                          "trigger", publisher_trigger_name (trigger), NULL);
            status = S_OK;
        }
    }
    tessera__v1__sign_crl_reply__free_unpacked (reply, NULL);
    return status;
}

tsr_status_t
publisher_publish (publisher_state_t *state, tsr_db_t *db, const char *issuer_sha256, X509 *issuer,
                   int trigger, bool full, bool delta, const char *actor, const char *trace_id,
                   int64_t pending_since_ms, publisher_crl_row_t rows [2], size_t *count,
                   char *message, size_t message_size)
{
    *count = 0;
    tsr_status_t status = S_OK;
    if (full) {
        status = s_one (state, db, issuer_sha256, issuer, 0, trigger, actor, trace_id,
                        pending_since_ms, &rows [*count], message, message_size);
        if (status != S_OK)
            return status;
        (*count)++;
    }
    if (delta) {
        uint64_t base = 0;
        int found = publisher_store_delta_base (db, issuer_sha256, (int64_t) time (NULL), &base);
        if (found < 0) {
            snprintf (message, message_size, "cannot read the publisher's database");
            return S_UNAVAILABLE;
        }
        if (found == 0) {
            snprintf (message, message_size, "no valid full CRL to be the delta's base: "
                      "publish a full CRL first");
            return TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION;
        }
        status = s_one (state, db, issuer_sha256, issuer, base, trigger, actor, trace_id, 0,
                        &rows [*count], message, message_size);
        if (status == S_OK)
            (*count)++;
    }
    return status;
}

int
publisher_publish_load (publisher_state_t *state, tsr_db_t *db, const char *issuer_sha256)
{
    for (int delta = 0; delta < 2; delta++) {
        publisher_crl_row_t row;
        uint8_t *der = NULL;
        size_t size = 0;
        int found = publisher_store_crl_get (db, issuer_sha256, delta, 0, &row, &der, &size);
        if (found < 0)
            return -1;
        if (found) {
            publisher_cache_put_crl (state->cache, issuer_sha256, delta, der, size, row.number,
                                     row.this_update, row.next_update);
            tsr_gauge_set (state->metrics.crl_number, delta ? "delta" : "full", (double) row.number);
            tsr_gauge_set (state->metrics.crl_next_update, delta ? "delta" : "full",
                           (double) row.next_update);
        }
        free (der);
    }
    return 0;
}
