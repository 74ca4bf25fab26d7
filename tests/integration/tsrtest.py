"""Harness for tessera's integration tests: a throwaway PostgreSQL cluster,
CURVE keys made by `tessera keygen`, the real service binaries as processes,
and a bus client written with Debian's python3-zmq and python3-protobuf
(an independent implementation of the wire protocol)."""
import base64
import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import psycopg2
import zmq

from tessera.v1 import envelope_pb2

BUILD = Path(os.environ.get("TSR_BUILD_DIR", "build")).resolve()
SOURCE = Path(os.environ.get("TSR_SOURCE_DIR", ".")).resolve()
CLI = BUILD / "tools" / "tessera"
PROBE = BUILD / "tests" / "integration" / "tsr-probe"
SERVICES = ["enrollment", "validation", "ca", "perso", "mail", "revocation", "publisher"]

# TSR_VALGRIND_SERVICE=ca (or ca,mail; "portal" too) runs those binaries under
# valgrind memcheck (tests/valgrind/run.sh): build without sanitizers. The
# system's teardown fails on any memcheck error or definite leak, and keeps
# the logs in $TSR_VALGRIND_OUT (default <build>/valgrind). Everything waits
# longer then: a service under valgrind is 10 to 50 times slower.
VALGRIND = {n for n in os.environ.get("TSR_VALGRIND_SERVICE", "").split(",") if n}
SLOW = 10 if VALGRIND else 1
VALGRIND_EXIT = 97
# Peers' patience with a slow service (a test's own settings still win).
VALGRIND_TIMEOUTS = {f"TSR_{name}_TIMEOUT_MS": "60000" for name in
                     ("ROLE", "ENROLLMENT", "VALIDATION", "CA", "MAIL_PEER", "PORTAL_BUS",
                      "DRAIN")}


def command(system, name, binary):
    """The argv that starts one service: under valgrind when it is named."""
    if name not in VALGRIND:
        return [str(binary)]
    return ["valgrind", "--leak-check=full", "--show-leak-kinds=definite",
            "--errors-for-leak-kinds=definite", f"--error-exitcode={VALGRIND_EXIT}",
            "--num-callers=40", f"--suppressions={SOURCE / 'tests' / 'valgrind' / 'tessera.supp'}",
            f"--log-file={system.root / f'{name}.valgrind.%p.log'}", str(binary)]


# The first line of a sanitizer's report in a service's log.
SANITIZER_REPORT = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|: runtime error: ")

# The first line of each error memcheck reports as it meets it.
VALGRIND_ERROR = re.compile(r"^==\d+== (Invalid |Conditional jump|Use of uninitialised|Syscall param"
                            r"|Mismatched free|Source and destination overlap|Argument .* of function)",
                            re.M)


def valgrind_findings(system):
    """Copies the valgrind logs out of the test directory and returns what
    they hold: ["ca.valgrind.123.log: 2 errors, 48 bytes definitely lost"]."""
    out = Path(os.environ.get("TSR_VALGRIND_OUT", BUILD / "valgrind"))
    findings = []
    for log in sorted(system.root.glob("*.valgrind.*.log")):
        out.mkdir(parents=True, exist_ok=True)
        kept = out / f"{system.root.name}-{log.name}"
        shutil.copy(log, kept)
        text = log.read_text(errors="replace")
        errors = re.findall(r"ERROR SUMMARY: ([\d,]+) errors", text)
        lost = re.findall(r"definitely lost: ([\d,]+) bytes", text)
        n_errors = int(errors[-1].replace(",", "")) if errors else None
        n_lost = int(lost[-1].replace(",", "")) if lost else 0
        if n_errors is None:
            # Killed (a test's SIGKILL): no leak summary, but the errors met
            # so far are in the log already.
            n_errors = len(VALGRIND_ERROR.findall(text))
        if n_errors or n_lost:
            findings.append(f"{kept}: {n_errors} errors, {n_lost} bytes definitely lost")
    return findings


