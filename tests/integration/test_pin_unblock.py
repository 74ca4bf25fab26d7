"""PIN unblock (docs/perso.md, "PIN unblock"): a virtual card personalised
through the real PC/SC stack (pcscd + vpcd + tools/vcard) with the real
enrollment, validation, ca and perso, its PIN blocked by three wrong VERIFY
over pyscard, the PUK released once through the bus (as the portal, and by
a service-desk operator on the phone through the CLI) after the holder's
secret questions, the PIN unblocked with RESET RETRY COUNTER and the new
PIN verified; then the card's next contact (ChangePuk) changes the PUK: the
released one stops working, the next version works.

The fixtures come from test_perso.py (same system, ceremony and helpers);
the PUKs are recomputed here from the documented derivation."""
import hashlib
import hmac
import json
import os
import re
import subprocess
import uuid as uuidlib

import pytest

from pcsc import CardSession
from tessera.v1 import envelope_pb2, perso_pb2, validation_pb2
from tessera.v1 import enrollment_pb2
from test_perso import (MASTER_KEY, account_of, activate, ca_active, call, count,  # noqa: F401
                        mailer, new_card, operators, pcsc, perso, personalised_job, registry,
                        rows, system, validated_request)
from test_renewal import renewal_of, submit_and_validate
from test_portal import Browser
from test_validation import QUESTIONS, ok, one_time_password
from tsrtest import CLI, Portal

P = perso_pb2
OK = envelope_pb2.STATUS_OK
INVALID = envelope_pb2.STATUS_INVALID_ARGUMENT
PRECONDITION = envelope_pb2.STATUS_FAILED_PRECONDITION
NOT_FOUND = envelope_pb2.STATUS_NOT_FOUND
DENIED = envelope_pb2.STATUS_PERMISSION_DENIED
ANSWERS = {i + 1: answer for i, (_, answer) in enumerate(QUESTIONS)}


def puk_of(card_uuid, version):
    """docs/perso.md: v0 is the personalisation's PUK (label v1); version n
    > 0 is label v2 with n as 4 bytes big-endian."""
    guid = uuidlib.UUID(card_uuid).bytes
    message = (b"tessera/perso/puk/v1" + guid if version == 0
               else b"tessera/perso/puk/v2" + guid + version.to_bytes(4, "big"))
    mac = hmac.new(MASTER_KEY, message, hashlib.sha256).digest()
    return f"{int.from_bytes(mac[:8], 'big') % 10 ** 8:08d}"


def pad(value):
    return value.encode() + b"\xff" * (8 - len(value))


def verify_pin(session, pin):
    session.select_piv()
    return session.transmit(bytes([0x00, 0x20, 0x00, 0x80, 8]) + pad(pin))[1]


def reset_retry(session, puk, new_pin):
    session.select_piv()
    return session.transmit(bytes([0x00, 0x2C, 0x00, 0x80, 16]) + pad(puk) + pad(new_pin))[1]


def audit_actions(system, card_uuid):
    return [r[0] for r in rows(system, "SELECT action FROM perso.audit_log WHERE subject = %s"
                                       " ORDER BY seq", card_uuid)]


def start_release(system, card_uuid, identity="portal", **who):
    return perso(system, "StartPukRelease", P.StartPukReleaseRequest(card_uuid=card_uuid, **who),
                 identity)


def release(system, challenge, answers, identity="portal", request_id=None, **who):
    return perso(system, "ReleasePuk", P.ReleasePukRequest(
        challenge_id=challenge.challenge_id, card_uuid=challenge.card_uuid,
        answers=[validation_pb2.SecretAnswer(question_id=i, answer=a) for i, a in answers],
        client_address="192.0.2.8", user_agent="pytest", **who), identity,
        request_id=request_id)


