"""Suspension and resume (docs/revocation.md, "Suspension"): a revocation
or service-desk operator puts a holder's certificates on hold at ca
(certificateHold), for themselves or at the request of the holder's RL or
MC, and lifts the hold (removeFromCRL); a card suspended with its
certificates returns to the state it came from. The publisher follows: the
OCSP responder and the full CRL say so.

Real PostgreSQL; real enrollment, validation, ca, perso, revocation and
publisher processes; a card personalised through the real PC/SC stack
(pcscd + vpcd + tools/vcard, tests/integration/pcsc.py) and activated the
way the portal does it. Independent readers: openssl ocsp, and
python3-cryptography for the CRL."""
import json
import secrets
import shutil
import subprocess
import time
import urllib.request

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from pcsc import Pcsc
from tessera.v1 import ca_pb2, envelope_pb2, perso_pb2, revocation_pb2, validation_pb2
from test_perso import account_of, activate, mailer, new_card, personalised_job, validated_request
from test_validation import Registry, login, one_time_password, set_password
from tsrtest import System, keygen, port_free, read_cert

OK = envelope_pb2.STATUS_OK
INVALID = envelope_pb2.STATUS_INVALID_ARGUMENT
DENIED = envelope_pb2.STATUS_PERMISSION_DENIED
PRECONDITION = envelope_pb2.STATUS_FAILED_PRECONDITION
R = revocation_pb2
P = perso_pb2
GOOD = ca_pb2.CERTIFICATE_STATE_GOOD
ON_HOLD = ca_pb2.CERTIFICATE_STATE_ON_HOLD
REVOKED = ca_pb2.CERTIFICATE_STATE_REVOKED
MASTER_KEY = secrets.token_bytes(32)
EXTRA_KEYS = ("persoop", "revoker", "desk", "portal")


@pytest.fixture(scope="module")
def pcsc(tmp_path_factory):
    p = Pcsc(tmp_path_factory.mktemp("suspension-pcsc"))
    try:
        p.start()           # exports PCSCLITE_CSOCK_NAME: perso inherits it
    except BaseException:
        p.stop()
        raise
    yield p
    p.stop()


@pytest.fixture(scope="module")
def system(pcsc):
    s = System()
    master = s.root / "perso-master.key"
    master.write_text(MASTER_KEY.hex() + "\n")
    s.secret(MASTER_KEY)
    s.publish_port = s.port_base + 98
    assert port_free(s.publish_port)
    base = f"http://127.0.0.1:{s.publish_port}"
    s.service_env["ca"] = {
        "TSR_CA_CRL_URL": f"{base}/crl/issuing.crl",
        "TSR_CA_DELTA_CRL_URL": f"{base}/crl/issuing-delta.crl",
        "TSR_CA_ISSUERS_URL": f"{base}/ca/issuing.crt",
        "TSR_CA_OCSP_URL": f"{base}/ocsp",
    }
    s.service_env["publisher"] = {
        "TSR_PUBLISH_PORT": str(s.publish_port),
        "TSR_PUBLISHER_COALESCE_MS": "500",
        "TSR_PUBLISHER_RETRY_S": "1",
        "TSR_PUBLISHER_OCSP_DIR": str(s.root / "publisher-ocsp"),
    }
    s.service_env["perso"] = {"TSR_PERSO_MASTER_KEY_FILE": str(master),
                              "TSR_PERSO_CARD_WAIT_MS": "4000", "TSR_PERSO_RUNNERS": "1"}
    s.service_env["revocation"] = {"TSR_CA_TIMEOUT_MS": "3000", "TSR_PERSO_TIMEOUT_MS": "3000"}
    try:
        s.start([])
        for name in EXTRA_KEYS:
            if not (s.keys / f"{name}.cert").exists():
                shutil.copy(keygen(s.keys, name), s.keyring / f"{name}.cert")
        names = ["enrollment", "validation", "ca", "perso", "revocation", "publisher"]
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
def operators(system):
    return {
        "operator": system.add_operator("operator", "entry", "validation"),
        "client": system.add_operator("client", "validation"),
        "persoop": system.add_operator("persoop", "perso"),
        "revoker": system.add_operator("revoker", "revocation"),
        "desk": system.add_operator("desk", "service-desk"),
        "alice": system.add_operator("alice", "custodian"),
        "bob": system.add_operator("bob", "custodian"),
        "carol": system.add_operator("carol", "custodian"),
    }


