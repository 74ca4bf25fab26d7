"""Renewal and replacement (issue 12) through the bus, with the real
enrollment, validation, ca and perso, real PostgreSQL, and the virtual PIV
card behind a private pcscd + vpcd (the fixtures of test_perso.py).

- A renewal on the same card: new keys in 9A/9C (other SPKIs), new serials,
  the holder's PIN kept (OpenSC signs with it and openssl verifies with the
  new certificate), the old certificates good until the holder activates
  the new ones with the renewal's code on the real portal (HTTP, as a
  browser), then revoked, reason superseded, once; the holder's acceptance
  on the portal is kept by the real mail for the renewal request, and
  enrollment completes that request; a replayed activation or acceptance
  changes nothing.
- A second renewal at ** without a new face-to-face meeting: refused.
  At * renewals follow each other without limit.
- A lost card: its certificates revoked keyCompromise by the holder on the
  portal (revocation's online channel), a replacement
  request that reuses the dossier, a new card personalised (new PIN mailer,
  new activation code), read back by pkcs15-tool.
- A damaged card: its return recorded (ChangeCardState), its certificates
  revoked cessationOfOperation (the portal again), then the replacement.
- The operators' CLI: `tessera enrollment renew|replace`, `tessera perso
  start --holder-pin-file`."""
import hashlib
import json
import subprocess
import time

import pytest

from tessera.v1 import (ca_pb2, enrollment_pb2, envelope_pb2, mail_pb2, perso_pb2,
                        revocation_pb2, validation_pb2)
from test_perso import (account_of, activate, ca_active, ca_certificate, ca_status, call,  # noqa: F401
                        mailer, new_card, operators, pcsc, perso, perso_system, registry, rows,
                        personalised_job, run, start_job, wait_job, PKCS11)
from test_portal import Browser, questions_form
from test_validation import login, ok, one_time_password, set_password, validate, wait_state
from tsrtest import Portal

E = enrollment_pb2
P = perso_pb2
OK = envelope_pb2.STATUS_OK
INVALID = envelope_pb2.STATUS_INVALID_ARGUMENT
PRECONDITION = envelope_pb2.STATUS_FAILED_PRECONDITION
BOTH = [ca_pb2.CERTIFICATE_USE_AUTHENTICATION, ca_pb2.CERTIFICATE_USE_SIGNATURE]


@pytest.fixture(scope="module")
def system(pcsc):
    """test_perso's system with the real mail too (it keeps PIN mailers and
    acceptances; its SMTP server is a port nobody listens on: mail retries,
    these tests need none of its e-mails)."""
    def mail_env(s):
        s.service_env["mail"] = {"TSR_SMTP_URL": f"smtp://127.0.0.1:{s.port_base + 97}"}
        return {}
    for s in perso_system(perso_env=mail_env):
        try:
            s.services["mail"].start()
        except BaseException:
            s.stop()
            raise
        yield s


@pytest.fixture(scope="module")
def portal(system):
    p = Portal(system, env={"TSR_PORTAL_BUS_TIMEOUT_MS": "15000"})
    p.start()
    yield p
    assert p.stop() == 0, p.log()


def enrollment(system, method, message):
    return call(system, "enrollment", method, message, "operator")


def request_of(system, registry, person, level=ca_pb2.POLICY_LEVEL_TWO_STARS, uses=BOTH, **kind):
    """A card request of person in a new batch, not submitted: the reply."""
    batch = ok(enrollment(system, "CreateBatch", E.CreateBatchRequest(
        organisation_id=registry.org.organisation_id, label="renewal")), E.Batch)
    return enrollment(system, "CreateCardRequest", E.CreateCardRequestRequest(
        batch_id=batch.batch_id, person_id=person.person_id, level=level, uses=uses, **kind))


