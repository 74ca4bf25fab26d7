"""Operations: one trace id followed across the services' JSON logs, and
the metrics every operator dashboard needs (outbox backlog, CA key active,
CRL nextUpdate margin, perso's failed jobs), scraped from /metrics.

The chain: an operator revokes a certificate in ca with a trace id of the
test's choosing. ca asks enrollment for the operator's roles (its role
client passes no trace id: the worker's current one is used), records the
revocation and its certificate.revoked event; the publisher follows the
event and applies it. Each of the three services must log lines under
that trace id."""
import json
import re
import secrets
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import tsrtest
from tessera.v1 import ca_pb2, envelope_pb2, publisher_pb2
from tsrtest import System

OK = envelope_pb2.STATUS_OK
NAMES = ["enrollment", "ca", "publisher", "perso"]


@pytest.fixture(scope="module")
def system():
    s = System()
    # Every request answered and every event applied gets a debug line
    # (bus.request, events.applied): this system logs at debug level.
    original_env = tsrtest.Service.env
    tsrtest.Service.env = lambda self: {**original_env(self), "TSR_LOG_LEVEL": "debug"}
    try:
        # No role cache in ca: each call asks enrollment, under its trace id.
        s.service_env["ca"] = {"TSR_ROLE_CACHE_MS": "0"}
        s.service_env["publisher"] = {"TSR_PUBLISHER_COALESCE_MS": "500",
                                      "TSR_PUBLISHER_RETRY_S": "1"}
        s.start(NAMES)
        for who in ("alice", "bob", "carol"):
            s.add_operator(who, "custodian")
    except BaseException:
        s.stop()
        raise
    finally:
        tsrtest.Service.env = original_env
    yield s
    s.stop()


def wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def metrics(system, service):
    return system.services[service].metrics()


def metric(system, service, name, **labels):
    return system.services[service].metric(name, **labels)


def log_lines(system, service, trace_id):
    """The JSON lines of a service's log that carry trace_id."""
    lines = []
    for raw in system.services[service].log().splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue            # a line from a library, not tsr_log
        if line.get("trace_id") == trace_id:
            lines.append(line)
    return lines


def events_of(lines):
    return {line["event"] for line in lines}


def call(system, service, method, message, identity, trace_id=None, timeout=30.0):
    client = system.client(service, identity)
    try:
        reply, _ = client.call(method, message.SerializeToString(), trace_id=trace_id,
                               timeout=timeout)
    finally:
        client.close()
    assert reply is not None, f"{method}: no reply"
    return reply


def issue(system, request_id):
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ignored")]))
           .sign(key, hashes.SHA256()))
    message = ca_pb2.IssueCertificateRequest(
        card_request_id=request_id, holder_id=f"h-{request_id}",
        csr_der=csr.public_bytes(serialization.Encoding.DER),
        use=ca_pb2.CERTIFICATE_USE_AUTHENTICATION, level=ca_pb2.POLICY_LEVEL_TWO_STARS,
        subject=ca_pb2.Subject(given_name="Élodie", surname="Dupré",
                               organization="Société Exemple", organization_id="73282932000074"))
    reply = call(system, "ca", "IssueCertificate", message, "perso")
    assert reply.status == OK, reply.status_message
    return ca_pb2.IssueCertificateReply.FromString(reply.payload).certificate.serial_hex


# --- before the CA key is active ------------------------------------------------

def test_metrics_before_activation(system):
    assert metric(system, "ca", "tessera_ca_key_active") == 0
    for name in NAMES:
        samples = metrics(system, name)
        # The relay measures once a second: both gauges exist, nothing waits.
        assert samples[("tessera_outbox_backlog_events", ())] == 0, name
        assert samples[("tessera_outbox_oldest_age_seconds", ())] == 0, name
    # perso's failed jobs are a series of their own from the start.
    for outcome in ("succeeded", "failed", "interrupted"):
        assert metric(system, "perso", "tessera_perso_jobs_ended_total", outcome=outcome) == 0
    # No CRL yet: no margin to show.
    assert not any(name == "tessera_publisher_crl_next_update_margin_seconds"
                   for name, _ in metrics(system, "publisher"))


@pytest.fixture(scope="module")
def active(system):
    out = system.root / "ceremony"
    result = system.cli(
        "--json", "ca", "ceremony", "--org", "Tessera Trust", "--root-cn", "Tessera Root CA",
        "--issuing-cn", "Tessera Issuing CA", "--root-alg", "ec-p384", "--issuing-alg", "ec-p256",
        "--custodian", f"alice={system.keys / 'alice.cert'}",
        "--custodian", f"bob={system.keys / 'bob.cert'}",
        "--custodian", f"carol={system.keys / 'carol.cert'}",
        "--threshold", "2", "--so-pin-file", str(system.hsm.so_pin_file), "--out", str(out),
        identity="officer", timeout=120)
    assert result.returncode == 0, result.stderr
    shares = {name: next((out / name).glob("ca-*.*")) for name in ("alice", "bob")}
    first = system.cli("--json", "ca", "activate", "--share", str(shares["alice"]),
                       identity="alice")
    assert first.returncode == 0, first.stderr
    # One share of two: still inactive.
    assert metric(system, "ca", "tessera_ca_key_active") == 0
    second = system.cli("--json", "ca", "activate", "--share", str(shares["bob"]),
                        identity="bob")
    assert second.returncode == 0, second.stderr
    return out


