"""Revocation: the portal (at once), phone (secret questions picked at random,
all must match, three failures lock the channel) and paper form (handwritten
signature checked against the dossier) channels; who may ask for whom (the
holder, the RL or an MC of the holder's organisation); the revocation
operator's decision applied in ca; deadlines in the list and the metrics;
the archive and the audit trail. Real PostgreSQL, real enrollment,
validation, ca and revocation processes, holders registered, validated and
given certificates the way the other services do it, a Python client of its
own."""
import json
import os
import secrets
import shutil
import subprocess
import time

import pytest

from tessera.v1 import (ca_pb2, enrollment_pb2, envelope_pb2, revocation_pb2,
                        validation_pb2)
from tsrtest import CLI, System, keygen, read_cert
from test_ca import csr_der, holder_subject
from test_validation import QUESTIONS, Registry, login, new_holder_account, set_password

OK = envelope_pb2.STATUS_OK
INVALID = envelope_pb2.STATUS_INVALID_ARGUMENT
DENIED = envelope_pb2.STATUS_PERMISSION_DENIED
PRECONDITION = envelope_pb2.STATUS_FAILED_PRECONDITION
NOT_FOUND = envelope_pb2.STATUS_NOT_FOUND
ALREADY = envelope_pb2.STATUS_ALREADY_EXISTS
R = revocation_pb2
E = enrollment_pb2
AUTH = ca_pb2.CERTIFICATE_USE_AUTHENTICATION
SIGN = ca_pb2.CERTIFICATE_USE_SIGNATURE
KEY_COMPROMISE = ca_pb2.REVOCATION_REASON_KEY_COMPROMISE
AFFILIATION = ca_pb2.REVOCATION_REASON_AFFILIATION_CHANGED
PASSWORD = "un long chemin de campagne"
ANSWERS = {i + 1: answer for i, (_, answer) in enumerate(QUESTIONS)}
KEEPERS = ("keeper1", "keeper2")
EXTRA_KEYS = ("portal", "revoker", "auditor") + KEEPERS
BASE_ENV = {"TSR_REVOCATION_TIMER_MS": "300", "TSR_CA_TIMEOUT_MS": "1500"}


@pytest.fixture(scope="module")
def system():
    s = System()
    s.service_env["revocation"] = dict(BASE_ENV)
    try:
        s.start([])
        # The portal is a service (its key in the keyring before the services
        # start); the revocation operator, the controller and the CA key
        # custodians are operators.
        for name in EXTRA_KEYS:
            if not (s.keys / f"{name}.cert").exists():
                cert = keygen(s.keys, name)
                shutil.copy(cert, s.keyring / cert.name)
        names = ("enrollment", "validation", "ca", "revocation")
        for name in names:
            s.services[name].start(wait=False)
        for name in names:
            s.services[name].wait_ready()
        for secret in [PASSWORD, *ANSWERS.values()]:
            s.secret(secret)
    except BaseException:
        s.stop()
        raise
    yield s
    s.stop()


# --- helpers ------------------------------------------------------------------

def call(system, service, method, message, identity, request_id=None, timeout=30.0):
    client = system.client(service, identity)
    try:
        reply, _ = client.call(method, message.SerializeToString(), request_id=request_id,
                               timeout=timeout)
    finally:
        client.close()
    assert reply is not None, f"{service}.{method}: no reply"
    return reply


def ok(reply, cls):
    assert reply.status == OK, f"{envelope_pb2.Status.Name(reply.status)}: {reply.status_message}"
    return cls.FromString(reply.payload)


def revocation(system, method, message, identity="revoker", **kw):
    return call(system, "revocation", method, message, identity, **kw)


def rows(system, sql, *params):
    conn = system.cluster.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def counts(system):
    return tuple(rows(system, f"SELECT count(*) FROM revocation.{table}")[0][0]
                 for table in ("revocations", "phone_challenges", "phone_attempts", "audit_log",
                               "outbox"))


def audit(system, action, subject=None):
    found = rows(system, "SELECT subject, actor, details FROM revocation.audit_log"
                         " WHERE action = %s ORDER BY seq", action)
    return [(s, a, json.loads(d)) for s, a, d in found if subject is None or s == subject]


def events(system, type_, subject=None):
    found = rows(system, "SELECT subject, payload FROM revocation.outbox WHERE type = %s"
                         " ORDER BY seq", type_)
    return [bytes(p) for s, p in found if subject is None or s == subject]


def key_of(system, identity):
    return read_cert(system.keys / f"{identity}.cert")[0]


def ca_state(system, serial):
    reply = call(system, "ca", "GetStatus", ca_pb2.GetStatusRequest(serial_hex=serial), "revoker")
    return ok(reply, ca_pb2.CertificateStatus)


def new_holder(system, registry, given, surname):
    """A holder as the other services make one: a validated request, an
    account with a password of their own and five secret questions, and an
    authentication and a signature certificate issued by ca."""
    made = new_holder_account(system, registry, given, surname)
    account_id = made["account"].account_id
    reply = login(system, made["account"].login, made["otp"])
    ok(set_password(system, account_id, PASSWORD, token=reply.password_change_token),
       validation_pb2.HolderAccount)
    ok(call(system, "validation", "SetSecretQuestions", validation_pb2.SetSecretQuestionsRequest(
        account_id=account_id, pairs=[validation_pb2.SecretQuestionAnswer(question=q, answer=a)
                                      for q, a in QUESTIONS]), "portal"),
       validation_pb2.HolderAccount)
    person = made["holder"]
    serials = {}
    for use in (AUTH, SIGN):
        issued = ok(call(system, "ca", "IssueCertificate", ca_pb2.IssueCertificateRequest(
            card_request_id=made["card_request_id"], holder_id=person.person_id,
            csr_der=csr_der()[0], use=use, level=ca_pb2.POLICY_LEVEL_TWO_STARS,
            subject=holder_subject(given_name=given, surname=surname,
                                   organization=registry.org.legal_name,
                                   organization_id=registry.org.siret)), "perso"),
            ca_pb2.IssueCertificateReply)
        serials[use] = issued.certificate.serial_hex
    return dict(made, person=person, person_id=person.person_id, account_id=account_id,
                serials=serials)