def submit_and_validate(system, made):
    ok(enrollment(system, "SubmitBatch", E.SubmitBatchRequest(batch_id=made.batch_id)), E.Batch)
    ok(validate(system, made.card_request_id), validation_pb2.Decision)
    assert wait_state(system, made.card_request_id, E.CARD_REQUEST_STATE_VALIDATED)


def renewal_of(system, registry, person, previous_id, **extra):
    """Level UNSPECIFIED: the previous request's."""
    return request_of(system, registry, person, level=ca_pb2.POLICY_LEVEL_UNSPECIFIED,
                      kind=E.CARD_REQUEST_KIND_RENEWAL, previous_card_request_id=previous_id,
                      **extra)


def revoke_online(system, account_id, serials, reason, statement):
    """The holder's own revocation on the portal (revocation's online
    channel, applied at once), revocation started on first use."""
    service = system.services["revocation"]
    if getattr(service, "proc", None) is None:
        service.start()
    record = ok(call(system, "revocation", "RevokeOnline", revocation_pb2.RevokeOnlineRequest(
        account_id=account_id, serials=list(serials), reason=reason, statement=statement,
        client_address="192.0.2.7", user_agent="pytest"), "portal"),
        revocation_pb2.RevocationRecord)
    assert record.state == revocation_pb2.REVOCATION_STATE_APPLIED, record
    return record


def ca_reason(system, serial):
    return ok(call(system, "ca", "GetStatus", ca_pb2.GetStatusRequest(serial_hex=serial),
                   "client"), ca_pb2.CertificateStatus)


def spki(system, serial):
    der = ca_certificate(system, serial).certificate_der
    pub = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-pubkey"], input=der,
                         capture_output=True, check=True).stdout
    return hashlib.sha256(pub).hexdigest()


def card_of(system, card_uuid):
    return ok(perso(system, "GetCard", P.GetCardRequest(card_uuid=card_uuid)), P.Card)


def personalise(system, pcsc, card_request_id, work, name, **extra):
    card = new_card(pcsc, work, name)
    return card, personalised_job(system, pcsc, card_request_id, **extra)


def change_state(system, card_uuid, to, reason):
    return ok(perso(system, "ChangeCardState", P.ChangeCardStateRequest(
        card_uuid=card_uuid, to_state=to, reason=reason), "desk"), P.Card)


@pytest.fixture(scope="module")
def first(system, pcsc, registry, ca_active, tmp_path_factory):
    """A holder at ** with an active card (EC P-256), and its PIN."""
    work = tmp_path_factory.mktemp("renewal-card")
    holder = registry.holder("Camille", "Roux")
    _, (card_request_id,) = registry.batch([holder])
    ok(validate(system, card_request_id), validation_pb2.Decision)
    assert wait_state(system, card_request_id, E.CARD_REQUEST_STATE_VALIDATED)
    card, job = personalise(system, pcsc, card_request_id, work, "first")
    pin, code, _ = mailer(system, job.card_uuid)
    account = account_of(system, holder.person_id)
    # The holder's first login on the portal, with a password of their own.
    password, _ = one_time_password(system, account)
    login_name = ok(call(system, "validation", "GetHolderAccount",
                         validation_pb2.GetHolderAccountRequest(person_id=holder.person_id),
                         "client"), validation_pb2.HolderAccount).login
    logged = login(system, login_name, password)
    ok(set_password(system, account, "une carte neuve pour Camille",
                    token=logged.password_change_token), validation_pb2.HolderAccount)
    reply = ok(activate(system, job.card_uuid, account, code), P.ActivateCardReply)
    assert reply.activated
    return dict(holder=holder, card_request_id=card_request_id, card=card, job=job, pin=pin,
                account=account, work=work, login=login_name,
                password="une carte neuve pour Camille")