def test_ca_key_active_follows_activation(system, active):
    assert metric(system, "ca", "tessera_ca_key_active") == 1


def test_crl_next_update_margin(system, active):
    def margins():
        full = metric(system, "publisher", "tessera_publisher_crl_next_update_margin_seconds",
                      kind="full")
        delta = metric(system, "publisher", "tessera_publisher_crl_next_update_margin_seconds",
                       kind="delta")
        return (full, delta) if full is not None and delta is not None else None
    full, delta = wait_for(margins, what="the publisher's first CRLs")
    # A full CRL is good for 24 h, a delta for 7 h (docs/publisher.md), both
    # published a moment ago.
    assert 24 * 3600 - 120 < full <= 24 * 3600
    assert 7 * 3600 - 120 < delta <= 7 * 3600
    age = metric(system, "publisher", "tessera_publisher_crl_age_seconds", kind="full")
    next_update = metric(system, "publisher",
                         "tessera_publisher_crl_next_update_timestamp_seconds", kind="full")
    assert abs(next_update - time.time() - full) < 5
    assert 0 <= age < 120


# --- one trace id across three services ----------------------------------------------

def test_a_revocation_is_followed_by_its_trace_id_across_services(system, active):
    serial = issue(system, "cr-trace-1")
    trace_id = f"it-trace:{secrets.token_hex(8)}"
    reply = call(system, "ca", "RevokeCertificate",
                 ca_pb2.RevokeCertificateRequest(
                     serial_hex=serial, reason=ca_pb2.REVOCATION_REASON_KEY_COMPROMISE),
                 "officer", trace_id=trace_id)
    assert reply.status == OK, reply.status_message
    assert reply.trace_id == trace_id

    # ca: the request, and what it logged with the trace id at hand.
    ca_lines = log_lines(system, "ca", trace_id)
    assert {"ca.revoked", "bus.request"} <= events_of(ca_lines), ca_lines
    assert any(line["event"] == "bus.request" and line["method"] == "RevokeCertificate"
               and line["status"] == "OK" for line in ca_lines), ca_lines
    # enrollment: asked for the officer's roles by ca's role client, which
    # passes no trace id of its own.
    enrollment_lines = log_lines(system, "enrollment", trace_id)
    assert any(line["event"] == "bus.request" and line["method"] == "GetOperator"
               for line in enrollment_lines), enrollment_lines
    # publisher: the certificate.revoked event carried the trace id; the
    # consumer applied it under that id.
    publisher_lines = wait_for(
        lambda: (lines := log_lines(system, "publisher", trace_id))
        and {"publisher.revoked", "events.applied"} <= events_of(lines) and lines,
        what="the publisher to apply the revocation")
    assert any(line["event"] == "events.applied" and line["source"] == "ca"
               and line["type"] == "certificate.revoked" for line in publisher_lines)
    # Nothing else used it: not the issuance, not the other services' timers.
    assert not log_lines(system, "perso", trace_id)
    assert "ca.certificate_issued" not in events_of(ca_lines)


def test_a_request_without_trace_id_gets_one(system, active):
    client = system.client("ca", "officer")
    try:
        envelope = envelope_pb2.Envelope(message_id=secrets.token_hex(16),
                                         request_id=secrets.token_hex(16),
                                         method="GetActivationStatus")
        raw = client.send_raw(envelope.SerializeToString(), timeout=10)
    finally:
        client.close()
    assert raw is not None
    reply = envelope_pb2.Envelope.FromString(raw)
    assert reply.status == OK, reply.status_message
    assert re.fullmatch(r"[0-9a-f]{32}", reply.trace_id)
    # The made-up id is in ca's line for the request and in enrollment's
    # for the role lookup it made.
    assert "bus.request" in events_of(log_lines(system, "ca", reply.trace_id))
    assert "bus.request" in events_of(log_lines(system, "enrollment", reply.trace_id))


def test_a_trace_id_breaking_the_rule_is_refused(system):
    client = system.client("ca", "officer")
    try:
        for bad in ("x" * 65, "has space", "quote\"", "brace{}"):
            reply, _ = client.call("Ping", envelope_pb2.PingRequest(echo="hi").SerializeToString(),
                                   trace_id=bad, timeout=10)
            assert reply is not None
            assert reply.status == envelope_pb2.STATUS_MALFORMED
            assert "trace_id" in reply.status_message
    finally:
        client.close()
    for name in NAMES:
        assert "has space" not in system.services[name].log()


# --- the outbox after the events were relayed, and deactivation ---------------------

def test_outbox_backlog_is_zero_once_relayed(system, active):
    # ca has emitted events (ceremony, activation, issuance, revocation),
    # the publisher too (crl.published): all published within a second.
    for name in ("ca", "publisher", "enrollment"):
        wait_for(lambda: metric(system, name, "tessera_outbox_backlog_events") == 0
                 and metric(system, name, "tessera_outbox_oldest_age_seconds") == 0,
                 what=f"{name}'s outbox to drain")
    status = call(system, "publisher", "GetPublicationStatus",
                  publisher_pb2.GetPublicationStatusRequest(), "officer")
    assert status.status == OK, status.status_message
    assert metric(system, "ca", "tessera_bus_requests_total", method="RevokeCertificate") >= 1


def test_ca_key_active_drops_on_deactivation(system, active):
    result = system.cli("--json", "ca", "deactivate", identity="alice")
    assert result.returncode == 0, result.stderr
    assert metric(system, "ca", "tessera_ca_key_active") == 0
