"""The bus: CURVE admission, Ping, idempotent replies across restarts, and
bad input that gets an error status while the service keeps serving."""
import json
import threading
import time

import psycopg2
import pytest

from tessera.v1 import envelope_pb2
from tsrtest import SERVICES, BusClient

OK = envelope_pb2.STATUS_OK


def ping(client, request_id=None, echo="hello"):
    payload = envelope_pb2.PingRequest(echo=echo).SerializeToString()
    return client.call("Ping", payload, request_id=request_id)


def test_every_service_answers_ping_over_curve(system):
    for name in SERVICES:
        client = system.client(name)
        reply, _ = ping(client)
        client.close()
        assert reply is not None, f"{name} did not answer"
        assert reply.status == OK and reply.is_reply
        pong = envelope_pb2.PingReply()
        pong.ParseFromString(reply.payload)
        assert pong.service == name
        assert pong.echo == "hello"
        # The service saw the key we authenticated with, not a claim.
        assert pong.caller_key == client.public_key


def test_unknown_key_gets_no_reply_and_is_logged(system):
    service = system.services["ca"]
    intruder = BusClient(system.context, system.keys / "intruder.cert", service.endpoint,
                         service.cert)
    reply, _ = ping(intruder)
    intruder.close()
    assert reply is None
    deadline = time.time() + 5
    while time.time() < deadline and '"event":"bus.refused"' not in service.log():
        time.sleep(0.1)
    refused = [json.loads(line) for line in service.log().splitlines()
               if '"event":"bus.refused"' in line]
    assert refused, "the service log does not say it refused the intruder"
    assert refused[-1]["reason"] == "client key not in the keyring"
    # And the service still answers a registered client.
    client = system.client("ca")
    assert ping(client)[0].status == OK
    client.close()


def test_same_request_id_one_effect_same_reply_also_after_restart(system):
    service = system.services["enrollment"]
    client = system.client("enrollment")
    first, first_raw = ping(client, request_id="it-idem-1")
    second, second_raw = ping(client, request_id="it-idem-1")
    assert first.status == OK
    assert second_raw == first_raw                     # identical bytes
    conn = system.cluster.connect()
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM enrollment.bus_requests WHERE request_id = %s",
                    ("it-idem-1",))
        assert cur.fetchone()[0] == 1                  # one effect
    client.close()

    assert service.stop() == 0                         # SIGTERM drains, exits 0
    service.start()
    client = system.client("enrollment")
    third, third_raw = ping(client, request_id="it-idem-1")
    fresh, _ = ping(client, request_id="it-idem-2")
    client.close()
    assert third_raw == first_raw                      # the stored first reply
    old = envelope_pb2.PingReply.FromString(first.payload).instance_id
    new = envelope_pb2.PingReply.FromString(fresh.payload).instance_id
    assert old != new                                  # it really was restarted
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM enrollment.bus_requests WHERE request_id = %s",
                    ("it-idem-1",))
        assert cur.fetchone()[0] == 1
    conn.close()


def test_copies_of_a_request_arriving_together_get_one_effect_and_the_same_reply(system):
    # BEGIN, the request id's lock and the stored-reply lookup go in one
    # round trip; the lookup must still see the reply a copy committed while
    # this one waited for the lock (its own snapshot, taken once it holds
    # the lock), or the copy would run again and fail on the stored reply.
    clients = [system.client("revocation") for _ in range(4)]
    try:
        for n in range(15):
            request_id = f"it-together-{n}"
            replies = [None] * len(clients)
            start = threading.Barrier(len(clients))

            def send(i):
                start.wait()
                replies[i] = ping(clients[i], request_id=request_id)

            threads = [threading.Thread(target=send, args=(i,)) for i in range(len(clients))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert [r[0].status for r in replies] == [OK] * len(clients), request_id
            assert len({raw for _, raw in replies}) == 1, request_id
    finally:
        for client in clients:
            client.close()
    conn = system.cluster.connect()
    with conn.cursor() as cur:
        cur.execute("SELECT count(*), count(DISTINCT request_id) FROM revocation.bus_requests"
                    " WHERE request_id LIKE 'it-together-%%'")
        assert cur.fetchone() == (15, 15)
    conn.close()


def test_reused_request_id_with_other_payload_is_a_conflict(system):
    client = system.client("validation")
    assert ping(client, request_id="it-conflict", echo="a")[0].status == OK
    reply, _ = ping(client, request_id="it-conflict", echo="b")
    client.close()
    assert reply.status == envelope_pb2.STATUS_CONFLICT
    assert "request id" in reply.status_message


def test_bad_input_gets_an_error_and_the_service_keeps_serving(system):
    client = system.client("mail")
    # Not a protobuf Envelope at all.
    raw = client.send_raw(b"\xff\xff\xff garbage")
    reply = envelope_pb2.Envelope.FromString(raw)
    assert reply.status == envelope_pb2.STATUS_MALFORMED and reply.status_message

    # A valid envelope whose identifiers break their bounds.
    bad = envelope_pb2.Envelope(request_id="x" * 129, method="Ping")
    reply = envelope_pb2.Envelope.FromString(client.send_raw(bad.SerializeToString()))
    assert reply.status == envelope_pb2.STATUS_MALFORMED
    assert "request_id" in reply.status_message
    bad = envelope_pb2.Envelope(request_id="ok-1", method="Ping'; DROP TABLE x;--")
    reply = envelope_pb2.Envelope.FromString(client.send_raw(bad.SerializeToString()))
    assert reply.status == envelope_pb2.STATUS_MALFORMED

    # An unknown method.
    reply, _ = client.call("LaunchMissiles")
    assert reply.status == envelope_pb2.STATUS_UNIMPLEMENTED
    assert "unknown method" in reply.status_message

    # A payload that is not the method's message.
    reply, _ = client.call("Ping", b"\xff\xff\xff")
    assert reply.status == envelope_pb2.STATUS_INVALID_ARGUMENT

    # 10 MiB: dropped at the size limit (the connection is cut, no reply).
    assert client.send_raw(b"\x00" * (10 * 1024 * 1024), timeout=2.0) is None
    client.close()

    # The service still answers.
    client = system.client("mail")
    assert ping(client)[0].status == OK
    client.close()
    assert system.services["mail"].proc.poll() is None


def test_health_ready_and_metrics(system):
    service = system.services["publisher"]
    status, body = service.http_get("/healthz")
    assert (status, body.strip()) == (200, "ok")
    assert service.http_get("/readyz")[0] == 200
    client = system.client("publisher")
    ping(client)
    client.close()
    status, text = service.http_get("/metrics")
    assert status == 200
    assert 'tessera_bus_requests_total{service="publisher",method="Ping"}' in text
    assert "tessera_bus_request_seconds_bucket" in text
    assert service.http_get("/nope")[0] == 404


def test_cli_ping_over_curve(system):
    result = system.cli("--json", "ping", "revocation", "--echo", "cli")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["ok"] and answer["service"] == "revocation" and answer["echo"] == "cli"
    result = system.cli("ping", "revocation",
                        env={"TSR_CERT": str(system.keys / "intruder.cert"),
                             "TSR_TIMEOUT_MS": "500", "TSR_RETRIES": "1"})
    assert result.returncode == 1
    assert "no reply" in result.stderr