@pytest.fixture(scope="module")
def renewed(system, pcsc, registry, first):
    """first's card renewed on the card itself, not accepted yet."""
    made = ok(renewal_of(system, registry, first["holder"], first["card_request_id"]),
              E.CardRequest)
    assert made.kind == E.CARD_REQUEST_KIND_RENEWAL
    assert made.previous_card_request_id == first["card_request_id"]
    assert made.level == ca_pb2.POLICY_LEVEL_TWO_STARS
    # The dossier is still valid: reused, no new document recorded.
    first_request = ok(enrollment(system, "GetCardRequest", E.GetCardRequestRequest(
        card_request_id=first["card_request_id"])), E.CardRequest)
    assert made.dossier_reused and made.dossier_id == first_request.dossier_id
    submit_and_validate(system, made)
    uuid = first["job"].card_uuid
    # Without the holder's PIN, the card cannot sign the CSRs: refused.
    refused = start_job(system, pcsc, made.card_request_id)
    assert refused.status == INVALID and "holder_pin" in refused.status_message
    # A card that expires before new certificates would needs a new card.
    conn = system.cluster.connect()
    try:
        with conn, conn.cursor() as cur:
            cur.execute("UPDATE perso.cards SET expires_at = now() + interval '100 days'"
                        " WHERE card_uuid = %s", (uuid,))
        refused = start_job(system, pcsc, made.card_request_id, holder_pin=first["pin"])
        assert refused.status == PRECONDITION, refused.status_message
        assert "itself expires" in refused.status_message and "new card" in refused.status_message
        with conn, conn.cursor() as cur:
            cur.execute("UPDATE perso.cards SET expires_at = now() + interval '6 years'"
                        " WHERE card_uuid = %s", (uuid,))
    finally:
        conn.close()
    # The bureau's CLI, the PIN typed by the holder into a file of its own.
    pin_file = first["work"] / "holder-pin"
    pin_file.touch(mode=0o600)
    pin_file.write_text(first["pin"] + "\n")
    result = system.cli("--json", "perso", "start", "--request", made.card_request_id,
                        "--reader", pcsc.reader_name, "--holder-pin-file", str(pin_file),
                        identity="persoop")
    pin_file.unlink()
    assert result.returncode == 0, result.stderr
    job = ok(perso(system, "GetJob", P.GetJobRequest(job_id=json.loads(result.stdout)["job_id"])),
             P.PersoJob)
    assert job.renewal
    job = wait_job(system, job.job_id)
    assert job.state == P.PERSO_JOB_STATE_SUCCEEDED, (job.failure_reason, job.steps)
    return dict(request=made, job=job)


def test_renewal_makes_new_keys_and_certificates_on_the_same_card(system, pcsc, first, renewed):
    old_job, job = first["job"], renewed["job"]
    assert job.card_uuid == old_job.card_uuid and job.renewal
    old_serials, new_serials = set(old_job.certificate_serials), set(job.certificate_serials)
    assert len(new_serials) == 2 and not old_serials & new_serials
    assert {spki(system, s) for s in old_serials}.isdisjoint({spki(system, s) for s in new_serials})
    card = card_of(system, job.card_uuid)
    assert card.state == P.CARD_STATE_ACTIVE
    assert card.card_request_id == renewed["request"].card_request_id
    assert {c.serial_hex for c in card.certificates} == new_serials
    # The PIN and PUK were kept; the management key too.
    steps = {P.PersoStep.Name(s.step): s.detail for s in job.steps}
    assert "kept" in steps["PERSO_STEP_SET_PIN_AND_PUK"]
    # Until the holder accepts: old ones good, new ones on hold.
    for serial in old_serials:
        assert ca_status(system, serial) == ca_pb2.CERTIFICATE_STATE_GOOD
    for serial in new_serials:
        assert ca_status(system, serial) == ca_pb2.CERTIFICATE_STATE_ON_HOLD
    # OpenSC reads the new certificates, and the holder's own PIN signs.
    listed = run(pcsc, "pkcs15-tool", "--list-certificates").stdout
    assert listed.count("X.509 Certificate") == 2, listed
    work = first["work"]
    auth = next(c.serial_hex for c in card.certificates if c.slot == "9A")
    (work / "new-auth.der").write_bytes(ca_certificate(system, auth).certificate_der)
    public = work / "new-auth.pem"
    public.write_bytes(subprocess.run(["openssl", "x509", "-inform", "DER", "-in",
                                       str(work / "new-auth.der"), "-noout", "-pubkey"],
                                      check=True, capture_output=True).stdout)
    digest = work / "renewed.sha256"
    digest.write_bytes(hashlib.sha256(b"renewed card %f" % time.time()).digest())
    run(pcsc, "pkcs11-tool", "--module", PKCS11, "--login", "--pin", first["pin"], "--sign",
        "--id", "01", "-m", "ECDSA", "--signature-format", "openssl", "-i", str(digest),
        "-o", str(work / "renewed.sig"))
    verified = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(public),
                               "-in", str(digest), "-sigfile", str(work / "renewed.sig")],
                              capture_output=True, text=True)
    assert "Signature Verified Successfully" in verified.stdout, verified.stderr


