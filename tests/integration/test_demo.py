"""The README's first command, scripts/demo.sh, run end to end on this
build, and its artefacts checked with tools that are not tessera's:
openssl verify, openssl crl, openssl ocsp -respin, openssl cms -verify on
every e-mail and pdftotext on the PIN mailer. Then a demo that fails at a
step: it exits non-zero, names the step and leaves nothing running."""
import email
import email.policy
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

SOURCE = Path(os.environ["TSR_SOURCE_DIR"])
BUILD = Path(os.environ["TSR_BUILD_DIR"])
DEMO_SCRIPT = SOURCE / "scripts" / "demo.sh"
# The fixed ports the demo's services, publisher and portal listen on.
DEMO_PORTS = [*range(7101, 7108), *range(7201, 7208), *range(8101, 8108), 8207, 8180]


def run_demo(folder, timeout=900):
    env = dict(os.environ, TSR_DEMO_DIR=str(folder), TSR_DEMO_BUILD_DIR=str(BUILD))
    return subprocess.run(["bash", str(DEMO_SCRIPT)], env=env, capture_output=True,
                          text=True, timeout=timeout)


def openssl(*args, check=True):
    done = subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True,
                          timeout=60)
    if check:
        assert done.returncode == 0, f"openssl {' '.join(map(str, args))}:\n" \
                                     f"{done.stdout}{done.stderr}"
    return done.stdout + done.stderr


def listening(port):
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def serial_of(pem):
    return openssl("x509", "-in", pem, "-noout", "-serial").strip().split("=", 1)[1].lower()


