"""The CA: key ceremony on a SoftHSM2 token, k-of-n activation, RGS
profiles, issuance, revocation status and CRLs, checked by independent
readers (openssl, gfcombine, python3-cryptography)."""
import datetime
import itertools
import json
import os
import secrets
import stat
import subprocess
from pathlib import Path

import psycopg2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tessera.v1 import ca_pb2, envelope_pb2
from tsrtest import System

OK = envelope_pb2.STATUS_OK
AUTH = ca_pb2.CERTIFICATE_USE_AUTHENTICATION
SIGN = ca_pb2.CERTIFICATE_USE_SIGNATURE
LEVEL2 = ca_pb2.POLICY_LEVEL_TWO_STARS


@pytest.fixture(scope="module")
def system():
    s = System()
    try:
        s.start(["enrollment", "ca"])
        # Roles come from enrollment: the three custodians of the ceremony.
        for who in ("alice", "bob", "carol"):
            s.add_operator(who, "custodian")
    except BaseException:
        s.stop()
        raise
    yield s
    s.stop()


# Issuance, revocation and CRLs are asked by services (perso, revocation,
# publisher): the tests speak with perso's own key.
def call(system, method, message, identity="perso", request_id=None, timeout=30.0):
    client = system.client("ca", identity)
    try:
        reply, _ = client.call(method, message.SerializeToString(), request_id=request_id,
                               timeout=timeout)
    finally:
        client.close()
    assert reply is not None, f"{method}: no reply"
    return reply


def ca_rows(system, sql, *params):
    conn = system.cluster.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def insert_trigger(table, name, body, prelude=""):
    """SQL making a test's BEFORE INSERT trigger ca.<name> on ca.<table>:
    body is PL/pgSQL with NEW in scope, run with the owner's rights in the
    ca schema; prelude comes first (a table the body uses). Drop it with
    drop_trigger."""
    return f"""{prelude}
CREATE FUNCTION ca.{name}() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = ca AS $$
BEGIN
{body}
    RETURN NEW;
END $$;
CREATE TRIGGER {name} BEFORE INSERT ON ca.{table} FOR EACH ROW EXECUTE FUNCTION ca.{name}();
"""


def drop_trigger(table, name):
    return f"DROP TRIGGER {name} ON ca.{table}; DROP FUNCTION ca.{name}()"


def openssl(*args, check=True, input=None):
    return subprocess.run(["openssl", *args], capture_output=True, check=check, input=input)


def csr_der(key=None, cn="ignored by the CA"):
    key = key or ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
           .sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.DER), key


def holder_subject(**overrides):
    fields = dict(given_name="Élodie", surname="Dupré", organization="Société Exemple",
                  organization_id="73282932000074")
    fields.update(overrides)
    return ca_pb2.Subject(**fields)


def issue(system, csr, request_id="cr-1", holder="h-1", use=AUTH, subject=None, **extra):
    message = ca_pb2.IssueCertificateRequest(card_request_id=request_id, holder_id=holder,
                                             csr_der=csr, use=use, level=LEVEL2,
                                             subject=subject or holder_subject(), **extra)
    return call(system, "IssueCertificate", message)


def certificate_count(system):
    return ca_rows(system, "SELECT count(*) FROM ca.certificates")[0][0]


@pytest.fixture(scope="module")
def ceremony(system):
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
    made = json.loads(result.stdout.strip().splitlines()[-1])
    shares = {name: next((out / name).glob("ca-*.*")) for name in ("alice", "bob", "carol")}
    for share in shares.values():
        system.secret(share.read_bytes())
    return dict(made, out=out, root=out / "root.pem", issuing=out / "issuing.pem", shares=shares)


def activate(system, who, share_file):
    return system.cli("--json", "ca", "activate", "--share", str(share_file), identity=who)


@pytest.fixture(scope="module")
def active(system, ceremony):
    for who in ("alice", "bob"):
        result = activate(system, who, ceremony["shares"][who])
        assert result.returncode == 0, result.stderr
    return ceremony


# --- ceremony -------------------------------------------------------------

