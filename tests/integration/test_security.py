"""Attack and bad input, across the seven services at once: the role gate of
every method in every service's method table (read from services/*/*.c, so a
new method is tested without editing this file), unknown CURVE keys, the
RGS ** incompatible roles through every RPC that grants roles, four eyes
through every validation RPC (a batch mixed by two entry operators too), SQL
metacharacters stored literally, and oversize envelopes. What the other files
already prove for one service (test_bus, test_operators, test_validation,
test_revocation) is not repeated here. Real PostgreSQL, real processes."""
import itertools
import re
import secrets
import shutil
import time

import pytest
import zmq

from tessera.v1 import enrollment_pb2, envelope_pb2, validation_pb2
from tsrtest import SERVICES, SOURCE, BusClient, System, keygen
# The entry operator's work at enrollment, as test_validation does it.
from test_validation import Registry, key_of, ok, rows, siret

OK = envelope_pb2.STATUS_OK
INVALID = envelope_pb2.STATUS_INVALID_ARGUMENT
DENIED = envelope_pb2.STATUS_PERMISSION_DENIED
PRECONDITION = envelope_pb2.STATUS_FAILED_PRECONDITION
E = enrollment_pb2
V = validation_pb2

ROLES = {
    "agent": 1, "service-desk": 2, "entry": 3, "validation": 4, "perso": 5,
    "activation-code": 6, "shipping": 7, "revocation": 8, "system-engineer": 9,
    "security-officer": 10, "controller": 11, "custodian": 12, "recovery-officer": 13,
}
OPERATOR_ROLES = {"agent", "service-desk", "entry", "validation", "perso", "activation-code",
                  "shipping", "revocation"}
ANY = "any"


# --- the method tables ----------------------------------------------------------

METHOD_TABLE = re.compile(r"tsr_method_t\s+\w+\s*\[\w*\]\s*=\s*\{(.*?)\n\};", re.S)
METHOD_ENTRY = re.compile(r'\{\s*"([A-Z]\w*)",\s*\w+,\s*[^,{}]+,\s*([^{}]+?)\s*\}')
DEFINE = re.compile(r'^#define\s+(S_\w+)\s+((?:[^\n]*\\\n)*[^\n]*)', re.M)


def role_names(expr, defines, where):
    """"S_ENTRY | TSR_ROLE_SERVICE" -> {"entry", "service"}; ANY for TSR_ROLES_ANY."""
    names = set()
    for token in re.findall(r"\b(?:TSR_ROLES?_\w+|S_\w+)\b", expr):
        if token == "TSR_ROLES_ANY":
            return ANY
        if token == "TSR_ROLES_OPERATOR":
            names |= OPERATOR_ROLES
            continue
        if token.startswith("S_"):
            assert token in defines, f"{where}: {token} is not defined in its file"
            found = role_names(defines[token], defines, where)
            if found == ANY:
                return ANY
            names |= found
        else:
            names.add(token[len("TSR_ROLE_"):].lower().replace("_", "-"))
    assert names, f"{where}: no role in {expr!r}"
    unknown = names - set(ROLES) - {"service"}
    assert not unknown, f"{where}: unknown roles {unknown}"
    return names


def method_tables():
    """{service: {method: set of role names or ANY}} from the sources."""
    tables = {}
    for service in SERVICES:
        table = {}
        for path in sorted((SOURCE / "services" / service).glob("*.c")):
            text = path.read_text()
            defines = {name: body.replace("\\\n", " ") for name, body in DEFINE.findall(text)}
            for body in METHOD_TABLE.findall(text):
                for method, expr in METHOD_ENTRY.findall(body):
                    table[method] = role_names(expr, defines, f"{path.name}:{method}")
        tables[service] = table
    return tables


TABLES = method_tables()


def test_the_method_tables_were_read():
    # A parse that found nothing would make the role tests below vacuous.
    for service, table in TABLES.items():
        assert len(table) >= 4, f"{service}: only {sorted(table)}"
    assert TABLES["enrollment"]["AddOperator"] == {"security-officer"}
    assert TABLES["enrollment"]["RegisterOrganisation"] == {"entry"}
    assert TABLES["validation"]["ValidateBatch"] == {"validation"}
    assert TABLES["ca"]["GetStatus"] == ANY
    assert "service" in TABLES["perso"]["ActivateCard"]


