"""Encryption certificates with key escrow and recovery (issue 13), on the
real stack: PostgreSQL, enrollment, validation, ca (SoftHSM2), perso, and a
virtual PIV card in a private pcscd with vpcd.

The proof: a holder's card is personalised with an encryption key that
perso made, escrowed and imported into 9D (Yubico's IMPORT ASYMMETRIC
KEY); `openssl cms -encrypt` encrypts a message to the holder's
encryption certificate; the card is "lost" (its state deleted); two
distinct recovery officers approve the recovery; the PKCS#12 delivered,
opened with the password that went sealed to mail, decrypts the old
message with `openssl cms -decrypt`. A single officer, an officer who also
holds an operator role, and the requester cannot get it; no profile lets
ca certify an escrowed signature or authentication key. Key history: the
holder's second card gets a second escrowed key, and a later recovery
returns both, each decrypting the mail of its time. Renewal: on the same
card a new escrowed key overwrites 9D (the card opens mail to the new
certificate, no longer the old; the old key is still recovered), and the
old encryption certificate is superseded at activation, on the same card
as on a new one."""
import time
import json
import subprocess

import nacl.public
import pytest
from cryptography.hazmat.primitives import hashes, keywrap
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF

from tessera.v1 import ca_pb2, enrollment_pb2, envelope_pb2, perso_pb2
from pcsc import CardSession
from test_perso import (account_of, activate, apdu_index, call, ca_active,  # noqa: F401
                        ca_status, mailer, new_card, operators, pcsc, perso, perso_system,
                        personalised_job, registry, rows, run, run_job, step_names)
from test_renewal import renewal_of, submit_and_validate
from test_validation import mail_open, ok, validate, wait_state
from smtp_sink import SmtpSink

P = perso_pb2
OK = envelope_pb2.STATUS_OK
INVALID = envelope_pb2.STATUS_INVALID_ARGUMENT
DENIED = envelope_pb2.STATUS_PERMISSION_DENIED
PRECONDITION = envelope_pb2.STATUS_FAILED_PRECONDITION
EXISTS = envelope_pb2.STATUS_ALREADY_EXISTS
OFFICERS = ["rec1", "rec2", "rec3"]
RECOVERY_KEY = nacl.public.PrivateKey.generate()


def recovery_env(s):
    """perso's escrow settings: the authority's public key, its private key file."""
    recovery = s.root / "recovery.key"
    recovery.write_text(bytes(RECOVERY_KEY).hex() + "\n")
    recovery.chmod(0o600)
    s.secret(bytes(RECOVERY_KEY).hex())
    return {"TSR_ROLE_CACHE_MS": "200",
            "TSR_PERSO_RECOVERY_PUBLIC_KEY": bytes(RECOVERY_KEY.public_key).hex(),
            "TSR_PERSO_RECOVERY_KEY_FILE": str(recovery)}


@pytest.fixture(scope="module")
def system(pcsc):
    """perso_system, and mail with a real SMTP server (the password's channel)."""
    started = perso_system(recovery_env, OFFICERS)
    s = next(started)
    sink = SmtpSink(s.root / "smtp", s.port_base + 209).start()
    try:
        password_file = s.root / "smtp-password"
        password_file.write_text(sink.password + "\n")
        s.secret(sink.password)
        s.service_env["mail"] = {
            "TSR_SMTP_URL": f"smtp://127.0.0.1:{sink.port}", "TSR_SMTP_STARTTLS": "required",
            "TSR_SMTP_CA_FILE": str(sink.cert), "TSR_SMTP_USER": sink.user,
            "TSR_SMTP_PASSWORD_FILE": str(password_file),
            "TSR_SMTP_FROM": "tessera <ca@tessera.test>", "TSR_MAIL_KEY_DIR": str(s.root / "mail-keys"),
            "TSR_MAIL_RETRY_BASE_MS": "200", "TSR_MAIL_RETRY_MAX_MS": "1000",
            "TSR_MAIL_POLL_MS": "100", "TSR_MAIL_SIGNER_RETRY_MS": "500"}
        s.services["mail"].start()
        s.sink = sink
        yield s
    finally:
        sink.stop()
        next(started, None)


@pytest.fixture(scope="module")
def officers(system, operators):
    return {name: system.add_operator(name, "recovery-officer") for name in OFFICERS}


def openssl(*args, input=None):
    result = subprocess.run(["openssl", *args], capture_output=True, input=input)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def pem(der):
    return openssl("x509", "-inform", "DER", "-outform", "PEM", input=der)


def encrypted_mail(work, name, text, cert, outform="PEM"):
    """text written to work/<name>.txt and encrypted to cert with openssl
    cms into work/<name>.p7m: (message path, encrypted path)."""
    message = work / f"{name}.txt"
    message.write_text(text)
    encrypted = work / f"{name}.p7m"
    openssl("cms", "-encrypt", "-binary", "-aes256", "-in", str(message), "-out", str(encrypted),
            "-outform", outform, str(cert))
    return message, encrypted