def claim_port_base():
    """A base port whose ranges base+1..+7, +97..+99, +101..+107 and +201..+209
    are free, below Linux's ephemeral range (32768+) so outgoing connections can
    not take them, and claimed with a lock file held for the process's life
    so tests running in parallel never share one. Returns (base, lock)."""
    lock_dir = Path(tempfile.gettempdir()) / "tessera-test-ports"
    lock_dir.mkdir(exist_ok=True)
    # A system uses base+1 .. base+209 (services, cluster, portal, SMTP
    # sink): bases 300 apart never overlap.
    for _ in range(200):
        base = 10000 + secrets.randbelow(70) * 300     # up to 30909, below pcsc.py's vpcd ports
        lock = open(lock_dir / f"{base}.lock", "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            continue
        ports = [base + 97, base + 98, base + 99, base + 208, base + 209] + \
            [base + r + i for r in (0, 100, 200) for i in range(1, 8)]
        if all(port_free(p) for p in ports):
            return base, lock
        lock.close()
    raise RuntimeError("no free ports")


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class Cluster:
    def __init__(self, root, port):
        self.dir = Path(root) / "pg"
        self.port = port
        self.script = SOURCE / "scripts" / "lib" / "pg-cluster.sh"

    def start(self):
        env = dict(os.environ, TSR_PG_FAST="1")
        subprocess.run([str(self.script), "start", str(self.dir), str(self.port)],
                       check=True, env=env)
        self.admin_dsn = (self.dir / "admin.dsn").read_text().strip()

    def stop(self):
        subprocess.run([str(self.script), "stop", str(self.dir)], check=False)

    def restart(self):
        subprocess.run([str(self.script), "restart", str(self.dir)], check=True)

    def dsn(self, user, password):
        return f"host=127.0.0.1 port={self.port} user={user} password={password} dbname=tessera"

    def connect(self, dsn=None):
        conn = psycopg2.connect(dsn or self.admin_dsn)
        conn.autocommit = True
        return conn


def read_cert(path):
    """Z85 keys from a CZMQ certificate file (public, and secret if present)."""
    text = Path(path).read_text()
    public = re.search(r'public-key = "(.{40})"', text).group(1)
    secret_file = Path(str(path) + "_secret")
    secret = None
    if secret_file.exists():
        secret = re.search(r'secret-key = "(.{40})"', secret_file.read_text()).group(1)
    return public, secret


def keygen(directory, name):
    subprocess.run([str(CLI), "keygen", "--name", name, "--out", str(directory)],
                   check=True, stdout=subprocess.DEVNULL)
    return Path(directory) / f"{name}.cert"


# The shortest value System.secret checks for in the logs.
MIN_SECRET = 6

# Operators' and custodians' identities made for every test system.
IDENTITIES = ["client", "operator", "officer", "alice", "bob", "carol"]


class SoftHsm:
    """A SoftHSM2 token store of the test system's own (SOFTHSM2_CONF)."""

    def __init__(self, root):
        self.root = Path(root)
        self.conf = self.root / "softhsm2.conf"
        self.so_pin_file = self.root / "so-pin"

    def init_token(self, label):
        (self.root / "tokens").mkdir(parents=True, exist_ok=True)
        self.conf.write_text(f"directories.tokendir = {self.root / 'tokens'}\n"
                             "objectstore.backend = file\nlog.level = ERROR\n")
        so_pin = secrets.token_hex(8)
        self.so_pin_file.write_text(so_pin + "\n")
        os.chmod(self.so_pin_file, 0o600)
        # The transport user PIN is thrown away: the ceremony sets a new one.
        subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label,
                        "--so-pin", so_pin, "--pin", secrets.token_hex(8)],
                       env=dict(os.environ, SOFTHSM2_CONF=str(self.conf)),
                       check=True, stdout=subprocess.DEVNULL)