def cli(system, *args, identity="persoop", stdin=""):
    """The tessera CLI with stdin (answers stay off the command line)."""
    env = dict(os.environ, TSR_CERT=str(system.keys / f"{identity}.cert"),
               TSR_KEYRING_DIR=str(system.keyring))
    for name, s in system.services.items():
        env[f"TSR_{name.upper()}_ENDPOINT"] = s.endpoint
    return subprocess.run([str(CLI), "--json", *args], env=env, input=stdin, capture_output=True,
                          text=True, timeout=60)


@pytest.fixture(scope="module")
def holder_card(system, pcsc, registry, ca_active, tmp_path_factory):
    """A personalised card whose holder logged in once, set their own
    password and their five secret questions (as the portal does)."""
    work = tmp_path_factory.mktemp("unblock-card")
    card_request_id, holder = validated_request(system, registry, "Lucie", "Morel")
    card = new_card(pcsc, work, "unblock")
    job = personalised_job(system, pcsc, card_request_id)
    pin, code, _ = mailer(system, job.card_uuid)
    account_id = account_of(system, holder.person_id)
    otp, _ = one_time_password(system, account_id)
    account = ok(call(system, "validation", "GetHolderAccount",
                      validation_pb2.GetHolderAccountRequest(account_id=account_id), "client"),
                 validation_pb2.HolderAccount)
    login = ok(call(system, "validation", "Login", validation_pb2.LoginRequest(
        login=account.login, password=system.secret(otp), client_address="192.0.2.8",
        user_agent="pytest"), "portal"), validation_pb2.LoginReply)
    password = system.secret("une très longue phrase de passe")
    ok(call(system, "validation", "SetPassword", validation_pb2.SetPasswordRequest(
        account_id=account_id, password_change_token=login.password_change_token,
        new_password=password, client_address="192.0.2.8", user_agent="pytest"), "portal"),
        validation_pb2.HolderAccount)
    for _, answer in QUESTIONS:
        system.secret(answer)
    ok(call(system, "validation", "SetSecretQuestions", validation_pb2.SetSecretQuestionsRequest(
        account_id=account_id, pairs=[validation_pb2.SecretQuestionAnswer(question=q, answer=a)
                                      for q, a in QUESTIONS]), "portal"),
        validation_pb2.HolderAccount)
    for version in range(6):
        system.secret(puk_of(job.card_uuid, version))
    yield dict(card_uuid=job.card_uuid, pin=pin, account_id=account_id,
               person_id=holder.person_id, card=card, login=account.login, password=password,
               code=code, holder=holder, card_request_id=card_request_id)
    card.remove(wait=False)


