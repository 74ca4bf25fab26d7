"""The virtual PIV card (tools/vcard) in the real PC/SC stack: a private
pcscd with Debian's vpcd driver, the card as a process, and independent
clients: OpenSC (opensc-tool, pkcs15-tool, pkcs11-tool with
opensc-pkcs11.so), Yubico's yubico-piv-tool, pyscard for raw APDUs and
openssl to check signatures.

yubico-piv-tool 2.2.0's selfsign-certificate is broken with OpenSSL 3
(Yubico/yubico-piv-tool#388), so the certificates written here are made by
a throwaway CA with `openssl x509 -req -force_pubkey <card's public key>`;
the card's own signatures are made through pkcs11-tool."""
import subprocess
import time

import pytest

from pcsc import CardSession, Pcsc, PcscError, VirtualCard, mutual_auth  # noqa: F401 (re-exported)

PKCS11 = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
TRANSPORT_KEY = "010203040506070801020304050607080102030405060708"
PIV_AID = "A000000308000010000100"


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("vcard")


@pytest.fixture(scope="module")
def pcsc(work):
    p = Pcsc(work)
    try:
        p.start()
    except BaseException:
        p.stop()
        raise
    yield p
    p.stop()


@pytest.fixture(scope="module")
def card(pcsc, work):
    c = VirtualCard(pcsc, work / "card.state")
    c.init()
    c.insert()
    yield c
    c.remove(wait=False)


@pytest.fixture(scope="module")
def ca(work):
    """A throwaway CA that certifies the card's public keys."""
    key, cert = work / "ca.key", work / "ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-subj", "/CN=vcard test CA", "-days", "2"],
                   check=True, capture_output=True)
    return key, cert


def run(pcsc, *args, check=True, input=None):
    result = subprocess.run(list(args), env=pcsc.env(), capture_output=True, text=True,
                            input=input, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


def ypt(pcsc, *args, check=True):
    return run(pcsc, "yubico-piv-tool", "-r", "Virtual", *args, check=check)


def certify(ca, work, public_pem, name):
    """A certificate from the test CA for a public key the card made."""
    ca_key, ca_cert = ca
    csr = subprocess.run(["openssl", "req", "-new", "-key", str(ca_key), "-subj", f"/CN={name}"],
                         check=True, capture_output=True).stdout
    cert = work / f"{name}.pem"
    subprocess.run(["openssl", "x509", "-req", "-CA", str(ca_cert), "-CAkey", str(ca_key),
                    "-CAcreateserial", "-force_pubkey", str(public_pem), "-days", "2",
                    "-out", str(cert)], input=csr, check=True, capture_output=True)
    return cert


def sign_and_verify(pcsc, work, key_id, mechanism, public_pem, pin="123456"):
    """Signs with the card through OpenSC's PKCS#11 module and checks the
    signature with openssl against the public key."""
    data = work / "data.txt"
    data.write_text(f"signed by key {key_id} at {time.time()}\n")
    sig = work / f"sig-{key_id}"
    args = ["pkcs11-tool", "--module", PKCS11, "--login", "--pin", pin, "--sign",
            "--id", key_id, "-m", mechanism, "-i", str(data), "-o", str(sig)]
    if mechanism.startswith("ECDSA"):
        args += ["--signature-format", "openssl"]
    run(pcsc, *args)
    verified = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(public_pem),
                               "-signature", str(sig), str(data)], capture_output=True, text=True)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "Verified OK" in verified.stdout


def cert_public_key(cert, out):
    pem = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-pubkey"],
                         check=True, capture_output=True).stdout
    out.write_bytes(pem)
    return out


def der(cert_pem):
    return subprocess.run(["openssl", "x509", "-in", str(cert_pem), "-outform", "DER"],
                          check=True, capture_output=True).stdout


# -- tests, in order: each builds on the card the previous ones left -------

def test_opensc_and_yubico_see_a_generic_piv_card(pcsc, card):
    atr = run(pcsc, "opensc-tool", "--atr").stdout
    assert "3b:89:81:31:fe:45:80:57:74:65:73:73:65:72:61:32" in atr
    assert "Personal Identity Verification Card" in run(pcsc, "opensc-tool", "--name").stdout
    info = card.show()
    status = ypt(pcsc, "-a", "status").stdout
    assert f"Serial Number:\t{info['serial']}" in status
    assert "PIN tries left:\t3" in status
    # The CHUID carries the card's GUID, which OpenSC reports as the serial.
    dump = run(pcsc, "pkcs15-tool", "--dump").stdout
    assert info["guid"] in dump.lower()


