"""Certificate issuance: tessera's IssueCertificate over the bus beside
cfssl's `serve` (POST /api/v1/cfssl/sign), measured in the same run, with
the same pre-made CSRs (EC P-256 and RSA-2048 holder keys; the CA key is EC
P-256 in both), beside the machine's raw limit from `openssl speed`.

    PYTHONPATH=build/gen/python:tests/integration TSR_BUILD_DIR=build \\
        /usr/bin/python3 tests/bench/bench_issue.py [-n 1000] [-c 1,8,32]

Each system is measured for each holder key type at 1, 8 and 32 concurrent
clients (threads, each with its own connection): throughput and p50/p99
latency. tessera runs with PostgreSQL's fsync, synchronous_commit and
full_page_writes on (durable storage, as deployed) and its CA key in a
SoftHSM2 token; --only adds the harness's fsync-off system and the file key
store (a key in process memory, as cfssl's is).

All systems run at once and are measured in turns: the N certificates of a
measurement are issued in R rounds of N/R, each round visiting every system
(in a rotating order), so that whatever else the machine is doing falls on
all of them alike. Between turns the ca's outbox relay is let to catch up,
so one system's leftover work does not land in another's turn.

A benchmark, not a test: it prints figures and asserts nothing about time."""
import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402
from benchlib import say  # noqa: E402
from tessera.v1 import ca_pb2, envelope_pb2  # noqa: E402

HEADERS = ["system", "holder key", "clients", "N", "total s", "certs/s", "p50 ms", "p99 ms",
           "per commit"]


def row(system, mode, wall, latencies):
    n = len(latencies)
    return [system, mode, str(n), f"{wall:.2f}", f"{n / wall:.0f}",
            f"{benchlib.percentile(latencies, 50) * 1000:.2f}",
            f"{benchlib.percentile(latencies, 99) * 1000:.2f}"]


def figures(wall, latencies):
    n = len(latencies)
    return {"n": n, "total_s": wall, "per_s": n / wall,
            "p50_ms": benchlib.percentile(latencies, 50) * 1000,
            "p99_ms": benchlib.percentile(latencies, 99) * 1000}


class Measure:
    """Wall time and latencies summed over a measurement's rounds."""

    def __init__(self):
        self.wall = 0.0
        self.latencies = []
        self.results = []

    def add(self, wall, latencies, results):
        self.wall += wall
        self.latencies += latencies
        self.results += results


# --- tessera --------------------------------------------------------------