def document_of(system, person, type_):
    dossier = ok(call(system, "enrollment", "GetDossier", E.GetDossierRequest(
        dossier_id=person.dossier_id), "operator"), E.Dossier)
    return next(d.document_id for d in dossier.documents if d.type == type_)


def start(system, caller, holder="", serials=(), identity="revoker"):
    return revocation(system, "StartPhoneChallenge", R.StartPhoneChallengeRequest(
        caller_person_id=caller, holder_person_id=holder, serials=list(serials)), identity)


def answer(system, challenge, wrong=0):
    """Answers the questions asked, the first `wrong` of them wrongly."""
    answers = [validation_pb2.SecretAnswer(
        question_id=q.question_id, answer="pas du tout ça" if i < wrong else ANSWERS[q.question_id])
        for i, q in enumerate(challenge.questions)]
    return revocation(system, "AnswerPhoneChallenge", R.AnswerPhoneChallengeRequest(
        challenge_id=challenge.challenge_id, answers=answers))


def record_phone(system, challenge_id, serials, reason=KEY_COMPROMISE, **extra):
    return revocation(system, "RecordPhoneRevocation", R.RecordPhoneRevocationRequest(
        challenge_id=challenge_id, serials=list(serials), reason=reason, **extra))


def paper(system, requester, serials, document_id, holder="", signature_matches=True,
          received=None, sha=None, reason=KEY_COMPROMISE, identity="revoker", **extra):
    return revocation(system, "RecordPaperRevocation", R.RecordPaperRevocationRequest(
        requester_person_id=requester, holder_person_id=holder, serials=list(serials),
        reason=reason, form_sha256=sha or secrets.token_hex(32),
        form_received_unix=received or int(time.time()) - 3600,
        signature_matches=signature_matches, reference_document_id=document_id,
        statement="formulaire reçu par courrier", **extra), identity)


def decide(system, revocation_id, approve=True, note="", identity="revoker", **extra):
    return revocation(system, "DecideRevocation", R.DecideRevocationRequest(
        revocation_id=revocation_id, approve=approve, note=note, **extra), identity)


def restart_revocation(system, **env):
    service = system.services["revocation"]
    assert service.stop() == 0
    system.service_env["revocation"] = dict(BASE_ENV, **env)
    service.start()


# --- fixtures: operators, the CA, an organisation and its holders ------------

@pytest.fixture(scope="module")
def operators(system):
    """operator: entry + validation (enters requests); client: validation;
    alice: service desk; bob, auditor: controllers; revoker: revocation;
    keepers: CA key custodians."""
    made = {
        "operator": system.add_operator("operator", "entry", "validation"),
        "client": system.add_operator("client", "validation"),
        "alice": system.add_operator("alice", "service-desk"),
        "bob": system.add_operator("bob", "controller"),
        "revoker": system.add_operator("revoker", "revocation"),
        "carol": system.add_operator("carol", "entry"),
    }
    for keeper in KEEPERS:
        made[keeper] = system.add_operator(keeper, "custodian")
    return made


def activate(system, shares):
    for keeper in KEEPERS:
        result = system.cli("--json", "ca", "activate", "--share", str(shares[keeper]),
                            identity=keeper)
        assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def ca_shares(system, operators):
    out = system.root / "ceremony"
    args = ["--json", "ca", "ceremony", "--org", "Tessera Trust", "--root-cn", "Tessera Root CA",
            "--issuing-cn", "Tessera Issuing CA", "--root-alg", "ec-p256", "--issuing-alg",
            "ec-p256", "--root-days", "3650", "--issuing-days", "1825", "--threshold", "2",
            "--so-pin-file", str(system.hsm.so_pin_file), "--out", str(out)]
    for keeper in KEEPERS:
        args += ["--custodian", f"{keeper}={system.keys / (keeper + '.cert')}"]
    result = system.cli(*args, identity="officer", timeout=120)
    assert result.returncode == 0, result.stderr
    shares = {k: next((out / k).glob("ca-*.*")) for k in KEEPERS}
    for share in shares.values():
        system.secret(share.read_bytes())
    activate(system, shares)
    return shares


@pytest.fixture(scope="module")
def org_a(system, operators, ca_shares):
    return Registry(system, operators["operator"])


@pytest.fixture(scope="module")
def org_b(system, operators, ca_shares):
    return Registry(system, operators["operator"])


def delegate(system, registry, given, surname):
    """An MC of the registry's organisation, with a designation signed by
    them and their RL in their own dossier."""
    mc = ok(call(system, "enrollment", "RegisterPerson", E.RegisterPersonRequest(
        organisation_id=registry.org.organisation_id, role=E.PERSON_ROLE_CERTIFICATION_DELEGATE,
        given_name=given, surname=surname, email=f"mc-{secrets.token_hex(3)}@example.fr",
        postal_address=E.PostalAddress(lines=["1 rue Haute"], postal_code="69001", city="Lyon",
                                       country_code="FR"),
        language="fr", designated_by_person_id=registry.rl.person_id), "operator"), E.Person)
    designation = registry.document(mc.dossier_id, E.DOCUMENT_TYPE_MC_DESIGNATION,
                                    [mc.person_id, registry.rl.person_id])
    return mc, designation.document_id


