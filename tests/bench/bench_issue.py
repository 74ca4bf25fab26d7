"""Certificate issuance: tessera's IssueCertificate over the bus beside
cfssl's `serve` (POST /api/v1/cfssl/sign), measured in the same run, with
the same pre-made EC P-256 CSRs.

    PYTHONPATH=build/gen/python:tests/integration TSR_BUILD_DIR=build \\
        /usr/bin/python3 tests/bench/bench_issue.py [-n 2000] [-c 4]

Each system is measured two ways: sequentially (one client, one request at
a time: latency p50/p99) and with C concurrent clients (threads, each with
its own connection: throughput). tessera runs as three systems: its CA key
in a SoftHSM2 token (the default), in the file key store (a key in process
memory, as cfssl's is), and in the token with PostgreSQL's fsync back on.

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

HEADERS = ["system", "mode", "N", "total s", "certs/s", "p50 ms", "p99 ms"]


def row(system, mode, wall, latencies):
    n = len(latencies)
    return [system, mode, str(n), f"{wall:.2f}", f"{n / wall:.0f}",
            f"{benchlib.percentile(latencies, 50) * 1000:.2f}",
            f"{benchlib.percentile(latencies, 99) * 1000:.2f}"]


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
        return lambda ca, i, csr: ca.issue(csr, f"{self.run}-{mode}-{i}")

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


def measure(targets, sequential, concurrent, clients, rounds):
    """Returns {(target, mode): Measure}, modes "seq" and "conc"."""
    results = {(t, m): Measure() for t in targets for m in ("seq", "conc")}
    seq_chunks, conc_chunks = chunks(sequential, rounds), chunks(concurrent, rounds)
    for r in range(len(seq_chunks)):
        order = targets[r % len(targets):] + targets[:r % len(targets)]
        say(f"   round {r + 1}/{len(seq_chunks)}: "
            f"{len(seq_chunks[r])} sequential + {len(conc_chunks[r])} with {clients} clients "
            f"on each system")
        for target in order:
            for mode, part, threads in (("seq", seq_chunks[r], 1),
                                        ("conc", conc_chunks[r], clients)):
                results[(target, mode)].add(*benchlib.run_clients(
                    part, threads, target.connect, target.work(f"{mode}{r}")))
                target.settle()
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=int(os.environ.get("TSR_BENCH_N", 2000)),
                        help="certificates per measurement (default 2000)")
    parser.add_argument("-c", "--clients", type=int, default=4,
                        help="concurrent clients (default 4)")
    parser.add_argument("--rounds", type=int, default=4,
                        help="turns each measurement is split into (default 4)")
    parser.add_argument("--warmup", type=int, default=50)
    systems = ["tessera", "tessera-file", "tessera-durable", "cfssl"]
    parser.add_argument("--only", choices=systems, action="append",
                        help="run only these systems (repeatable)")
    args = parser.parse_args()
    only = set(args.only or systems)

    say(f"making {2 * args.n + args.warmup} EC P-256 CSRs")
    csrs = benchlib.make_csrs(2 * args.n + args.warmup)
    warmup, sequential, concurrent = (csrs[:args.warmup], csrs[args.warmup:args.warmup + args.n],
                                      csrs[args.warmup + args.n:])
    fsync = benchlib.fsync_ms(tempfile.gettempdir())

    targets = []
    try:
        if "tessera" in only:
            targets.append(Tessera("tessera (SoftHSM2 token)"))
        if "tessera-file" in only:
            targets.append(Tessera("tessera (file key store)", keystore="file"))
        if "tessera-durable" in only:
            targets.append(Tessera("tessera (SoftHSM2, fsync on)", durable=True))
        if "cfssl" in only:
            targets.append(Cfssl())

        say("== warm-up (not measured): first statements prepared, caches filled")
        for target in targets:
            benchlib.run_clients(warmup, 1, target.connect, target.work("warm"))
            target.settle()
        say(f"== {args.n} certificates sequentially and {args.n} with {args.clients} clients "
            f"per system, in {args.rounds} rounds")
        results = measure(targets, sequential, concurrent, args.clients, args.rounds)

        rows, floor = [], []
        for target in targets:
            for mode, name in (("seq", "sequential"), ("conc", f"{args.clients} clients")):
                m = results[(target, mode)]
                target.check(m.results)
                rows.append(row(target.label, name, m.wall, m.latencies))
        first = next((t for t in targets if isinstance(t, Tessera)), None)
        if first is not None:
            say("== tessera's floor: GetStatus and Ping")
            floor = first.floor(args.n, results[(first, "seq")].results[0].serial_hex)
    finally:
        for target in targets:
            target.stop()

    print(f"Certificate issuance, EC P-256 issuing key, EC P-256 CSRs — {benchlib.machine_line()}")
    print(benchlib.table(HEADERS, rows))
    if floor:
        print("\ntessera's floor, sequential, same system: a read-only method and Ping")
        print(benchlib.table(["system", "method", "N", "total s", "calls/s", "p50 ms", "p99 ms"],
                             floor))
    print(f"""
tessera: IssueCertificate over the bus (ZeroMQ CURVE, perso's identity), each
  request in a database transaction with the certificate row, an audit row and
  an outbox event, subject built from the request and the certificate checked
  against its profile before it is signed. In the SoftHSM2 rows every signature
  is a PKCS#11 round trip (C_SignInit/C_Sign through libp11); in the file row
  the key is in the ca process's memory, as cfssl's is. The ca runs 3 workers.
cfssl: POST /api/v1/cfssl/sign over HTTP/1.1 keep-alive, in-memory key, no
  certificate database (no -db-config): nothing is stored or audited.
fsync on: PostgreSQL with fsync, synchronous_commit and full_page_writes on
  (the other tessera rows run with them off, as the test harness does); one
  8 KiB write + fsync takes {fsync:.2f} ms on this machine's disk.
All systems ran at once, measured in {args.rounds} interleaved rounds. Latencies
are per request as the client sees it; the clients are Python threads on the
same machine as the servers.""")


if __name__ == "__main__":
    main()
