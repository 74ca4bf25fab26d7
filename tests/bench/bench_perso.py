"""Personalisation: seconds per card on the virtual card (tools/vcard behind
a private pcscd with Debian's vpcd), two on-card keys and two certificates,
with the time split by perso's steps; beside it, Yubico's yubico-piv-tool
doing the card side of the same work on the same kind of card in the same
run: authenticate with the transport management key, generate the 9A and 9C
keys (EC P-256), import two certificates (made by an openssl CA for the
card's keys), set the PIN, the PUK and a new management key. The peer does
no CSR signed by the card (yubico-piv-tool's request-certificate is broken
with OpenSSL 3), no CA with durable storage and no CHUID: tessera's column
holds more work, the step split says how much.

    PYTHONPATH=build/gen/python:tests/integration TSR_BUILD_DIR=build \\
        /usr/bin/python3 tests/bench/bench_perso.py [-n 5]

A benchmark, not a test: it prints figures and asserts nothing about time."""
import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import say  # noqa: E402
from pcsc import Pcsc, VirtualCard  # noqa: E402
from tessera.v1 import enrollment_pb2, envelope_pb2, perso_pb2, validation_pb2  # noqa: E402
from test_validation import Registry, validate, wait_state  # noqa: E402
from tsrtest import System, keygen  # noqa: E402

P, E = perso_pb2, enrollment_pb2
OK = envelope_pb2.STATUS_OK
TRANSPORT_KEY = "010203040506070801020304050607080102030405060708"


def call(system, service, method, message, identity, cls, timeout=60.0):
    client = system.client(service, identity)
    try:
        reply, _ = client.call(method, message.SerializeToString(), timeout=timeout)
    finally:
        client.close()
    if reply is None or reply.status != OK:
        raise RuntimeError(f"{service}.{method}: {reply.status_message if reply else 'no reply'}")
    return cls.FromString(reply.payload)


def start_system(pcsc):
    s = System()
    master = s.root / "perso-master.key"
    master.write_text(secrets.token_hex(32) + "\n")
    s.service_env["perso"] = {"TSR_PERSO_MASTER_KEY_FILE": str(master),
                              "TSR_PERSO_RUNNERS": "1"}
    s.start([])
    for name in ("persoop", "portal"):
        if not (s.keyring / f"{name}.cert").exists():
            shutil.copy(keygen(s.keys, name), s.keyring / f"{name}.cert")
    for name in ("enrollment", "validation", "ca", "perso"):
        s.services[name].start(wait=False)
    for name in ("enrollment", "validation", "ca", "perso"):
        s.services[name].wait_ready()
    operator = s.add_operator("operator", "entry", "validation")
    s.add_operator("client", "validation")
    s.add_operator("persoop", "perso")
    for who in ("alice", "bob"):
        s.add_operator(who, "custodian")
    out = s.root / "ceremony"
    done = s.cli("--json", "ca", "ceremony", "--org", "Tessera Bench", "--root-cn", "Bench Root",
                 "--issuing-cn", "Bench Issuing", "--root-alg", "ec-p256", "--issuing-alg",
                 "ec-p256", "--custodian", f"alice={s.keys / 'alice.cert'}",
                 "--custodian", f"bob={s.keys / 'bob.cert'}", "--threshold", "2",
                 "--so-pin-file", str(s.hsm.so_pin_file), "--out", str(out),
                 identity="officer", timeout=120)
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    for who in ("alice", "bob"):
        share = next((out / who).glob("ca-*.*"))
        s.cli("--json", "ca", "activate", "--share", str(share), identity=who, check=True)
    return s, Registry(s, operator)


def tessera_card(system, registry, pcsc, work, n):
    """One card personalised by perso: (seconds, {step: seconds})."""
    holder = registry.holder("Élodie", f"Banc {n}")
    _, (request_id,) = registry.batch([holder])
    validate(system, request_id)
    if not wait_state(system, request_id, E.CARD_REQUEST_STATE_VALIDATED):
        raise RuntimeError("the request was not validated")
    card = VirtualCard(pcsc, work / f"tessera-{n}.state")
    card.init()
    card.insert()
    try:
        started = time.perf_counter()
        job = call(system, "perso", "StartJob", P.StartJobRequest(
            card_request_id=request_id, reader_name=pcsc.reader_name), "persoop", P.PersoJob)
        while True:
            job = call(system, "perso", "GetJob", P.GetJobRequest(job_id=job.job_id), "persoop",
                       P.PersoJob)
            if job.state in (P.PERSO_JOB_STATE_SUCCEEDED, P.PERSO_JOB_STATE_FAILED):
                break
            time.sleep(0.02)
        seconds = time.perf_counter() - started
        if job.state != P.PERSO_JOB_STATE_SUCCEEDED:
            raise RuntimeError(f"job failed: {job.failure_reason}")
        steps = {P.PersoStep.Name(s.step).replace("PERSO_STEP_", ""):
                 (s.finished_at_unix_ms - s.started_at_unix_ms) / 1000.0 for s in job.steps}
        return seconds, steps
    finally:
        card.remove(wait=True)


