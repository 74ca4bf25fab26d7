"""OCSP: tessera's publisher beside `openssl ocsp -port`, measured in the same
run with the same load generator (wrk, GET /ocsp/<base64 request>), for good
and revoked serials, on loopback.

    PYTHONPATH=build/gen/python:tests/integration TSR_BUILD_DIR=build \\
        /usr/bin/python3 tests/bench/bench_ocsp.py [-d 10] [-c 16] [-k 50]

tessera issues K certificates and revokes K more (keyCompromise) over the bus
as perso; the publisher learns their status from the ca's events. Then wrk
sends GET requests, each a DER OCSPRequest for one certificate (SHA-1 CertID,
no nonce, as RFC 5019 clients send), cycling over the K serials of the kind:

- tessera publisher: GET /ocsp/<base64>, answered by the delegated responder
  (EC P-256 key) from the publisher's status table; once with HTTP/1.1
  keep-alive (wrk's default) and once with `Connection: close` (a new TCP
  connection per request).
- openssl ocsp -port: the same issuing CA, the same responder certificate and
  key (the publisher's own files), an index.txt holding the same serials
  (valid, or revoked at the same time for the same reason). It answers one
  request per connection, so wrk reconnects for every request: `Connection:
  close` mode, with -multi N (N processes, N the CPU count). Without -multi
  (and with -multi 1) OpenSSL 3.0.19's responder answers no request from wrk
  at all: it spins reading end-of-file on the first connection (strace), so
  that row cannot be measured.

wrk runs C connections on 2 threads for D seconds per row; its latency is
per request (connection set-up included when the connection is closed).
Before each row one request is checked with python3-cryptography: a signed,
successful answer with the expected status.

A benchmark, not a test: it prints figures and asserts nothing about time."""
import argparse
import base64
import datetime
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402
from benchlib import say  # noqa: E402
from tessera.v1 import ca_pb2  # noqa: E402

HEADERS = ["system", "serials", "connection", "conns", "requests", "answers/s", "p50 ms",
           "p99 ms", "errors"]

# The requests are formatted once per wrk thread, not once per request:
# the load generator's own cost is then a small part of the machine's two
# cores, the same for every system measured.
LUA = """-- cycles over the paths in %(paths)s, one GET per request
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
%(close)s
local requests = {}
local i = 0
init = function(args)
  for n, path in ipairs(paths) do requests[n] = wrk.format("GET", path) end
end
request = function()
  i = i %% #requests + 1
  return requests[i]
end
"""


def ocsp_request(cert, issuer):
    return (ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build()
            .public_bytes(serialization.Encoding.DER))


def get_path(prefix, der):
    return prefix + urllib.parse.quote(base64.b64encode(der).decode(), safe="")


def fetch_status(url, issuer_cert, responder_cert):
    """The certificate status of the answer at url (a signed, successful
    OCSPResponse), or None."""
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            body = reply.read()
    except OSError:
        return None
    answer = ocsp.load_der_ocsp_response(body)
    if answer.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        return None
    responder_cert.public_key().verify(answer.signature, answer.tbs_response_bytes,
                                       ec.ECDSA(answer.signature_hash_algorithm))
    return answer.certificate_status


def wrk(url_base, paths, connections, seconds, close, root):
    """Runs wrk; (requests, per second, p50 ms, p99 ms, errors)."""
    paths_file = root / f"paths-{len(paths)}-{int(close)}-{time.monotonic_ns()}.txt"
    paths_file.write_text("\n".join(paths) + "\n")
    script = paths_file.with_suffix(".lua")
    script.write_text(LUA % {"paths": paths_file,
                             "close": 'wrk.headers["Connection"] = "close"' if close else ""})
    result = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s",
                             "--latency", "-s", str(script), url_base],
                            capture_output=True, text=True, check=True)
    out = result.stdout

    def ms(label):
        found = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not found:
            raise RuntimeError(f"wrk: no {label}% latency in:\n{out}")
        value, unit = float(found.group(1)), found.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    total = int(re.search(r"(\d+) requests in", out).group(1))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = 0
    found = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if found:
        errors += sum(int(g) for g in found.groups())
    found = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if found:
        errors += int(found.group(1))
    return total, rate, ms("50"), ms("99"), errors