@pytest.fixture(scope="module")
def ca_active(system, operators):
    out = system.root / "ceremony"
    result = system.cli(
        "--json", "ca", "ceremony", "--org", "Tessera Trust", "--root-cn", "Tessera Root CA",
        "--issuing-cn", "Tessera Issuing CA", "--root-alg", "ec-p256", "--issuing-alg", "ec-p256",
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
    chain = system.root / "chain.pem"
    chain.write_bytes((out / "root.pem").read_bytes() + (out / "issuing.pem").read_bytes())
    return dict(out=out, issuing=out / "issuing.pem", chain=chain)


@pytest.fixture(scope="module")
def org_a(system, operators):
    return Registry(system, operators["operator"])


@pytest.fixture(scope="module")
def org_b(system, operators):
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


def ok(reply, cls):
    assert reply.status == OK, f"{envelope_pb2.Status.Name(reply.status)}: {reply.status_message}"
    return cls.FromString(reply.payload)


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
                 for table in ("suspensions", "suspension_serials", "audit_log", "outbox"))


def audit(system, action, subject=None):
    found = rows(system, "SELECT subject, actor, details FROM revocation.audit_log"
                         " WHERE action = %s ORDER BY seq", action)
    return [(s, a, json.loads(d)) for s, a, d in found if subject is None or s == subject]


def suspend(system, identity="revoker", request_id=None, **fields):
    fields.setdefault("reason", R.SUSPENSION_REASON_CARD_MISLAID)
    fields.setdefault("note", "la titulaire ne trouve plus sa carte")
    return call(system, "revocation", "SuspendCertificates",
                R.SuspendCertificatesRequest(**fields), identity, request_id=request_id)


def resume(system, identity="revoker", request_id=None, **fields):
    fields.setdefault("reason", R.RESUME_REASON_CARD_FOUND)
    fields.setdefault("note", "carte retrouvée dans son bureau")
    return call(system, "revocation", "ResumeCertificates",
                R.ResumeCertificatesRequest(**fields), identity, request_id=request_id)


def ca_state(system, serial):
    return ok(call(system, "ca", "GetStatus", ca_pb2.GetStatusRequest(serial_hex=serial),
                   "revoker"), ca_pb2.CertificateStatus)


def card(system, card_uuid):
    return ok(call(system, "perso", "GetCard", P.GetCardRequest(card_uuid=card_uuid), "desk"),
              P.Card)


def cert_pem(system, serial):
    record = ok(call(system, "ca", "GetCertificate", ca_pb2.GetCertificateRequest(
        serial_hex=serial), "revoker"), ca_pb2.CertificateRecord)
    path = system.root / f"{serial}.pem"
    path.write_bytes(x509.load_der_x509_certificate(record.certificate_der)
                     .public_bytes(serialization.Encoding.PEM))
    return path


def wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def ocsp(system, ca_active, path):
    """openssl ocsp's verdict on one certificate: (status word, full output)."""
    result = subprocess.run(
        ["openssl", "ocsp", "-issuer", str(ca_active["issuing"]), "-cert", str(path),
         "-url", f"http://127.0.0.1:{system.publish_port}/ocsp", "-CAfile",
         str(ca_active["chain"]), "-nonce"], capture_output=True, text=True)
    out = result.stdout + result.stderr
    for word in ("good", "revoked", "unknown"):
        if result.returncode == 0 and f"{path}: {word}" in out:
            return word, out
    return None, out


def ocsp_says(system, ca_active, path, word):
    return wait_for(lambda: (lambda v: v[1] if v[0] == word else None)(
        ocsp(system, ca_active, path)), what=f"OCSP {word} for {path.name}")


def full_crl(system):
    with urllib.request.urlopen(f"http://127.0.0.1:{system.publish_port}/crl/issuing.crl",
                                timeout=10) as r:
        return x509.load_der_x509_crl(r.read())


def crl_reason(crl, serial):
    """The CRL entry's reasonCode for serial: a ReasonFlags, None when the
    entry has none, False when the serial is not listed."""
    entry = crl.get_revoked_certificate_by_serial_number(int(serial, 16))
    if entry is None:
        return False
    try:
        return entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    except x509.ExtensionNotFound:
        return None


