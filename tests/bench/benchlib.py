"""Shared pieces of tessera's benchmarks: a tessera system with its CA
ceremony done and the key activated, pre-made CSRs, a runner that drives C
concurrent clients, percentiles and the result table.

Benchmarks print figures; they never assert on a time."""
import json
import math
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from tessera.v1 import ca_pb2, envelope_pb2
from tsrtest import System

OK = envelope_pb2.STATUS_OK
AUTH = ca_pb2.CERTIFICATE_USE_AUTHENTICATION
LEVEL2 = ca_pb2.POLICY_LEVEL_TWO_STARS
HOLDER_SUBJECT = dict(given_name="Élodie", surname="Dupré", organization="Société Exemple",
                      organization_id="73282932000074")


def say(*args):
    print(*args, file=sys.stderr, flush=True)


# --- CSRs -----------------------------------------------------------------

class Csr:
    __slots__ = ("der", "pem", "key_index")

    def __init__(self, der, pem, key_index):
        self.der = der
        self.pem = pem
        self.key_index = key_index


HOLDER_ALGS = ("ec-p256", "rsa2048")


def make_csrs(count, cn="bench holder", alg="ec-p256", keys=None):
    """count CSRs as DER and PEM. alg: ec-p256 or rsa2048 (the holder's
    key). keys: how many distinct keys (default one per CSR); RSA keys are
    slow to make, so RSA runs reuse a pool and tessera's holder id follows
    the key (one key, one holder)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    keys = min(count, keys or count)
    if alg == "ec-p256":
        pool = [ec.generate_private_key(ec.SECP256R1()) for _ in range(keys)]
    elif alg == "rsa2048":
        pool = [rsa.generate_private_key(public_exponent=65537, key_size=2048)
                for _ in range(keys)]
    else:
        raise ValueError(f"unknown holder key algorithm {alg}")
    out = []
    for i in range(count):
        key = pool[i % keys]
        csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
        out.append(Csr(csr.public_bytes(serialization.Encoding.DER),
                       csr.public_bytes(serialization.Encoding.PEM).decode(), i % keys))
    return out


# --- tessera --------------------------------------------------------------

def new_system():
    """A tsrtest System whose directory is /tmp/tessera-bench-*, not
    tessera-it-*: on a machine shared with test runs, whoever clears the
    tests' leftover directories does not take the benchmark's cluster and
    token away in the middle of a run."""
    mkdtemp = tempfile.mkdtemp

    def bench_mkdtemp(suffix=None, prefix=None, dir=None):
        if prefix == "tessera-it-":
            prefix = "tessera-bench-"
        return mkdtemp(suffix, prefix, dir)

    tempfile.mkdtemp = bench_mkdtemp
    try:
        return System()
    finally:
        tempfile.mkdtemp = mkdtemp


def make_durable(system):
    """The test harness starts PostgreSQL with fsync, synchronous_commit and
    full_page_writes off (TSR_PG_FAST); a deployment runs with them on. Turn
    them back on (all three take effect on a reload)."""
    conn = system.cluster.connect()
    try:
        with conn.cursor() as cur:
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                cur.execute(f"ALTER SYSTEM SET {setting} = on")
            cur.execute("SELECT pg_reload_conf()")
        time.sleep(0.5)
        with conn.cursor() as cur:
            cur.execute("SELECT name, setting FROM pg_settings WHERE name IN "
                        "('fsync', 'synchronous_commit', 'full_page_writes')")
            off = [name for name, value in cur.fetchall() if value != "on"]
    finally:
        conn.close()
    if off:
        raise RuntimeError(f"PostgreSQL settings still off: {off}")


def start_tessera(keystore=None, issuing_alg="ec-p256", durable=False, services=None,
                  service_env=None, before_start=None):
    """A system running enrollment and ca (or `services`), its ceremony done
    by the officer (issuing key `issuing_alg`) and the key activated by alice
    and bob. keystore: None (SoftHSM2 token, the default) or "file". durable:
    turn PostgreSQL's fsync and synchronous commit back on. service_env:
    {service: {name: value}}; before_start(system) may add more."""
    system = new_system()
    for name, env in (service_env or {}).items():
        system.service_env[name] = dict(env)
    if keystore:
        system.service_env.setdefault("ca", {})["TSR_CA_KEYSTORE"] = keystore
    try:
        if before_start:
            before_start(system)
        system.start(services or ["enrollment", "ca"])
        if durable:
            make_durable(system)
        for who in ("alice", "bob"):
            system.add_operator(who, "custodian")
        out = system.root / "ceremony"
        result = system.cli(
            "--json", "ca", "ceremony", "--org", "Tessera Trust", "--root-cn", "Tessera Root CA",
            "--issuing-cn", "Tessera Issuing CA", "--root-alg", "ec-p384",
            "--issuing-alg", issuing_alg, "--root-days", "3650", "--issuing-days", "1825",
            "--custodian", f"alice={system.keys / 'alice.cert'}",
            "--custodian", f"bob={system.keys / 'bob.cert'}",
            "--threshold", "2", "--so-pin-file", str(system.hsm.so_pin_file), "--out", str(out),
            identity="officer", timeout=180)
        if result.returncode != 0:
            raise RuntimeError(f"ceremony failed: {result.stderr}")
        for who in ("alice", "bob"):
            share = next((out / who).glob("ca-*.*"))
            result = system.cli("--json", "ca", "activate", "--share", str(share), identity=who)
            if result.returncode != 0:
                raise RuntimeError(f"activation by {who} failed: {result.stderr}")
        if not json.loads(result.stdout)["active"]:
            raise RuntimeError("the key is not active after two shares")
        system.bench_root_pem = out / "root.pem"
        system.bench_issuing_pem = out / "issuing.pem"
    except BaseException:
        system.stop()
        raise
    return system


class TesseraCa:
    """One bus connection to the ca service with perso's identity."""

    def __init__(self, system, identity="perso"):
        self.client = system.client("ca", identity)

    def call(self, method, message, timeout=60.0):
        reply, _ = self.client.call(method, message.SerializeToString(), timeout=timeout)
        if reply is None:
            raise RuntimeError(f"{method}: no reply in {timeout} s")
        if reply.status != OK:
            raise RuntimeError(f"{method}: status {reply.status}: {reply.status_message}")
        return reply.payload

    def warm(self):
        """One round trip so that the CURVE handshake is not in the timing."""
        reply, _ = self.client.call("Ping", envelope_pb2.PingRequest().SerializeToString(),
                                    timeout=10.0)
        if reply is None:
            raise RuntimeError("Ping: no reply")

    def issue(self, csr, tag, holder=None):
        message = ca_pb2.IssueCertificateRequest(
            card_request_id=f"bench-{tag}", holder_id=holder or f"h-{tag}", csr_der=csr.der,
            use=AUTH,
            level=LEVEL2, subject=ca_pb2.Subject(**HOLDER_SUBJECT))
        payload = self.call("IssueCertificate", message)
        return ca_pb2.IssueCertificateReply.FromString(payload).certificate

    def revoke(self, serial_hex, reason=ca_pb2.REVOCATION_REASON_KEY_COMPROMISE):
        self.call("RevokeCertificate", ca_pb2.RevokeCertificateRequest(
            serial_hex=serial_hex, reason=reason, revocation_request_id=f"bench-{serial_hex}"))

    def close(self):
        self.client.close()