def test_ceremony_refused_to_anyone_but_a_security_officer(system):
    result = system.cli("ca", "ceremony", "--org", "X", "--root-cn", "R", "--issuing-cn", "I",
                        "--custodian", f"alice={system.keys / 'alice.cert'}",
                        "--custodian", f"bob={system.keys / 'bob.cert'}",
                        "--out", str(system.root / "nope"), identity="client")
    assert result.returncode != 0
    assert "PERMISSION_DENIED" in result.stderr
    assert ca_rows(system, "SELECT count(*) FROM ca.ceremonies")[0][0] == 0


def test_signing_refused_before_any_ceremony(system):
    reply = issue(system, csr_der()[0], request_id="cr-before")
    assert reply.status == envelope_pb2.STATUS_FAILED_PRECONDITION
    assert "not active" in reply.status_message


def test_ceremony_makes_a_two_level_hierarchy(system, ceremony):
    root = x509.load_pem_x509_certificate(ceremony["root"].read_bytes())
    issuing = x509.load_pem_x509_certificate(ceremony["issuing"].read_bytes())
    assert root.subject == root.issuer
    assert issuing.issuer == root.subject
    assert isinstance(root.public_key(), ec.EllipticCurvePublicKey)
    assert root.public_key().curve.name == "secp384r1"
    assert issuing.public_key().curve.name == "secp256r1"
    root_life = root.not_valid_after - root.not_valid_before
    assert root_life <= datetime.timedelta(days=3653)
    assert issuing.not_valid_after <= root.not_valid_after
    for cert, pathlen in ((root, None), (issuing, 0)):
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
        assert bc.critical and bc.value.ca and bc.value.path_length == pathlen
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
        assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign
        assert not ku.value.digital_signature
    # An independent verifier accepts the chain.
    openssl("verify", "-CAfile", str(ceremony["root"]), str(ceremony["issuing"]))
    # The fingerprints reported are those of the certificates written.
    assert ceremony["root_sha256"] == root.fingerprint(hashes.SHA256()).hex()
    assert ceremony["issuing_sha256"] == issuing.fingerprint(hashes.SHA256()).hex()


def test_ceremony_is_audited_with_fingerprints_and_algorithms(system, ceremony):
    rows = ca_rows(system, "SELECT actor, details FROM ca.audit_log WHERE action = 'ca.ceremony'")
    assert len(rows) == 1
    actor, details = rows[0]
    details = json.loads(details)
    assert actor == open(system.keys / "officer.cert").read().split('public-key = "')[1][:40]
    assert details["root_sha256"] == ceremony["root_sha256"]
    assert details["issuing_sha256"] == ceremony["issuing_sha256"]
    assert details["root_algorithm"] == "EC P-384"
    assert details["custodians"] == ["alice", "bob", "carol"]
    result = system.cli("--json", "audit", "verify", "--service", "ca")
    assert result.returncode == 0, result.stdout + result.stderr


def test_shares_are_private_files_that_gfcombine_reads(system, ceremony):
    files = list(ceremony["shares"].values())
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    secrets_seen = set()
    for pair in itertools.combinations(files, 2):
        out = system.root / f"combined-{secrets.token_hex(4)}"
        subprocess.run(["gfcombine", "-o", str(out), *map(str, pair)], check=True)
        secrets_seen.add(out.read_bytes())
        out.unlink()
    assert len(secrets_seen) == 1, "every pair of shares rebuilds the same secret"
    secret = system.secret(secrets_seen.pop())        # the token's user PIN
    assert len(secret) == 48 and all(c in b"0123456789abcdef" for c in secret)
    for single in files:
        out = system.root / f"single-{secrets.token_hex(4)}"
        alone = subprocess.run(["gfcombine", "-o", str(out), str(single)], capture_output=True)
        assert alone.returncode != 0 or out.read_bytes() != secret, \
            "one share alone does not give the secret"
        out.unlink(missing_ok=True)
    # The secret is not stored anywhere the CA writes.
    for path in system.root.rglob("*"):
        if path.is_file() and path.stat().st_size < 10_000_000:
            assert secret not in path.read_bytes(), f"secret found in {path}"


