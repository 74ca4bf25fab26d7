#!/usr/bin/python3
"""The card lifecycle of scripts/demo.sh, one subcommand per step.

    /usr/bin/python3 scripts/demo/lifecycle.py COMMAND [ARGS]

scripts/demo.sh starts the services, the portal and the two daemons below,
and runs one command per progress line. Each command prints what a person
would want to see of its step and exits non-zero (with the reason) when the
step does not go as it must. What a later step needs (identifiers, never a
password, PIN or code) is kept in var/demo/lifecycle/state.json; the secrets
are read where the people of the story read them: the one-time password in
the e-mail the SMTP sink received, the PIN and activation code in the PIN
mailer's text (var/demo/lifecycle/pin-mailer.txt, 0600).

Daemons (run in the background by demo.sh, stopped with SIGTERM, exit 0):
  pcscd DIR           a private pcscd with the vpcd reader and a blank virtual
                      PIV card in it (tests/integration/pcsc.py); DIR/ready.json
  smtp-sink DIR       an SMTP server that requires STARTTLS and a login and
                      keeps each message in var/demo/mail/NNNN.eml
                      (tests/integration/smtp_sink.py); DIR holds its TLS
                      files, its password and ready.json

Steps: publisher register batch validate otp-mail perso card-list ship
pin-mailer-early pin-mailer holder-first-login holder-activate holder-accept
card-sign phone-revoke journal artefacts; summary STATUS STEPS_FILE writes
summary.json.

The bus is spoken with tests/integration/tsrtest.py's BusClient (python3-zmq,
CURVE with the caller's own key); the operators' work goes through the
tessera CLI where it has a command (perso, mail, revocation, publisher); the
holder's through the portal over HTTP, or, when demo.sh says the portal is
not there (--via bus), through the same RPCs the portal calls, under the
portal's key.
"""
import email
import email.policy
import hashlib
import html
import http.client
import json
import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.setdefault("TSR_BUILD_DIR", str(ROOT / "build"))).resolve()
os.environ.setdefault("TSR_SOURCE_DIR", str(ROOT))
sys.path[:0] = [str(BUILD / "gen" / "python"), str(ROOT / "tests" / "integration")]

DEMO = Path(os.environ.get("TSR_DEMO_DIR", ROOT / "var" / "demo")).resolve()
KEYS, KEYRING = DEMO / "keys", DEMO / "keyring"
STATE = DEMO / "lifecycle" / "state.json"
CLI = BUILD / "tools" / "tessera"
PKCS11 = next(iter(sorted(Path("/usr/lib").glob("*/opensc-pkcs11.so"))),
              Path("/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"))
SERVICES = ["enrollment", "validation", "ca", "perso", "mail", "revocation", "publisher"]
AGENT = "Mozilla/5.0 (tessera demo; holder)"

# The people of the story.
ORGANISATION = "Société Exemple"
DOMAIN = "societe-exemple.example"
RL = ("Robert", "Lefèvre", f"robert.lefevre@{DOMAIN}")
MC = ("Marc", "Délégué", f"marc.delegue@{DOMAIN}")
HOLDER = ("Élodie", "Dupré", f"elodie.dupre@{DOMAIN}")
TRACKING = "1A23456789012"
# What the holder chooses on the portal (a demo's, so written here).
NEW_PASSWORD = "un long chemin vers la forêt"
QUESTIONS = [("Nom de votre première école ?", "Jules Ferry"),
             ("Ville de naissance de votre mère ?", "Orléans"),
             ("Nom de votre premier animal ?", "Médor"),
             ("Modèle de votre première voiture ?", "Deux chevaux"),
             ("Prénom de votre meilleur ami d'enfance ?", "Lucien")]


def rel(text):
    """Paths under the checkout shown relative to it."""
    return str(text).replace(f"{ROOT}/", "")


class Failed(Exception):
    """A step that did not go as it must: its message is printed."""


def say(*lines):
    for line in lines:
        print(line, flush=True)


def wait_for(predicate, timeout, what, interval=0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise Failed(f"{what}: not after {timeout} s")
        time.sleep(interval)


# --- state --------------------------------------------------------------------

def load():
    return json.loads(STATE.read_text()) if STATE.exists() else {}


def save(state):
    STATE.parent.mkdir(parents=True, exist_ok=True)
    tmp = STATE.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, ensure_ascii=False) + "\n")
    tmp.replace(STATE)


def settings():
    """What demo.sh configured (var/demo/lifecycle/settings.json)."""
    return json.loads((DEMO / "lifecycle" / "settings.json").read_text())


# --- the bus --------------------------------------------------------------------

def pb():
    """The generated protobuf modules (imported late: the daemons need none)."""
    from tessera.v1 import (ca_pb2, enrollment_pb2, envelope_pb2, mail_pb2, perso_pb2,
                            revocation_pb2, validation_pb2)
    return dict(ca=ca_pb2, E=enrollment_pb2, env=envelope_pb2, mail=mail_pb2, perso=perso_pb2,
                rev=revocation_pb2, val=validation_pb2)


def endpoint(service):
    offset = SERVICES.index(service) + 1
    return os.environ.get(f"TSR_{service.upper()}_ENDPOINT", f"tcp://127.0.0.1:{7100 + offset}")


def call(service, method, message, identity, cls=None, expect_ok=True):
    """One request over the bus under keys/<identity>.cert. With cls, the
    reply's payload decoded (the call must succeed); otherwise the reply."""
    import zmq
    from tsrtest import BusClient
    envelope = pb()["env"]
    # A context of its own, destroyed whatever happens (an interrupted call
    # must not leave a socket that keeps the interpreter from exiting).
    context = zmq.Context()
    try:
        client = BusClient(context, KEYS / f"{identity}.cert", endpoint(service),
                           KEYRING / f"{service}.cert")
        reply, _ = client.call(method, message.SerializeToString(), timeout=30.0)
    finally:
        context.destroy(linger=0)
    if reply is None:
        raise Failed(f"{service}.{method}: no answer in 30 s")
    if cls is not None or expect_ok:
        if reply.status != envelope.STATUS_OK:
            raise Failed(f"{service}.{method} as {identity}: "
                         f"{envelope.Status.Name(reply.status)}: {reply.status_message}")
    return cls.FromString(reply.payload) if cls is not None else reply


def status_name(reply):
    return pb()["env"].Status.Name(reply.status).removeprefix("STATUS_")


# --- the tessera CLI --------------------------------------------------------------

def tessera(identity, *args, expect=0, show=True, quiet_output=False, input=None):
    """Runs the tessera CLI as keys/<identity>.cert and shows the command
    and its output; returns the CompletedProcess. expect: the exit status
    that must come (None: any). input: its standard input (answers stay off
    the command line)."""
    env = dict(os.environ, TSR_CERT=str(KEYS / f"{identity}.cert"),
               TSR_KEYRING_DIR=str(KEYRING))
    done = subprocess.run([str(CLI), *args], env=env, capture_output=True, text=True,
                          timeout=180, input=input)
    if show:
        say(f"$ tessera {rel(' '.join(shlex.quote(a) for a in args))}    [as {identity}]")
        if not quiet_output:
            for line in (done.stdout + done.stderr).rstrip().splitlines():
                say(f"  {rel(line)}")
    if expect is not None and done.returncode != expect:
        raise Failed(f"tessera {' '.join(args)} exited with {done.returncode} "
                     f"(expected {expect}): {done.stderr.strip() or done.stdout.strip()}")
    return done