def test_a_blocked_pin_is_unblocked_with_the_released_puk(system, pcsc, holder_card):
    card_uuid, account_id = holder_card["card_uuid"], holder_card["account_id"]
    with CardSession(pcsc) as session:
        assert verify_pin(session, holder_card["pin"]) == 0x9000
        wrong = system.secret("00000000" if holder_card["pin"] != "00000000" else "11111111")
        assert [verify_pin(session, wrong) for _ in range(3)] == [0x63C2, 0x63C1, 0x63C0]
        assert verify_pin(session, holder_card["pin"]) == 0x6983       # blocked

    # The portal, for the logged-in holder: 4 questions at level **, picked
    # among the holder's 5.
    challenge = ok(start_release(system, card_uuid, account_id=account_id), P.PukChallenge)
    assert challenge.channel == P.PUK_RELEASE_CHANNEL_PORTAL
    assert len(challenge.questions) == 4 and challenge.attempts_left == 3
    asked = [q.question_id for q in challenge.questions]
    assert len(set(asked)) == 4 and set(asked) <= set(ANSWERS)
    texts = dict(QUESTIONS)
    assert all(q.question in texts for q in challenge.questions)

    # One wrong answer: refused, counted; the challenge is spent.
    answers = [(i, ANSWERS[i]) for i in asked]
    wrong_answers = answers[:-1] + [(asked[-1], "pas du tout")]
    result = ok(release(system, challenge, wrong_answers, account_id=account_id),
                P.ReleasePukReply)
    assert not result.released and not result.puk
    assert (result.failed_attempts, result.attempts_left) == (1, 2)
    again = release(system, challenge, answers, account_id=account_id)
    assert again.status == PRECONDITION and "answered already" in again.status_message

    # Right answers: the PUK of version 0, once.
    challenge = ok(start_release(system, card_uuid, account_id=account_id), P.PukChallenge)
    assert challenge.failed_attempts == 1
    answers = [(q.question_id, ANSWERS[q.question_id]) for q in challenge.questions]
    request_id = f"it-puk-{uuidlib.uuid4().hex[:8]}"
    result = ok(release(system, challenge, answers, account_id=account_id,
                        request_id=request_id), P.ReleasePukReply)
    puk = system.secret(result.puk)
    assert result.released and result.puk_version == 0 and puk == puk_of(card_uuid, 0)
    retried = release(system, challenge, answers, account_id=account_id, request_id=request_id)
    assert retried.status == PRECONDITION and "served once" in retried.status_message
    assert puk not in retried.SerializeToString().decode("latin-1")

    # The holder unblocks: PUK + new PIN, then the new PIN works.
    new_pin = system.secret("24681357")
    with CardSession(pcsc) as session:
        assert reset_retry(session, puk, new_pin) == 0x9000
        assert verify_pin(session, new_pin) == 0x9000

    # Released once: a second release is refused until the PUK changed.
    second = start_release(system, card_uuid, account_id=account_id)
    assert second.status == PRECONDITION and "released" in second.status_message \
        and "has not been changed" in second.status_message

    # On record: who, when, channel; audited; never the PUK.
    (version, channel, account, changed), = rows(
        system, "SELECT puk_version, channel, account_id, changed_at FROM perso.puk_releases"
                " WHERE card_uuid = %s", card_uuid)
    assert (version, channel, account, changed) == (0, 1, account_id, None)
    actions = audit_actions(system, card_uuid)
    assert actions.count("perso.puk_challenge_started") == 2
    assert actions.count("perso.puk_release_failed") == 1
    assert actions.count("perso.puk_released") == 1
    details = " ".join(r[0] for r in rows(system, "SELECT details FROM perso.audit_log"))
    assert puk not in details and all(a not in details for _, a in QUESTIONS)
    released = rows(system, "SELECT payload FROM perso.outbox WHERE type = 'puk.released'"
                            " AND subject = %s", card_uuid)
    event = P.PukReleased.FromString(bytes(released[0][0]))
    assert event.channel == P.PUK_RELEASE_CHANNEL_PORTAL and event.puk_version == 0


def test_the_next_card_contact_changes_the_released_puk(system, pcsc, holder_card):
    card_uuid = holder_card["card_uuid"]
    reply = ok(perso(system, "ChangePuk", P.ChangePukRequest(
        card_uuid=card_uuid, reader_name=pcsc.reader_name)), P.ChangePukReply)
    assert reply.changed and reply.puk_version == 1
    old, new = puk_of(card_uuid, 0), puk_of(card_uuid, 1)
    new_pin = system.secret("13572468")
    with CardSession(pcsc) as session:
        # The released PUK no longer works (a PUK try spent), the next one
        # does (and gives the tries back).
        assert reset_retry(session, old, new_pin) == 0x63C2
        assert reset_retry(session, new, new_pin) == 0x9000
        assert verify_pin(session, new_pin) == 0x9000
    holder_card["pin"] = new_pin
    (changed_to,), = rows(system, "SELECT changed_to_version FROM perso.puk_releases"
                                  " WHERE card_uuid = %s", card_uuid)
    assert changed_to == 1
    assert "perso.puk_changed" in audit_actions(system, card_uuid)
    event = P.PukChanged.FromString(bytes(rows(
        system, "SELECT payload FROM perso.outbox WHERE type = 'puk.changed' AND subject = %s",
        card_uuid)[0][0]))
    assert (event.from_version, event.to_version) == (0, 1)
    # Nothing awaits now: a contact sends nothing; a new release may start.
    again = ok(perso(system, "ChangePuk", P.ChangePukRequest(
        card_uuid=card_uuid, reader_name=pcsc.reader_name)), P.ChangePukReply)
    assert not again.changed and again.puk_version == 1