# --- running and measuring --------------------------------------------------

def run_clients(items, clients, connect, work):
    """Runs work(conn, index, item) for every item with `clients` threads,
    each with its own connection from connect() (opened and warmed before
    the clock starts). Returns (wall seconds, per-item latencies in seconds,
    results in item order)."""
    results = [None] * len(items)
    latencies = [0.0] * len(items)
    lock = threading.Lock()
    next_index = [0]
    errors = []
    ready = threading.Barrier(clients + 1)
    done = threading.Barrier(clients + 1)

    def take():
        with lock:
            i = next_index[0]
            next_index[0] += 1
        return i

    def thread_main():
        conn = None
        try:
            conn = connect()
        except BaseException as e:
            errors.append(e)
        ready.wait()
        try:
            while conn is not None and not errors:
                i = take()
                if i >= len(items):
                    break
                t0 = time.perf_counter()
                results[i] = work(conn, i, items[i])
                latencies[i] = time.perf_counter() - t0
        except BaseException as e:
            errors.append(e)
        finally:
            done.wait()
            if conn is not None:
                conn.close()

    threads = [threading.Thread(target=thread_main, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    ready.wait()
    start = time.perf_counter()
    done.wait()
    wall = time.perf_counter() - start
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return wall, latencies, results


def percentile(values, p):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} not open after {timeout} s")


def openssl(*args, check=True, input=None):
    return subprocess.run(["openssl", *args], capture_output=True, check=check, input=input)


def table(headers, rows):
    """Plain text table; numbers are already formatted strings."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(str(h).ljust(w) if i == 0 or i == 1 else str(h).rjust(w)
                       for i, (h, w) in enumerate(zip(headers, widths)))]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(str(c).ljust(w) if i == 0 or i == 1 else str(c).rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))))
    return "\n".join(lines)


def machine_line():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    return (f"{time.strftime('%Y-%m-%d %H:%M %Z')}, {os.cpu_count()} CPUs ({cpu}), "
            f"load average at the end {load}")


def fsync_ms(directory, rounds=100):
    """What one 8 KiB write + fsync costs in directory, in ms."""
    with tempfile.NamedTemporaryFile(dir=directory) as f:
        t0 = time.perf_counter()
        for _ in range(rounds):
            f.write(b"\0" * 8192)
            f.flush()
            os.fsync(f.fileno())
        return (time.perf_counter() - t0) / rounds * 1000


def token():
    return secrets.token_hex(4)


def write_json(name, document):
    """Writes a benchmark's results as var/bench/<name>.json (or under
    TSR_BENCH_OUT) and returns the path."""
    out = os.environ.get("TSR_BENCH_OUT") or os.path.join(
        os.environ.get("TSR_SOURCE_DIR", "."), "var", "bench")
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, f"{name}.json")
    document = dict(document, machine=machine_line(), cpus=os.cpu_count(),
                    written=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    with open(path, "w") as f:
        json.dump(document, f, indent=1)
    say(f"   written {path}")
    return path


def openssl_speed(*algorithms, seconds=2):
    """{name: operations per second} from `openssl speed` on one core, for
    ecdsap256 (sign, verify) and rsa2048 (sign, verify)."""
    result = subprocess.run(["openssl", "speed", "-seconds", str(seconds), *algorithms],
                            capture_output=True, text=True, check=True)
    rates = {}
    for line in result.stdout.splitlines():
        fields = line.split()
        if line.startswith(" 256 bits ecdsa (nistp256)") and len(fields) >= 8:
            rates["ecdsap256_sign"] = float(fields[-2])
            rates["ecdsap256_verify"] = float(fields[-1])
        if line.startswith("rsa 2048 bits") and len(fields) >= 7:
            rates["rsa2048_sign"] = float(fields[-2])
            rates["rsa2048_verify"] = float(fields[-1])
    return rates
