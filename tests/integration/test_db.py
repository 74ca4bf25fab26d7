"""State: one schema and one role per service, migrations, the audit chain."""
import json
import subprocess

import psycopg2
import pytest

from tsrtest import PROBE, SERVICES


def test_each_service_role_reads_only_its_own_schema(system):
    ca = system.services["ca"]
    conn = system.cluster.connect(ca.dsn)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM ca.bus_requests")       # its own: fine
        for other in SERVICES:
            if other == "ca":
                continue
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute(f"SELECT count(*) FROM {other}.bus_requests")
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("CREATE TABLE public.sneaky (x int)")
    conn.close()


def test_migrations_recorded_once_and_rerun_is_a_no_op(system):
    conn = system.cluster.connect()
    with conn.cursor() as cur:
        cur.execute("SELECT component, version, name FROM perso.schema_migrations ORDER BY 1, 2")
        rows = cur.fetchall()
    assert ("common", 1, "001_bus_state.sql") in rows
    service = system.services["perso"]
    assert service.stop() == 0
    service.start()
    assert '"applied":"0"' in service.log().splitlines()[-2] + service.log()
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM perso.schema_migrations")
        assert cur.fetchone()[0] == len(rows)
    conn.close()


def test_service_role_can_only_append_to_the_audit_log(system):
    ca = system.services["ca"]
    subprocess.run([str(PROBE), "audit-append", ca.dsn, "ca", "2"], check=True)
    conn = system.cluster.connect(ca.dsn)
    with conn.cursor() as cur:
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("UPDATE ca.audit_log SET actor = 'me'")
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("DELETE FROM ca.audit_log")
    conn.close()


def test_audit_verify_names_the_first_altered_row(system):
    ca = system.services["revocation"]
    subprocess.run([str(PROBE), "audit-append", ca.dsn, "revocation", "5"], check=True)
    result = system.cli("--json", "audit", "verify", "--service", "revocation")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["intact"] and report["rows_checked"] >= 5

    # A superuser edits row 3 behind the service's back (triggers bypassed).
    conn = system.cluster.connect()
    with conn.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        cur.execute("UPDATE revocation.audit_log SET actor = 'mallory' WHERE seq = 3")
    conn.close()
    result = system.cli("--json", "audit", "verify", "--service", "revocation")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert not report["intact"]
    assert report["first_broken_seq"] == 3
    assert report["rows_checked"] == 2
    assert "hash" in report["reason"]

    # The human form says the same.
    result = system.cli("audit", "verify", "--service", "revocation")
    assert result.returncode == 1 and "BROKEN  at row 3" in result.stdout


def test_audit_verify_detects_a_deleted_row(system):
    svc = system.services["mail"]
    subprocess.run([str(PROBE), "audit-append", svc.dsn, "mail", "4"], check=True)
    conn = system.cluster.connect()
    with conn.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        cur.execute("DELETE FROM mail.audit_log WHERE seq = 2")
    conn.close()
    report = json.loads(system.cli("--json", "audit", "verify", "--service", "mail").stdout)
    assert report["first_broken_seq"] == 2 and "gap" in report["reason"]


def test_audit_verify_sees_one_snapshot_while_rows_are_appended(system):
    # The fault test once saw a sound chain reported cut short: verify read
    # the rows, the service appended, then verify read the head. Verifying
    # while a writer appends must find the chain intact every time.
    svc = system.services["validation"]
    writer = subprocess.Popen([str(PROBE), "audit-append", svc.dsn, "validation", "4000"])
    verdicts = []
    try:
        while writer.poll() is None:
            result = system.cli("--json", "audit", "verify", "--service", "validation")
            verdicts.append((result.returncode, result.stdout.strip()))
    finally:
        writer.wait()
    assert writer.returncode == 0
    assert len(verdicts) >= 3, "the writer finished before verify could run beside it"
    assert [v for v in verdicts if v[0] != 0] == []


def test_audit_appends_from_several_writers_chain_in_order(system):
    # An append is one statement: PostgreSQL hashes the row under the head's
    # lock, and verify recomputes the hash in C. Writers racing for the head,
    # with actors outside ASCII (the hash takes the client's bytes), must
    # leave one chain that verifies to the last row.
    svc = system.services["enrollment"]
    conn = system.cluster.connect()
    with conn.cursor() as cur:
        cur.execute("SELECT seq FROM enrollment.audit_head")
        before = cur.fetchone()[0]
    writers = [subprocess.Popen([str(PROBE), "audit-append", svc.dsn, "enrollment", "150",
                                 f"opérateur-{n}-✓"]) for n in range(3)]
    for writer in writers:
        writer.wait()
    assert [w.returncode for w in writers] == [0, 0, 0]
    report = json.loads(system.cli("--json", "audit", "verify", "--service", "enrollment").stdout)
    assert report["intact"], report
    assert report["rows_checked"] == before + 450
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM enrollment.audit_log WHERE actor LIKE 'opérateur-%-✓'")
        assert cur.fetchone()[0] == 450
        # The head's previous link is the last row's.
        cur.execute("SELECT h.prev_hash = l.prev_hash AND h.row_hash = l.row_hash"
                    " FROM enrollment.audit_head h JOIN enrollment.audit_log l USING (seq)")
        assert cur.fetchone()[0] is True
    conn.close()