ALL_USES = [ca_pb2.CERTIFICATE_USE_AUTHENTICATION, ca_pb2.CERTIFICATE_USE_SIGNATURE,
            ca_pb2.CERTIFICATE_USE_ENCRYPTION]


def validated_request(system, registry, holder, uses=ALL_USES):
    """A card request for holder with these uses, validated: its id."""
    _, (card_request_id,) = registry.batch([holder], uses=uses)
    validate(system, card_request_id)
    assert wait_state(system, card_request_id, enrollment_pb2.CARD_REQUEST_STATE_VALIDATED)
    return card_request_id


@pytest.fixture(scope="module")
def escrowed(system, pcsc, registry, ca_active, officers, tmp_path_factory):
    """A card personalised with authentication, signature and an escrowed
    encryption key, and a message encrypted to its encryption certificate."""
    work = tmp_path_factory.mktemp("escrow")
    holder = registry.holder("Inès", "Lefèvre")
    card_request_id = validated_request(system, registry, holder)
    card = new_card(pcsc, work, "escrow")
    job = personalised_job(system, pcsc, card_request_id)
    keys = rows(system, "SELECT key_id, serial_hex, certificate_der, state, written,"
                        " retain_until > not_after + interval '5 years' - interval '1 day'"
                        " FROM perso.escrowed_keys WHERE person_id = %s", holder.person_id)
    assert len(keys) == 1
    key_id, serial, cert_der, state, written, retained = keys[0]
    assert (state, written, retained) == (2, True, True)
    cert_pem = work / "encryption.pem"
    cert_pem.write_bytes(pem(bytes(cert_der)))
    message, encrypted = encrypted_mail(work, "message",
                                        "Old mail for Inès: the quarterly figures.\n", cert_pem)
    yield dict(holder=holder, card=card, job=job, key_id=key_id, serial=serial, cert=cert_pem,
               message=message, encrypted=encrypted, work=work,
               card_request_id=card_request_id)
    card.remove(wait=False)