class Service:
    def __init__(self, system, name, offset):
        self.system = system
        self.name = name
        self.bus_port = system.port_base + offset
        self.pub_port = system.port_base + 100 + offset
        self.http_port = system.port_base + 200 + offset
        self.password = secrets.token_hex(12)
        self.log_path = system.root / f"{name}.log"
        self.cert = system.keys / f"{name}.cert"
        self.proc = None

    @property
    def endpoint(self):
        return f"tcp://127.0.0.1:{self.bus_port}"

    @property
    def pub_endpoint(self):
        return f"tcp://127.0.0.1:{self.pub_port}"

    @property
    def dsn(self):
        return self.system.cluster.dsn(f"tsr_{self.name}", self.password)

    def env(self):
        # Where the other services are (ca asks enrollment for its callers'
        # roles); a test's own service_env still wins.
        peers = {f"TSR_{name.upper()}_ENDPOINT": s.endpoint
                 for name, s in self.system.services.items()}
        peers.update({f"TSR_{name.upper()}_PUB_ENDPOINT": s.pub_endpoint
                      for name, s in self.system.services.items()})
        # Key folders inside the test's own directory, never shared between
        # test systems running side by side.
        peers.update(TSR_MAIL_KEY_DIR=str(self.system.root / "mail-keys"),
                     TSR_PUBLISHER_OCSP_DIR=str(self.system.root / "publisher"))
        if VALGRIND:
            peers.update(VALGRIND_TIMEOUTS)
        return dict(os.environ, **{**peers, **self.system.service_env.get(self.name, {})},
                    TSR_DB_DSN=self.dsn,
                    TSR_DB_ADMIN_DSN=self.system.cluster.admin_dsn,
                    TSR_CERT=str(self.cert),
                    TSR_KEYRING_DIR=str(self.system.keyring),
                    TSR_BUS_BIND=self.endpoint,
                    TSR_PUB_BIND=self.pub_endpoint,
                    TSR_HTTP_PORT=str(self.http_port),
                    TSR_WORKERS="3",
                    TSR_LOG_LEVEL="info")

    def start(self, wait=True):
        log = open(self.log_path, "a")
        binary = BUILD / "services" / self.name / f"tessera-{self.name}"
        self.proc = subprocess.Popen(command(self.system, self.name, binary),
                                     env=self.env(), stdout=log, stderr=log)
        log.close()
        if wait:
            self.wait_ready()

    def http_get(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}", timeout=2) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def metrics(self):
        """{(name, labels): value} of the service's /metrics, labels a
        sorted tuple of pairs without the service's own."""
        status, text = self.http_get("/metrics")
        assert status == 200
        samples = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            found = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)", line)
            assert found, f"not an exposition line: {line!r}"
            labels = dict(re.findall(r'([a-zA-Z_]+)="([^"]*)"', found.group(2) or ""))
            assert labels.pop("service") == self.name
            samples[(found.group(1), tuple(sorted(labels.items())))] = float(found.group(3))
        return samples

    def metric(self, name, **labels):
        """One sample of metrics(), or None when the series is not there."""
        return self.metrics().get((name, tuple(sorted(labels.items()))))

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout * SLOW
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if self.http_get("/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout * SLOW}s:\n{self.log()}")

    def stop(self, timeout=20):
        """SIGTERM; returns the exit code."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout * SLOW)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def log(self):
        return self.log_path.read_text() if self.log_path.exists() else ""


class BusClient:
    """A DEALER with its own CURVE identity, speaking tessera.v1.Envelope."""

    def __init__(self, context, cert_path, endpoint, server_cert_path):
        public, secret = read_cert(cert_path)
        server_public, _ = read_cert(server_cert_path)
        self.public_key = public
        self.socket = context.socket(zmq.DEALER)
        self.socket.curve_publickey = public.encode()
        self.socket.curve_secretkey = secret.encode()
        self.socket.curve_serverkey = server_public.encode()
        self.socket.linger = 0
        self.socket.connect(endpoint)

    def send_raw(self, data, timeout=3.0):
        self.socket.send(data)
        if self.socket.poll(int(timeout * 1000 * SLOW)):
            return self.socket.recv()
        return None

    def call(self, method, payload=b"", request_id=None, trace_id=None, timeout=3.0):
        envelope = envelope_pb2.Envelope(
            message_id=secrets.token_hex(16),
            request_id=request_id or secrets.token_hex(16),
            trace_id=trace_id or secrets.token_hex(8),
            method=method,
            payload=payload,
            sent_at_unix_ms=int(time.time() * 1000))
        raw = self.send_raw(envelope.SerializeToString(), timeout)
        if raw is None:
            return None, None
        reply = envelope_pb2.Envelope()
        reply.ParseFromString(raw)
        return reply, raw

    def close(self):
        self.socket.close(0)


class System:
    """The cluster, the keys and the seven services of one test module."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="tessera-it-"))
        os.chmod(self.root, 0o755)
        self.port_base, self.port_lock = claim_port_base()
        self.cluster = Cluster(self.root, self.port_base + 99)
        self.keys = self.root / "keys"
        self.keyring = self.root / "keyring"
        self.keyring.mkdir()
        self.context = zmq.Context()
        self.services = {}
        self.service_env = {}
        self.hsm = SoftHsm(self.root / "softhsm")
        self.secrets = set()

    def secret(self, value):
        """Registers a secret the test used (password, PIN, PUK, activation
        code, one-time password, key share, management key...): at teardown no
        log the system kept may hold it, nor (bytes: a key share) its hex or
        base64 form. Returns the value."""
        if isinstance(value, bytes):
            forms = [value.hex(), value.hex().upper(), base64.b64encode(value).decode()]
            try:
                forms.append(value.decode())
            except UnicodeDecodeError:
                pass
        else:
            forms = [str(value)]
        # Shorter values (a 4-digit PIN) would match timestamps and ports.
        self.secrets.update(f for f in forms if len(f) >= MIN_SECRET)
        return value

    def logs(self):
        """Every log the system kept: the services', the portal's (and its
        audit file), valgrind's, PostgreSQL's."""
        return [p for p in self.root.rglob("*")
                if p.is_file() and (p.suffix in (".log", ".jsonl") or p.name.endswith(".log.1"))
                and "data" not in p.relative_to(self.root).parts]

    def sanitizer_reports(self):
        """["ca.log: ERROR: LeakSanitizer: ..."]: what ASan, LSan and UBSan
        wrote in the services' logs (a sanitizer build; a leak at exit does
        not fail a test by itself)."""
        found = []
        for path in sorted(self.root.glob("*.log")):
            for line in path.read_text(errors="replace").splitlines():
                if SANITIZER_REPORT.search(line):
                    found.append(f"{path.name}: {line.strip()[:200]}")
        return found

    def leaked_secrets(self):
        """["ca.log: line 12 holds a registered secret"], never the secret."""
        # A secret of digits only (a PIN) must stand alone: not inside a
        # longer number such as a timestamp.
        patterns = [re.compile(r"(?<![0-9])" + re.escape(s) + r"(?![0-9])") if s.isdigit()
                    else re.compile(re.escape(s)) for s in self.secrets]
        found = []
        for path in self.logs():
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if any(p.search(line) for p in patterns):
                    found.append(f"{path.relative_to(self.root)}: line {number} holds a "
                                 "registered secret")
        return found

    def start(self, names=SERVICES):
        self.cluster.start()
        for name in SERVICES + IDENTITIES:
            cert = keygen(self.keys, name)
            shutil.copy(cert, self.keyring / cert.name)
        keygen(self.keys, "intruder")          # never in the keyring
        self.hsm.init_token("tessera-ca")
        # The system's own secrets: the token's SO PIN, the database passwords.
        self.secret(self.hsm.so_pin_file.read_text().strip())
        self.secret(re.search(r"password=(\S+)", self.cluster.admin_dsn).group(1))
        ca_env = {
            "SOFTHSM2_CONF": str(self.hsm.conf),
            "TSR_CA_PKCS11_TOKEN": "tessera-ca",
            "TSR_CA_KEY_DIR": str(self.root / "ca-keys"),
        }
        ca_env.update(self.service_env.get("ca", {}))     # a test's own settings win
        self.service_env["ca"] = ca_env
        # The officer is enrollment's first security officer (docs/operators.md):
        # registered on its first call, it adds the other operators.
        enrollment_env = {
            "TSR_ENROLLMENT_BOOTSTRAP_KEYS": read_cert(self.keys / "officer.cert")[0],
        }
        enrollment_env.update(self.service_env.get("enrollment", {}))
        self.service_env["enrollment"] = enrollment_env
        for offset, name in enumerate(SERVICES, start=1):
            self.services[name] = Service(self, name, offset)
            self.secret(self.services[name].password)
        for name in names:
            self.services[name].start(wait=False)
        for name in names:
            self.services[name].wait_ready()
        return self

    def client(self, service, identity="client"):
        s = self.services[service]
        return BusClient(self.context, self.keys / f"{identity}.cert", s.endpoint, s.cert)

    def add_operator(self, identity, *roles, name=None):
        """Registers keys/<identity>.cert as an operator with roles (names as
        `tessera operator` spells them), as the bootstrap officer; returns the
        operator_id. Needs enrollment running."""
        args = ["--json", "operator", "add", "--name", name or identity,
                "--cert", str(self.keys / f"{identity}.cert")]
        for role in roles:
            args += ["--role", role]
        result = self.cli(*args, identity="officer")
        if result.returncode != 0:
            raise RuntimeError(f"operator add {identity} failed: {result.stderr.strip()}")
        return json.loads(result.stdout)["operator_id"]

    def stop(self):
        codes = {}
        for name, s in self.services.items():
            if s.proc and s.proc.poll() is None:
                codes[name] = s.stop()
        self.cluster.stop()
        self.context.destroy(0)
        self.port_lock.close()
        # The whole run's logs, once every process has written its last line.
        problems = self.leaked_secrets() + valgrind_findings(self) + self.sanitizer_reports()
        if VALGRIND:
            problems += [f"{name} (under valgrind) exited with {VALGRIND_EXIT}"
                         for name, code in codes.items()
                         if name in VALGRIND and code == VALGRIND_EXIT]
        if os.environ.get("TSR_KEEP_TEST_DIR") != "1" and not problems:
            shutil.rmtree(self.root, ignore_errors=True)
        if problems:
            raise AssertionError(f"test system {self.root} (kept):\n  " + "\n  ".join(problems))
        return codes

    def cli(self, *args, env=None, check=False, identity="client", timeout=60):
        full_env = dict(os.environ,
                        TSR_CERT=str(self.keys / f"{identity}.cert"),
                        TSR_KEYRING_DIR=str(self.keyring),
                        TSR_AUDIT_DSN=self.cluster.admin_dsn)
        if VALGRIND:
            full_env["TSR_TIMEOUT_MS"] = "60000"
        for name, s in self.services.items():
            full_env[f"TSR_{name.upper()}_ENDPOINT"] = s.endpoint
        full_env.update(env or {})
        return subprocess.run([str(CLI), *args], env=full_env, capture_output=True,
                              text=True, check=check, timeout=timeout * SLOW)