@pytest.fixture(scope="module")
def h1(system, org_a):
    return new_holder(system, org_a, "Elodie", "Dupre")


@pytest.fixture(scope="module")
def h2(system, org_a):
    return new_holder(system, org_a, "Sophie", "Marchand")


@pytest.fixture(scope="module")
def h3(system, org_a):
    return new_holder(system, org_a, "Jean", "Martin")


@pytest.fixture(scope="module")
def h4(system, org_a):
    return new_holder(system, org_a, "Luc", "Bernard")


# --- who may call what ----------------------------------------------------------

def test_methods_refuse_callers_without_their_role(system, operators):
    before = counts(system)[0]
    # Only the portal (a service key) revokes online; only the revocation
    # operator takes calls and decides; the controller reads.
    assert revocation(system, "RevokeOnline", R.RevokeOnlineRequest(account_id="a"),
                      "revoker").status == DENIED
    assert start(system, "p-1", identity="portal").status == DENIED
    assert start(system, "p-1", identity="bob").status == DENIED
    assert decide(system, "rv-1", identity="bob").status == DENIED
    assert decide(system, "rv-1", identity="alice").status == DENIED
    assert revocation(system, "ExportRevocationArchive", R.ExportRevocationArchiveRequest(),
                      "revoker").status == DENIED
    for identity in ("revoker", "alice", "bob"):
        assert revocation(system, "ListRevocations", R.ListRevocationsRequest(),
                          identity).status == OK
    assert revocation(system, "GetPhoneChannelStatus", R.GetPhoneChannelStatusRequest(
        person_id="p-1"), "alice").status == OK
    assert revocation(system, "ExportRevocationArchive", R.ExportRevocationArchiveRequest(),
                      "bob").status == OK
    assert counts(system)[0] == before
    refused = {(s, a) for s, a, _ in audit(system, "bus.permission_denied")}
    assert ("RevokeOnline", key_of(system, "revoker")) in refused
    assert ("DecideRevocation", key_of(system, "bob")) in refused


# --- bad input --------------------------------------------------------------------

def _paper(**overrides):
    fields = dict(requester_person_id="p-1", serials=["0a1b"], reason=KEY_COMPROMISE,
                  form_sha256="ab" * 32, form_received_unix=int(time.time()) - 60,
                  signature_matches=True, reference_document_id="doc-1")
    fields.update(overrides)
    return R.RecordPaperRevocationRequest(**fields)


def _online(**overrides):
    fields = dict(account_id="acc-1", serials=["0a1b"], reason=KEY_COMPROMISE)
    fields.update(overrides)
    return R.RevokeOnlineRequest(**fields)


BAD_INPUT = [
    ("StartPhoneChallenge", R.StartPhoneChallengeRequest(), "caller_person_id"),
    ("StartPhoneChallenge", R.StartPhoneChallengeRequest(
        caller_person_id="x' OR 1=1; DROP TABLE revocations; --"), "caller_person_id"),
    ("StartPhoneChallenge", R.StartPhoneChallengeRequest(caller_person_id="p\x00admin"),
     "caller_person_id"),
    ("StartPhoneChallenge", R.StartPhoneChallengeRequest(caller_person_id="p-1",
                                                         serials=["xyz"]), "serials[0]"),
    ("StartPhoneChallenge", R.StartPhoneChallengeRequest(caller_person_id="p-1",
                                                         serials=["0a"] * 17), "serials"),
    ("AnswerPhoneChallenge", R.AnswerPhoneChallengeRequest(challenge_id="a b"), "challenge_id"),
    ("AnswerPhoneChallenge", R.AnswerPhoneChallengeRequest(challenge_id="pc-1"), "answers"),
    ("AnswerPhoneChallenge", R.AnswerPhoneChallengeRequest(challenge_id="pc-1", answers=[
        validation_pb2.SecretAnswer(question_id=1, answer="a" * 129)]), "answers[0].answer"),
    ("RecordPhoneRevocation", R.RecordPhoneRevocationRequest(challenge_id="pc-1",
                                                             reason=KEY_COMPROMISE), "serials"),
    ("RecordPhoneRevocation", R.RecordPhoneRevocationRequest(challenge_id="pc-1",
                                                             serials=["0a1b"]), "reason"),
    ("RecordPhoneRevocation", R.RecordPhoneRevocationRequest(
        challenge_id="pc-1", serials=["0a1b", "0A1B"], reason=KEY_COMPROMISE), "serials[1]"),
    ("RecordPhoneRevocation", R.RecordPhoneRevocationRequest(
        challenge_id="pc-1", serials=["0a1b"], reason=KEY_COMPROMISE, requester_role=7),
     "requester_role"),
    ("RecordPaperRevocation", _paper(form_sha256="abc"), "form_sha256"),
    ("RecordPaperRevocation", _paper(form_received_unix=int(time.time()) + 86400),
     "form_received_unix"),
    ("RecordPaperRevocation", _paper(reference_document_id=""), "reference_document_id"),
    ("RecordPaperRevocation", _paper(reason=ca_pb2.REVOCATION_REASON_CA_COMPROMISE), "reason"),
    ("RecordPaperRevocation", _paper(reason=ca_pb2.REVOCATION_REASON_REMOVE_FROM_CRL), "reason"),
    ("RecordPaperRevocation", _paper(statement="deux\nlignes"), "statement"),
    ("RecordPaperRevocation", _paper(statement="é" * 1001), "statement"),
    ("RecordPaperRevocation", _paper(serials=["0x12"]), "serials[0]"),
    ("RevokeOnline", _online(account_id=""), "account_id"),
    ("RevokeOnline", _online(reason=ca_pb2.REVOCATION_REASON_CERTIFICATE_HOLD), "reason"),
    ("RevokeOnline", _online(user_agent="x\x1b[31m"), "user_agent"),
    ("RevokeOnline", _online(serials=[]), "serials"),
    # A card or serials, not both; a card is a UUID (test_suspension
    # revokes a real one).
    ("RevokeOnline", _online(card_uuid="0badcafe-0000-4000-8000-000000000000"),
     "card_uuid and serials"),
    ("RevokeOnline", _online(card_uuid="0badcafe", serials=[]), "card_uuid"),
    ("RecordPaperRevocation", _paper(card_uuid="0badcafe-0000-4000-8000-00000000000g",
                                     serials=[]), "card_uuid"),
    ("DecideRevocation", R.DecideRevocationRequest(revocation_id=""), "revocation_id"),
    ("DecideRevocation", R.DecideRevocationRequest(revocation_id="rv-1", approve=False),
     "note"),
    ("ListRevocations", R.ListRevocationsRequest(page_token="zz"), "page_token"),
    ("ListRevocations", R.ListRevocationsRequest(limit=101), "limit"),
    ("ListRevocations", R.ListRevocationsRequest(state=9), "state"),
    ("GetPhoneChannelStatus", R.GetPhoneChannelStatusRequest(), "person_id"),
    ("GetRevocation", R.GetRevocationRequest(revocation_id="a" * 65), "revocation_id"),
]