def test_a_second_ceremony_is_refused(system, ceremony):
    result = system.cli("ca", "ceremony", "--org", "X", "--root-cn", "R2", "--issuing-cn", "I2",
                        "--custodian", f"alice={system.keys / 'alice.cert'}",
                        "--custodian", f"bob={system.keys / 'bob.cert'}",
                        "--so-pin-file", str(system.hsm.so_pin_file),
                        "--out", str(system.root / "again"), identity="officer")
    assert result.returncode != 0 and "FAILED_PRECONDITION" in result.stderr


# --- activation -----------------------------------------------------------

def test_activation_needs_k_distinct_custodians_with_their_own_good_shares(system, ceremony):
    csr = csr_der()[0]
    assert issue(system, csr, request_id="cr-inactive").status == envelope_pb2.STATUS_FAILED_PRECONDITION

    first = activate(system, "alice", ceremony["shares"]["alice"])
    assert first.returncode == 0, first.stderr
    progress = json.loads(first.stdout)
    assert progress["active"] is False
    assert (progress["shares_presented"], progress["threshold"]) == (1, 2)

    again = activate(system, "alice", ceremony["shares"]["alice"])
    assert again.returncode != 0 and "ALREADY_EXISTS" in again.stderr

    stolen = activate(system, "bob", ceremony["shares"]["alice"])
    assert stolen.returncode != 0 and "PERMISSION_DENIED" in stolen.stderr

    corrupted = system.root / "corrupted" / ceremony["shares"]["bob"].name
    corrupted.parent.mkdir()
    data = bytearray(ceremony["shares"]["bob"].read_bytes())
    data[0] ^= 0x01
    corrupted.write_bytes(bytes(data))
    bad = activate(system, "bob", corrupted)
    assert bad.returncode != 0 and "corrupted" in bad.stderr

    # k-1 shares: still inactive, signing still refused.
    assert issue(system, csr, request_id="cr-inactive").status == envelope_pb2.STATUS_FAILED_PRECONDITION

    done = activate(system, "bob", ceremony["shares"]["bob"])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["active"] is True
    actions = [r[0] for r in ca_rows(system, "SELECT action FROM ca.audit_log ORDER BY seq")]
    assert actions.count("ca.share_presented") == 2
    assert "ca.key_activated" in actions


def test_only_custodians_present_shares(system, ceremony):
    # A key without the custodian role is refused before its share is read,
    # and the refusal is in the CA's audit trail.
    result = activate(system, "client", ceremony["shares"]["alice"])
    assert result.returncode != 0 and "PERMISSION_DENIED" in result.stderr
    assert "custodian" in result.stderr
    rows = ca_rows(system, "SELECT subject FROM ca.audit_log WHERE action = 'bus.permission_denied'")
    assert ("Activate",) in rows


def test_a_share_of_another_ceremony_is_refused(system, active):
    carol_x = active["shares"]["carol"].suffix
    foreign = system.root / "foreign" / f"ca-other{carol_x}"
    foreign.parent.mkdir()
    # A share the ceremony never made, at carol's index.
    foreign.write_bytes(os.urandom(48))
    result = activate(system, "carol", foreign)
    assert result.returncode != 0 and "INVALID_ARGUMENT" in result.stderr
    assert "not one the ceremony made" in result.stderr
    # Someone else's index is refused before its bytes are even compared.
    result = activate(system, "carol", active["shares"]["bob"])
    assert result.returncode != 0 and "PERMISSION_DENIED" in result.stderr


# --- issuance -------------------------------------------------------------

def write_pem(path, der):
    cert = x509.load_der_x509_certificate(der)
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert


