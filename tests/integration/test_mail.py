"""Mail: notices from a durable outbox over SMTP, S/MIME-signed by mail's
own certificate from tessera's CA, cards by registered mail, the PIN mailer
24 h later, acceptance returns. Real PostgreSQL; real enrollment,
validation, ca and mail processes; a real SMTP server (python3-aiosmtpd,
STARTTLS and a login required) that keeps what it receives; openssl checks
the signatures, pdftotext reads the PIN mailer.

Perso is written by another hand at the same time, so its side of the bus
is played here by FakePerso: perso's own CURVE key and endpoints, the
ListEvents and GetCard messages of perso.proto, secrets sealed to mail's key
with libsodium (python3-nacl). Mail reads it exactly as it would read perso.
"""
import hashlib
import json
import secrets
import shutil
import subprocess
import threading
import time
import unicodedata
import uuid
import warnings

import nacl.public
import psycopg2
import pytest
import zmq
import zmq.utils.z85
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from smtp_sink import SmtpSink
from tessera.v1 import (ca_pb2, enrollment_pb2, envelope_pb2, events_pb2, mail_pb2, perso_pb2,
                        validation_pb2)
from test_validation import Registry
from tsrtest import System, keygen, read_cert

warnings.filterwarnings("ignore", message="Session.login_data")

OK = envelope_pb2.STATUS_OK
INVALID = envelope_pb2.STATUS_INVALID_ARGUMENT
DENIED = envelope_pb2.STATUS_PERMISSION_DENIED
PRECONDITION = envelope_pb2.STATUS_FAILED_PRECONDITION
NOT_FOUND = envelope_pb2.STATUS_NOT_FOUND
EXISTS = envelope_pb2.STATUS_ALREADY_EXISTS
E = enrollment_pb2
M = mail_pb2
FROM = "noreply@tessera.test"
MAX_ATTEMPTS = 6
# Values a test saw that must never be found in clear in mail's database
# or log.
SECRETS = []


# --- perso, as mail sees it -------------------------------------------------

class FakePerso:
    """perso's ROUTER and PUB endpoints under perso's own key: ListEvents
    over the events added here, GetCard over the cards added here."""

    def __init__(self, system):
        service = system.services["perso"]
        public, secret = read_cert(service.cert)
        self.context = zmq.Context()
        self.router = self.context.socket(zmq.ROUTER)
        self.pub = self.context.socket(zmq.PUB)
        for socket in (self.router, self.pub):
            socket.curve_server = True
            socket.curve_publickey = public.encode()
            socket.curve_secretkey = secret.encode()
            socket.linger = 0
        self.router.bind(service.endpoint)
        self.pub.bind(service.pub_endpoint)
        self.events, self.cards = [], {}
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _answer(self, request):
        reply = envelope_pb2.Envelope(message_id=secrets.token_hex(16),
                                      request_id=request.request_id, trace_id=request.trace_id,
                                      method=request.method, is_reply=True,
                                      sent_at_unix_ms=int(time.time() * 1000))
        with self.lock:
            if request.method == "ListEvents":
                asked = events_pb2.ListEventsRequest.FromString(request.payload)
                listed = events_pb2.ListEventsReply(last_seq=len(self.events))
                listed.events.extend(e for e in self.events if e.seq > asked.after_seq)
                reply.status, reply.payload = OK, listed.SerializeToString()
            elif request.method == "GetCard":
                asked = perso_pb2.GetCardRequest.FromString(request.payload)
                card = self.cards.get(asked.card_uuid)
                if card:
                    reply.status, reply.payload = OK, card.SerializeToString()
                else:
                    reply.status, reply.status_message = NOT_FOUND, "no such card"
            else:
                reply.status = envelope_pb2.STATUS_UNIMPLEMENTED
        return reply.SerializeToString()

    def _serve(self):
        while self.running:
            if not self.router.poll(100):
                continue
            identity, frame = self.router.recv_multipart()
            request = envelope_pb2.Envelope.FromString(frame)
            self.router.send_multipart([identity, self._answer(request)])

    def add_event(self, type_, subject, payload):
        with self.lock:
            event = events_pb2.Event(service="perso", seq=len(self.events) + 1, type=type_,
                                     subject=subject, trace_id=secrets.token_hex(8),
                                     occurred_at_unix_ms=int(time.time() * 1000),
                                     payload=payload.SerializeToString())
            self.events.append(event)
        self.pub.send_multipart([type_.encode(), event.SerializeToString()])

    def add_card(self, card):
        with self.lock:
            self.cards[card.card_uuid] = card

    def stop(self):
        self.running = False
        self.thread.join()
        self.context.destroy(0)


# --- the system ---------------------------------------------------------------

@pytest.fixture(scope="module")
def system():
    s = System()
    sink = None
    try:
        s.start([])
        for name in ("shipper", "engineer", "desk", "watcher", "portal"):
            if not (s.keyring / f"{name}.cert").exists():
                shutil.copy(keygen(s.keys, name), s.keyring / f"{name}.cert")
        sink = SmtpSink(s.root / "smtp", s.port_base + 209).start()
        password_file = s.root / "smtp-password"
        password_file.write_text(sink.password + "\n")
        s.secret(sink.password)
        s.service_env["mail"] = {
            "TSR_SMTP_URL": f"smtp://127.0.0.1:{sink.port}",
            "TSR_SMTP_STARTTLS": "required",
            "TSR_SMTP_CA_FILE": str(sink.cert),
            "TSR_SMTP_USER": sink.user,
            "TSR_SMTP_PASSWORD_FILE": str(password_file),
            "TSR_SMTP_FROM": f"tessera <{FROM}>",
            "TSR_SMTP_TIMEOUT_MS": "5000",
            "TSR_MAIL_KEY_DIR": str(s.root / "mail-keys"),
            "TSR_MAIL_RETRY_BASE_MS": "200",
            "TSR_MAIL_RETRY_MAX_MS": "1000",
            "TSR_MAIL_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
            "TSR_MAIL_POLL_MS": "100",
            "TSR_MAIL_SENDING_LEASE_S": "8",
            "TSR_MAIL_SIGNER_RETRY_MS": "500",
            "TSR_MAIL_PORTAL_URL": "https://portal.tessera.test/",
        }
        for name in ("enrollment", "validation", "ca", "mail"):
            s.services[name].start(wait=False)
        for name in ("enrollment", "validation", "ca", "mail"):
            s.services[name].wait_ready()
        s.sink, s.perso = sink, None
    except BaseException:
        if sink:
            sink.stop()
        s.stop()
        raise
    yield s
    s.stop()
    if s.perso:
        s.perso.stop()
    sink.stop()


