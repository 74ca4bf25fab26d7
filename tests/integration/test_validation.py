"""Validation: the four-eyes decision on card requests that enrollment
really registered and submitted, the holder accounts it creates (a one-time
password sealed to mail, Argon2id hashes only), the portal's Login /
SetPassword / secret questions, revocation's VerifyAnswers, lockout and the
service desk's remedies, and the audit trail of each step. Real PostgreSQL,
real enrollment and validation processes, a Python client of its own;
python3-nacl (libsodium's Python binding) opens what was sealed to mail."""
import json
import secrets
import shutil
import time
from datetime import datetime, timezone

import nacl.pwhash
import nacl.public
import pytest
import zmq.utils.z85

from tessera.v1 import ca_pb2, enrollment_pb2, envelope_pb2, validation_pb2
from tsrtest import SLOW, System, keygen, read_cert

OK = envelope_pb2.STATUS_OK
INVALID = envelope_pb2.STATUS_INVALID_ARGUMENT
DENIED = envelope_pb2.STATUS_PERMISSION_DENIED
PRECONDITION = envelope_pb2.STATUS_FAILED_PRECONDITION
NOT_FOUND = envelope_pb2.STATUS_NOT_FOUND
VALIDATED = validation_pb2.DECISION_OUTCOME_VALIDATED
REJECTED = validation_pb2.DECISION_OUTCOME_REJECTED
E = enrollment_pb2
OTP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789"
LOCKOUT_S = 3 * SLOW      # valgrind slows Argon2id: the lock must outlast the logins
# Every secret a test saw: none may be found in the test's files (logs,
# database cluster) at the end.
SECRETS = []


@pytest.fixture(scope="module")
def system():
    s = System()
    s.service_env["validation"] = {"TSR_LOCKOUT_S": str(LOCKOUT_S)}
    try:
        s.start([])
        # The holder portal is a service: its key in the keyring before the
        # services start gives it TSR_ROLE_SERVICE.
        portal = keygen(s.keys, "portal")
        shutil.copy(portal, s.keyring / portal.name)
        for name in ("enrollment", "validation"):
            s.services[name].start(wait=False)
        for name in ("enrollment", "validation"):
            s.services[name].wait_ready()
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


def raw_call(system, service, method, message, identity, request_id):
    client = system.client(service, identity)
    try:
        return client.call(method, message.SerializeToString(), request_id=request_id,
                           timeout=30.0)[1]
    finally:
        client.close()


def ok(reply, cls):
    assert reply.status == OK, f"{envelope_pb2.Status.Name(reply.status)}: {reply.status_message}"
    return cls.FromString(reply.payload)


def validation(system, method, message, identity="client", **kw):
    return call(system, "validation", method, message, identity, **kw)


def enrollment(system, method, message, identity="operator", cls=None):
    reply = call(system, "enrollment", method, message, identity)
    return ok(reply, cls) if cls else reply


def rows(system, sql, *params):
    conn = system.cluster.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def count(system, table):
    return rows(system, f"SELECT count(*) FROM validation.{table}")[0][0]


def audit_actions(system, subject=None):
    if subject is None:
        return [r[0] for r in rows(system, "SELECT action FROM validation.audit_log ORDER BY seq")]
    return [r[0] for r in rows(system, "SELECT action FROM validation.audit_log"
                                       " WHERE subject = %s ORDER BY seq", subject)]


def events(system, type_, subject=None):
    found = rows(system, "SELECT subject, payload FROM validation.outbox WHERE type = %s"
                         " ORDER BY seq", type_)
    return [bytes(payload) for s, payload in found if subject is None or s == subject]


def key_of(system, identity):
    return read_cert(system.keys / f"{identity}.cert")[0]


def mail_open(system, sealed):
    """What mail does: open the sealed password with its certificate's secret key."""
    public, secret = read_cert(system.keys / "mail.cert")
    box = nacl.public.SealedBox(nacl.public.PrivateKey(zmq.utils.z85.decode(secret.encode())))
    return box.decrypt(sealed).decode()


def siret():
    """A fresh 14-digit number that passes the Luhn check."""
    digits = [secrets.randbelow(10) for _ in range(13)]
    for check in range(10):
        candidate = digits + [check]
        total = 0
        for i, d in enumerate(reversed(candidate)):
            d = d * 2 if i % 2 else d
            total += d - 9 if d > 9 else d
        if total % 10 == 0 and candidate[:9] != [3, 5, 6, 0, 0, 0, 0, 0, 0]:
            return "".join(map(str, candidate))
    raise AssertionError("no check digit")


def address():
    return E.PostalAddress(lines=["12 rue de la Paix"], postal_code="75002", city="Paris",
                           country_code="FR")


