"""Events: the outbox is published after commit only, in seq order, and a
subscriber that missed some gets them back with ListEvents."""
import json
import subprocess
import time

import zmq

from tessera.v1 import envelope_pb2, events_pb2
from tsrtest import PROBE, read_cert


def subscriber(system, service):
    public, secret = read_cert(system.keys / "client.cert")
    server_public, _ = read_cert(service.cert)
    sub = system.context.socket(zmq.SUB)
    sub.curve_publickey = public.encode()
    sub.curve_secretkey = secret.encode()
    sub.curve_serverkey = server_public.encode()
    sub.linger = 0
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(service.pub_endpoint)
    time.sleep(0.5)                        # let the CURVE handshake finish
    return sub


def receive(sub, count, timeout=5.0):
    events = []
    deadline = time.time() + timeout
    while len(events) < count and time.time() < deadline:
        if sub.poll(100):
            topic, data = sub.recv_multipart()
            event = events_pb2.Event.FromString(data)
            assert topic.decode() == event.type
            events.append(event)
    return events


def probe_event(service, event_type, outcome):
    out = subprocess.run([str(PROBE), "event", service.dsn, service.name, event_type, outcome],
                         check=True, capture_output=True, text=True)
    return int(out.stdout)


def list_events(system, service_name, after):
    client = system.client(service_name)
    payload = events_pb2.ListEventsRequest(after_seq=after).SerializeToString()
    reply, _ = client.call("ListEvents", payload)
    client.close()
    assert reply.status == envelope_pb2.STATUS_OK
    return events_pb2.ListEventsReply.FromString(reply.payload)


def test_rolled_back_event_is_never_published(system):
    service = system.services["ca"]
    sub = subscriber(system, service)
    probe_event(service, "test.rolled_back", "rollback")
    seq = probe_event(service, "test.committed", "commit")
    events = receive(sub, 1)
    time.sleep(1.5)                        # past the relay's 1 s sweep
    events += receive(sub, 10, timeout=0.5)
    sub.close()
    assert [e.type for e in events] == ["test.committed"]
    assert events[0].seq == seq and events[0].service == "ca"
    assert events[0].payload == b"payload"
    listed = list_events(system, "ca", 0)
    assert "test.rolled_back" not in [e.type for e in listed.events]
    # The rolled-back append took its number with it: no gap.
    assert [e.seq for e in listed.events] == list(range(1, len(listed.events) + 1))


def test_event_commits_only_with_the_statement_sent_with_the_commit(system):
    # tsr_db_commit_after sends a last statement and COMMIT in one round
    # trip (the bus worker stores a reply that way): when the statement
    # fails, the transaction's event is rolled back with it, its number
    # too, and the connection serves the next statement.
    service = system.services["ca"]
    failed = probe_event(service, "test.commit_after_failed", "commit-after-fails")
    kept = probe_event(service, "test.commit_after", "commit-after")
    assert kept == failed
    listed = list_events(system, "ca", 0)
    types = [e.type for e in listed.events]
    assert "test.commit_after_failed" not in types and "test.commit_after" in types
    assert [e.seq for e in listed.events] == list(range(1, len(listed.events) + 1))


def test_commit_after_an_ignored_failure_is_not_taken_for_success(system):
    # PostgreSQL ends a transaction in which a statement failed with
    # ROLLBACK, also when it is asked to COMMIT, and says so only in the
    # command tag: tsr_db_commit reads it and answers -1 (the probe fails
    # otherwise), and the event is gone with its number.
    service = system.services["ca"]
    lost = probe_event(service, "test.commit_despite_error", "commit-despite-error")
    kept = probe_event(service, "test.after_despite_error", "commit")
    assert kept == lost
    types = [e.type for e in list_events(system, "ca", 0).events]
    assert "test.commit_despite_error" not in types and "test.after_despite_error" in types