# --- the test system --------------------------------------------------------------

def role_identity(role):
    return "officer" if role == "security-officer" else f"role-{role}"


@pytest.fixture(scope="module")
def system():
    s = System()
    try:
        # One operator per role, each holding that role only: their keys are
        # in the keyring before the services read it.
        s.keys.mkdir()
        for role in ROLES:
            if role != "security-officer":
                cert = keygen(s.keys, role_identity(role))
                shutil.copy(cert, s.keyring / cert.name)
        s.start()
        for role in ROLES:
            if role != "security-officer":
                s.add_operator(role_identity(role), role)
    except BaseException:
        s.stop()
        raise
    yield s
    s.stop()


def call(system, service, method, message=None, identity="officer", request_id=None,
         timeout=30.0):
    client = system.client(service, identity)
    try:
        payload = message.SerializeToString() if message is not None else b""
        reply, _ = client.call(method, payload, request_id=request_id, timeout=timeout)
    finally:
        client.close()
    assert reply is not None, f"{service}.{method}: no reply"
    return reply


def ping(system, service):
    reply = call(system, service, "Ping", envelope_pb2.PingRequest(echo="still here"),
                 identity="client", timeout=10.0)
    return reply.status == OK


# --- the role gate of every method --------------------------------------------------

def outsiders(service, admitted):
    """The callers each method must refuse: a key in the keyring with no
    operator record, an operator of every role the method does not admit,
    another service's own key when services are not admitted."""
    callers = ["client"] + [role_identity(r) for r in ROLES if r not in admitted]
    if "service" not in admitted:
        callers.append("mail" if service == "publisher" else "publisher")
    return callers


def test_every_method_refuses_every_caller_outside_its_roles_and_audits_it(system):
    wrong = []
    expected = {}
    for service, table in TABLES.items():
        clients = {}
        expected[service] = set()
        for method, admitted in sorted(table.items()):
            if admitted == ANY:
                continue
            for caller in outsiders(service, admitted):
                if caller not in clients:
                    clients[caller] = system.client(service, caller)
                reply, _ = clients[caller].call(method, b"", request_id=f"deny-{secrets.token_hex(8)}",
                                                timeout=30.0)
                if reply is None or reply.status != DENIED \
                        or f"{method} needs one of the roles" not in reply.status_message:
                    wrong.append((service, method, caller,
                                  reply and envelope_pb2.Status.Name(reply.status)))
                expected[service].add((key_of(system, caller), method))
        for client in clients.values():
            client.close()
    assert not wrong, f"not refused: {wrong}"
    for service, refusals in expected.items():
        audited = set(rows(system, f"SELECT actor, subject FROM {service}.audit_log"
                                   " WHERE action = 'bus.permission_denied'"))
        missing = refusals - audited
        assert not missing, f"{service}: refusals not audited: {sorted(missing)[:5]}"
        # A refusal is never kept as a served request.
        assert rows(system, f"SELECT count(*) FROM {service}.bus_requests"
                            " WHERE request_id LIKE 'deny-%%'") == [(0,)]
        assert system.services[service].proc.poll() is None


def test_every_method_lets_a_role_it_names_past_the_gate(system):
    """The other side of the table: a caller holding one of the method's roles
    is not stopped by the gate (an empty payload then meets the handler's
    own checks). Proves the table above was read as the binaries see it."""
    stopped = []
    for service, table in TABLES.items():
        for method, admitted in sorted(table.items()):
            if admitted == ANY:
                continue
            role = sorted(admitted - {"service"})[0] if admitted - {"service"} else None
            caller = role_identity(role) if role else ("publisher" if service != "publisher"
                                                       else "mail")
            reply = call(system, service, method, identity=caller, timeout=60.0)
            if "needs one of the roles" in reply.status_message \
                    or reply.status == envelope_pb2.STATUS_UNIMPLEMENTED:
                stopped.append((service, method, caller, reply.status_message))
    assert not stopped, f"refused although the table admits them (or not built): {stopped}"


# --- unknown keys ----------------------------------------------------------------

