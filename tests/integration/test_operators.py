"""Operators and roles: the bootstrap security officer, AddOperator,
GrantRole, RevokeRole, DisableOperator, GetOperator and ListOperators over
the bus and through `tessera operator`, the RGS ** incompatible pairs, bus
refusals audited by the service that refuses, and roles resolved by another
service (ca asks enrollment). Real PostgreSQL, real processes."""
import json
import secrets
import threading
import time

import pytest
import zmq

from tessera.v1 import ca_pb2, enrollment_pb2, envelope_pb2, events_pb2
from tsrtest import System, read_cert

OK = envelope_pb2.STATUS_OK
INVALID = envelope_pb2.STATUS_INVALID_ARGUMENT
DENIED = envelope_pb2.STATUS_PERMISSION_DENIED
PRECONDITION = envelope_pb2.STATUS_FAILED_PRECONDITION
NOT_FOUND = envelope_pb2.STATUS_NOT_FOUND
EXISTS = envelope_pb2.STATUS_ALREADY_EXISTS

ROLES = {
    "agent": 1, "service-desk": 2, "entry": 3, "validation": 4, "perso": 5,
    "activation-code": 6, "shipping": 7, "revocation": 8, "system-engineer": 9,
    "security-officer": 10, "controller": 11, "custodian": 12, "recovery-officer": 13,
}
NAMES = {value: name for name, value in ROLES.items()}
# What a role client in another service keeps an answer: short, so a
# revocation is seen by ca within the test.
CACHE_MS = 300
# ListOperators' page cap (ENROLLMENT_OPERATOR_LIST_MAX).
PAGE_MAX = 100


@pytest.fixture(scope="module")
def system():
    s = System()
    s.service_env["ca"] = {"TSR_ROLE_CACHE_MS": str(CACHE_MS)}
    try:
        s.start(["enrollment", "ca"])
    except BaseException:
        s.stop()
        raise
    yield s
    s.stop()


def key_of(system, identity):
    return read_cert(system.keys / f"{identity}.cert")[0]


def fresh_key():
    """A CURVE public key nobody registered (the secret is not needed)."""
    public, _ = zmq.curve_keypair()
    return public.decode()


def call(system, method, message, identity="officer", service="enrollment", request_id=None):
    client = system.client(service, identity)
    try:
        reply, raw = client.call(method, message.SerializeToString(), request_id=request_id,
                                 timeout=10.0)
    finally:
        client.close()
    assert reply is not None, f"{method}: no reply"
    return reply


def operator_of(reply):
    assert reply.status == OK, reply.status_message
    return enrollment_pb2.Operator.FromString(reply.payload)


def add(system, name, key, *roles, identity="officer", **fields):
    request = enrollment_pb2.AddOperatorRequest(
        name=name, public_key=key, roles=[ROLES[r] if isinstance(r, str) else r for r in roles],
        **fields)
    return call(system, "AddOperator", request, identity=identity)


def grant(system, operator_id, role, identity="officer"):
    return call(system, "GrantRole", enrollment_pb2.GrantRoleRequest(
        operator_id=operator_id, role=ROLES[role]), identity=identity)


def revoke(system, operator_id, role, reason="", identity="officer"):
    return call(system, "RevokeRole", enrollment_pb2.RevokeRoleRequest(
        operator_id=operator_id, role=ROLES[role], reason=reason), identity=identity)


def get(system, identity="officer", **by):
    return call(system, "GetOperator", enrollment_pb2.GetOperatorRequest(**by), identity=identity)


def rows(system, sql, *params):
    conn = system.cluster.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def snapshot(system):
    """Everything a refused change must leave as it was."""
    return rows(system, "SELECT (SELECT count(*) FROM enrollment.operators),"
                        " (SELECT count(*) FROM enrollment.operator_changes),"
                        " (SELECT max(seq) FROM enrollment.audit_log),"
                        " (SELECT count(*) FROM enrollment.outbox),"
                        " (SELECT md5(string_agg(o::text, '' ORDER BY operator_id))"
                        "  FROM enrollment.operators o)")[0]


def role_names(operator):
    return sorted(NAMES[r] for r in operator.roles)