def tessera_json(identity, *args, show=True, input=None, expect=0):
    """The CLI with --json: its JSON lines, parsed (the command shown)."""
    done = tessera(identity, "--json", *args, show=show, quiet_output=True, input=input,
                   expect=expect)
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def run(*args, env=None, check=True, show=True, input=None):
    """Another program (openssl, pkcs15-tool, ...), shown with its output."""
    done = subprocess.run(list(args), env=env, capture_output=True, text=True, timeout=120,
                          input=input)
    if show:
        say(f"$ {rel(' '.join(shlex.quote(str(a)) for a in args))}")
        for line in (done.stdout + done.stderr).rstrip().splitlines():
            say(f"  {rel(line)}")
    if check and done.returncode != 0:
        raise Failed(f"{args[0]} exited with {done.returncode}: {done.stderr.strip()}")
    return done


def holder_cert(name):
    """The holder's certificate read back from the card (name: auth or sign),
    an artefact of the demo."""
    return DEMO / f"holder-{name}.pem"


def pcsc_env():
    ready = json.loads((DEMO / "card" / "ready.json").read_text())
    return dict(os.environ, PCSCLITE_CSOCK_NAME=ready["socket"]), ready


# --- the SMTP sink's messages ------------------------------------------------------

def messages():
    """Every message the sink kept: (path, parsed message), oldest first."""
    found = []
    for path in sorted((DEMO / "mail").glob("*.eml")):
        found.append((path, email.message_from_bytes(path.read_bytes(),
                                                     policy=email.policy.default)))
    return found


def text_of(message):
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    return part.get_content()


def wait_mail(to, subject_part, timeout=60, after=0):
    """The first message to `to` whose subject holds subject_part (after the
    sink's message number `after`)."""
    def find():
        for path, message in messages():
            if int(path.stem) <= after:
                continue
            if to in str(message["To"]) and subject_part in str(message["Subject"]):
                return path, message
        return None
    return wait_for(find, timeout, f"an e-mail to {to} about '{subject_part}'")


def show_mail(path, message, root=None, body=None):
    """An e-mail the sink received: its headers, its text (body: a function
    that masks it, or None to leave it out) and openssl's check of its
    S/MIME signature against the root CA."""
    say(f"{rel(path)}: To: {message['To']}", f"  Subject: {message['Subject']}")
    if body:
        for line in body(text_of(message)).rstrip().splitlines():
            say(f"  | {line}")
    if root:
        done = subprocess.run(["openssl", "cms", "-verify", "-in", str(path), "-CAfile", str(root),
                               "-out", "/dev/null"], capture_output=True, text=True)
        verdict = (done.stdout + done.stderr).strip()
        say(f"$ openssl cms -verify -in {rel(path)} -CAfile {rel(root)} -out /dev/null",
            f"  {verdict}")
        if done.returncode != 0:
            raise Failed(f"the S/MIME signature of {path.name} does not verify: {verdict}")


# --- OCSP and CRLs ----------------------------------------------------------------

def chain_file():
    chain = DEMO / "chain.pem"
    if not chain.exists():
        chain.write_bytes((DEMO / "ca" / "root.pem").read_bytes() +
                          (DEMO / "ca" / "issuing.pem").read_bytes())
    return chain


def ocsp(cert_path, respout=None):
    """(word, reason, output) from `openssl ocsp` against the URL written in
    the certificate, with a nonce, the answer verified against the chain;
    the DER answer kept in respout when given."""
    url = subprocess.run(["openssl", "x509", "-in", str(cert_path), "-noout", "-ocsp_uri"],
                         capture_output=True, text=True, check=True).stdout.strip()
    done = subprocess.run(["openssl", "ocsp", "-issuer", str(DEMO / "ca" / "issuing.pem"),
                           "-cert", str(cert_path), "-url", url, "-CAfile", str(chain_file()),
                           "-nonce"] + (["-respout", str(respout)] if respout else []),
                          capture_output=True, text=True, timeout=30)
    out = done.stdout + done.stderr
    found = re.search(rf"{re.escape(str(cert_path))}: (good|revoked|unknown)", out)
    reason = re.search(r"Reason: (\S+)", out)
    if done.returncode != 0 or not found or "Response verify OK" not in out:
        return None, None, out
    return found.group(1), reason.group(1) if reason else None, out


def wait_ocsp(cert_path, word, timeout=30, respout=None):
    said = {}

    def check():
        said["word"], said["reason"], said["out"] = ocsp(cert_path, respout)
        return said["word"] == word
    try:
        wait_for(check, timeout, f"OCSP saying {word}", interval=0.3)
    except Failed:
        raise Failed(f"OCSP never said {word} for {cert_path.name}: {said.get('out', '').strip()}")
    return said["reason"]


def show_ocsp(cert_path, word, timeout=30, respout=None):
    reason = wait_ocsp(cert_path, word, timeout, respout)
    url = subprocess.run(["openssl", "x509", "-in", str(cert_path), "-noout", "-ocsp_uri"],
                         capture_output=True, text=True).stdout.strip()
    kept = f" -respout {rel(respout)}" if respout else ""
    say(f"$ openssl ocsp -issuer issuing.pem -cert {cert_path.name} -url {url} "
        f"-CAfile chain.pem -nonce{kept}",
        f"  Response verify OK; {cert_path.name}: {word}"
        + (f" (reason: {reason})" if reason else ""))


def crl_url(cert_path):
    text = subprocess.run(["openssl", "x509", "-in", str(cert_path), "-noout", "-ext",
                           "crlDistributionPoints"], capture_output=True, text=True).stdout
    return re.search(r"URI:(\S+)", text).group(1)


def fetch(url, path):
    with urllib.request.urlopen(url, timeout=10) as r:
        path.write_bytes(r.read())
        return r.status, r.headers


def crl_serials(crl_der):
    """The serials a DER CRL lists (lower-case hex, no leading zeros)."""
    text = subprocess.run(["openssl", "crl", "-inform", "DER", "-in", str(crl_der), "-noout",
                           "-text"], capture_output=True, text=True, check=True).stdout
    return {s.lower().lstrip("0") for s in re.findall(r"Serial Number: ([0-9A-Fa-f]+)", text)}


def serial_of(cert_path):
    out = subprocess.run(["openssl", "x509", "-in", str(cert_path), "-noout", "-serial"],
                         capture_output=True, text=True, check=True).stdout
    return out.strip().split("=", 1)[1].lower().lstrip("0")


# --- daemons ------------------------------------------------------------------------

class Stop(Exception):
    pass