def test_the_service_desk_releases_by_phone_through_the_cli(system, pcsc, holder_card):
    card_uuid, person_id = holder_card["card_uuid"], holder_card["person_id"]
    started = cli(system, "perso", "puk-challenge", card_uuid, "--person", person_id,
                  identity="desk")
    assert started.returncode == 0, started.stderr
    header, *questions = [json.loads(line) for line in started.stdout.splitlines()]
    assert len(questions) == 4
    answers = "".join(f"{q['question_id']}={ANSWERS[q['question_id']]}\n" for q in questions)
    # Another operator may not answer the desk's challenge.
    other = cli(system, "perso", "puk-release", card_uuid, "--person", person_id,
                "--challenge", header["challenge_id"], identity="persoop", stdin=answers)
    assert other.returncode != 0 and "permission" in (other.stdout + other.stderr).lower()
    done = cli(system, "perso", "puk-release", card_uuid, "--person", person_id,
               "--challenge", header["challenge_id"], identity="desk", stdin=answers)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["released"] and result["puk"] == puk_of(card_uuid, 1)
    assert result["puk_version"] == 1
    (channel, operator_id), = rows(
        system, "SELECT channel, operator_id FROM perso.puk_releases WHERE card_uuid = %s"
                " AND puk_version = 1", card_uuid)
    assert channel == 2 and operator_id
    changed = cli(system, "perso", "change-puk", card_uuid, "--reader", pcsc.reader_name)
    assert changed.returncode == 0, changed.stderr
    assert json.loads(changed.stdout)["puk_version"] == 2
    with CardSession(pcsc) as session:
        assert reset_retry(session, puk_of(card_uuid, 1), holder_card["pin"]) == 0x63C2
        assert reset_retry(session, puk_of(card_uuid, 2), holder_card["pin"]) == 0x9000


@pytest.fixture(scope="module")
def portal(system):
    p = Portal(system).start()
    yield p
    p.stop()


def journal(portal):
    return [json.loads(line) for line in portal.audit_path.read_text().splitlines()]


def test_the_portal_page_asks_the_questions_and_shows_the_puk_once(system, pcsc, holder_card,
                                                                   portal):
    card_uuid = holder_card["card_uuid"]
    browser = Browser(portal, language="en")
    assert browser.login(holder_card["login"], holder_card["password"])[0] == 303
    status, _, body = browser.get("/cards")
    assert status == 200 and f'href="/unblock?card={card_uuid}"' in body

    def form():
        status, _, page = browser.get(f"/unblock?card={card_uuid}")
        assert status == 200 and "Unblock the PIN" in page, page
        ids = re.search(r'name="question_ids" value="([0-9,]+)"', page).group(1).split(",")
        assert len(ids) == 4
        assert all(f'name="answer_{i}"' in page for i in ids)
        return dict(card_uuid=card_uuid,
                    challenge_id=re.search(r'name="challenge_id" value="([^"]+)"', page).group(1),
                    question_ids=",".join(ids),
                    csrf_token=re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page)
                    .group(1)), [int(i) for i in ids]

    fields, ids = form()
    # Without the session's CSRF token: refused before perso is asked.
    refused = browser.post("/unblock", dict(fields, **{f"answer_{i}": ANSWERS[i] for i in ids}),
                           csrf="0" * 64)
    assert refused[0] == 403
    # Wrong answers: counted, tries left shown.
    status, _, page = browser.post("/unblock", dict(
        fields, **{f"answer_{i}": "faux" for i in ids}), csrf=False)
    assert status == 200 and "Wrong answers" in page and "Attempts left: 2" in page
    # Right answers: the PUK, once, with what to do.
    fields, ids = form()
    status, headers, page = browser.post("/unblock", dict(
        fields, **{f"answer_{i}": ANSWERS[i] for i in ids}), csrf=False)
    puk = puk_of(card_uuid, 2)
    assert status == 200 and f'<code id="puk">{puk}</code>' in page, page
    assert "shown once" in page and headers.get("Cache-Control") == "no-store"
    # Released once: the page now says why not.
    status, _, page = browser.get(f"/unblock?card={card_uuid}")
    assert status == 409 and "has not been changed" in page
    # French too.
    french = Browser(portal, language="fr")
    french.cookies = dict(browser.cookies)
    assert "Débloquer la carte" in french.get("/cards")[2]
    # The portal's journal has the attempts, never the PUK nor the answers.
    entries = [e for e in journal(portal) if e["event"] == "portal.pin_unblock"]
    assert [e["outcome"] for e in entries][-3:] == ["failed", "ok", "refused"]
    text = portal.audit_path.read_text()
    assert puk not in text and all(a not in text for _, a in QUESTIONS)
    # The card's next contact moves it on.
    reply = ok(perso(system, "ChangePuk", P.ChangePukRequest(
        card_uuid=card_uuid, reader_name=pcsc.reader_name)), P.ChangePukReply)
    assert reply.changed and reply.puk_version == 3