def test_authentication_certificate_has_the_rgs_profile(system, active):
    csr, key = csr_der(cn="Mallory, who would like to be someone else")
    reply = issue(system, csr, request_id="cr-auth", holder="h-auth")
    assert reply.status == OK, reply.status_message
    record = ca_pb2.IssueCertificateReply.FromString(reply.payload).certificate
    cert = write_pem(system.root / "auth.pem", record.certificate_der)
    openssl("verify", "-CAfile", str(active["root"]), "-untrusted", str(active["issuing"]),
            str(system.root / "auth.pem"))
    # A relying party that requires the level's policy accepts the chain.
    openssl("verify", "-CAfile", str(active["root"]), "-untrusted", str(active["issuing"]),
            "-policy_check", "-explicit_policy", "-policy", "2.999.1.2", "-x509_strict",
            str(system.root / "auth.pem"))
    text = openssl("x509", "-in", str(system.root / "auth.pem"), "-noout", "-text").stdout.decode()
    assert "TLS Web Client Authentication" in text and "2.999.1.2" in text

    # Subject from the validated request, never from the CSR.
    def one(oid):
        return cert.subject.get_attributes_for_oid(oid)[0]
    assert one(NameOID.COUNTRY_NAME).value == "FR"
    assert one(NameOID.COUNTRY_NAME)._type.name == "PrintableString"
    assert one(NameOID.ORGANIZATION_NAME).value == "Société Exemple"
    assert one(NameOID.ORGANIZATIONAL_UNIT_NAME).value == "0002 73282932000074"
    assert one(NameOID.COMMON_NAME).value == "Élodie DUPRÉ"
    for oid in (NameOID.ORGANIZATION_NAME, NameOID.ORGANIZATIONAL_UNIT_NAME, NameOID.COMMON_NAME):
        assert one(oid)._type.name == "UTF8String"
    assert "Mallory" not in cert.subject.rfc4514_string()

    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature
    assert not (ku.value.content_commitment or ku.value.key_encipherment or ku.value.key_cert_sign)
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier.dotted_string for p in policies] == ["2.999.1.2"]
    dp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert dp[0].full_name[0].value.startswith("http://")
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert {d.access_method._name for d in aia} == {"caIssuers", "OCSP"}
    issuing = x509.load_pem_x509_certificate(active["issuing"].read_bytes())
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = issuing.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest

    serial = cert.serial_number.to_bytes(16, "big")
    assert cert.serial_number > 0 and serial[0] != 0 and cert.serial_number < 2 ** 127
    assert record.serial_hex == serial.hex()
    assert cert.not_valid_after - cert.not_valid_before <= datetime.timedelta(days=1095)
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()


def test_signature_certificate_is_non_repudiation_only(system, active):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    reply = issue(system, csr_der(key)[0], request_id="cr-sign", holder="h-sign", use=SIGN)
    assert reply.status == OK, reply.status_message
    der = ca_pb2.IssueCertificateReply.FromString(reply.payload).certificate.certificate_der
    cert = write_pem(system.root / "sign.pem", der)
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.content_commitment and not ku.value.digital_signature
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    openssl("verify", "-CAfile", str(active["root"]), "-untrusted", str(active["issuing"]),
            str(system.root / "sign.pem"))


def test_service_profiles_ocsp_responder_and_mail_signer(system, active):
    subject = ca_pb2.Subject(organization="Tessera Trust", common_name="Tessera OCSP responder")
    reply = issue(system, csr_der()[0], request_id="svc-ocsp", holder="publisher",
                  use=ca_pb2.CERTIFICATE_USE_OCSP_RESPONDER, subject=subject)
    assert reply.status == OK, reply.status_message
    cert = x509.load_der_x509_certificate(
        ca_pb2.IssueCertificateReply.FromString(reply.payload).certificate.certificate_der)
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.OCSP_SIGNING]
    nocheck = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier("1.3.6.1.5.5.7.48.1.5"))
    assert not nocheck.critical

    subject = ca_pb2.Subject(organization="Tessera Trust", common_name="Tessera mail",
                             email="notices@tessera.example")
    reply = issue(system, csr_der()[0], request_id="svc-mail", holder="mail",
                  use=ca_pb2.CERTIFICATE_USE_MAIL_SIGNER, subject=subject)
    assert reply.status == OK, reply.status_message
    cert = x509.load_der_x509_certificate(
        ca_pb2.IssueCertificateReply.FromString(reply.payload).certificate.certificate_der)
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.EMAIL_PROTECTION]
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.RFC822Name) == ["notices@tessera.example"]