def cli_json(system, *args, identity="officer"):
    result = system.cli("--json", *args, identity=identity)
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result, lines


@pytest.fixture(scope="module")
def officer(system):
    """The bootstrap officer's Operator, registered by its first call."""
    return operator_of(get(system, public_key=key_of(system, "officer")))


def test_the_bootstrap_officer_is_registered_once_and_audited(system, officer):
    key = key_of(system, "officer")
    assert officer.name == "bootstrap security officer"
    assert role_names(officer) == ["security-officer"]
    assert officer.public_key == key and not officer.disabled
    assert officer.created_by_operator_id == "system"
    # More calls, several workers: still one operator, one bootstrap row.
    for _ in range(5):
        assert get(system, public_key=key).status == OK
    assert rows(system, "SELECT count(*) FROM enrollment.operators WHERE public_key = %s",
                key) == [(1,)]
    audit = rows(system, "SELECT actor, subject, details FROM enrollment.audit_log"
                         " WHERE action = 'operator.bootstrapped'")
    assert len(audit) == 1
    actor, subject, details = audit[0]
    assert (actor, subject) == ("system", officer.operator_id)
    assert json.loads(details)["public_key"] == key
    events = rows(system, "SELECT type, payload FROM enrollment.outbox WHERE subject = %s",
                  officer.operator_id)
    assert [t for t, _ in events] == ["operator.added"]
    changed = enrollment_pb2.OperatorChanged.FromString(bytes(events[0][1]))
    assert changed.public_key == key
    assert list(changed.roles) == [ROLES["security-officer"]]
    assert changed.changed_by_operator_id == "system"


def test_add_operators_with_compatible_roles(system, officer):
    key = key_of(system, "operator")
    added = operator_of(add(system, "Odile Opérateur", key, "entry", "agent",
                            email="odile.operateur@example.fr", language="en"))
    assert added.operator_id.startswith("op-") and len(added.operator_id) == 19
    assert role_names(added) == ["agent", "entry"]
    assert (added.name, added.email, added.language) == (
        "Odile Opérateur", "odile.operateur@example.fr", "en")
    assert added.created_by_operator_id == officer.operator_id
    assert added.created_at_unix > 0 and not added.disabled
    assert operator_of(get(system, operator_id=added.operator_id)) == added
    actor, details = rows(system, "SELECT actor, details FROM enrollment.audit_log"
                                  " WHERE action = 'operator.added' AND subject = %s",
                          added.operator_id)[0]
    assert actor == key_of(system, "officer")
    assert json.loads(details)["roles"] == "agent, entry"
    (payload,), = rows(system, "SELECT payload FROM enrollment.outbox"
                               " WHERE type = 'operator.added' AND subject = %s",
                       added.operator_id)
    changed = enrollment_pb2.OperatorChanged.FromString(bytes(payload))
    assert sorted(changed.roles) == [ROLES["agent"], ROLES["entry"]]
    assert changed.changed_by_operator_id == officer.operator_id
    # The language defaults to fr; no role at all is allowed (granted later).
    quiet = operator_of(add(system, "Quentin", fresh_key()))
    assert quiet.language == "fr" and list(quiet.roles) == []
    # A service's own key: no roles.
    service = operator_of(add(system, "portal key", fresh_key(), service_name="portal"))
    assert service.service_name == "portal" and list(service.roles) == []
    assert add(system, "perso key", fresh_key(), "perso", service_name="perso").status == INVALID
    assert add(system, "x", fresh_key(), service_name="enrollmentx").status == INVALID


def test_the_same_request_id_adds_once(system, officer):
    request = enrollment_pb2.AddOperatorRequest(name="Idem Potent", public_key=fresh_key(),
                                                roles=[ROLES["shipping"]])
    client = system.client("enrollment", "officer")
    first, first_raw = client.call("AddOperator", request.SerializeToString(),
                                   request_id="op-idem-1")
    second, second_raw = client.call("AddOperator", request.SerializeToString(),
                                     request_id="op-idem-1")
    client.close()
    assert first.status == OK and second_raw == first_raw
    assert rows(system, "SELECT count(*) FROM enrollment.operators WHERE public_key = %s",
                request.public_key) == [(1,)]


