"""CRL generation: tessera's SignCrl beside `openssl ca -gencrl`, measured in
the same run, for the same revoked serials and the same key type (EC P-256
issuing key), at R = 10 000, 100 000 and 1 000 000 revoked entries: time
and peak memory.

    PYTHONPATH=build/gen/python:tests/integration TSR_BUILD_DIR=build \\
        /usr/bin/python3 tests/bench/bench_crl.py [-r 10000,100000,1000000]

tessera first issues 200 authentication certificates and revokes them
(keyCompromise) over the bus as perso; the rest of the R revoked
certificates are rows added with SQL (copies of a real row with their own
serial, revoked at the same time for the same reason; their certificate_der
is a placeholder, which the CRL does not read). That set-up is not measured.
Then, for each R, a full CRL is made several times each way (5 at 10 000, 3
at 100 000, 2 at 1 000 000), in rounds that take each way in turn. Peak
memory: the ca process's peak RSS during the call (VmHWM after writing 5 to
/proc/<pid>/clear_refs, so it is this CRL's peak, the process's own ~base
included; PostgreSQL's memory not counted); openssl's from /usr/bin/time -v.

- tessera SignCrl over the bus (the publisher's identity, as the publisher
  asks for it): the query of every revoked certificate, the CRL built and
  signed by the key in the SoftHSM2 token, the CRL row stored under a lock.
- `tessera ca crl --out F` (the CLI, as the security officer): the same,
  plus the CLI process's start and the PEM file written.
- `openssl ca -gencrl`: an openssl CA database (index.txt) holding the same
  serials, revoked at the same time for the same reason, a P-256 key in a
  PEM file and a certificate with tessera's issuing CA subject; the same CRL
  extensions (CRL number, AKI, freshestCRL), 24 hours to the next update.

A benchmark, not a test: it prints figures and asserts nothing about time."""
import argparse
import datetime
import os
import shutil
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402
from benchlib import say  # noqa: E402
from tessera.v1 import ca_pb2  # noqa: E402

HEADERS = ["system", "mode", "R", "median ms", "min ms", "max ms", "peak RSS MiB",
           "CRL bytes (DER)"]
SEEDED = 200                    # certificates really issued and revoked over the bus
FRESHEST = "http://pki.tessera.example/issuing-delta.crl"


def runs_for(entries):
    return 5 if entries <= 10000 else 3 if entries <= 100000 else 2


def summary(label, mode, entries, times, peak_kib, size):
    return [label, mode, str(entries), f"{statistics.median(times) * 1000:.1f}",
            f"{min(times) * 1000:.1f}", f"{max(times) * 1000:.1f}",
            f"{max(peak_kib) / 1024:.0f}" if peak_kib else "", str(size)]


def add_revoked(system, total, revoked_at):
    """Adds rows to ca.certificates until `total` are revoked: copies of a
    revoked row with their own serial (16 bytes, top bit clear) and request
    id. Returns every revoked serial (hex)."""
    conn = system.cluster.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM ca.certificates WHERE state = 2")
            have = cur.fetchone()[0]
            if total > have:
                cur.execute("""
                    INSERT INTO ca.certificates (serial, serial_hex, issuer_sha256,
                        card_request_id, holder_id, use, level, spki_sha256, subject, not_before,
                        not_after, certificate_der, issued_by, state, reason, revoked_at,
                        change_seq)
                    SELECT decode(h, 'hex'), h, t.issuer_sha256, 'bulk-' || i, 'bulk-' || i,
                           t.use, t.level, md5(h), t.subject, t.not_before, t.not_after,
                           '\\x30'::bytea, t.issued_by, 2, t.reason, %s, t.change_seq
                    FROM generate_series(%s, %s) AS i,
                         LATERAL (SELECT '4' || substr(md5('bench' || i), 2) AS h) AS x,
                         (SELECT * FROM ca.certificates WHERE state = 2 LIMIT 1) AS t""",
                            (revoked_at, have, total - 1))
            conn.commit()
            cur.execute("SELECT serial_hex FROM ca.certificates WHERE state = 2")
            return [r[0] for r in cur.fetchall()]
    finally:
        conn.close()


def ca_peak_reset(pid):
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def ca_peak_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def crl_entries(der):
    return len(list(x509.load_der_x509_crl(der)))


def pem_to_der(path):
    return x509.load_pem_x509_crl(Path(path).read_bytes()).public_bytes(serialization.Encoding.DER)


