/*  publisher_dbpool: borrowed database connections (see publisher_dbpool.h).
*/
#include "publisher_dbpool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define S_SIZE_MAX 64

struct _publisher_dbpool_t {
    pthread_mutex_t lock;
    pthread_cond_t returned;
    char *dsn;
    char *schema;
    int size;
    tsr_db_t *connections [S_SIZE_MAX];
    bool busy [S_SIZE_MAX];
};

publisher_dbpool_t *
publisher_dbpool_new (const char *dsn, const char *schema, int size)
{
    if (size < 1 || size > S_SIZE_MAX)
        return NULL;
    publisher_dbpool_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->returned, NULL);
    self->size = size;
    self->dsn = strdup (dsn);
    self->schema = strdup (schema);
    if (!self->dsn || !self->schema)
        publisher_dbpool_destroy (&self);
    return self;
}

void
publisher_dbpool_destroy (publisher_dbpool_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    publisher_dbpool_t *self = *self_p;
    for (int i = 0; i < self->size; i++)
        tsr_db_destroy (&self->connections [i]);
    pthread_cond_destroy (&self->returned);
    pthread_mutex_destroy (&self->lock);
    free (self->dsn);
    free (self->schema);
    free (self);
    *self_p = NULL;
}

tsr_db_t *
publisher_dbpool_acquire (publisher_dbpool_t *self)
{
    pthread_mutex_lock (&self->lock);
    int slot = -1;
    while (slot < 0) {
        for (int i = 0; i < self->size && slot < 0; i++)
            if (!self->busy [i])
                slot = i;
        if (slot < 0)
            pthread_cond_wait (&self->returned, &self->lock);
    }
    self->busy [slot] = true;
    tsr_db_t *db = self->connections [slot];
    pthread_mutex_unlock (&self->lock);
    if (!db) {
        //  Connect outside the lock: it may take a while.
        char err [256];
        db = tsr_db_new (self->dsn, self->schema, err, sizeof err);
        pthread_mutex_lock (&self->lock);
        self->connections [slot] = db;
        if (!db) {
            self->busy [slot] = false;
            pthread_cond_signal (&self->returned);
        }
        pthread_mutex_unlock (&self->lock);
    }
    return db;
}

void
publisher_dbpool_release (publisher_dbpool_t *self, tsr_db_t *db)
{
    if (!db)
        return;
    if (tsr_db_in_transaction (db))
        tsr_db_rollback (db);
    pthread_mutex_lock (&self->lock);
    for (int i = 0; i < self->size; i++)
        if (self->connections [i] == db) {
            self->busy [i] = false;
            break;
        }
    pthread_cond_signal (&self->returned);
    pthread_mutex_unlock (&self->lock);
}