def test_escrowed_key_is_on_the_card_and_certified_for_encryption(system, pcsc, escrowed):
    job = escrowed["job"]
    detail = [s.detail for s in job.steps if s.step == P.PERSO_STEP_ESCROW_ENCRYPTION_KEY]
    assert detail and detail[0].startswith("escrowed key " + escrowed["key_id"]), detail
    text = openssl("x509", "-in", str(escrowed["cert"]), "-noout", "-text").decode()
    assert "Key Agreement" in text and "E-mail Protection" in text
    assert f"email:{escrowed['holder'].email}" in text
    # The card holds the key: yubico-piv-tool's test-decipher does ECDH
    # with 9D and checks it against the certificate.
    card_uuid = rows(system, "SELECT card_uuid FROM perso.cards WHERE card_request_id = %s",
                     escrowed["card_request_id"])[0][0]
    pin, _, _ = mailer(system, card_uuid)
    result = subprocess.run(["yubico-piv-tool", "-r", "Virtual", "-P", pin, "-a", "verify-pin",
                             "-a", "test-decipher", "-s", "9d", "-i", str(escrowed["cert"])],
                            env=pcsc.env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    # The card's 9D slot has the escrowed certificate, recorded with the card.
    assert rows(system, "SELECT serial_hex, use FROM perso.card_certificates"
                        " WHERE card_uuid = %s AND slot = '9D'", card_uuid) == \
        [(escrowed["serial"], ca_pb2.CERTIFICATE_USE_ENCRYPTION)]
    # Only the envelope is stored: no PKCS#8 in clear.
    ciphertext = bytes(rows(system, "SELECT ciphertext FROM perso.escrowed_keys"
                                    " WHERE key_id = %s", escrowed["key_id"])[0][0])
    assert not ciphertext.startswith(b"\x30\x81") and not ciphertext.startswith(b"\x30\x82")


def test_abandoning_a_job_revokes_its_escrowed_keys_certificate_too(
        system, pcsc, registry, ca_active, escrowed, tmp_path):
    """A job that failed after ca certified its escrowed encryption key
    (here the card is pulled at the PIN change, after 9D): AbandonJob revokes
    that certificate with the on-card ones, and the key stays in escrow."""
    pin_change = apdu_index(escrowed["card"], "00240080")
    holder = registry.holder("Gaël", "Morvan")
    card_request_id = validated_request(system, registry, holder)
    card = new_card(pcsc, tmp_path, "abandoned", faults=[f"drop-after={pin_change}"])
    job = run_job(system, pcsc, card_request_id, card)
    assert job.state == P.PERSO_JOB_STATE_FAILED, step_names(job)
    assert job.failed_step == P.PERSO_STEP_SET_PIN_AND_PUK, step_names(job)
    escrow = rows(system, "SELECT key_id, serial_hex, state FROM perso.escrowed_keys"
                          " WHERE job_id = %s", job.job_id)
    assert len(escrow) == 1 and escrow[0][2] == 2, escrow
    key_id, encryption_serial, _ = escrow[0]
    serials = list(job.certificate_serials) + [encryption_serial]
    abandoned = ok(perso(system, "AbandonJob", P.AbandonJobRequest(
        job_id=job.job_id, reason="card pulled at the bureau")), P.PersoJob)
    assert abandoned.state == P.PERSO_JOB_STATE_ABANDONED
    for serial in serials:
        status = ok(call(system, "ca", "GetStatus", ca_pb2.GetStatusRequest(serial_hex=serial),
                         "client"), ca_pb2.CertificateStatus)
        assert status.state == ca_pb2.CERTIFICATE_STATE_REVOKED, serial
        assert status.reason == ca_pb2.REVOCATION_REASON_CESSATION_OF_OPERATION
    event = P.PersoJobChanged.FromString(bytes(rows(
        system, "SELECT payload FROM perso.outbox WHERE type = 'perso.job.abandoned'"
                " AND subject = %s", job.job_id)[0][0]))
    assert sorted(event.revoked_serials) == sorted(serials)
    assert rows(system, "SELECT slot FROM perso.job_revoked_certificates WHERE serial_hex = %s",
                encryption_serial) == [(157,)]
    assert rows(system, "SELECT state FROM perso.escrowed_keys WHERE key_id = %s",
                key_id) == [(2,)]


def request_recovery(system, escrowed, identity="desk"):
    return perso(system, "RequestKeyRecovery", P.RequestKeyRecoveryRequest(
        person_id=escrowed["holder"].person_id, purpose=P.KEY_RECOVERY_PURPOSE_HOLDER,
        reason="card lost on the train", reference="loss report 2026-118"), identity)


def approve(system, recovery_id, identity):
    return perso(system, "ApproveKeyRecovery", P.ApproveKeyRecoveryRequest(
        recovery_id=recovery_id), identity)


def deliver(system, recovery_id, identity="desk"):
    return perso(system, "DeliverRecoveredKey", P.DeliverRecoveredKeyRequest(
        recovery_id=recovery_id), identity)


def test_lost_card_key_recovered_by_two_officers_decrypts_old_mail(system, pcsc, escrowed,
                                                                    officers):
    # "Lose" the card: out of the reader, its state gone.
    escrowed["card"].remove(wait=False)
    escrowed["card"].state_file.unlink()
    recovery = ok(request_recovery(system, escrowed), P.KeyRecovery)
    assert recovery.state == P.KEY_RECOVERY_STATE_PENDING and recovery.key_count == 1
    rid = recovery.recovery_id
    # One officer is not enough.
    one = ok(approve(system, rid, "rec1"), P.KeyRecovery)
    assert one.state == P.KEY_RECOVERY_STATE_PENDING and len(one.approvals) == 1
    reply = deliver(system, rid)
    assert reply.status == PRECONDITION and "1 of 2" in reply.status_message
    # Nor the same officer twice, nor a service-desk operator.
    assert approve(system, rid, "rec1").status == EXISTS
    assert approve(system, rid, "desk").status == DENIED
    # An officer who also holds an operator role (a record changed behind
    # enrollment's back: enrollment refuses to grant it) is refused.
    rows(system, "UPDATE enrollment.operators SET roles = roles | (1 << 5)"
                 " WHERE operator_id = %s RETURNING roles", officers["rec3"])
    time.sleep(0.5)                         # perso's role cache (200 ms)
    reply = approve(system, rid, "rec3")
    assert reply.status == DENIED and "operator role" in reply.status_message
    assert rows(system, "SELECT count(*) FROM perso.audit_log WHERE action ="
                        " 'perso.key_recovery_approval_refused' AND subject = %s", rid) == [(1,)]
    # The second distinct officer: approved.
    two = ok(approve(system, rid, "rec2"), P.KeyRecovery)
    assert two.state == P.KEY_RECOVERY_STATE_APPROVED
    assert {a.operator_id for a in two.approvals} == {officers["rec1"], officers["rec2"]}
    # Only the requester receives the file.
    assert deliver(system, rid, "rec1").status == DENIED
    reply = ok(deliver(system, rid), P.DeliverRecoveredKeyReply)
    assert list(reply.key_ids) == [escrowed["key_id"]]
    assert list(reply.serials) == [escrowed["serial"]]
    # The password came another way: sealed to mail.
    found = rows(system, "SELECT payload FROM perso.outbox WHERE type ="
                         " 'key_recovery.password_ready' AND subject = %s", rid)
    assert len(found) == 1
    event = P.KeyRecoveryPasswordReady.FromString(bytes(found[0][0]))
    assert event.person_id == escrowed["holder"].person_id
    password = system.secret(mail_open(system, event.sealed_password))
    assert len(password) == 24 and password.encode() not in reply.SerializeToString()
    # mail sends it to the holder's address, signed.
    sent = system.sink.wait_for(lambda m: escrowed["holder"].email in m.recipients
                                and ("recovered" in m.subject or "recouvrées" in m.subject),
                                what="the recovery password")
    assert f"  {password}\r\n" in sent.text() and rid in sent.text()
    work = escrowed["work"]
    p12 = work / "recovered.p12"
    p12.write_bytes(reply.pkcs12_der)
    key_pem = work / "recovered.key"
    key_pem.write_bytes(openssl("pkcs12", "-in", str(p12), "-nocerts", "-nodes",
                                "-passin", f"pass:{password}"))
    decrypted = openssl("cms", "-decrypt", "-in", str(escrowed["encrypted"]), "-inform", "PEM",
                        "-recip", str(escrowed["cert"]), "-inkey", str(key_pem))
    key_pem.unlink()
    assert decrypted == escrowed["message"].read_bytes()
    # Once only.
    again = deliver(system, rid)
    assert again.status == PRECONDITION and "delivered already" in again.status_message
    actions = [r[0] for r in rows(system, "SELECT action FROM perso.audit_log WHERE subject = %s"
                                          " ORDER BY seq", rid)]
    assert actions[0] == "perso.key_recovery_requested"
    assert actions.count("perso.key_recovery_approved") == 2
    assert "perso.key_recovered" in actions


def test_recovery_officer_is_never_an_operator(system, operators):
    result = system.cli("--json", "operator", "add", "--name", "both",
                        "--cert", str(system.keys / "rec3.cert"), "--role", "recovery-officer",
                        "--role", "perso", identity="officer")
    assert result.returncode != 0 and "recovery officer" in result.stderr


def test_bad_recovery_requests_are_refused(system, escrowed):
    base = dict(person_id=escrowed["holder"].person_id, purpose=P.KEY_RECOVERY_PURPOSE_LEGAL,
                reason="court order", reference="TJ Paris 26/0042")
    for bad, word in ((dict(purpose=0), "purpose"), (dict(reason=""), "reason"),
                      (dict(reference="x\n"), "reference"), (dict(person_id="bad id"), "person_id"),
                      (dict(key_id="unknown"), "no escrowed key")):
        reply = perso(system, "RequestKeyRecovery",
                      P.RequestKeyRecoveryRequest(**{**base, **bad}), "desk")
        assert reply.status != OK and word in reply.status_message, (bad, reply.status_message)
    # A perso operator may not ask.
    assert perso(system, "RequestKeyRecovery", P.RequestKeyRecoveryRequest(**base)).status == DENIED


def csr_der(tmp_path):
    key = tmp_path / "k.pem"
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(key))
    return openssl("req", "-new", "-key", str(key), "-subj", "/CN=x", "-outform", "DER")