def peer_card(pcsc, ca, work, n):
    """The card side of the same work with yubico-piv-tool: (seconds, {step: seconds})."""
    card = VirtualCard(pcsc, work / f"peer-{n}.state")
    card.init()
    card.insert()
    steps = {}
    new_key = secrets.token_hex(24)

    def ypt(step, *args, input=None):
        t = time.perf_counter()
        done = subprocess.run(["yubico-piv-tool", "-r", "Virtual", *args], env=pcsc.env(),
                              capture_output=True, text=True, input=input, timeout=60)
        steps[step] = steps.get(step, 0.0) + time.perf_counter() - t
        if done.returncode != 0:
            raise RuntimeError(f"yubico-piv-tool {' '.join(args)}: {done.stderr}")
        return done.stdout

    try:
        started = time.perf_counter()
        certificates = {}
        for slot in ("9a", "9c"):
            public = work / f"peer-{n}-{slot}.pub"
            public.write_text(ypt(f"GENERATE_{slot.upper()}", f"--key={TRANSPORT_KEY}", "-a",
                                  "generate", "-s", slot, "-A", "ECCP256"))
            t = time.perf_counter()
            certificates[slot] = ca(public, f"peer {n} {slot}")
            steps["CERTIFY (openssl x509)"] = steps.get("CERTIFY (openssl x509)", 0.0) + \
                time.perf_counter() - t
        for slot, cert in certificates.items():
            ypt("IMPORT_CERTIFICATES", f"--key={TRANSPORT_KEY}", "-a", "import-certificate", "-s",
                slot, "-i", str(cert))
        ypt("CHANGE_PIN", "-a", "change-pin", "-P", "123456", "-N", f"{secrets.randbelow(10**8):08d}")
        ypt("CHANGE_PUK", "-a", "change-puk", "-P", "12345678", "-N", f"{secrets.randbelow(10**8):08d}")
        ypt("SET_MANAGEMENT_KEY", f"--key={TRANSPORT_KEY}", "-a", "set-mgm-key", "-n", new_key)
        return time.perf_counter() - started, steps
    finally:
        card.remove(wait=True)


def openssl_ca(work):
    key, cert = work / "peer-ca.key", work / "peer-ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-subj", "/CN=peer CA", "-days", "2"], check=True, capture_output=True)

    def certify(public, name):
        csr = subprocess.run(["openssl", "req", "-new", "-key", str(key), "-subj", f"/CN={name}"],
                             check=True, capture_output=True).stdout
        out = work / f"{name.replace(' ', '-')}.pem"
        subprocess.run(["openssl", "x509", "-req", "-CA", str(cert), "-CAkey", str(key),
                        "-CAcreateserial", "-force_pubkey", str(public), "-days", "2",
                        "-out", str(out)], input=csr, check=True, capture_output=True)
        return out
    return certify


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=int(os.environ.get("TSR_BENCH_CARDS", "5")))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tessera-bench-perso-"))
    pcsc = Pcsc(work / "pcsc")
    system = None
    try:
        pcsc.start()
        system, registry = start_system(pcsc)
        ca = openssl_ca(work)
        ours, peer = [], []
        for n in range(args.n):          # in turns, so load hits both alike
            ours.append(tessera_card(system, registry, pcsc, work, n))
            peer.append(peer_card(pcsc, ca, work, n))
            say(f"card {n + 1}/{args.n}: tessera {ours[-1][0]:.2f} s, "
                f"yubico-piv-tool {peer[-1][0]:.2f} s")
    finally:
        if system:
            system.stop()
        pcsc.stop()
    rows = []
    for name, runs in (("tessera perso (job: StartJob → SUCCEEDED)", ours),
                       ("yubico-piv-tool (card side only)", peer)):
        totals = [t for t, _ in runs]
        rows.append(dict(system=name, cards=len(runs), median_s=statistics.median(totals),
                         min_s=min(totals), max_s=max(totals),
                         steps={k: statistics.median(r[1].get(k, 0.0) for r in runs)
                                for k in runs[0][1]}))
    print(f"{'system':<46} {'cards':>5} {'median s':>9} {'min s':>7} {'max s':>7}")
    for row in rows:
        print(f"{row['system']:<46} {row['cards']:>5} {row['median_s']:>9.2f} "
              f"{row['min_s']:>7.2f} {row['max_s']:>7.2f}")
    for row in rows:
        print(f"\n{row['system']}: median seconds by step")
        for step, seconds in row["steps"].items():
            print(f"  {step:<32} {seconds:7.3f}")
    out = Path(os.environ.get("TSR_BENCH_OUT", "var/bench"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "perso.json").write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
