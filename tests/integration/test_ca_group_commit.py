"""IssueCertificate requests waiting together at a ca worker share one
commit (TSR_METHOD_BATCHED), each in a savepoint of its own.

Requests are sent back to back on one connection, so the broker hands each
of the three workers several at once. What must hold whatever the grouping:
a refusal undoes only its own statements; every reply is sent after the
commit that makes it true; a commit that fails answers every request of its
transaction UNAVAILABLE and keeps none of them; a retry under the same
request id gets the stored reply or, after a failed commit, issues once."""
import secrets

from cryptography import x509

from tessera.v1 import ca_pb2, envelope_pb2
from test_ca import (LEVEL2, active, ca_rows, ceremony, csr_der,  # noqa: F401
                     drop_trigger, holder_subject, insert_trigger, system)

OK = envelope_pb2.STATUS_OK
UNAVAILABLE = envelope_pb2.STATUS_UNAVAILABLE


def request(card_request_id, holder, csr=None):
    return ca_pb2.IssueCertificateRequest(
        card_request_id=card_request_id, holder_id=holder, csr_der=csr or csr_der()[0],
        use=ca_pb2.CERTIFICATE_USE_AUTHENTICATION, level=LEVEL2,
        subject=holder_subject()).SerializeToString()


def send_together(system, calls, timeout=60.0):
    """Sends every (request id, payload) at once on one connection; returns
    {request id: [reply envelope, ...]} in the order they came back."""
    client = system.client("ca", "perso")
    try:
        for request_id, payload in calls:
            envelope = envelope_pb2.Envelope(
                message_id=secrets.token_hex(16), request_id=request_id,
                trace_id=secrets.token_hex(8), method="IssueCertificate", payload=payload)
            client.socket.send(envelope.SerializeToString())
        replies = {}
        for _ in calls:
            assert client.socket.poll(int(timeout * 1000)), "a request got no reply"
            reply = envelope_pb2.Envelope.FromString(client.socket.recv())
            replies.setdefault(reply.request_id, []).append(reply)
        return replies
    finally:
        client.close()


def send_with_trigger(system, trigger_sql, table, trigger, calls):
    """send_together with a trigger of the ca's table in place (created by
    trigger_sql, dropped afterwards whatever happens)."""
    conn = system.cluster.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(trigger_sql)
        return send_together(system, calls)
    finally:
        with conn.cursor() as cur:
            cur.execute(drop_trigger(table, trigger))
        conn.close()


def group_counts(system):
    """(requests committed, transactions, latencies observed) of
    IssueCertificate, from /metrics."""
    samples = system.services["ca"].metrics()
    method = (("method", "IssueCertificate"),)
    return tuple(int(samples.get((name, method), 0))
                 for name in ("tessera_bus_group_committed_total",
                              "tessera_bus_group_commits_total",
                              "tessera_bus_request_seconds_count"))


def stored(system, prefix):
    """{card request id: serial} of the certificates issued, and the request
    ids with a stored reply, for ids starting with prefix."""
    certs = dict(ca_rows(system, "SELECT card_request_id, serial_hex FROM ca.certificates"
                                 " WHERE card_request_id LIKE %s", prefix + "%"))
    replies = {r[0] for r in ca_rows(system, "SELECT request_id FROM ca.bus_requests"
                                             " WHERE request_id LIKE %s", prefix + "%")}
    return certs, replies