def every_row_holding(system, needle):
    """[(schema.table, count)] of rows, in any table of any service's schema,
    whose text holds needle."""
    tables = rows(system, "SELECT schemaname, tablename FROM pg_tables"
                          " WHERE schemaname = ANY(%s)", list(SERVICES))
    found = []
    for schema, table in tables:
        n = rows(system, f'SELECT count(*) FROM "{schema}"."{table}" t'
                         " WHERE strpos(t::text, %s) > 0", needle)[0][0]
        if n:
            found.append((f"{schema}.{table}", n))
    return found


def test_an_unknown_key_gets_nothing_from_any_method_of_any_service(system):
    intruder = key_of(system, "intruder")
    for service, table in TABLES.items():
        s = system.services[service]
        client = BusClient(system.context, system.keys / "intruder.cert", s.endpoint, s.cert)
        for method in ["Ping", "ListEvents", *sorted(table)]:
            envelope = envelope_pb2.Envelope(message_id=secrets.token_hex(8),
                                             request_id=f"intruder-{method}", method=method)
            client.socket.send(envelope.SerializeToString())
        assert client.socket.poll(3000) == 0, f"{service} answered an unknown key"
        client.close()
        deadline = time.time() + 10
        while time.time() < deadline and '"event":"bus.refused"' not in s.log():
            time.sleep(0.1)
        assert '"event":"bus.refused"' in s.log(), f"{service} did not log the refusal"
        assert ping(system, service)
    assert every_row_holding(system, intruder) == []
    assert every_row_holding(system, "intruder-") == []


# --- oversize -------------------------------------------------------------------

def test_oversize_envelopes_are_refused_and_nothing_is_stored(system):
    """Up to the bus's 2 MiB frame limit an envelope over 1 MiB gets
    RESOURCE_EXHAUSTED; over 2 MiB the frame is dropped with the connection
    (ZMQ_MAXMSGSIZE: there is no envelope to answer)."""
    for service, table in TABLES.items():
        method = sorted(m for m, r in table.items() if r != ANY)[0]
        client = system.client(service, "officer")
        big = envelope_pb2.Envelope(message_id="m1", request_id="oversize-1", method=method,
                                    payload=b"\x0a" * (3 * 512 * 1024))
        raw = client.send_raw(big.SerializeToString(), timeout=30.0)
        assert raw is not None, f"{service}: no reply to a 1.5 MiB envelope"
        reply = envelope_pb2.Envelope.FromString(raw)
        assert reply.status == envelope_pb2.STATUS_RESOURCE_EXHAUSTED, service
        assert "larger than 1048576 bytes" in reply.status_message
        huge = envelope_pb2.Envelope(message_id="m2", request_id="oversize-2", method=method,
                                     payload=b"\x0a" * (3 * 1024 * 1024))
        assert client.send_raw(huge.SerializeToString(), timeout=3.0) is None
        client.close()
        assert ping(system, service), f"{service} stopped answering"
        assert system.services[service].proc.poll() is None
    assert every_row_holding(system, "oversize-") == []


# --- incompatible roles --------------------------------------------------------------

def incompatible(a, b, level=2):
    """docs/operators.md, "Incompatible roles"."""
    pair = {a, b}
    if "controller" in pair:
        return True
    if "recovery-officer" in pair and pair & OPERATOR_ROLES:
        return True     # at every level
    if level < 2:
        return False
    if pair == {"security-officer", "system-engineer"}:
        return True
    if pair & {"security-officer", "system-engineer"} and pair & OPERATOR_ROLES:
        return True
    return "custodian" in pair and bool(pair & OPERATOR_ROLES)


def fresh_key():
    return zmq.curve_keypair()[0].decode()


def add_operator(system, roles, identity="officer"):
    return call(system, "enrollment", "AddOperator", E.AddOperatorRequest(
        name="Mixed Roles", public_key=fresh_key(), roles=[ROLES[r] for r in roles]),
        identity=identity)


def grant(system, operator_id, role, identity="officer"):
    return call(system, "enrollment", "GrantRole", E.GrantRoleRequest(
        operator_id=operator_id, role=ROLES[role]), identity=identity)