def holder_browser(portal, first):
    """The holder logged in on the portal (secret questions set if asked)."""
    browser = Browser(portal)
    status, headers, body = browser.login(first["login"], first["password"])
    assert status == 303, body
    if headers["Location"] == "/questions":
        status, headers, body = browser.post("/questions", questions_form())
        assert status == 303, body
    return browser


def replayed_nothing(system, uuid, request_id, old_serials):
    """What a replay must leave as it is."""
    return (rows(system, "SELECT count(*) FROM mail.acceptances WHERE card_uuid = %s", uuid),
            rows(system, "SELECT count(*) FROM mail.outbox WHERE type = 'acceptance.recorded'"),
            rows(system, "SELECT count(*) FROM enrollment.audit_log WHERE action ="
                         " 'enrollment.card_request_completed' AND subject = %s", request_id),
            rows(system, "SELECT count(*) FROM perso.outbox WHERE type = 'card.activated'"
                         " AND subject = %s", uuid),
            [superseded_at_ca(system, serial) for serial in sorted(old_serials)])


def superseded_at_ca(system, serial):
    """How many times ca revoked serial with reason superseded (its events)."""
    return sum(ca_pb2.CertificateRevoked.FromString(bytes(payload)).reason ==
               ca_pb2.REVOCATION_REASON_SUPERSEDED
               for payload, in rows(system, "SELECT payload FROM ca.outbox WHERE type ="
                                            " 'certificate.revoked' AND subject = %s", serial))


