"""Perso: personalisation of virtual PIV cards through the real PC/SC
stack (a private pcscd with Debian's vpcd driver and tools/vcard, via
tests/integration/pcsc.py), with real PostgreSQL and the real enrollment,
validation, ca and perso processes. Requests are registered and validated
as test_validation.py does it; ca holds a ceremony on SoftHSM2 as
test_ca.py does.

Independent readers check what perso wrote: OpenSC's pkcs15-tool and
pkcs11-tool read and use the card, openssl verifies the card's signature
with the issued certificate and reads the PKCS#12, python3-nacl opens the
PIN and activation code sealed to mail (as mail would), pyscard speaks to
the card with the diversified management key and PUK computed here from
the documented derivation (docs/perso.md)."""
import hashlib
import hmac
import json
import secrets
import shutil
import subprocess
import time
import uuid as uuidlib

import pytest

from pcsc import CardSession, Pcsc, VirtualCard
from tessera.v1 import ca_pb2, enrollment_pb2, envelope_pb2, perso_pb2, validation_pb2
from test_validation import Registry, mail_open, ok, validate, wait_state
from test_vcard import mutual_auth
from tsrtest import System, keygen, read_cert

OK = envelope_pb2.STATUS_OK
INVALID = envelope_pb2.STATUS_INVALID_ARGUMENT
DENIED = envelope_pb2.STATUS_PERMISSION_DENIED
PRECONDITION = envelope_pb2.STATUS_FAILED_PRECONDITION
NOT_FOUND = envelope_pb2.STATUS_NOT_FOUND
P = perso_pb2
E = enrollment_pb2
PKCS11 = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
MASTER_KEY = secrets.token_bytes(32)
PERSO_IDENTITIES = ["persoop", "desk", "codeop"]


@pytest.fixture(scope="module")
def pcsc(tmp_path_factory):
    p = Pcsc(tmp_path_factory.mktemp("perso-pcsc"))
    try:
        p.start()           # exports PCSCLITE_CSOCK_NAME: the services inherit it
    except BaseException:
        p.stop()
        raise
    yield p
    p.stop()


def perso_system(perso_env=None, identities=()):
    """enrollment, validation, ca and perso (with MASTER_KEY and perso_env),
    and keys for PERSO_IDENTITIES and identities. Yields the System."""
    s = System()
    master = s.root / "perso-master.key"
    master.write_text(MASTER_KEY.hex() + "\n")
    s.secret(MASTER_KEY)
    s.service_env["perso"] = {"TSR_PERSO_MASTER_KEY_FILE": str(master),
                              "TSR_PERSO_CARD_WAIT_MS": "4000", "TSR_PERSO_RUNNERS": "1",
                              **(perso_env(s) if perso_env else {})}
    try:
        s.start([])
        for name in PERSO_IDENTITIES + list(identities):
            cert = keygen(s.keys, name)
            shutil.copy(cert, s.keyring / cert.name)
        if not (s.keyring / "portal.cert").exists():     # older harnesses
            shutil.copy(keygen(s.keys, "portal"), s.keyring / "portal.cert")
        names = ["enrollment", "validation", "ca", "perso"]
        for name in names:
            s.services[name].start(wait=False)
        for name in names:
            s.services[name].wait_ready()
    except BaseException:
        s.stop()
        raise
    yield s
    s.stop()


@pytest.fixture(scope="module")
def system(pcsc):
    yield from perso_system()


@pytest.fixture(scope="module")
def operators(system):
    return {
        "operator": system.add_operator("operator", "entry", "validation"),
        "client": system.add_operator("client", "validation"),
        "persoop": system.add_operator("persoop", "perso"),
        "desk": system.add_operator("desk", "service-desk"),
        "codeop": system.add_operator("codeop", "activation-code"),
        "alice": system.add_operator("alice", "custodian"),
        "bob": system.add_operator("bob", "custodian"),
        "carol": system.add_operator("carol", "custodian"),
    }


@pytest.fixture(scope="module")
def ca_active(system, operators):
    out = system.root / "ceremony"
    result = system.cli(
        "--json", "ca", "ceremony", "--org", "Tessera Trust", "--root-cn", "Tessera Root CA",
        "--issuing-cn", "Tessera Issuing CA", "--root-alg", "ec-p384", "--issuing-alg", "ec-p256",
        "--root-days", "3650", "--issuing-days", "1825",
        "--custodian", f"alice={system.keys / 'alice.cert'}",
        "--custodian", f"bob={system.keys / 'bob.cert'}",
        "--custodian", f"carol={system.keys / 'carol.cert'}",
        "--threshold", "2", "--so-pin-file", str(system.hsm.so_pin_file), "--out", str(out),
        identity="officer", timeout=120)
    assert result.returncode == 0, result.stderr
    for who in ("alice", "bob"):
        share = next((out / who).glob("ca-*.*"))
        system.secret(share.read_bytes())
        done = system.cli("--json", "ca", "activate", "--share", str(share), identity=who)
        assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def registry(system, operators):
    return Registry(system, operators["operator"])


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


def perso(system, method, message, identity="persoop", **kw):
    reply = call(system, "perso", method, message, identity, **kw)
    if reply.status == envelope_pb2.STATUS_UNAVAILABLE:      # shown when a test fails
        print(system.services["perso"].log()[-4000:])
    return reply


def rows(system, sql, *params):
    conn = system.cluster.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def count(system, table, where="true", *params):
    return rows(system, f"SELECT count(*) FROM {table} WHERE {where}", *params)[0][0]