def test_same_card_request_gives_the_same_certificate(system, active):
    csr, key = csr_der()
    first = issue(system, csr, request_id="cr-twice", holder="h-twice")
    second = issue(system, csr, request_id="cr-twice", holder="h-twice")
    assert first.status == OK and second.status == OK
    a = ca_pb2.IssueCertificateReply.FromString(first.payload).certificate
    b = ca_pb2.IssueCertificateReply.FromString(second.payload).certificate
    assert a.serial_hex == b.serial_hex and a.certificate_der == b.certificate_der
    other = issue(system, csr_der()[0], request_id="cr-twice", holder="h-twice")
    assert other.status == envelope_pb2.STATUS_CONFLICT
    assert ca_rows(system, "SELECT count(*) FROM ca.certificates WHERE card_request_id = 'cr-twice'")[0][0] == 1


def test_a_key_certified_for_one_holder_is_refused_for_another(system, active):
    csr, _ = csr_der()
    assert issue(system, csr, request_id="cr-k1", holder="h-k1").status == OK
    reply = issue(system, csr, request_id="cr-k2", holder="h-k2")
    assert reply.status == envelope_pb2.STATUS_ALREADY_EXISTS
    assert "another holder" in reply.status_message


def bad_signature_csr():
    der = bytearray(csr_der()[0])
    der[-3] ^= 0x40            # inside the signature's BIT STRING
    return bytes(der)


@pytest.mark.parametrize("case, make, status, words", [
    ("garbage", lambda: b"\x30\x03\x02\x01\x00", envelope_pb2.STATUS_INVALID_ARGUMENT, "not a DER"),
    ("empty", lambda: b"", envelope_pb2.STATUS_INVALID_ARGUMENT, "empty"),
    ("bad signature", bad_signature_csr, envelope_pb2.STATUS_INVALID_ARGUMENT, "signature"),
    ("rsa 1024", lambda: csr_der(rsa.generate_private_key(65537, 1024))[0],
     envelope_pb2.STATUS_INVALID_ARGUMENT, "2048"),
    ("secp256k1", lambda: csr_der(ec.generate_private_key(ec.SECP256K1()))[0],
     envelope_pb2.STATUS_INVALID_ARGUMENT, "curve"),
    ("64 KiB", lambda: b"\x30" + b"\x00" * (64 * 1024 - 1), envelope_pb2.STATUS_RESOURCE_EXHAUSTED,
     "at most"),
    ("1 MiB", lambda: b"\x30" + b"\x00" * (1024 * 1024 - 1), envelope_pb2.STATUS_RESOURCE_EXHAUSTED,
     "larger than"),
])
def test_bad_csrs_are_refused_and_nothing_is_stored(system, active, case, make, status, words):
    before = certificate_count(system)
    reply = issue(system, make(), request_id=f"cr-bad-{case.replace(' ', '-')}", holder="h-bad")
    assert reply.status == status, reply.status_message
    assert words in reply.status_message
    assert certificate_count(system) == before


@pytest.mark.parametrize("field, value", [
    ("surname", "Dupont\nCN=Admin"),
    ("given_name", "Jean\x07"),
    ("given_name", "Jean\x00Admin"),
    ("surname", "Dupont\u202eCN"),
    ("organization", "A" * 65),
    ("given_name", "J" * 40 + "é" * 30),
    ("organization_id", "1234"),
    ("organization_id", "73282932000074; DROP"),
])
def test_bad_subjects_are_refused_and_nothing_is_stored(system, active, field, value):
    before = certificate_count(system)
    reply = issue(system, csr_der()[0], request_id=f"cr-subject-{secrets.token_hex(4)}",
                  holder="h-subject", subject=holder_subject(**{field: value}))
    assert reply.status == envelope_pb2.STATUS_INVALID_ARGUMENT
    assert "subject" in reply.status_message or "NUL" in reply.status_message
    assert certificate_count(system) == before


def test_lifetime_over_three_years_is_refused(system, active):
    reply = issue(system, csr_der()[0], request_id="cr-long", holder="h-long", validity_days=1096)
    assert reply.status == envelope_pb2.STATUS_INVALID_ARGUMENT