def test_acceptance_supersedes_the_old_certificates_once(system, portal, first, renewed):
    job = renewed["job"]
    uuid, request_id = job.card_uuid, renewed["request"].card_request_id
    old_serials, new_serials = list(first["job"].certificate_serials), list(job.certificate_serials)
    pin, code, event = mailer(system, uuid)
    assert pin is None and event.reissue       # a new activation code, no new PIN
    assert event.card_request_id == request_id
    browser = holder_browser(portal, first)
    # The card is active with a code newer than its activation: the portal
    # offers to activate it again, not yet to accept it.
    status, _, body = browser.get("/cards")
    assert status == 200 and f'id="activate-{uuid}"' in body, body
    assert f'id="accept-{uuid}"' not in body and f'id="accepted-{uuid}"' not in body
    status, _, body = browser.post("/accept", {"card_uuid": uuid, "accept": "yes"})
    assert status == 409
    assert rows(system, "SELECT count(*) FROM mail.acceptances WHERE card_uuid = %s",
                uuid)[0][0] == 0
    # Mail refuses a renewal's acceptance before its code was used, and a
    # request the card does not answer.
    account = first["account"]
    early = call(system, "mail", "RecordAcceptance", mail_pb2.RecordAcceptanceRequest(
        channel=mail_pb2.ACCEPTANCE_CHANNEL_PORTAL, card_uuid=uuid, card_request_id=request_id,
        account_id=account, client_address="192.0.2.7", user_agent="pytest"), "portal")
    assert early.status == PRECONDITION and "activate it first" in early.status_message, early
    other = call(system, "mail", "RecordAcceptance", mail_pb2.RecordAcceptanceRequest(
        channel=mail_pb2.ACCEPTANCE_CHANNEL_PORTAL, card_uuid=uuid,
        card_request_id="req-not-this-one", account_id=account, client_address="192.0.2.7",
        user_agent="pytest"), "portal")
    assert other.status == PRECONDITION and "has not been posted" in other.status_message, other
    assert rows(system, "SELECT count(*) FROM mail.acceptances WHERE card_uuid = %s",
                uuid)[0][0] == 0
    assert rows(system, "SELECT count(*) FROM mail.audit_log WHERE action ="
                        " 'mail.acceptance_recorded'")[0][0] == 0
    # The renewal's PIN mailer lost: the activation-code operator issues
    # another code for the active card; the first one stops working.
    ok(perso(system, "ReissueActivationCode", P.ReissueActivationCodeRequest(
        card_uuid=uuid, reason="renewal PIN mailer lost"), "codeop"), P.Card)
    first_code = code
    pin, code, event = mailer(system, uuid)
    assert pin is None and event.reissue and event.card_request_id == request_id
    assert code != first_code
    status, _, body = browser.post("/activate", {"card_uuid": uuid,
                                                 "activation_code": first_code})
    assert status == 200 and f'id="activate-{uuid}"' in body
    for serial in new_serials:
        assert ca_status(system, serial) == ca_pb2.CERTIFICATE_STATE_ON_HOLD
    # The renewal's code on the portal: the new certificates good, the old
    # ones superseded.
    status, headers, body = browser.post("/activate", {"card_uuid": uuid, "activation_code": code})
    assert status == 303 and headers["Location"] == "/cards?notice=activated", body
    for serial in new_serials:
        assert ca_status(system, serial) == ca_pb2.CERTIFICATE_STATE_GOOD
    for serial in old_serials:
        status_at_ca = ca_reason(system, serial)
        assert status_at_ca.state == ca_pb2.CERTIFICATE_STATE_REVOKED
        assert status_at_ca.reason == ca_pb2.REVOCATION_REASON_SUPERSEDED
    activated = P.CardActivated.FromString(bytes(rows(
        system, "SELECT payload FROM perso.outbox WHERE type = 'card.activated' AND subject = %s"
                " ORDER BY seq DESC LIMIT 1", uuid)[0][0]))
    assert activated.card_request_id == request_id
    assert sorted(activated.serials) == sorted(new_serials)
    # Now the acceptance, explicit, of the renewal's certificates.
    status, _, body = browser.get("/cards?notice=activated")
    assert f'id="accept-{uuid}"' in body and f'id="activate-{uuid}"' not in body, body
    status, headers, body = browser.post("/accept", {"card_uuid": uuid, "accept": "yes"})
    assert status == 303 and headers["Location"] == "/cards?notice=accepted", body
    kept = rows(system, "SELECT card_request_id, channel, closes_dossier, account_id,"
                        " user_agent, serials FROM mail.acceptances WHERE card_uuid = %s", uuid)
    assert len(kept) == 1, kept
    assert kept[0][:5] == (request_id, mail_pb2.ACCEPTANCE_CHANNEL_PORTAL, True, account,
                           "Mozilla/5.0 (tessera-portal-test)")
    assert sorted(kept[0][5]) == sorted(new_serials)
    # Enrollment follows mail's acceptance.recorded: the renewal request is
    # completed. Its dossier closes by the first issuance's rule, once no
    # request of it is still validated: the first request (its card handed
    # over at the desk, no paper acceptance yet) keeps it open.
    assert wait_state(system, request_id, E.CARD_REQUEST_STATE_COMPLETED), request_id
    renewal = ok(enrollment(system, "GetCardRequest", E.GetCardRequestRequest(
        card_request_id=request_id)), E.CardRequest)
    assert ok(enrollment(system, "GetCardRequest", E.GetCardRequestRequest(
        card_request_id=first["card_request_id"])), E.CardRequest).state == \
        E.CARD_REQUEST_STATE_VALIDATED
    assert rows(system, "SELECT state FROM enrollment.dossiers WHERE dossier_id = %s",
                renewal.dossier_id)[0][0] == 1
    status, _, body = browser.get("/cards?notice=accepted")
    assert f'id="accepted-{uuid}"' in body and f'id="accept-{uuid}"' not in body
    # Replays change nothing: the code is single use, the acceptance is
    # kept once per card, request and channel.
    before = replayed_nothing(system, uuid, request_id, old_serials)
    assert before[0] == [(1,)] and before[2] == [(1,)]
    assert before[4] == [1] * len(old_serials), before
    status, _, body = browser.post("/activate", {"card_uuid": uuid, "activation_code": code})
    assert status == 409
    status, _, body = browser.post("/accept", {"card_uuid": uuid, "accept": "yes"})
    assert status == 409 and "already" in body
    again = activate(system, uuid, account, code)
    assert again.status == PRECONDITION and "active already" in again.status_message
    time.sleep(1)                   # give an event that should not exist its chance
    assert replayed_nothing(system, uuid, request_id, old_serials) == before
    assert rows(system, "SELECT count(*) FROM perso.audit_log WHERE action ="
                        " 'perso.certificate_superseded' AND subject = %s", uuid)[0][0] == 2
    assert card_of(system, uuid).state == P.CARD_STATE_ACTIVE
    for secret in (code, first_code):
        assert secret not in portal.log() and secret.replace("-", "") not in portal.log()