class Registry:
    """The entry operator's work at enrollment, as enrollment.proto has it:
    an organisation with its K-bis, its RL, holders with complete dossiers,
    batches of card requests, submitted."""

    def __init__(self, system, ae_operator_id, entry="operator"):
        self.system = system
        self.ae = ae_operator_id
        self.entry = entry
        now = int(time.time())
        self.org = enrollment(system, "RegisterOrganisation", E.RegisterOrganisationRequest(
            legal_name="Société Exemple", siret=siret(), kind=E.ORGANISATION_KIND_COMPANY,
            postal_address=address()), entry, E.Organisation)
        self.document(self.org.dossier_id, E.DOCUMENT_TYPE_KBIS_EXTRACT, issued=now - 86400)
        self.rl = self.person(E.PERSON_ROLE_LEGAL_REPRESENTATIVE, "Robert", "Lefèvre",
                              f"rl-{secrets.token_hex(3)}@example.fr")

    def document(self, dossier_id, type_, signed_by=(), issued=0, **extra):
        now = int(time.time())
        return enrollment(self.system, "RecordDocument", E.RecordDocumentRequest(
            dossier_id=dossier_id, type=type_, reference=f"ref-{secrets.token_hex(4)}",
            received_unix=now - 60, issued_unix=issued, signed_by=list(signed_by), **extra),
            self.entry, E.Document)

    def person(self, role, given, surname, email):
        return enrollment(self.system, "RegisterPerson", E.RegisterPersonRequest(
            organisation_id=self.org.organisation_id, role=role, given_name=given,
            surname=surname, email=email, postal_address=address(), language="fr"),
            self.entry, E.Person)

    def holder(self, given="Élodie", surname="Dupré", email=None):
        """A holder whose dossier is complete at **."""
        email = email or f"holder-{secrets.token_hex(4)}@example.fr"
        person = self.person(E.PERSON_ROLE_HOLDER, given, surname, email)
        d, p = person.dossier_id, person.person_id
        self.document(d, E.DOCUMENT_TYPE_REQUEST_FORM, [p])
        self.document(d, E.DOCUMENT_TYPE_TERMS_OF_USE, [p, self.ae])
        self.document(d, E.DOCUMENT_TYPE_IDENTITY_DOCUMENT, [p],
                      identity_document_kind=E.IDENTITY_DOCUMENT_KIND_NATIONAL_ID_CARD,
                      expires_unix=int(time.time()) + 5 * 365 * 86400)
        self.document(d, E.DOCUMENT_TYPE_FACE_TO_FACE_REPORT, [self.ae, self.rl.person_id])
        return person

    def batch(self, persons, submit=True, uses=None):
        """A batch with one request (authentication + signature unless uses
        says) per person."""
        batch = enrollment(self.system, "CreateBatch", E.CreateBatchRequest(
            organisation_id=self.org.organisation_id, label="lot"), self.entry, E.Batch)
        requests = [enrollment(self.system, "CreateCardRequest", E.CreateCardRequestRequest(
            batch_id=batch.batch_id, person_id=p.person_id, level=ca_pb2.POLICY_LEVEL_TWO_STARS,
            uses=uses or [ca_pb2.CERTIFICATE_USE_AUTHENTICATION, ca_pb2.CERTIFICATE_USE_SIGNATURE]),
            self.entry, E.CardRequest) for p in persons]
        if submit:
            enrollment(self.system, "SubmitBatch", E.SubmitBatchRequest(batch_id=batch.batch_id),
                       self.entry, E.Batch)
        return batch.batch_id, [r.card_request_id for r in requests]


def card_request_state(system, card_request_id):
    return enrollment(system, "GetCardRequest", E.GetCardRequestRequest(
        card_request_id=card_request_id), "client", E.CardRequest).state