@pytest.fixture(scope="module")
def active_card(system, pcsc, org_a, ca_active, tmp_path_factory):
    """A card personalised and activated by its holder, its two certificates
    good at ca."""
    work = tmp_path_factory.mktemp("suspension-card")
    card_request_id, holder = validated_request(system, org_a)
    inserted = new_card(pcsc, work, "active")
    job = personalised_job(system, pcsc, card_request_id)
    _, code, _ = mailer(system, job.card_uuid)
    done = ok(activate(system, job.card_uuid, account_of(system, holder.person_id), code),
              P.ActivateCardReply)
    assert done.activated
    # In the card's order (9A, 9C), as a suspension lists them.
    serials = [c.serial_hex for c in card(system, job.card_uuid).certificates]
    assert sorted(serials) == sorted(job.certificate_serials)
    assert len(serials) == 2 and all(ca_state(system, s).state == GOOD for s in serials)
    yield dict(uuid=job.card_uuid, holder=holder, serials=serials,
               paths=[cert_pem(system, s) for s in serials])
    inserted.remove(wait=False)


def issue(system, registry, ca_active, given="Luc", surname="Bernard"):
    """A certificate of another holder of registry, issued by ca as perso
    would (good, not on a card)."""
    from test_ca import csr_der, holder_subject
    holder = registry.holder(given, surname)
    issued = ok(call(system, "ca", "IssueCertificate", ca_pb2.IssueCertificateRequest(
        card_request_id=f"cr-{secrets.token_hex(4)}", holder_id=holder.person_id,
        csr_der=csr_der()[0], use=ca_pb2.CERTIFICATE_USE_AUTHENTICATION,
        level=ca_pb2.POLICY_LEVEL_TWO_STARS,
        subject=holder_subject(given_name=given, surname=surname,
                               organization=registry.org.legal_name,
                               organization_id=registry.org.siret)), "perso"),
        ca_pb2.IssueCertificateReply)
    return holder, issued.certificate.serial_hex


# --- who may call, and bad input ------------------------------------------------

def test_only_revocation_and_service_desk_operators_suspend(system, operators):
    before = counts(system)[:2]
    # The portal (a holder on their own, with no operator) and other
    # operators are refused by the bus.
    for identity in ("portal", "persoop", "client"):
        assert suspend(system, identity, serials=["0a1b"]).status == DENIED
        assert resume(system, identity, serials=["0a1b"]).status == DENIED
    assert counts(system)[:2] == before
    refused = {(s, a) for s, a, _ in audit(system, "bus.permission_denied")}
    assert ("SuspendCertificates", read_cert(system.keys / "portal.cert")[0]) in refused


@pytest.mark.parametrize("fields,field", [
    (dict(), "serials"),
    (dict(serials=["0a1b"], card_uuid="6f1c2f0e-0000-4000-8000-000000000001"), "card_uuid"),
    (dict(card_uuid="not-a-uuid"), "card_uuid"),
    (dict(serials=["xyz"]), "serials[0]"),
    (dict(serials=["0a1b", "0A1B"]), "serials[1]"),
    (dict(serials=["0a1b"], reason=0), "reason"),
    (dict(serials=["0a1b"], reason=99), "reason"),
    (dict(serials=["0a1b"], note=""), "note"),
    (dict(serials=["0a1b"], note=" padded"), "note"),
    (dict(serials=["0a1b"], note="x" * 1001), "note"),
    (dict(serials=["0a1b"], note="line\nbreak"), "note"),
    (dict(serials=["0a1b"], requester_person_id="p 1"), "requester_person_id"),
])
def test_bad_input_names_the_field_and_changes_nothing(system, operators, fields, field):
    before = counts(system)
    for method in (suspend, resume):
        reply = method(system, **fields)
        assert reply.status == INVALID, reply.status_message
        assert reply.status_message.startswith(field), reply.status_message
    assert counts(system) == before


# --- a card: suspended, seen in OCSP and the CRL, resumed -----------------------