def test_second_automatic_renewal_is_refused_at_two_stars(system, registry, first, renewed):
    refused = renewal_of(system, registry, first["holder"], renewed["request"].card_request_id)
    assert refused.status == PRECONDITION, refused.status_message
    assert "needs a new dossier" in refused.status_message
    # The first request is renewed already: not a second time.
    again = renewal_of(system, registry, first["holder"], first["card_request_id"])
    assert again.status == envelope_pb2.STATUS_ALREADY_EXISTS, again.status_message


def test_renewals_at_one_star_have_no_limit(system, registry, ca_active):
    holder = registry.holder("Jules", "Petit")
    made = ok(request_of(system, registry, holder, level=ca_pb2.POLICY_LEVEL_ONE_STAR),
              E.CardRequest)
    submit_and_validate(system, made)
    previous = made.card_request_id
    for _ in range(2):
        renewal = ok(renewal_of(system, registry, holder, previous), E.CardRequest)
        assert renewal.level == ca_pb2.POLICY_LEVEL_ONE_STAR and renewal.dossier_reused
        submit_and_validate(system, renewal)
        previous = renewal.card_request_id
    # The operator's CLI makes the third.
    batch = ok(enrollment(system, "CreateBatch", E.CreateBatchRequest(
        organisation_id=registry.org.organisation_id, label="cli")), E.Batch)
    result = system.cli("--json", "enrollment", "renew", "--batch", batch.batch_id, "--person",
                        holder.person_id, "--previous", previous, "--use", "auth",
                        identity="operator")
    assert result.returncode == 0, result.stderr
    made = json.loads(result.stdout)
    assert made["kind"] == "renewal" and made["previous_card_request_id"] == previous
    assert made["level"] == ca_pb2.POLICY_LEVEL_ONE_STAR and made["dossier_reused"] is True


def test_bad_kinds_are_refused(system, registry, first):
    holder = first["holder"]
    bad = request_of(system, registry, holder, kind=E.CARD_REQUEST_KIND_REPLACEMENT,
                     previous_card_request_id=first["card_request_id"])
    assert bad.status == INVALID and "replacement_reason" in bad.status_message
    bad = request_of(system, registry, holder, kind=E.CARD_REQUEST_KIND_RENEWAL)
    assert bad.status == INVALID and "previous_card_request_id" in bad.status_message
    other = registry.holder("Léa", "Moreau")
    bad = renewal_of(system, registry, other, first["card_request_id"])
    assert bad.status == INVALID and "is not person" in bad.status_message