def operators_snapshot(system, schema="enrollment"):
    return rows(system, f"SELECT (SELECT count(*) FROM {schema}.operators),"
                        f" (SELECT md5(coalesce(string_agg(o::text, '' ORDER BY operator_id), ''))"
                        f"  FROM {schema}.operators o)")[0]


def check_every_pair(system, level):
    """AddOperator with both roles (both orders) and GrantRole of the second
    to a holder of the first, for every pair of distinct roles."""
    wrong = []
    for a, b in itertools.permutations(ROLES, 2):
        before = operators_snapshot(system)
        reply = add_operator(system, [a, b])
        if incompatible(a, b, level):
            if reply.status != PRECONDITION or f"level {level}" not in reply.status_message \
                    or operators_snapshot(system) != before:
                wrong.append(("AddOperator", a, b, reply.status_message))
        elif reply.status != OK:
            wrong.append(("AddOperator", a, b, reply.status_message))
        holder = ok(add_operator(system, [a]), E.Operator)
        before = operators_snapshot(system)
        reply = grant(system, holder.operator_id, b)
        if incompatible(a, b, level):
            if reply.status != PRECONDITION or operators_snapshot(system) != before:
                wrong.append(("GrantRole", a, b, reply.status_message))
        elif reply.status != OK:
            wrong.append(("GrantRole", a, b, reply.status_message))
    # Three roles: every role next to a compatible pair that one of them
    # forbids (the check is against every role held, not only the first).
    for a, b in itertools.combinations(ROLES, 2):
        if incompatible(a, b, level):
            continue
        holder = ok(add_operator(system, [a, b]), E.Operator)
        for c in ROLES:
            if c in (a, b):
                continue
            bad = incompatible(a, c, level) or incompatible(b, c, level)
            reply = grant(system, holder.operator_id, c)
            if (reply.status != PRECONDITION) if bad else (reply.status != OK):
                wrong.append(("GrantRole", a + "+" + b, c, reply.status_message))
            if reply.status == OK:
                holder = ok(call(system, "enrollment", "RevokeRole", E.RevokeRoleRequest(
                    operator_id=holder.operator_id, role=ROLES[c], reason="test")), E.Operator)
    return wrong


def test_incompatible_roles_are_refused_through_every_rpc_that_grants_roles(system):
    assert check_every_pair(system, level=2) == []
    # No stored operator holds an incompatible pair, whatever the route.
    for (mask,) in rows(system, "SELECT roles FROM enrollment.operators"):
        held = [r for r, v in ROLES.items() if mask & (1 << v)]
        for a, b in itertools.combinations(held, 2):
            assert not incompatible(a, b), f"an operator holds {a} and {b}"


def test_at_level_1_only_the_controller_rule_applies():
    s = System()
    s.service_env["enrollment"] = {"TSR_POLICY_LEVEL": "1"}
    try:
        s.start(["enrollment"])
        assert check_every_pair(s, level=1) == []
    finally:
        s.stop()


def test_operators_can_not_grant_roles_to_themselves_or_by_another_role(system):
    # Every role but security-officer is refused AddOperator and GrantRole
    # (the gate test above); a security officer may not widen their own set.
    me = ok(call(system, "enrollment", "GetOperator", E.GetOperatorRequest(
        public_key=key_of(system, "officer"))), E.Operator)
    for role in ROLES:
        if role == "security-officer":
            continue
        reply = grant(system, me.operator_id, role)
        assert reply.status == PRECONDITION, role
    # Nor add a second operator record for their own key with other roles.
    reply = call(system, "enrollment", "AddOperator", E.AddOperatorRequest(
        name="Me Again", public_key=key_of(system, "officer"), roles=[ROLES["system-engineer"]]))
    assert reply.status == envelope_pb2.STATUS_ALREADY_EXISTS
    assert rows(system, "SELECT count(*) FROM enrollment.operators WHERE public_key = %s",
                key_of(system, "officer")) == [(1,)]


# --- four eyes --------------------------------------------------------------------

@pytest.fixture(scope="module")
def registry(system):
    """operator: entry + validation; carol: entry; alice: validation."""
    ids = {"operator": system.add_operator("operator", "entry", "validation"),
           "carol": system.add_operator("carol", "entry"),
           "alice": system.add_operator("alice", "validation")}
    return Registry(system, ids["operator"], entry="carol"), ids