def test_suspending_a_card_holds_its_certificates_in_ocsp_and_the_crl(
        system, ca_active, active_card, org_a, operators):
    uuid, serials = active_card["uuid"], active_card["serials"]
    published = full_crl(system).extensions.get_extension_for_class(x509.CRLNumber).value
    reply = suspend(system, card_uuid=uuid.upper(), requester_person_id=org_a.rl.person_id,
                    request_id="suspend-card-1")
    suspension = ok(reply, R.Suspension)
    assert suspension.state == R.SUSPENSION_STATE_SUSPENDED
    assert suspension.card_uuid == uuid and suspension.card_previous_state == P.CARD_STATE_ACTIVE
    assert suspension.requester_role == 1      # PERSON_ROLE_LEGAL_REPRESENTATIVE
    assert suspension.holder_person_id == active_card["holder"].person_id
    assert suspension.suspended_by_operator_id == operators["revoker"]
    assert [(c.serial_hex, c.state) for c in suspension.certificates] == \
        [(s, ON_HOLD) for s in serials]
    # ca, perso: on hold, suspended, the history naming the operator.
    for serial in serials:
        status = ca_state(system, serial)
        assert status.state == ON_HOLD
        assert status.reason == ca_pb2.REVOCATION_REASON_CERTIFICATE_HOLD
    now = card(system, uuid)
    assert now.state == P.CARD_STATE_SUSPENDED and now.suspended_from_state == P.CARD_STATE_ACTIVE
    last = now.history[-1]
    assert (last.from_state, last.to_state, last.operator_id) == \
        (P.CARD_STATE_ACTIVE, P.CARD_STATE_SUSPENDED, operators["revoker"])
    assert suspension.suspension_id in last.reason and "card-mislaid" in last.reason
    # openssl ocsp: revoked, certificateHold.
    for path in active_card["paths"]:
        out = ocsp_says(system, ca_active, path, "revoked")
        assert "Reason: certificateHold" in out, out
    # The next full CRL lists both with reasonCode certificateHold.
    # A CRL signed before the activation lifted its holds may still list the
    # serials on hold: only a CRL newer than the one before the suspension
    # is the next one.
    def next_crl():
        c = full_crl(system)
        newer = c.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number > \
            published.crl_number
        return c if newer and all(crl_reason(c, s) for s in serials) else None
    crl = wait_for(next_crl, what="the next full CRL")
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number > \
        published.crl_number
    for serial in serials:
        assert crl_reason(crl, serial) == x509.ReasonFlags.certificate_hold
    # The same request id again: the first reply, nothing twice.
    again = suspend(system, card_uuid=uuid.upper(), requester_person_id=org_a.rl.person_id,
                    request_id="suspend-card-1")
    assert again.status == OK and ok(again, R.Suspension) == suspension
    assert len(audit(system, "revocation.suspended", suspension.suspension_id)) == 1
    # Another request to suspend it: suspended already.
    reply = suspend(system, card_uuid=uuid)
    assert reply.status == PRECONDITION and "suspended already" in reply.status_message
    # The audit row names who asked, who decided and why; the event follows.
    (_, actor, details), = audit(system, "revocation.suspended", suspension.suspension_id)
    assert actor == read_cert(system.keys / "revoker.cert")[0]
    assert details["requester_person_id"] == org_a.rl.person_id
    assert details["requester_role"] == 1 and details["operator_id"] == operators["revoker"]
    assert details["reason"] == "card-mislaid" and details["serials"] == serials
    assert details["note"] == "la titulaire ne trouve plus sa carte"
    payload, = rows(system, "SELECT payload FROM revocation.outbox WHERE type ="
                            " 'certificate.suspended' AND subject = %s", suspension.suspension_id)
    event = R.SuspensionChanged.FromString(bytes(payload[0]))
    assert list(event.serials) == serials and event.card_uuid == uuid


def test_an_rl_of_another_organisation_is_refused_and_kept_on_record(
        system, active_card, org_b):
    before = counts(system)[:2]
    reply = resume(system, card_uuid=active_card["uuid"], requester_person_id=org_b.rl.person_id)
    assert reply.status == DENIED, reply.status_message
    assert "requester_person_id" in reply.status_message
    assert counts(system)[:2] == before
    refused = [d for _, _, d in audit(system, "revocation.refused")
               if d.get("why") == "requester_not_allowed"
               and d.get("requester_person_id") == org_b.rl.person_id]
    assert refused
    assert card(system, active_card["uuid"]).state == P.CARD_STATE_SUSPENDED