def populate(system, count, clients):
    """Issues `count` certificates and revokes them all; returns
    (serials, revoked_at)."""
    say(f"   making {count} EC P-256 CSRs")
    csrs = benchlib.make_csrs(count)
    run = benchlib.token()

    def connect():
        ca = benchlib.TesseraCa(system)
        ca.warm()
        return ca

    say(f"   issuing {count} certificates ({clients} clients)")
    wall, _, certs = benchlib.run_clients(
        csrs, clients, connect, lambda ca, i, csr: ca.issue(csr, f"{run}-{i}").serial_hex)
    say(f"     {wall:.1f} s")
    revoked_at = datetime.datetime.now(datetime.timezone.utc)
    say(f"   revoking them ({clients} clients)")
    wall, _, _ = benchlib.run_clients(certs, clients, connect,
                                      lambda ca, i, serial: ca.revoke(serial))
    say(f"     {wall:.1f} s")
    return certs, revoked_at


class TesseraBus:
    """SignCrl over the bus, with the publisher's identity."""
    label, mode = "tessera", "SignCrl (bus)"

    def __init__(self, system):
        self.system = system
        self.ca = benchlib.TesseraCa(system, identity="publisher")
        self.ca.warm()
        self.der = None
        self.pid = system.services["ca"].proc.pid

    def once(self):
        ca_peak_reset(self.pid)
        payload = self.ca.call("SignCrl", ca_pb2.SignCrlRequest(), timeout=600.0)
        self.der = ca_pb2.SignCrlReply.FromString(payload).crl_der
        return ca_peak_kib(self.pid)

    def result(self):
        return self.der, self.system.bench_issuing_pem

    def close(self):
        self.ca.close()


class TesseraCli:
    """`tessera ca crl --out F` as the security officer: one process per CRL."""
    label, mode = "tessera", "ca crl (CLI)"

    def __init__(self, system):
        self.system = system
        self.out = system.root / "bench.crl"

    def once(self):
        result = self.system.cli("--json", "ca", "crl", "--out", str(self.out),
                                 identity="officer", env={"TSR_TIMEOUT_MS": "120000"},
                                 timeout=180)
        if result.returncode != 0:
            raise RuntimeError(f"tessera ca crl: {result.stderr}")
        return None

    def result(self):
        return pem_to_der(self.out), self.system.bench_issuing_pem

    def close(self):
        pass


def check(der, issuing_pem, expected, who):
    """openssl checks the signature; the CRL lists every revoked serial."""
    path = Path(tempfile.mkstemp(suffix=".crl")[1])
    try:
        path.write_bytes(der)
        benchlib.openssl("crl", "-inform", "DER", "-in", str(path), "-noout",
                         "-CAfile", str(issuing_pem))
    finally:
        path.unlink()
    listed = crl_entries(der)
    if listed != expected:
        raise RuntimeError(f"{who}: {listed} entries, {expected} expected")


def utc(when):
    """index.txt time: UTCTime until 2049, GeneralizedTime after."""
    if when.year < 2050:
        return when.strftime("%y%m%d%H%M%SZ")
    return when.strftime("%Y%m%d%H%M%SZ")


def write_index(root, serials, revoked_at):
    now = datetime.datetime.now(datetime.timezone.utc)
    expiry = utc(now + datetime.timedelta(days=1095))
    revoked = f"{utc(revoked_at)},keyCompromise"
    subject = "/C=FR/O=Société Exemple/OU=0002 73282932000074/CN=Élodie DUPRÉ"
    with open(root / "index.txt", "w", encoding="utf-8") as index:
        for serial in serials:
            index.write(f"R\t{expiry}\t{revoked}\t{serial.upper()}\tunknown\t{subject}\n")


def openssl_ca(root, issuing_subject, serials, revoked_at):
    """An openssl CA directory whose index.txt holds `serials`, revoked."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder()
            .subject_name(issuing_subject).issuer_name(issuing_subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1825))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256()))
    (root / "ca-key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    (root / "ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (root / "new").mkdir()
    (root / "crlnumber").write_text("01\n")
    (root / "serial").write_text("01\n")
    (root / "index.txt.attr").write_text("unique_subject = no\n")
    write_index(root, serials, revoked_at)
    (root / "openssl.cnf").write_text(f"""\
[ ca ]
default_ca = bench

[ bench ]
dir = {root}
database = $dir/index.txt
new_certs_dir = $dir/new
serial = $dir/serial
crlnumber = $dir/crlnumber
certificate = $dir/ca.pem
private_key = $dir/ca-key.pem
default_md = sha256
default_crl_hours = 24
crl_extensions = crl_ext
policy = any

[ any ]
commonName = optional