@pytest.mark.parametrize("method,message,field", BAD_INPUT,
                         ids=[f"{m}-{f}-{i}" for i, (m, _, f) in enumerate(BAD_INPUT)])
def test_bad_input_names_the_field_and_changes_nothing(system, operators, method, message,
                                                       field):
    before = counts(system)
    identity = "portal" if method == "RevokeOnline" else "revoker"
    reply = revocation(system, method, message, identity)
    assert reply.status == INVALID, reply.status_message
    assert field in reply.status_message
    assert counts(system) == before


# --- phone ------------------------------------------------------------------------

def test_phone_with_three_of_four_right_answers_is_refused(system, h1, operators):
    challenge = ok(start(system, h1["person_id"]), R.PhoneChallenge)
    # Level ** (the deployment's, and the certificates'): 4 of the 5
    # questions, as validation has them, never the answers.
    assert challenge.level == ca_pb2.POLICY_LEVEL_TWO_STARS
    assert len(challenge.questions) == 4
    assert len({q.question_id for q in challenge.questions}) == 4
    texts = dict(QUESTIONS)
    assert all(q.question in texts for q in challenge.questions)
    assert challenge.failed_attempts == 0
    result = ok(answer(system, challenge, wrong=1), R.PhoneChallengeResult)
    assert not result.passed and result.failed_attempts == 1 and result.locked_until_unix == 0
    # Nothing can be recorded with it, and it is checked once only.
    before = counts(system)[0]
    reply = record_phone(system, challenge.challenge_id, [h1["serials"][AUTH]])
    assert reply.status == PRECONDITION and "not passed" in reply.status_message
    assert answer(system, challenge).status == PRECONDITION
    assert counts(system)[0] == before
    assert ca_state(system, h1["serials"][AUTH]).state == ca_pb2.CERTIFICATE_STATE_GOOD
    (_, actor, details), = audit(system, "revocation.phone_answers_checked",
                                 challenge.challenge_id)
    assert actor == key_of(system, "revoker")
    assert details["passed"] is False and details["questions_asked"] == 4
    assert details["operator_id"] == operators["revoker"]
    status = ok(revocation(system, "GetPhoneChannelStatus", R.GetPhoneChannelStatusRequest(
        person_id=h1["person_id"])), R.PhoneChannelStatus)
    assert status.failed_attempts == 1 and status.locked_until_unix == 0


def test_answers_must_be_to_the_questions_asked(system, h1):
    challenge = ok(start(system, h1["person_id"]), R.PhoneChallenge)
    asked = {q.question_id for q in challenge.questions}
    other = next(i for i in ANSWERS if i not in asked)
    before = counts(system)
    answers = [validation_pb2.SecretAnswer(question_id=q, answer=ANSWERS[q])
               for q in list(asked)[:3] + [other]]
    reply = revocation(system, "AnswerPhoneChallenge", R.AnswerPhoneChallengeRequest(
        challenge_id=challenge.challenge_id, answers=answers))
    assert reply.status == INVALID and "question_id" in reply.status_message
    assert counts(system) == before


