/*  publisher_dbpool: a few database connections for the public HTTP
    threads, which look certificates' status up for OCSP.

    A tsr_db_t is not thread-safe, and the HTTP endpoint serves from
    several threads: each request borrows one connection and gives it back.
    Connections are opened on first use and re-opened by tsr_db when lost;
    a request that finds every connection busy waits for one.
*/
#ifndef PUBLISHER_DBPOOL_H
#define PUBLISHER_DBPOOL_H

#include "tessera/db.h"

typedef struct _publisher_dbpool_t publisher_dbpool_t;

//  dsn and schema are copied. size: 1..64 connections.
publisher_dbpool_t *publisher_dbpool_new (const char *dsn, const char *schema, int size);
void publisher_dbpool_destroy (publisher_dbpool_t **self_p);

//  A connection (outside any transaction), or NULL when the database can
//  not be reached. Give it back with publisher_dbpool_release.
tsr_db_t *publisher_dbpool_acquire (publisher_dbpool_t *self);
void publisher_dbpool_release (publisher_dbpool_t *self, tsr_db_t *db);

#endif