INCOMPATIBLE = [
    ("security-officer", "system-engineer"),
    ("controller", "entry"),
    ("security-officer", "entry"),
    ("system-engineer", "validation"),
    ("custodian", "entry"),
]


@pytest.mark.parametrize("first,second", INCOMPATIBLE)
def test_incompatible_roles_are_refused_at_level_2_and_nothing_is_stored(system, officer,
                                                                          first, second):
    before = snapshot(system)
    key = fresh_key()
    for pair in ((first, second), (second, first)):
        reply = add(system, "Mixed Roles", key, *pair)
        assert reply.status == PRECONDITION, reply.status_message
        assert "level 2" in reply.status_message
    assert snapshot(system) == before
    assert rows(system, "SELECT count(*) FROM enrollment.operators WHERE public_key = %s",
                key) == [(0,)]
    # Granting the second role to a holder of the first is refused the same way.
    holder = operator_of(add(system, f"Holder of {first}", key, first))
    before = snapshot(system)
    reply = grant(system, holder.operator_id, second)
    assert reply.status == PRECONDITION
    assert "refused at level 2" in reply.status_message
    assert snapshot(system) == before
    assert role_names(operator_of(get(system, operator_id=holder.operator_id))) == [first]


def test_grant_then_revoke_with_history_audit_and_events(system, officer):
    bob = system.add_operator("bob", "entry")
    granted = operator_of(grant(system, bob, "agent"))
    assert role_names(granted) == ["agent", "entry"]
    assert granted.updated_at_unix >= granted.created_at_unix
    revoked = operator_of(revoke(system, bob, "entry", reason="moved to the client desk"))
    assert role_names(revoked) == ["agent"]
    history = rows(system, "SELECT change, role, roles_after, reason, changed_by, changed_by_key"
                           " FROM enrollment.operator_changes WHERE operator_id = %s"
                           " ORDER BY change_seq", bob)
    officer_key = key_of(system, "officer")
    assert history == [
        ("added", None, 1 << 3, "", officer.operator_id, officer_key),
        ("role_granted", 1, (1 << 3) | (1 << 1), "", officer.operator_id, officer_key),
        ("role_revoked", 3, 1 << 1, "moved to the client desk", officer.operator_id,
         officer_key),
    ]
    audit = rows(system, "SELECT actor, action, details FROM enrollment.audit_log"
                         " WHERE subject = %s ORDER BY seq", bob)
    assert [a for _, a, _ in audit] == ["operator.added", "operator.role_granted",
                                        "operator.role_revoked"]
    assert all(actor == officer_key for actor, _, _ in audit)
    assert json.loads(audit[2][2])["reason"] == "moved to the client desk"
    events = rows(system, "SELECT type, payload FROM enrollment.outbox WHERE subject = %s"
                          " ORDER BY seq", bob)
    assert [t for t, _ in events] == ["operator.added", "operator.role_granted",
                                      "operator.role_revoked"]
    last = enrollment_pb2.OperatorChanged.FromString(bytes(events[-1][1]))
    assert list(last.roles) == [ROLES["agent"]] and not last.disabled
    # The events reach subscribers through ListEvents too.
    after = rows(system, "SELECT min(seq) - 1 FROM enrollment.outbox WHERE subject = %s", bob)[0][0]
    listed = events_pb2.ListEventsReply.FromString(call(
        system, "ListEvents", events_pb2.ListEventsRequest(after_seq=after, limit=3)).payload)
    assert [e.type for e in listed.events][:1] == ["operator.added"]

    before = snapshot(system)
    assert revoke(system, bob, "entry").status == PRECONDITION       # not held
    assert grant(system, bob, "agent").status == PRECONDITION        # held already
    reply = grant(system, officer.operator_id, "controller")          # oneself
    assert reply.status == PRECONDITION and "own roles" in reply.status_message
    reply = revoke(system, officer.operator_id, "security-officer")
    assert reply.status == PRECONDITION
    assert grant(system, "op-0000000000000000", "agent").status == NOT_FOUND
    assert grant(system, "bob", "agent").status == INVALID            # not an id
    reply = call(system, "GrantRole", enrollment_pb2.GrantRoleRequest(operator_id=bob, role=14))
    assert reply.status == INVALID
    reply = call(system, "GrantRole", enrollment_pb2.GrantRoleRequest(operator_id=bob))
    assert reply.status == INVALID
    assert revoke(system, bob, "agent", reason="bad\nreason").status == INVALID
    assert snapshot(system) == before


