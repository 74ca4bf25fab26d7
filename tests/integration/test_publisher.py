"""The publisher: CRLs (full and delta) signed by the ca and served over
HTTP with caching headers, the OCSP responder (RFC 6960) with its delegated
certificate, status from the ca's events with catch-up, the staleness
alert. Checked by independent readers: openssl crl, openssl verify
-crl_check, openssl ocsp, python3-cryptography."""
import base64
import datetime
import email.utils
from http.client import HTTPConnection
import json
import os
import re
import secrets
import stat
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tessera.v1 import ca_pb2, envelope_pb2, publisher_pb2
from tsrtest import System, port_free

OK = envelope_pb2.STATUS_OK
LEVEL2 = ca_pb2.POLICY_LEVEL_TWO_STARS
ALERT_S = 4


@pytest.fixture(scope="module")
def system():
    s = System()
    try:
        s.publish_port = s.port_base + 98
        assert port_free(s.publish_port)
        base = f"http://127.0.0.1:{s.publish_port}"
        # The certificates' URLs point at the publisher's public port.
        s.service_env["ca"] = {
            "TSR_CA_CRL_URL": f"{base}/crl/issuing.crl",
            "TSR_CA_DELTA_CRL_URL": f"{base}/crl/issuing-delta.crl",
            "TSR_CA_ISSUERS_URL": f"{base}/ca/issuing.crt",
            "TSR_CA_OCSP_URL": f"{base}/ocsp",
        }
        s.service_env["publisher"] = {
            "TSR_PUBLISH_PORT": str(s.publish_port),
            "TSR_PUBLISHER_COALESCE_MS": "1000",
            "TSR_PUBLISHER_RETRY_S": "1",
            "TSR_PUBLISHER_ALERT_S": str(ALERT_S),
            "TSR_PUBLISHER_OCSP_DIR": str(s.root / "publisher-ocsp"),
        }
        s.start(["enrollment", "ca", "publisher"])
        for who in ("alice", "bob", "carol"):
            s.add_operator(who, "custodian")
        s.add_operator("operator", "controller")
    except BaseException:
        s.stop()
        raise
    yield s
    s.stop()


# --- helpers -----------------------------------------------------------------

def wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def http(system, path, method="GET", body=None, headers=None, timeout=10):
    request = urllib.request.Request(f"http://127.0.0.1:{system.publish_port}{path}", data=body,
                                     method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def ocsp_post(system, der):
    return http(system, "/ocsp", "POST", der, {"Content-Type": "application/ocsp-request"})


def response_status(body):
    """The OCSPResponseStatus of a DER OCSPResponse."""
    return ocsp.load_der_ocsp_response(body).response_status


def call(system, service, method, message, identity, timeout=30.0):
    client = system.client(service, identity)
    try:
        reply, _ = client.call(method, message.SerializeToString(), timeout=timeout)
    finally:
        client.close()
    assert reply is not None, f"{method}: no reply"
    return reply


def publication_status(system):
    reply = call(system, "publisher", "GetPublicationStatus",
                 publisher_pb2.GetPublicationStatusRequest(), "officer")
    assert reply.status == OK, reply.status_message
    return publisher_pb2.PublicationStatus.FromString(reply.payload)


def metric(system, name):
    return system.services["publisher"].metric(name)


def openssl(*args, check=False):
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=check)