def demo_processes(folder):
    """Processes still running whose command line names the demo's folder."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if str(folder) in command or str(folder).encode() in environ:
            found.append(f"{proc.name}: {command}")
    return found


@pytest.fixture(scope="module")
def demo():
    if any(listening(p) for p in DEMO_PORTS):
        pytest.fail("a demo port is taken: is a demo running? (ports "
                    f"{[p for p in DEMO_PORTS if listening(p)]})")
    folder = Path(tempfile.mkdtemp(prefix="tessera-it-demo-"))
    done = run_demo(folder)
    output = done.stdout + done.stderr
    (folder / "demo-output.txt").write_text(output)
    assert done.returncode == 0, f"the demo failed:\n{output[-6000:]}"
    yield folder, output
    if os.environ.get("TSR_KEEP_TEST_DIR") != "1":
        shutil.rmtree(folder, ignore_errors=True)


def test_every_step_is_printed_with_its_time_and_summarised(demo):
    folder, output = demo
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "ok"
    steps = summary["steps"]
    assert len(steps) >= 30 and all(s["status"] == "ok" for s in steps)
    for number, s in enumerate(steps, start=1):
        assert re.search(rf"^\[\s*{number}\] {re.escape(s['step'])} \.\.\. +ok +\(\d+ ms\)$",
                         output, re.M), s["step"]
        assert s["duration_ms"] >= 0
    names = " | ".join(s["step"] for s in steps)
    for part in ("ceremony", "activate the CA key", "register an organisation", "four eyes",
                 "one-time password", "personalise", "registered mail", "PIN mailer released",
                 "activates the card", "accepts", "revocation by phone", "audit chain"):
        assert part in names, part
    assert f"summary: {len(steps)} of {len(steps)} steps passed" in output
    assert "demo finished: every step passed" in output
    assert set(summary["serials"]) == {"auth", "sign"}
    assert summary["revocation_id"].startswith("rv-")


def test_the_holder_certificates_verify_against_the_chain(demo):
    folder, _ = demo
    summary = json.loads((folder / "summary.json").read_text())
    chain = folder / "chain.pem"
    assert chain.read_text().count("BEGIN CERTIFICATE") == 2
    for use in ("auth", "sign"):
        pem = folder / f"holder-{use}.pem"
        assert f"{pem}: OK" in openssl("verify", "-CAfile", chain, pem)
        assert serial_of(pem) == summary["serials"][use].lower()
    usage = openssl("x509", "-in", folder / "holder-sign.pem", "-noout", "-ext", "keyUsage")
    assert "Non Repudiation" in usage and "Digital Signature" not in usage


def test_the_crl_is_signed_by_the_issuing_ca_and_lists_the_revoked_serials(demo):
    folder, _ = demo
    text = openssl("crl", "-inform", "DER", "-in", folder / "crl.der", "-CAfile",
                   folder / "chain.pem", "-noout", "-text")
    assert "verify OK" in text
    listed = {s.lower() for s in re.findall(r"Serial Number: ([0-9A-Fa-f]+)", text)}
    for use in ("auth", "sign"):
        assert serial_of(folder / f"holder-{use}.pem").lstrip("0") in \
            {s.lstrip("0") for s in listed}
    assert "Key Compromise" in text
    # And openssl refuses the signature certificate with it.
    crl_pem = openssl("crl", "-inform", "DER", "-in", folder / "crl.der")
    bundle = folder / "chain-crl-check.pem"
    bundle.write_text((folder / "chain.pem").read_text() + crl_pem)
    refused = openssl("verify", "-crl_check", "-CAfile", bundle, folder / "holder-sign.pem",
                      check=False)
    assert "certificate revoked" in refused


def test_the_kept_ocsp_answer_says_revoked(demo):
    folder, _ = demo
    issuing = folder / "issuing.pem"
    pems = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n",
                      (folder / "chain.pem").read_text(), re.S)
    issuing.write_text(pems[1])
    out = openssl("ocsp", "-respin", folder / "ocsp-revoked.der", "-CAfile", folder / "chain.pem",
                  "-issuer", issuing, "-cert", folder / "holder-auth.pem", "-no_nonce",
                  "-resp_text")
    assert "Response verify OK" in out
    assert f"{folder / 'holder-auth.pem'}: revoked" in out
    assert "Reason: keyCompromise" in out


def test_every_mail_is_signed_and_verifies(demo):
    folder, _ = demo
    root = folder / "root.pem"
    root.write_text(re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n",
                               (folder / "chain.pem").read_text(), re.S)[0])
    mails = sorted((folder / "mail").glob("*.eml"))
    assert len(mails) >= 5
    subjects = []
    for path in mails:
        assert "CMS Verification successful" in openssl(
            "cms", "-verify", "-in", path, "-CAfile", root, "-out", "/dev/null")
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        subjects.append(str(message["Subject"]))
    joined = " | ".join(subjects)
    for part in ("mot de passe à usage unique", "PIN", "Révocation"):
        assert part in joined, joined


def test_the_pin_mailer_reads_with_pdftotext(demo):
    folder, _ = demo
    summary = json.loads((folder / "summary.json").read_text())
    text = subprocess.run(["pdftotext", "-layout", str(folder / "pin-mailer.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert re.search(r"Code PIN :\s+\d{8}\b", text)
    assert re.search(r"Code d'activation :\s+[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", text)
    assert summary["card_uuid"] in text
    assert "Dupré" in text


def test_the_demo_leaves_nothing_running(demo):
    folder, _ = demo
    assert not [p for p in DEMO_PORTS if listening(p)]
    assert not demo_processes(folder)


def test_a_failing_step_is_named_and_everything_is_stopped():
    # The publisher's port taken: the settings step fails after PostgreSQL
    # has started, which must be stopped as well.
    folder = Path(tempfile.mkdtemp(prefix="tessera-it-demo-fail-"))
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        blocker.bind(("127.0.0.1", 8207))
        blocker.listen(1)
        done = run_demo(folder, timeout=300)
    finally:
        blocker.close()
    output = done.stdout + done.stderr
    try:
        assert done.returncode != 0
        assert "demo FAILED at step: settings: publisher port, CA URLs, perso master key" \
            in output
        assert "port 8207 is taken" in output
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["status"] == "failed"
        assert summary["steps"][-1]["status"] == "failed"
        assert all(s["status"] == "ok" for s in summary["steps"][:-1])
        assert not demo_processes(folder)
        pg_port = re.search(r"PostgreSQL on 127\.0\.0\.1:(\d+)", output)
        assert pg_port, output
        assert not listening(int(pg_port.group(1))), "PostgreSQL left running"
    finally:
        if os.environ.get("TSR_KEEP_TEST_DIR") != "1":
            shutil.rmtree(folder, ignore_errors=True)