def until_sigterm():
    """Returns at SIGTERM or SIGINT; later ones are ignored, so that the
    clean-up (and the interpreter's exit) runs to its end: a Ctrl-C reaches
    every process of the group, and demo.sh's trap sends SIGTERM after it."""
    def stop(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise Stop()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while True:
            signal.pause()
    except Stop:
        pass


def cmd_pcscd(args):
    """A private pcscd with the vpcd reader and a freshly formatted virtual
    PIV card in it, until SIGTERM."""
    from pcsc import Pcsc, VirtualCard
    folder = Path(args[0]).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    pcsc = Pcsc(folder)
    card = None
    try:
        pcsc.start()
        card = VirtualCard(pcsc, folder / "card.state")
        info = card.init()
        card.insert(log_level="info")
        ready = dict(socket=str(pcsc.socket_path), reader=pcsc.reader_name,
                     vpcd_port=pcsc.vpcd_port, guid=info["guid"], serial=info["serial"],
                     pcscd_log=str(pcsc.log_path), card_log=str(card.log_path))
        (folder / "ready.json").write_text(json.dumps(ready) + "\n")
        print(json.dumps({"event": "demo.pcscd_ready", **ready}), flush=True)
        until_sigterm()
    finally:
        if card is not None:
            card.remove(wait=False)
        pcsc.stop()
    return 0


def cmd_smtp_sink(args):
    """The SMTP sink on 127.0.0.1, until SIGTERM."""
    import socket
    from smtp_sink import SmtpSink
    folder = Path(args[0]).resolve()
    port = int(args[1]) if len(args) > 1 else 0
    if port == 0:
        for candidate in range(2525, 2625):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", candidate))
                    port = candidate
                    break
                except OSError:
                    continue
    password = secrets.token_urlsafe(18)
    sink = SmtpSink(DEMO / "mail", port, user="tessera-mail", password=password,
                    tls_directory=folder / "tls")
    password_file = folder / "smtp-password"
    password_file.touch(mode=0o600)
    password_file.write_text(password + "\n")
    sink.start()
    try:
        ready = dict(port=port, user=sink.user, password_file=str(password_file),
                     ca_file=str(sink.cert), folder=str(sink.directory))
        (folder / "ready.json").write_text(json.dumps(ready) + "\n")
        print(json.dumps({"event": "demo.smtp_sink_ready", **ready}), flush=True)
        until_sigterm()
    finally:
        sink.stop()
    return 0


# --- steps: the CA's publication ----------------------------------------------------------

def cmd_publisher(args):
    """The publisher serves the CA certificates, the CRL and OCSP at the URLs
    the CA writes into certificates: the holder certificate of the CA part
    (revoked there) is checked through them."""
    holder = DEMO / "ca" / "holder.pem"
    text = subprocess.run(["openssl", "x509", "-in", str(holder), "-noout", "-ext",
                           "crlDistributionPoints,authorityInfoAccess"],
                          capture_output=True, text=True, check=True).stdout
    say("the URLs in the holder certificate (TSR_CA_*_URL):")
    for url in re.findall(r"URI:(\S+)", text):
        say(f"  {url}")
    base = settings()["publish_url"]
    issuing = DEMO / "lifecycle" / "issuing.crt"

    def served():
        try:
            return fetch(f"{base}/ca/issuing.crt", issuing)[0] == 200
        except OSError:
            return False
    wait_for(served, 60, "the publisher serving the issuing CA certificate")
    same = subprocess.run(["openssl", "x509", "-inform", "DER", "-in", str(issuing), "-noout",
                           "-fingerprint", "-sha256"], capture_output=True, text=True).stdout
    mine = subprocess.run(["openssl", "x509", "-in", str(DEMO / "ca" / "issuing.pem"), "-noout",
                           "-fingerprint", "-sha256"], capture_output=True, text=True).stdout
    if same != mine:
        raise Failed("the publisher serves another issuing CA certificate")
    say(f"GET {base}/ca/issuing.crt: the ceremony's issuing CA")
    serial = serial_of(holder)
    crl = DEMO / "lifecycle" / "issuing.crl"
    url = crl_url(holder)

    def listed():
        try:
            fetch(url, crl)
        except OSError:
            return False
        return serial in crl_serials(crl)
    wait_for(listed, 60, "the published CRL listing the revoked certificate")
    done = subprocess.run(["openssl", "crl", "-inform", "DER", "-in", str(crl), "-noout",
                           "-CAfile", str(DEMO / "ca" / "issuing.pem"), "-crlnumber",
                           "-nextupdate"], capture_output=True, text=True)
    say(f"GET {url}: {' '.join((done.stdout + done.stderr).split())}; "
        f"lists serial {serial}")
    show_ocsp(holder, "revoked")
    tessera("officer", "publisher", "status")
    return 0


# --- steps: registration -------------------------------------------------------------

def siret():
    """A fresh 14-digit SIRET that passes the Luhn check (not La Poste's)."""
    while True:
        digits = [secrets.randbelow(10) for _ in range(13)]
        for check in range(10):
            candidate = digits + [check]
            total = 0
            for i, d in enumerate(reversed(candidate)):
                d = d * 2 if i % 2 else d
                total += d - 9 if d > 9 else d
            if total % 10 == 0 and candidate[:9] != [3, 5, 6, 0, 0, 0, 0, 0, 0]:
                return "".join(map(str, candidate))


def operator_ids():
    """Operator ids by key name, from the `tessera --json operator add`
    lines demo.sh kept."""
    ids = {}
    for line in (DEMO / "lifecycle" / "operators.jsonl").read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            ids[record["key"]] = record["operator_id"]
    return ids


def enroll(method, message, cls):
    return call("enrollment", method, message, "entry", cls)


def document(dossier_id, type_, signed_by=(), issued=0, **extra):
    m = pb()
    now = int(time.time())
    made = enroll("RecordDocument", m["E"].RecordDocumentRequest(
        dossier_id=dossier_id, type=type_, reference=f"{secrets.token_hex(4).upper()}",
        received_unix=now - 60, issued_unix=issued, signed_by=list(signed_by), **extra),
        m["E"].Document)
    return made


def doc_name(type_):
    return pb()["E"].DocumentType.Name(type_).removeprefix("DOCUMENT_TYPE_").lower() \
        .replace("_", " ")


def cmd_register(args):
    """The entry operator registers the organisation with its K-bis, the RL,
    an MC the RL designates, and the holder, each with a dossier."""
    m = pb()
    E = m["E"]
    state = load()
    ae = operator_ids()["entry"]
    now = int(time.time())
    paris = E.PostalAddress(lines=["12 rue de la Paix"], postal_code="75002", city="Paris",
                            country_code="FR")
    org = enroll("RegisterOrganisation", E.RegisterOrganisationRequest(
        legal_name=ORGANISATION, siret=siret(), kind=E.ORGANISATION_KIND_COMPANY,
        postal_address=paris), E.Organisation)
    say(f"organisation {org.organisation_id}: {org.legal_name}, SIRET {org.siret}, "
        f"dossier {org.dossier_id}")
    # A K-bis older than 3 months is refused at once.
    stale = enroll_reply("RecordDocument", E.RecordDocumentRequest(
        dossier_id=org.dossier_id, type=E.DOCUMENT_TYPE_KBIS_EXTRACT, reference="KBIS-OLD",
        received_unix=now - 60, issued_unix=now - 100 * 86400))
    say(f"  a K-bis dated 100 days ago: {status_name(stale)}: {stale.status_message}")
    if stale.status == m["env"].STATUS_OK:
        raise Failed("an out-of-date K-bis was accepted")
    kbis = document(org.dossier_id, E.DOCUMENT_TYPE_KBIS_EXTRACT, issued=now - 10 * 86400)
    say(f"  K-bis extract dated 10 days ago: {kbis.document_id}")

    def person(role, who, address=paris, **extra):
        given, surname, mail = who
        return enroll("RegisterPerson", E.RegisterPersonRequest(
            organisation_id=org.organisation_id, role=role, given_name=given, surname=surname,
            email=mail, postal_address=address, language="fr", **extra), E.Person)

    def identity(p):
        return document(p.dossier_id, E.DOCUMENT_TYPE_IDENTITY_DOCUMENT, [p.person_id],
                        identity_document_kind=E.IDENTITY_DOCUMENT_KIND_NATIONAL_ID_CARD,
                        expires_unix=now + 5 * 365 * 86400)

    rl = person(E.PERSON_ROLE_LEGAL_REPRESENTATIVE, RL)
    rl_docs = [document(rl.dossier_id, E.DOCUMENT_TYPE_REQUEST_FORM, [rl.person_id]),
               document(rl.dossier_id, E.DOCUMENT_TYPE_TERMS_OF_USE, [rl.person_id, ae]),
               identity(rl),
               document(rl.dossier_id, E.DOCUMENT_TYPE_FACE_TO_FACE_REPORT,
                        [ae, rl.person_id])]
    say(f"RL {rl.person_id}: {RL[0]} {RL[1]}, dossier {rl.dossier_id}: "
        + ", ".join(doc_name(d.type) for d in rl_docs))
    marseille = E.PostalAddress(lines=["Service des cartes", "3 rue du Port"],
                                postal_code="13002", city="Marseille", country_code="FR")
    mc = person(E.PERSON_ROLE_CERTIFICATION_DELEGATE, MC, marseille,
                designated_by_person_id=rl.person_id)
    mc_docs = [document(mc.dossier_id, E.DOCUMENT_TYPE_MC_DESIGNATION,
                        [mc.person_id, rl.person_id]),
               document(mc.dossier_id, E.DOCUMENT_TYPE_REQUEST_FORM, [mc.person_id]),
               document(mc.dossier_id, E.DOCUMENT_TYPE_TERMS_OF_USE, [mc.person_id, ae]),
               identity(mc),
               document(mc.dossier_id, E.DOCUMENT_TYPE_FACE_TO_FACE_REPORT,
                        [ae, mc.person_id])]
    say(f"MC {mc.person_id}: {MC[0]} {MC[1]}, designated by the RL, dossier {mc.dossier_id}: "
        + ", ".join(doc_name(d.type) for d in mc_docs))
    holder = person(E.PERSON_ROLE_HOLDER, HOLDER)
    # The MC sends the holder's dossier: the request form and the CGU, signed
    # by the holder and the MC, now; the identity document and the
    # face-to-face report come later (the batch step shows them missing).
    holder_docs = [document(holder.dossier_id, E.DOCUMENT_TYPE_REQUEST_FORM,
                            [holder.person_id, mc.person_id]),
                   document(holder.dossier_id, E.DOCUMENT_TYPE_TERMS_OF_USE,
                            [holder.person_id, mc.person_id])]
    say(f"holder {holder.person_id}: {HOLDER[0]} {HOLDER[1]} <{HOLDER[2]}>, dossier "
        f"{holder.dossier_id} sent by the MC: "
        + ", ".join(doc_name(d.type) for d in holder_docs) + " (signed by the holder and the MC)")
    state.update(organisation_id=org.organisation_id, siret=org.siret,
                 rl_person_id=rl.person_id, mc_person_id=mc.person_id,
                 holder_person_id=holder.person_id, holder_dossier_id=holder.dossier_id,
                 holder_email=HOLDER[2], mc_email=MC[2], entry_operator_id=ae)
    save(state)
    return 0


def enroll_reply(method, message):
    return call("enrollment", method, message, "entry", expect_ok=False)


def cmd_batch(args):
    """A batch with the holder's card request: submitted while the holder's
    dossier lacks two documents, refused with what is missing; submitted
    again once they are recorded."""
    m = pb()
    E, ca = m["E"], m["ca"]
    state = load()
    batch = enroll("CreateBatch", E.CreateBatchRequest(
        organisation_id=state["organisation_id"], label="Cartes agents 2026"), E.Batch)
    request = enroll("CreateCardRequest", E.CreateCardRequestRequest(
        batch_id=batch.batch_id, person_id=state["holder_person_id"],
        level=ca.POLICY_LEVEL_TWO_STARS,
        uses=[ca.CERTIFICATE_USE_AUTHENTICATION, ca.CERTIFICATE_USE_SIGNATURE]), E.CardRequest)
    say(f"batch {batch.batch_id}, card request {request.card_request_id} "
        "(level **, authentication + signature)")
    refused = enroll_reply("SubmitBatch", E.SubmitBatchRequest(batch_id=batch.batch_id))
    if refused.status == m["env"].STATUS_OK:
        raise Failed("an incomplete batch was submitted")
    say(f"SubmitBatch: {status_name(refused)}: {refused.status_message}")
    checked = enroll("CheckBatch", E.CheckBatchRequest(batch_id=batch.batch_id),
                     E.CheckBatchReply)
    say(f"CheckBatch: complete={str(checked.complete).lower()}, "
        f"{len(checked.defects)} defects: "
        + "; ".join(f"{doc_name(d.document_type)} ({E.DossierDefectKind.Name(d.kind).removeprefix('DOSSIER_DEFECT_KIND_').lower()})"
                    for d in checked.defects))
    ae, holder = state["entry_operator_id"], state["holder_person_id"]
    now = int(time.time())
    added = [document(state["holder_dossier_id"], E.DOCUMENT_TYPE_IDENTITY_DOCUMENT,
                      [holder], identity_document_kind=E.IDENTITY_DOCUMENT_KIND_NATIONAL_ID_CARD,
                      expires_unix=now + 5 * 365 * 86400),
             document(state["holder_dossier_id"], E.DOCUMENT_TYPE_FACE_TO_FACE_REPORT,
                      [ae, state["rl_person_id"]])]
    say("recorded: " + ", ".join(doc_name(d.type) for d in added))
    submitted = enroll("SubmitBatch", E.SubmitBatchRequest(batch_id=batch.batch_id), E.Batch)
    say(f"SubmitBatch: OK, batch {E.BatchState.Name(submitted.state).removeprefix('BATCH_STATE_').lower()}")
    state.update(batch_id=batch.batch_id, card_request_id=request.card_request_id)
    save(state)
    return 0


def cmd_validate(args):
    """Four eyes: the operator who entered the request may not decide it,
    even holding the validation role; a second operator validates it."""
    m = pb()
    val, E = m["val"], m["E"]
    state = load()
    request_id = state["card_request_id"]
    refused = call("validation", "ValidateCardRequest", val.ValidateCardRequestRequest(
        card_request_id=request_id), "entry", expect_ok=False)
    say(f"ValidateCardRequest by the entry operator (entry + validation roles): "
        f"{status_name(refused)}: {refused.status_message}")
    if refused.status == m["env"].STATUS_OK:
        raise Failed("the operator who entered the request validated it")
    decision = call("validation", "ValidateCardRequest", val.ValidateCardRequestRequest(
        card_request_id=request_id, note="dossier complet, pièces vues"), "validator",
        val.Decision)
    say(f"ValidateCardRequest by the validation operator: "
        f"{val.DecisionOutcome.Name(decision.outcome).removeprefix('DECISION_OUTCOME_').lower()}, "
        f"decided by {decision.decided_by_operator_id}, entered by "
        f"{decision.entered_by_operator_id}; account {decision.account_id} created: "
        f"{str(decision.account_created).lower()}")

    def validated():
        got = call("enrollment", "GetCardRequest", E.GetCardRequestRequest(
            card_request_id=request_id), "validator", E.CardRequest)
        return got.state == E.CARD_REQUEST_STATE_VALIDATED
    wait_for(validated, 30, "enrollment seeing the request validated")
    say(f"enrollment: card request {request_id} validated (from validation's event)")
    # The validation operator had been told of the batch by e-mail.
    path, message = wait_mail(settings()["validator_email"], "", timeout=30)
    say(f"the validation operator's notice of the batch: {path.name}, "
        f"Subject: {message['Subject']}")
    state.update(account_id=decision.account_id)
    save(state)
    return 0


def one_time_password(state):
    """The holder reads the password in the e-mail."""
    path, message = wait_mail(state["holder_email"], "mot de passe à usage unique")
    text = text_of(message)
    login = re.search(r"Identifiant : (\S+)", text).group(1)
    password = re.search(r"Mot de passe à usage unique : (\S+)", text).group(1)
    return path, message, login, password


def cmd_otp_mail(args):
    """The holder's one-time password arrives, S/MIME-signed by mail's key
    certified by tessera's CA (the password masked here)."""
    state = load()
    path, message, login, password = one_time_password(state)
    masked = f"{password[:2]}{'•' * (len(password) - 2)}"
    show_mail(path, message, root=DEMO / "ca" / "root.pem",
              body=lambda text: text.replace(password, masked))
    say(f"validation keeps only its Argon2id hash; it travelled sealed to mail's key "
        f"({len(password)} characters, shown masked)")
    state.update(login=login, otp_mail=path.name)
    save(state)
    return 0


# --- steps: the card ------------------------------------------------------------------

def cmd_perso(args):
    """The perso operator personalises the card in the virtual reader."""
    state = load()
    _, ready = pcsc_env()
    tessera("persoop", "perso", "readers")
    started = tessera_json("persoop", "perso", "start", "--request", state["card_request_id"],
                           "--reader", ready["reader"])[0]
    say(f"  job {started['job_id']} {started['state']}")
    tessera("persoop", "perso", "job", started["job_id"], "--wait", "120", expect=None)
    P = pb()["perso"]
    job = call("perso", "GetJob", P.GetJobRequest(job_id=started["job_id"]), "persoop",
               P.PersoJob)
    if job.state != P.PERSO_JOB_STATE_SUCCEEDED:
        raise Failed(f"the personalisation job: {P.PersoJobState.Name(job.state)}: "
                     f"{job.failure_reason}")
    tessera("persoop", "perso", "card", job.card_uuid)
    card = call("perso", "GetCard", P.GetCardRequest(card_uuid=job.card_uuid), "persoop", P.Card)
    serials = {c.slot: c.serial_hex for c in card.certificates}
    if card.card_uuid.replace("-", "").lower() != ready["guid"].lower():
        raise Failed("the card's UUID is not the virtual card's GUID")
    say(f"the card's UUID is the GUID of the blank card's CHUID; its certificates are on hold "
        "until the holder activates it")
    state.update(card_uuid=card.card_uuid, serials=serials, job_id=started["job_id"])
    save(state)
    return 0


def cmd_card_list(args):
    """OpenSC reads the card: both certificates, the same as the CA issued;
    OCSP says they are on hold."""
    state = load()
    env, _ = pcsc_env()
    run("pkcs15-tool", "--list-certificates", env=env)
    slots = {"01": ("9A", "auth"), "02": ("9C", "sign")}
    for pkcs15_id, (slot, name) in slots.items():
        path = holder_cert(name)
        done = subprocess.run(["pkcs15-tool", "--read-certificate", pkcs15_id], env=env,
                              capture_output=True, text=True, check=True)
        path.write_text(done.stdout)
        if serial_of(path) != state["serials"][slot].lower().lstrip("0"):
            raise Failed(f"the card's certificate {pkcs15_id} is not the one perso recorded")
        run("openssl", "verify", "-CAfile", str(chain_file()), str(path), show=False)
    say(f"pkcs15-tool --read-certificate 01, 02: the serials perso recorded; openssl verify: OK")
    for name in ("auth", "sign"):
        show_ocsp(holder_cert(name), "revoked")
    return 0


def cmd_ship(args):
    """The shipping operator sends the card by registered mail to the MC."""
    state = load()
    shipment = tessera_json("shipper", "mail", "prepare", "--card", state["card_uuid"])[0]
    say(f"  shipment {shipment['shipment_id']}: {shipment['kind']}, {shipment['state']}, to "
        f"{shipment['recipient_name']}, {' / '.join(shipment['recipient_address']['lines'])}, "
        f"{shipment['recipient_address']['postal_code']} {shipment['recipient_address']['city']}")
    if shipment["recipient_person_id"] != state["mc_person_id"]:
        raise Failed("the card does not go to the organisation's MC")
    posted = tessera_json("shipper", "mail", "post", shipment["shipment_id"], "--tracking",
                          TRACKING)[0]
    say(f"  {posted['state']}, tracking number {posted['tracking_number']}")
    path, message = wait_mail(state["mc_email"], TRACKING)
    show_mail(path, message, root=DEMO / "ca" / "root.pem")

    def shipped():
        return tessera_json("persoop", "perso", "card", state["card_uuid"],
                            show=False)[0]["state"] == "shipped"
    wait_for(shipped, 30, "perso seeing the card shipped")
    say("perso: card shipped (from mail's card.shipped)")
    state.update(card_shipment_id=shipment["shipment_id"])
    save(state)
    return 0


def cmd_pin_mailer_early(args):
    state = load()
    out = DEMO / "lifecycle" / "pin-mailer-early.pdf"
    done = tessera("shipper", "mail", "pin-mailer", "--card", state["card_uuid"], "--out",
                   str(out), expect=None)
    if done.returncode == 0 or "early" not in done.stderr:
        raise Failed("the PIN mailer was not refused before 24 h")
    return 0


def cmd_pin_mailer(args):
    """Mail's clock is 25 h ahead (demo.sh restarted it): the PIN mailer is
    released once, read with pdftotext, and posted."""
    state = load()
    pdf = DEMO / "pin-mailer.pdf"
    pdf.unlink(missing_ok=True)
    released = tessera_json("shipper", "mail", "pin-mailer", "--card", state["card_uuid"],
                            "--out", str(pdf))[0]
    say(f"  {rel(pdf)}: {oct(pdf.stat().st_mode & 0o777)}, "
        f"SHA-256 {released['pdf_sha256'][:16]}…, {released['state']}")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    kept = DEMO / "lifecycle" / "pin-mailer.txt"
    kept.touch(mode=0o600)
    kept.write_text(text)
    pin = re.search(r"Code PIN :\s+(\d{8})\b", text)
    code = re.search(r"Code d'activation :\s+([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})", text)
    if not pin or not code or state["card_uuid"] not in text or HOLDER[1] not in text:
        raise Failed(f"the PIN mailer lacks a field:\n{text}")
    shown = text.replace(pin.group(1), "••••••••").replace(code.group(1), "••••-••••-••••")
    say(f"$ pdftotext -layout {rel(str(pdf))} -   (PIN and code masked here)")
    for line in shown.splitlines():
        if line.strip():
            say(f"  {line.rstrip()}")
    again = tessera("shipper", "mail", "pin-mailer", "--card", state["card_uuid"], "--out",
                    str(DEMO / "lifecycle" / "pin-mailer-again.pdf"), expect=None, show=False)
    say(f"a second release: refused ({again.stderr.strip()})")
    if again.returncode == 0:
        raise Failed("the PIN mailer was released twice")
    posted = tessera_json("shipper", "mail", "post", released["shipment_id"])[0]
    say(f"  {posted['kind']} {posted['state']}")
    path, message = wait_mail(state["holder_email"], "PIN")
    show_mail(path, message)
    state.update(pin_shipment_id=released["shipment_id"])
    save(state)
    return 0


def pin_mailer_secrets():
    text = (DEMO / "lifecycle" / "pin-mailer.txt").read_text()
    pin = re.search(r"Code PIN :\s+(\d{8})\b", text).group(1)
    code = re.search(r"Code d'activation :\s+([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})", text).group(1)
    return pin, code


# --- steps: the holder -------------------------------------------------------------------

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


class Browser:
    """The holder's browser on the portal: cookies kept in the state file,
    no redirect followed, no JavaScript (the portal needs none)."""

    def __init__(self, url, state):
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port = parsed.hostname, parsed.port
        self.state = state
        self.cookies = state.setdefault("portal_cookies", {})

    def request(self, method, path, fields=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        headers = {"User-Agent": AGENT, "Accept-Language": "fr"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    key, _, val = value.split(";", 1)[0].partition("=")
                    if "Max-Age=0" in value:
                        self.cookies.pop(key, None)
                    else:
                        self.cookies[key] = val
            return response.status, {k.lower(): v for k, v in response.getheaders()}, text
        finally:
            conn.close()

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, fields, form_page):
        status, _, page = self.get(form_page)
        token = CSRF.search(page)
        if not token:
            raise Failed(f"no form on {form_page} (HTTP {status})")
        return self.request("POST", path, dict(fields, csrf_token=token.group(1)))

    def expect(self, answer, status, location=None, what=""):
        got, headers, body = answer
        where = headers.get("location", "")
        if got != status or (location and not where.startswith(location)):
            notice = re.search(r'id="notice">([^<]*)<', body)
            raise Failed(f"{what}: HTTP {got} {where} "
                         f"{html.unescape(notice.group(1)) if notice else body[:300]}")
        say(f"  {what}: {got}{' → ' + where if where else ''}")
        return answer


def cards_page(browser, uuid):
    status, _, body = browser.get("/cards")
    if status != 200:
        raise Failed(f"/cards: HTTP {status}")
    state = re.search(rf'id="state-{re.escape(uuid)}">([^<]*)<', body)
    statuses = [(serial, html.unescape(word)) for serial, word in
                re.findall(r'id="status-([0-9a-fA-F]+)">([^<]*)<', body)]
    return (html.unescape(state.group(1)) if state else None), statuses, body


def holder_via(args):
    return "bus" if "--via" in args and args[args.index("--via") + 1] == "bus" else "portal"


def cmd_holder_first_login(args):
    """The holder logs in with the one-time password from the e-mail, chooses
    a password, sets five secret questions."""
    state = load()
    _, _, login, otp = one_time_password(state)
    if holder_via(args) == "bus":
        val = pb()["val"]
        reply = call("validation", "Login", val.LoginRequest(
            login=login, password=otp, client_address="127.0.0.1", user_agent=AGENT),
            "portal", val.LoginReply)
        if not reply.authenticated or not reply.must_change_password:
            raise Failed("the one-time password did not log in")
        say(f"  validation.Login (one-time password): authenticated, must change the password")
        account = call("validation", "SetPassword", val.SetPasswordRequest(
            account_id=reply.account.account_id, password_change_token=reply.password_change_token,
            new_password=NEW_PASSWORD, client_address="127.0.0.1", user_agent=AGENT),
            "portal", val.HolderAccount)
        say(f"  validation.SetPassword (with the login's change token): "
            f"{val.HolderAccountState.Name(account.state)}")
        account = call("validation", "SetSecretQuestions", val.SetSecretQuestionsRequest(
            account_id=reply.account.account_id,
            pairs=[val.SecretQuestionAnswer(question=q, answer=a) for q, a in QUESTIONS],
            client_address="127.0.0.1", user_agent=AGENT), "portal", val.HolderAccount)
        say(f"  validation.SetSecretQuestions: {account.secret_question_count} questions")
        again = call("validation", "Login", val.LoginRequest(
            login=login, password=otp, client_address="127.0.0.1", user_agent=AGENT),
            "portal", val.LoginReply)
        say(f"  the one-time password again: authenticated={str(again.authenticated).lower()}")
        return 0
    browser = Browser(settings()["portal_url"], state)
    browser.cookies.clear()
    browser.expect(browser.post("/login", {"login": login, "password": otp}, "/login"),
                   303, "/password", "POST /login (one-time password)")
    browser.expect(browser.get("/cards"), 303, "/password", "GET /cards before a new password")
    browser.expect(browser.post("/password", {"new_password": NEW_PASSWORD,
                                              "confirm_password": NEW_PASSWORD}, "/password"),
                   303, "/questions", "POST /password")
    fields = {}
    for i, (question, answer) in enumerate(QUESTIONS, start=1):
        fields[f"question_{i}"], fields[f"answer_{i}"] = question, answer
    browser.expect(browser.post("/questions", fields, "/questions"), 303, "/cards",
                   "POST /questions (5 questions)")
    card_state, statuses, body = cards_page(browser, state["card_uuid"])
    name = re.search(r'id="holder-name">([^<]*)<', body)
    say(f"  GET /cards: {html.unescape(name.group(1)) if name else '?'}, card "
        f"{state['card_uuid']} \"{card_state}\", certificates: "
        + ", ".join(f"{s} {w}" for s, w in statuses))
    browser.expect(browser.post("/logout", {}, "/cards"), 303, "/login", "POST /logout")
    other = Browser(settings()["portal_url"], {})
    status, _, _ = other.post("/login", {"login": login, "password": otp}, "/login")
    if status != 200:
        raise Failed(f"the one-time password logged in twice (HTTP {status})")
    say("  POST /login with the one-time password again: 200, the login form again (spent)")
    save(state)
    return 0


def holder_login(browser, state):
    browser.cookies.clear()
    browser.expect(browser.post("/login", {"login": state["login"], "password": NEW_PASSWORD},
                                "/login"), 303, "/cards", "POST /login (the holder's password)")


def cmd_holder_activate(args):
    """The holder types the activation code from the PIN mailer: the hold on
    both certificates is released (OCSP: good)."""
    state = load()
    _, code = pin_mailer_secrets()
    uuid = state["card_uuid"]
    account_id = state["account_id"]
    if holder_via(args) == "bus":
        perso = pb()["perso"]
        wrong = call("perso", "ActivateCard", perso.ActivateCardRequest(
            account_id=account_id, card_uuid=uuid, activation_code="AAAA-BBBB-CCCC",
            client_address="127.0.0.1", user_agent=AGENT), "portal", perso.ActivateCardReply)
        say(f"  perso.ActivateCard (a wrong code): activated=false, {wrong.attempts_left} "
            "attempts left")
        done = call("perso", "ActivateCard", perso.ActivateCardRequest(
            account_id=account_id, card_uuid=uuid, activation_code=code,
            client_address="127.0.0.1", user_agent=AGENT), "portal", perso.ActivateCardReply)
        if not done.activated:
            raise Failed("the activation code from the PIN mailer was refused")
        say(f"  perso.ActivateCard (the PIN mailer's code): activated, card "
            f"{perso.CardState.Name(done.card.state)}")
    else:
        browser = Browser(settings()["portal_url"], state)
        holder_login(browser, state)
        before, _, _ = cards_page(browser, uuid)
        status, _, body = browser.post("/activate", {"card_uuid": uuid,
                                                     "activation_code": "AAAA-BBBB-CCCC"},
                                       "/cards")
        notice = re.search(r'id="notice">([^<]*)<', body)
        say(f"  POST /activate (a wrong code): {status} "
            f"{html.unescape(notice.group(1)) if notice else ''}".rstrip())
        browser.expect(browser.post("/activate", {"card_uuid": uuid, "activation_code": code},
                                    "/cards"), 303, "/cards?notice=activated",
                       "POST /activate (the PIN mailer's code)")
        after, statuses, _ = cards_page(browser, uuid)
        say(f"  GET /cards: card \"{before}\" → \"{after}\"; "
            + ", ".join(f"{s} {w}" for s, w in statuses))
        save(state)
    for name in ("auth", "sign"):
        show_ocsp(holder_cert(name), "good")
    return 0


def cmd_holder_accept(args):
    """The holder accepts the certificates explicitly; mail keeps the
    acceptance with the time, address and browser."""
    state = load()
    uuid = state["card_uuid"]
    if holder_via(args) == "bus":
        mail = pb()["mail"]
        accepted = call("mail", "RecordAcceptance", mail.RecordAcceptanceRequest(
            channel=mail.ACCEPTANCE_CHANNEL_PORTAL, card_uuid=uuid,
            account_id=state["account_id"], client_address="127.0.0.1", user_agent=AGENT),
            "portal", mail.Acceptance)
        say(f"  mail.RecordAcceptance (portal channel): {accepted.acceptance_id}")
    else:
        browser = Browser(settings()["portal_url"], state)
        browser.expect(browser.post("/accept", {"card_uuid": uuid, "accept": "yes"}, "/cards"),
                       303, "/cards?notice=accepted", "POST /accept (box ticked)")
        save(state)
    listed = tessera_json("shipper", "mail", "acceptances", "--card", uuid)
    for a in listed:
        say(f"  {a['acceptance_id']}: {a['channel']}, account {a.get('account_id', '')}, "
            f"from {a.get('client_address', '')} ({a.get('user_agent', '')}), "
            f"serials {', '.join(a.get('serials', []))}")
    if len(listed) != 1 or listed[0]["channel"] != "ACCEPTANCE_CHANNEL_PORTAL":
        raise Failed("mail does not keep the holder's acceptance")
    return 0


def cmd_card_sign(args):
    """The card signs with its signature key (9C, PIN from the PIN mailer);
    openssl verifies with the certificate."""
    pin, _ = pin_mailer_secrets()
    env, _ = pcsc_env()
    work = DEMO / "lifecycle"
    data = work / "contract.txt"
    data.write_text(f"Bon pour accord, {HOLDER[0]} {HOLDER[1]}, {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
    digest = work / "contract.sha256"
    digest.write_bytes(hashlib.sha256(data.read_bytes()).digest())
    sig = work / "contract.sig"
    sig.unlink(missing_ok=True)
    done = subprocess.run(["pkcs11-tool", "--module", str(PKCS11), "--login", "--pin", pin, "--sign",
                           "--id", "02", "-m", "ECDSA", "--signature-format", "openssl",
                           "-i", str(digest), "-o", str(sig)], env=env, capture_output=True,
                          text=True, timeout=60)
    say(f"$ pkcs11-tool --module opensc-pkcs11.so --login --pin •••••••• --sign --id 02 "
        f"-m ECDSA --signature-format openssl -i contract.sha256 -o contract.sig")
    for line in (done.stdout + done.stderr).strip().splitlines():
        say(f"  {line}")
    if done.returncode != 0:
        raise Failed("the card did not sign")
    public = work / "sign-pub.pem"
    public.write_text(subprocess.run(["openssl", "x509", "-in", str(holder_cert("sign")), "-noout",
                                      "-pubkey"], capture_output=True, text=True,
                                     check=True).stdout)
    run("openssl", "dgst", "-sha256", "-verify", str(public), "-signature", str(sig), str(data))
    subject = subprocess.run(["openssl", "x509", "-in", str(holder_cert("sign")), "-noout",
                              "-subject", "-ext", "keyUsage", "-nameopt",
                              "utf8,sep_comma_plus_space"], capture_output=True,
                             text=True).stdout.split("\n")
    say("  signer: " + " ".join(s.strip() for s in subject if s.strip()))
    run("openssl", "verify", "-CAfile", str(chain_file()), str(holder_cert("sign")))
    refused = subprocess.run(["pkcs11-tool", "--module", str(PKCS11), "--login", "--pin", "123456",
                              "--sign", "--id", "02", "-m", "ECDSA", "-i", str(digest), "-o",
                              str(work / "refused.sig")], env=env, capture_output=True,
                             text=True, timeout=60)
    if refused.returncode == 0:
        raise Failed("the transport PIN still works")
    say("the transport PIN 123456: refused by the card")
    return 0


def phone_call(person, serial_args, wrong):
    """One phone call: the revocation operator asks the questions validation
    picks (four of the holder's five at level **), types the caller's
    answers (`wrong` of them wrong) and gets the verdict."""
    answers = dict(QUESTIONS)
    challenge = tessera_json("revoker", "revocation", "phone-start", "--caller", person,
                             *serial_args)[0]
    asked = {int(k.split("_")[1]): v for k, v in challenge.items() if k.startswith("question_")}
    if len(asked) < 2 or any(q not in answers for q in asked.values()):
        raise Failed(f"the questions asked are not the holder's: {challenge}")
    say(f"  challenge {challenge['challenge_id']}: {len(asked)} questions asked, "
        "never their answers")
    for question_id, question in asked.items():
        say(f"    {question_id}: {question}")
    typed = "".join(f"{i}={'Paris' if n < wrong else answers[q]}\n"
                    for n, (i, q) in enumerate(asked.items()))
    result = tessera_json("revoker", "revocation", "phone-answer", challenge["challenge_id"],
                          "--answers-stdin", input=typed, expect=None)[0]
    say(f"  the caller's answers ({wrong} wrong, typed on standard input): "
        f"passed={str(result['passed']).lower()}, failed attempts {result['failed_attempts']}")
    return challenge["challenge_id"], result["passed"]


def cmd_phone_revoke(args):
    """The holder phones the revocation desk: the operator asks secret
    questions (a first call with a wrong answer is refused and counted),
    records the request once every answer is right, and a revocation
    operator decides it. OCSP and the CRL at the URLs in the certificates
    say revoked; openssl verify -crl_check refuses; mail confirms to the
    holder. Leaves crl.der and ocsp-revoked.der in var/demo/."""
    state = load()
    serials = sorted(state["serials"].values())
    person = state["holder_person_id"]
    serial_args = [a for serial in serials for a in ("--serial", serial)]
    mails_before = max([int(p.stem) for p, _ in messages()] or [0])
    _, passed = phone_call(person, serial_args, wrong=1)
    if passed:
        raise Failed("a wrong answer passed the phone check")
    challenge_id, passed = phone_call(person, serial_args, wrong=0)
    if not passed:
        raise Failed("the holder's right answers did not pass the phone check")
    record = tessera_json("revoker", "revocation", "phone-record", challenge_id, *serial_args,
                          "--reason", "key-compromise", "--as", "holder",
                          "--statement", "Carte perdue dans le train Paris–Lyon.")[0]
    say(f"  recorded {record['revocation_id']}: {record['state']}, channel {record['channel']}, "
        f"deadline {time.strftime('%Y-%m-%d %H:%M', time.gmtime(record['deadline_unix']))} UTC")
    word, _, _ = ocsp(holder_cert("auth"))
    if word != "good":
        raise Failed(f"a request not yet decided already changed OCSP ({word})")
    say("  not decided yet: OCSP still says good")
    decided = tessera_json("revoker", "revocation", "decide", record["revocation_id"],
                           "--approve", "--note", "appel du titulaire, questions réussies")[0]
    if decided["state"] not in ("approved", "applied"):
        raise Failed(f"the decision left the request {decided['state']}")
    say(f"  decided by {decided['decided_by_operator_id']}: {decided['state']}")
    tessera("revoker", "revocation", "list", "--holder", person)
    state.update(revocation_id=record["revocation_id"])
    save(state)
    show_ocsp(holder_cert("auth"), "revoked", respout=DEMO / "ocsp-revoked.der")
    show_ocsp(holder_cert("sign"), "revoked")
    crl = DEMO / "crl.der"
    url = crl_url(holder_cert("sign"))
    wanted = {s.lower().lstrip("0") for s in serials}

    def listed():
        try:
            fetch(url, crl)
        except OSError:
            return False
        return wanted <= crl_serials(crl)
    wait_for(listed, 60, "a CRL listing the card's certificates", interval=0.5)
    number = subprocess.run(["openssl", "crl", "-inform", "DER", "-in", str(crl), "-noout",
                             "-crlnumber"], capture_output=True, text=True).stdout.strip()
    say(f"GET {url} → {rel(crl)}: {number}, lists {', '.join(serials)}")
    crl_pem = subprocess.run(["openssl", "crl", "-inform", "DER", "-in", str(crl)],
                             capture_output=True, text=True, check=True).stdout
    bundle = DEMO / "lifecycle" / "chain-crl.pem"
    bundle.write_text(chain_file().read_text() + crl_pem)
    refused = run("openssl", "verify", "-crl_check", "-CAfile", str(bundle),
                  str(holder_cert("sign")), check=False)
    if refused.returncode == 0:
        raise Failed("openssl still accepts the revoked certificate")
    path, message = wait_mail(state["holder_email"], "Révocation", after=mails_before)
    show_mail(path, message, root=DEMO / "ca" / "root.pem")
    return 0


def cmd_journal(args):
    """The portal's journal: a hash chain (each line's hash covers the
    previous one)."""
    path = DEMO / "portal" / "journal.jsonl"
    if not path.exists():
        say("no portal journal (the holder's steps went over the bus)")
        return 0
    previous = "0" * 64
    events = {}
    lines = path.read_text().splitlines()
    for number, line in enumerate(lines, start=1):
        record = json.loads(line)
        body = line[:line.index(',"hash":"')]
        if record["seq"] != number or record["prev"] != previous or \
                hashlib.sha256((previous + body).encode()).hexdigest() != record["hash"]:
            raise Failed(f"the portal journal breaks at line {number}")
        previous = record["hash"]
        events[record["event"]] = events.get(record["event"], 0) + 1
    say(f"portal journal: {len(lines)} records, hash chain intact: "
        + ", ".join(f"{k} {v}" for k, v in sorted(events.items())))
    text = path.read_text()
    for secret in (NEW_PASSWORD, QUESTIONS[0][1]):
        if secret in text:
            raise Failed("a secret is in the portal journal")
    return 0


ARTEFACTS = [("summary.json", "each step, its status and duration, the serials"),
             ("chain.pem", "root and issuing CA certificates"),
             ("holder-auth.pem", "the holder's authentication certificate, read from the card"),
             ("holder-sign.pem", "the holder's signature certificate, read from the card"),
             ("crl.der", "the CRL published after the revocation"),
             ("ocsp-revoked.der", "the OCSP answer saying revoked (auth certificate)"),
             ("pin-mailer.pdf", "the PIN mailer (holds the PIN and the activation code)"),
             ("mail/", "every e-mail the SMTP server received (.eml)")]


def cmd_artefacts(args):
    """What the demo leaves in var/demo/ for independent checks: each file
    present and not empty (summary.json comes at the very end)."""
    missing = []
    for name, what in ARTEFACTS:
        path = DEMO / name
        if name == "summary.json":
            continue
        if name.endswith("/"):
            count = len(list(path.glob("*.eml")))
            if count == 0:
                missing.append(name)
            say(f"  {rel(path)}{'':<{max(1, 22 - len(name))}}{count} messages: {what}")
            continue
        if not path.is_file() or path.stat().st_size == 0:
            missing.append(name)
            continue
        say(f"  {rel(path)}{'':<{max(1, 22 - len(name))}}{path.stat().st_size:>6} bytes: {what}")
    if missing:
        raise Failed(f"artefacts missing: {', '.join(missing)}")
    return 0


def cmd_summary(args):
    """summary STATUS STEPS_FILE HOLDER_VIA: writes var/demo/summary.json
    from the steps demo.sh recorded (one JSON object a line) and the
    identifiers of the story, and prints the closing summary."""
    status, steps_file, via = args[0], Path(args[1]), args[2]
    steps = [json.loads(line) for line in steps_file.read_text().splitlines() if line.strip()] \
        if steps_file.exists() else []
    try:
        state = load()
    except (OSError, ValueError):
        state = {}
    slots = {"9A": "auth", "9C": "sign"}
    serials = {slots.get(k, k): v for k, v in state.get("serials", {}).items()}
    summary = dict(status=status, holder_steps=via, steps=steps,
                   total_ms=sum(st["duration_ms"] for st in steps),
                   serials=serials, card_uuid=state.get("card_uuid"),
                   card_request_id=state.get("card_request_id"),
                   holder_person_id=state.get("holder_person_id"),
                   revocation_id=state.get("revocation_id"),
                   artefacts=[n for n, _ in ARTEFACTS if (DEMO / n).exists()
                              or n == "summary.json"])
    (DEMO / "summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n")
    ok = sum(1 for st in steps if st["status"] == "ok")
    print(f"\nsummary: {ok} of {len(steps)} steps passed in {summary['total_ms'] / 1000:.1f} s")
    failed = [st["step"] for st in steps if st["status"] != "ok"]
    if failed:
        print(f"  failed: {failed[0]}")
    for use, serial in sorted(serials.items()):
        print(f"  holder {use} certificate: serial {serial}")
    if summary["revocation_id"]:
        print(f"  revoked by phone: {summary['revocation_id']}")
    print(f"  artefacts in {rel(DEMO)}/: " + ", ".join(summary["artefacts"]))
    return 0


COMMANDS = {
    "pcscd": cmd_pcscd, "smtp-sink": cmd_smtp_sink, "publisher": cmd_publisher,
    "register": cmd_register, "batch": cmd_batch, "validate": cmd_validate,
    "otp-mail": cmd_otp_mail, "perso": cmd_perso, "card-list": cmd_card_list,
    "ship": cmd_ship, "pin-mailer-early": cmd_pin_mailer_early, "pin-mailer": cmd_pin_mailer,
    "holder-first-login": cmd_holder_first_login, "holder-activate": cmd_holder_activate,
    "holder-accept": cmd_holder_accept, "card-sign": cmd_card_sign,
    "phone-revoke": cmd_phone_revoke, "journal": cmd_journal,
    "artefacts": cmd_artefacts, "summary": cmd_summary,
}


def main(argv):
    if len(argv) < 2 or argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        return COMMANDS[argv[1]](argv[2:])
    except Failed as e:
        print(f"FAILED: {e}", flush=True)
        return 1
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv))
