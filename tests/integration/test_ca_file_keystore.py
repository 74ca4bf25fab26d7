"""The CA's second key store: encrypted PKCS#8 files. The passphrase is
shared like the token PIN; openssl, given the secret gfcombine rebuilds
from two custodians' shares, opens the key files independently."""
import json
import stat
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from tessera.v1 import ca_pb2, envelope_pb2
from tsrtest import System
from test_ca import activate, csr_der, holder_subject


@pytest.fixture(scope="module")
def system():
    s = System()
    s.service_env["ca"] = {"TSR_CA_KEYSTORE": "file"}
    try:
        s.start(["enrollment", "ca"])
        for who in ("alice", "bob", "carol"):
            s.add_operator(who, "custodian")
    except BaseException:
        s.stop()
        raise
    yield s
    s.stop()


def test_file_keystore_ceremony_activation_and_issuance(system):
    out = system.root / "ceremony"
    result = system.cli(
        "--json", "ca", "ceremony", "--org", "Tessera Trust", "--root-cn", "File Root",
        "--issuing-cn", "File Issuing", "--root-alg", "rsa-3072", "--issuing-alg", "rsa-3072",
        "--custodian", f"alice={system.keys / 'alice.cert'}",
        "--custodian", f"bob={system.keys / 'bob.cert'}",
        "--custodian", f"carol={system.keys / 'carol.cert'}",
        "--out", str(out), identity="officer", timeout=180)
    assert result.returncode == 0, result.stderr
    made = json.loads(result.stdout)
    root = x509.load_pem_x509_certificate((out / "root.pem").read_bytes())
    assert isinstance(root.public_key(), rsa.RSAPublicKey) and root.public_key().key_size == 3072

    keys = sorted((system.root / "ca-keys").glob("*.key"))
    assert [k.name.split("-")[0] for k in keys] == ["issuing", "root"]
    shares = {who: next((out / who).glob("ca-*")) for who in ("alice", "bob", "carol")}
    secret = system.root / "secret"
    subprocess.run(["gfcombine", "-o", str(secret), str(shares["alice"]), str(shares["carol"])],
                   check=True)
    for share in shares.values():
        system.secret(share.read_bytes())
    system.secret(secret.read_text().strip())           # the key files' passphrase
    for key in keys:
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert b"ENCRYPTED PRIVATE KEY" in key.read_bytes()
        opened = subprocess.run(["openssl", "pkey", "-in", str(key), "-passin", f"file:{secret}",
                                 "-noout"], capture_output=True)
        assert opened.returncode == 0, opened.stderr
        wrong = subprocess.run(["openssl", "pkey", "-in", str(key), "-passin", "pass:wrong",
                                "-noout"], capture_output=True)
        assert wrong.returncode != 0
    secret.unlink()

    for who in ("bob", "carol"):
        assert activate(system, who, shares[who]).returncode == 0
    client = system.client("ca", "perso")
    try:
        message = ca_pb2.IssueCertificateRequest(
            card_request_id="file-1", holder_id="h-file", csr_der=csr_der()[0],
            use=ca_pb2.CERTIFICATE_USE_AUTHENTICATION, level=ca_pb2.POLICY_LEVEL_TWO_STARS,
            subject=holder_subject())
        reply, _ = client.call("IssueCertificate", message.SerializeToString(), timeout=10.0)
    finally:
        client.close()
    assert reply.status == envelope_pb2.STATUS_OK, reply.status_message
    der = ca_pb2.IssueCertificateReply.FromString(reply.payload).certificate.certificate_der
    (system.root / "holder.der").write_bytes(der)
    pem = subprocess.run(["openssl", "x509", "-inform", "DER", "-in", str(system.root / "holder.der")],
                         capture_output=True, check=True).stdout
    (system.root / "holder.pem").write_bytes(pem)
    subprocess.run(["openssl", "verify", "-CAfile", str(out / "root.pem"), "-untrusted",
                    str(out / "issuing.pem"), str(system.root / "holder.pem")], check=True)
    assert made["threshold"] == 2