def wait_state(system, card_request_id, state, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if card_request_state(system, card_request_id) == state:
            return True
        time.sleep(0.2)
    return False


def validate(system, card_request_id, identity="client", note="", **kw):
    return validation(system, "ValidateCardRequest", validation_pb2.ValidateCardRequestRequest(
        card_request_id=card_request_id, note=note), identity, **kw)


def reject(system, card_request_id, reason, identity="client"):
    return validation(system, "RejectCardRequest", validation_pb2.RejectCardRequestRequest(
        card_request_id=card_request_id, reason=reason), identity)


def account_of(system, person_id, identity="alice"):
    return ok(validation(system, "GetHolderAccount", validation_pb2.GetHolderAccountRequest(
        person_id=person_id), identity), validation_pb2.HolderAccount)


def login(system, login_name, password, identity="portal", **kw):
    SECRETS.append(system.secret(password))
    return ok(validation(system, "Login", validation_pb2.LoginRequest(
        login=login_name, password=password, client_address="192.0.2.10",
        user_agent="pytest"), identity, **kw), validation_pb2.LoginReply)


def set_password(system, account_id, new, token="", current="", identity="portal"):
    SECRETS.append(system.secret(new))
    return validation(system, "SetPassword", validation_pb2.SetPasswordRequest(
        account_id=account_id, password_change_token=token, current_password=current,
        new_password=new, client_address="192.0.2.10", user_agent="pytest"), identity)


def one_time_password(system, account_id, type_="account.created"):
    """The last one-time password sealed for account_id, opened as mail would."""
    issued = validation_pb2.OneTimePasswordIssued.FromString(events(system, type_, account_id)[-1])
    assert issued.sealed_for_key == key_of(system, "mail")
    password = mail_open(system, issued.sealed_password)
    SECRETS.append(system.secret(password))
    return password, issued


@pytest.fixture(scope="module")
def operators(system):
    """operator: entry + validation (enters the requests); client: validation;
    alice: service desk; bob: controller; carol: entry only."""
    return {
        "operator": system.add_operator("operator", "entry", "validation"),
        "client": system.add_operator("client", "validation"),
        "alice": system.add_operator("alice", "service-desk"),
        "bob": system.add_operator("bob", "controller"),
        "carol": system.add_operator("carol", "entry"),
    }


@pytest.fixture(scope="module")
def registry(system, operators):
    return Registry(system, operators["operator"])


def new_holder_account(system, registry, given, surname):
    """A holder with a complete dossier, one request validated by client:
    the decision, the account and the one-time password mail would send."""
    holder = registry.holder(given, surname,
                             f"{given.lower()}.{surname.lower()}.{secrets.token_hex(2)}@example.fr")
    batch_id, (card_request_id,) = registry.batch([holder])
    decision = ok(validate(system, card_request_id, note="dossier vu"), validation_pb2.Decision)
    account = account_of(system, holder.person_id)
    password, issued = one_time_password(system, account.account_id)
    return dict(holder=holder, batch_id=batch_id, card_request_id=card_request_id,
                decision=decision, account=account, otp=password, issued=issued)


@pytest.fixture(scope="module")
def validated(system, registry):
    """A fresh account, its one-time password unused."""
    return new_holder_account(system, registry, "Elodie", "Dupre")


@pytest.fixture(scope="module")
def active(system, registry):
    """Another account, after first login and a password of the holder's own."""
    made = new_holder_account(system, registry, "Sophie", "Marchand")
    reply = login(system, made["account"].login, made["otp"])
    password = "un long chemin de campagne"
    ok(set_password(system, made["account"].account_id, password,
                    token=reply.password_change_token), validation_pb2.HolderAccount)
    return dict(made, password=password)


# --- who may call what --------------------------------------------------------

def test_methods_refuse_callers_without_their_role(system, operators):
    before = count(system, "decisions")
    # An entry operator may not decide; an operator may not log holders in.
    reply = validate(system, "cr-whatever", identity="carol")
    assert reply.status == DENIED and "validation" in reply.status_message
    reply = validation(system, "Login", validation_pb2.LoginRequest(login="x@example.fr",
                                                                    password="x"), "client")
    assert reply.status == DENIED
    reply = validation(system, "UnlockAccount", validation_pb2.UnlockAccountRequest(
        account_id="a", reason="r"), "client")
    assert reply.status == DENIED
    # The controller reads decisions, never makes them.
    assert validation(system, "ListDecisions", validation_pb2.ListDecisionsRequest(),
                      "bob").status == OK
    assert validate(system, "cr-whatever", identity="bob").status == DENIED
    assert count(system, "decisions") == before
    refusals = rows(system, "SELECT actor, subject FROM validation.audit_log"
                            " WHERE action = 'bus.permission_denied'")
    assert (key_of(system, "carol"), "ValidateCardRequest") in refusals
    assert (key_of(system, "client"), "Login") in refusals


# --- bad input ----------------------------------------------------------------

@pytest.mark.parametrize("method,message,field", [
    ("ValidateCardRequest", validation_pb2.ValidateCardRequestRequest(card_request_id=""),
     "card_request_id"),
    ("ValidateCardRequest", validation_pb2.ValidateCardRequestRequest(
        card_request_id="x' OR 1=1; DROP TABLE decisions; --"), "card_request_id"),
    ("ValidateCardRequest", validation_pb2.ValidateCardRequestRequest(card_request_id="a" * 65),
     "card_request_id"),
    ("ValidateCardRequest", validation_pb2.ValidateCardRequestRequest(
        card_request_id="cr-1", note="n" * 513), "note"),
    ("RejectCardRequest", validation_pb2.RejectCardRequestRequest(card_request_id="cr-1"),
     "reason"),
    ("RejectCardRequest", validation_pb2.RejectCardRequestRequest(
        card_request_id="cr-1", reason="two\nlines"), "reason"),
    ("RejectCardRequest", validation_pb2.RejectCardRequestRequest(
        card_request_id="cr-1", reason="é" * 513), "reason"),
    ("RejectBatch", validation_pb2.RejectBatchRequest(batch_id="b-1", reason=""), "reason"),
    ("ValidateBatch", validation_pb2.ValidateBatchRequest(batch_id="b 1"), "batch_id"),
    ("GetDecision", validation_pb2.GetDecisionRequest(card_request_id="\x00"), "card_request_id"),
    ("ListDecisions", validation_pb2.ListDecisionsRequest(page_token="abc"), "page_token"),
])
def test_bad_decision_input_names_the_field_and_changes_nothing(system, operators, method,
                                                                 message, field):
    before = (count(system, "decisions"), count(system, "audit_log"), count(system, "outbox"))
    reply = validation(system, method, message, "client")
    assert reply.status == INVALID, reply.status_message
    assert field in reply.status_message
    assert (count(system, "decisions"), count(system, "audit_log"),
            count(system, "outbox")) == before


@pytest.mark.parametrize("method,message,field", [
    ("Login", validation_pb2.LoginRequest(login="", password="p"), "login"),
    ("Login", validation_pb2.LoginRequest(login="a@b.fr", password=""), "password"),
    ("Login", validation_pb2.LoginRequest(login="a@b.fr", password="p" * 129), "password"),
    ("Login", validation_pb2.LoginRequest(login="a@b.fr", password="p", user_agent="x\x1b[31m"),
     "user_agent"),
    ("SetPassword", validation_pb2.SetPasswordRequest(account_id="a", new_password="n" * 20),
     "current_password"),
    ("SetPassword", validation_pb2.SetPasswordRequest(
        account_id="a", current_password="c", password_change_token="t", new_password="n"),
     "current_password"),
    ("SetSecretQuestions", validation_pb2.SetSecretQuestionsRequest(account_id="a b"),
     "account_id"),
    ("GetSecretQuestions", validation_pb2.GetSecretQuestionsRequest(), "account_id"),
    ("VerifyAnswers", validation_pb2.VerifyAnswersRequest(account_id="a"), "answers"),
    ("GetHolderAccount", validation_pb2.GetHolderAccountRequest(account_id="a", login="b"),
     "exactly one"),
])
def test_bad_account_input_names_the_field_and_changes_nothing(system, operators, method, message,
                                                                field):
    identity = "alice" if method == "GetHolderAccount" else "portal"
    before = (count(system, "holder_accounts"), count(system, "audit_log"))
    reply = validation(system, method, message, identity)
    assert reply.status == INVALID, reply.status_message
    assert field in reply.status_message
    assert (count(system, "holder_accounts"), count(system, "audit_log")) == before


# --- four eyes ----------------------------------------------------------------

def test_the_entry_operator_never_validates_what_they_entered(system, operators, registry):
    holder = registry.holder("Jean", "Martin")
    batch_id, (card_request_id,) = registry.batch([holder])
    # "operator" entered it and holds the validation role too: refused.
    reply = validate(system, card_request_id, identity="operator")
    assert reply.status == DENIED, reply.status_message
    assert "another validation operator" in reply.status_message
    reply = reject(system, card_request_id, "no", identity="operator")
    assert reply.status == DENIED
    reply = validation(system, "ValidateBatch", validation_pb2.ValidateBatchRequest(
        batch_id=batch_id), "operator")
    assert reply.status == DENIED
    assert rows(system, "SELECT count(*) FROM validation.decisions WHERE card_request_id = %s",
                card_request_id)[0][0] == 0
    # The refusals are in the audit trail although nothing else was kept.
    refused = rows(system, "SELECT actor, details FROM validation.audit_log"
                           " WHERE action = 'validation.four_eyes_refused' AND subject = %s",
                   card_request_id)
    assert len(refused) == 3
    assert all(actor == key_of(system, "operator") for actor, _ in refused)
    assert {json.loads(d)["method"] for _, d in refused} == {
        "ValidateCardRequest", "RejectCardRequest", "ValidateBatch"}
    assert json.loads(refused[0][1])["caller_operator_id"] == operators["operator"]
    # Another validation operator may.
    decision = ok(validate(system, card_request_id), validation_pb2.Decision)
    assert decision.outcome == VALIDATED
    assert decision.decided_by_operator_id == operators["client"]
    assert decision.entered_by_operator_id == operators["operator"]


# --- validation, the account, the one-time password ----------------------------

def test_validation_creates_the_account_and_seals_the_password_to_mail(system, operators,
                                                                        validated):
    decision, holder = validated["decision"], validated["holder"]
    assert decision.outcome == VALIDATED and decision.account_created
    assert decision.card_request_id == validated["card_request_id"]
    assert decision.person_id == holder.person_id and decision.batch_id == validated["batch_id"]
    assert decision.note == "dossier vu"
    account = validated["account"]
    assert decision.account_id == account.account_id
    assert account.login == holder.email
    assert account.state == validation_pb2.HOLDER_ACCOUNT_STATE_PENDING_FIRST_LOGIN
    assert account.must_change_password and account.secret_question_count == 0
    assert account.one_time_password_expires_unix > time.time() + 86400

    # The password mail opens: 16 characters of the unambiguous alphabet.
    password, issued = validated["otp"], validated["issued"]
    assert len(password) == 16 and set(password) <= set(OTP_ALPHABET)
    assert issued.person_id == holder.person_id and issued.login == holder.email
    assert issued.expires_unix == account.one_time_password_expires_unix
    # Only its Argon2id hash is stored, and it is the hash of that password.
    (stored,) = rows(system, "SELECT password_hash FROM validation.holder_accounts"
                             " WHERE account_id = %s", account.account_id)[0]
    assert stored.startswith("$argon2id$")
    assert nacl.pwhash.verify(stored.encode(), password.encode())
    # "request.validated" tells enrollment and perso; enrollment moves on.
    event = validation_pb2.RequestValidated.FromString(
        events(system, "request.validated", decision.card_request_id)[0])
    assert event.account_id == account.account_id
    assert event.decided_by_operator_id == operators["client"]
    assert list(event.uses) == [ca_pb2.CERTIFICATE_USE_AUTHENTICATION,
                                ca_pb2.CERTIFICATE_USE_SIGNATURE]
    assert event.level == ca_pb2.POLICY_LEVEL_TWO_STARS
    assert audit_actions(system, decision.card_request_id) == ["validation.request_validated"]
    assert audit_actions(system, account.account_id)[0] == "validation.account_created"


def test_the_password_is_nowhere_in_clear(system, validated):
    password = validated["otp"]
    for table in ("holder_accounts", "decisions", "outbox", "audit_log", "bus_requests",
                  "secret_questions"):
        (dump,) = rows(system, f"SELECT coalesce(string_agg(t::text, ''), '')"
                               f" FROM validation.{table} t")[0]
        assert password not in dump, f"clear password in validation.{table}"
    blobs = rows(system, "SELECT payload FROM validation.outbox UNION ALL"
                         " SELECT reply FROM validation.bus_requests")
    assert all(password.encode() not in bytes(blob) for (blob,) in blobs)
    assert password not in system.services["validation"].log()


def test_a_decision_is_final_and_a_retry_gives_the_first_reply(system, registry):
    holder = registry.holder("Paul", "Bernard")
    _, (card_request_id,) = registry.batch([holder])
    first = raw_call(system, "validation", "ValidateCardRequest",
                     validation_pb2.ValidateCardRequestRequest(card_request_id=card_request_id),
                     "client", "it-validate-once")
    again = raw_call(system, "validation", "ValidateCardRequest",
                     validation_pb2.ValidateCardRequestRequest(card_request_id=card_request_id),
                     "client", "it-validate-once")
    assert again == first
    assert envelope_pb2.Envelope.FromString(first).status == OK
    reply = validate(system, card_request_id)
    assert reply.status == PRECONDITION and "validated already" in reply.status_message
    reply = reject(system, card_request_id, "changed my mind")
    assert reply.status == PRECONDITION
    assert len(events(system, "request.validated", card_request_id)) == 1
    assert rows(system, "SELECT count(*) FROM validation.decisions WHERE card_request_id = %s",
                card_request_id)[0][0] == 1


def test_a_second_request_of_the_same_person_reuses_the_account(system, registry, validated):
    holder = validated["holder"]
    # enrollment takes a second request once the first is decided there.
    assert wait_state(system, validated["card_request_id"], E.CARD_REQUEST_STATE_VALIDATED), \
        "enrollment did not apply request.validated (does it follow validation's events?)"
    _, (card_request_id,) = registry.batch([holder])
    decision = ok(validate(system, card_request_id), validation_pb2.Decision)
    assert not decision.account_created
    assert decision.account_id == validated["account"].account_id
    assert len(events(system, "account.created", decision.account_id)) == 1
    assert rows(system, "SELECT count(*) FROM validation.holder_accounts WHERE person_id = %s",
                holder.person_id)[0][0] == 1


def test_only_submitted_requests_are_decided(system, registry):
    holder = registry.holder("Zoé", "Petit")
    _, (card_request_id,) = registry.batch([holder], submit=False)
    reply = validate(system, card_request_id)
    assert reply.status == PRECONDITION and "DRAFT" in reply.status_message
    reply = validate(system, "cr-unknown-0000")
    assert reply.status == NOT_FOUND


def test_an_incomplete_dossier_is_not_validated(system, registry):
    holder = registry.holder("Hugo", "Moreau")
    _, (card_request_id,) = registry.batch([holder])
    dossier = enrollment(system, "GetDossier", E.GetDossierRequest(
        dossier_id=holder.dossier_id), "operator", E.Dossier)
    identity = next(d for d in dossier.documents
                    if d.type == E.DOCUMENT_TYPE_IDENTITY_DOCUMENT)
    withdrawn = enrollment(system, "WithdrawDocument", E.WithdrawDocumentRequest(
        document_id=identity.document_id, reason="copie illisible"), "operator")
    if withdrawn.status != OK:
        pytest.skip(f"enrollment refuses a withdrawal after submission: {withdrawn.status_message}")
    reply = validate(system, card_request_id)
    assert reply.status == PRECONDITION and "no longer complete" in reply.status_message
    assert not rows(system, "SELECT 1 FROM validation.decisions WHERE card_request_id = %s",
                    card_request_id)
    # It can still be rejected, with the reason.
    ok(reject(system, card_request_id, "pièce d'identité illisible"), validation_pb2.Decision)


# --- rejection ----------------------------------------------------------------

def test_rejection_needs_a_reason_and_tells_enrollment(system, operators, registry):
    holder = registry.holder("Luc", "Roux")
    _, (card_request_id,) = registry.batch([holder])
    assert reject(system, card_request_id, "").status == INVALID
    decision = ok(reject(system, card_request_id, "signature du CGU absente; à refaire"),
                  validation_pb2.Decision)
    assert decision.outcome == REJECTED and not decision.account_id
    assert decision.reason == "signature du CGU absente; à refaire"
    event = validation_pb2.RequestRejected.FromString(
        events(system, "request.rejected", card_request_id)[0])
    assert event.reason == decision.reason
    assert event.decided_by_operator_id == operators["client"]
    # A rejection creates no account.
    assert not rows(system, "SELECT 1 FROM validation.holder_accounts WHERE person_id = %s",
                    holder.person_id)
    details = json.loads(rows(system, "SELECT details FROM validation.audit_log WHERE"
                                      " action = 'validation.request_rejected' AND subject = %s",
                              card_request_id)[0][0])
    assert details["reason"] == decision.reason


def test_batches_are_decided_whole(system, registry):
    holders = [registry.holder("Anne", "Leroy"), registry.holder("Marc", "Faure")]
    batch_id, ids = registry.batch(holders)
    reply = ok(validation(system, "ValidateBatch", validation_pb2.ValidateBatchRequest(
        batch_id=batch_id, note="lot complet")), validation_pb2.BatchDecisionReply)
    assert reply.batch_id == batch_id
    assert sorted(d.card_request_id for d in reply.decisions) == sorted(ids)
    assert all(d.outcome == VALIDATED and d.account_created for d in reply.decisions)
    # Nothing left to decide in it.
    again = validation(system, "ValidateBatch", validation_pb2.ValidateBatchRequest(
        batch_id=batch_id))
    assert again.status == PRECONDITION

    batch_id, ids = registry.batch([registry.holder("Rémi", "Girard"),
                                    registry.holder("Inès", "Blanc")])
    assert validation(system, "RejectBatch", validation_pb2.RejectBatchRequest(
        batch_id=batch_id)).status == INVALID
    reply = ok(validation(system, "RejectBatch", validation_pb2.RejectBatchRequest(
        batch_id=batch_id, reason="lot incomplet")), validation_pb2.BatchDecisionReply)
    assert [d.outcome for d in reply.decisions] == [REJECTED, REJECTED]


def test_pending_requests_and_decisions_are_listed(system, operators, registry):
    holder = registry.holder("Nina", "Lambert")
    batch_id, (card_request_id,) = registry.batch([holder])
    listed = ok(validation(system, "ListPendingRequests", validation_pb2.ListPendingRequestsRequest(
        batch_id=batch_id)), validation_pb2.ListPendingRequestsReply)
    assert [p.card_request.card_request_id for p in listed.requests] == [card_request_id]
    pending = listed.requests[0]
    assert pending.holder.person_id == holder.person_id
    assert pending.organisation.organisation_id == registry.org.organisation_id
    assert pending.dossier_check.complete
    assert not pending.entered_by_caller
    mine = ok(validation(system, "ListPendingRequests", validation_pb2.ListPendingRequestsRequest(
        batch_id=batch_id), "operator"), validation_pb2.ListPendingRequestsReply)
    assert mine.requests[0].entered_by_caller

    decision = ok(validate(system, card_request_id), validation_pb2.Decision)
    listed = ok(validation(system, "ListPendingRequests", validation_pb2.ListPendingRequestsRequest(
        batch_id=batch_id)), validation_pb2.ListPendingRequestsReply)
    assert not listed.requests
    got = ok(validation(system, "GetDecision", validation_pb2.GetDecisionRequest(
        card_request_id=card_request_id), "alice"), validation_pb2.Decision)
    assert got == decision
    page = ok(validation(system, "ListDecisions", validation_pb2.ListDecisionsRequest(
        limit=1), "bob"), validation_pb2.ListDecisionsReply)
    assert [d.card_request_id for d in page.decisions] == [card_request_id]   # newest first
    assert page.next_page_token
    rest = ok(validation(system, "ListDecisions", validation_pb2.ListDecisionsRequest(
        page_token=page.next_page_token, limit=100), "bob"), validation_pb2.ListDecisionsReply)
    assert card_request_id not in [d.card_request_id for d in rest.decisions]
    rejected = ok(validation(system, "ListDecisions", validation_pb2.ListDecisionsRequest(
        outcome=REJECTED), "bob"), validation_pb2.ListDecisionsReply)
    assert rejected.decisions and all(d.outcome == REJECTED for d in rejected.decisions)
    assert validation(system, "GetDecision", validation_pb2.GetDecisionRequest(
        card_request_id="cr-never"), "alice").status == NOT_FOUND


def test_enrollment_follows_the_decisions(system, registry):
    """enrollment applies "request.validated" and "request.rejected" from
    validation's outbox (its event consumer): the requests move on."""
    holders = [registry.holder("Yves", "Caron"), registry.holder("Lina", "Perrin")]
    _, (to_validate, to_reject) = registry.batch(holders)
    ok(validate(system, to_validate), validation_pb2.Decision)
    ok(reject(system, to_reject, "justificatif de domicile manquant"), validation_pb2.Decision)
    assert wait_state(system, to_validate, E.CARD_REQUEST_STATE_VALIDATED), \
        "enrollment did not apply request.validated (does it follow validation's events?)"
    assert wait_state(system, to_reject, E.CARD_REQUEST_STATE_REJECTED)
    request = enrollment(system, "GetCardRequest", E.GetCardRequestRequest(
        card_request_id=to_reject), "client", E.CardRequest)
    assert request.rejection_reason == "justificatif de domicile manquant"


# --- login ----------------------------------------------------------------------

def test_the_one_time_password_works_once_and_forces_a_change(system, validated):
    account = validated["account"]
    first = login(system, account.login.upper(), validated["otp"])    # ASCII case aside
    assert first.authenticated and first.must_change_password
    assert first.must_set_secret_questions
    assert len(first.password_change_token) == 64
    assert first.password_change_token_expires_unix <= time.time() + 901
    assert first.account.state == validation_pb2.HOLDER_ACCOUNT_STATE_PASSWORD_CHANGE_REQUIRED
    SECRETS.append(system.secret(first.password_change_token))
    # The token is kept only as a digest; the reply (which holds it) is not stored.
    (digest,) = rows(system, "SELECT change_token_sha256 FROM validation.holder_accounts"
                             " WHERE account_id = %s", account.account_id)[0]
    assert digest and digest != first.password_change_token
    for (reply,) in rows(system, "SELECT reply FROM validation.bus_requests"):
        assert first.password_change_token.encode() not in bytes(reply)
    # Second use: refused like any wrong password.
    second = login(system, account.login, validated["otp"])
    assert second == validation_pb2.LoginReply()

    # The new password must follow the rules; each refusal names its rule.
    token = first.password_change_token
    for weak, rule in (("short-pass1", "12 to 128"), ("Password2024!", "breached"),
                       ("azertyuiop123", "breached"),
                       (f"x-{account.login.split('@')[0]}-x", "local part")):
        reply = set_password(system, account.account_id, weak, token=token)
        assert reply.status == INVALID and rule in reply.status_message, reply.status_message
    reply = set_password(system, account.account_id, "une phrase assez longue", token="0" * 64)
    assert reply.status == DENIED
    changed = ok(set_password(system, account.account_id, "la mer au loin, grise et calme",
                              token=token), validation_pb2.HolderAccount)
    assert changed.state == validation_pb2.HOLDER_ACCOUNT_STATE_ACTIVE
    assert not changed.must_change_password and changed.password_changed_at_unix
    # The token worked once.
    assert set_password(system, account.account_id, "encore une autre phrase",
                        token=token).status == DENIED
    again = login(system, account.login, "la mer au loin, grise et calme")
    assert again.authenticated and not again.must_change_password
    assert not again.password_change_token
    actions = audit_actions(system, account.account_id)
    assert actions.count("validation.login") == 2
    assert "validation.password_changed" in actions
    assert "validation.password_change_refused" in actions
    assert events(system, "account.password_changed", account.account_id)


def test_a_login_reply_is_never_replayed(system, active):
    request = validation_pb2.LoginRequest(login=active["account"].login,
                                          password=active["password"])
    first = envelope_pb2.Envelope.FromString(
        raw_call(system, "validation", "Login", request, "portal", "it-login-once"))
    again = envelope_pb2.Envelope.FromString(
        raw_call(system, "validation", "Login", request, "portal", "it-login-once"))
    assert first.status == OK
    assert again.status == PRECONDITION and "served once" in again.status_message


def test_unknown_wrong_and_locked_logins_look_the_same(system, active):
    account, person_id = active["account"], active["holder"].person_id
    before = account_of(system, person_id).failed_logins
    unknown = login(system, "nobody@example.fr", "whatever it is")
    wrong = login(system, account.login, "not the password")
    assert unknown == wrong == validation_pb2.LoginReply()
    assert account_of(system, person_id).failed_logins == before + 1
    assert login(system, account.login, active["password"]).authenticated   # resets the count
    assert account_of(system, person_id).failed_logins == 0


def test_lockout_after_five_failures_then_unlock_and_expiry(system, active):
    account_id, name = active["account"].account_id, active["account"].login
    for attempt in range(5):
        assert not login(system, name, f"wrong password {attempt}").authenticated
    locked = account_of(system, active["holder"].person_id)
    assert locked.state == validation_pb2.HOLDER_ACCOUNT_STATE_LOCKED
    assert locked.failed_logins == 5 and locked.locked_until_unix > time.time()
    # Locked: even the right password is refused, and looks the same.
    assert login(system, name, active["password"]) == validation_pb2.LoginReply()
    changed = validation_pb2.HolderAccountChanged.FromString(
        events(system, "account.locked", account_id)[-1])
    assert changed.state == validation_pb2.HOLDER_ACCOUNT_STATE_LOCKED
    # The service desk unlocks, with a reason.
    assert validation(system, "UnlockAccount", validation_pb2.UnlockAccountRequest(
        account_id=account_id), "alice").status == INVALID
    unlocked = ok(validation(system, "UnlockAccount", validation_pb2.UnlockAccountRequest(
        account_id=account_id, reason="holder called, identity checked"), "alice"),
        validation_pb2.HolderAccount)
    assert unlocked.state == validation_pb2.HOLDER_ACCOUNT_STATE_ACTIVE
    assert unlocked.failed_logins == 0
    assert login(system, name, active["password"]).authenticated
    assert validation(system, "UnlockAccount", validation_pb2.UnlockAccountRequest(
        account_id=account_id, reason="again"), "alice").status == PRECONDITION
    # Locked again; this time the lock runs out by itself.
    for attempt in range(5):
        login(system, name, f"wrong again {attempt}")
    assert not login(system, name, active["password"]).authenticated
    time.sleep(LOCKOUT_S + 1)
    assert login(system, name, active["password"]).authenticated
    actions = audit_actions(system, account_id)
    assert actions.count("validation.account_locked") == 2
    assert "validation.account_unlocked" in actions
    assert events(system, "account.unlocked", account_id)


def test_a_wrong_current_password_counts_toward_the_lockout(system, active):
    account_id = active["account"].account_id
    before = account_of(system, active["holder"].person_id).failed_logins
    reply = set_password(system, account_id, "une toute nouvelle phrase",
                         current="not the current password")
    assert reply.status == DENIED
    # Counted and audited although the refusal rolled its own transaction back.
    assert account_of(system, active["holder"].person_id).failed_logins == before + 1
    assert "validation.password_change_refused" in audit_actions(system, account_id)
    assert login(system, active["account"].login, active["password"]).authenticated


# --- secret questions -------------------------------------------------------------

QUESTIONS = [
    ("Nom de jeune fille de votre mère ?", "Élodie  Dupré"),
    ("Ville de naissance ?", "Saint-Étienne"),
    ("Premier animal de compagnie ?", "Rex"),
    ("Rue de votre école primaire ?", "rue de l’Église"),
    ("Plat préféré ?", "Bœuf bourguignon"),
]


def test_secret_questions_need_five_and_store_hashes_only(system, active):
    account_id = active["account"].account_id

    def set_questions(pairs):
        for _, answer in pairs:
            SECRETS.append(system.secret(answer))
        return validation(system, "SetSecretQuestions", validation_pb2.SetSecretQuestionsRequest(
            account_id=account_id, pairs=[validation_pb2.SecretQuestionAnswer(
                question=q, answer=a) for q, a in pairs]), "portal")

    reply = set_questions(QUESTIONS[:4])
    assert reply.status == INVALID and "pairs" in reply.status_message
    reply = set_questions(QUESTIONS[:4] + [("ville de NAISSANCE ?", "Lyon")])
    assert reply.status == INVALID and "repeats" in reply.status_message
    reply = set_questions(QUESTIONS[:4] + [("Plat ?", "   ")])
    assert reply.status == INVALID and "pairs[4].answer" in reply.status_message
    assert count(system, "secret_questions") == 0
    account = ok(set_questions(QUESTIONS), validation_pb2.HolderAccount)
    assert account.secret_question_count == 5
    stored = rows(system, "SELECT question, answer_hash FROM validation.secret_questions"
                          " WHERE account_id = %s ORDER BY question_id", account_id)
    assert [q for q, _ in stored] == [q for q, _ in QUESTIONS]
    assert all(h.startswith("$argon2id$") for _, h in stored)
    # The hash is of the normalised answer.
    assert nacl.pwhash.verify(stored[0][1].encode(), b"elodie dupre")
    questions = ok(validation(system, "GetSecretQuestions", validation_pb2.GetSecretQuestionsRequest(
        person_id=active["holder"].person_id), "revocation"), validation_pb2.SecretQuestions)
    assert [(q.question_id, q.question) for q in questions.questions] == [
        (i + 1, q) for i, (q, _) in enumerate(QUESTIONS)]
    assert "Rex" not in questions.SerializeToString().decode("utf-8", "replace")
    assert "validation.secret_questions_set" in audit_actions(system, account_id)
    assert login(system, active["account"].login, active["password"]).must_set_secret_questions \
        is False


def verify(system, person_id, answers):
    for _, answer in answers:
        SECRETS.append(system.secret(answer))
    return validation(system, "VerifyAnswers", validation_pb2.VerifyAnswersRequest(
        person_id=person_id, answers=[validation_pb2.SecretAnswer(question_id=i, answer=a)
                                      for i, a in answers]), "revocation")


def test_verify_answers_matches_normalised_answers_all_or_nothing(system, active):
    person_id = active["holder"].person_id
    account_id = active["account"].account_id
    if not rows(system, "SELECT 1 FROM validation.secret_questions WHERE account_id = %s",
                account_id):
        pytest.skip("needs the secret questions set by the previous test")
    # As the phone operator types them: other case, no accents, other spaces.
    matched = ok(verify(system, person_id, [(1, " ELODIE dupre "), (2, "saint-etienne"),
                                            (4, "RUE DE L'EGLISE"), (5, "boeuf   Bourguignon")]),
                 validation_pb2.VerifyAnswersReply)
    assert matched.all_match and matched.answers_checked == 4
    one_wrong = ok(verify(system, person_id, [(1, "elodie dupre"), (3, "Médor")]),
                   validation_pb2.VerifyAnswersReply)
    assert not one_wrong.all_match and one_wrong.answers_checked == 2
    assert verify(system, person_id, [(9, "x")]).status == INVALID
    assert verify(system, person_id, [(1, "a"), (1, "b")]).status == INVALID
    checks = rows(system, "SELECT details FROM validation.audit_log WHERE"
                          " action = 'validation.answers_checked' AND subject = %s ORDER BY seq",
                  account_id)
    assert [json.loads(d)["all_match"] for (d,) in checks] == [True, False]
    assert rows(system, "SELECT answer_failures FROM validation.holder_accounts"
                        " WHERE account_id = %s", account_id)[0][0] == 1
    # Only services ask (revocation by phone); an operator may not.
    reply = validation(system, "VerifyAnswers", validation_pb2.VerifyAnswersRequest(
        person_id=person_id, answers=[validation_pb2.SecretAnswer(question_id=3, answer="Rex")]),
        "alice")
    assert reply.status == DENIED


# --- the service desk's reset -------------------------------------------------------

def test_reset_password_mails_a_new_one_time_password(system, registry):
    holder = registry.holder("Camille", "Durand")
    _, (card_request_id,) = registry.batch([holder])
    account_id = ok(validate(system, card_request_id), validation_pb2.Decision).account_id
    first, _ = one_time_password(system, account_id)
    assert validation(system, "ResetPassword", validation_pb2.ResetPasswordRequest(
        account_id=account_id), "alice").status == INVALID
    assert validation(system, "ResetPassword", validation_pb2.ResetPasswordRequest(
        account_id=account_id, reason="lost mail"), "client").status == DENIED
    reset = ok(validation(system, "ResetPassword", validation_pb2.ResetPasswordRequest(
        account_id=account_id, reason="holder identified by phone, mail lost"), "alice"),
        validation_pb2.HolderAccount)
    assert reset.state == validation_pb2.HOLDER_ACCOUNT_STATE_PENDING_FIRST_LOGIN
    second, issued = one_time_password(system, account_id, "account.password_reset")
    assert second != first and issued.login == holder.email
    assert not login(system, holder.email, first).authenticated
    assert login(system, holder.email, second).must_change_password
    assert "validation.password_reset" in audit_actions(system, account_id)


# --- the trail ------------------------------------------------------------------------

def test_the_audit_trail_holds_each_step_and_verifies(system):
    actions = set(audit_actions(system))
    for action in ("validation.request_validated", "validation.request_rejected",
                   "validation.account_created", "validation.four_eyes_refused",
                   "validation.login", "validation.login_failed", "validation.account_locked",
                   "validation.account_unlocked", "validation.password_changed",
                   "validation.secret_questions_set", "validation.answers_checked",
                   "validation.password_reset", "bus.permission_denied"):
        assert action in actions, f"{action} missing from the audit trail"
    result = system.cli("--json", "audit", "verify", "--service", "validation")
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_secret_is_in_any_file_the_system_wrote(system):
    """Passwords, one-time passwords, change tokens and answers: not in the
    logs, not in the database cluster's files (tables, WAL), anywhere."""
    assert SECRETS
    needles = {s.encode() for s in SECRETS if len(s) >= 8}
    for path in system.root.rglob("*"):
        if path.is_file() and path.stat().st_size < 64_000_000:
            data = path.read_bytes()
            for needle in needles:
                assert needle not in data, f"a secret is in {path}"