def test_a_thousand_issuances_have_distinct_random_serials(system, active):
    csr, _ = csr_der()
    serials = []
    client = system.client("ca", "perso")
    try:
        for i in range(1000):
            message = ca_pb2.IssueCertificateRequest(
                card_request_id=f"bulk-{i}", holder_id="h-bulk", csr_der=csr, use=AUTH,
                level=LEVEL2, subject=holder_subject())
            reply, _ = client.call("IssueCertificate", message.SerializeToString(), timeout=10.0)
            assert reply is not None and reply.status == OK, reply and reply.status_message
            serials.append(int(ca_pb2.IssueCertificateReply.FromString(reply.payload)
                               .certificate.serial_hex, 16))
    finally:
        client.close()
    assert len(set(serials)) == 1000
    assert all(abs(b - a) > 1 for a, b in zip(serials, serials[1:])), "no serial follows another"
    ordered = sorted(serials)
    assert all(b - a > 1 for a, b in zip(ordered, ordered[1:]))
    # 16 bytes of CSPRNG output: about half of the top bits are set.
    assert 300 < sum(s >> 126 & 1 for s in serials) < 700


# --- revocation and CRLs ----------------------------------------------------

def issued_serial(system, request_id):
    reply = issue(system, csr_der()[0], request_id=request_id, holder=f"h-{request_id}")
    assert reply.status == OK, reply.status_message
    return ca_pb2.IssueCertificateReply.FromString(reply.payload).certificate.serial_hex


def revoke(system, serial, reason, **extra):
    return call(system, "RevokeCertificate",
                ca_pb2.RevokeCertificateRequest(serial_hex=serial, reason=reason, **extra))


def test_revocation_hold_and_release(system, active):
    compromised = issued_serial(system, "cr-rev-1")
    held = issued_serial(system, "cr-rev-2")
    when = int(datetime.datetime.now().timestamp()) - 3600
    reply = revoke(system, compromised, ca_pb2.REVOCATION_REASON_KEY_COMPROMISE,
                   invalidity_date_unix=when)
    assert reply.status == OK, reply.status_message
    status = ca_pb2.CertificateStatus.FromString(reply.payload)
    assert status.state == ca_pb2.CERTIFICATE_STATE_REVOKED
    assert status.invalidity_date_unix == when
    again = revoke(system, compromised, ca_pb2.REVOCATION_REASON_SUPERSEDED)
    assert again.status == envelope_pb2.STATUS_FAILED_PRECONDITION

    assert revoke(system, held, ca_pb2.REVOCATION_REASON_CERTIFICATE_HOLD).status == OK
    got = call(system, "GetStatus", ca_pb2.GetStatusRequest(serial_hex=held.upper()))
    assert ca_pb2.CertificateStatus.FromString(got.payload).state == ca_pb2.CERTIFICATE_STATE_ON_HOLD
    assert revoke(system, held, ca_pb2.REVOCATION_REASON_REMOVE_FROM_CRL).status == OK
    got = call(system, "GetStatus", ca_pb2.GetStatusRequest(serial_hex=held))
    assert ca_pb2.CertificateStatus.FromString(got.payload).state == ca_pb2.CERTIFICATE_STATE_GOOD

    unknown = call(system, "GetStatus", ca_pb2.GetStatusRequest(serial_hex="00" * 16))
    assert ca_pb2.CertificateStatus.FromString(unknown.payload).state == ca_pb2.CERTIFICATE_STATE_UNKNOWN
    bad = call(system, "GetStatus", ca_pb2.GetStatusRequest(serial_hex="not hex"))
    assert bad.status == envelope_pb2.STATUS_INVALID_ARGUMENT
    events = [r[0] for r in ca_rows(system, "SELECT type FROM ca.outbox ORDER BY seq")]
    assert "certificate.revoked" in events and "certificate.hold_released" in events