def test_requests_sent_together_share_commits_and_refusals_stay_alone(system, active):
    before = group_counts(system)
    good = [(f"gc-{i}", request(f"gc-{i}", f"h-gc-{i}")) for i in range(36)]
    # Refused by the ca (a CSR that does not decode): nothing of theirs stays,
    # and the requests around them in the same transaction are kept.
    bad = [(f"gc-bad-{i}", request(f"gc-bad-{i}", f"h-gc-bad-{i}", csr=b"\x30\x03\x02\x01\x00"))
           for i in range(6)]
    calls = []
    for i, call in enumerate(good):
        calls.append(call)
        if i % 6 == 2:
            calls.append(bad[i // 6])
    replies = send_together(system, calls)

    after = group_counts(system)
    committed, commits = after[0] - before[0], after[1] - before[1]
    # Every request answered once, and the three workers grouped some;
    # each latency observed once, when its reply was sent.
    assert sorted(replies) == sorted(r for r, _ in calls)
    assert all(len(v) == 1 for v in replies.values())
    assert commits < committed, (committed, commits)
    assert committed == after[2] - before[2] == len(calls)

    certs, kept = stored(system, "gc-")
    for request_id, _ in bad:
        reply = replies[request_id][0]
        assert reply.status == envelope_pb2.STATUS_INVALID_ARGUMENT, reply.status_message
        assert request_id not in certs and request_id not in kept
    serials = set()
    for request_id, _ in good:
        reply = replies[request_id][0]
        assert reply.status == OK, (request_id, reply.status_message)
        record = ca_pb2.IssueCertificateReply.FromString(reply.payload).certificate
        assert certs[request_id] == record.serial_hex and request_id in kept
        serials.add(record.serial_hex)
        cert = x509.load_der_x509_certificate(record.certificate_der)
        assert format(cert.serial_number, "x").zfill(len(record.serial_hex)) == record.serial_hex
    assert len(serials) == len(good)

    # Each certificate has its audit row and event; the chain verifies.
    audited = {r[0] for r in ca_rows(system, "SELECT subject FROM ca.audit_log"
                                             " WHERE action = 'ca.certificate_issued'")}
    events = {r[0] for r in ca_rows(system, "SELECT subject FROM ca.outbox"
                                            " WHERE type = 'certificate.issued'")}
    assert serials <= audited and serials <= events
    result = system.cli("audit", "verify", "--service", "ca", identity="officer")
    assert result.returncode == 0, result.stderr

    # Copies sent together with others: each gets the first reply's payload,
    # and nothing is issued twice.
    again = send_together(system, good[:12] + [(f"gc-new-{i}", request(f"gc-new-{i}",
                                                                      f"h-gc-new-{i}"))
                                               for i in range(6)])
    for request_id, _ in good[:12]:
        assert again[request_id][0].status == OK
        assert again[request_id][0].payload == replies[request_id][0].payload
    assert all(again[f"gc-new-{i}"][0].status == OK for i in range(6))
    assert len(stored(system, "gc-")[0]) == len(good) + 6

    # Inside an open transaction a request's lookup goes with its handler's
    # first statement, so the handler has run when the id turns out to be
    # answered before: a copy with another payload, or one the handler
    # refuses before any statement, is a conflict all the same, nothing is
    # issued, and no handler failure is logged for it.
    log = system.services["ca"].log_path
    log_before = log.read_text()
    mixed = []
    for i in range(6):
        mixed.append((f"gc-mix-{i}", request(f"gc-mix-{i}", f"h-gc-mix-{i}")))
        mixed.append((good[20 + i][0], request(good[20 + i][0], f"h-gc-other-{i}")
                      if i % 2 else request(good[20 + i][0], f"h-gc-{20 + i}",
                                            csr=b"\x30\x03\x02\x01\x00")))
    mixed_replies = send_together(system, mixed)
    for i in range(6):
        assert mixed_replies[f"gc-mix-{i}"][0].status == OK
        reply = mixed_replies[good[20 + i][0]][0]
        assert reply.status == envelope_pb2.STATUS_CONFLICT, (i, reply.status_message)
    assert len(stored(system, "gc-")[0]) == len(good) + 12
    assert "bus.handler_failed" not in log.read_text()[len(log_before):]


def test_a_request_id_twice_in_one_transaction(system, active):
    # Copies right behind the first on the same connection: at the same
    # worker a copy ends the open transaction first (its reply is stored by
    # that commit), at another it waits for the request id's lock; either
    # way it gets the stored reply and nothing is issued twice.
    payload = request("gc-twice", "h-gc-twice")
    other = request("gc-twice", "h-gc-twice-other")
    calls = [("gc-twice", payload)] * 3 + [("gc-twice", other)]
    replies = send_together(system, calls)["gc-twice"]
    statuses = sorted(r.status for r in replies)
    assert statuses == sorted([OK, OK, OK, envelope_pb2.STATUS_CONFLICT]), statuses
    assert len({r.payload for r in replies if r.status == OK}) == 1
    assert len(stored(system, "gc-twice")[0]) == 1


POISON = insert_trigger("audit_log", "test_poison_audit", """
    IF NEW.details LIKE '%h-gc-poison%' THEN
        RAISE EXCEPTION 'test: this audit row is refused';
    END IF;""")


def test_a_failed_commit_answers_its_whole_transaction_unavailable(system, active):
    # The audit row is written with the COMMIT: a trigger refuses one, so
    # the commit of the transaction holding it fails, and with it every
    # request it held. None of them may have been answered OK.
    calls = [(f"gc-p-{i}", request(f"gc-p-{i}", f"h-gc-p-{i}")) for i in range(20)]
    calls.insert(10, ("gc-poison", request("gc-poison", "h-gc-poison")))
    replies = send_with_trigger(system, POISON, "audit_log", "test_poison_audit", calls)

    certs, kept = stored(system, "gc-p")
    failed = [r for r, _ in calls if replies[r][0].status == UNAVAILABLE]
    assert "gc-poison" in failed
    for request_id, _ in calls:
        reply = replies[request_id][0]
        assert reply.status in (OK, UNAVAILABLE), (request_id, reply.status_message)
        if reply.status == OK:
            record = ca_pb2.IssueCertificateReply.FromString(reply.payload).certificate
            assert certs.get(request_id) == record.serial_hex and request_id in kept
        else:
            assert request_id not in certs and request_id not in kept
    assert ca_rows(system, "SELECT count(*) FROM ca.audit_log WHERE details LIKE %s",
                   "%h-gc-poison%")[0][0] == 0

    # Retried under the same ids, the failed ones are issued once; the
    # others get their stored reply.
    retried = send_together(system, calls)
    for request_id, _ in calls:
        reply = retried[request_id][0]
        assert reply.status == OK, (request_id, reply.status_message)
        if request_id not in failed:
            assert reply.payload == replies[request_id][0].payload
    certs, _ = stored(system, "gc-p")
    assert sorted(certs) == sorted(r for r, _ in calls)
    result = system.cli("audit", "verify", "--service", "ca", identity="officer")
    assert result.returncode == 0, result.stderr


REFUSE_INSERT = insert_trigger("certificates", "test_refuse_insert", """
    IF NEW.holder_id = 'h-gc-refused' THEN
        RAISE EXCEPTION 'test: this certificate row is refused';
    END IF;""")


def test_a_failed_statement_undoes_only_its_request(system, active):
    # A handler's statement fails inside the transaction (after its lookup
    # and first statement went in one round trip): its request is answered
    # UNAVAILABLE and undone; the requests around it are kept.
    calls = [(f"gc-r-{i}", request(f"gc-r-{i}", f"h-gc-r-{i}")) for i in range(12)]
    calls.insert(6, ("gc-refused", request("gc-refused", "h-gc-refused")))
    replies = send_with_trigger(system, REFUSE_INSERT, "certificates", "test_refuse_insert",
                                calls)
    certs, kept = stored(system, "gc-r")
    assert replies["gc-refused"][0].status == UNAVAILABLE
    assert "gc-refused" not in certs and "gc-refused" not in kept
    for request_id, _ in calls:
        if request_id != "gc-refused":
            assert replies[request_id][0].status == OK, replies[request_id][0].status_message
            assert request_id in certs and request_id in kept
    retried = send_together(system, [("gc-refused", dict(calls)["gc-refused"])])
    assert retried["gc-refused"][0].status == OK