def run(pcsc, *args, check=True):
    result = subprocess.run(list(args), env=pcsc.env(), capture_output=True, text=True,
                            timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


def validated_request(system, registry, given="Élodie", surname="Dupré"):
    holder = registry.holder(given, surname)
    _, (card_request_id,) = registry.batch([holder])
    ok(validate(system, card_request_id), validation_pb2.Decision)
    # Enrollment learns of it from validation's event.
    assert wait_state(system, card_request_id, E.CARD_REQUEST_STATE_VALIDATED)
    return card_request_id, holder


_INSERTED = []      # the reader has one slot: one card in it at a time


def new_card(pcsc, tmp_path, name, faults=()):
    """A freshly formatted card (transport state) in the reader, instead of
    whatever card was there."""
    while _INSERTED:
        _INSERTED.pop().remove(wait=False)
    pcsc.wait_card(False)
    card = VirtualCard(pcsc, tmp_path / f"{name}.state")
    card.init()
    card.insert(faults=faults)
    _INSERTED.append(card)
    return card


def start_job(system, pcsc, card_request_id, identity="persoop", **extra):
    return perso(system, "StartJob", P.StartJobRequest(
        card_request_id=card_request_id, reader_name=pcsc.reader_name, **extra), identity)


def wait_job(system, job_id, states=(P.PERSO_JOB_STATE_SUCCEEDED, P.PERSO_JOB_STATE_FAILED),
             timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = ok(perso(system, "GetJob", P.GetJobRequest(job_id=job_id)), P.PersoJob)
        if job.state in states:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {job.state} after {timeout}s:\n"
                         f"{system.services['perso'].log()[-3000:]}")


def step_names(job):
    return [(P.PersoStep.Name(s.step), P.PersoStepState.Name(s.state)) for s in job.steps]


def run_job(system, pcsc, card_request_id, card=None, **extra):
    """Starts the job for card_request_id on the card in the reader and
    waits until it has succeeded or failed: the job. card, when given, is
    taken out of the reader after, whatever came of it."""
    try:
        return wait_job(system, ok(start_job(system, pcsc, card_request_id, **extra),
                                   P.PersoJob).job_id)
    finally:
        if card is not None:
            card.remove(wait=False)


def personalised_job(system, pcsc, card_request_id, card=None, **extra):
    """run_job, for a job that must succeed."""
    job = run_job(system, pcsc, card_request_id, card, **extra)
    assert job.state == P.PERSO_JOB_STATE_SUCCEEDED, (job.failure_reason, step_names(job))
    return job


def mailer(system, card_uuid, index=-1):
    """The PIN mailer event for a card, opened as mail would open it."""
    found = rows(system, "SELECT payload FROM perso.outbox WHERE type = 'pin_mailer.ready'"
                         " AND subject = %s ORDER BY seq", card_uuid)
    event = P.PinMailerReady.FromString(bytes(found[index][0]))
    assert event.sealed_for_key == read_cert(system.keys / "mail.cert")[0]
    pin = mail_open(system, event.sealed_pin) if event.sealed_pin else None
    code = system.secret(mail_open(system, event.sealed_activation_code))
    system.secret(code.replace("-", ""))
    if pin:
        system.secret(pin)
    return pin, code, event


def ca_status(system, serial):
    return ok(call(system, "ca", "GetStatus", ca_pb2.GetStatusRequest(serial_hex=serial),
                   "client"), ca_pb2.CertificateStatus).state


def ca_certificate(system, serial):
    return ok(call(system, "ca", "GetCertificate", ca_pb2.GetCertificateRequest(
        serial_hex=serial), "client"), ca_pb2.CertificateRecord)


def diversified(card_uuid, label):
    return hmac.new(MASTER_KEY, label + uuidlib.UUID(card_uuid).bytes, hashlib.sha256).digest()


def account_of(system, person_id):
    return ok(call(system, "validation", "GetHolderAccount", validation_pb2.GetHolderAccountRequest(
        person_id=person_id), "client"), validation_pb2.HolderAccount).account_id


def activate(system, card_uuid, account_id, code):
    return perso(system, "ActivateCard", P.ActivateCardRequest(
        account_id=account_id, card_uuid=card_uuid, activation_code=code,
        client_address="192.0.2.7", user_agent="pytest"), "portal")


@pytest.fixture(scope="module")
def personalised(system, pcsc, registry, ca_active, tmp_path_factory):
    """One card personalised from start to end (EC P-256)."""
    work = tmp_path_factory.mktemp("perso-card")
    card_request_id, holder = validated_request(system, registry)
    card = new_card(pcsc, work, "first")
    reply = start_job(system, pcsc, card_request_id)
    job = ok(reply, P.PersoJob)
    assert job.state == P.PERSO_JOB_STATE_PENDING and job.attempts == 1
    job = wait_job(system, job.job_id)
    assert job.state == P.PERSO_JOB_STATE_SUCCEEDED, (job.failure_reason, step_names(job))
    yield dict(job=job, card=card, holder=holder, card_request_id=card_request_id, work=work)
    card.remove(wait=False)


# --- the whole personalisation ------------------------------------------------

def test_job_runs_every_step_and_records_the_card(system, personalised):
    job = personalised["job"]
    assert [s for s, state in step_names(job)] == [
        "PERSO_STEP_CONNECT", "PERSO_STEP_SELECT_APPLICATION",
        "PERSO_STEP_AUTHENTICATE_TRANSPORT_KEY", "PERSO_STEP_GENERATE_AUTHENTICATION_KEY",
        "PERSO_STEP_GENERATE_SIGNATURE_KEY", "PERSO_STEP_SIGN_CSRS",
        "PERSO_STEP_ISSUE_CERTIFICATES", "PERSO_STEP_WRITE_CERTIFICATES",
        "PERSO_STEP_WRITE_CHUID", "PERSO_STEP_SET_PIN_AND_PUK",
        "PERSO_STEP_CHANGE_MANAGEMENT_KEY", "PERSO_STEP_RECORD_CARD",
        "PERSO_STEP_ESCROW_ENCRYPTION_KEY"]       # listed by number; "not asked" here
    assert all(state == "PERSO_STEP_STATE_DONE" for _, state in step_names(job))
    assert [s.detail for s in job.steps if s.step == P.PERSO_STEP_ESCROW_ENCRYPTION_KEY] == \
        ["not asked"]
    assert all(s.finished_at_unix_ms >= s.started_at_unix_ms > 0 for s in job.steps)
    assert len(job.certificate_serials) == 2
    # The card's UUID is the GUID of the CHUID the virtual card was formatted with.
    guid = personalised["card"].show()["guid"]
    assert uuidlib.UUID(job.card_uuid).hex == guid.lower()
    card = ok(perso(system, "GetCard", P.GetCardRequest(card_uuid=job.card_uuid)), P.Card)
    assert card.state == P.CARD_STATE_PERSONALISED
    assert card.atr_hex == job.atr_hex and card.atr_hex.startswith("3b")
    assert card.reader_name and card.card_request_id == personalised["card_request_id"]
    assert sorted(c.slot for c in card.certificates) == ["9A", "9C"]
    assert sorted(c.serial_hex for c in card.certificates) == sorted(job.certificate_serials)
    assert [(h.from_state, h.to_state, h.kind) for h in card.history] == [
        (P.CARD_STATE_FORMATTED, P.CARD_STATE_PERSONALISED,
         P.CARD_TRANSITION_KIND_CARD_OPERATION)]
    # Certificates on hold until activation.
    for serial in job.certificate_serials:
        assert ca_status(system, serial) == ca_pb2.CERTIFICATE_STATE_ON_HOLD


def test_opensc_lists_both_certificates_and_signs_with_the_pin(system, pcsc, personalised):
    job, work = personalised["job"], personalised["work"]
    listed = run(pcsc, "pkcs15-tool", "--list-certificates").stdout
    assert listed.count("X.509 Certificate") == 2, listed
    pin, code, _ = mailer(system, job.card_uuid)
    assert len(pin) == 8 and pin.isdigit()
    # The authentication certificate (slot 9A, OpenSC's id 01).
    card = ok(perso(system, "GetCard", P.GetCardRequest(card_uuid=job.card_uuid)), P.Card)
    serial = next(c.serial_hex for c in card.certificates if c.slot == "9A")
    cert = work / "auth.der"
    cert.write_bytes(ca_certificate(system, serial).certificate_der)
    public = work / "auth-pub.pem"
    public.write_bytes(subprocess.run(["openssl", "x509", "-inform", "DER", "-in", str(cert),
                                       "-noout", "-pubkey"], check=True,
                                      capture_output=True).stdout)
    data = work / "data.txt"
    data.write_text(f"signed by the holder's card at {time.time()}\n")
    digest = work / "data.sha256"
    digest.write_bytes(hashlib.sha256(data.read_bytes()).digest())
    sig = work / "data.sig"
    run(pcsc, "pkcs11-tool", "--module", PKCS11, "--login", "--pin", pin, "--sign", "--id", "01",
        "-m", "ECDSA", "--signature-format", "openssl", "-i", str(digest), "-o", str(sig))
    verified = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(public),
                               "-in", str(digest), "-sigfile", str(sig)],
                              capture_output=True, text=True)
    assert verified.returncode == 0 and "Signature Verified Successfully" in verified.stdout, \
        verified.stdout + verified.stderr
    verified = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(public),
                               "-signature", str(sig), str(data)], capture_output=True, text=True)
    assert "Verified OK" in verified.stdout
    # The transport PIN no longer works; the card holds the issued keys.
    refused = run(pcsc, "pkcs11-tool", "--module", PKCS11, "--login", "--pin", "123456",
                  "--sign", "--id", "01", "-m", "ECDSA", "-i", str(digest), "-o",
                  str(work / "no.sig"), check=False)
    assert refused.returncode != 0