[ crl_ext ]
authorityKeyIdentifier = keyid:always
freshestCRL = URI:{FRESHEST}
""")
    return root / "ca.pem"


class OpensslCa:
    label, mode = "openssl", "ca -gencrl"

    def __init__(self, issuing_subject, serials, revoked_at):
        self.root = Path(tempfile.mkdtemp(prefix="tessera-bench-openssl-"))
        self.ca_cert = openssl_ca(self.root, issuing_subject, serials, revoked_at)
        self.out = self.root / "crl.pem"

    def update(self, serials, revoked_at):
        write_index(self.root, serials, revoked_at)

    def once(self):
        """openssl under /usr/bin/time -v: its peak RSS in KiB."""
        result = subprocess.run(
            ["/usr/bin/time", "-v", "openssl", "ca", "-gencrl", "-config",
             str(self.root / "openssl.cnf"), "-out", str(self.out)],
            capture_output=True, text=True, check=True)
        found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
        return int(found.group(1)) if found else None

    def result(self):
        return pem_to_der(self.out), self.ca_cert

    def close(self):
        shutil.rmtree(self.root, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-r", default=os.environ.get("TSR_BENCH_R", "10000,100000,1000000"),
                        help="revoked entries, comma-separated (default 10000,100000,1000000)")
    parser.add_argument("-c", "--clients", type=int, default=4,
                        help="concurrent clients for the set-up (default 4)")
    args = parser.parse_args()
    sizes = sorted(int(r) for r in args.r.split(","))

    say("== tessera (SoftHSM2 token): starting enrollment and ca, ceremony, activation")
    system = benchlib.start_tessera()
    makers, rows, document = [], [], {"rows": []}
    try:
        seeded, revoked_at = populate(system, min(SEEDED, sizes[0]), args.clients)
        issuing = x509.load_pem_x509_certificate(system.bench_issuing_pem.read_bytes())
        bus, cli = TesseraBus(system), TesseraCli(system)
        makers = [bus, cli]
        peer = OpensslCa(issuing.subject, seeded, revoked_at)
        makers.append(peer)
        for entries in sizes:
            say(f"== R = {entries}: revoked rows added with SQL, index.txt written")
            serials = add_revoked(system, entries, revoked_at)
            peer.update(serials, revoked_at)
            runs = runs_for(entries)
            # The CLI adds a process start and a PEM file: measured at the
            # smallest size only.
            ways = makers if entries == sizes[0] else [bus, peer]
            times = {maker: [] for maker in ways}
            peaks = {maker: [] for maker in ways}
            for run in range(runs):
                say(f"   round {run + 1}/{runs}: one CRL each")
                for maker in ways[run % len(ways):] + ways[:run % len(ways)]:
                    t0 = time.perf_counter()
                    peak = maker.once()
                    times[maker].append(time.perf_counter() - t0)
                    if peak:
                        peaks[maker].append(peak)
            for maker in ways:
                der, ca_cert = maker.result()
                check(der, ca_cert, len(serials), f"{maker.label} {maker.mode}")
                rows.append(summary(maker.label, maker.mode, len(serials), times[maker],
                                    peaks[maker], len(der)))
                document["rows"].append({
                    "system": maker.label, "mode": maker.mode, "entries": len(serials),
                    "runs_s": times[maker], "median_ms": statistics.median(times[maker]) * 1000,
                    "peak_rss_kib": max(peaks[maker]) if peaks[maker] else None,
                    "crl_bytes": len(der)})
    finally:
        for maker in makers:
            maker.close()
        system.stop()

    print(f"CRL generation, full CRL of R revoked entries, EC P-256 issuing key — "
          f"{benchlib.machine_line()}")
    print(benchlib.table(HEADERS, rows))
    print("""
tessera SignCrl: a bus round trip; in the ca process a transaction that locks
  the issuer row and the status counter, reads every revoked or held
  certificate (binary COPY), builds the CRL, signs it with the key in the
  SoftHSM2 token (one PKCS#11 signature), stores it (crls row with the DER, by
  COPY; an audit row) and, as for every method that is not read-only, keeps
  the reply under its request id before it commits (a short form without the
  DER, which the crls row holds).
tessera ca crl: the same, plus starting the CLI, its CURVE handshake and the
  PEM file written.
openssl ca -gencrl: a process that reads index.txt, the key file and the CA
  certificate, builds and signs the CRL and writes it (PEM); nothing stored.
Each entry: serial (16 bytes), revocation date, reason keyCompromise.
Peak RSS: the ca process's VmHWM during the call (reset before it), its
  resting size included; openssl's maximum resident set size (time -v).""")
    benchlib.write_json("crl", document)


if __name__ == "__main__":
    main()
