"""Perso killed in the middle of a job. The card stalls on its first PUT
DATA (tessera-vcard's stall-after fault), when both certificates are
issued and not yet written; perso is killed with SIGKILL there and started
again. Its stale sweep fails the job as interrupted, RetryJob finishes it,
and the card ends with the certificates issued before the kill: one per
key, nothing issued twice. (A card pulled mid-job with pcscd restarted is
test_perso.py's `pulled`; services killed under load are test_faults.py.)
The fixtures are test_perso.py's: real pcscd, vpcd, virtual card,
PostgreSQL, enrollment, validation, ca and perso."""
import time

from test_perso import (P, apdu_index, ca_active, ca_certificates_of, new_card, ok,  # noqa: F401
                        operators, pcsc, perso, personalised, registry, start_job, step_names,
                        system, validated_request, wait_job)

STALE_S = 10


def test_perso_killed_mid_job_is_interrupted_then_resumes_with_one_certificate_per_key(
        system, pcsc, registry, ca_active, personalised, tmp_path, report):
    first_put = apdu_index(personalised["card"], "10DB3FFF")     # first chained PUT DATA
    card_request_id, _ = validated_request(system, registry, "Paul", "Interrompu")
    card = new_card(pcsc, tmp_path, "killed",
                    faults=[f"stall-after={first_put}", f"stall-seconds={STALE_S + 20}"])
    job = ok(start_job(system, pcsc, card_request_id), P.PersoJob)
    deadline = time.time() + 60
    while len(ca_certificates_of(system, card_request_id)) < 2:
        assert time.time() < deadline, "the certificates were never issued"
        time.sleep(0.1)
    time.sleep(0.5)                      # the runner is now waiting on the stalled card
    issued = ca_certificates_of(system, card_request_id)
    service = system.services["perso"]
    service.proc.kill()
    service.proc.wait()
    killed_at = time.time()
    system.service_env["perso"] = dict(system.service_env["perso"], TSR_PERSO_STALE_S=str(STALE_S))
    service.start()
    interrupted = wait_job(system, job.job_id, states=(P.PERSO_JOB_STATE_FAILED,),
                           timeout=STALE_S * 6)
    assert "interrupted" in interrupted.failure_reason, interrupted.failure_reason
    assert interrupted.failed_step == P.PERSO_STEP_WRITE_CERTIFICATES, step_names(interrupted)
    swept_after_s = time.time() - killed_at
    # The card stalls no more once its stall has passed: end it sooner by
    # putting it back (a new card process, same state: the same card).
    card.remove(wait=True)
    card.insert()
    retried = ok(perso(system, "RetryJob", P.RetryJobRequest(job_id=job.job_id)), P.PersoJob)
    assert retried.attempts == 2
    done = wait_job(system, job.job_id, timeout=90)
    assert done.state == P.PERSO_JOB_STATE_SUCCEEDED, (done.failure_reason, step_names(done))
    after = ca_certificates_of(system, card_request_id)
    assert after == issued and len(after) == 2
    assert sorted(done.certificate_serials) == sorted(s for s, _, _ in issued)
    details = dict((P.PersoStep.Name(s.step), s.detail) for s in done.steps[-12:])
    assert "earlier run" in details["PERSO_STEP_ISSUE_CERTIFICATES"]
    assert f'"event":"perso.job_interrupted","job_id":"{job.job_id}"' in service.log()
    report(f"perso killed mid-job: interrupted after {swept_after_s:.1f} s "
           f"(TSR_PERSO_STALE_S={STALE_S}), retried, succeeded with the 2 certificates issued "
           "before the kill")