def test_a_renewal_on_the_card_changes_a_released_puk_first(system, pcsc, registry, holder_card):
    """A later job on a card perso knows is a card contact too."""
    card_uuid, account_id = holder_card["card_uuid"], holder_card["account_id"]
    assert ok(activate(system, card_uuid, account_id, holder_card["code"]),
              P.ActivateCardReply).activated
    challenge = ok(start_release(system, card_uuid, account_id=account_id), P.PukChallenge)
    result = ok(release(system, challenge, [(q.question_id, ANSWERS[q.question_id])
                                            for q in challenge.questions],
                        account_id=account_id), P.ReleasePukReply)
    assert result.released and result.puk_version == 3
    made = ok(renewal_of(system, registry, holder_card["holder"],
                         holder_card["card_request_id"]), enrollment_pb2.CardRequest)
    submit_and_validate(system, made)
    job = personalised_job(system, pcsc, made.card_request_id, holder_pin=holder_card["pin"])
    select = next(s for s in job.steps if s.step == P.PERSO_STEP_SELECT_APPLICATION)
    assert "the released PUK changed" in select.detail
    (version,), = rows(system, "SELECT puk_version FROM perso.cards WHERE card_uuid = %s",
                       card_uuid)
    assert version == 4
    with CardSession(pcsc) as session:
        assert reset_retry(session, puk_of(card_uuid, 3), holder_card["pin"]) == 0x63C2
        assert reset_retry(session, puk_of(card_uuid, 4), holder_card["pin"]) == 0x9000
    assert count(system, "perso.audit_log", "action = 'perso.puk_changed' AND subject = %s"
                 " AND actor = 'perso.runner'", card_uuid) == 1


def test_a_change_whose_answer_was_lost_is_recognised(system, pcsc, holder_card):
    """The card has the next PUK already (a contact whose answer was lost):
    ChangePuk tries the new PUK in place of the refused one, and the try
    the refusal spent is given back."""
    card_uuid, person_id = holder_card["card_uuid"], holder_card["person_id"]
    challenge = ok(start_release(system, card_uuid, "desk", person_id=person_id),
                   P.PukChallenge)
    assert challenge.channel == P.PUK_RELEASE_CHANNEL_PHONE
    result = ok(release(system, challenge, [(q.question_id, ANSWERS[q.question_id])
                                            for q in challenge.questions], "desk",
                        person_id=person_id), P.ReleasePukReply)
    assert result.released and result.puk_version == 4
    with CardSession(pcsc) as session:
        session.select_piv()
        data = pad(puk_of(card_uuid, 4)) + pad(puk_of(card_uuid, 5))
        assert session.transmit(bytes([0x00, 0x24, 0x00, 0x81, 16]) + data)[1] == 0x9000
    reply = ok(perso(system, "ChangePuk", P.ChangePukRequest(
        card_uuid=card_uuid, reader_name=pcsc.reader_name)), P.ChangePukReply)
    assert reply.changed and reply.puk_version == 5
    with CardSession(pcsc) as session:
        # Three tries again: a wrong PUK leaves two.
        assert reset_retry(session, "99999999", holder_card["pin"]) == 0x63C2
        assert reset_retry(session, puk_of(card_uuid, 5), holder_card["pin"]) == 0x9000