def test_phone_with_all_right_answers_then_the_operator_approves(system, h1, operators):
    serial = h1["serials"][AUTH]
    challenge = ok(start(system, h1["person_id"], serials=[serial]), R.PhoneChallenge)
    assert len(challenge.questions) == 4
    result = ok(answer(system, challenge), R.PhoneChallengeResult)
    assert result.passed and result.failed_attempts == 0
    record = ok(record_phone(system, challenge.challenge_id, [serial.upper()],
                             statement="carte perdue dans le train"), R.RevocationRecord)
    assert record.channel == R.REVOCATION_CHANNEL_PHONE
    assert record.state == R.REVOCATION_STATE_PENDING
    assert record.requester_person_id == record.holder_person_id == h1["person_id"]
    assert record.requester_role == E.PERSON_ROLE_HOLDER
    assert record.organisation_id == h1["person"].organisation_id
    assert list(record.serials) == [serial]
    assert record.requested_reason == KEY_COMPROMISE
    assert record.level == ca_pb2.POLICY_LEVEL_TWO_STARS
    assert record.deadline_unix == record.received_at_unix + 24 * 3600
    assert not record.overdue
    assert record.recorded_by_operator_id == operators["revoker"]
    assert record.phone.challenge_id == challenge.challenge_id
    assert record.phone.answered_by_person_id == h1["person_id"]
    assert record.phone.questions_asked == 4
    assert record.phone.operator_id == operators["revoker"]
    assert record.phone.passed_at_unix > 0
    # Recorded, not yet revoked: the revocation operator decides.
    assert ca_state(system, serial).state == ca_pb2.CERTIFICATE_STATE_GOOD
    assert record_phone(system, challenge.challenge_id, [serial]).status == PRECONDITION
    pending = ok(revocation(system, "ListRevocations", R.ListRevocationsRequest(
        state=R.REVOCATION_STATE_PENDING)), R.ListRevocationsReply)
    assert record.revocation_id in [r.revocation_id for r in pending.revocations]

    decided = ok(decide(system, record.revocation_id), R.RevocationRecord)
    assert decided.state == R.REVOCATION_STATE_APPLIED
    assert decided.decided_by_operator_id == operators["revoker"]
    assert decided.reason == KEY_COMPROMISE
    assert decided.applied_at_unix > 0 and decided.archived_at_unix > 0
    assert decided.retain_until_unix - decided.archived_at_unix >= 5 * 365 * 86400
    status = ca_state(system, serial)
    assert status.state == ca_pb2.CERTIFICATE_STATE_REVOKED
    assert status.reason == KEY_COMPROMISE
    # ca's event names the request; revocation's own events tell the story.
    revoked = rows(system, "SELECT payload FROM ca.outbox WHERE type = 'certificate.revoked'"
                           " AND subject = %s", serial)
    assert ca_pb2.CertificateRevoked.FromString(bytes(revoked[0][0])).revocation_request_id \
        == record.revocation_id
    for type_ in ("revocation.requested", "revocation.approved", "revocation.applied",
                  "revocation.archived"):
        assert events(system, type_, record.revocation_id), type_
    changed = R.RevocationChanged.FromString(events(system, "revocation.applied",
                                                    record.revocation_id)[0])
    assert changed.state == R.REVOCATION_STATE_APPLIED and list(changed.serials) == [serial]
    # A decision is made once.
    reply = decide(system, record.revocation_id, approve=False, note="trop tard")
    assert reply.status == PRECONDITION and "once" in reply.status_message


def test_three_failures_lock_the_phone_channel_for_an_hour(system, h2):
    person_id = h2["person_id"]
    waiting = ok(start(system, person_id), R.PhoneChallenge)      # answered during the lock
    results = []
    for _ in range(3):
        challenge = ok(start(system, person_id), R.PhoneChallenge)
        results.append(ok(answer(system, challenge, wrong=2), R.PhoneChallengeResult))
    assert [r.failed_attempts for r in results] == [1, 2, 3]
    assert results[0].locked_until_unix == results[1].locked_until_unix == 0
    locked_until = results[2].locked_until_unix
    assert 3600 - 60 < locked_until - time.time() <= 3601          # one hour
    locked = R.PhoneChannelLocked.FromString(events(system, "phone_channel.locked", person_id)[0])
    assert locked.failed_attempts == 3 and locked.locked_until_unix == locked_until
    assert audit(system, "revocation.phone_channel_locked", person_id)

    # The lock holds: no new challenge, no answer to one started before,
    # even with the right answers, and across a restart.
    before = counts(system)[:3]
    reply = start(system, person_id)
    assert reply.status == PRECONDITION and "locked" in reply.status_message
    reply = answer(system, waiting)
    assert reply.status == PRECONDITION and "locked" in reply.status_message
    restart_revocation(system)
    assert start(system, person_id).status == PRECONDITION
    assert counts(system)[:3] == before
    refusals = [d for _, _, d in audit(system, "revocation.refused", person_id)]
    assert sum(d["why"] == "phone_channel_locked" for d in refusals) >= 3
    status = ok(revocation(system, "GetPhoneChannelStatus", R.GetPhoneChannelStatusRequest(
        person_id=person_id), "alice"), R.PhoneChannelStatus)
    assert status.failed_attempts == 3 and status.locked_until_unix == locked_until
    shown = system.cli("--json", "revocation", "phone-status", person_id, identity="revoker")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["locked_until_unix"] == locked_until

    # Time moved by configuration: the lock runs TSR_PHONE_LOCK_S from the
    # third failure, as configured now. At 1 s, the hour is over; the count
    # starts from zero.
    restart_revocation(system, TSR_PHONE_LOCK_S="1")
    deadline = time.time() + 5
    while (reply := start(system, person_id)).status == PRECONDITION and time.time() < deadline:
        time.sleep(0.2)
    challenge = ok(reply, R.PhoneChallenge)
    assert challenge.failed_attempts == 0
    assert ok(answer(system, challenge), R.PhoneChallengeResult).passed
    h2["passed_challenge"] = challenge.challenge_id


# --- paper form ---------------------------------------------------------------------