@pytest.fixture(scope="module")
def replaced(system, pcsc, registry, first, renewed, tmp_path_factory):
    """The renewed card is lost: revoked keyCompromise, replaced by a new card."""
    work = tmp_path_factory.mktemp("replacement-card")
    lost_uuid = renewed["job"].card_uuid
    serials = list(renewed["job"].certificate_serials)
    change_state(system, lost_uuid, P.CARD_STATE_LOST, "lost by the holder, declared by phone")
    made = ok(request_of(system, registry, first["holder"], kind=E.CARD_REQUEST_KIND_REPLACEMENT,
                         previous_card_request_id=renewed["request"].card_request_id,
                         replacement_reason=E.REPLACEMENT_REASON_LOST), E.CardRequest)
    assert made.replacement_reason == E.REPLACEMENT_REASON_LOST and made.dossier_reused
    submit_and_validate(system, made)
    card = new_card(pcsc, work, "replacement")
    # Not before the lost card's certificates are revoked keyCompromise.
    refused = start_job(system, pcsc, made.card_request_id)
    assert refused.status == PRECONDITION and "keyCompromise" in refused.status_message
    revoke_online(system, first["account"], serials, ca_pb2.REVOCATION_REASON_KEY_COMPROMISE,
                  "carte perdue")
    job = personalised_job(system, pcsc, made.card_request_id)
    return dict(request=made, job=job, card=card, lost_uuid=lost_uuid, lost_serials=serials)


def test_lost_card_replaced_by_a_new_card_read_by_opensc(system, pcsc, first, replaced):
    job = replaced["job"]
    assert job.card_uuid != replaced["lost_uuid"] and not job.renewal
    for serial in replaced["lost_serials"]:
        status = ca_reason(system, serial)
        assert status.state == ca_pb2.CERTIFICATE_STATE_REVOKED
        assert status.reason == ca_pb2.REVOCATION_REASON_KEY_COMPROMISE
    assert card_of(system, replaced["lost_uuid"]).state == P.CARD_STATE_LOST
    listed = run(pcsc, "pkcs15-tool", "--list-certificates").stdout
    assert listed.count("X.509 Certificate") == 2, listed
    for serial in job.certificate_serials:
        subject = ca_certificate(system, serial)
        assert subject.certificate_der      # issued for the new request
        assert ca_status(system, serial) == ca_pb2.CERTIFICATE_STATE_ON_HOLD
    # A new PIN mailer (a new PIN) and a new activation.
    pin, code, event = mailer(system, job.card_uuid)
    assert pin and len(pin) == 8 and not event.reissue
    reply = ok(activate(system, job.card_uuid, first["account"], code), P.ActivateCardReply)
    assert reply.activated
    replaced["pin"] = pin


