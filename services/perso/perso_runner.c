/*  perso_runner: job runner threads (see perso_runner.h).
*/
#include "perso_runner.h"
#include "perso_run.h"
#include "perso_state.h"
#include "tessera/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_POLL_MS 500
#define S_SWEEP_EVERY_MS 5000
#define S_THREADS_MAX 16

struct _perso_runner_t {
    perso_state_t *state;
    pthread_t threads [S_THREADS_MAX];
    size_t thread_count;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    unsigned wakeups;
    atomic_bool stop;
};

//  Running jobs whose runner stopped beating: failed, retryable.
static void
s_sweep (perso_runner_t *self, tsr_db_t *db)
{
    char stale [24];
    snprintf (stale, sizeof stale, "%ld", self->state->stale_s);
    const char *values [] = { stale };
    PGresult *res = tsr_db_query (db,
        "UPDATE jobs SET state = 4, failed_step = greatest(current_step, 1),"
        " failure_reason = 'interrupted: the runner stopped during this step (perso restarted?);"
        " retry the job', updated_at = now()"
        " WHERE state = 2 AND heartbeat_at < now() - make_interval(secs => $1::int)"
        " RETURNING job_id", 1, values);
    for (int i = 0; res && i < PQntuples (res); i++) {
        tsr_counter_inc (self->state->jobs_ended, "interrupted", 1);
        tsr_log_warn (NULL, "perso.job_interrupted", "job_id", PQgetvalue (res, i, 0), NULL);
    }
    PQclear (res);
}

//  The oldest pending job, now ours (state RUNNING). 1 claimed, 0 none.
static int
s_claim (tsr_db_t *db, char job_id [PERSO_ID_MAX + 1])
{
    PGresult *res = tsr_db_query (db,
        "UPDATE jobs SET state = 2, heartbeat_at = now(), updated_at = now()"
        " WHERE job_id = (SELECT job_id FROM jobs WHERE state = 1 ORDER BY seq"
        "                 FOR UPDATE SKIP LOCKED LIMIT 1)"
        " RETURNING job_id", 0, NULL);
    int claimed = res && PQntuples (res) == 1;
    if (claimed)
        snprintf (job_id, PERSO_ID_MAX + 1, "%s", PQgetvalue (res, 0, 0));
    PQclear (res);
    return claimed;
}

static void
s_wait (perso_runner_t *self, unsigned *seen)
{
    struct timespec deadline;
    clock_gettime (CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += (long) S_POLL_MS * 1000000L;
    deadline.tv_sec += deadline.tv_nsec / 1000000000L;
    deadline.tv_nsec %= 1000000000L;
    pthread_mutex_lock (&self->lock);
    while (self->wakeups == *seen && !atomic_load (&self->stop))
        if (pthread_cond_timedwait (&self->wake, &self->lock, &deadline) == ETIMEDOUT)
            break;
    *seen = self->wakeups;
    pthread_mutex_unlock (&self->lock);
}

static void *
s_thread (void *arg)
{
    perso_runner_t *self = arg;
    char err [512] = "";
    tsr_db_t *db = NULL;
    perso_pcsc_t *pcsc = perso_pcsc_new ();
    unsigned seen = 0;
    int64_t last_sweep = 0;
    while (!atomic_load (&self->stop)) {
        if (!db && !(db = tsr_db_new (self->state->dsn, self->state->schema, err, sizeof err))) {
            s_wait (self, &seen);
            continue;
        }
        if (tsr_now_ms () - last_sweep > S_SWEEP_EVERY_MS) {
            s_sweep (self, db);
            last_sweep = tsr_now_ms ();
        }
        char job_id [PERSO_ID_MAX + 1];
        if (pcsc && s_claim (db, job_id))
            perso_run_job (self->state, db, pcsc, job_id, &self->stop);
        else
            s_wait (self, &seen);
    }
    perso_pcsc_destroy (&pcsc);
    tsr_db_destroy (&db);
    return NULL;
}

perso_runner_t *
perso_runner_new (void *state, char *err, size_t err_size)
{
    perso_runner_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    self->state = state;
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->wake, NULL);
    atomic_init (&self->stop, false);
    size_t wanted = (size_t) self->state->runners;
    for (size_t i = 0; i < wanted && i < S_THREADS_MAX; i++) {
        if (pthread_create (&self->threads [i], NULL, s_thread, self) != 0) {
            snprintf (err, err_size, "cannot start the job runners");
            perso_runner_destroy (&self);
            return NULL;
        }
        self->thread_count = i + 1;
    }
    return self;
}

void
perso_runner_destroy (perso_runner_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    perso_runner_t *self = *self_p;
    atomic_store (&self->stop, true);
    pthread_mutex_lock (&self->lock);
    pthread_cond_broadcast (&self->wake);
    pthread_mutex_unlock (&self->lock);
    for (size_t i = 0; i < self->thread_count; i++)
        pthread_join (self->threads [i], NULL);
    pthread_cond_destroy (&self->wake);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

void
perso_runner_wake (perso_runner_t *self)
{
    if (!self)
        return;
    pthread_mutex_lock (&self->lock);
    self->wakeups++;
    pthread_cond_broadcast (&self->wake);
    pthread_mutex_unlock (&self->lock);
}