def test_full_and_delta_crls_verify_with_openssl(system, active):
    revoked = issued_serial(system, "cr-crl-1")
    assert revoke(system, revoked, ca_pb2.REVOCATION_REASON_AFFILIATION_CHANGED).status == OK
    full = system.root / "full.crl"
    result = system.cli("--json", "ca", "crl", "--out", str(full), identity="officer")
    assert result.returncode == 0, result.stderr
    number = json.loads(result.stdout)["crl_number"]
    openssl("crl", "-in", str(full), "-noout", "-CAfile", str(active["issuing"]))
    text = openssl("crl", "-in", str(full), "-noout", "-text").stdout.decode()
    assert revoked.upper() in text.replace(":", "").upper()
    assert "Affiliation Changed" in text and "Freshest CRL" in text
    crl = x509.load_pem_x509_crl(full.read_bytes())
    assert crl.next_update - crl.last_update == datetime.timedelta(hours=24)
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == number

    # The CRL is what openssl uses to refuse the revoked certificate.
    record = call(system, "GetCertificate", ca_pb2.GetCertificateRequest(serial_hex=revoked))
    der = ca_pb2.CertificateRecord.FromString(record.payload).certificate_der
    write_pem(system.root / "revoked.pem", der)
    chain = system.root / "chain-and-crl.pem"
    chain.write_bytes(active["root"].read_bytes() + active["issuing"].read_bytes() + full.read_bytes())
    verdict = openssl("verify", "-crl_check", "-CAfile", str(chain), str(system.root / "revoked.pem"),
                      check=False)
    assert verdict.returncode != 0 and b"revoked" in verdict.stdout + verdict.stderr

    later = issued_serial(system, "cr-crl-2")
    assert revoke(system, later, ca_pb2.REVOCATION_REASON_KEY_COMPROMISE).status == OK
    delta = system.root / "delta.crl"
    result = system.cli("--json", "ca", "crl", "--delta-of", str(number), "--out", str(delta),
                        identity="officer")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["crl_number"] > number
    openssl("crl", "-in", str(delta), "-noout", "-CAfile", str(active["issuing"]))
    delta_crl = x509.load_pem_x509_crl(delta.read_bytes())
    indicator = delta_crl.extensions.get_extension_for_class(x509.DeltaCRLIndicator)
    assert indicator.critical and indicator.value.crl_number == number
    listed = {format(r.serial_number, "032x") for r in delta_crl}
    assert later in listed and revoked not in listed


def sign_crl_raw(system, request_id, identity="officer"):
    client = system.client("ca", identity)
    try:
        reply, raw = client.call("SignCrl", ca_pb2.SignCrlRequest().SerializeToString(),
                                 request_id=request_id, timeout=30.0)
    finally:
        client.close()
    assert reply is not None and reply.status == OK, reply and reply.status_message
    return reply, raw


def test_crl_entries_dates_rounded_to_the_second_and_holds_listed(system, active):
    # The entries are read in binary (COPY): a revocation date keeps the
    # second extract(epoch)::bigint gave, half a second rounding up.
    up, down, held = (issued_serial(system, f"cr-crl-round-{i}") for i in range(3))
    for serial in (up, down):
        assert revoke(system, serial, ca_pb2.REVOCATION_REASON_KEY_COMPROMISE).status == OK
    assert revoke(system, held, ca_pb2.REVOCATION_REASON_CERTIFICATE_HOLD).status == OK
    conn = system.cluster.connect()
    try:
        with conn.cursor() as cur:
            for serial, revoked, invalid in (
                    (up, "2026-01-02 03:04:05.5+00", "2025-12-31 23:59:59.7+00"),
                    (down, "2026-01-02 03:04:05.499999+00", None)):
                cur.execute("UPDATE ca.certificates SET revoked_at = %s, invalidity_date = %s"
                            " WHERE serial_hex = %s", (revoked, invalid, serial))
    finally:
        conn.close()
    reply, _ = sign_crl_raw(system, "it-crl-round")
    crl = x509.load_der_x509_crl(ca_pb2.SignCrlReply.FromString(reply.payload).crl_der)
    entry = crl.get_revoked_certificate_by_serial_number(int(up, 16))
    assert entry.revocation_date == datetime.datetime(2026, 1, 2, 3, 4, 6)   # naive UTC
    invalidity = entry.extensions.get_extension_for_class(x509.InvalidityDate).value
    assert invalidity.invalidity_date == datetime.datetime(2026, 1, 1)
    entry = crl.get_revoked_certificate_by_serial_number(int(down, 16))
    assert entry.revocation_date == datetime.datetime(2026, 1, 2, 3, 4, 5)
    entry = crl.get_revoked_certificate_by_serial_number(int(held, 16))
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason == x509.ReasonFlags.certificate_hold