def test_resuming_the_card_releases_the_holds(system, ca_active, active_card, org_a,
                                               operators):
    uuid, serials = active_card["uuid"], active_card["serials"]
    suspension = ok(resume(system, "desk", card_uuid=uuid,
                           requester_person_id=org_a.rl.person_id), R.Suspension)
    assert suspension.state == R.SUSPENSION_STATE_RESUMED
    assert suspension.resumed_by_operator_id == operators["desk"]
    assert suspension.resume_reason == R.RESUME_REASON_CARD_FOUND
    assert [(c.serial_hex, c.state) for c in suspension.certificates] == \
        [(s, GOOD) for s in serials]
    for serial in serials:
        assert ca_state(system, serial).state == GOOD
    now = card(system, uuid)
    assert now.state == P.CARD_STATE_ACTIVE and now.suspended_from_state == 0
    assert (now.history[-1].from_state, now.history[-1].to_state,
            now.history[-1].operator_id) == (P.CARD_STATE_SUSPENDED, P.CARD_STATE_ACTIVE,
                                             operators["desk"])
    for path in active_card["paths"]:
        ocsp_says(system, ca_active, path, "good")
    # The next full CRL no longer lists them.
    wait_for(lambda: all(crl_reason(full_crl(system), s) is False for s in serials),
             what="a full CRL without the released certificates")
    assert len(audit(system, "revocation.resumed", suspension.suspension_id)) == 1
    # Nothing is suspended any more.
    reply = resume(system, card_uuid=uuid)
    assert reply.status == PRECONDITION and "not suspended" in reply.status_message
    reply = resume(system, serials=serials[:1])
    assert reply.status == PRECONDITION and "not suspended" in reply.status_message


# --- by serial; revoked meanwhile ---------------------------------------------------

def test_a_suspended_certificate_revoked_later_stays_revoked(system, ca_active, org_a):
    holder, serial = issue(system, org_a, ca_active)
    # The note is free text: SQL metacharacters are kept as they are.
    note = "enquête d'audit; DROP TABLE suspensions; -- 100% \\ _ \"interne\" $1"
    suspension = ok(suspend(system, serials=[serial.upper()],
                            reason=R.SUSPENSION_REASON_INVESTIGATION, note=note), R.Suspension)
    assert suspension.card_uuid == "" and suspension.requester_person_id == ""
    assert suspension.note == note
    assert rows(system, "SELECT note FROM revocation.suspensions WHERE suspension_id = %s",
                suspension.suspension_id) == [(note,)]
    assert ca_state(system, serial).state == ON_HOLD
    # ca revokes it meanwhile (a revocation request applied, here directly).
    ok(call(system, "ca", "RevokeCertificate", ca_pb2.RevokeCertificateRequest(
        serial_hex=serial, reason=ca_pb2.REVOCATION_REASON_KEY_COMPROMISE), "perso"),
       ca_pb2.CertificateStatus)
    before = counts(system)
    reply = resume(system, serials=[serial], reason=R.RESUME_REASON_CLEARED, note="rien trouvé")
    assert reply.status == PRECONDITION
    assert "revoked while suspended" in reply.status_message
    assert counts(system) == before
    assert ca_state(system, serial).state == REVOKED
    # A revoked certificate cannot be suspended either.
    reply = suspend(system, serials=[serial])
    assert reply.status == PRECONDITION and "revoked" in reply.status_message


def test_resume_of_a_revoked_certificate_never_suspended_is_refused(system, ca_active, org_a):
    _, serial = issue(system, org_a, ca_active, "Jean", "Martin")
    ok(call(system, "ca", "RevokeCertificate", ca_pb2.RevokeCertificateRequest(
        serial_hex=serial, reason=ca_pb2.REVOCATION_REASON_SUPERSEDED), "perso"),
       ca_pb2.CertificateStatus)
    reply = resume(system, serials=[serial])
    assert reply.status == PRECONDITION
    assert "revoked, not on hold" in reply.status_message
    assert ca_state(system, serial).state == REVOKED


def test_a_holder_may_not_suspend_another_holders_certificates(system, ca_active, org_a):
    _, serial = issue(system, org_a, ca_active, "Paul", "Durand")
    other = org_a.holder("Anne", "Petit")
    reply = suspend(system, serials=[serial], requester_person_id=other.person_id)
    assert reply.status == DENIED
    assert ca_state(system, serial).state == GOOD


# --- revocation by card ------------------------------------------------------------

def revoke_online(system, account_id, **fields):
    return call(system, "revocation", "RevokeOnline", R.RevokeOnlineRequest(
        account_id=account_id, reason=ca_pb2.REVOCATION_REASON_KEY_COMPROMISE, **fields),
        "portal")


def requests(system):
    return tuple(rows(system, f"SELECT count(*) FROM revocation.{table}")[0][0]
                 for table in ("revocations", "revocation_serials"))