def populate(system, count):
    """count good and count revoked certificates; ([good], [revoked]) as
    x509 certificates, and the revocation time."""
    csrs = benchlib.make_csrs(2 * count)
    run = benchlib.token()

    def connect():
        ca = benchlib.TesseraCa(system)
        ca.warm()
        return ca

    _, _, records = benchlib.run_clients(
        csrs, 4, connect, lambda ca, i, csr: ca.issue(csr, f"{run}-{i}"))
    certs = [x509.load_der_x509_certificate(r.certificate_der) for r in records]
    revoked_at = datetime.datetime.now(datetime.timezone.utc)
    benchlib.run_clients(records[count:], 4, connect,
                         lambda ca, i, r: ca.revoke(r.serial_hex))
    return certs[:count], certs[count:], revoked_at


def index_line(state, cert, revoked_at):
    expiry = cert.not_valid_after.strftime("%y%m%d%H%M%SZ")
    serial = format(cert.serial_number, "X")
    if len(serial) % 2:
        serial = "0" + serial
    revoked = f"{revoked_at.strftime('%y%m%d%H%M%SZ')},keyCompromise" if state == "R" else ""
    return f"{state}\t{expiry}\t{revoked}\t{serial}\tunknown\t/CN=bench\n"


class OpensslOcsp:
    """openssl ocsp -port over the same CA, responder and serials."""

    def __init__(self, root, issuing_pem, responder_pem, responder_key, good, revoked,
                 revoked_at, multi=None):
        self.root = root
        index = root / "index.txt"
        with open(index, "w") as f:
            for cert in good:
                f.write(index_line("V", cert, revoked_at))
            for cert in revoked:
                f.write(index_line("R", cert, revoked_at))
        (root / "index.txt.attr").write_text("unique_subject = no\n")
        self.port = benchlib.free_port()
        self.log = open(root / f"openssl-ocsp-{self.port}.log", "w")
        command = ["openssl", "ocsp", "-port", str(self.port), "-index", str(index),
                   "-CA", str(issuing_pem), "-rsigner", str(responder_pem),
                   "-rkey", str(responder_key), "-nmin", "60"]
        if multi:
            command += ["-multi", str(multi)]
        self.proc = subprocess.Popen(command, stdout=self.log, stderr=self.log)
        # Not benchlib.wait_port: an empty connection wedges openssl 3.0's
        # responder (it waits on it for good). It says when it listens.
        deadline = time.time() + 15
        while "ACCEPT" not in Path(self.log.name).read_text():
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"openssl ocsp did not start: {Path(self.log.name).read_text()}")
            time.sleep(0.05)
        time.sleep(0.5)                 # -multi: the children start after ACCEPT

    def children(self):
        """-multi's responder processes (they outlive a terminated parent,
        and may spin on a dead connection)."""
        found = []
        for entry in os.listdir("/proc"):
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if entry.isdigit() and int(f.read().rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
        return found

    def stop(self):
        children = self.children()
        self.proc.kill()
        self.proc.wait()
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.log.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-d", "--seconds", type=int,
                        default=int(os.environ.get("TSR_BENCH_OCSP_S", 10)),
                        help="seconds per row (default 10)")
    parser.add_argument("-c", "--connections", type=int, default=16,
                        help="wrk's connections (default 16)")
    parser.add_argument("--light", type=int, default=4,
                        help="wrk's connections for tessera's keep-alive latency row, below"
                             " saturation (default 4; 0 for none)")
    parser.add_argument("-k", type=int, default=50, help="serials of each kind (default 50)")
    args = parser.parse_args()
    cpus = os.cpu_count()

    def publisher_env(system):
        system.publish_port = system.port_base + 98
        system.service_env["publisher"] = {
            "TSR_PUBLISH_PORT": str(system.publish_port),
            "TSR_PUBLISHER_OCSP_DIR": str(system.root / "publisher-ocsp")}

    say("== tessera: enrollment, ca and publisher; ceremony, activation")
    system = benchlib.start_tessera(services=["enrollment", "ca", "publisher"],
                                    before_start=publisher_env)
    root = Path(tempfile.mkdtemp(prefix="tessera-bench-ocsp-"))
    peers = []
    rows, document = [], {"seconds": args.seconds, "connections": args.connections,
                          "wrk_threads": 2, "serials_per_kind": args.k, "rows": []}
    try:
        issuing = x509.load_pem_x509_certificate(system.bench_issuing_pem.read_bytes())
        say(f"   {args.k} good and {args.k} revoked certificates")
        good, revoked, revoked_at = populate(system, args.k)
        folder = system.root / "publisher-ocsp"
        responder_pem, responder_key = folder / "ocsp-responder.pem", folder / "ocsp-responder.key"
        deadline = time.time() + 60
        while not responder_pem.exists() and time.time() < deadline:
            time.sleep(0.2)
        responder = x509.load_pem_x509_certificate(responder_pem.read_bytes())
        requests = {"good": [ocsp_request(c, issuing) for c in good],
                    "revoked": [ocsp_request(c, issuing) for c in revoked]}
        expected = {"good": ocsp.OCSPCertStatus.GOOD, "revoked": ocsp.OCSPCertStatus.REVOKED}
        tessera = f"http://127.0.0.1:{system.publish_port}"
        say("   waiting for the publisher to know every revocation")
        deadline = time.time() + 60
        for der in requests["revoked"]:
            while fetch_status(tessera + get_path("/ocsp/", der), issuing, responder) \
                    != ocsp.OCSPCertStatus.REVOKED:
                if time.time() > deadline:
                    raise RuntimeError("the publisher does not say revoked after 60 s")
                time.sleep(0.2)

        def openssl_peer(multi):
            """A fresh responder per row: wrk leaves connections it opened
            but never used, and an idle connection wedges openssl 3.0's
            responder for good."""
            peer = OpensslOcsp(root, system.bench_issuing_pem, responder_pem, responder_key,
                               good, revoked, revoked_at, multi=multi)
            peers.append(peer)
            return f"http://127.0.0.1:{peer.port}"

        c = args.connections
        systems = [("tessera publisher", lambda: tessera, "/ocsp/", False, "keep-alive", c),
                   ("tessera publisher", lambda: tessera, "/ocsp/", True, "close", c),
                   (f"openssl ocsp -port -multi {cpus}", lambda: openssl_peer(cpus), "/", True,
                    "close", c)]
        if args.light:
            # The same server below saturation: a closed-loop generator at
            # full concurrency measures the queue as much as the server.
            systems.insert(1, ("tessera publisher", lambda: tessera, "/ocsp/", False,
                               "keep-alive", args.light))
        for kind in ("good", "revoked"):
            for label, start, prefix, close, mode, connections in systems:
                base = start()
                # openssl -multi's children may take a moment on a loaded machine.
                deadline = time.time() + 20
                status = None
                while status != expected[kind] and time.time() < deadline:
                    status = fetch_status(base + get_path(prefix, requests[kind][0]), issuing,
                                          responder)
                if status != expected[kind]:
                    raise RuntimeError(f"{label}: {status} for a {kind} serial")
                say(f"== {label}, {kind}, {mode}: wrk {connections} connections, "
                    f"{args.seconds} s")
                total, rate, p50, p99, errors = wrk(
                    base, [get_path(prefix, der) for der in requests[kind]],
                    connections, args.seconds, close, root)
                rows.append([label, kind, mode, str(connections), str(total), f"{rate:.0f}",
                             f"{p50:.2f}", f"{p99:.2f}", str(errors)])
                document["rows"].append({"system": label, "serials": kind, "connection": mode,
                                         "connections": connections, "requests": total,
                                         "per_s": rate, "p50_ms": p50, "p99_ms": p99,
                                         "errors": errors})
                while peers:
                    peers.pop().stop()
    finally:
        for peer in peers:
            peer.stop()
        system.stop()
        shutil.rmtree(root, ignore_errors=True)

    print(f"OCSP over HTTP GET on loopback, wrk -t2 -d{args.seconds}s — "
          f"{benchlib.machine_line()}")
    print(benchlib.table(HEADERS, rows))
    print(f"""
Each request: a DER OCSPRequest for one certificate (SHA-1 CertID, no nonce),
  base64 in the URL, cycling over {args.k} serials of the kind; every answer is
  signed by the same delegated responder (EC P-256) with the certificate included.
tessera publisher: the public endpoint (libmicrohttpd, TSR_PUBLISH_THREADS
  threads), status from its table in PostgreSQL.
openssl ocsp -port -multi {cpus}: index.txt, {cpus} responder processes on the same
  port, one request per connection (wrk reconnects). One process alone answers
  nothing to wrk (OpenSSL 3.0.19 spins on the first connection's end-of-file).
wrk and the servers share the machine's {cpus} cores. The rows at {args.connections}
  connections saturate the 2 cores (their p99 is mostly time waiting for a core);
  the row at {args.light} shows the latency below saturation.""")
    benchlib.write_json("ocsp", document)


if __name__ == "__main__":
    main()