def apdu_index(card, header, nth=1):
    """The index of the nth APDU whose header starts with `header`, from
    a card's log (for --fault N)."""
    seen = [int(e["index"]) for e in card.log_events()
            if e.get("event") == "vcard.apdu" and e["header"].upper().startswith(header)]
    return seen[nth - 1]


def test_the_card_takes_only_its_diversified_keys(system, pcsc, personalised):
    """The transport management key is gone; the AES-128 key derived as
    docs/perso.md says authenticates; the PUK is the derived one."""
    job = personalised["job"]
    shown = personalised["card"].show()
    assert shown["mgmt_alg"] == "aes128"
    mgmt = diversified(job.card_uuid, b"tessera/perso/management-key/v1")[:16]
    puk = "%08d" % (int.from_bytes(diversified(job.card_uuid, b"tessera/perso/puk/v1")[:8],
                                   "big") % 10 ** 8)
    system.secret(mgmt)
    system.secret(puk)
    with CardSession(pcsc) as session:
        session.select_piv()
        assert mutual_auth(session, 0x03, bytes.fromhex("0102030405060708" * 3)) != 0x9000
        session.select_piv()
        assert mutual_auth(session, 0x08, mgmt) == 0x9000
        # CHANGE REFERENCE DATA of the PUK with itself: accepted only if it is the PUK.
        padded = puk.encode()
        _, sw = session.transmit(bytes([0x00, 0x24, 0x00, 0x81, 0x10]) + padded + padded)
        assert sw == 0x9000
    assert personalised["card"].show()["puk_tries_left"] == 3


def test_the_secrets_exist_only_sealed_or_hashed(system, personalised):
    job = personalised["job"]
    pin, code, event = mailer(system, job.card_uuid)
    assert len(code) == 14 and code[4] == code[9] == "-"
    stored = rows(system, "SELECT activation_code_hash FROM perso.cards WHERE card_uuid = %s",
                  job.card_uuid)[0][0]
    assert stored.startswith("$argon2id$")
    assert rows(system, "SELECT sealed_pin FROM perso.jobs WHERE job_id = %s",
                job.job_id)[0][0] is None
    log = system.services["perso"].log()
    assert pin not in log and code not in log and code.replace("-", "") not in log
    audit = " ".join(r[0] for r in rows(system, "SELECT details FROM perso.audit_log"))
    assert pin not in audit and code.replace("-", "") not in audit