def test_damaged_card_return_recorded_then_replaced(system, pcsc, registry, first, replaced,
                                                    tmp_path_factory):
    work = tmp_path_factory.mktemp("damaged-card")
    damaged_uuid = replaced["job"].card_uuid
    serials = list(replaced["job"].certificate_serials)
    # The replacement request by the operator's CLI.
    batch = ok(enrollment(system, "CreateBatch", E.CreateBatchRequest(
        organisation_id=registry.org.organisation_id, label="damaged")), E.Batch)
    result = system.cli("--json", "enrollment", "replace", "--batch", batch.batch_id, "--person",
                        first["holder"].person_id, "--previous",
                        replaced["request"].card_request_id, "--reason", "damaged",
                        identity="operator")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["replacement_reason"] == "damaged"
    made = ok(enrollment(system, "GetCardRequest", E.GetCardRequestRequest(
        card_request_id=json.loads(result.stdout)["card_request_id"])), E.CardRequest)
    assert made.replacement_reason == E.REPLACEMENT_REASON_DAMAGED
    submit_and_validate(system, made)
    new_card(pcsc, work, "after-damage")
    # The damaged card must be back first...
    refused = start_job(system, pcsc, made.card_request_id)
    assert refused.status == PRECONDITION and "record its return" in refused.status_message
    card = change_state(system, damaged_uuid, P.CARD_STATE_RETURNED, "returned cracked")
    assert card.state == P.CARD_STATE_RETURNED
    # ...and its certificates revoked cessationOfOperation.
    refused = start_job(system, pcsc, made.card_request_id)
    assert refused.status == PRECONDITION and "cessationOfOperation" in refused.status_message
    revoke_online(system, first["account"], serials,
                  ca_pb2.REVOCATION_REASON_CESSATION_OF_OPERATION, "carte abîmée, rendue")
    job = personalised_job(system, pcsc, made.card_request_id)
    assert job.card_uuid not in (damaged_uuid, replaced["lost_uuid"])
    history = card_of(system, damaged_uuid).history
    assert [(h.from_state, h.to_state) for h in history][-1] == \
        (P.CARD_STATE_ACTIVE, P.CARD_STATE_RETURNED)
    listed = run(pcsc, "pkcs15-tool", "--list-certificates").stdout
    assert listed.count("X.509 Certificate") == 2, listed


def test_a_card_that_expires_first_is_renewed_on_a_new_card(system, pcsc, registry, ca_active,
                                                            tmp_path_factory):
    work = tmp_path_factory.mktemp("renewal-new-card")
    holder = registry.holder("Inès", "Garnier")
    _, (card_request_id,) = registry.batch([holder])
    ok(validate(system, card_request_id), validation_pb2.Decision)
    assert wait_state(system, card_request_id, E.CARD_REQUEST_STATE_VALIDATED)
    _, old_job = personalise(system, pcsc, card_request_id, work, "expiring")
    pin, code, _ = mailer(system, old_job.card_uuid)
    account = account_of(system, holder.person_id)
    assert ok(activate(system, old_job.card_uuid, account, code), P.ActivateCardReply).activated
    # The card's own end of life comes before new certificates' would.
    conn = system.cluster.connect()
    try:
        with conn, conn.cursor() as cur:
            cur.execute("UPDATE perso.cards SET expires_at = now() + interval '200 days'"
                        " WHERE card_uuid = %s", (old_job.card_uuid,))
    finally:
        conn.close()
    made = ok(renewal_of(system, registry, holder, card_request_id), E.CardRequest)
    submit_and_validate(system, made)
    refused = start_job(system, pcsc, made.card_request_id, holder_pin=pin)
    assert refused.status == PRECONDITION and "itself expires" in refused.status_message
    # A blank card, no PIN: an ordinary personalisation for the renewal.
    _, job = personalise(system, pcsc, made.card_request_id, work, "renewing")
    assert not job.renewal and job.card_uuid != old_job.card_uuid
    new_pin, new_code, event = mailer(system, job.card_uuid)
    assert new_pin and not event.reissue
    listed = run(pcsc, "pkcs15-tool", "--list-certificates").stdout
    assert listed.count("X.509 Certificate") == 2, listed
    for serial in old_job.certificate_serials:
        assert ca_status(system, serial) == ca_pb2.CERTIFICATE_STATE_GOOD
    # The new card's activation is the acceptance: the old ones superseded.
    assert ok(activate(system, job.card_uuid, account, new_code), P.ActivateCardReply).activated
    for serial in old_job.certificate_serials:
        status = ca_reason(system, serial)
        assert status.state == ca_pb2.CERTIFICATE_STATE_REVOKED
        assert status.reason == ca_pb2.REVOCATION_REASON_SUPERSEDED
    for serial in job.certificate_serials:
        assert ca_status(system, serial) == ca_pb2.CERTIFICATE_STATE_GOOD