def test_writes_refused_without_management_key(pcsc, card, work):
    wrong_key = "11" * 24
    result = ypt(pcsc, f"--key={wrong_key}", "-a", "generate", "-s", "9a", "-A", "ECCP256",
                 "-o", str(work / "never.pem"), check=False)
    assert result.returncode != 0
    with CardSession(pcsc) as s:
        s.select_piv()
        _, sw = s.transmit("00DB3FFF095C035FC1025302340000")
        assert sw == 0x6982
        _, sw = s.transmit("0047009A05AC0380011100")
        assert sw == 0x6982
        _, sw = s.transmit("00FFFFFF1B039B18" + "22" * 24)
        assert sw == 0x6982
        # The wrong key fails mutual authentication itself.
        assert mutual_auth(s, 0x03, bytes.fromhex(wrong_key)) == 0x6982
    assert card.show()["keys"] == {}


def test_p256_key_certificate_and_signature(pcsc, card, work, ca):
    public = work / "9a.pub.pem"
    ypt(pcsc, f"--key={TRANSPORT_KEY}", "-a", "generate", "-s", "9a", "-A", "ECCP256", "-o", str(public))
    cert = certify(ca, work, public, "holder-auth")
    ypt(pcsc, f"--key={TRANSPORT_KEY}", "-a", "import-certificate", "-s", "9a", "-i", str(cert))
    listing = run(pcsc, "pkcs15-tool", "--list-certificates").stdout
    assert "Certificate for PIV Authentication" in listing
    read = run(pcsc, "pkcs15-tool", "--read-certificate", "01").stdout
    (work / "read-9a.pem").write_text(read)
    assert der(work / "read-9a.pem") == der(cert)
    keys = run(pcsc, "pkcs15-tool", "--list-keys").stdout
    assert "Private EC Key [PIV AUTH key]" in keys
    sign_and_verify(pcsc, work, "01", "ECDSA-SHA256", cert_public_key(cert, work / "9a.cert.pub"))


def test_rsa2048_key_certificate_and_signature(pcsc, card, work, ca):
    public = work / "9c.pub.pem"
    ypt(pcsc, f"--key={TRANSPORT_KEY}", "-a", "generate", "-s", "9c", "-A", "RSA2048", "-o", str(public))
    cert = certify(ca, work, public, "holder-sign")
    ypt(pcsc, f"--key={TRANSPORT_KEY}", "-a", "import-certificate", "-s", "9c", "-i", str(cert))
    listing = run(pcsc, "pkcs15-tool", "--list-certificates").stdout
    assert "Certificate for Digital Signature" in listing
    assert card.show()["keys"] == {"9a": "eccp256", "9c": "rsa2048"}
    # 9C is PIN "always": OpenSC logs in again for the operation by itself.
    sign_and_verify(pcsc, work, "02", "SHA256-RSA-PKCS", cert_public_key(cert, work / "9c.cert.pub"))


def test_remove_and_reinsert_keeps_keys_and_certificates(pcsc, card, work):
    assert card.remove() == 0
    assert not pcsc.card_present()
    card.insert()
    listing = run(pcsc, "pkcs15-tool", "--list-certificates").stdout
    assert "Certificate for PIV Authentication" in listing
    assert "Certificate for Digital Signature" in listing
    sign_and_verify(pcsc, work, "01", "ECDSA-SHA256", work / "9a.cert.pub")
    sign_and_verify(pcsc, work, "02", "SHA256-RSA-PKCS", work / "9c.cert.pub")


def test_signature_refused_without_pin(pcsc, card):
    with CardSession(pcsc) as s:
        s.reset()
        s.select_piv()
        _, sw = s.transmit("0087119A267C2482008120" + "11" * 32 + "00")
        assert sw == 0x6982
        _, sw = s.transmit("002000800831323334353 6FFFF".replace(" ", ""))
        assert sw == 0x9000
        data, sw = s.transmit_all("0087119A267C2482008120" + "11" * 32 + "00")
        assert sw == 0x9000 and data[0] == 0x7C
        # A reset forgets the PIN.
        s.reset()
        _, sw = s.transmit("0020008000")
        assert sw == 0x63C3


def test_pin_blocks_after_three_wrong_and_puk_unblocks(pcsc, card, work):
    ypt(pcsc, "-a", "verify-pin", "-P", "000000", check=False)
    assert card.show()["pin_tries_left"] == 2
    # The counter survives the card leaving the reader.
    card.remove()
    card.insert()
    assert "PIN tries left:\t2" in ypt(pcsc, "-a", "status").stdout
    for _ in range(2):
        assert ypt(pcsc, "-a", "verify-pin", "-P", "000000", check=False).returncode != 0
    assert card.show()["pin_tries_left"] == 0
    # Blocked: the right PIN no longer works, and neither does OpenSC's login.
    assert ypt(pcsc, "-a", "verify-pin", "-P", "123456", check=False).returncode != 0
    login = run(pcsc, "pkcs11-tool", "--module", PKCS11, "--login", "--pin", "123456",
                "--list-objects", check=False)
    assert login.returncode != 0
    # A wrong PUK costs a PUK try; the right one unblocks.
    assert ypt(pcsc, "-a", "unblock-pin", "-P", "87654321", "-N", "123456",
               check=False).returncode != 0
    assert card.show()["puk_tries_left"] == 2
    ypt(pcsc, "-a", "unblock-pin", "-P", "12345678", "-N", "123456")
    info = card.show()
    assert info["pin_tries_left"] == 3 and info["puk_tries_left"] == 3
    ypt(pcsc, "-a", "verify-pin", "-P", "123456")
    sign_and_verify(pcsc, work, "01", "ECDSA-SHA256", work / "9a.cert.pub")