def test_activation_releases_the_hold_once(system, personalised):
    job, holder = personalised["job"], personalised["holder"]
    _, code, _ = mailer(system, job.card_uuid)
    account_id = account_of(system, holder.person_id)
    # Another account cannot activate this card, and is audited.
    reply = activate(system, job.card_uuid, "someone-else", code)
    assert reply.status == NOT_FOUND
    assert count(system, "perso.audit_log", "action = 'perso.activation_not_holder'") == 1
    # A wrong code counts.
    wrong = ok(activate(system, job.card_uuid, account_id, "AAAA-BBBB-CCCC"),
               P.ActivateCardReply)
    assert not wrong.activated and wrong.attempts_left == 4
    assert wrong.card.activation_failures == 1
    for serial in job.certificate_serials:
        assert ca_status(system, serial) == ca_pb2.CERTIFICATE_STATE_ON_HOLD
    # The right one, typed loosely, activates.
    done = ok(activate(system, job.card_uuid, account_id, code.lower().replace("-", " ")),
              P.ActivateCardReply)
    assert done.activated and done.card.state == P.CARD_STATE_ACTIVE
    for serial in job.certificate_serials:
        assert ca_status(system, serial) == ca_pb2.CERTIFICATE_STATE_GOOD
    # Single use.
    again = activate(system, job.card_uuid, account_id, code)
    assert again.status == PRECONDITION and "active already" in again.status_message
    assert count(system, "perso.outbox", "type = 'card.activated' AND subject = %s",
                 job.card_uuid) == 1


def test_card_transitions_follow_the_table(system, personalised, operators):
    uuid = personalised["job"].card_uuid
    table = ok(perso(system, "ListCardTransitions", P.ListCardTransitionsRequest(), "desk"),
               P.ListCardTransitionsReply)
    kinds = {(t.from_state, t.to_state, t.kind) for t in table.transitions}
    assert (P.CARD_STATE_ACTIVE, P.CARD_STATE_SUSPENDED, P.CARD_TRANSITION_KIND_OPERATOR) in kinds
    assert (P.CARD_STATE_SHIPPED, P.CARD_STATE_ACTIVE,
            P.CARD_TRANSITION_KIND_CARD_OPERATION) in kinds

    def change(to, identity="desk", reason="holder called"):
        return perso(system, "ChangeCardState", P.ChangeCardStateRequest(
            card_uuid=uuid, to_state=to, reason=reason), identity)

    # The perso operator may not suspend: refused and audited.
    assert change(P.CARD_STATE_SUSPENDED, "persoop").status == DENIED
    assert count(system, "perso.audit_log", "action = 'perso.card_transition_refused'") == 1
    # The reason is free text: SQL metacharacters are kept as they are.
    why = "appel de l'accueil; DROP TABLE cards; -- 100% \\ _ \"urgent\" $1"
    card = ok(change(P.CARD_STATE_SUSPENDED, reason=why), P.Card)
    assert card.state == P.CARD_STATE_SUSPENDED
    assert card.suspended_from_state == P.CARD_STATE_ACTIVE
    assert card.history[-1].reason == why
    # A suspended card goes back where it came from, nowhere else.
    reply = change(P.CARD_STATE_SHIPPED)
    assert reply.status == PRECONDITION and "active" in reply.status_message
    # Activation is a card operation, never an operator's.
    card = ok(change(P.CARD_STATE_ACTIVE), P.Card)
    assert card.state == P.CARD_STATE_ACTIVE and card.suspended_from_state == 0
    assert change(P.CARD_STATE_FORMATTED).status == PRECONDITION
    history = [(h.from_state, h.to_state, h.operator_id) for h in card.history]
    assert history[-2:] == [(P.CARD_STATE_ACTIVE, P.CARD_STATE_SUSPENDED, operators["desk"]),
                            (P.CARD_STATE_SUSPENDED, P.CARD_STATE_ACTIVE, operators["desk"])]


# --- who may call what, and bad input ----------------------------------------------

@pytest.mark.parametrize("method,message,identity,status", [
    ("StartJob", P.StartJobRequest(card_request_id="cr-1", reader_name="r"), "desk", DENIED),
    ("ActivateCard", P.ActivateCardRequest(account_id="a"), "persoop", DENIED),
    ("IssuePkcs12", P.IssuePkcs12Request(card_request_id="cr-1"), "desk", DENIED),
    ("StartJob", P.StartJobRequest(card_request_id="", reader_name="r"), "persoop", INVALID),
    ("StartJob", P.StartJobRequest(card_request_id="cr-1", reader_name=""), "persoop", INVALID),
    ("StartJob", P.StartJobRequest(card_request_id="cr-1", reader_name="a\nb"), "persoop",
     INVALID),
    ("StartJob", P.StartJobRequest(card_request_id="cr-1", reader_name="r", key_algorithm=9),
     "persoop", INVALID),
    ("AbandonJob", P.AbandonJobRequest(job_id="j"), "persoop", INVALID),
    ("GetCard", P.GetCardRequest(card_uuid="not-a-uuid"), "desk", INVALID),
    ("ChangeCardState", P.ChangeCardStateRequest(card_uuid=str(uuidlib.uuid4()), to_state=5),
     "desk", INVALID),
    ("ActivateCard", P.ActivateCardRequest(account_id="a", card_uuid=str(uuidlib.uuid4()),
                                           activation_code="x" * 65), "portal", INVALID),
    ("ListJobs", P.ListJobsRequest(page_token="abc"), "persoop", INVALID),
])
def test_refusals_name_the_problem_and_change_nothing(system, operators, method, message,
                                                       identity, status):
    before = (count(system, "perso.jobs"), count(system, "perso.cards"),
              count(system, "perso.outbox"))
    reply = perso(system, method, message, identity)
    assert reply.status == status, reply.status_message
    assert (count(system, "perso.jobs"), count(system, "perso.cards"),
            count(system, "perso.outbox")) == before


