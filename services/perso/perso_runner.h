/*  perso_runner: the threads that run personalisation jobs.

    TSR_PERSO_RUNNERS threads, each with its own database connection and
    PC/SC context. A runner claims the oldest pending job (FOR UPDATE SKIP
    LOCKED, so replicas never run one job twice), runs it to success or
    failure (perso_run.h), and waits to be woken (perso_runner_wake, after
    StartJob or RetryJob) or for its poll interval. Every runner also
    fails, now and then, running jobs whose heartbeat is older than
    TSR_PERSO_STALE_S: their runner died with them (a crash, a kill), and
    the operator can retry them.

    perso_runner_destroy (on_stop, after the bus drained) asks the runners
    to stop: a job stops before its next step and is failed with "perso
    stopped", retryable.
*/
#ifndef PERSO_RUNNER_H
#define PERSO_RUNNER_H

#include <stddef.h>

typedef struct _perso_runner_t perso_runner_t;

//  state is the perso_state_t (borrowed). NULL with err.
perso_runner_t *perso_runner_new (void *state, char *err, size_t err_size);
void perso_runner_destroy (perso_runner_t **self_p);
//  A job was queued: a runner looks now rather than at its next poll.
void perso_runner_wake (perso_runner_t *self);

#endif