@pytest.mark.parametrize("use,escrowed_flag,word", [
    (ca_pb2.CERTIFICATE_USE_SIGNATURE, True, "never escrowed"),
    (ca_pb2.CERTIFICATE_USE_AUTHENTICATION, True, "never escrowed"),
    (ca_pb2.CERTIFICATE_USE_ENCRYPTION, False, "must be escrowed"),
])
def test_no_profile_escrows_a_signature_or_authentication_key(system, ca_active, tmp_path, use,
                                                              escrowed_flag, word):
    request = ca_pb2.IssueCertificateRequest(
        card_request_id="req-escrow-test", holder_id="per-escrow-test", csr_der=csr_der(tmp_path),
        use=use, level=ca_pb2.POLICY_LEVEL_TWO_STARS, key_escrowed=escrowed_flag,
        subject=ca_pb2.Subject(given_name="Jean", surname="Martin", organization="Org",
                               organization_id="12345678900013", email="jean@example.fr"))
    reply = call(system, "ca", "IssueCertificate", request, "officer")
    assert reply.status == INVALID and word in reply.status_message, reply.status_message


def cli(system, identity, *args):
    """tessera --json ARGS as identity: its JSON lines."""
    result = system.cli("--json", *args, identity=identity, timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def split_keys(pem_text):
    """The PRIVATE KEY blocks of `openssl pkcs12 -nocerts -nodes` output."""
    blocks, current = [], None
    for line in pem_text.splitlines(keepends=True):
        if line.startswith("-----BEGIN PRIVATE KEY-----"):
            current = [line]
        elif current is not None:
            current.append(line)
            if line.startswith("-----END PRIVATE KEY-----"):
                blocks.append("".join(current))
                current = None
    return blocks


def test_every_key_of_the_holder_stays_recoverable(system, pcsc, registry, escrowed, officers):
    """Key history: the holder's new card gets a new escrowed key; a later
    recovery returns both, and each decrypts the mail of its time."""
    work = escrowed["work"]
    holder = escrowed["holder"]
    second_request = validated_request(system, registry, holder, uses=[
        ca_pb2.CERTIFICATE_USE_AUTHENTICATION, ca_pb2.CERTIFICATE_USE_ENCRYPTION])
    new_card(pcsc, work, "second")
    personalised_job(system, pcsc, second_request)
    listed = ok(perso(system, "ListEscrowedKeys", P.ListEscrowedKeysRequest(
        person_id=holder.person_id), "rec1"), P.ListEscrowedKeysReply)
    assert len(listed.keys) == 2 and listed.keys[0].key_id == escrowed["key_id"]
    assert all(k.retain_until_unix >= k.not_after_unix + 5 * 365 * 86400 for k in listed.keys)
    second_cert = work / "encryption-2.pem"
    second_der = rows(system, "SELECT certificate_der FROM perso.escrowed_keys WHERE key_id = %s",
                      listed.keys[1].key_id)[0][0]
    second_cert.write_bytes(pem(bytes(second_der)))
    second_message, second_encrypted = encrypted_mail(
        work, "message-2", "Newer mail, to the second card.\n", second_cert)
    # The CLI lists them for an officer.
    listing = cli(system, "rec1", "perso", "escrowed-keys", "--person", holder.person_id)
    assert [line["key_id"] for line in listing] == [k.key_id for k in listed.keys]
    # A legal procedure this time, asked by a recovery officer through the
    # CLI, approved by the two others that hold no operator role (rec3 now
    # holds one).
    asked = cli(system, "rec1", "perso", "recovery-request", "--person", holder.person_id,
                "--purpose", "legal", "--reason", "judicial requisition",
                "--reference", "TJ Paris 26/0042")[0]
    assert asked["state"] == "pending" and asked["key_count"] == 2
    recovery = P.KeyRecovery(recovery_id=asked["recovery_id"])
    assert approve(system, recovery.recovery_id, "rec1").status == DENIED     # the requester
    ok(approve(system, recovery.recovery_id, "rec2"), P.KeyRecovery)
    assert approve(system, recovery.recovery_id, "rec3").status == DENIED
    # Two officers besides the requester: rec3 back to recovery-officer only.
    rows(system, "UPDATE enrollment.operators SET roles = 1 << 13 WHERE operator_id = %s"
                 " RETURNING roles", officers["rec3"])
    time.sleep(0.5)
    assert cli(system, "rec3", "perso", "recovery-approve",
               recovery.recovery_id)[0]["state"] == "approved"
    p12 = work / "recovered-all.p12"
    delivered = cli(system, "rec1", "perso", "recovery-deliver", recovery.recovery_id,
                    "--out", str(p12))[0]
    assert delivered["keys"] == 2 and (p12.stat().st_mode & 0o777) == 0o600
    found = rows(system, "SELECT payload FROM perso.outbox WHERE type ="
                         " 'key_recovery.password_ready' AND subject = %s", recovery.recovery_id)
    event = P.KeyRecoveryPasswordReady.FromString(bytes(found[0][0]))
    password = system.secret(mail_open(system, event.sealed_password))
    keys = split_keys(openssl("pkcs12", "-in", str(p12), "-nocerts", "-nodes",
                              "-passin", f"pass:{password}").decode())
    assert len(keys) == 2
    for encrypted, cert, message in ((escrowed["encrypted"], escrowed["cert"], escrowed["message"]),
                                     (second_encrypted, second_cert, second_message)):
        opened = []
        for index, key in enumerate(keys):
            key_file = work / f"history-{index}.key"
            key_file.write_text(key)
            result = subprocess.run(["openssl", "cms", "-decrypt", "-in", str(encrypted),
                                     "-inform", "PEM", "-recip", str(cert), "-inkey",
                                     str(key_file)], capture_output=True)
            key_file.unlink()
            if result.returncode == 0:
                opened.append(result.stdout)
        assert opened == [message.read_bytes()]


def der_items(data):
    """The DER elements of data, in order: (tag, content, whole)."""
    items, at = [], 0
    while at < len(data):
        tag, size, head = data[at], data[at + 1], 2
        if size & 0x80:
            count = size & 0x7F
            size, head = int.from_bytes(data[at + 2:at + 2 + count], "big"), 2 + count
        items.append((tag, data[at + head:at + head + size], data[at:at + head + size]))
        at += head + size
    return items


KDF_HASHES = {"2b81051086483f0002": hashes.SHA1(),       # dhSinglePass-stdDH-sha1kdf-scheme
              "2b8104010b00": hashes.SHA224(), "2b8104010b01": hashes.SHA256(),
              "2b8104010b02": hashes.SHA384(), "2b8104010b03": hashes.SHA512()}


def card_ecdh(pcsc, pin, point):
    """ECDH of the card's 9D key with point: VERIFY, then GENERAL
    AUTHENTICATE (P1 11 P-256, P2 9D) with the point in tag 85, as PIV
    middleware does for key management (SP 800-73-4); the shared X."""
    with CardSession(pcsc) as session:
        session.select_piv()
        _, sw = session.transmit(bytes.fromhex("0020008008") + pin.encode().ljust(8, b"\xff"))
        assert sw == 0x9000, f"VERIFY {sw:04X}"
        inner = b"\x82\x00\x85" + bytes([len(point)]) + point
        data = b"\x7c" + bytes([len(inner)]) + inner
        answer, sw = session.transmit_all(bytes([0x00, 0x87, 0x11, 0x9D, len(data)]) + data)
        assert sw == 0x9000, f"GENERAL AUTHENTICATE 9D {sw:04X}"
    (tag, body, _), = der_items(answer)
    (inner_tag, shared, _), = der_items(body)
    assert (tag, inner_tag, len(shared)) == (0x7C, 0x82, 32)
    return shared


def decrypt_cms(cms_der, ecdh):
    """An EC CMS message (RFC 5753, ephemeral-static ECDH) opened with
    ecdh(originator's ephemeral point) -> shared secret: the X9.63 KDF, the
    AES key unwrap and the content decryption done here. None when the key
    behind ecdh is not the recipient's (the unwrap fails)."""
    (_, content_info, _), = der_items(cms_der)
    _, enveloped, _ = der_items(content_info)[1]                  # [0] EXPLICIT
    (_, enveloped, _), = der_items(enveloped)
    fields = der_items(enveloped)
    recipient_infos = next(f for f in fields if f[0] == 0x31)[1]
    encrypted_content_info = next(f for f in fields if f[0] == 0x30)[1]
    (tag, kari, _), = der_items(recipient_infos)
    assert tag == 0xA1, "not a KeyAgreeRecipientInfo"
    kari = der_items(kari)
    originator = der_items(kari[1][1])[0]                         # [1] originatorKey
    _, ephemeral_bits, _ = der_items(originator[1])[1]
    ukm = next((der_items(f[1])[0][1] for f in kari if f[0] == 0xA1), None)
    key_algorithm = next(f for f in kari[2:] if f[0] == 0x30 and der_items(f[1])[0][0] == 0x06)
    kdf_oid, wrap_algorithm = der_items(key_algorithm[1])
    encrypted_keys = der_items(kari[-1][1])
    encrypted_key = der_items(encrypted_keys[0][1])[1][1]
    z = ecdh(ephemeral_bits[1:])
    wrap_oid = der_items(wrap_algorithm[1])[0][1]
    kek_size = {bytes.fromhex("608648016503040105"): 16, bytes.fromhex("608648016503040119"): 24,
                bytes.fromhex("60864801650304012d"): 32}[wrap_oid]
    shared_info = wrap_algorithm[2]
    if ukm is not None:
        shared_info += bytes([0xA0, len(ukm) + 2, 0x04, len(ukm)]) + ukm
    shared_info += bytes.fromhex("a2060404") + (kek_size * 8).to_bytes(4, "big")
    shared_info = bytes([0x30, len(shared_info)]) + shared_info
    kek = X963KDF(algorithm=KDF_HASHES[kdf_oid[1].hex()], length=kek_size,
                  sharedinfo=shared_info).derive(z)
    try:
        content_key = keywrap.aes_key_unwrap(kek, encrypted_key)
    except keywrap.InvalidUnwrap:
        return None
    _, algorithm, encrypted = der_items(encrypted_content_info)
    (_, _, _), (_, iv, _) = der_items(algorithm[1])
    if encrypted[0] == 0xA0:                                      # constructed: its pieces
        encrypted = (0x80, b"".join(piece[1] for piece in der_items(encrypted[1])), b"")
    decryptor = Cipher(algorithms.AES(content_key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(encrypted[1]) + decryptor.finalize()
    return padded[:-padded[-1]]


def test_same_card_renewal_takes_a_new_escrowed_key(system, pcsc, registry, ca_active, officers,
                                                    tmp_path_factory):
    """A holder's active card with an escrowed encryption key, renewed on
    the card itself: a new key made and escrowed before it goes into 9D,
    certified for encryption, its certificate in 5FC10B; mail encrypted to
    the new certificate opens with the card, the old mail no longer does
    (the old key was overwritten) but the two-officer recovery of the old
    key still opens it; the old encryption certificate is superseded at
    the holder's activation like the others."""
    work = tmp_path_factory.mktemp("renewal-escrow")
    holder = registry.holder("Zoé", "Mercier")
    uses = ALL_USES
    first_request = validated_request(system, registry, holder, uses)
    new_card(pcsc, work, "renewed-with-escrow")
    first_job = personalised_job(system, pcsc, first_request)
    uuid = first_job.card_uuid
    pin, code, _ = mailer(system, uuid)
    account = account_of(system, holder.person_id)
    assert ok(activate(system, uuid, account, code), P.ActivateCardReply).activated
    on_card = lambda point: card_ecdh(pcsc, pin, point)        # noqa: E731
    (old_key, old_serial, old_der), = rows(
        system, "SELECT key_id, serial_hex, certificate_der FROM perso.escrowed_keys"
                " WHERE person_id = %s AND state = 2", holder.person_id)
    old_cert = work / "old-encryption.pem"
    old_cert.write_bytes(pem(bytes(old_der)))
    old_message, old_encrypted = encrypted_mail(
        work, "old", "Mail for Zoé before the renewal.\n", old_cert, outform="DER")
    assert decrypt_cms(old_encrypted.read_bytes(), on_card) == \
        old_message.read_bytes()
    old_serials = set(first_job.certificate_serials) | {old_serial}

    # The renewal, asking for encryption again, on the same card with the
    # holder's PIN.
    made = ok(renewal_of(system, registry, holder, first_request, uses=uses),
              enrollment_pb2.CardRequest)
    submit_and_validate(system, made)
    job = personalised_job(system, pcsc, made.card_request_id, holder_pin=pin)
    assert job.renewal and job.card_uuid == uuid
    steps = {P.PersoStep.Name(s.step): s.detail for s in job.steps}
    assert steps["PERSO_STEP_ESCROW_ENCRYPTION_KEY"].startswith("escrowed key ")
    assert "kept" in steps["PERSO_STEP_SET_PIN_AND_PUK"]

    # The holder's escrow history: the old key and the new one, both kept.
    listed = ok(perso(system, "ListEscrowedKeys", P.ListEscrowedKeysRequest(
        person_id=holder.person_id), "rec1"), P.ListEscrowedKeysReply)
    assert [k.key_id for k in listed.keys][0] == old_key and len(listed.keys) == 2
    (new_key, new_serial, new_der), = rows(
        system, "SELECT key_id, serial_hex, certificate_der FROM perso.escrowed_keys"
                " WHERE job_id = %s AND state = 2", job.job_id)
    assert listed.keys[1].key_id == new_key and new_serial != old_serial
    assert rows(system, "SELECT count(*) FROM perso.audit_log WHERE action ="
                        " 'perso.key_escrowed' AND subject = %s", new_key) == [(1,)]
    new_cert = work / "new-encryption.pem"
    new_cert.write_bytes(pem(bytes(new_der)))
    text = openssl("x509", "-in", str(new_cert), "-noout", "-text").decode()
    assert "Key Agreement" in text and f"email:{holder.email}" in text

    # The card: 9D's certificate read back by yubico-piv-tool is the new
    # one, and the card's key in 9D matches it.
    read = run(pcsc, "yubico-piv-tool", "-r", "Virtual", "-a", "read-certificate", "-s", "9d")
    assert openssl("x509", "-outform", "DER", input=read.stdout.encode()) == bytes(new_der)
    result = subprocess.run(["yubico-piv-tool", "-r", "Virtual", "-P", pin, "-a", "verify-pin",
                             "-a", "test-decipher", "-s", "9d", "-i", str(new_cert)],
                            env=pcsc.env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert run(pcsc, "pkcs15-tool", "--list-certificates").stdout.count("X.509 Certificate") == 3
    # Mail encrypted to the new certificate opens with the card; the old
    # mail does not any more: 9D's old key was overwritten.
    new_message, new_encrypted = encrypted_mail(
        work, "new", "Mail for Zoé after the renewal.\n", new_cert, outform="DER")
    assert decrypt_cms(new_encrypted.read_bytes(), on_card) == \
        new_message.read_bytes()
    assert decrypt_cms(old_encrypted.read_bytes(), on_card) is None

    # The card's certificates: the new 9D one with the others; the old
    # ones noted for superseding, 9D included.
    assert rows(system, "SELECT serial_hex FROM perso.card_certificates"
                        " WHERE card_uuid = %s AND slot = '9D'", uuid) == [(new_serial,)]
    assert rows(system, "SELECT serial_hex FROM perso.card_renewals WHERE job_id = %s"
                        " AND slot = '9D'", job.job_id) == [(old_serial,)]
    assert ca_status(system, old_serial) == ca_pb2.CERTIFICATE_STATE_GOOD
    assert ca_status(system, new_serial) == ca_pb2.CERTIFICATE_STATE_ON_HOLD

    # The holder's activation with the renewal's code: the new
    # certificates good, the old ones (the encryption one too) superseded.
    renewal_pin, renewal_code, event = mailer(system, uuid)
    assert renewal_pin is None and event.reissue
    assert ok(activate(system, uuid, account, renewal_code), P.ActivateCardReply).activated
    assert ca_status(system, new_serial) == ca_pb2.CERTIFICATE_STATE_GOOD
    for serial in old_serials:
        status = ok(call(system, "ca", "GetStatus", ca_pb2.GetStatusRequest(serial_hex=serial),
                         "client"), ca_pb2.CertificateStatus)
        assert status.state == ca_pb2.CERTIFICATE_STATE_REVOKED, serial
        assert status.reason == ca_pb2.REVOCATION_REASON_SUPERSEDED, serial
    assert rows(system, "SELECT superseded_at IS NOT NULL FROM perso.card_renewals"
                        " WHERE serial_hex = %s", old_serial) == [(True,)]

    # The old key is still recoverable by two officers, and opens the old mail.
    recovery = ok(perso(system, "RequestKeyRecovery", P.RequestKeyRecoveryRequest(
        person_id=holder.person_id, key_id=old_key, purpose=P.KEY_RECOVERY_PURPOSE_HOLDER,
        reason="mail sent before the renewal", reference="desk ticket 311"), "desk"),
        P.KeyRecovery)
    assert recovery.key_count == 1
    ok(approve(system, recovery.recovery_id, "rec1"), P.KeyRecovery)
    assert ok(approve(system, recovery.recovery_id, "rec2"),
              P.KeyRecovery).state == P.KEY_RECOVERY_STATE_APPROVED
    reply = ok(deliver(system, recovery.recovery_id), P.DeliverRecoveredKeyReply)
    assert list(reply.key_ids) == [old_key] and list(reply.serials) == [old_serial]
    found = rows(system, "SELECT payload FROM perso.outbox WHERE type ="
                         " 'key_recovery.password_ready' AND subject = %s", recovery.recovery_id)
    password = system.secret(mail_open(system, P.KeyRecoveryPasswordReady.FromString(
        bytes(found[0][0])).sealed_password))
    p12 = work / "old-key.p12"
    p12.write_bytes(reply.pkcs12_der)
    key_pem = work / "old-key.pem"
    key_pem.write_bytes(openssl("pkcs12", "-in", str(p12), "-nocerts", "-nodes",
                                "-passin", f"pass:{password}"))
    decrypted = openssl("cms", "-decrypt", "-in", str(old_encrypted), "-inform", "DER",
                        "-recip", str(old_cert), "-inkey", str(key_pem))
    key_pem.unlink()
    assert decrypted == old_message.read_bytes()


def test_renewal_on_a_new_card_supersedes_the_old_encryption_certificate(
        system, pcsc, registry, ca_active, tmp_path_factory):
    """A card that expires before new certificates would is renewed on a
    blank card: the new card gets its own escrowed key; the old card's 9D
    certificate is noted with its others and superseded at the new card's
    activation."""
    work = tmp_path_factory.mktemp("renewal-escrow-new-card")
    holder = registry.holder("Noé", "Girard")
    uses = [ca_pb2.CERTIFICATE_USE_AUTHENTICATION, ca_pb2.CERTIFICATE_USE_ENCRYPTION]
    first_request = validated_request(system, registry, holder, uses)
    new_card(pcsc, work, "expiring")
    old_job = personalised_job(system, pcsc, first_request)
    _, code, _ = mailer(system, old_job.card_uuid)
    account = account_of(system, holder.person_id)
    assert ok(activate(system, old_job.card_uuid, account, code), P.ActivateCardReply).activated
    (old_serial,), = rows(system, "SELECT serial_hex FROM perso.card_certificates"
                                  " WHERE card_uuid = %s AND slot = '9D'", old_job.card_uuid)
    rows(system, "UPDATE perso.cards SET expires_at = now() + interval '200 days'"
                 " WHERE card_uuid = %s RETURNING card_uuid", old_job.card_uuid)
    made = ok(renewal_of(system, registry, holder, first_request, uses=uses),
              enrollment_pb2.CardRequest)
    submit_and_validate(system, made)
    new_card(pcsc, work, "renewing")
    job = personalised_job(system, pcsc, made.card_request_id)
    assert not job.renewal and job.card_uuid != old_job.card_uuid
    assert rows(system, "SELECT count(*) FROM perso.escrowed_keys WHERE person_id = %s"
                        " AND state = 2", holder.person_id) == [(2,)]
    assert rows(system, "SELECT slot FROM perso.card_renewals WHERE job_id = %s ORDER BY slot",
                job.job_id) == [("9A",), ("9D",)]
    _, new_code, _ = mailer(system, job.card_uuid)
    assert ok(activate(system, job.card_uuid, account, new_code), P.ActivateCardReply).activated
    status = ok(call(system, "ca", "GetStatus", ca_pb2.GetStatusRequest(serial_hex=old_serial),
                     "client"), ca_pb2.CertificateStatus)
    assert (status.state, status.reason) == (ca_pb2.CERTIFICATE_STATE_REVOKED,
                                             ca_pb2.REVOCATION_REASON_SUPERSEDED)