def test_event_and_audit_row_kept_for_the_commit(system):
    # tsr_events_append_at_commit and tsr_audit_append_at_commit send their
    # statements with the COMMIT (issuance does, so the outbox counter and
    # the audit head are locked only through the commit): they commit with
    # the transaction, in order, or not at all when a statement sent with
    # them fails.
    service = system.services["mail"]
    for event_type, outcome in (("test.kept_failed", "fails"), ("test.kept", "commit")):
        subprocess.run([str(PROBE), "at-commit", service.dsn, service.name, event_type, outcome],
                       check=True)
    listed = list_events(system, "mail", 0)
    types = [e.type for e in listed.events]
    assert "test.kept" in types and "test.kept_failed" not in types
    assert [e.seq for e in listed.events] == list(range(1, len(listed.events) + 1))
    conn = system.cluster.connect()
    with conn.cursor() as cur:
        cur.execute("SELECT action FROM mail.audit_log WHERE actor = 'probe' ORDER BY seq")
        assert [r[0] for r in cur.fetchall()] == ["test.kept"]
    conn.close()
    report = json.loads(system.cli("--json", "audit", "verify", "--service", "mail").stdout)
    assert report["intact"], report


def test_event_appended_with_a_message_carries_it_packed(system):
    # tsr_events_append_message packs the message the services hand it as
    # the event's payload; with no message, the payload is empty.
    service = system.services["revocation"]
    out = subprocess.run([str(PROBE), "message", service.dsn, service.name, "test.message"],
                         check=True, capture_output=True, text=True)
    with_message, without = (int(seq) for seq in out.stdout.split())
    listed = list_events(system, "revocation", with_message - 1)
    events = [e for e in listed.events if e.type == "test.message"]
    assert [e.seq for e in events] == [with_message, without]
    inner = events_pb2.Event.FromString(events[0].payload)
    assert (inner.type, inner.seq, inner.subject) == ("test.inner", 7, "inner")
    assert events[1].payload == b""
    assert events[0].trace_id == "trace-probe" and events[0].subject == "probe"


def test_missed_events_are_recovered_with_list_events(system):
    service = system.services["validation"]
    sub = subscriber(system, service)
    first = probe_event(service, "test.seen", "commit")
    seen = receive(sub, 1)
    assert [e.seq for e in seen] == [first]
    sub.close()                            # the subscriber goes away ...
    missed = [probe_event(service, f"test.missed_{i}", "commit") for i in range(3)]
    listed = list_events(system, "validation", first)   # ... and catches up
    assert [e.seq for e in listed.events] == missed
    assert [e.type for e in listed.events] == ["test.missed_0", "test.missed_1", "test.missed_2"]
    assert listed.last_seq == missed[-1]


def test_events_committed_while_service_down_are_published_on_restart(system):
    service = system.services["publisher"]
    assert service.stop() == 0
    seq = probe_event(service, "test.while_down", "commit")
    service.start()
    sub = subscriber(system, service)
    # Published at start-up, possibly before we subscribed: ListEvents has it,
    # and it is marked published.
    listed = list_events(system, "publisher", seq - 1)
    assert [e.type for e in listed.events] == ["test.while_down"]
    conn = system.cluster.connect()
    deadline = time.time() + 5
    published = None
    while time.time() < deadline:
        with conn.cursor() as cur:
            cur.execute("SELECT published_at IS NOT NULL FROM publisher.outbox WHERE seq = %s", (seq,))
            published = cur.fetchone()[0]
        if published:
            break
        time.sleep(0.2)
    conn.close()
    sub.close()
    assert published


def test_requests_in_savepoints_with_their_lead(system):
    # A batch's requests, each in a savepoint of its own, with the
    # savepoint, the request id's lock and its lookup sent ahead of the
    # handler's first statement (tsr_db_savepoint_lead): a request found
    # answered before, or whose statement fails, is undone alone; one whose
    # statement cannot even be prepared ends the whole transaction instead
    # of rolling back to the previous request's savepoint. The probe checks
    # each step's results; the events kept say what was committed.
    service = system.services["mail"]
    subprocess.run([str(PROBE), "savepoint-lead", service.dsn, service.name, "test.lead"],
                   check=True)
    types = {e.type for e in list_events(system, "mail", 0).events}
    kept = {t for t in types if t.startswith("test.lead.")}
    assert kept == {"test.lead.a", "test.lead.b", "test.lead.e"}, kept