def test_bad_input_names_the_field_and_changes_nothing(system, holder_card):
    card_uuid, account_id = holder_card["card_uuid"], holder_card["account_id"]
    before = count(system, "perso.puk_challenges")
    cases = [
        (P.StartPukReleaseRequest(card_uuid="nope", account_id=account_id), "portal",
         INVALID, "card_uuid"),
        (P.StartPukReleaseRequest(card_uuid=card_uuid), "portal", INVALID, "account_id"),
        (P.StartPukReleaseRequest(card_uuid=card_uuid, account_id=account_id,
                                  person_id=holder_card["person_id"]), "portal", INVALID,
         "person_id"),
        (P.StartPukReleaseRequest(card_uuid=card_uuid, account_id=account_id), "desk",
         INVALID, "account_id"),
        (P.StartPukReleaseRequest(card_uuid=card_uuid, account_id="someone-else"), "portal",
         NOT_FOUND, "no card"),
        (P.StartPukReleaseRequest(card_uuid=card_uuid, person_id=holder_card["person_id"]),
         "persoop", DENIED, ""),
    ]
    for message, identity, status, field in cases:
        reply = perso(system, "StartPukRelease", message, identity)
        assert reply.status == status and field in reply.status_message, reply.status_message
    bad_release = perso(system, "ReleasePuk", P.ReleasePukRequest(
        challenge_id="pk-x", card_uuid=card_uuid, account_id=account_id), "portal")
    assert bad_release.status == INVALID and "answers" in bad_release.status_message
    long_answer = perso(system, "ReleasePuk", P.ReleasePukRequest(
        challenge_id="pk-x", card_uuid=card_uuid, account_id=account_id,
        answers=[validation_pb2.SecretAnswer(question_id=1, answer="x" * 201)]), "portal")
    assert long_answer.status == INVALID and "answers[0]" in long_answer.status_message
    unknown = perso(system, "ChangePuk", P.ChangePukRequest(
        card_uuid=str(uuidlib.uuid4()), reader_name="Virtual PCD 00 00"))
    assert unknown.status == NOT_FOUND
    assert count(system, "perso.puk_challenges") == before
    # The other account's try was kept.
    assert "perso.puk_release_not_holder" in audit_actions(system, card_uuid)


def test_three_wrong_answer_sets_lock_releases(system, holder_card):
    card_uuid, account_id = holder_card["card_uuid"], holder_card["account_id"]
    results = []
    for _ in range(3):
        challenge = ok(start_release(system, card_uuid, account_id=account_id), P.PukChallenge)
        wrong = [(q.question_id, "faux") for q in challenge.questions]
        results.append(ok(release(system, challenge, wrong, account_id=account_id),
                          P.ReleasePukReply))
    assert [(r.released, r.failed_attempts, r.attempts_left) for r in results] == [
        (False, 1, 2), (False, 2, 1), (False, 3, 0)]
    assert results[-1].locked_until_unix > 0
    locked = start_release(system, card_uuid, account_id=account_id)
    assert locked.status == PRECONDITION and "locked" in locked.status_message
    assert rows(system, "SELECT count(*) FROM perso.outbox WHERE type = 'puk_release.locked'"
                        " AND subject = %s", card_uuid)[0][0] == 1
    assert "perso.puk_release_refused_locked" in audit_actions(system, card_uuid)
    assert count(system, "perso.puk_releases", "card_uuid = %s AND changed_at IS NULL",
                 card_uuid) == 0