def test_only_validated_card_requests_are_personalised(system, pcsc, registry, ca_active):
    holder = registry.holder("Paul", "Sanchez")
    _, (card_request_id,) = registry.batch([holder])        # submitted, not validated
    reply = start_job(system, pcsc, card_request_id)
    assert reply.status == PRECONDITION and "validated" in reply.status_message
    assert start_job(system, pcsc, "cr-unknown").status == NOT_FOUND


# --- failures: card pulled, pcscd restarted, card refusing, card lying ------------

def ca_certificates_of(system, card_request_id):
    return rows(system, "SELECT serial_hex, use, state FROM ca.certificates"
                        " WHERE card_request_id = %s ORDER BY use", card_request_id)


def nothing_recorded(system, card_request_id, job_id, keys_made=False):
    """No card, no certificate, no CSR, and (unless the failure came after
    the keys were made, which is progress a retry uses) no key of a failed
    job's card."""
    assert ca_certificates_of(system, card_request_id) == []
    assert count(system, "perso.cards", "card_request_id = %s", card_request_id) == 0
    assert count(system, "perso.job_keys", "job_id = %s AND public_key_der IS NOT NULL",
                 job_id) == (2 if keys_made else 0)
    assert count(system, "perso.job_keys", "job_id = %s AND csr_der IS NOT NULL", job_id) == 0
    assert count(system, "perso.outbox", "type IN ('card.personalised', 'pin_mailer.ready')"
                                         " AND subject IN (SELECT card_uuid FROM perso.jobs"
                                         " WHERE job_id = %s)", job_id) == 0


@pytest.fixture(scope="module")
def pulled(system, pcsc, registry, ca_active, personalised, tmp_path_factory):
    """A card pulled in the middle of writing its certificates (after ca
    issued them), then pcscd restarted, then the card put back and the job
    retried."""
    work = tmp_path_factory.mktemp("perso-pulled")
    second_put = apdu_index(personalised["card"], "10DB3FFF")       # first chained PUT DATA
    card_request_id, holder = validated_request(system, registry, "Jean", "Martin")
    card = new_card(pcsc, work, "pulled", faults=[f"drop-after={second_put + 1}"])
    failed = run_job(system, pcsc, card_request_id)
    issued_before = ca_certificates_of(system, card_request_id)
    pcsc.restart()
    # pyscard keeps one PC/SC context per process (this test's CardSession):
    # it died with pcscd; perso's runners reconnect theirs by themselves.
    from smartcard.pcsc.PCSCContext import PCSCContext
    PCSCContext.renewContext()
    card.insert()
    retried = ok(perso(system, "RetryJob", P.RetryJobRequest(job_id=failed.job_id)), P.PersoJob)
    done = wait_job(system, failed.job_id)
    yield dict(failed=failed, retried=retried, done=done, card=card, holder=holder,
               card_request_id=card_request_id, issued_before=issued_before)
    card.remove(wait=False)


def test_a_pulled_card_fails_the_job_with_its_step(pulled):
    failed = pulled["failed"]
    assert failed.state == P.PERSO_JOB_STATE_FAILED
    assert failed.failed_step == P.PERSO_STEP_WRITE_CERTIFICATES
    assert "card removed" in failed.failure_reason
    states = dict(step_names(failed))
    assert states["PERSO_STEP_ISSUE_CERTIFICATES"] == "PERSO_STEP_STATE_DONE"
    assert states["PERSO_STEP_WRITE_CERTIFICATES"] == "PERSO_STEP_STATE_FAILED"
    assert len(pulled["issued_before"]) == 2


def test_retry_after_pcscd_restart_completes_with_one_certificate_per_key(system, pulled):
    done, retried = pulled["done"], pulled["retried"]
    assert retried.state == P.PERSO_JOB_STATE_PENDING and retried.attempts == 2
    assert done.state == P.PERSO_JOB_STATE_SUCCEEDED, (done.failure_reason, step_names(done))
    assert done.attempts == 2 and done.failure_reason == ""
    # Exactly one certificate per key: the ones issued before the card was pulled.
    certificates = ca_certificates_of(system, pulled["card_request_id"])
    assert certificates == pulled["issued_before"]
    assert [use for _, use, _ in certificates] == [1, 2]
    assert sorted(done.certificate_serials) == sorted(s for s, _, _ in certificates)
    second_run = [(P.PersoStep.Name(s.step), s.detail) for s in done.steps][-12:]
    details = dict(second_run)
    assert "test signature verified" in details["PERSO_STEP_GENERATE_AUTHENTICATION_KEY"]
    assert "earlier run" in details["PERSO_STEP_ISSUE_CERTIFICATES"]
    card = ok(perso(system, "GetCard", P.GetCardRequest(card_uuid=done.card_uuid)), P.Card)
    assert card.state == P.CARD_STATE_PERSONALISED
    status, metrics = system.services["perso"].http_get("/metrics")
    assert status == 200
    assert 'tessera_perso_steps_failed_total{service="perso",step="WRITE_CERTIFICATES"}' in metrics
    assert 'tessera_perso_jobs_ended_total{service="perso",outcome="succeeded"}' in metrics


