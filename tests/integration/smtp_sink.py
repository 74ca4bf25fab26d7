"""A real SMTP server for the mail tests: Debian's python3-aiosmtpd in a
thread of the test process, requiring STARTTLS and a login the way a
submission server does, and keeping every message it accepts byte for byte
(and in a directory, for openssl to read).

Recipients steer its answers, so a test can make a server misbehave for one
message without touching the others:
  reject-*   550 at RCPT (a permanent refusal: the message is dead-lettered)
  tempfail-* 451 at RCPT (a transient one: retried, then dead-lettered)
  slow-*     the message is kept, then the 250 after DATA waits `slow_s`
             seconds the first time its Message-ID is seen (the window in
             which a sender can die after the server accepted the message)

stop() and start() take the server away and bring it back on the same port.
"""
import asyncio
import email
import email.policy
import ssl
import subprocess
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def make_tls_files(directory):
    """A self-signed certificate for 127.0.0.1 (the sink's), as PEM files."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-addext", "basicConstraints=critical,CA:TRUE"],
                   check=True, capture_output=True)
    return cert, key


class Received:
    """One accepted message."""

    def __init__(self, index, sender, recipients, raw):
        self.index = index
        self.sender = sender
        self.recipients = recipients
        self.raw = raw
        self.message = email.message_from_bytes(raw, policy=email.policy.default)
        self.message_id = self.message["Message-ID"]
        self.subject = str(self.message["Subject"])
        self.to = str(self.message["To"])

    def text(self):
        """The signed text part, decoded."""
        part = next(p for p in self.message.walk() if p.get_content_type() == "text/plain")
        return part.get_content()


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        if local.startswith("reject-") and self.sink.reject:
            return "550 5.1.1 no such mailbox here"
        if local.startswith("tempfail-"):
            return "451 4.3.0 mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        received = self.sink._keep(envelope.mail_from, list(envelope.rcpt_tos),
                                   envelope.original_content)
        if any(r.split("@")[0].startswith("slow-") for r in envelope.rcpt_tos) \
                and self.sink._first_time(received.message_id):
            await asyncio.sleep(self.sink.slow_s)
        return f"250 2.0.0 queued as sink-{received.index}"


class SmtpSink:
    def __init__(self, directory, port, user="tessera", password="sink-password",
                 tls_directory=None):
        """Messages go to directory as NNNN.eml; the TLS files to
        tls_directory (directory/tls when None)."""
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.user = user
        self.password = password
        self.cert, self.key = make_tls_files(
            Path(tls_directory) if tls_directory else self.directory / "tls")
        self.messages = []
        self.logins = []
        self.reject = True
        self.slow_s = 3.0
        self._seen_slow = set()
        self._lock = threading.Lock()
        self._controller = None

    # --- the server ---------------------------------------------------------

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == self.user.encode() \
            and auth_data.password == self.password.encode()
        with self._lock:
            self.logins.append((mechanism, ok))
        return AuthResult(success=ok)

    def start(self):
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.cert), str(self.key))
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, tls_context=context,
            require_starttls=True, authenticator=self._authenticate, auth_required=True,
            decode_data=False)
        self._controller.start()
        return self

    def stop(self):
        if self._controller:
            self._controller.stop()
            self._controller = None

    @property
    def running(self):
        return self._controller is not None

    def _keep(self, sender, recipients, raw):
        with self._lock:
            received = Received(len(self.messages) + 1, sender, recipients, raw)
            self.messages.append(received)
        (self.directory / f"{received.index:04d}.eml").write_bytes(raw)
        return received

    def _first_time(self, message_id):
        with self._lock:
            first = message_id not in self._seen_slow
            self._seen_slow.add(message_id)
            return first

    # --- what the tests ask -----------------------------------------------

    def path(self, received):
        return self.directory / f"{received.index:04d}.eml"

    def to(self, address):
        with self._lock:
            return [m for m in self.messages if address in m.recipients]

    def wait_for(self, predicate, timeout=30, what="a message"):
        """The first message for which predicate is true, waiting for it."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self._lock:
                found = [m for m in self.messages if predicate(m)]
            if found:
                return found[0]
            time.sleep(0.05)
        with self._lock:
            seen = [(m.recipients, m.subject) for m in self.messages]
        raise AssertionError(f"no {what} after {timeout}s; the sink has {seen}")