def test_a_revocation_naming_a_card_revokes_the_certificates_it_carries(
        system, pcsc, org_a, ca_active, active_card, tmp_path):
    """A holder who lost their card names the card, not its serials: the
    revocation service reads the card's certificates from perso, revokes
    those not revoked already, and keeps the card on the request."""
    card_request_id, holder = validated_request(system, org_a, "Hugo", "Lemaire")
    inserted = new_card(pcsc, tmp_path, "lost")
    job = personalised_job(system, pcsc, card_request_id, inserted)
    _, code, _ = mailer(system, job.card_uuid)
    account = account_of(system, holder.person_id)
    assert ok(activate(system, job.card_uuid, account, code), P.ActivateCardReply).activated
    # The holder's account, active: its one-time password changed.
    login_name = ok(call(system, "validation", "GetHolderAccount",
                         validation_pb2.GetHolderAccountRequest(account_id=account), "client"),
                    validation_pb2.HolderAccount).login
    otp, _ = one_time_password(system, account)
    token = login(system, login_name, otp).password_change_token
    ok(set_password(system, account, "un long chemin de campagne", token=token),
       validation_pb2.HolderAccount)
    serials = [c.serial_hex for c in card(system, job.card_uuid).certificates]
    assert len(serials) == 2 and all(ca_state(system, s).state == GOOD for s in serials)

    # Refused, and no request stored: both a card and serials, a malformed
    # card, a card perso does not know, another holder's card (that one is
    # kept on record as a refusal).
    before = requests(system)
    reply = revoke_online(system, account, card_uuid=job.card_uuid, serials=serials[:1])
    assert reply.status == INVALID and "card_uuid and serials" in reply.status_message
    reply = revoke_online(system, account, card_uuid="not-a-card")
    assert reply.status == INVALID and "card_uuid" in reply.status_message
    reply = revoke_online(system, account, card_uuid="0badcafe-0000-4000-8000-000000000000")
    assert reply.status == envelope_pb2.STATUS_NOT_FOUND, reply.status_message
    reply = revoke_online(system, account, card_uuid=active_card["uuid"])
    assert reply.status == DENIED and "not one of holder" in reply.status_message
    refused = [d for _, _, d in audit(system, "revocation.refused")
               if d.get("card_uuid") == active_card["uuid"]]
    assert refused and refused[-1]["card_holder_id"] == active_card["holder"].person_id
    assert requests(system) == before
    assert all(ca_state(system, s).state == GOOD for s in active_card["serials"])

    # One certificate revoked already (here directly at ca): the request
    # takes the other one only.
    ok(call(system, "ca", "RevokeCertificate", ca_pb2.RevokeCertificateRequest(
        serial_hex=serials[0], reason=ca_pb2.REVOCATION_REASON_KEY_COMPROMISE), "perso"),
       ca_pb2.CertificateStatus)
    record = ok(revoke_online(system, account, card_uuid=job.card_uuid.upper(),
                              statement="carte perdue dans le métro"), R.RevocationRecord)
    assert record.card_uuid == job.card_uuid.lower()
    assert list(record.serials) == [serials[1]]
    assert record.state == R.REVOCATION_STATE_APPLIED
    assert all(ca_state(system, s).state == REVOKED for s in serials)
    assert rows(system, "SELECT card_uuid FROM revocation.revocations WHERE revocation_id = %s",
                record.revocation_id) == [(job.card_uuid.lower(),)]
    requested = audit(system, "revocation.requested", record.revocation_id)
    assert requested and requested[0][2]["card_uuid"] == job.card_uuid.lower()
    # The operator's CLI shows the card; it takes a card or serials, not both.
    shown = cli(system, "revocation", "show", record.revocation_id)[0]
    assert shown["card_uuid"] == job.card_uuid.lower() and shown["serials"] == [serials[1]]
    both = system.cli("revocation", "phone-record", "ch-1", "--card", job.card_uuid,
                      "--serial", serials[1], "--reason", "key-compromise", identity="revoker")
    assert both.returncode != 0 and "--card UUID" in both.stderr
    # Nothing left to revoke on that card.
    before = requests(system)
    reply = revoke_online(system, account, card_uuid=job.card_uuid)
    assert reply.status == PRECONDITION and "revoked already" in reply.status_message
    assert requests(system) == before


# --- the CLI ---------------------------------------------------------------------