def test_paper_form_needs_the_recorded_signature_check(system, h3, operators):
    serial = h3["serials"][AUTH]
    form = document_of(system, h3["person"], E.DOCUMENT_TYPE_REQUEST_FORM)
    sha = secrets.token_hex(32)
    before = counts(system)[0]
    reply = paper(system, h3["person_id"], [serial], form, signature_matches=False, sha=sha)
    assert reply.status == PRECONDITION and "signature" in reply.status_message
    assert counts(system)[0] == before
    (_, actor, details), = [r for r in audit(system, "revocation.refused", h3["person_id"])
                            if r[2]["why"] == "signature_not_checked"]
    assert actor == key_of(system, "revoker") and details["form_sha256"] == sha
    # The signature must be compared with a document the requester signed.
    report = document_of(system, h3["person"], E.DOCUMENT_TYPE_FACE_TO_FACE_REPORT)
    reply = paper(system, h3["person_id"], [serial], report, sha=sha)
    assert reply.status == PRECONDITION and "not signed by" in reply.status_message
    reply = paper(system, h3["person_id"], [serial], "doc-nowhere", sha=sha)
    assert reply.status == PRECONDITION
    assert counts(system)[0] == before

    received = int(time.time()) - 7200
    record = ok(paper(system, h3["person_id"], [serial], form, sha=sha.upper(),
                      received=received), R.RevocationRecord)
    assert record.channel == R.REVOCATION_CHANNEL_PAPER_FORM
    assert record.state == R.REVOCATION_STATE_PENDING
    assert record.paper.form_sha256 == sha
    assert record.paper.form_received_unix == received
    assert record.paper.signature_checked_by_operator_id == operators["revoker"]
    assert record.paper.reference_document_id == form
    # The deadline runs from the day the form came.
    assert record.received_at_unix == received
    assert record.deadline_unix == received + 24 * 3600
    assert record.recorded_at_unix >= received
    # One scan, one request; a certificate in one open request at a time.
    reply = paper(system, h3["person_id"], [h3["serials"][SIGN]], form, sha=sha)
    assert reply.status == ALREADY and "form_sha256" in reply.status_message
    reply = paper(system, h3["person_id"], [serial], form)
    assert reply.status == PRECONDITION and record.revocation_id in reply.status_message

    # Decided with the CLI; the decision may give another reason.
    result = system.cli("--json", "revocation", "decide", record.revocation_id, "--approve",
                        "--reason", "affiliation-changed", "--note", "signature conforme",
                        identity="revoker")
    assert result.returncode == 0, result.stderr
    decided = json.loads(result.stdout)
    assert decided["state"] == "applied" and decided["reason"] == "affiliation-changed"
    assert decided["requested_reason"] == "key-compromise"
    assert decided["authentication"]["form_sha256"] == sha
    status = ca_state(system, serial)
    assert status.state == ca_pb2.CERTIFICATE_STATE_REVOKED and status.reason == AFFILIATION


# --- who may ask for whom --------------------------------------------------------------

def test_an_mc_cannot_revoke_another_organisations_holder(system, org_a, org_b, h4):
    mc_b, designation_b = delegate(system, org_b, "Marc", "Petit")
    serial = h4["serials"][AUTH]
    before = counts(system)[:3]
    reply = paper(system, mc_b.person_id, [serial], designation_b, holder=h4["person_id"])
    assert reply.status == DENIED and "own organisation" in reply.status_message
    reply = start(system, mc_b.person_id, holder=h4["person_id"])
    assert reply.status == DENIED and "own organisation" in reply.status_message
    # Nor may a holder ask for another holder's certificates, even in their
    # organisation, nor name certificates that are not the holder's.
    other = new_holder(system, org_a, "Anne", "Roux")
    reply = start(system, other["person_id"], holder=h4["person_id"])
    assert reply.status == DENIED and "their own" in reply.status_message
    form = document_of(system, other["person"], E.DOCUMENT_TYPE_REQUEST_FORM)
    reply = paper(system, other["person_id"], [serial], form)
    assert reply.status == DENIED and "not one of" in reply.status_message
    assert counts(system)[:3] == before
    assert ca_state(system, serial).state == ca_pb2.CERTIFICATE_STATE_GOOD
    refusals = [d for _, _, d in audit(system, "revocation.refused", h4["person_id"])]
    assert sum(d["why"] == "requester_not_allowed" for d in refusals) == 3
    assert any(d["requester_organisation_id"] == org_b.org.organisation_id for d in refusals)
    assert [d for _, _, d in audit(system, "revocation.refused", other["person_id"])
            if d["why"] == "certificate_not_holders"]

    # An MC of the holder's own organisation may; the operator rejects it.
    mc_a, designation_a = delegate(system, org_a, "Claire", "Moreau")
    record = ok(paper(system, mc_a.person_id, [serial], designation_a, holder=h4["person_id"],
                      requester_role=E.PERSON_ROLE_CERTIFICATION_DELEGATE), R.RevocationRecord)
    assert record.requester_role == E.PERSON_ROLE_CERTIFICATION_DELEGATE
    assert record.requester_person_id == mc_a.person_id
    assert record.holder_person_id == h4["person_id"]
    # The note is free text: SQL metacharacters are kept as they are.
    note = "le titulaire conteste l'ordre; DROP TABLE revocations; -- 100% \\ _ \"MC\" $1"
    rejected = ok(decide(system, record.revocation_id, approve=False, note=note),
                  R.RevocationRecord)
    assert rejected.state == R.REVOCATION_STATE_REJECTED and rejected.archived_at_unix > 0
    assert rejected.decision_note == note
    assert rows(system, "SELECT decision_note FROM revocation.revocations"
                        " WHERE revocation_id = %s", record.revocation_id) == [(note,)]
    assert ca_state(system, serial).state == ca_pb2.CERTIFICATE_STATE_GOOD
    assert events(system, "revocation.rejected", record.revocation_id)