def test_wrong_codes_lock_activation_until_a_new_code(system, pulled):
    uuid, holder = pulled["done"].card_uuid, pulled["holder"]
    account_id = account_of(system, holder.person_id)
    _, code, _ = mailer(system, uuid)
    for left in (4, 3, 2, 1, 0):
        reply = ok(activate(system, uuid, account_id, "ZZZZ-ZZZZ-ZZZZ"), P.ActivateCardReply)
        assert not reply.activated and reply.attempts_left == left
    assert reply.card.activation_locked
    assert count(system, "perso.outbox", "type = 'activation.locked' AND subject = %s", uuid) == 1
    locked = activate(system, uuid, account_id, code)
    assert locked.status == PRECONDITION and "locked" in locked.status_message
    assert perso(system, "ReissueActivationCode", P.ReissueActivationCodeRequest(
        card_uuid=uuid, reason="holder lost the mailer"), "desk").status == DENIED
    card = ok(perso(system, "ReissueActivationCode", P.ReissueActivationCodeRequest(
        card_uuid=uuid, reason="activation locked"), "codeop"), P.Card)
    assert not card.activation_locked and card.activation_failures == 0
    pin, new_code, event = mailer(system, uuid)
    assert event.reissue and pin is None and new_code != code
    assert not ok(activate(system, uuid, account_id, code), P.ActivateCardReply).activated
    assert ok(activate(system, uuid, account_id, new_code), P.ActivateCardReply).activated


def test_wrong_management_key_fails_clearly_and_records_nothing(system, pcsc, registry,
                                                                ca_active, tmp_path):
    card_request_id, _ = validated_request(system, registry, "Luc", "Bernard")
    card = new_card(pcsc, tmp_path, "other-key")
    try:
        with CardSession(pcsc) as session:
            session.select_piv()
            assert mutual_auth(session, 0x03, bytes.fromhex("0102030405060708" * 3)) == 0x9000
            _, sw = session.transmit(bytes([0x00, 0xFF, 0xFF, 0xFF, 27, 0x03, 0x9B, 24])
                                     + secrets.token_bytes(24))
            assert sw == 0x9000
        job = run_job(system, pcsc, card_request_id)
    finally:
        card.remove(wait=False)
    assert job.state == P.PERSO_JOB_STATE_FAILED
    assert job.failed_step == P.PERSO_STEP_AUTHENTICATE_TRANSPORT_KEY
    assert "management key authentication" in job.failure_reason
    assert "6982" in job.failure_reason, job.failure_reason
    nothing_recorded(system, card_request_id, job.job_id)
    # Given up: nothing to revoke.
    abandoned = ok(perso(system, "AbandonJob", P.AbandonJobRequest(
        job_id=job.job_id, reason="card from another batch")), P.PersoJob)
    assert abandoned.state == P.PERSO_JOB_STATE_ABANDONED


def test_blocked_pin_fails_clearly_and_issues_nothing(system, pcsc, registry, ca_active,
                                                      tmp_path):
    card_request_id, _ = validated_request(system, registry, "Anne", "Petit")
    card = new_card(pcsc, tmp_path, "blocked")
    try:
        with CardSession(pcsc) as session:
            session.select_piv()
            for _ in range(3):
                session.transmit(bytes([0x00, 0x20, 0x00, 0x80, 0x08]) + b"000000\xff\xff")
        assert card.show()["pin_tries_left"] == 0
        job = run_job(system, pcsc, card_request_id)
    finally:
        card.remove(wait=False)
    assert job.state == P.PERSO_JOB_STATE_FAILED
    assert job.failed_step == P.PERSO_STEP_SIGN_CSRS
    assert "blocked" in job.failure_reason and "6983" in job.failure_reason
    assert ca_certificates_of(system, card_request_id) == []
    assert count(system, "perso.cards", "card_request_id = %s", card_request_id) == 0


@pytest.mark.parametrize("fault,header,step,words", [
    ("truncate-after", "00A40400", P.PERSO_STEP_SELECT_APPLICATION, "no status word"),
    ("truncate-after", "0047009A", P.PERSO_STEP_GENERATE_AUTHENTICATION_KEY, "GENERATE 9A: "),
    ("garbage-after", "0087119A", P.PERSO_STEP_SIGN_CSRS, "malformed"),
    ("garbage-after", "0047009A", P.PERSO_STEP_GENERATE_AUTHENTICATION_KEY, "malformed"),
    ("garbage-after", "0087039B", P.PERSO_STEP_AUTHENTICATE_TRANSPORT_KEY, "malformed"),
    ("garbage-after", "00A40400", P.PERSO_STEP_SELECT_APPLICATION, "malformed"),
])
def test_a_card_answering_nonsense_fails_clearly_and_records_nothing(
        system, pcsc, registry, ca_active, personalised, tmp_path, fault, header, step, words):
    index = apdu_index(personalised["card"], header)
    card_request_id, _ = validated_request(system, registry, "Marc", "Roux")
    card = new_card(pcsc, tmp_path, "liar", faults=[f"{fault}={index}"])
    job = run_job(system, pcsc, card_request_id, card)
    assert job.state == P.PERSO_JOB_STATE_FAILED
    assert job.failed_step == step, job.failure_reason
    assert words in job.failure_reason, job.failure_reason
    nothing_recorded(system, card_request_id, job.job_id,
                     keys_made=step == P.PERSO_STEP_SIGN_CSRS)
    ok(perso(system, "AbandonJob", P.AbandonJobRequest(job_id=job.job_id, reason="bad card")),
       P.PersoJob)