def cli(system, *args, identity="revoker"):
    result = system.cli("--json", *args, identity=identity)
    assert result.returncode == 0, result.stderr + result.stdout
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_cli_round_trip_with_card_show_and_history(system, ca_active, active_card, org_a,
                                                   operators):
    uuid, serials = active_card["uuid"], active_card["serials"]
    suspended, = cli(system, "revocation", "suspend", "--card", uuid, "--reason",
                     "leave-of-absence", "--note", "congé de six mois",
                     "--requester", org_a.rl.person_id)
    assert suspended["state"] == "suspended" and suspended["requester_role"] == "rl"
    assert [c["state"] for c in suspended["certificates"]] == ["on-hold", "on-hold"]
    shown, = cli(system, "card", "show", uuid, identity="desk")
    assert shown["state"] == "suspended" and shown["suspended_from"] == "active"
    assert shown["person_id"] == active_card["holder"].person_id
    assert [(c["serial_hex"], c["ca_status"], c["ca_reason"]) for c in shown["certificates"]] \
        == [(s, "on-hold", "certificate-hold") for s in serials]
    resumed, = cli(system, "revocation", "resume", "--card", uuid, "--reason",
                   "holder-returned", "--note", "retour de congé", identity="desk")
    assert resumed["state"] == "resumed" and resumed["resume_reason"] == "holder-returned"
    history = cli(system, "card", "history", uuid, identity="desk")
    steps = [(h["from"], h["to"], h["kind"]) for h in history]
    assert steps[:2] == [("formatted", "personalised", "card-operation"),
                         ("personalised", "active", "card-operation")]
    assert steps[-2:] == [("active", "suspended", "operator"), ("suspended", "active", "operator")]
    assert [h["operator_id"] for h in history[-2:]] == [operators["revoker"], operators["desk"]]
    assert "leave-of-absence" in history[-2]["reason"] and "congé" in history[-2]["reason"]
    times = [h["at_unix"] for h in history]
    assert times == sorted(times)
    # The table form too, and a usage error.
    table = system.cli("card", "history", uuid, identity="desk")
    assert table.returncode == 0 and "suspended" in table.stdout
    bad = system.cli("revocation", "suspend", "--card", uuid, "--reason", "bored",
                     "--note", "x", identity="revoker")
    assert bad.returncode == 2
    for serial in serials:
        assert ca_state(system, serial).state == GOOD


def test_the_audit_chain_verifies(system, operators):
    actions = {a for a, in rows(system, "SELECT DISTINCT action FROM revocation.audit_log")}
    for action in ("revocation.suspended", "revocation.resumed", "revocation.refused",
                   "bus.permission_denied"):
        assert action in actions, f"{action} missing from the audit trail"
    result = system.cli("--json", "audit", "verify", "--service", "revocation")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["intact"] is True


def test_a_card_not_yet_activated_keeps_its_activation_hold(system, pcsc, org_a, ca_active,
                                                            tmp_path):
    """Its certificates are on hold until the holder activates the card: the
    suspension holds none of them (it puts no hold there), and its resume
    releases none."""
    card_request_id, _ = validated_request(system, org_a, "Marie", "Leroy")
    inserted = new_card(pcsc, tmp_path, "personalised")
    job = personalised_job(system, pcsc, card_request_id, inserted)
    uuid = job.card_uuid
    suspension = ok(suspend(system, "desk", card_uuid=uuid,
                            reason=R.SUSPENSION_REASON_SUSPECTED_MISUSE,
                            note="le pli a été ouvert"), R.Suspension)
    assert suspension.card_previous_state == P.CARD_STATE_PERSONALISED
    assert list(suspension.certificates) == []
    assert card(system, uuid).state == P.CARD_STATE_SUSPENDED
    for serial in job.certificate_serials:
        assert ca_state(system, serial).state == ON_HOLD
    resumed = ok(resume(system, "desk", card_uuid=uuid, reason=R.RESUME_REASON_CLEARED,
                        note="le pli était intact"), R.Suspension)
    assert resumed.state == R.SUSPENSION_STATE_RESUMED
    assert card(system, uuid).state == P.CARD_STATE_PERSONALISED
    for serial in job.certificate_serials:
        assert ca_state(system, serial).state == ON_HOLD
    # Naming one of them is refused: its hold is not a suspension's.
    reply = resume(system, serials=[job.certificate_serials[0]])
    assert reply.status == PRECONDITION and "not by a suspension" in reply.status_message