def decisions_of(system, card_request_ids):
    return rows(system, "SELECT count(*) FROM validation.decisions"
                        " WHERE card_request_id = ANY(%s)", list(card_request_ids))[0][0]


def test_four_eyes_holds_through_every_decision_rpc_and_a_mixed_batch(system, registry):
    reg, ids = registry
    first, second = reg.holder("Anne", "Durand"), reg.holder("Marc", "Petit")
    batch = ok(call(system, "enrollment", "CreateBatch", E.CreateBatchRequest(
        organisation_id=reg.org.organisation_id, label="lot mixte"), identity="carol"), E.Batch)
    # carol enters one request, operator (entry + validation) the other, in
    # the same batch: operator may then decide neither the batch nor their own.
    theirs = ok(call(system, "enrollment", "CreateCardRequest", E.CreateCardRequestRequest(
        batch_id=batch.batch_id, person_id=first.person_id, level=2, uses=[1, 2]),
        identity="carol"), E.CardRequest)
    own = ok(call(system, "enrollment", "CreateCardRequest", E.CreateCardRequestRequest(
        batch_id=batch.batch_id, person_id=second.person_id, level=2, uses=[1, 2]),
        identity="operator"), E.CardRequest)
    assert own.entered_by_operator_id == ids["operator"]
    ok(call(system, "enrollment", "SubmitBatch", E.SubmitBatchRequest(batch_id=batch.batch_id),
            identity="carol"), E.Batch)
    both = [theirs.card_request_id, own.card_request_id]
    attempts = [
        ("ValidateCardRequest", V.ValidateCardRequestRequest(card_request_id=own.card_request_id)),
        ("RejectCardRequest", V.RejectCardRequestRequest(card_request_id=own.card_request_id,
                                                         reason="non")),
        ("ValidateBatch", V.ValidateBatchRequest(batch_id=batch.batch_id)),
        ("RejectBatch", V.RejectBatchRequest(batch_id=batch.batch_id, reason="non")),
    ]
    for method, message in attempts:
        reply = call(system, "validation", method, message, identity="operator")
        assert reply.status == DENIED, f"{method}: {reply.status_message}"
        assert "another validation operator" in reply.status_message
    assert decisions_of(system, both) == 0
    refused = rows(system, "SELECT actor, details::json->>'method' FROM validation.audit_log"
                           " WHERE action = 'validation.four_eyes_refused'"
                           " AND details::json->>'caller_operator_id' = %s", ids["operator"])
    assert {m for _, m in refused} == {m for m, _ in attempts}
    assert {a for a, _ in refused} == {key_of(system, "operator")}
    # The request operator did not enter is theirs to decide; the batch as a
    # whole goes to a third operator.
    ok(call(system, "validation", "ValidateCardRequest", V.ValidateCardRequestRequest(
        card_request_id=theirs.card_request_id), identity="operator"), V.Decision)
    decided = ok(call(system, "validation", "ValidateBatch", V.ValidateBatchRequest(
        batch_id=batch.batch_id), identity="alice"), V.BatchDecisionReply)
    assert [d.card_request_id for d in decided.decisions] == [own.card_request_id]
    for (entered, decided_by) in rows(system, "SELECT entered_by_operator_id,"
                                              " decided_by_operator_id FROM validation.decisions"):
        assert entered != decided_by


# --- SQL metacharacters -------------------------------------------------------------

METACHARACTERS = [
    "O'Brien & Fils",
    "Robert'); DROP TABLE organisations; --",
    'Guillemets "doubles" \\ antislash \\\\ double',
    "100% _souligné_ et %_%",
    "Ünïcødé — ‘’ “” 中文",
    "$1 $$ :name ? \\x00 E'\\n'",
]