def test_a_disabled_operator_is_refused_everywhere(system, officer):
    carol = system.add_operator("carol", "controller")
    listing = enrollment_pb2.ListOperatorsRequest()
    assert call(system, "ListOperators", listing, identity="carol").status == OK
    before = snapshot(system)
    reply = call(system, "DisableOperator", enrollment_pb2.DisableOperatorRequest(
        operator_id=carol))
    assert reply.status == INVALID                                   # a reason is required
    reply = call(system, "DisableOperator", enrollment_pb2.DisableOperatorRequest(
        operator_id=officer.operator_id, reason="leaving"))
    assert reply.status == PRECONDITION                              # not oneself
    assert snapshot(system) == before
    disabled = operator_of(call(system, "DisableOperator", enrollment_pb2.DisableOperatorRequest(
        operator_id=carol, reason="left the company")))
    assert disabled.disabled and role_names(disabled) == ["controller"]
    reply = call(system, "ListOperators", listing, identity="carol")
    assert reply.status == DENIED
    assert "holds: none" in reply.status_message
    # The record stays, disabled; nothing more can be done to it, and the key
    # can not come back as a new operator.
    assert operator_of(get(system, operator_id=carol)).disabled
    before = snapshot(system)
    assert grant(system, carol, "controller").status == PRECONDITION
    assert call(system, "DisableOperator", enrollment_pb2.DisableOperatorRequest(
        operator_id=carol, reason="again")).status == PRECONDITION
    reply = add(system, "Carol again", key_of(system, "carol"), "controller")
    assert reply.status == EXISTS and "disabled" in reply.status_message
    assert snapshot(system) == before
    (payload,), = rows(system, "SELECT payload FROM enrollment.outbox"
                               " WHERE type = 'operator.disabled' AND subject = %s", carol)
    assert enrollment_pb2.OperatorChanged.FromString(bytes(payload)).disabled


def test_a_caller_without_the_role_is_refused_and_audited(system, officer):
    client_key = key_of(system, "client")
    before = snapshot(system)[:2]
    reply = add(system, "Mallory", fresh_key(), "security-officer", identity="client")
    assert reply.status == DENIED
    assert "AddOperator needs one of the roles: security-officer" in reply.status_message
    assert snapshot(system)[:2] == before
    audit = rows(system, "SELECT actor, subject, details FROM enrollment.audit_log"
                         " WHERE action = 'bus.permission_denied' ORDER BY seq DESC LIMIT 1")
    actor, subject, details = audit[0]
    assert (actor, subject) == (client_key, "AddOperator")
    assert json.loads(details)["held"] == "none"
    # An entry operator is refused too, and may not read the operators.
    assert get(system, identity="operator", public_key=client_key).status == DENIED
    assert call(system, "ListOperators", enrollment_pb2.ListOperatorsRequest(),
                identity="operator").status == DENIED


def test_get_operator_for_services_and_its_input_rules(system, officer):
    # ca's own key (the keyring's ca.cert) reads operators: that is how ca
    # resolves its callers' roles.
    reply = get(system, identity="ca", public_key=key_of(system, "officer"))
    assert operator_of(reply).operator_id == officer.operator_id
    assert get(system, identity="ca", public_key=key_of(system, "client")).status == NOT_FOUND
    assert get(system).status == INVALID                                   # neither
    assert get(system, operator_id=officer.operator_id,
               public_key=officer.public_key).status == INVALID            # both
    assert get(system, public_key="x" * 39).status == INVALID
    assert get(system, operator_id="op-'; DROP TABLE operators").status == INVALID