def issue(system, request_id, on_hold=False):
    """A holder certificate, issued by the ca as perso; (serial_hex, PEM path)."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ignored")]))
           .sign(key, hashes.SHA256()))
    message = ca_pb2.IssueCertificateRequest(
        card_request_id=request_id, holder_id=f"h-{request_id}",
        csr_der=csr.public_bytes(serialization.Encoding.DER),
        use=ca_pb2.CERTIFICATE_USE_AUTHENTICATION, level=LEVEL2, on_hold=on_hold,
        subject=ca_pb2.Subject(given_name="Élodie", surname="Dupré",
                               organization="Société Exemple", organization_id="73282932000074"))
    reply = call(system, "ca", "IssueCertificate", message, "perso")
    assert reply.status == OK, reply.status_message
    record = ca_pb2.IssueCertificateReply.FromString(reply.payload).certificate
    path = system.root / f"{request_id}.pem"
    cert = x509.load_der_x509_certificate(record.certificate_der)
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return record.serial_hex, path


def revoke(system, serial, reason=ca_pb2.REVOCATION_REASON_KEY_COMPROMISE):
    reply = call(system, "ca", "RevokeCertificate",
                 ca_pb2.RevokeCertificateRequest(serial_hex=serial, reason=reason), "perso")
    assert reply.status == OK, reply.status_message


def openssl_ocsp(system, active, cert_path, *extra):
    result = openssl("ocsp", "-issuer", str(active["issuing"]), "-cert", str(cert_path),
                     "-url", f"http://127.0.0.1:{system.publish_port}/ocsp",
                     "-CAfile", str(active["chain"]), "-nonce", *extra)
    return result.returncode, result.stdout + result.stderr


def ocsp_says(system, active, cert_path, word):
    """Waits until openssl ocsp reports word ("good", "revoked"); the output."""
    def check():
        code, out = openssl_ocsp(system, active, cert_path)
        return out if code == 0 and f"{cert_path}: {word}" in out else None
    return wait_for(check, what=f"{cert_path.name} {word}")


def fetch_crl(system, delta=False):
    status, headers, body = http(system, f"/crl/issuing{'-delta' if delta else ''}.crl")
    assert status == 200, body
    return x509.load_der_x509_crl(body), body, headers


def utc(naive):
    """cryptography 38 gives naive UTC datetimes."""
    return naive.replace(tzinfo=datetime.timezone.utc)


def crl_number(crl):
    return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def listed(crl):
    return {format(r.serial_number, "032x"): r for r in crl}


# --- the CA's ceremony (as in test_ca.py) ------------------------------------

@pytest.fixture(scope="module")
def active(system):
    out = system.root / "ceremony"
    result = system.cli(
        "--json", "ca", "ceremony", "--org", "Tessera Trust", "--root-cn", "Tessera Root CA",
        "--issuing-cn", "Tessera Issuing CA", "--root-alg", "ec-p384", "--issuing-alg", "ec-p256",
        "--custodian", f"alice={system.keys / 'alice.cert'}",
        "--custodian", f"bob={system.keys / 'bob.cert'}",
        "--custodian", f"carol={system.keys / 'carol.cert'}",
        "--threshold", "2", "--so-pin-file", str(system.hsm.so_pin_file), "--out", str(out),
        identity="officer", timeout=120)
    assert result.returncode == 0, result.stderr
    shares = {name: next((out / name).glob("ca-*.*")) for name in ("alice", "bob", "carol")}
    for who in ("alice", "bob"):
        activated = system.cli("--json", "ca", "activate", "--share", str(shares[who]), identity=who)
        assert activated.returncode == 0, activated.stderr
    chain = system.root / "chain.pem"
    chain.write_bytes((out / "root.pem").read_bytes() + (out / "issuing.pem").read_bytes())
    wait_for(lambda: publication_status(system).ready, what="the publisher to be ready")
    return dict(out=out, root=out / "root.pem", issuing=out / "issuing.pem", chain=chain,
                shares=shares)


# --- before the ca is active --------------------------------------------------

def test_not_ready_until_the_ca_is_active(system):
    # "starting" until the scheduler's first look at the ca, then the ca named.
    def looked():
        status = publication_status(system)
        assert not status.ready
        return status if status.not_ready_reason != "starting" else None
    status = wait_for(looked, what="the publisher's first look at the ca")
    assert "ca" in status.not_ready_reason
    code, headers, _ = http(system, "/crl/issuing.crl")
    assert code == 503 and headers["Retry-After"]
    # Any OCSP request: tryLater, whoever it names.
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "elsewhere")])
    now = datetime.datetime.now(datetime.timezone.utc)
    other = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
             .public_key(key.public_key()).serial_number(7).not_valid_before(now)
             .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    request = ocsp.OCSPRequestBuilder().add_certificate(other, other, hashes.SHA1()).build()
    code, headers, body = ocsp_post(system, request.public_bytes(serialization.Encoding.DER))
    assert code == 200 and headers["Content-Type"] == "application/ocsp-response"
    assert response_status(body) == ocsp.OCSPResponseStatus.TRY_LATER
    assert metric(system, "tessera_publisher_ready") == 0
    # No CRL at all past the alert delay: the alert fires.
    wait_for(lambda: metric(system, "tessera_publisher_crl_stale") == 1, timeout=ALERT_S + 20,
             what="the no-CRL alert")


# --- CRLs over HTTP -------------------------------------------------------------

def test_full_and_delta_crls_verify_with_openssl(system, active):
    for delta in (False, True):
        crl, der, headers = fetch_crl(system, delta)
        path = system.root / f"served{'-delta' if delta else ''}.crl"
        path.write_bytes(der)
        result = openssl("crl", "-inform", "DER", "-in", str(path), "-CAfile", str(active["chain"]),
                         "-noout")
        assert result.returncode == 0 and "verify OK" in result.stderr, result.stderr
        assert headers["Content-Type"] == "application/pkix-crl"
        assert crl.next_update - crl.last_update == datetime.timedelta(hours=24 if not delta else 7)
    full, _, _ = fetch_crl(system)
    delta, _, _ = fetch_crl(system, True)
    freshest = full.extensions.get_extension_for_class(x509.FreshestCRL).value
    assert freshest[0].full_name[0].value.endswith("/crl/issuing-delta.crl")
    indicator = delta.extensions.get_extension_for_class(x509.DeltaCRLIndicator)
    assert indicator.critical and indicator.value.crl_number <= crl_number(full) < crl_number(delta)


def test_crl_caching_headers(system, active):
    crl, der, headers = fetch_crl(system)
    assert email.utils.parsedate_to_datetime(headers["Last-Modified"]) == utc(crl.last_update)
    assert email.utils.parsedate_to_datetime(headers["Expires"]) == utc(crl.next_update)
    max_age = int(re.search(r"max-age=(\d+)", headers["Cache-Control"]).group(1))
    assert "public" in headers["Cache-Control"]
    remaining = (utc(crl.next_update) - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    assert 0 < max_age <= min(900, remaining + 1)
    etag = headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    code, again, body = http(system, "/crl/issuing.crl", headers={"If-None-Match": etag})
    assert code == 304 and body == b"" and again["ETag"] == etag
    code, head, body = http(system, "/crl/issuing.crl", method="HEAD")
    assert code == 200 and body == b"" and int(head["Content-Length"]) == len(der)


def test_ca_certificates_and_issuer_names(system, active):
    issuing = x509.load_pem_x509_certificate(active["issuing"].read_bytes())
    root = x509.load_pem_x509_certificate(active["root"].read_bytes())
    code, headers, body = http(system, "/ca/issuing.crt")
    assert code == 200 and headers["Content-Type"] == "application/pkix-cert"
    assert body == issuing.public_bytes(serialization.Encoding.DER)
    code, _, body = http(system, "/ca/root.crt")
    assert code == 200 and body == root.public_bytes(serialization.Encoding.DER)
    # The issuer's other name: 16 hex digits of its certificate's SHA-256.
    name = issuing.fingerprint(hashes.SHA256()).hex()[:16]
    for path in (f"/crl/{name}.crl", f"/crl/{name}-delta.crl", f"/ca/{name}.crt"):
        assert http(system, path)[0] == 200, path
    assert http(system, "/crl/0123456789abcdef.crl")[0] == 404
    assert http(system, "/crl/../etc/passwd")[0] == 404
    assert http(system, "/crl/issuing.crl", method="POST", body=b"x")[0] == 405


# --- OCSP -------------------------------------------------------------------

@pytest.fixture(scope="module")
def holder(system, active):
    serial, path = issue(system, "cr-holder")
    return dict(serial=serial, path=path)


def test_ocsp_good_with_verified_signature_and_nonce(system, active, holder):
    out = ocsp_says(system, active, holder["path"], "good")
    assert "Response verify OK" in out
    assert "WARNING" not in out and "nonce" not in out.lower()
    assert "This Update" in out and "Next Update" in out


def test_ocsp_response_is_signed_by_the_delegated_responder(system, active, holder):
    cert = x509.load_pem_x509_certificate(holder["path"].read_bytes())
    issuing = x509.load_pem_x509_certificate(active["issuing"].read_bytes())
    nonce = secrets.token_bytes(16)
    request = (ocsp.OCSPRequestBuilder().add_certificate(cert, issuing, hashes.SHA256())
               .add_extension(x509.OCSPNonce(nonce), critical=False).build())
    code, headers, body = ocsp_post(system, request.public_bytes(serialization.Encoding.DER))
    assert code == 200 and headers["Content-Type"] == "application/ocsp-response"
    response = ocsp.load_der_ocsp_response(body)
    assert response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert response.hash_algorithm.name == "sha256"
    assert response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == nonce
    assert response.next_update > response.this_update
    [responder] = response.certificates
    eku = responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.OCSP_SIGNING]
    responder.extensions.get_extension_for_oid(x509.ObjectIdentifier("1.3.6.1.5.5.7.48.1.5"))
    assert responder.issuer == issuing.subject
    issuing.public_key().verify(responder.signature, responder.tbs_certificate_bytes,
                                ec.ECDSA(responder.signature_hash_algorithm))
    responder.public_key().verify(response.signature, response.tbs_response_bytes,
                                  ec.ECDSA(hashes.SHA256()))
    # The responder's key is the publisher's own, in a private file.
    folder = system.root / "publisher-ocsp"
    key_file = folder / "ocsp-responder.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    key = serialization.load_pem_private_key(key_file.read_bytes(), None)
    assert key.public_key().public_numbers() == responder.public_key().public_numbers()


def test_ocsp_get_form(system, active, holder):
    request_file = system.root / "get-request.der"
    result = openssl("ocsp", "-issuer", str(active["issuing"]), "-cert", str(holder["path"]),
                     "-nonce", "-reqout", str(request_file))
    assert result.returncode == 0, result.stderr
    encoded = urllib.parse.quote(base64.b64encode(request_file.read_bytes()).decode(), safe="")
    code, headers, body = http(system, f"/ocsp/{encoded}")
    assert code == 200 and headers["Content-Type"] == "application/ocsp-response"
    response_file = system.root / "get-response.der"
    response_file.write_bytes(body)
    # openssl checks the signature and prints the status (it would make a
    # request of its own from -cert, so the nonce is compared here).
    result = openssl("ocsp", "-respin", str(response_file), "-issuer", str(active["issuing"]),
                     "-cert", str(holder["path"]), "-CAfile", str(active["chain"]), "-no_nonce")
    out = result.stdout + result.stderr
    assert result.returncode == 0 and "Response verify OK" in out, out
    assert f"{holder['path']}: good" in out
    sent = ocsp.load_der_ocsp_request(request_file.read_bytes())
    got = ocsp.load_der_ocsp_response(body)
    assert got.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == \
        sent.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    # Without a nonce the answer is the same for everyone: cacheable.
    cert = x509.load_pem_x509_certificate(holder["path"].read_bytes())
    issuing = x509.load_pem_x509_certificate(active["issuing"].read_bytes())
    plain = ocsp.OCSPRequestBuilder().add_certificate(cert, issuing, hashes.SHA1()).build()
    encoded = base64.b64encode(plain.public_bytes(serialization.Encoding.DER)).decode()
    code, headers, body = http(system, f"/ocsp/{encoded}")      # '/' and '+' left as they are
    assert code == 200 and response_status(body) == ocsp.OCSPResponseStatus.SUCCESSFUL
    response = ocsp.load_der_ocsp_response(body)
    assert email.utils.parsedate_to_datetime(headers["Expires"]) == utc(response.next_update)
    assert "max-age=" in headers["Cache-Control"] and "public" in headers["Cache-Control"]


def test_http_keeps_the_connection_for_the_next_request(system, active, holder):
    """HTTP/1.1 clients (OCSP relying parties, CRL fetchers) send their
    requests on one connection: GETs, HEADs and OCSP POSTs are answered
    without closing it; a GET with a body is refused and the connection
    closed (the body is not read)."""
    cert = x509.load_pem_x509_certificate(holder["path"].read_bytes())
    issuing = x509.load_pem_x509_certificate(active["issuing"].read_bytes())
    der = (ocsp.OCSPRequestBuilder().add_certificate(cert, issuing, hashes.SHA1()).build()
           .public_bytes(serialization.Encoding.DER))
    encoded = urllib.parse.quote(base64.b64encode(der).decode(), safe="")
    connection = HTTPConnection("127.0.0.1", system.publish_port, timeout=10)
    try:
        requests = [("GET", f"/ocsp/{encoded}", None, {}, 200),
                    ("GET", "/crl/issuing.crl", None, {}, 200),
                    ("HEAD", "/ca/issuing.crt", None, {}, 200),
                    ("GET", "/nowhere", None, {}, 404),
                    ("POST", "/ocsp", der, {"Content-Type": "application/ocsp-request"}, 200),
                    ("GET", f"/ocsp/{encoded}", None, {}, 200)]
        sock = None
        for method, path, body, headers, expected in requests:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            assert response.status == expected, (method, path, answer)
            assert (response.getheader("Connection") or "").lower() != "close", (method, path)
            if path.startswith("/ocsp"):
                assert response_status(answer) == ocsp.OCSPResponseStatus.SUCCESSFUL
            assert sock is None or connection.sock is sock, (method, path)
            sock = connection.sock
        connection.request("GET", "/crl/issuing.crl", body=b"x" * 10)
        response = connection.getresponse()
        assert response.status == 400 and b"no body" in response.read()
        assert (response.getheader("Connection") or "").lower() == "close"
    finally:
        connection.close()


def test_unknown_serial_is_unknown(system, active):
    result = openssl("ocsp", "-issuer", str(active["issuing"]), "-serial", "0x" + "5a" * 16,
                     "-url", f"http://127.0.0.1:{system.publish_port}/ocsp",
                     "-CAfile", str(active["chain"]), "-nonce")
    out = result.stdout + result.stderr
    assert result.returncode == 0 and "Response verify OK" in out, out
    assert ": unknown" in out


def test_revocation_reaches_ocsp_full_and_delta_crls(system, active, holder):
    good_serial, good_path = issue(system, "cr-stays-good")
    before, _, _ = fetch_crl(system)
    assert holder["serial"] not in listed(before)
    revoke(system, holder["serial"])
    out = ocsp_says(system, active, holder["path"], "revoked")
    assert "Response verify OK" in out and "Reason: keyCompromise" in out
    assert "Revocation Time" in out and "WARNING" not in out

    # A full CRL after the coalescing delay lists it; openssl refuses the
    # certificate with it and still accepts a good one.
    full = wait_for(lambda: (lambda c: c if holder["serial"] in listed(c) else None)(fetch_crl(system)[0]),
                    what="a full CRL listing the revocation")
    assert crl_number(full) > crl_number(before)
    entry = listed(full)[holder["serial"]]
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.key_compromise
    bundle = system.root / "chain-and-crl.pem"
    bundle.write_bytes(active["chain"].read_bytes() + full.public_bytes(serialization.Encoding.PEM))
    verdict = openssl("verify", "-crl_check", "-CAfile", str(bundle), str(holder["path"]))
    assert verdict.returncode != 0 and "revoked" in verdict.stdout + verdict.stderr
    verdict = openssl("verify", "-crl_check", "-CAfile", str(bundle), str(good_path))
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr

    # The delta lists the revocation made after the last full CRL before it,
    # and can be applied to that one (its base is not newer).
    delta, der, _ = fetch_crl(system, True)
    assert holder["serial"] in listed(delta)
    base = delta.extensions.get_extension_for_class(x509.DeltaCRLIndicator).value.crl_number
    assert base <= crl_number(before) and crl_number(delta) > crl_number(full)
    path = system.root / "after-revocation-delta.crl"
    path.write_bytes(der)
    result = openssl("crl", "-inform", "DER", "-in", str(path), "-CAfile", str(active["chain"]),
                     "-noout")
    assert result.returncode == 0 and "verify OK" in result.stderr
    assert metric(system, "tessera_publisher_crl_stale") == 0


def test_on_hold_answers_certificate_hold_until_released(system, active):
    serial, path = issue(system, "cr-on-hold", on_hold=True)
    out = ocsp_says(system, active, path, "revoked")
    assert "Reason: certificateHold" in out
    revoke(system, serial, ca_pb2.REVOCATION_REASON_REMOVE_FROM_CRL)
    ocsp_says(system, active, path, "good")
    delta = wait_for(lambda: (lambda c: c if serial in listed(c) else None)(fetch_crl(system, True)[0]),
                     what="a delta listing the release")
    assert listed(delta)[serial].extensions.get_extension_for_class(x509.CRLReason).value.reason \
        == x509.ReasonFlags.remove_from_crl


def test_malformed_requests_get_ocsp_errors_and_the_responder_keeps_serving(system, active, holder):
    cert = x509.load_pem_x509_certificate(holder["path"].read_bytes())
    issuing = x509.load_pem_x509_certificate(active["issuing"].read_bytes())
    valid = (ocsp.OCSPRequestBuilder().add_certificate(cert, issuing, hashes.SHA1()).build()
             .public_bytes(serialization.Encoding.DER))
    # A certificate of another CA: the issuer hash is not ours.
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Another CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    stranger = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(int(holder["serial"], 16))
                .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
                .sign(key, hashes.SHA256()))
    foreign = (ocsp.OCSPRequestBuilder().add_certificate(stranger, stranger, hashes.SHA1()).build()
               .public_bytes(serialization.Encoding.DER))
    long_nonce = (ocsp.OCSPRequestBuilder().add_certificate(cert, issuing, hashes.SHA1())
                  .add_extension(x509.OCSPNonce(b"n" * 33), critical=False).build()
                  .public_bytes(serialization.Encoding.DER))
    before = publication_status(system).issuers[0].ocsp.malformed_requests
    cases = {
        "garbage": (b"GET / HTTP/1.0 this is not DER", ocsp.OCSPResponseStatus.MALFORMED_REQUEST),
        "empty": (b"", ocsp.OCSPResponseStatus.MALFORMED_REQUEST),
        "truncated": (valid[:-7], ocsp.OCSPResponseStatus.MALFORMED_REQUEST),
        "trailing bytes": (valid + b"\x00\x00", ocsp.OCSPResponseStatus.MALFORMED_REQUEST),
        "1 MiB": (b"\x30\x84" + os.urandom(1024 * 1024), ocsp.OCSPResponseStatus.MALFORMED_REQUEST),
        "nonce of 33 octets": (long_nonce, ocsp.OCSPResponseStatus.MALFORMED_REQUEST),
        "unknown issuer hash": (foreign, ocsp.OCSPResponseStatus.UNAUTHORIZED),
    }
    for case, (body, expected) in cases.items():
        code, headers, answer = ocsp_post(system, body)
        assert code == 200 and headers["Content-Type"] == "application/ocsp-response", case
        assert response_status(answer) == expected, case
    for bad in ("not*base64", "QUJD%ZZ", "MA%3D%3D%3D%3D"):
        code, _, answer = http(system, f"/ocsp/{bad}")
        assert code == 200 and response_status(answer) == ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    assert http(system, "/ocsp")[0] == 405
    # Still serving.
    code, _, answer = ocsp_post(system, valid)
    assert response_status(answer) == ocsp.OCSPResponseStatus.SUCCESSFUL
    ocsp_says(system, active, holder["path"], "revoked")
    status = publication_status(system)
    assert status.issuers[0].ocsp.malformed_requests >= before + 9


# --- the bus: status, history, publish now -------------------------------------

def test_publish_now_history_and_roles(system, active):
    before = fetch_crl(system)[0]
    reply = call(system, "publisher", "PublishNow",
                 publisher_pb2.PublishNowRequest(reason="test: publish now"), "officer")
    assert reply.status == OK, reply.status_message
    made = publisher_pb2.PublishNowReply.FromString(reply.payload).crls
    assert [c.kind for c in made] == [publisher_pb2.CRL_KIND_FULL, publisher_pb2.CRL_KIND_DELTA]
    assert made[0].crl_number > crl_number(before)
    assert all(c.trigger == publisher_pb2.CRL_TRIGGER_OPERATOR for c in made)
    assert made[0].url == f"http://127.0.0.1:{system.publish_port}/crl/issuing.crl"
    assert crl_number(fetch_crl(system)[0]) == made[0].crl_number

    reply = call(system, "publisher", "GetCrl",
                 publisher_pb2.GetCrlRequest(include_der=True), "operator")
    assert reply.status == OK, reply.status_message
    info = publisher_pb2.CrlInfo.FromString(reply.payload)
    assert info.crl_number == made[0].crl_number and info.crl_der == fetch_crl(system)[1]
    assert info.publication_delay_ms >= 0 and info.published_at_unix_ms >= info.generated_at_unix_ms

    reply = call(system, "publisher", "ListCrls", publisher_pb2.ListCrlsRequest(limit=3), "officer")
    page = publisher_pb2.ListCrlsReply.FromString(reply.payload)
    assert len(page.crls) == 3 and page.next_page_token
    numbers = [c.crl_number for c in page.crls]
    assert numbers == sorted(numbers, reverse=True)
    reply = call(system, "publisher", "ListCrls",
                 publisher_pb2.ListCrlsRequest(limit=3, page_token=page.next_page_token), "officer")
    following = publisher_pb2.ListCrlsReply.FromString(reply.payload)
    assert following.crls and following.crls[0].crl_number < numbers[-1]

    # A controller reads but does not publish; a key without a role does neither.
    assert call(system, "publisher", "GetPublicationStatus",
                publisher_pb2.GetPublicationStatusRequest(), "operator").status == OK
    denied = call(system, "publisher", "PublishNow", publisher_pb2.PublishNowRequest(), "operator")
    assert denied.status == envelope_pb2.STATUS_PERMISSION_DENIED
    denied = call(system, "publisher", "GetCrl", publisher_pb2.GetCrlRequest(), "client")
    assert denied.status == envelope_pb2.STATUS_PERMISSION_DENIED


def test_cli(system, active):
    result = system.cli("--json", "publisher", "status", identity="operator")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["ready"] is True and status["full_crl_number"] > 0
    assert status["ocsp_url"].endswith("/ocsp") and not status["publication_late"]

    result = system.cli("--json", "publisher", "publish", "--reason", "cli test", identity="officer")
    assert result.returncode == 0, result.stderr
    made = [json.loads(line) for line in result.stdout.splitlines()]
    assert [c["kind"] for c in made] == ["full", "delta"]
    assert all(c["trigger"] == "operator" for c in made)
    result = system.cli("--json", "publisher", "publish", "--delta", identity="officer")
    assert [json.loads(line)["kind"] for line in result.stdout.splitlines()] == ["delta"]

    result = system.cli("--json", "publisher", "crls", "--full", "--limit", "2", identity="officer")
    listed_crls = [json.loads(line) for line in result.stdout.splitlines()]
    assert [c["crl_number"] for c in listed_crls][0] == made[0]["crl_number"]
    assert all(c["kind"] == "full" for c in listed_crls) and len(listed_crls) == 2

    out = system.root / "cli.crl"
    result = system.cli("--json", "publisher", "crl", "--out", str(out), identity="officer")
    assert result.returncode == 0, result.stderr
    result = openssl("crl", "-in", str(out), "-CAfile", str(active["chain"]), "-noout")
    assert result.returncode == 0 and "verify OK" in result.stderr
    assert crl_number(x509.load_pem_x509_crl(out.read_bytes())) == made[0]["crl_number"]

    denied = system.cli("publisher", "publish", identity="operator")
    assert denied.returncode != 0 and "PERMISSION_DENIED" in denied.stderr


def test_status_events_and_metrics(system, active):
    status = publication_status(system)
    assert status.ready and status.ca_event_seq > 0
    [issuer] = status.issuers
    assert issuer.issuer == "issuing" and len(issuer.issuer_sha256) == 64
    assert issuer.latest_full.crl_number and not issuer.publication_late
    assert issuer.ocsp.responder_serial_hex and issuer.ocsp.requests_served > 0
    assert issuer.ocsp.renew_after_unix < issuer.ocsp.responder_not_after_unix
    assert issuer.coalesce_delay_ms == 1000
    assert metric(system, "tessera_publisher_ready") == 1
    samples = system.services["publisher"].metrics()
    full = {name: value for (name, labels), value in samples.items() if ("kind", "full") in labels}
    assert full["tessera_publisher_crl_publication_delay_seconds_count"] >= 1
    assert "tessera_publisher_last_publication_delay_seconds" in full
    conn = system.cluster.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM publisher.outbox WHERE type = 'crl.published'")
            assert cur.fetchone()[0] >= 4
            cur.execute("SELECT count(*) FROM publisher.audit_log WHERE action = 'publisher.crl_published'")
            assert cur.fetchone()[0] >= 4
            cur.execute("SELECT subject FROM publisher.audit_log"
                        " WHERE action = 'publisher.responder_certified'")
            assert [row[0] for row in cur.fetchall()] == [issuer.ocsp.responder_serial_hex]
            cur.execute("SELECT count(*) FROM publisher.audit_log WHERE action = 'publisher.publish_now'")
            assert cur.fetchone()[0] >= 2
    finally:
        conn.close()
    result = system.cli("--json", "audit", "verify", "--service", "publisher")
    assert result.returncode == 0, result.stdout + result.stderr


# --- restart and staleness (last: they stop things) -----------------------------

def responder_serial(system):
    return publication_status(system).issuers[0].ocsp.responder_serial_hex


def test_responder_files_across_restarts(system, active, holder):
    publisher = system.services["publisher"]
    folder = system.root / "publisher-ocsp"
    first = responder_serial(system)
    # The certificate file lost: the same key asks again, the ca gives the
    # same certificate back.
    assert publisher.stop() == 0
    (folder / "ocsp-responder.pem").unlink()
    publisher.start()
    wait_for(lambda: publication_status(system).ready, what="ready again")
    assert responder_serial(system) == first
    # A key file others may read: the publisher refuses to start, and says why.
    assert publisher.stop() == 0
    os.chmod(folder / "ocsp-responder.key", 0o644)
    publisher.start(wait=False)
    assert publisher.proc.wait(20) == 1
    assert "chmod 600" in publisher.log()
    # A new key (the old one removed): a new certificate, and OCSP goes on.
    (folder / "ocsp-responder.key").unlink()
    publisher.start()
    wait_for(lambda: publication_status(system).ready, what="ready with a new key")
    assert responder_serial(system) != first
    assert stat.S_IMODE((folder / "ocsp-responder.key").stat().st_mode) == 0o600
    ocsp_says(system, active, holder["path"], "revoked")


def test_restart_after_a_revocation_still_knows_it(system, active):
    serial, path = issue(system, "cr-while-down")
    ocsp_says(system, active, path, "good")
    number = crl_number(fetch_crl(system)[0])
    publisher = system.services["publisher"]
    assert publisher.stop() == 0
    revoke(system, serial, ca_pb2.REVOCATION_REASON_SUPERSEDED)
    publisher.start()
    out = ocsp_says(system, active, path, "revoked")
    assert "Reason: superseded" in out
    full = wait_for(lambda: (lambda c: c if serial in listed(c) else None)(fetch_crl(system)[0]),
                    what="a CRL listing the revocation made while the publisher was down")
    assert crl_number(full) > number


def test_staleness_alert_fires_while_the_ca_cannot_sign(system, active):
    result = system.cli("--json", "ca", "deactivate", identity="alice")
    assert result.returncode == 0, result.stderr
    # Issuance needs the key: revoke a certificate issued before.
    good = system.root / "cr-stays-good.pem"
    good_serial = format(x509.load_pem_x509_certificate(good.read_bytes()).serial_number, "032x")
    revoke(system, good_serial, ca_pb2.REVOCATION_REASON_CESSATION_OF_OPERATION)
    # OCSP knows at once: the status does not need the CA key.
    ocsp_says(system, active, good, "revoked")
    wait_for(lambda: metric(system, "tessera_publisher_crl_stale") == 1, timeout=ALERT_S + 20,
             what="the staleness alert")
    issuer = publication_status(system).issuers[0]
    assert issuer.publication_late and "revocation" in issuer.late_reason
    assert issuer.revocation_pending_since_unix_ms > 0
    assert good_serial not in listed(fetch_crl(system)[0])
    for who in ("alice", "bob"):
        activated = system.cli("--json", "ca", "activate", "--share", str(active["shares"][who]),
                               identity=who)
        assert activated.returncode == 0, activated.stderr
    wait_for(lambda: good_serial in listed(fetch_crl(system)[0]), what="publication after activation")
    wait_for(lambda: metric(system, "tessera_publisher_crl_stale") == 0, what="the alert to clear")
    assert not publication_status(system).issuers[0].publication_late