@pytest.fixture(scope="module")
def perso(system):
    """Perso comes up after mail: mail kept asking meanwhile, and follows
    its events from then on."""
    wait(lambda: '"source":"perso"' in system.services["mail"].log(),
         what="mail noticing that perso does not answer")
    assert system.services["mail"].proc.poll() is None
    system.perso = FakePerso(system)
    return system.perso


def operator(system, identity, name, *roles, email=None, language="fr"):
    args = ["--json", "operator", "add", "--name", name, "--cert",
            str(system.keys / f"{identity}.cert"), "--language", language]
    if email:
        args += ["--email", email]
    for role in roles:
        args += ["--role", role]
    result = system.cli(*args, identity="officer")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["operator_id"]


@pytest.fixture(scope="module")
def operators(system):
    return {
        "operator": operator(system, "operator", "Olivier Saisie", "entry", "validation"),
        "client": operator(system, "client", "Valérie Validatrice", "validation",
                           email="valerie@tessera.test"),
        "desk": operator(system, "desk", "Denis Support", "service-desk",
                         email="denis@tessera.test"),
        "watcher": operator(system, "watcher", "Victor Validator", "validation",
                            email="victor@tessera.test", language="en"),
        "shipper": operator(system, "shipper", "Sylvie Expédition", "shipping"),
        "engineer": operator(system, "engineer", "Eric Système", "system-engineer"),
        "alice": operator(system, "alice", "alice", "custodian"),
        "bob": operator(system, "bob", "bob", "custodian"),
        "carol": operator(system, "carol", "carol", "custodian"),
    }


@pytest.fixture(scope="module")
def ca(system, operators):
    """Ceremony, activation: mail's signer then gets its certificate."""
    out = system.root / "ceremony"
    result = system.cli(
        "--json", "ca", "ceremony", "--org", "Tessera Trust", "--root-cn", "Tessera Root CA",
        "--issuing-cn", "Tessera Issuing CA", "--root-alg", "ec-p256", "--issuing-alg",
        "ec-p256", "--custodian", f"alice={system.keys / 'alice.cert'}",
        "--custodian", f"bob={system.keys / 'bob.cert'}",
        "--custodian", f"carol={system.keys / 'carol.cert'}", "--threshold", "2",
        "--so-pin-file", str(system.hsm.so_pin_file), "--out", str(out),
        identity="officer", timeout=120)
    assert result.returncode == 0, result.stderr
    for who in ("alice", "bob"):
        share = next((out / who).glob("ca-*.*"))
        system.secret(share.read_bytes())
        done = system.cli("--json", "ca", "activate", "--share", str(share), identity=who)
        assert done.returncode == 0, done.stderr
    signer = system.root / "mail-keys" / "signer.crt"
    deadline = time.time() + 30
    while not signer.exists() and time.time() < deadline:
        time.sleep(0.2)
    assert signer.exists(), system.services["mail"].log()
    return {"root": out / "root.pem", "issuing": out / "issuing.pem", "signer": signer}


@pytest.fixture(scope="module")
def registry(system, operators):
    made = Registry(system, operators["operator"])
    made.mc = call(system, "enrollment", "RegisterPerson", E.RegisterPersonRequest(
        organisation_id=made.org.organisation_id, role=E.PERSON_ROLE_CERTIFICATION_DELEGATE,
        given_name="Marc", surname="Delegue", email="marc.delegue@example.fr",
        postal_address=E.PostalAddress(lines=["Service des cartes", "3 rue du Port"],
                                       postal_code="13002", city="Marseille", country_code="FR"),
        language="fr", designated_by_person_id=made.rl.person_id), "operator", E.Person)
    return made


# --- helpers ----------------------------------------------------------------

def call(system, service, method, message, identity, cls=None, request_id=None):
    client = system.client(service, identity)
    try:
        reply, _ = client.call(method, message.SerializeToString(), request_id=request_id,
                               timeout=30.0)
    finally:
        client.close()
    assert reply is not None, f"{service}.{method}: no reply"
    if cls is None:
        return reply
    assert reply.status == OK, f"{envelope_pb2.Status.Name(reply.status)}: {reply.status_message}"
    return cls.FromString(reply.payload)


def mail(system, method, message, identity, cls=None):
    return call(system, "mail", method, message, identity, cls)


def rows(system, sql, *params):
    conn = system.cluster.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def count(system, table):
    return rows(system, f"SELECT count(*) FROM mail.{table}")[0][0]


def cli(system, *args, identity):
    result = system.cli("--json", "mail", *args, identity=identity)
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result, lines


def openssl_verify(path, root):
    return subprocess.run(["openssl", "cms", "-verify", "-in", str(path), "-CAfile", str(root),
                           "-out", "/dev/null"], capture_output=True, text=True)


def mail_key(system):
    return nacl.public.PublicKey(zmq.utils.z85.decode(read_cert(system.keys / "mail.cert")[0]))


def sealed(system, text):
    return nacl.public.SealedBox(mail_key(system)).encrypt(text.encode())


def one_time_password(system, account_id, type_="account.created"):
    """What validation sealed to mail for account_id, opened as mail does."""
    found = rows(system, "SELECT payload FROM validation.outbox WHERE type = %s AND subject = %s"
                         " ORDER BY seq DESC LIMIT 1", type_, account_id)
    issued = validation_pb2.OneTimePasswordIssued.FromString(bytes(found[0][0]))
    secret = read_cert(system.keys / "mail.cert")[1]
    box = nacl.public.SealedBox(nacl.public.PrivateKey(zmq.utils.z85.decode(secret.encode())))
    password = box.decrypt(issued.sealed_password).decode()
    SECRETS.append(system.secret(password))
    return password


def new_holder(system, registry, given, surname, language="fr"):
    """A holder whose request is validated by client, once the one-time
    password has arrived."""
    ascii_name = unicodedata.normalize("NFKD", given).encode("ascii", "ignore").decode().lower()
    email = f"{ascii_name}.{secrets.token_hex(3)}@example.fr"
    holder = registry.holder(given, surname, email)
    if language != "fr":
        call(system, "enrollment", "UpdatePerson", E.UpdatePersonRequest(
            person_id=holder.person_id, language=language), "operator", E.Person)
    batch_id, (card_request_id,) = registry.batch([holder])
    call(system, "validation", "ValidateCardRequest", validation_pb2.ValidateCardRequestRequest(
        card_request_id=card_request_id), "client", validation_pb2.Decision)
    account = call(system, "validation", "GetHolderAccount", validation_pb2.GetHolderAccountRequest(
        person_id=holder.person_id), "desk", validation_pb2.HolderAccount)
    system.sink.wait_for(lambda m: email in m.recipients, what=f"the password for {email}")
    return dict(holder=holder, email=email, batch_id=batch_id, card_request_id=card_request_id,
                account=account)