def test_list_operators_filters_and_pages(system, officer):
    listed, token, pages = [], "", 0
    while True:
        reply = call(system, "ListOperators", enrollment_pb2.ListOperatorsRequest(
            limit=2, page_token=token, include_disabled=True))
        page = enrollment_pb2.ListOperatorsReply.FromString(reply.payload)
        assert len(page.operators) <= 2
        listed += page.operators
        pages += 1
        token = page.next_page_token
        if not token:
            break
    ids = [o.operator_id for o in listed]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert len(ids) == rows(system, "SELECT count(*) FROM enrollment.operators")[0][0]
    assert pages >= 2
    enabled = enrollment_pb2.ListOperatorsReply.FromString(call(
        system, "ListOperators", enrollment_pb2.ListOperatorsRequest()).payload)
    assert all(not o.disabled for o in enabled.operators)
    assert len(enabled.operators) < len(ids)                     # carol is disabled
    officers = enrollment_pb2.ListOperatorsReply.FromString(call(
        system, "ListOperators", enrollment_pb2.ListOperatorsRequest(
            role=ROLES["security-officer"])).payload)
    assert officer.operator_id in [o.operator_id for o in officers.operators]
    assert all(ROLES["security-officer"] in o.roles for o in officers.operators)
    for bad in (enrollment_pb2.ListOperatorsRequest(role=14),
                enrollment_pb2.ListOperatorsRequest(page_token="' OR 1=1 --")):
        assert call(system, "ListOperators", bad).status == INVALID
    # Over the cap: at most 100 per page.
    reply = call(system, "ListOperators", enrollment_pb2.ListOperatorsRequest(limit=100000))
    assert reply.status == OK


BAD_NAMES = [
    ("nul", "Alice\x00Admin"),          # C would read "Alice"
    ("newline", "Alice\nAdmin"),
    ("tab", "Alice\tAdmin"),
    ("escape", "Alice\x1b[31m"),
    ("delete", "Alice\x7f"),
    ("c1 control", "Alice\u0085"),
    ("bidi override", "Alice\u202eeciR"),
    ("129 characters", "a" * 129),
    ("empty", ""),
    ("leading space", " Alice"),
]


@pytest.mark.parametrize("case,name", BAD_NAMES, ids=[c for c, _ in BAD_NAMES])
def test_bad_names_are_refused_and_nothing_is_stored(system, officer, case, name):
    before = snapshot(system)
    reply = add(system, name, fresh_key(), "agent")
    assert reply.status == INVALID, case
    assert ("must not hold NUL" if "\x00" in name
            else "name must be 1 to 128 printable characters") in reply.status_message
    assert snapshot(system) == before


BAD_FIELDS = [
    ("key of 39 characters", {"public_key": "a" * 39}, "public_key"),
    ("key of 41 characters", {"public_key": "a" * 41}, "public_key"),
    ("key outside Z85", {"public_key": "a" * 39 + "~"}, "public_key"),
    ("key over 32 bits a group", {"public_key": "#" * 40}, "public_key"),
    ("email without a domain", {"email": "odile@localhost"}, "email"),
    ("email with a space", {"email": "odile @example.fr"}, "email"),
    ("email too long", {"email": "a" * 120 + "@example.fr"}, "email"),
    ("language", {"language": "de"}, "language"),
    ("unknown service", {"service_name": "printer"}, "service_name"),
]


@pytest.mark.parametrize("case,fields,words", BAD_FIELDS, ids=[c for c, _, _ in BAD_FIELDS])
def test_bad_fields_are_refused_and_nothing_is_stored(system, officer, case, fields, words):
    before = snapshot(system)
    request = dict(name="Valid Name", public_key=fresh_key())
    request.update(fields)
    reply = call(system, "AddOperator", enrollment_pb2.AddOperatorRequest(
        roles=[ROLES["agent"]], **request))
    assert reply.status == INVALID, case
    assert words in reply.status_message
    assert snapshot(system) == before


def test_bad_roles_and_duplicate_keys_are_refused(system, officer):
    before = snapshot(system)
    for roles in ([14], [0], [ROLES["agent"], ROLES["agent"]]):
        reply = call(system, "AddOperator", enrollment_pb2.AddOperatorRequest(
            name="Role Test", public_key=fresh_key(), roles=roles))
        assert reply.status == INVALID, roles
    reply = add(system, "Officer twin", key_of(system, "officer"), "agent")
    assert reply.status == EXISTS and officer.operator_id in reply.status_message
    # The CLI refuses a role name it does not know before calling.
    result, lines = cli_json(system, "operator", "add", "--name", "X", "--cert",
                             str(system.keys / "intruder.cert"), "--role", "boss")
    assert result.returncode == 2 and lines[0]["ok"] is False
    assert "unknown role" in lines[0]["error"]
    assert snapshot(system) == before