def test_abandoning_a_job_revokes_what_it_had_issued(system, pcsc, registry, ca_active,
                                                     personalised, tmp_path):
    second_put = apdu_index(personalised["card"], "10DB3FFF")
    card_request_id, _ = validated_request(system, registry, "Claire", "Fontaine")
    card = new_card(pcsc, tmp_path, "abandoned", faults=[f"drop-after={second_put}"])
    job = run_job(system, pcsc, card_request_id, card)
    assert job.failed_step == P.PERSO_STEP_WRITE_CERTIFICATES
    assert len(job.certificate_serials) == 2
    # Only a failed job is given up, and a reason is required.
    assert perso(system, "AbandonJob", P.AbandonJobRequest(job_id=job.job_id)).status == INVALID
    abandoned = ok(perso(system, "AbandonJob", P.AbandonJobRequest(
        job_id=job.job_id, reason="card damaged at the bureau")), P.PersoJob)
    assert abandoned.state == P.PERSO_JOB_STATE_ABANDONED
    for serial in job.certificate_serials:
        status = ok(call(system, "ca", "GetStatus", ca_pb2.GetStatusRequest(serial_hex=serial),
                         "client"), ca_pb2.CertificateStatus)
        assert status.state == ca_pb2.CERTIFICATE_STATE_REVOKED
        assert status.reason == ca_pb2.REVOCATION_REASON_CESSATION_OF_OPERATION
    event = P.PersoJobChanged.FromString(bytes(rows(
        system, "SELECT payload FROM perso.outbox WHERE type = 'perso.job.abandoned'"
                " AND subject = %s", job.job_id)[0][0]))
    assert sorted(event.revoked_serials) == sorted(job.certificate_serials)
    assert perso(system, "RetryJob", P.RetryJobRequest(job_id=job.job_id)).status == PRECONDITION


# --- level *: software certificates -------------------------------------------------

def software_request(system, registry, given, surname, uses):
    """A validated level * request for software certificates."""
    holder = registry.holder(given, surname)
    batch = ok(call(system, "enrollment", "CreateBatch", E.CreateBatchRequest(
        organisation_id=registry.org.organisation_id, label="logiciel"), "operator"), E.Batch)
    request = ok(call(system, "enrollment", "CreateCardRequest", E.CreateCardRequestRequest(
        batch_id=batch.batch_id, person_id=holder.person_id,
        level=ca_pb2.POLICY_LEVEL_ONE_STAR, uses=uses, software_certificate=True), "operator"),
        E.CardRequest)
    ok(call(system, "enrollment", "SubmitBatch", E.SubmitBatchRequest(batch_id=batch.batch_id),
            "operator"), E.Batch)
    ok(validate(system, request.card_request_id), validation_pb2.Decision)
    assert wait_state(system, request.card_request_id, E.CARD_REQUEST_STATE_VALIDATED)
    return request.card_request_id, holder


def test_pkcs12_is_made_once_and_read_by_openssl(system, pcsc, registry, ca_active, tmp_path):
    card_request_id, holder = software_request(
        system, registry, "Hugo", "Lambert",
        [ca_pb2.CERTIFICATE_USE_AUTHENTICATION, ca_pb2.CERTIFICATE_USE_SIGNATURE])
    # Not a card request.
    assert start_job(system, pcsc, card_request_id).status == PRECONDITION
    password = system.secret("correct horse battery staple")
    message = P.IssuePkcs12Request(
        card_request_id=card_request_id, account_id=account_of(system, holder.person_id),
        uses=[ca_pb2.CERTIFICATE_USE_AUTHENTICATION, ca_pb2.CERTIFICATE_USE_SIGNATURE],
        password=password)
    assert perso(system, "IssuePkcs12", P.IssuePkcs12Request(
        card_request_id=card_request_id, uses=[1], password="short")).status == INVALID
    request_id = secrets.token_hex(16)
    reply = ok(perso(system, "IssuePkcs12", message, "portal", request_id=request_id),
               P.IssuePkcs12Reply)
    assert len(reply.certificates) == 2
    p12 = tmp_path / "holder.p12"
    p12.write_bytes(reply.pkcs12_der)
    info = subprocess.run(["openssl", "pkcs12", "-info", "-in", str(p12), "-passin",
                           f"pass:{password}", "-nodes"], capture_output=True, text=True)
    assert info.returncode == 0, info.stderr
    assert "MAC: sha256" in info.stderr
    assert "PBES2, PBKDF2, AES-256-CBC" in info.stderr
    assert info.stdout.count("BEGIN PRIVATE KEY") == 2
    assert info.stdout.count("BEGIN CERTIFICATE") == 4          # two holder's, issuing, root
    wrong = subprocess.run(["openssl", "pkcs12", "-info", "-in", str(p12), "-passin",
                            "pass:not the password", "-nodes"], capture_output=True, text=True)
    assert wrong.returncode != 0
    # Returned once: the same request id again gets no second copy.
    again = perso(system, "IssuePkcs12", message, "portal", request_id=request_id)
    assert again.status == PRECONDITION and "not kept" in again.status_message
    stored = rows(system, "SELECT reply FROM perso.bus_requests WHERE request_id = %s",
                  request_id)
    assert all(reply.pkcs12_der not in bytes(r[0] or b"") for r in stored)
    assert count(system, "perso.software_certificates", "card_request_id = %s AND"
                 " key_made_by_perso", card_request_id) == 2
    assert password not in system.services["perso"].log()


def test_a_holders_csr_is_certified_with_the_requests_subject(system, registry, ca_active):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    card_request_id, holder = software_request(
        system, registry, "Inès", "Moreau", [ca_pb2.CERTIFICATE_USE_SIGNATURE])
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "I am the CEO")]))
           .sign(key, hashes.SHA256())).public_bytes(serialization.Encoding.DER)
    account_id = account_of(system, holder.person_id)
    # The portal speaks for one holder; a use the request does not ask for is refused.
    assert perso(system, "IssueFromCsr", P.IssueFromCsrRequest(
        card_request_id=card_request_id, csr_der=csr, use=2), "portal").status == INVALID
    assert perso(system, "IssueFromCsr", P.IssueFromCsrRequest(
        card_request_id=card_request_id, account_id="acc-other", csr_der=csr, use=2),
        "portal").status == NOT_FOUND
    assert perso(system, "IssueFromCsr", P.IssueFromCsrRequest(
        card_request_id=card_request_id, account_id=account_id, csr_der=csr, use=1),
        "portal").status == PRECONDITION
    assert perso(system, "IssueFromCsr", P.IssueFromCsrRequest(
        card_request_id=card_request_id, account_id=account_id, csr_der=csr[:-8], use=2),
        "portal").status == INVALID
    reply = ok(perso(system, "IssueFromCsr", P.IssueFromCsrRequest(
        card_request_id=card_request_id, account_id=account_id, csr_der=csr, use=2), "portal"),
        P.IssueFromCsrReply)
    cert = x509.load_der_x509_certificate(reply.certificate.certificate_der)
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    names = {a.oid: a.value for a in cert.subject}
    assert names[NameOID.COMMON_NAME] == "Inès MOREAU"           # as ca writes holders
    assert names[NameOID.ORGANIZATION_NAME] == registry.org.legal_name
    assert "CEO" not in cert.subject.rfc4514_string()
    assert ca_status(system, reply.certificate.serial_hex) == ca_pb2.CERTIFICATE_STATE_GOOD