def test_change_pin_puk_and_3des_management_key(pcsc, card, work):
    ypt(pcsc, "-a", "change-pin", "-P", "123456", "-N", "24681357")
    ypt(pcsc, "-a", "change-puk", "-P", "12345678", "-N", "11223344")
    sign_and_verify(pcsc, work, "01", "ECDSA-SHA256", work / "9a.cert.pub", pin="24681357")
    new_key = "0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C4B5A6978"
    ypt(pcsc, f"--key={TRANSPORT_KEY}", "-a", "set-mgm-key", "-n", new_key)
    assert ypt(pcsc, f"--key={TRANSPORT_KEY}", "-a", "set-chuid", check=False).returncode != 0
    ypt(pcsc, f"--key={new_key}", "-a", "set-mgm-key", "-n", TRANSPORT_KEY)
    ypt(pcsc, "-a", "change-pin", "-P", "24681357", "-N", "123456")
    ypt(pcsc, "-a", "change-puk", "-P", "11223344", "-N", "12345678")


def test_aes128_management_key(pcsc, card):
    aes_key = bytes(range(0x40, 0x50))
    with CardSession(pcsc) as s:
        s.select_piv()
        assert mutual_auth(s, 0x03, bytes.fromhex(TRANSPORT_KEY)) == 0x9000
        _, sw = s.transmit(bytes([0x00, 0xFF, 0xFF, 0xFF, 0x13, 0x08, 0x9B, 0x10]) + aes_key)
        assert sw == 0x9000
        s.reset()
        s.select_piv()
        # 3DES is no longer the card's management algorithm.
        _, sw = s.transmit("0087039B047C02800000")
        assert sw == 0x6A86
        assert mutual_auth(s, 0x08, aes_key) == 0x9000
        _, sw = s.transmit("00DB3FFF0F5C035FC1075308F00100210100220000")
        assert sw == 0x9000
        # Back to the transport key for the rest of the tests.
        _, sw = s.transmit(bytes.fromhex("00FFFFFF1B039B18" + TRANSPORT_KEY))
        assert sw == 0x9000
    assert card.show()["mgmt_alg"] == "3des"