def test_sql_metacharacters_and_unicode_are_stored_literally(system, officer):
    names = ["O'Brien; DROP TABLE operators", 'Robert"); DELETE FROM audit_log; --',
             "back\\slash $1 %s", "é" * 128]
    for name in names:
        added = operator_of(add(system, name, fresh_key(), "agent"))
        assert operator_of(get(system, operator_id=added.operator_id)).name == name
        assert rows(system, "SELECT name FROM enrollment.operators WHERE operator_id = %s",
                    added.operator_id) == [(name,)]
    assert rows(system, "SELECT to_regclass('enrollment.operators') IS NOT NULL") == [(True,)]


def test_cli_manages_operators_with_json_and_tables(system, officer):
    result, (added,) = cli_json(system, "operator", "add", "--name", "Alice Custodian",
                                "--cert", str(system.keys / "alice.cert"),
                                "--email", "alice@example.fr", "--language", "en")
    assert result.returncode == 0, result.stderr
    assert added["ok"] is True and added["roles"] == [] and added["language"] == "en"
    assert added["public_key"] == key_of(system, "alice")
    alice = added["operator_id"]
    result, (shown,) = cli_json(system, "operator", "show", "--cert",
                                str(system.keys / "alice.cert"))
    assert result.returncode == 0 and shown["operator_id"] == alice
    result, (granted,) = cli_json(system, "operator", "grant", alice, "custodian")
    assert result.returncode == 0 and granted["roles"] == ["custodian"]
    result, lines = cli_json(system, "operator", "list", "--role", "custodian")
    assert result.returncode == 0
    assert alice in [line["operator_id"] for line in lines]
    assert all(line["roles"] == ["custodian"] for line in lines)
    result, lines = cli_json(system, "operator", "list", "--all")
    assert any(line["disabled"] for line in lines)
    assert len(lines) == rows(system, "SELECT count(*) FROM enrollment.operators")[0][0]
    # Tables for people.
    result = system.cli("operator", "list", "--role", "custodian", identity="officer")
    assert result.returncode == 0
    header, *table = result.stdout.splitlines()
    assert header.split()[:3] == ["OPERATOR", "STATE", "PUBLIC"]
    row, = [line for line in table if line.startswith(alice)]
    assert "custodian" in row and "Alice Custodian" in row and "enabled" in row
    result = system.cli("operator", "show", alice, identity="officer")
    assert result.returncode == 0 and "roles       custodian" in result.stdout
    # Errors: the service's status and message, exit 1; usage, exit 2.
    result, (error,) = cli_json(system, "operator", "show", "op-0000000000000000")
    assert result.returncode == 1
    assert (error["ok"], error["error"]) == (False, "NOT_FOUND")
    result, (error,) = cli_json(system, "operator", "grant", alice, "custodian",
                                identity="client")
    assert result.returncode == 1 and error["error"] == "PERMISSION_DENIED"
    assert system.cli("operator", "disable", alice, identity="officer").returncode == 2
    assert system.cli("operator", "frobnicate", identity="officer").returncode == 2
    result, (revoked,) = cli_json(system, "operator", "revoke", alice, "custodian",
                                  "--reason", "test")
    assert result.returncode == 0 and revoked["roles"] == []
    assert cli_json(system, "operator", "grant", alice, "custodian")[0].returncode == 0