def test_metacharacters_are_stored_and_found_literally(system, registry):
    reg, _ = registry
    stored = {}
    for name in METACHARACTERS:
        org = ok(call(system, "enrollment", "RegisterOrganisation", E.RegisterOrganisationRequest(
            legal_name=name, siret=siret(), kind=E.ORGANISATION_KIND_COMPANY,
            postal_address=reg.org.postal_address), identity="carol"), E.Organisation)
        assert org.legal_name == name
        stored[org.organisation_id] = name
        got = ok(call(system, "enrollment", "GetOrganisation", E.GetOrganisationRequest(
            organisation_id=org.organisation_id), identity="carol"), E.Organisation)
        assert got.legal_name == name
    assert rows(system, "SELECT count(*) FROM enrollment.organisations") >= [(len(stored),)]
    # % and _ are characters, not patterns, in the name filter.
    for needle, expected in [("%", {n for n in METACHARACTERS if "%" in n}),
                             ("_", {n for n in METACHARACTERS if "_" in n}),
                             ("%_%", {"100% _souligné_ et %_%"}),
                             ("'", {n for n in METACHARACTERS if "'" in n}),
                             ("\\", {n for n in METACHARACTERS if "\\" in n})]:
        listed = ok(call(system, "enrollment", "ListOrganisations", E.ListOrganisationsRequest(
            name_contains=needle, limit=100), identity="carol"), E.ListOrganisationsReply)
        assert {o.legal_name for o in listed.organisations} == expected, needle


def test_metacharacters_in_free_text_round_trip_and_nul_is_refused(system, registry):
    reg, ids = registry
    holder = reg.holder("Louise", "Moreau")
    batch_id, (request_id,) = reg.batch([holder])
    before = rows(system, "SELECT count(*) FROM validation.decisions")
    reply = call(system, "validation", "RejectCardRequest", V.RejectCardRequestRequest(
        card_request_id=request_id, reason="nul \x00 ici"), identity="alice")
    assert reply.status == INVALID and "reason" in reply.status_message
    reply = call(system, "enrollment", "RegisterOrganisation", E.RegisterOrganisationRequest(
        legal_name="Nul\x00Part", siret=siret(), kind=E.ORGANISATION_KIND_COMPANY,
        postal_address=reg.org.postal_address), identity="carol")
    assert reply.status == INVALID
    assert rows(system, "SELECT count(*) FROM validation.decisions") == before
    assert every_row_holding(system, "Nul\x00Part".replace("\x00", "")) == []
    reason = "Pièce illisible: l'agent a dit \"non\"; DROP TABLE decisions; -- 50% \\ _"
    decision = ok(call(system, "validation", "RejectCardRequest", V.RejectCardRequestRequest(
        card_request_id=request_id, reason=reason), identity="alice"), V.Decision)
    assert decision.reason == reason
    got = ok(call(system, "validation", "GetDecision", V.GetDecisionRequest(
        card_request_id=request_id), identity="alice"), V.Decision)
    assert got.reason == reason
    assert rows(system, "SELECT reason FROM validation.decisions WHERE card_request_id = %s",
                request_id) == [(reason,)]
    # An operator change's reason too.
    holder_op = ok(add_operator(system, ["agent", "entry"]), E.Operator)
    why = "changement d'équipe; DELETE FROM operators; -- \\ 100%"
    ok(call(system, "enrollment", "RevokeRole", E.RevokeRoleRequest(
        operator_id=holder_op.operator_id, role=ROLES["agent"], reason=why)), E.Operator)
    assert rows(system, "SELECT reason FROM enrollment.operator_changes"
                        " WHERE operator_id = %s AND change = 'role_revoked'",
                holder_op.operator_id) == [(why,)]



# --- the log check itself ------------------------------------------------------------

def test_the_teardown_finds_a_registered_secret_in_any_log(system):
    """System.stop greps every log for what tests registered with
    system.secret; this proves the grep finds one (then removes the bait)."""
    pin, share = "48151623", bytes(range(40, 72))
    system.secret(pin)
    system.secret(share)
    bait = system.root / "pg" / "bait.log"
    try:
        bait.write_text(f'{{"event":"x","pin":"{pin}"}}\nts=1764{pin}42 is a timestamp\n'
                        f"share {share.hex()}\n")
        found = system.leaked_secrets()
        assert found == ["pg/bait.log: line 1 holds a registered secret",
                         "pg/bait.log: line 3 holds a registered secret"]
        assert all(pin not in line for line in found)
    finally:
        bait.unlink()
    assert system.leaked_secrets() == []