# --- RSA 2048, through the operator's CLI ----------------------------------------------

def test_rsa_card_through_the_cli(system, pcsc, registry, ca_active, tmp_path):
    card_request_id, _ = validated_request(system, registry, "Rémi", "Garnier")
    card = new_card(pcsc, tmp_path, "rsa")
    readers = system.cli("--json", "perso", "readers", identity="persoop")
    assert readers.returncode == 0, readers.stderr
    reader = json.loads(readers.stdout.splitlines()[0])
    assert reader["name"] == pcsc.reader_name and reader["card_present"]
    started = system.cli("--json", "perso", "start", "--request", card_request_id, "--reader",
                         pcsc.reader_name, "--alg", "rsa-2048", identity="persoop")
    assert started.returncode == 0, started.stderr
    job_id = json.loads(started.stdout)["job_id"]
    shown = system.cli("--json", "perso", "job", job_id, "--wait", "90", identity="persoop",
                       timeout=120)
    assert shown.returncode == 0, shown.stderr
    job = json.loads(shown.stdout)
    assert job["state"] == "succeeded", job["failure_reason"]
    assert card.show()["keys"] == {"9a": "rsa2048", "9c": "rsa2048"}
    listed = run(pcsc, "pkcs15-tool", "--list-certificates").stdout
    assert listed.count("X.509 Certificate") == 2
    pin, _, _ = mailer(system, job["card_uuid"])
    data, sig = tmp_path / "data", tmp_path / "sig"
    data.write_bytes(b"RSA-signed by the card")
    run(pcsc, "pkcs11-tool", "--module", PKCS11, "--login", "--pin", pin, "--sign", "--id",
        "02", "-m", "SHA256-RSA-PKCS", "-i", str(data), "-o", str(sig))
    detail = ok(perso(system, "GetJob", P.GetJobRequest(job_id=job_id)), P.PersoJob)
    serials = {c.slot: c.serial_hex for c in ok(perso(system, "GetCard", P.GetCardRequest(
        card_uuid=detail.card_uuid)), P.Card).certificates}
    cert = tmp_path / "sign.der"
    cert.write_bytes(ca_certificate(system, serials["9C"]).certificate_der)
    public = tmp_path / "sign.pem"
    public.write_bytes(subprocess.run(["openssl", "x509", "-inform", "DER", "-in", str(cert),
                                       "-noout", "-pubkey"], check=True,
                                      capture_output=True).stdout)
    verified = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(public),
                               "-signature", str(sig), str(data)], capture_output=True, text=True)
    assert "Verified OK" in verified.stdout, verified.stdout + verified.stderr
    table = system.cli("perso", "transitions", identity="desk")
    assert table.returncode == 0 and "suspended     -> active" in table.stdout


def test_jobs_and_cards_are_listed_page_by_page(system, personalised, pulled):
    first = ok(perso(system, "ListJobs", P.ListJobsRequest(
        state=P.PERSO_JOB_STATE_SUCCEEDED, limit=1)), P.ListJobsReply)
    assert len(first.jobs) == 1 and first.next_page_token
    second = ok(perso(system, "ListJobs", P.ListJobsRequest(
        state=P.PERSO_JOB_STATE_SUCCEEDED, limit=1, page_token=first.next_page_token)),
        P.ListJobsReply)
    assert second.jobs[0].job_id != first.jobs[0].job_id
    mine = ok(perso(system, "ListJobs", P.ListJobsRequest(
        card_request_id=personalised["card_request_id"])), P.ListJobsReply)
    assert [j.job_id for j in mine.jobs] == [personalised["job"].job_id]
    serial = pulled["done"].certificate_serials[0]
    cards = ok(perso(system, "ListCards", P.ListCardsRequest(serial_hex=serial.upper()), "desk"),
               P.ListCardsReply)
    assert [c.card_uuid for c in cards.cards] == [pulled["done"].card_uuid]
    held = ok(perso(system, "ListCards", P.ListCardsRequest(
        person_id=personalised["holder"].person_id), "codeop"), P.ListCardsReply)
    assert [c.card_uuid for c in held.cards] == [personalised["job"].card_uuid]
    # Walked one row a page (perso_page), both lists give every row once, in
    # the order of the whole list; a limit over 100 or a malformed token is
    # refused.
    for method, request, reply_cls, field, key, identity in (
            ("ListCards", P.ListCardsRequest, P.ListCardsReply, "cards", "card_uuid", "desk"),
            ("ListJobs", P.ListJobsRequest, P.ListJobsReply, "jobs", "job_id", "persoop")):
        whole = ok(perso(system, method, request(), identity), reply_cls)
        expected = [getattr(row, key) for row in getattr(whole, field)]
        assert len(expected) >= 2 and not whole.next_page_token
        seen, token = [], ""
        for _ in range(len(expected) + 1):
            page = ok(perso(system, method, request(limit=1, page_token=token), identity),
                      reply_cls)
            seen += [getattr(row, key) for row in getattr(page, field)]
            token = page.next_page_token
            if not token:
                break
        assert seen == expected, method
        for bad in (request(limit=101), request(page_token="abc")):
            reply = perso(system, method, bad, identity)
            assert reply.status == INVALID, (method, reply.status_message)