def issue(system, registry, made, use=ca_pb2.CERTIFICATE_USE_AUTHENTICATION, days=0,
          card_request_id=None):
    """A certificate for the holder as perso would ask it (perso's key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")]))
           .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
    holder = made["holder"]
    reply = call(system, "ca", "IssueCertificate", ca_pb2.IssueCertificateRequest(
        card_request_id=card_request_id or made["card_request_id"], holder_id=holder.person_id,
        csr_der=csr, use=use, level=ca_pb2.POLICY_LEVEL_TWO_STARS, validity_days=days,
        subject=ca_pb2.Subject(given_name=holder.given_name, surname=holder.surname,
                               organization=registry.org.legal_name,
                               organization_id=registry.org.siret)),
        "perso", ca_pb2.IssueCertificateReply)
    return reply.certificate


def wait(predicate, timeout=30, what="the condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} not met after {timeout}s")


def card_for(system, made):
    """A personalised card of made's holder at (fake) perso, with its PIN
    mailer ready: returns (card_uuid, pin, activation code)."""
    card_uuid = str(uuid.uuid4())
    holder = made["holder"]
    system.perso.add_card(perso_pb2.Card(
        card_uuid=card_uuid, card_request_id=made["card_request_id"], person_id=holder.person_id,
        organisation_id=holder.organisation_id, state=perso_pb2.CARD_STATE_PERSONALISED))
    pin, code = f"{secrets.randbelow(10**8):08d}", f"AC-{secrets.token_hex(4).upper()}"
    SECRETS.extend([system.secret(pin), system.secret(code)])
    system.perso.add_event("pin_mailer.ready", card_uuid, perso_pb2.PinMailerReady(
        card_uuid=card_uuid, card_request_id=made["card_request_id"], person_id=holder.person_id,
        sealed_pin=sealed(system, pin), sealed_activation_code=sealed(system, code),
        sealed_for_key=read_cert(system.keys / "mail.cert")[0]))
    wait(lambda: rows(system, "SELECT 1 FROM mail.shipments WHERE card_uuid = %s AND kind = 2",
                      card_uuid), what="the PIN mailer reaching mail")
    return card_uuid, pin, code


def settle(system):
    """Waits until mail has applied every event of its sources and has
    nothing left to send now."""
    def settled():
        for source in ("validation", "enrollment", "ca"):
            top = rows(system, f"SELECT coalesce(max(seq), 0) FROM {source}.outbox")[0][0]
            cursor = rows(system, "SELECT coalesce(max(last_seq), 0) FROM mail.event_cursors"
                                  " WHERE source = %s", source)[0][0]
            if cursor < top:
                return False
        return rows(system, "SELECT count(*) FROM mail.emails WHERE state IN (1, 2)")[0][0] == 0
    wait(settled, what="mail catching up")


def restart_mail(system, **env):
    system.services["mail"].stop()
    system.service_env["mail"].update(env)
    system.services["mail"].start()


# --- who may call what --------------------------------------------------------

def test_methods_refuse_callers_without_their_role(system, operators):
    before = (count(system, "shipments"), count(system, "emails"))
    card = str(uuid.uuid4())
    assert mail(system, "PrepareShipment", M.PrepareShipmentRequest(card_uuid=card),
                "client").status == DENIED
    assert mail(system, "ReleasePinMailer", M.ReleasePinMailerRequest(card_uuid=card),
                "desk").status == DENIED
    assert mail(system, "RequeueEmail", M.RequeueEmailRequest(email_id="x", reason="r"),
                "desk").status == DENIED
    assert mail(system, "RunExpirySweep", M.RunExpirySweepRequest(), "shipper").status == DENIED
    assert mail(system, "ListEmails", M.ListEmailsRequest(), "shipper").status == DENIED
    assert mail(system, "ListEmails", M.ListEmailsRequest(), "desk").status == OK
    # The channel decides within RecordAcceptance: paper is an operator's,
    # portal the portal's.
    reply = mail(system, "RecordAcceptance", M.RecordAcceptanceRequest(
        channel=M.ACCEPTANCE_CHANNEL_PORTAL, card_uuid=card, account_id="a"), "shipper")
    assert reply.status == DENIED and "portal" in reply.status_message
    reply = mail(system, "RecordAcceptance", M.RecordAcceptanceRequest(
        channel=M.ACCEPTANCE_CHANNEL_PAPER, card_uuid=card), "portal")
    assert reply.status == DENIED
    assert (count(system, "shipments"), count(system, "emails")) == before
    refused = rows(system, "SELECT subject FROM mail.audit_log WHERE action = 'bus.permission_denied'")
    assert ("PrepareShipment",) in refused and ("RequeueEmail",) in refused


# --- the signer -----------------------------------------------------------------

def test_signer_certificate_is_issued_by_tessera_ca(system, ca):
    key_file = system.root / "mail-keys" / "signer.key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert oct((system.root / "mail-keys").stat().st_mode & 0o777) == "0o700"
    pems = ca["signer"].read_bytes().split(b"-----END CERTIFICATE-----")
    leaf = x509.load_pem_x509_certificate(pems[0] + b"-----END CERTIFICATE-----\n")
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in leaf.extensions.get_extension_for_class(
        x509.ExtendedKeyUsage).value
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.RFC822Name) == [FROM]
    chain = system.root / "signer-chain.pem"
    chain.write_bytes(ca["issuing"].read_bytes())
    check = subprocess.run(["openssl", "verify", "-CAfile", str(ca["root"]), "-untrusted",
                            str(chain), "-purpose", "smimesign", str(ca["signer"])],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    # ca knows it as mail's: holder "mail", use MAIL_SIGNER.
    assert rows(system, "SELECT holder_id, use FROM ca.certificates WHERE use = 4") == [("mail", 4)]


# --- e-mails --------------------------------------------------------------------

def test_batch_notice_reaches_the_validation_operators_signed(system, ca, registry):
    holder = registry.holder("Jeanne", "Lot", f"jeanne.{secrets.token_hex(3)}@example.fr")
    batch_id, _ = registry.batch([holder])
    fr = system.sink.wait_for(lambda m: "valerie@tessera.test" in m.recipients
                              and batch_id in m.subject, what="the batch notice (fr)")
    en = system.sink.wait_for(lambda m: "victor@tessera.test" in m.recipients
                              and batch_id in m.subject, what="the batch notice (en)")
    assert fr.subject == f"Lot {batch_id} en attente de validation"
    assert en.subject == f"Batch {batch_id} awaits validation"
    assert "Valérie Validatrice" in fr.to and "Société Exemple" in fr.text()
    # Over STARTTLS (the sink refuses MAIL FROM without it) with the login.
    assert system.sink.logins and all(ok for _, ok in system.sink.logins)
    assert "1 card request(s)" in en.text()
    # The operator without an address (operator) gets nothing; the desk is
    # no validation operator.
    assert not system.sink.to("denis@tessera.test")
    for received in (fr, en):
        assert received.sender == FROM
        assert received.message.get_content_type() == "multipart/signed"
        assert received.message.get_param("protocol") == "application/pkcs7-signature"
        check = openssl_verify(system.sink.path(received), ca["root"])
        assert check.returncode == 0, check.stderr


def test_a_message_tampered_in_transit_fails_verification(system, ca):
    received = system.sink.wait_for(lambda m: True)
    raw = received.raw
    assert openssl_verify(system.sink.path(received), ca["root"]).returncode == 0
    # One character of the signed text changed (in its base64 form).
    part_start = raw.index(b"\r\n\r\n", raw.index(b"Content-Transfer-Encoding: base64")) + 4
    flipped = b"B" if raw[part_start:part_start + 1] != b"B" else b"C"
    tampered = system.root / "tampered.eml"
    tampered.write_bytes(raw[:part_start] + flipped + raw[part_start + 1:])
    check = openssl_verify(tampered, ca["root"])
    assert check.returncode != 0
    assert "digest failure" in check.stderr or "verification failure" in check.stderr
    # A subject changed in transit is outside the signature (RFC 8551
    # signs the body); a substituted signer is not: a self-signed key
    # fails the chain.
    other = system.root / "other-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(other), "-out",
                    str(system.root / "other.pem"), "-subj", "/CN=mallory", "-days", "1"],
                   check=True, capture_output=True)
    resigned = subprocess.run(["openssl", "cms", "-sign", "-in", str(system.sink.path(received)),
                               "-signer", str(system.root / "other.pem"), "-inkey", str(other),
                               "-out", str(system.root / "resigned.eml")], capture_output=True)
    assert resigned.returncode == 0
    assert openssl_verify(system.root / "resigned.eml", ca["root"]).returncode != 0


@pytest.fixture(scope="module")
def holder_fr(system, ca, registry):
    return new_holder(system, registry, "Élodie", "Dupré")


@pytest.fixture(scope="module")
def holder_en(system, ca, registry):
    return new_holder(system, registry, "John", "Smith", language="en")


def test_one_time_password_arrives_in_the_holders_language(system, ca, holder_fr, holder_en):
    for made, subject, label in (
            (holder_fr, "Votre compte tessera : mot de passe à usage unique",
             "Mot de passe à usage unique : "),
            (holder_en, "Your tessera account: one-time password", "One-time password: ")):
        password = one_time_password(system, made["account"].account_id)
        received = system.sink.wait_for(lambda m: made["email"] in m.recipients,
                                        what=f"the one-time password for {made['email']}")
        assert received.subject == subject
        assert label + password in received.text()
        assert made["account"].login in received.text()
        assert openssl_verify(system.sink.path(received), ca["root"]).returncode == 0
    # A name outside ASCII travels as RFC 2047 encoded words, never raw.
    raw = system.sink.to(holder_fr["email"])[0].raw
    to_line = raw.split(b"\r\nTo: ")[1].split(b">\r\n")[0]
    assert b"=?UTF-8?B?" in to_line and "É".encode() not in to_line
    assert system.sink.to(holder_fr["email"])[0].message["To"].addresses[0].display_name \
        == "Élodie Dupré"
    # The outbox keeps the password sealed, and drops even that once sent.
    wait(lambda: email_rows(system, holder_fr["holder"].person_id)[0][1] == 3)
    emails = rows(system, "SELECT state, params IS NULL, sealed_secret IS NULL, message_id"
                          " FROM mail.emails WHERE recipient_person_id = %s AND template = 1",
                  holder_fr["holder"].person_id)
    assert emails == [(3, True, True, system.sink.to(holder_fr["email"])[0].message_id)]


def test_card_shipment_and_the_pin_mailer_24_hours_later(system, ca, registry, holder_fr, perso):
    card_uuid, pin, code = card_for(system, holder_fr)
    waiting = mail(system, "ListShipments", M.ListShipmentsRequest(card_uuid=card_uuid),
                   "shipper", M.ListShipmentsReply).shipments
    assert [(s.kind, s.state) for s in waiting] == [(M.SHIPMENT_KIND_PIN_MAILER,
                                                     M.SHIPMENT_STATE_PREPARED)]
    # Not before the card is posted.
    reply = mail(system, "ReleasePinMailer", M.ReleasePinMailerRequest(card_uuid=card_uuid),
                 "shipper")
    assert reply.status == PRECONDITION and "not been posted" in reply.status_message
    # The holder's card goes to the organisation's only MC.
    result, (shipment,) = cli(system, "prepare", "--card", card_uuid, identity="shipper")
    assert result.returncode == 0, result.stderr
    assert shipment["kind"] == "SHIPMENT_KIND_CARD" and shipment["state"] == "SHIPMENT_STATE_PREPARED"
    assert shipment["recipient_person_id"] == registry.mc.person_id
    assert shipment["recipient_name"] == "Marc Delegue"
    assert shipment["recipient_address"]["lines"] == ["Service des cartes", "3 rue du Port"]
    again = mail(system, "PrepareShipment", M.PrepareShipmentRequest(card_uuid=card_uuid),
                 "shipper")
    assert again.status == EXISTS
    # Posting needs the tracking number of the registered mail.
    result, _ = cli(system, "post", shipment["shipment_id"], identity="shipper")
    assert result.returncode != 0 and "tracking_number" in result.stderr
    result, (posted,) = cli(system, "post", shipment["shipment_id"], "--tracking", "1A23456789012",
                            identity="shipper")
    assert result.returncode == 0, result.stderr
    assert posted["state"] == "SHIPMENT_STATE_POSTED" and posted["tracking_number"] == "1A23456789012"
    shipped = rows(system, "SELECT payload FROM mail.outbox WHERE type = 'card.shipped'"
                           " AND subject = %s", card_uuid)
    event = M.CardShipped.FromString(bytes(shipped[0][0]))
    assert event.pin_mailer_releasable_unix == event.posted_at_unix + 86400
    notice = system.sink.wait_for(lambda m: "marc.delegue@example.fr" in m.recipients
                                  and card_uuid in m.text(), what="the card-shipped notice")
    assert notice.subject == "Carte expédiée en recommandé (1A23456789012)"
    assert "Élodie Dupré" in notice.text()
    # Posted, but 24 h have not passed on the service's clock.
    reply = mail(system, "ReleasePinMailer", M.ReleasePinMailerRequest(card_uuid=card_uuid),
                 "shipper")
    assert reply.status == PRECONDITION and "too early" in reply.status_message
    assert count(system, "shipments") == 2
    assert rows(system, "SELECT state, sealed_pin IS NOT NULL FROM mail.shipments"
                        " WHERE card_uuid = %s AND kind = 2", card_uuid) == [(1, True)]
    # A day and an hour later, by configuration.
    restart_mail(system, TSR_MAIL_CLOCK_OFFSET_S=str(25 * 3600))
    pdf = system.root / "pin-mailer.pdf"
    result, (released,) = cli(system, "pin-mailer", "--card", card_uuid, "--out", str(pdf),
                              identity="shipper")
    assert result.returncode == 0, result.stderr
    assert oct(pdf.stat().st_mode & 0o777) == "0o600"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    for expected in ("Élodie Dupré", "12 rue de la Paix", "75002 Paris", pin, code, card_uuid,
                     "Code PIN"):
        assert expected in text, f"{expected!r} not in the PIN mailer:\n{text}"
    digest = hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert released["state"] == "SHIPMENT_STATE_PRINTED" and released["pdf_sha256"] == digest
    assert released["printed_by_operator_id"] == rows(
        system, "SELECT operator_id FROM enrollment.operators WHERE name = 'Sylvie Expédition'")[0][0]
    # Once: afterwards only the digest, who and when.
    reply = mail(system, "ReleasePinMailer", M.ReleasePinMailerRequest(card_uuid=card_uuid),
                 "shipper")
    assert reply.status == EXISTS
    assert rows(system, "SELECT sealed_pin IS NULL, sealed_activation_code IS NULL, pdf_sha256"
                        " FROM mail.shipments WHERE card_uuid = %s AND kind = 2",
                card_uuid) == [(True, True, digest)]
    stored = rows(system, "SELECT reply FROM mail.bus_requests WHERE method = 'ReleasePinMailer'")
    assert stored and all(pin.encode() not in bytes(r[0]) and b"%PDF" not in bytes(r[0])
                          for r in stored)
    # The PIN mailer goes by simple mail; the holder is told.
    result, (sent,) = cli(system, "post", released["shipment_id"], identity="shipper")
    assert result.returncode == 0 and sent["state"] == "SHIPMENT_STATE_POSTED"
    notice = system.sink.wait_for(lambda m: holder_fr["email"] in m.recipients
                                  and m.subject == "Votre code PIN est en route",
                                  what="the PIN-mailer notice")
    assert card_uuid in notice.text()
    assert rows(system, "SELECT count(*) FROM mail.outbox WHERE type = 'pin_mailer.released'")[0][0] == 1
    # Simple mail has no acknowledgement of receipt.
    reply = mail(system, "SetShipmentState", M.SetShipmentStateRequest(
        shipment_id=released["shipment_id"], state=M.SHIPMENT_STATE_DELIVERED), "shipper")
    assert reply.status == PRECONDITION
    # The registered mail's acknowledgement comes back.
    # The note is free text: SQL metacharacters are kept as they are.
    note = "AR signé par l'accueil; DROP TABLE shipments; -- 100% \\ _ \"bis\" $1"
    result, (delivered,) = cli(system, "delivered", shipment["shipment_id"], "--note", note,
                               identity="shipper")
    assert result.returncode == 0 and delivered["state"] == "SHIPMENT_STATE_DELIVERED"
    assert delivered["note"] == note
    assert rows(system, "SELECT note FROM mail.shipments WHERE shipment_id = %s",
                shipment["shipment_id"]) == [(note,)]
    holder_fr["card_uuid"] = card_uuid
    # For people, one field a line.
    shown = system.cli("mail", "shipment", shipment["shipment_id"], identity="desk")
    assert shown.returncode == 0, shown.stderr
    fields = dict(line.split(None, 1) for line in shown.stdout.splitlines()[1:] if line.strip())
    assert fields["state"] == '"SHIPMENT_STATE_DELIVERED"'
    assert fields["tracking_number"] == '"1A23456789012"'
    assert '"lines":["Service des cartes","3 rue du Port"]' in fields["recipient_address"]


def test_paper_acceptance_closes_the_dossier_by_event(system, ca, registry, holder_fr):
    card_uuid = holder_fr["card_uuid"]
    auth = issue(system, registry, holder_fr, ca_pb2.CERTIFICATE_USE_AUTHENTICATION)
    sign = issue(system, registry, holder_fr, ca_pb2.CERTIFICATE_USE_SIGNATURE)
    holder_fr["serials"] = [auth.serial_hex, sign.serial_hex]
    wait(lambda: rows(system, "SELECT count(*) FROM mail.certificates WHERE card_request_id = %s",
                      holder_fr["card_request_id"])[0][0] == 2, what="ca's certificate.issued")
    acceptance_sha, report_sha = hashlib.sha256(b"acceptance").hexdigest(), \
        hashlib.sha256(b"pv").hexdigest()
    before = count(system, "acceptances")
    # Bad digests or a serial not of this card are refused, nothing kept.
    result, _ = cli(system, "accept", "--card", card_uuid, "--acceptance-sha256", "abc",
                    "--report-sha256", report_sha, identity="shipper")
    assert result.returncode != 0 and "INVALID_ARGUMENT" in result.stderr
    result, _ = cli(system, "accept", "--card", card_uuid, "--acceptance-sha256", acceptance_sha,
                    "--report-sha256", report_sha, "--serial", "0badc0de", identity="shipper")
    assert result.returncode != 0 and "0badc0de" in result.stderr
    assert count(system, "acceptances") == before
    result, (accepted,) = cli(system, "accept", "--card", card_uuid, "--acceptance-sha256",
                              acceptance_sha, "--report-sha256", report_sha, identity="shipper")
    assert result.returncode == 0, result.stderr
    assert accepted["closes_dossier"] is True and accepted["channel"] == "ACCEPTANCE_CHANNEL_PAPER"
    assert sorted(accepted["serials"]) == sorted(holder_fr["serials"])
    event = M.AcceptanceRecorded.FromString(bytes(rows(
        system, "SELECT payload FROM mail.outbox WHERE type = 'acceptance.recorded'")[0][0]))
    assert event.closes_dossier and event.card_request_id == holder_fr["card_request_id"]
    assert event.person_id == holder_fr["holder"].person_id
    # Enrollment follows mail's events: the request is completed and the
    # holder's dossier closed and archived, kept 5 years.
    deadline = time.time() + 15
    while time.time() < deadline:
        state = rows(system, "SELECT r.state, d.state, d.retain_until > now() + interval '4 years'"
                             " FROM enrollment.card_requests r JOIN enrollment.dossiers d USING (dossier_id)"
                             " WHERE r.card_request_id = %s", holder_fr["card_request_id"])[0]
        if state[0] == 6:
            break
        time.sleep(0.2)
    assert state == (6, 3, True), state
    assert rows(system, "SELECT count(*) FROM enrollment.audit_log WHERE action = 'enrollment.dossier_archived'"
                        " AND actor = 'mail'")[0][0] >= 1
    result, _ = cli(system, "accept", "--card", card_uuid, "--acceptance-sha256", acceptance_sha,
                    "--report-sha256", report_sha, identity="shipper")
    assert result.returncode != 0 and "ALREADY_EXISTS" in result.stderr
    # The portal's acceptance needs the holder's own account.
    reply = mail(system, "RecordAcceptance", M.RecordAcceptanceRequest(
        channel=M.ACCEPTANCE_CHANNEL_PORTAL, card_uuid=card_uuid, account_id="acc-unknown",
        client_address="192.0.2.7", user_agent="pytest"), "portal")
    assert reply.status == NOT_FOUND
    accepted = mail(system, "RecordAcceptance", M.RecordAcceptanceRequest(
        channel=M.ACCEPTANCE_CHANNEL_PORTAL, card_uuid=card_uuid,
        account_id=holder_fr["account"].account_id, client_address="192.0.2.7",
        user_agent="pytest"), "portal", M.Acceptance)
    assert not accepted.closes_dossier and accepted.account_id == holder_fr["account"].account_id


def test_revocation_confirmed_to_the_holder(system, ca, holder_fr):
    serial = holder_fr["serials"][0]
    call(system, "ca", "RevokeCertificate", ca_pb2.RevokeCertificateRequest(
        serial_hex=serial, reason=ca_pb2.REVOCATION_REASON_KEY_COMPROMISE,
        revocation_request_id="rev-1"), "perso", ca_pb2.CertificateStatus)
    received = system.sink.wait_for(lambda m: holder_fr["email"] in m.recipients
                                    and serial in m.text(), what="the revocation notice")
    assert received.subject == "Révocation de votre certificat confirmée"
    assert "compromission de la clé" in received.text()
    # A hold (suspension) is no revocation: no notice.
    other = holder_fr["serials"][1]
    call(system, "ca", "RevokeCertificate", ca_pb2.RevokeCertificateRequest(
        serial_hex=other, reason=ca_pb2.REVOCATION_REASON_CERTIFICATE_HOLD), "perso",
        ca_pb2.CertificateStatus)
    wait(lambda: rows(system, "SELECT state FROM mail.certificates WHERE serial_hex = %s",
                      other) == [(3,)], what="the hold reaching mail")
    assert not [m for m in system.sink.to(holder_fr["email"]) if other in m.text()]


def test_expiry_sweep_queues_expiring_and_renewal_notices_once(system, ca, registry, holder_en):
    soon = issue(system, registry, holder_en, days=10)
    later = issue(system, registry, holder_en, ca_pb2.CERTIFICATE_USE_SIGNATURE, days=50)
    wait(lambda: rows(system, "SELECT count(*) FROM mail.certificates WHERE card_request_id = %s",
                      holder_en["card_request_id"])[0][0] == 2, what="ca's certificate.issued")
    result, (swept,) = cli(system, "sweep", identity="engineer")
    assert result.returncode == 0, result.stderr
    assert swept["certificates_checked"] >= 2 and swept["emails_queued"] == 2
    expiring = system.sink.wait_for(lambda m: holder_en["email"] in m.recipients
                                    and "expire in" in m.subject, what="the expiry notice")
    assert expiring.subject.startswith("Your certificates expire in ")
    assert soon.serial_hex in expiring.text() and later.serial_hex in expiring.text()
    renewal = system.sink.wait_for(lambda m: holder_en["email"] in m.recipients
                                   and m.subject.startswith("Renew your card"),
                                   what="the renewal invitation")
    assert "https://portal.tessera.test/" in renewal.text()
    # Once per card request, however often the sweep runs.
    result, (again,) = cli(system, "sweep", identity="engineer")
    assert again["emails_queued"] == 0
    assert rows(system, "SELECT trigger FROM mail.sweeps ORDER BY seq DESC LIMIT 2") == \
        [("request",), ("request",)]


def test_every_template_arrived_signed(system, ca):
    seen = {}
    for template in range(1, 8):
        sent = rows(system, "SELECT message_id FROM mail.emails WHERE template = %s AND state = 3",
                    template)
        assert sent, f"no {M.EmailTemplate.Name(template)} was sent"
        seen[template] = {m for (m,) in sent}
    by_id = {m.message_id: m for m in system.sink.messages}
    for template, ids in seen.items():
        for message_id in ids:
            received = by_id[message_id]
            check = openssl_verify(system.sink.path(received), ca["root"])
            assert check.returncode == 0, (M.EmailTemplate.Name(template), check.stderr)


# --- delivery -----------------------------------------------------------------------

def reset_password(system, made, reason="holder called"):
    return call(system, "validation", "ResetPassword", validation_pb2.ResetPasswordRequest(
        account_id=made["account"].account_id, reason=reason), "desk",
        validation_pb2.HolderAccount)


def email_rows(system, person_id, template=1):
    return rows(system, "SELECT email_id, state, attempts, message_id, last_error"
                        " FROM mail.emails WHERE recipient_person_id = %s AND template = %s"
                        " ORDER BY seq", person_id, template)


def test_smtp_down_then_back_every_message_arrives_exactly_once(system, ca, registry):
    made = [new_holder(system, registry, f"Panne{i}", "Serveur") for i in range(3)]
    for m in made:
        system.sink.wait_for(lambda r, m=m: m["email"] in r.recipients)
    system.sink.stop()
    try:
        for m in made:
            reset_password(system, m)
            reset_password(system, m, "second call")
        # Every new e-mail failed at least twice while the server was away.
        wait(lambda: all(len(email_rows(system, m["holder"].person_id)) == 3
                         and all(a >= 2 for _, s, a, _, _ in email_rows(
                             system, m["holder"].person_id)[1:])
                         for m in made), timeout=30, what="retries while SMTP is down")
        failed = email_rows(system, made[0]["holder"].person_id)[1]
        assert failed[1] in (1, 2) and "connect" in failed[4].lower(), failed
    finally:
        system.sink.start()
    expected = {row[3] for m in made for row in email_rows(system, m["holder"].person_id)}
    assert len(expected) == 9
    wait(lambda: all(r[1] == 3 for m in made for r in email_rows(system, m["holder"].person_id)),
         timeout=30, what="every message sent once SMTP is back")
    time.sleep(1)               # anything extra would show up now
    arrived = [m.message_id for m in system.sink.messages if m.message_id in expected]
    assert sorted(arrived) == sorted(expected), "each Message-ID exactly once"
    for m in made:
        texts = [r.text() for r in system.sink.to(m["email"])]
        passwords = [one_time_password(system, m["account"].account_id,
                                       "account.password_reset")]
        assert any(passwords[0] in t for t in texts)


def test_permanent_refusal_dead_letters_and_requeue_sends_it(system, ca, registry):
    made = new_holder(system, registry, "Refus", "Permanent")
    address = f"reject-{secrets.token_hex(3)}@example.fr"
    call(system, "enrollment", "UpdatePerson", E.UpdatePersonRequest(
        person_id=made["holder"].person_id, email=address), "operator", E.Person)
    system.sink.reject = True
    reset_password(system, made)
    wait(lambda: [r for r in email_rows(system, made["holder"].person_id) if r[1] == 4],
         what="the dead letter")
    email_id, _, attempts, message_id, last_error = [
        r for r in email_rows(system, made["holder"].person_id) if r[1] == 4][0]
    assert attempts == 1 and "550" in last_error
    result, listed = cli(system, "emails", "--state", "dead-letter", identity="desk")
    assert result.returncode == 0 and email_id in [e["email_id"] for e in listed]
    dead = rows(system, "SELECT payload FROM mail.outbox WHERE type = 'email.dead_lettered'"
                        " AND subject = %s", email_id)
    assert M.EmailChanged.FromString(bytes(dead[0][0])).state == M.EMAIL_STATE_DEAD_LETTER
    # The service desk may look, only a system engineer requeues.
    result, _ = cli(system, "requeue", email_id, "--reason", "mailbox fixed", identity="desk")
    assert result.returncode != 0 and "PERMISSION_DENIED" in result.stderr
    result, _ = cli(system, "requeue", email_id, identity="engineer")
    assert result.returncode != 0
    system.sink.reject = False
    try:
        result, (requeued,) = cli(system, "requeue", email_id, "--reason", "mailbox fixed",
                                  identity="engineer")
        assert result.returncode == 0, result.stderr
        assert requeued["state"] == "EMAIL_STATE_QUEUED" and requeued["attempts"] == 0
        received = system.sink.wait_for(lambda m: m.message_id == message_id,
                                        what="the requeued message")
        assert address in received.recipients
    finally:
        system.sink.reject = True
    result, _ = cli(system, "requeue", email_id, "--reason", "again", identity="engineer")
    assert result.returncode != 0 and "not a dead letter" in result.stderr


def test_transient_failures_end_in_the_dead_letters_after_max_attempts(system, ca, registry):
    made = new_holder(system, registry, "Refus", "Temporaire")
    call(system, "enrollment", "UpdatePerson", E.UpdatePersonRequest(
        person_id=made["holder"].person_id, email=f"tempfail-{secrets.token_hex(3)}@example.fr"),
        "operator", E.Person)
    reset_password(system, made)
    wait(lambda: [r for r in email_rows(system, made["holder"].person_id) if r[1] == 4],
         timeout=40, what="the dead letter after the last attempt")
    dead = [r for r in email_rows(system, made["holder"].person_id) if r[1] == 4][0]
    assert dead[2] == MAX_ATTEMPTS and "451" in dead[4]
    outcomes = rows(system, "SELECT outcome FROM mail.email_attempts WHERE email_id = %s"
                            " ORDER BY started_at", dead[0])
    assert [o for (o,) in outcomes] == ["retry"] * (MAX_ATTEMPTS - 1) + ["dead"]


def test_crash_after_smtp_accepted_resends_with_the_same_message_id(system, ca, registry):
    made = new_holder(system, registry, "Panne", "Brutale")
    address = f"slow-{secrets.token_hex(3)}@example.fr"
    call(system, "enrollment", "UpdatePerson", E.UpdatePersonRequest(
        person_id=made["holder"].person_id, email=address), "operator", E.Person)
    reset_password(system, made)
    # The server has the message but has not said 250 yet: the process dies.
    first = system.sink.wait_for(lambda m: address in m.recipients, what="the slow message")
    system.services["mail"].proc.kill()
    system.services["mail"].proc.wait()
    email_id, state, _, message_id, _ = email_rows(system, made["holder"].person_id)[-1]
    assert state == 2 and message_id == first.message_id
    system.services["mail"].start()
    wait(lambda: email_rows(system, made["holder"].person_id)[-1][1] == 3, timeout=30,
         what="the message sent again after the claim expired")
    copies = [m for m in system.sink.to(address) if m.message_id == message_id]
    # The one duplicate SMTP cannot prevent, recognisable by its Message-ID.
    assert len(copies) == 2 and copies[0].text() == copies[1].text()
    outcomes = rows(system, "SELECT outcome FROM mail.email_attempts WHERE email_id = %s"
                            " ORDER BY started_at", email_id)
    assert [o for (o,) in outcomes] == ["reclaimed", "sent"]
    assert rows(system, "SELECT count(*) FROM mail.audit_log WHERE action = 'mail.email_reclaimed'"
                        " AND subject = %s", email_id)[0][0] == 1


# --- bad input ----------------------------------------------------------------------

def test_header_injection_in_names_and_addresses_is_refused(system, ca, registry):
    made = new_holder(system, registry, "Injection", "Essai")
    person_id = made["holder"].person_id
    # Enrollment refuses such values; mail does not rely on it. Written
    # behind enrollment's back, they still never reach a header.
    for column, value in (("email", "x@example.fr\r\nBcc: evil@example.org"),
                          ("surname", "Essai\r\nBcc: evil@example.org"),
                          ("given_name", "Inj\nSubject: pwned")):
        conn = system.cluster.connect()
        with conn.cursor() as cur:
            cur.execute("SELECT email, surname, given_name FROM enrollment.persons"
                        " WHERE person_id = %s", (person_id,))
            saved = cur.fetchone()
            cur.execute(f"UPDATE enrollment.persons SET {column} = %s WHERE person_id = %s",
                        (value, person_id))
        conn.close()
        emails_before = count(system, "emails")
        reset_password(system, made, f"injection via {column}")
        wait(lambda: rows(system, "SELECT count(*) FROM mail.audit_log WHERE action ="
                                  " 'mail.email_refused' AND details LIKE %s",
                          f"%{person_id}%")[0][0] >= 1 + ["email", "surname",
                                                         "given_name"].index(column),
             what=f"the refusal of the {column}")
        assert count(system, "emails") == emails_before
        conn = system.cluster.connect()
        with conn.cursor() as cur:
            cur.execute("UPDATE enrollment.persons SET email = %s, surname = %s, given_name = %s"
                        " WHERE person_id = %s", (*saved, person_id))
        conn.close()
    time.sleep(1)
    assert len(system.sink.to(made["email"])) == 1
    assert rows(system, "SELECT count(*) FROM mail.emails WHERE recipient_person_id = %s",
                person_id) == [(1,)]
    assert not [m for m in system.sink.messages
                if b"evil@example.org" in m.raw or b"pwned" in m.raw]


def test_bad_shipment_input_gets_a_clear_error_and_stores_nothing(system, ca, registry, perso):
    made = new_holder(system, registry, "Adresse", "Longue")
    card_uuid = str(uuid.uuid4())
    holder = made["holder"]
    system.perso.add_card(perso_pb2.Card(
        card_uuid=card_uuid, card_request_id=made["card_request_id"], person_id=holder.person_id,
        organisation_id=holder.organisation_id, state=perso_pb2.CARD_STATE_PERSONALISED))
    long_mc = call(system, "enrollment", "RegisterPerson", E.RegisterPersonRequest(
        organisation_id=registry.org.organisation_id, role=E.PERSON_ROLE_CERTIFICATION_DELEGATE,
        given_name="Marie-Christine-Bénédicte", surname="de La Tour d'Auvergne-Lauraguais",
        email="mcb@example.fr", postal_address=E.PostalAddress(
            lines=["1 place du Marché"], postal_code="31000", city="Toulouse", country_code="FR"),
        language="fr", designated_by_person_id=registry.rl.person_id), "operator", E.Person)
    settle(system)
    before = (count(system, "shipments"), count(system, "emails"), count(system, "outbox"),
              count(system, "audit_log"))
    cases = [
        (M.PrepareShipmentRequest(card_uuid="not-a-uuid"), INVALID, "card_uuid"),
        (M.PrepareShipmentRequest(card_uuid=str(uuid.uuid4())), NOT_FOUND, "perso knows no card"),
        (M.PrepareShipmentRequest(card_uuid=card_uuid, recipient_person_id="per-0000000000000000"),
         NOT_FOUND, "enrollment knows no person"),
        (M.PrepareShipmentRequest(card_uuid=card_uuid, recipient_person_id=registry.rl.person_id),
         PRECONDITION, "not an MC"),
        (M.PrepareShipmentRequest(card_uuid=card_uuid, recipient_person_id="a\r\nb"), INVALID,
         "recipient_person_id"),
        # Two MCs now: the holder's card needs one named.
        (M.PrepareShipmentRequest(card_uuid=card_uuid), INVALID, "name the one"),
        # A name over the window's 38 characters.
        (M.PrepareShipmentRequest(card_uuid=card_uuid, recipient_person_id=long_mc.person_id),
         PRECONDITION, "envelope's window"),
    ]
    for request, status, words in cases:
        reply = mail(system, "PrepareShipment", request, "shipper")
        assert reply.status == status, (request, reply.status_message)
        assert words in reply.status_message, reply.status_message
    for request, words in (
            (M.SetShipmentStateRequest(shipment_id="s-1", state=M.SHIPMENT_STATE_POSTED,
                                       tracking_number="1A2\r\nBcc: x"), "tracking_number"),
            (M.SetShipmentStateRequest(shipment_id="s-1", state=M.SHIPMENT_STATE_POSTED,
                                       note="line\nbreak"), "note"),
            (M.SetShipmentStateRequest(shipment_id="s-1", state=M.SHIPMENT_STATE_PRINTED),
             "state"),
            (M.RecordAcceptanceRequest(channel=M.ACCEPTANCE_CHANNEL_PAPER, card_uuid=card_uuid,
                                       signed_acceptance_sha256="0" * 64,
                                       handover_report_sha256="0" * 64,
                                       received_unix=int(time.time()) + 10 ** 8),
             "received_unix")):
        method = "SetShipmentState" if isinstance(request, M.SetShipmentStateRequest) \
            else "RecordAcceptance"
        reply = mail(system, method, request, "shipper")
        assert reply.status == INVALID and words in reply.status_message, reply.status_message
    reply = mail(system, "RequeueEmail", M.RequeueEmailRequest(email_id="e-1", reason=""),
                 "engineer")
    assert reply.status == INVALID and "reason" in reply.status_message
    reply = mail(system, "GetShipment", M.GetShipmentRequest(shipment_id="nope"), "shipper")
    assert reply.status == NOT_FOUND
    after = (count(system, "shipments"), count(system, "emails"), count(system, "outbox"),
             count(system, "audit_log"))
    assert after == before


def test_no_secret_in_clear_in_mail_database_or_log(system):
    assert SECRETS
    tables = [t for (t,) in rows(system, "SELECT table_name FROM information_schema.tables"
                                         " WHERE table_schema = 'mail'")]
    dump = "\n".join(str(r) for t in tables for r in rows(system, f"SELECT t::text FROM mail.{t} t"))
    log = system.services["mail"].log()
    for secret in SECRETS:
        assert secret not in dump, "a secret in mail's tables"
        assert secret not in log, "a secret in mail's log"


def test_audit_chain_verifies(system):
    result = system.cli("--json", "audit", "verify", "--service", "mail")
    assert result.returncode == 0, result.stdout + result.stderr
