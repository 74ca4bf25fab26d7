"""PostgreSQL restarted under running services: each worker and the event
relay reconnect by themselves; no request is answered OK without its stored
reply, and events committed afterwards are still published."""
import time

from tessera.v1 import envelope_pb2
from test_events import probe_event, receive, subscriber


def ping(system, service, request_id):
    client = system.client(service)
    payload = envelope_pb2.PingRequest(echo="after").SerializeToString()
    reply, raw = client.call("Ping", payload, request_id=request_id)
    client.close()
    return reply, raw


def test_services_reconnect_after_postgresql_restart(system):
    first, first_raw = ping(system, "ca", "restart-before")
    assert first.status == envelope_pb2.STATUS_OK

    system.cluster.restart()

    # Every worker's connection died; the first statement of each reconnects
    # outside any transaction, so the caller sees no error at all.
    for i in range(8):
        reply, _ = ping(system, "ca", f"restart-after-{i}")
        assert reply is not None and reply.status == envelope_pb2.STATUS_OK, reply
    # The reply stored before the restart is still the answer to its id.
    assert ping(system, "ca", "restart-before")[1] == first_raw

    service = system.services["ca"]
    deadline = time.time() + 10
    while time.time() < deadline and service.http_get("/readyz")[0] != 200:
        time.sleep(0.2)
    assert service.http_get("/readyz")[0] == 200

    # The relay's LISTEN connection came back too.
    sub = subscriber(system, service)
    seq = probe_event(service, "test.after_restart", "commit")
    events = receive(sub, 1, timeout=10)
    sub.close()
    assert [e.seq for e in events] == [seq]
    assert service.proc.poll() is None