class Tessera:
    def __init__(self, label, keystore=None, durable=False):
        self.label = label
        say(f"== {label}: starting enrollment and ca, ceremony, activation")
        self.system = benchlib.start_tessera(keystore=keystore, durable=durable)
        self.run = benchlib.token()

    def connect(self):
        ca = benchlib.TesseraCa(self.system)
        ca.warm()
        return ca

    def work(self, mode):
        # The holder follows the key: one key, one holder.
        return lambda ca, i, csr: ca.issue(csr, f"{self.run}-{mode}-{i}",
                                           holder=f"h-{self.run}-{mode[:3]}-{csr.key_index}")

    def settle(self, timeout=30):
        """Waits until the outbox relay has published every event."""
        conn = self.system.cluster.connect()
        try:
            deadline = time.time() + timeout
            while time.time() < deadline:
                with conn.cursor() as cur:
                    cur.execute("SELECT count(*) FROM ca.outbox WHERE published_at IS NULL")
                    if cur.fetchone()[0] == 0:
                        return
                time.sleep(0.05)
        finally:
            conn.close()

    def check(self, certs):
        """Every request answered with a distinct certificate; one of them
        verifies with openssl up to tessera's root."""
        if len({c.serial_hex for c in certs}) != len(certs):
            raise RuntimeError(f"{self.label}: duplicate serials")
        sample = self.system.root / "sample.pem"
        sample.write_bytes(x509.load_der_x509_certificate(certs[len(certs) // 2].certificate_der)
                           .public_bytes(serialization.Encoding.PEM))
        benchlib.openssl("verify", "-CAfile", str(self.system.bench_root_pem),
                         "-untrusted", str(self.system.bench_issuing_pem), str(sample))

    def floor(self, n, serial_hex):
        """Where an issuance's time goes: the same bus round trip for a
        method that only reads (GetStatus: bus, caller's roles, a read-only
        transaction) and for Ping (bus, and the request-id bookkeeping every
        method that is not read-only has: advisory lock, lookup, reply
        stored, commit)."""
        out = []
        for method, message in (("GetStatus", ca_pb2.GetStatusRequest(serial_hex=serial_hex)),
                                ("Ping", envelope_pb2.PingRequest(echo="bench"))):
            wall, lat, _ = benchlib.run_clients(
                [None] * n, 1, self.connect, lambda ca, i, _: ca.call(method, message))
            out.append(row("tessera", method, wall, lat))
        return out

    def commits(self):
        """(issuances committed, transactions) so far: the ca's worker
        commits the IssueCertificate requests waiting together at once."""
        samples = self.system.services["ca"].metrics()
        method = (("method", "IssueCertificate"),)
        return (int(samples.get(("tessera_bus_group_committed_total", method), 0)),
                int(samples.get(("tessera_bus_group_commits_total", method), 0)))

    def stop(self):
        self.system.stop()


# --- cfssl ----------------------------------------------------------------

# Close to tessera's authentication profile: digitalSignature (critical),
# clientAuth, 3 years (1095 days = 26280 h), CRL DP, AIA, the level's policy.
CFSSL_CONFIG = {"signing": {"default": {
    "usages": ["digital signature", "client auth"],
    "expiry": "26280h",
    "crl_url": "http://pki.tessera.example/issuing.crl",
    "ocsp_url": "http://ocsp.tessera.example",
    "issuer_urls": ["http://pki.tessera.example/issuing.cer"],
    "policies": [{"ID": "2.999.1.2"}],
}}}


class CfsslConn:
    """One keep-alive HTTP connection to cfssl serve."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.conn.connect()

    def sign(self, csr):
        body = json.dumps({"certificate_request": csr.pem})
        self.conn.request("POST", "/api/v1/cfssl/sign", body,
                          {"Content-Type": "application/json"})
        response = self.conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"cfssl: HTTP {response.status}: {data[:300]!r}")
        reply = json.loads(data)
        if not reply.get("success"):
            raise RuntimeError(f"cfssl: {reply.get('errors')}")
        return reply["result"]["certificate"]

    def close(self):
        self.conn.close()


class Cfssl:
    label = "cfssl serve"

    def __init__(self):
        say(f"== {self.label}: CA key and certificate made with openssl")
        self.root = Path(tempfile.mkdtemp(prefix="tessera-bench-cfssl-"))
        self.proc = None
        try:
            self.cert = self.root / "ca.pem"
            key = self.root / "ca-key.pem"
            benchlib.openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout",
                             "-out", str(key))
            benchlib.openssl("req", "-new", "-x509", "-key", str(key), "-out", str(self.cert),
                             "-days", "1825", "-subj", "/O=Tessera Trust/CN=Tessera Issuing CA",
                             "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
                             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
            config = self.root / "config.json"
            config.write_text(json.dumps(CFSSL_CONFIG))
            self.port = benchlib.free_port()
            log = open(self.root / "cfssl.log", "w")
            # -loglevel 2 (warning): at info cfssl logs four lines per
            # request; tessera's ca logs none per request at its info level.
            self.proc = subprocess.Popen(
                ["cfssl", "serve", "-address", "127.0.0.1", "-port", str(self.port),
                 "-ca", str(self.cert), "-ca-key", str(key), "-config", str(config),
                 "-loglevel", "2"], stdout=log, stderr=log)
            log.close()
            benchlib.wait_port(self.port, self.proc)
        except BaseException:
            self.stop()
            raise

    def connect(self):
        return CfsslConn(self.port)

    def work(self, mode):
        return lambda conn, i, csr: conn.sign(csr)

    def settle(self):
        pass

    def commits(self):
        return None

    def check(self, pems):
        serials = {x509.load_pem_x509_certificate(p.encode()).serial_number for p in pems}
        if len(serials) != len(pems):
            raise RuntimeError("cfssl: duplicate serials")
        sample = self.root / "sample.pem"
        sample.write_text(pems[len(pems) // 2])
        benchlib.openssl("verify", "-CAfile", str(self.cert), str(sample))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


# --- main -----------------------------------------------------------------

def chunks(items, rounds):
    size = -(-len(items) // rounds)
    return [items[i:i + size] for i in range(0, len(items), size)]


def measure(targets, csrs, clients, rounds, mode):
    """Returns {target: Measure} for `csrs` issued by `clients` threads."""
    results = {t: Measure() for t in targets}
    parts = chunks(csrs, rounds)
    for r, part in enumerate(parts):
        order = targets[r % len(targets):] + targets[:r % len(targets)]
        for target in order:
            results[target].add(*benchlib.run_clients(
                part, clients, target.connect, target.work(f"{mode}-r{r}")))
            target.settle()
    return results


def raw_limit(rates, alg, cpus):
    """Certificates per second the machine's OpenSSL could sign if it did
    nothing else: the CSR's signature checked (holder key) plus one EC P-256
    signature (the CA key), on every core."""
    verify = rates[f"{'ecdsap256' if alg == 'ec-p256' else 'rsa2048'}_verify"]
    sign = rates["ecdsap256_sign"]
    return cpus / (1 / verify + 1 / sign)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=int(os.environ.get("TSR_BENCH_N", 1000)),
                        help="certificates per measurement (default 1000)")
    parser.add_argument("-c", "--clients", default="1,8,32",
                        help="concurrent clients, comma-separated (default 1,8,32)")
    parser.add_argument("--holder", default=",".join(benchlib.HOLDER_ALGS),
                        help="holder key types (default ec-p256,rsa2048)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="turns each measurement is split into (default 2)")
    parser.add_argument("--warmup", type=int, default=50)
    systems = ["tessera-durable", "tessera", "tessera-file", "cfssl"]
    parser.add_argument("--only", choices=systems, action="append",
                        help="run only these systems (repeatable; default tessera-durable, cfssl)")
    args = parser.parse_args()
    only = set(args.only or ["tessera-durable", "cfssl"])
    levels = [int(c) for c in args.clients.split(",")]
    algs = args.holder.split(",")

    csrs = {}
    for alg in algs:
        say(f"making {args.n + args.warmup} {alg} CSRs")
        csrs[alg] = benchlib.make_csrs(args.n + args.warmup, alg=alg,
                                       keys=64 if alg == "rsa2048" else None)
    fsync = benchlib.fsync_ms(tempfile.gettempdir())
    say("== openssl speed ecdsap256 rsa2048 (one core)")
    rates = benchlib.openssl_speed("ecdsap256", "rsa2048")
    cpus = os.cpu_count()

    targets, rows, document = [], [], {"n": args.n, "rounds": args.rounds, "fsync_ms": fsync,
                                       "openssl_speed_one_core": rates, "rows": []}
    try:
        if "tessera-durable" in only:
            targets.append(Tessera("tessera (SoftHSM2, fsync on)", durable=True))
        if "tessera" in only:
            targets.append(Tessera("tessera (SoftHSM2, fsync off)"))
        if "tessera-file" in only:
            targets.append(Tessera("tessera (file key store, fsync off)", keystore="file"))
        if "cfssl" in only:
            targets.append(Cfssl())

        for alg in algs:
            warmup, work = csrs[alg][:args.warmup], csrs[alg][args.warmup:]
            say(f"== {alg}: warm-up (not measured)")
            for target in targets:
                benchlib.run_clients(warmup, 1, target.connect, target.work(f"{alg}-warm"))
                target.settle()
            for clients in levels:
                say(f"== {alg}, {clients} clients: {args.n} certificates per system, "
                    f"{args.rounds} rounds")
                before = {t: t.commits() for t in targets}
                results = measure(targets, work, clients, args.rounds, f"{alg}-c{clients}")
                for target in targets:
                    m = results[target]
                    target.check(m.results)
                    f = figures(m.wall, m.latencies)
                    after = target.commits()
                    if after:
                        f["per_commit"] = ((after[0] - before[target][0])
                                           / max(1, after[1] - before[target][1]))
                    rows.append([target.label, alg, str(clients), str(f["n"]),
                                 f"{f['total_s']:.2f}", f"{f['per_s']:.0f}",
                                 f"{f['p50_ms']:.2f}", f"{f['p99_ms']:.2f}",
                                 f"{f['per_commit']:.1f}" if after else ""])
                    document["rows"].append(dict(f, system=target.label, holder=alg,
                                                 clients=clients))
            limit = raw_limit(rates, alg, cpus)
            rows.append(["openssl speed (raw limit)", alg, f"{cpus} cores", "", "",
                         f"{limit:.0f}", "", "", ""])
            document["rows"].append({"system": "openssl speed (raw limit)", "holder": alg,
                                     "clients": cpus, "per_s": limit})
    finally:
        for target in targets:
            target.stop()

    print(f"Certificate issuance, EC P-256 issuing key — {benchlib.machine_line()}")
    print(benchlib.table(HEADERS, rows))
    print(f"""
tessera: IssueCertificate over the bus (ZeroMQ CURVE, perso's identity), each
  request in a database transaction with the certificate row, an audit row and
  an outbox event, subject built from the request and the certificate checked
  against its profile before it is signed; the CA key in a SoftHSM2 token (a
  PKCS#11 round trip per signature). The requests waiting together at a ca
  worker share one commit, each in a savepoint of its own ("per commit": how
  many did on average). fsync on: PostgreSQL with fsync,
  synchronous_commit and full_page_writes on; one 8 KiB write + fsync takes
  {fsync:.2f} ms on this machine's disk.
cfssl: POST /api/v1/cfssl/sign over HTTP/1.1 keep-alive, in-memory key, no
  certificate database (no -db-config): nothing is stored or audited.
openssl speed (raw limit): {cpus} cores x 1 / (1/verify(holder key) + 1/sign(P-256)),
  from `openssl speed` on one core: the CSR's check plus the signature and
  nothing else (no encoding, no I/O).
Systems ran at once, measured in {args.rounds} interleaved rounds. Latencies are
per request as the client sees it; the clients are Python threads on the same
machine as the servers (at 32 clients they take a share of the 2 cores).""")
    benchlib.write_json("issue", document)


if __name__ == "__main__":
    main()