# The first SignCrl reply of test_signcrl_retry..., for the retry after a
# restart at the end of the module.
FIRST_CRL_REPLY = {}


def test_signcrl_retry_same_reply_crl_stored_once(system, active):
    first, first_raw = sign_crl_raw(system, "it-crl-retry")
    FIRST_CRL_REPLY["raw"] = first_raw
    signed = ca_pb2.SignCrlReply.FromString(first.payload)
    assert signed.crl_der and len(signed.issuer_sha256) == 64
    again, again_raw = sign_crl_raw(system, "it-crl-retry")
    assert again_raw == first_raw                      # the first reply's bytes
    rows = ca_rows(system, "SELECT crl_der FROM ca.crls WHERE issuer_sha256 = %s"
                   " AND crl_number = %s", signed.issuer_sha256, signed.crl_number)
    assert [bytes(r[0]) for r in rows] == [signed.crl_der]
    assert ca_rows(system, "SELECT count(*) FROM ca.crls WHERE crl_number > %s",
                   signed.crl_number) == [(0,)]       # one effect
    # The request id keeps the reply without the DER, which the crls row holds.
    (stored,), = ca_rows(system, "SELECT reply FROM ca.bus_requests WHERE request_id = %s",
                         "it-crl-retry")
    assert len(bytes(stored)) < 1024
    kept = ca_pb2.SignCrlReply.FromString(envelope_pb2.Envelope.FromString(bytes(stored)).payload)
    assert not kept.crl_der and kept.crl_number == signed.crl_number
    # Another identity's request id is another request.
    other, _ = sign_crl_raw(system, "it-crl-retry", identity="publisher")
    assert ca_pb2.SignCrlReply.FromString(other.payload).crl_number == signed.crl_number + 1


def test_chain_from_the_service(system, active):
    out = system.root / "chain"
    out.mkdir()
    result = system.cli("ca", "chain", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert (out / "root.pem").read_bytes() == active["root"].read_bytes()
    assert (out / "issuing.pem").read_bytes() == active["issuing"].read_bytes()


# --- deactivation and restart (last: they drop the key) -------------------

def test_deactivate_then_restart_leave_the_key_inactive(system, active):
    result = system.cli("--json", "ca", "deactivate", identity="alice")
    assert result.returncode == 0 and json.loads(result.stdout)["active"] is False
    assert issue(system, csr_der()[0], request_id="cr-after-deactivate").status == \
        envelope_pb2.STATUS_FAILED_PRECONDITION
    for who in ("alice", "carol"):
        assert activate(system, who, active["shares"][who]).returncode == 0
    assert issue(system, csr_der()[0], request_id="cr-reactivated", holder="h-re").status == OK

    ca = system.services["ca"]
    assert ca.stop() == 0
    ca.start()
    status = json.loads(system.cli("--json", "ca", "status", identity="officer").stdout)
    assert status["active"] is False and status["shares_presented"] == 0
    assert issue(system, csr_der()[0], request_id="cr-after-restart").status == \
        envelope_pb2.STATUS_FAILED_PRECONDITION
    assert activate(system, "carol", active["shares"]["carol"]).returncode == 0
    assert json.loads(system.cli("--json", "ca", "status", identity="officer").stdout)["active"] is False


def test_signcrl_retry_after_a_restart_gets_its_reply_without_the_key(system, active):
    # The ca was restarted above and its key is not active: no new CRL, but
    # a retry of one signed before gets the first reply, its DER read back
    # from the crls row.
    assert "raw" in FIRST_CRL_REPLY, "test_signcrl_retry_same_reply_crl_stored_once did not run"
    client = system.client("ca", "officer")
    try:
        fresh, _ = client.call("SignCrl", ca_pb2.SignCrlRequest().SerializeToString(),
                               request_id="it-crl-after-restart", timeout=30.0)
        again, again_raw = client.call("SignCrl", ca_pb2.SignCrlRequest().SerializeToString(),
                                       request_id="it-crl-retry", timeout=30.0)
    finally:
        client.close()
    assert fresh.status == envelope_pb2.STATUS_FAILED_PRECONDITION
    assert again.status == OK and again_raw == FIRST_CRL_REPLY["raw"]