def test_another_service_resolves_roles_from_enrollment(system, officer):
    alice = operator_of(get(system, public_key=key_of(system, "alice")))
    assert role_names(alice) == ["custodian"]
    status = ca_pb2.GetActivationStatusRequest()
    reply = call(system, "GetActivationStatus", status, identity="alice", service="ca")
    assert reply.status == OK, reply.status_message
    reply = call(system, "GetActivationStatus", status, identity="client", service="ca")
    assert reply.status == DENIED
    actor, details = rows(system, "SELECT actor, details FROM ca.audit_log"
                                  " WHERE action = 'bus.permission_denied'"
                                  " AND subject = 'GetActivationStatus'"
                                  " ORDER BY seq DESC LIMIT 1")[0]
    assert actor == key_of(system, "client")
    assert "custodian" in json.loads(details)["needed"]
    # A revoked role stops working in ca once its cache entry expires.
    assert revoke(system, alice.operator_id, "custodian", reason="rotation").status == OK
    time.sleep(CACHE_MS / 1000 + 0.3)
    reply = call(system, "GetActivationStatus", status, identity="alice", service="ca")
    assert reply.status == DENIED
    assert grant(system, alice.operator_id, "custodian").status == OK


def test_the_audit_chains_verify(system, officer):
    for service in ("enrollment", "ca"):
        result = system.cli("--json", "audit", "verify", "--service", service)
        assert result.returncode == 0, result.stdout + result.stderr
        verified = json.loads(result.stdout.splitlines()[0])
        assert verified["intact"] is True and verified["rows_checked"] > 0


def test_cli_lists_every_page_of_operators_once(system, officer):
    """Past PAGE_MAX operators `tessera operator list` takes several pages
    (cli_call_pages): every operator is printed once, in both forms."""
    have = rows(system, "SELECT count(*) FROM enrollment.operators")[0][0]
    for i in range(max(0, 2 * PAGE_MAX + 1 - have)):       # three pages
        reply = add(system, f"Pager {i:03d}", fresh_key())
        assert reply.status == OK, reply.status_message
    expected = sorted(r[0] for r in rows(system, "SELECT operator_id FROM enrollment.operators"))
    assert len(expected) > 2 * PAGE_MAX
    result, lines = cli_json(system, "operator", "list", "--all")
    assert result.returncode == 0, result.stderr
    assert sorted(line["operator_id"] for line in lines) == expected
    result = system.cli("operator", "list", "--all", identity="officer")
    assert result.returncode == 0, result.stderr
    header, *table = result.stdout.splitlines()
    assert header.split()[0] == "OPERATOR"
    assert sorted(line.split()[0] for line in table) == expected


def test_cli_stops_when_a_service_repeats_its_page_token(system):
    """The real services' tokens always move; this stand-in for enrollment
    (its key, another port) answers the same token twice. The CLI prints
    both pages and stops with an error instead of listing for ever."""
    public, secret = read_cert(system.services["enrollment"].cert)
    context = zmq.Context()
    router = context.socket(zmq.ROUTER)
    router.curve_server = True
    router.curve_publickey, router.curve_secretkey = public.encode(), secret.encode()
    router.linger = 0
    port = router.bind_to_random_port("tcp://127.0.0.1")
    asked, running = [], [True]

    def serve():
        while running[0]:
            if not router.poll(100):
                continue
            identity, frame = router.recv_multipart()
            request = envelope_pb2.Envelope.FromString(frame)
            asked.append(enrollment_pb2.ListOperatorsRequest.FromString(
                request.payload).page_token)
            page = enrollment_pb2.ListOperatorsReply(next_page_token="op-again")
            page.operators.add(operator_id=f"op-{len(asked):016x}", name="Stand In",
                               public_key=fresh_key())
            reply = envelope_pb2.Envelope(
                message_id=secrets.token_hex(16), request_id=request.request_id,
                trace_id=request.trace_id, method=request.method, is_reply=True,
                sent_at_unix_ms=int(time.time() * 1000), status=OK,
                payload=page.SerializeToString())
            router.send_multipart([identity, reply.SerializeToString()])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        result = system.cli("--json", "operator", "list", identity="officer",
                            env={"TSR_ENROLLMENT_ENDPOINT": f"tcp://127.0.0.1:{port}"})
    finally:
        running[0] = False
        thread.join()
        context.destroy(0)
    assert result.returncode == 1
    assert result.stderr == "tessera: the service repeated its page token: op-again\n"
    assert asked == ["", "op-again"]
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line.get("operator_id") for line in lines[:2]] == [f"op-{1:016x}", f"op-{2:016x}"]
    assert lines[2] == {"ok": False, "error": "the service repeated its page token",
                        "detail": "op-again"}