# --- online -----------------------------------------------------------------------------

def test_online_revocation_revokes_at_once(system, h1, h4):
    serial = h1["serials"][SIGN]
    # The portal asks for the logged-in holder: their own certificates only.
    reply = revocation(system, "RevokeOnline", _online(
        account_id=h1["account_id"], serials=[h4["serials"][SIGN]]), "portal")
    assert reply.status == DENIED
    assert ca_state(system, h4["serials"][SIGN]).state == ca_pb2.CERTIFICATE_STATE_GOOD
    record = ok(revocation(system, "RevokeOnline", R.RevokeOnlineRequest(
        account_id=h1["account_id"], serials=[serial], reason=ca_pb2.REVOCATION_REASON_SUPERSEDED,
        statement="nouvelle carte", client_address="192.0.2.10", user_agent="pytest"), "portal"),
        R.RevocationRecord)
    assert record.channel == R.REVOCATION_CHANNEL_ONLINE
    assert record.state == R.REVOCATION_STATE_APPLIED
    assert record.requester_person_id == record.holder_person_id == h1["person_id"]
    assert record.online.account_id == h1["account_id"]
    assert record.online.client_address == "192.0.2.10" and record.online.user_agent == "pytest"
    assert record.recorded_by_operator_id == "" and record.decided_by_operator_id == ""
    assert record.archived_at_unix > 0
    assert ca_state(system, serial).state == ca_pb2.CERTIFICATE_STATE_REVOKED
    reply = revocation(system, "RevokeOnline", _online(account_id=h1["account_id"],
                                                       serials=[serial]), "portal")
    assert reply.status == PRECONDITION and "revoked already" in reply.status_message
    assert revocation(system, "RevokeOnline", _online(account_id="acc-none"),
                      "portal").status == NOT_FOUND
    # The portal may read back its holder's request.
    got = ok(revocation(system, "GetRevocation", R.GetRevocationRequest(
        revocation_id=record.revocation_id), "portal"), R.RevocationRecord)
    assert got == record


# --- ca away: the approval waits, the timer applies it ------------------------------

def test_an_approval_waits_for_ca_and_the_timer_applies_it(system, h2, ca_shares):
    serial = h2["serials"][AUTH]
    record = ok(record_phone(system, h2["passed_challenge"], [serial]), R.RevocationRecord)
    ca = system.services["ca"]
    assert ca.stop() == 0
    try:
        decided = ok(decide(system, record.revocation_id), R.RevocationRecord)
        assert decided.state == R.REVOCATION_STATE_APPROVED
        assert "ca" in decided.last_apply_error
    finally:
        ca.start()
    deadline = time.time() + 20
    while time.time() < deadline:
        got = ok(revocation(system, "GetRevocation", R.GetRevocationRequest(
            revocation_id=record.revocation_id)), R.RevocationRecord)
        if got.state == R.REVOCATION_STATE_APPLIED:
            break
        time.sleep(0.3)
    assert got.state == R.REVOCATION_STATE_APPLIED and got.last_apply_error == ""
    assert ca_state(system, serial).state == ca_pb2.CERTIFICATE_STATE_REVOKED
    (_, actor, _), = audit(system, "revocation.applied", record.revocation_id)
    assert actor == "system"
    activate(system, ca_shares)     # ca's key is inactive after a restart


# --- deadlines ------------------------------------------------------------------------

def metric(system, name):
    return system.services["revocation"].metric(name)


def test_overdue_requests_are_listed_and_in_the_metrics(system, h3, h4):
    # A form received 25 hours ago is overdue at once at level **.
    form = document_of(system, h4["person"], E.DOCUMENT_TYPE_REQUEST_FORM)
    late = ok(paper(system, h4["person_id"], [h4["serials"][SIGN]], form,
                    received=int(time.time()) - 25 * 3600), R.RevocationRecord)
    assert late.overdue
    # A short deadline configured: a fresh request is overdue seconds later.
    restart_revocation(system, TSR_REVOCATION_DEADLINE_S="1")
    try:
        form3 = document_of(system, h3["person"], E.DOCUMENT_TYPE_REQUEST_FORM)
        fresh = ok(paper(system, h3["person_id"], [h3["serials"][SIGN]], form3,
                         received=int(time.time())), R.RevocationRecord)
        assert fresh.deadline_unix == fresh.received_at_unix + 1
        time.sleep(2.2)
        result = system.cli("--json", "revocation", "list", "--overdue", identity="revoker")
        assert result.returncode == 0, result.stderr
        listed = [json.loads(line) for line in result.stdout.splitlines()]
        ids = [r["revocation_id"] for r in listed]
        assert late.revocation_id in ids and fresh.revocation_id in ids
        assert all(r["overdue"] and r["state"] in ("pending", "approved") for r in listed)
        assert ids.index(late.revocation_id) < ids.index(fresh.revocation_id)
        table = system.cli("revocation", "list", "--overdue", identity="bob")
        assert table.returncode == 0 and "OVERDUE" in table.stdout
        deadline = time.time() + 10
        while time.time() < deadline and (metric(system, "tessera_revocation_requests_overdue")
                                           or 0) < 2:
            time.sleep(0.2)
        assert metric(system, "tessera_revocation_requests_overdue") == len(listed) >= 2
        assert system.services["revocation"].metric("tessera_revocation_requests_open",
                                                    state="pending") >= 1
        # Deciding takes them off the list.
        for revocation_id in (late.revocation_id, fresh.revocation_id):
            ok(decide(system, revocation_id, approve=False, note="doublon"), R.RevocationRecord)
        result = system.cli("--json", "revocation", "list", "--overdue", identity="revoker")
        assert fresh.revocation_id not in result.stdout
        after = [d for s, _, d in audit(system, "revocation.rejected", fresh.revocation_id)]
        assert after[0]["after_deadline"] is True
    finally:
        restart_revocation(system)