@pytest.mark.parametrize("alg,keygen", [
    ("eccp256", ["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
    ("rsa2048", ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
])
def test_import_key_into_key_management_slot(pcsc, card, work, ca, alg, keygen):
    """Yubico's IMPORT ASYMMETRIC KEY (INS FE) as yubico-piv-tool sends it:
    a key made off-card goes into 9D, and yubico-piv-tool's own
    test-decipher (RSA decryption or ECDH by the card, checked against the
    certificate) proves the card holds that key."""
    key = work / f"import-{alg}.key"
    key.write_bytes(subprocess.run(keygen, check=True, capture_output=True).stdout)
    public = work / f"import-{alg}.pub.pem"
    subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout", "-out", str(public)],
                   check=True, capture_output=True)
    # Without the management key the card refuses the import.
    result = ypt(pcsc, f"--key={'11' * 24}", "-a", "import-key", "-s", "9d", "-i", str(key),
                 check=False)
    assert result.returncode != 0
    ypt(pcsc, f"--key={TRANSPORT_KEY}", "-a", "import-key", "-s", "9d", "-i", str(key))
    assert card.show()["keys"]["9d"] == alg
    cert = certify(ca, work, public, f"holder-enc-{alg}")
    ypt(pcsc, f"--key={TRANSPORT_KEY}", "-a", "import-certificate", "-s", "9d", "-i", str(cert))
    result = ypt(pcsc, "-P", "123456", "-a", "verify-pin", "-a", "test-decipher", "-s", "9d",
                 "-i", str(cert))
    assert "Successfully performed" in result.stdout + result.stderr


def test_import_key_refusals_pyscard(pcsc, card):
    """Raw FE commands: refused before the management key, with a slot or
    algorithm it does not know, and with data that is not a key."""
    scalar = "06" + "20" + "11" * 32
    with CardSession(pcsc) as s:
        s.select_piv()
        _, sw = s.transmit("00FE119D22" + scalar)
        assert sw == 0x6982
        assert mutual_auth(s, 0x03, bytes.fromhex(TRANSPORT_KEY)) == 0x9000
        _, sw = s.transmit("00FE119B22" + scalar)
        assert sw == 0x6A86
        _, sw = s.transmit("00FE999D22" + scalar)
        assert sw == 0x6A86
        _, sw = s.transmit("00FE119D22" + "0620" + "00" * 32)      # scalar zero
        assert sw == 0x6A80
        _, sw = s.transmit("00FE119D22" + "0720" + "11" * 32)      # not an ECC tag
        assert sw == 0x6A80
        _, sw = s.transmit("00FE079D22" + scalar)                  # RSA without its parts
        assert sw == 0x6A80
        _, sw = s.transmit("00FE119D22" + scalar)
        assert sw == 0x9000
    assert card.show()["keys"]["9d"] == "eccp256"


def test_malformed_apdus_answered_and_card_survives(pcsc, card):
    with CardSession(pcsc) as s:
        s.select_piv()
        assert s.transmit("0099000000")[1] == 0x6D00
        assert s.transmit("84CB3FFF055C035FC10200")[1] == 0x6E00
        assert s.transmit("00CB3FFF055C")[1] == 0x6700
        assert s.transmit("00CB3FFF055C045FC10200")[1] == 0x6A80
        assert s.transmit("00CB3FFF055C035FC10E00")[1] == 0x6A82
        # An 8 KiB+ chain is refused, and the card still answers after it.
        sw = 0x9000
        for _ in range(40):
            _, sw = s.transmit(bytes([0x10, 0xDB, 0x3F, 0xFF, 0xFF]) + bytes(255))
            if sw != 0x9000:
                break
        assert sw == 0x6A84
        data, sw = s.transmit_all("00CB3FFF055C035FC10500")
        assert sw == 0x9000 and data[0] == 0x53
    assert card.running()


def test_fault_truncate(pcsc, card):
    chuid, _ = _chuid(pcsc)
    card.remove()
    card.insert(faults=["truncate-after=2"])
    with CardSession(pcsc) as s:
        s.select_piv()                                  # APDU 1
        data, sw = _raw(s, "00CB3FFF055C035FC10200")    # APDU 2: cut in half
        assert len(data) + 2 == (len(chuid) + 2) // 2
        data, sw = s.transmit("00CB3FFF055C035FC10200")  # APDU 3: whole again
        assert data == chuid and sw == 0x9000


def test_fault_garbage(pcsc, card):
    chuid, _ = _chuid(pcsc)
    card.remove()
    card.insert(faults=["garbage-after=2"])
    with CardSession(pcsc) as s:
        s.select_piv()
        data, sw = s.transmit("00CB3FFF055C035FC10200")
        assert sw == 0x9000 and len(data) == len(chuid) and data != chuid


def test_fault_drop_is_a_pulled_card(pcsc, card, work):
    card.remove()
    card.insert(faults=["drop-after=2"])
    with CardSession(pcsc) as s:
        s.select_piv()
        with pytest.raises(Exception):
            s.transmit("00CB3FFF055C035FC10200")
    card.process.wait(timeout=10)
    assert card.process.returncode == 0
    pcsc.wait_card(present=False)
    assert any(e.get("event") == "vcard.pulled" for e in card.log_events())
    card.remove()
    card.insert()
    sign_and_verify(pcsc, work, "01", "ECDSA-SHA256", work / "9a.cert.pub")


def test_pcscd_restart_card_comes_back(pcsc, card, work):
    pcsc.restart()
    pcsc.wait_card(present=True, timeout=30)
    assert card.running()
    listing = run(pcsc, "pkcs15-tool", "--list-certificates").stdout
    assert "Certificate for PIV Authentication" in listing


def test_state_file_is_private_and_unreadable_state_refused(card, work):
    assert card.state_file.stat().st_mode & 0o077 == 0
    broken = work / "broken.state"
    broken.write_bytes(b"TSRVCARD\x01\x01\x10")
    result = subprocess.run([str(card.binary), "--state", str(broken), "--show"],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "vcard.state_unreadable" in result.stderr
    with pytest.raises(PcscError):
        VirtualCard(card.pcsc, work / "absent.state").show()


# -- helpers for the fault tests -------------------------------------------

def _chuid(pcsc):
    with CardSession(pcsc) as s:
        s.select_piv()
        return s.transmit("00CB3FFF055C035FC10200")


def _raw(session, apdu_hex):
    """transmit() that accepts an answer too short to hold a status word."""
    data = list(bytes.fromhex(apdu_hex))
    from smartcard.scard import SCardTransmit, SCARD_PCI_T1
    hresult, response = SCardTransmit(session.connection.component.hcard, SCARD_PCI_T1, data)
    assert hresult == 0
    return bytes(response[:-2]), (response[-2] << 8 | response[-1]) if len(response) >= 2 else None