class Portal:
    """The holder portal (services/portal/tessera-portal): an HTTP server that
    calls the services under the "portal" key. Its port is the test system's
    base + 208 (the base's range is claimed by the test's lock); it is not in
    System.services, so whoever starts it stops it.

        s.start([])
        Portal.make_key(s)      # before the services start: the service role
        ... start the services ...
        portal = Portal(s).start()
    """

    @staticmethod
    def make_key(system):
        """keys/portal.cert, copied into the keyring, unless a test made it
        already. The services read the services' keys when they start."""
        cert = system.keys / "portal.cert"
        if not cert.exists():
            keygen(system.keys, "portal")
        shutil.copy(cert, system.keyring / cert.name)

    def __init__(self, system, env=None, tls=None):
        self.system = system
        self.port = system.port_base + 208
        self.log_path = system.root / "portal.log"
        self.audit_path = system.root / "portal-audit.jsonl"
        self.extra_env = dict(env or {})
        self.tls = tls                  # (cert_path, key_path) or None
        self.proc = None

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def env(self):
        env = dict(os.environ,
                   TSR_CERT=str(self.system.keys / "portal.cert"),
                   TSR_KEYRING_DIR=str(self.system.keyring),
                   TSR_PORTAL_ADDRESS="127.0.0.1",
                   TSR_PORTAL_PORT=str(self.port),
                   TSR_PORTAL_AUDIT_FILE=str(self.audit_path),
                   TSR_LOG_LEVEL="info")
        for name, s in self.system.services.items():
            env[f"TSR_{name.upper()}_ENDPOINT"] = s.endpoint
        if self.tls:
            env["TSR_PORTAL_TLS_CERT"], env["TSR_PORTAL_TLS_KEY"] = map(str, self.tls)
        if VALGRIND:
            env.update(VALGRIND_TIMEOUTS)
        env.update(self.extra_env)
        return env

    def start(self, wait=True):
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            command(self.system, "portal", BUILD / "services" / "portal" / "tessera-portal"),
            env=self.env(), stdout=log, stderr=log)
        log.close()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=30):
        import ssl
        context = ssl._create_unverified_context() if self.tls else None
        deadline = time.time() + timeout * SLOW
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"portal exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2,
                                            context=context) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"portal not ready after {timeout}s:\n{self.log()}")

    def stop(self, timeout=20):
        """SIGTERM; returns the exit code."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout * SLOW)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def log(self):
        return self.log_path.read_text() if self.log_path.exists() else ""