# --- the operator's CLI ---------------------------------------------------------------

def cli_with_input(system, *args, text, identity="revoker"):
    """system.cli with stdin: answers stay off the command line."""
    env = dict(os.environ, TSR_CERT=str(system.keys / f"{identity}.cert"),
               TSR_KEYRING_DIR=str(system.keyring))
    for name, s in system.services.items():
        env[f"TSR_{name.upper()}_ENDPOINT"] = s.endpoint
    return subprocess.run([str(CLI), *args], env=env, input=text, capture_output=True, text=True,
                          timeout=60)


def test_the_cli_takes_a_phone_call(system, h4, operators):
    serial = h4["serials"][AUTH]
    result = system.cli("--json", "revocation", "phone-start", "--caller", h4["person_id"],
                        "--serial", serial, identity="revoker")
    assert result.returncode == 0, result.stderr
    challenge = json.loads(result.stdout)
    asked = [int(k.split("_")[1]) for k in challenge if k.startswith("question_")]
    assert len(asked) == 4 and challenge["level"] == 2
    answers = "".join(f"{i}={ANSWERS[i]}\n" for i in asked)
    result = cli_with_input(system, "--json", "revocation", "phone-answer",
                            challenge["challenge_id"], "--answers-stdin", text=answers)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["passed"] is True
    result = system.cli("--json", "revocation", "phone-record", challenge["challenge_id"],
                        "--serial", serial, "--reason", "cessation-of-operation", "--as", "holder",
                        "--statement", "départ de l'entreprise", identity="revoker")
    assert result.returncode == 0, result.stderr
    recorded = json.loads(result.stdout)
    assert recorded["state"] == "pending" and recorded["channel"] == "phone"
    assert recorded["authentication"]["questions_asked"] == 4
    assert recorded["recorded_by_operator_id"] == operators["revoker"]
    shown = system.cli("revocation", "show", recorded["revocation_id"], identity="alice")
    assert shown.returncode == 0 and serial in shown.stdout and "pending" in shown.stdout
    refused = system.cli("revocation", "decide", recorded["revocation_id"], "--reject",
                         identity="revoker")
    assert refused.returncode == 1 and "note" in refused.stderr
    result = system.cli("--json", "revocation", "decide", recorded["revocation_id"], "--reject",
                        "--note", "le titulaire a rappelé pour annuler", identity="revoker")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["state"] == "rejected"


# --- archive, trail, secrets ------------------------------------------------------------

def test_the_archive_is_exported_page_by_page(system):
    archived = rows(system, "SELECT revocation_id FROM revocation.revocations"
                            " WHERE archived_at IS NOT NULL ORDER BY archived_at, seq")
    assert len(archived) >= 5
    seen, token = [], ""
    while True:
        page = ok(revocation(system, "ExportRevocationArchive", R.ExportRevocationArchiveRequest(
            limit=2, page_token=token), "bob"), R.ExportRevocationArchiveReply)
        assert len(page.revocations) <= 2
        seen += [r.revocation_id for r in page.revocations]
        assert all(r.retain_until_unix >= r.archived_at_unix + 5 * 365 * 86400
                   for r in page.revocations)
        token = page.next_page_token
        if not token:
            break
    assert seen == [r[0] for r in archived]
    result = system.cli("--json", "revocation", "archive", identity="bob")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == len(archived)
    # Nothing is ever deleted.
    conn = system.cluster.connect(system.services["revocation"].dsn)
    try:
        with conn.cursor() as cur, pytest.raises(Exception, match="permission denied"):
            cur.execute("DELETE FROM revocation.revocations")
    finally:
        conn.close()


def test_the_audit_trail_holds_each_step_and_verifies(system):
    actions = {r[0] for r in rows(system, "SELECT DISTINCT action FROM revocation.audit_log")}
    for action in ("revocation.phone_challenge_started", "revocation.phone_answers_checked",
                   "revocation.phone_channel_locked", "revocation.requested",
                   "revocation.approved", "revocation.rejected",
                   "revocation.certificate_revoked", "revocation.applied",
                   "revocation.archived", "revocation.refused", "bus.permission_denied"):
        assert action in actions, f"{action} missing from the audit trail"
    requested = [d for _, _, d in audit(system, "revocation.requested")]
    assert {d["channel"] for d in requested} == {"online", "phone", "paper_form"}
    assert {d["authenticated_by"] for d in requested} == {
        "portal_session", "secret_questions", "handwritten_signature"}
    result = system.cli("--json", "audit", "verify", "--service", "revocation")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["intact"] is True


def test_no_answer_is_in_any_file_the_system_wrote(system):
    needles = {a.encode() for a in ANSWERS.values() if len(a) >= 8}
    assert needles
    for path in system.root.rglob("*"):
        if path.is_file() and path.stat().st_size < 64_000_000:
            data = path.read_bytes()
            for needle in needles:
                assert needle not in data, f"a secret answer is in {path}"
