"""Enrollment's registry through the bus, with real PostgreSQL and the real
service: organisations (SIRET, La Poste's exception), RL, MC designated by
the RL, holders, their dossiers and documents, card requests and batches,
submission refused with exactly what is missing, the roles of each method,
every refusal of the issue's bad-input list (nothing stored), the audit
trail of each step, and validation's decisions applied from its events."""
import json
import os
import secrets
import subprocess
import time

import pytest

from tessera.v1 import ca_pb2, envelope_pb2, events_pb2, validation_pb2
from tessera.v1 import enrollment_pb2 as e
from tsrtest import BUILD, System, read_cert

OK = envelope_pb2.STATUS_OK
INVALID = envelope_pb2.STATUS_INVALID_ARGUMENT
DENIED = envelope_pb2.STATUS_PERMISSION_DENIED
NOT_FOUND = envelope_pb2.STATUS_NOT_FOUND
EXISTS = envelope_pb2.STATUS_ALREADY_EXISTS
PRECONDITION = envelope_pb2.STATUS_FAILED_PRECONDITION
CONFLICT = envelope_pb2.STATUS_CONFLICT

AUTH = ca_pb2.CERTIFICATE_USE_AUTHENTICATION
SIGN = ca_pb2.CERTIFICATE_USE_SIGNATURE
COMPANY = e.ORGANISATION_KIND_COMPANY
ADMINISTRATION = e.ORGANISATION_KIND_PUBLIC_ADMINISTRATION
RL = e.PERSON_ROLE_LEGAL_REPRESENTATIVE
MC = e.PERSON_ROLE_CERTIFICATION_DELEGATE
HOLDER = e.PERSON_ROLE_HOLDER
DAY = 86400

# Who is who: "operator" enters dossiers, "alice" is the AE (agent) who
# meets people and signs, "bob" validates, "carol" controls; "client" is a
# key in the keyring that is no operator; "validation" is that service's key.
ENTRY, AE, VALIDATOR, CONTROLLER = "operator", "alice", "bob", "carol"


@pytest.fixture(scope="module")
def system():
    s = System()
    try:
        s.start(["enrollment"])
    except BaseException:
        s.stop()
        raise
    yield s
    s.stop()


@pytest.fixture(scope="module")
def ops(system):
    return {
        "entry": system.add_operator(ENTRY, "entry"),
        "ae": system.add_operator(AE, "agent"),
        "validation": system.add_operator(VALIDATOR, "validation"),
        "controller": system.add_operator(CONTROLLER, "controller"),
    }


# --- helpers --------------------------------------------------------------

def call(system, method, message, identity=ENTRY, request_id=None):
    client = system.client("enrollment", identity)
    try:
        reply, raw = client.call(method, message.SerializeToString(), request_id=request_id,
                                 timeout=10.0)
    finally:
        client.close()
    assert reply is not None, f"{method}: no reply"
    return reply


def ok(system, method, message, reply_type, identity=ENTRY):
    reply = call(system, method, message, identity)
    assert reply.status == OK, f"{method}: {envelope_pb2.Status.Name(reply.status)} {reply.status_message}"
    return reply_type.FromString(reply.payload)


def refused(system, method, message, status, *words, identity=ENTRY):
    reply = call(system, method, message, identity)
    assert reply.status == status, \
        f"{method}: {envelope_pb2.Status.Name(reply.status)} {reply.status_message}"
    for word in words:
        assert word in reply.status_message, reply.status_message
    return reply.status_message


def rows(system, sql, *params):
    conn = system.cluster.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def count(system, table, where="true", *params):
    return rows(system, f"SELECT count(*) FROM enrollment.{table} WHERE {where}", *params)[0][0]


def luhn_valid(digits):
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char) * (2 if position % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


def new_siret():
    while True:
        body = f"{secrets.randbelow(10 ** 13):013d}"
        if body.startswith("356000000"):
            continue
        for last in "0123456789":
            if luhn_valid(body + last):
                return body + last


def address(**overrides):
    fields = dict(lines=["12 rue de la Paix", "Bâtiment B"], postal_code="75002", city="PARIS",
                  country_code="FR")
    fields.update(overrides)
    return e.PostalAddress(**fields)


def today():
    now = int(time.time())
    return now - now % DAY


def register_org(system, kind=COMPANY, name="Société Exemple SA", siret=None, identity=ENTRY):
    return ok(system, "RegisterOrganisation",
              e.RegisterOrganisationRequest(legal_name=name, siret=siret or new_siret(), kind=kind,
                                            postal_address=address()),
              e.Organisation, identity)


def register_person(system, org, role, given="Jean", surname="Dupont", designated_by="", **extra):
    fields = dict(organisation_id=org.organisation_id, role=role, given_name=given, surname=surname,
                  email=f"p.{secrets.token_hex(4)}@exemple.fr",
                  postal_address=address(), designated_by_person_id=designated_by)
    fields.update(extra)
    return ok(system, "RegisterPerson", e.RegisterPersonRequest(**fields), e.Person)


def document_request(dossier_id, type_, signed_by=(), **extra):
    fields = dict(dossier_id=dossier_id, type=type_, reference=f"REF-{secrets.token_hex(4)}",
                  received_unix=today(), signed_by=list(signed_by),
                  scan_sha256=secrets.token_hex(32))
    if type_ == e.DOCUMENT_TYPE_IDENTITY_DOCUMENT:
        fields.update(identity_document_kind=e.IDENTITY_DOCUMENT_KIND_NATIONAL_ID_CARD,
                      issued_unix=today() - 400 * DAY, expires_unix=today() + 3000 * DAY)
    fields.update(extra)
    return e.RecordDocumentRequest(**fields)


def record(system, dossier_id, type_, signed_by=(), **extra):
    return ok(system, "RecordDocument", document_request(dossier_id, type_, signed_by, **extra),
              e.Document)


def kbis(system, org, age_days=20):
    return record(system, org.dossier_id, e.DOCUMENT_TYPE_KBIS_EXTRACT,
                  issued_unix=today() - age_days * DAY)


def complete_dossier(system, ops, person, witness, rl=None):
    """Everything a person's dossier needs: witness is the MC (or RL) who
    signs the face-to-face report with the AE; rl signs an MC's designation."""
    dossier = person.dossier_id
    pid = person.person_id
    record(system, dossier, e.DOCUMENT_TYPE_REQUEST_FORM, [pid])
    if person.role == MC:
        record(system, dossier, e.DOCUMENT_TYPE_MC_DESIGNATION, [pid, rl.person_id])
    record(system, dossier, e.DOCUMENT_TYPE_TERMS_OF_USE, [pid, ops["ae"]])
    record(system, dossier, e.DOCUMENT_TYPE_IDENTITY_DOCUMENT, [pid])
    record(system, dossier, e.DOCUMENT_TYPE_FACE_TO_FACE_REPORT, [witness.person_id, ops["ae"]])


def new_batch(system, org, label="commande 42"):
    return ok(system, "CreateBatch", e.CreateBatchRequest(organisation_id=org.organisation_id,
                                                          label=label), e.Batch)


def new_request(system, batch, person, uses=(AUTH, SIGN), **extra):
    return ok(system, "CreateCardRequest",
              e.CreateCardRequestRequest(batch_id=batch.batch_id, person_id=person.person_id,
                                         uses=list(uses), **extra), e.CardRequest)


def company_with_rl(system, ops, name="Société Exemple SA"):
    """An organisation with its K-bis and an RL whose dossier is complete."""
    org = register_org(system, name=name)
    kbis(system, org)
    rl = register_person(system, org, RL, "Anne", "Martin")
    complete_dossier(system, ops, rl, witness=rl)
    return org, rl


def audit_actions(system, subject):
    return [r[0] for r in rows(system, "SELECT action FROM enrollment.audit_log WHERE subject = %s"
                                       " ORDER BY seq", subject)]


def events(system, event_type):
    return rows(system, "SELECT subject, payload FROM enrollment.outbox WHERE type = %s ORDER BY seq",
                event_type)


def key_of(system, identity):
    return read_cert(system.keys / f"{identity}.cert")[0]


def audit_verified(system):
    result = system.cli("--json", "audit", "verify", "--service", "enrollment")
    assert result.returncode == 0, result.stdout + result.stderr


# --- the whole path -------------------------------------------------------

def test_rl_mc_holder_path_to_a_submitted_batch(system, ops):
    # The organisation, with a K-bis extract issued 20 days ago.
    org = register_org(system, name="Transports Durand SARL")
    assert org.organisation_id.startswith("org-") and org.dossier_id.startswith("dos-")
    assert org.siren == org.siret[:9]
    assert org.created_by_operator_id == ops["entry"]
    assert list(org.postal_address.lines) == ["12 rue de la Paix", "Bâtiment B"]
    document = kbis(system, org)
    assert document.recorded_by_operator_id == ops["entry"]
    assert document.checked_by_operator_id == ops["entry"]      # the caller checked it

    # The RL, then the MC the RL designates, then a holder.
    rl = register_person(system, org, RL, "Anne", "Martin")
    complete_dossier(system, ops, rl, witness=rl)
    mc = register_person(system, org, MC, "Marc", "Petit", designated_by=rl.person_id)
    assert mc.designated_by_person_id == rl.person_id
    complete_dossier(system, ops, mc, witness=mc, rl=rl)
    holder = register_person(system, org, HOLDER, "Élodie", "Dupré")
    complete_dossier(system, ops, holder, witness=mc)
    for person in (rl, mc, holder):
        check = ok(system, "CheckDossier", e.CheckDossierRequest(dossier_id=person.dossier_id),
                   e.DossierCheck)
        assert check.complete and not check.defects, check

    # A batch with a card for the holder and one for the MC.
    batch = new_batch(system, org)
    assert batch.state == e.BATCH_STATE_OPEN
    holder_request = new_request(system, batch, holder)
    mc_request = new_request(system, batch, mc, uses=[AUTH])
    assert holder_request.level == ca_pb2.POLICY_LEVEL_TWO_STARS          # the default
    assert list(holder_request.uses) == [AUTH, SIGN]
    assert holder_request.entered_by_operator_id == ops["entry"]
    assert holder_request.dossier_id == holder.dossier_id
    assert holder_request.state == e.CARD_REQUEST_STATE_DRAFT
    check = ok(system, "CheckBatch", e.CheckBatchRequest(batch_id=batch.batch_id), e.CheckBatchReply)
    assert check.complete and not check.defects

    submitted = ok(system, "SubmitBatch", e.SubmitBatchRequest(batch_id=batch.batch_id), e.Batch)
    assert submitted.state == e.BATCH_STATE_SUBMITTED
    assert submitted.submitted_by_operator_id == ops["entry"]
    assert list(submitted.card_request_ids) == [holder_request.card_request_id,
                                                 mc_request.card_request_id]
    # Validation (the service's own key) reads the requests it will decide.
    seen = ok(system, "GetCardRequest", e.GetCardRequestRequest(
        card_request_id=holder_request.card_request_id), e.CardRequest, identity="validation")
    assert seen.state == e.CARD_REQUEST_STATE_SUBMITTED and seen.submitted_at_unix > 0
    assert seen.entered_by_operator_id == ops["entry"]
    listed = ok(system, "ListCardRequests", e.ListCardRequestsRequest(
        batch_id=batch.batch_id, state=e.CARD_REQUEST_STATE_SUBMITTED), e.ListCardRequestsReply,
        identity="validation")
    assert [r.card_request_id for r in listed.card_requests] == list(submitted.card_request_ids)

    # "batch.submitted" carries what mail needs to notify validation.
    (subject, payload), = [ev for ev in events(system, "batch.submitted") if ev[0] == batch.batch_id]
    notice = e.BatchSubmitted.FromString(bytes(payload))
    assert notice.organisation_id == org.organisation_id
    assert list(notice.card_request_ids) == list(submitted.card_request_ids)
    assert notice.submitted_by_operator_id == ops["entry"]
    assert abs(notice.submitted_at_unix - time.time()) < 60

    # The audit trail, step by step, by the entry operator's key.
    entry_key = key_of(system, ENTRY)
    assert audit_actions(system, org.organisation_id) == ["enrollment.organisation_registered"]
    assert audit_actions(system, org.dossier_id) == ["enrollment.dossier_opened"]
    assert audit_actions(system, document.document_id) == ["enrollment.document_recorded"]
    assert audit_actions(system, mc.person_id) == ["enrollment.person_registered"]
    assert audit_actions(system, batch.batch_id) == ["enrollment.batch_created",
                                                     "enrollment.batch_submitted"]
    assert audit_actions(system, holder_request.card_request_id) == [
        "enrollment.card_request_created", "enrollment.card_request_submitted"]
    (actor, details), = rows(system, "SELECT actor, details FROM enrollment.audit_log"
                                     " WHERE subject = %s", mc.person_id)
    assert actor == entry_key
    assert json.loads(details)["designated_by_person_id"] == rl.person_id
    audit_verified(system)


def test_administration_needs_sirene_notice_and_delegation(system, ops):
    org = register_org(system, kind=ADMINISTRATION, name="Mairie de Saint-Malo")
    rl = register_person(system, org, RL, "Paul", "Le Goff")
    complete_dossier(system, ops, rl, witness=rl)
    batch = new_batch(system, org)
    request = new_request(system, batch, rl)
    message = refused(system, "SubmitBatch", e.SubmitBatchRequest(batch_id=batch.batch_id), PRECONDITION)
    assert message == "2 defects: Mairie de Saint-Malo: SIRENE notice missing, delegation document missing"
    # A K-bis is not what an administration gives.
    refused(system, "RecordDocument", document_request(
        org.dossier_id, e.DOCUMENT_TYPE_KBIS_EXTRACT, issued_unix=today()), INVALID, "type:", "company")
    record(system, org.dossier_id, e.DOCUMENT_TYPE_SIRENE_NOTICE, issued_unix=today() - 200 * DAY)
    check = ok(system, "CheckBatch", e.CheckBatchRequest(batch_id=batch.batch_id), e.CheckBatchReply)
    assert [(d.document_type, d.kind, d.person_id, d.card_request_id) for d in check.defects] == [
        (e.DOCUMENT_TYPE_DELEGATION, e.DOSSIER_DEFECT_KIND_MISSING, "", "")]
    record(system, org.dossier_id, e.DOCUMENT_TYPE_DELEGATION, [rl.person_id])
    submitted = ok(system, "SubmitBatch", e.SubmitBatchRequest(batch_id=batch.batch_id), e.Batch)
    assert list(submitted.card_request_ids) == [request.card_request_id]


# --- submission lists exactly what is missing -------------------------------

def test_submission_refused_with_every_defect_and_nothing_changes(system, ops):
    org = register_org(system, name="Boulangerie Moreau")        # no K-bis yet
    rl = register_person(system, org, RL, "Luc", "Moreau")
    complete_dossier(system, ops, rl, witness=rl)
    holder = register_person(system, org, HOLDER, "Zoé", "Bernard")
    # Only an unsigned request form for the holder.
    record(system, holder.dossier_id, e.DOCUMENT_TYPE_REQUEST_FORM)
    batch = new_batch(system, org)
    request = new_request(system, batch, holder)
    outbox_before = count(system, "outbox")

    message = refused(system, "SubmitBatch", e.SubmitBatchRequest(batch_id=batch.batch_id), PRECONDITION)
    assert message == ("5 defects: Zoé Bernard: request form not signed by the holder, terms of use"
                       " (CGU) missing, identity document missing, face-to-face report missing;"
                       " Boulangerie Moreau: K-bis extract missing"), message
    # Nothing moved: batch open, request draft, no event.
    assert ok(system, "GetBatch", e.GetBatchRequest(batch_id=batch.batch_id), e.Batch).state == \
        e.BATCH_STATE_OPEN
    assert ok(system, "GetCardRequest", e.GetCardRequestRequest(card_request_id=request.card_request_id),
              e.CardRequest).state == e.CARD_REQUEST_STATE_DRAFT
    assert count(system, "outbox") == outbox_before

    # CheckBatch says the same as fields.
    check = ok(system, "CheckBatch", e.CheckBatchRequest(batch_id=batch.batch_id), e.CheckBatchReply)
    assert not check.complete
    got = [(d.document_type, d.kind, d.person_id, d.card_request_id, d.dossier_id) for d in check.defects]
    person = (holder.person_id, request.card_request_id, holder.dossier_id)
    assert got == [
        (e.DOCUMENT_TYPE_REQUEST_FORM, e.DOSSIER_DEFECT_KIND_SIGNATURE_MISSING, *person),
        (e.DOCUMENT_TYPE_TERMS_OF_USE, e.DOSSIER_DEFECT_KIND_MISSING, *person),
        (e.DOCUMENT_TYPE_IDENTITY_DOCUMENT, e.DOSSIER_DEFECT_KIND_MISSING, *person),
        (e.DOCUMENT_TYPE_FACE_TO_FACE_REPORT, e.DOSSIER_DEFECT_KIND_MISSING, *person),
        (e.DOCUMENT_TYPE_KBIS_EXTRACT, e.DOSSIER_DEFECT_KIND_MISSING, "", "", org.dossier_id),
    ]
    assert all(d.organisation_id == org.organisation_id for d in check.defects)

    # A face-to-face report signed by the holder instead of an MC, and a
    # CGU signed by another holder instead of the AE: signatures missing.
    other = register_person(system, org, HOLDER, "Hugo", "Roux")
    record(system, holder.dossier_id, e.DOCUMENT_TYPE_TERMS_OF_USE, [holder.person_id, other.person_id])
    record(system, holder.dossier_id, e.DOCUMENT_TYPE_FACE_TO_FACE_REPORT, [holder.person_id, ops["ae"]])
    check = ok(system, "CheckDossier", e.CheckDossierRequest(dossier_id=holder.dossier_id), e.DossierCheck)
    details = [d.detail for d in check.defects]
    assert details == ["request form not signed by the holder",
                       "terms of use (CGU) not signed by an AE, RL or MC",
                       "identity document missing",
                       "face-to-face report not signed by an MC or RL",
                       "K-bis extract missing"]

    # Completed, it goes through.
    kbis(system, org)
    record(system, holder.dossier_id, e.DOCUMENT_TYPE_REQUEST_FORM, [holder.person_id])
    record(system, holder.dossier_id, e.DOCUMENT_TYPE_TERMS_OF_USE, [holder.person_id, ops["ae"]])
    record(system, holder.dossier_id, e.DOCUMENT_TYPE_IDENTITY_DOCUMENT, [holder.person_id])
    record(system, holder.dossier_id, e.DOCUMENT_TYPE_FACE_TO_FACE_REPORT, [rl.person_id, ops["ae"]])
    ok(system, "SubmitBatch", e.SubmitBatchRequest(batch_id=batch.batch_id), e.Batch)
    refused(system, "SubmitBatch", e.SubmitBatchRequest(batch_id=batch.batch_id), PRECONDITION,
            "submitted already")


def test_long_defect_lists_end_with_how_many_more(system, ops):
    org = register_org(system, name="Grande Entreprise Nationale de Travaux Publics et d'Ouvrages")
    batch = new_batch(system, org)
    for i in range(4):
        person = register_person(system, org, HOLDER, "Marie-Christine", f"De La Fontaine-{i}")
        new_request(system, batch, person)
    message = refused(system, "SubmitBatch", e.SubmitBatchRequest(batch_id=batch.batch_id), PRECONDITION,
                      "17 defects: Marie-Christine De La Fontaine-0: request form missing",
                      "more (see CheckBatch)")
    assert len(message.encode()) < 256
    check = ok(system, "CheckBatch", e.CheckBatchRequest(batch_id=batch.batch_id), e.CheckBatchReply)
    assert len(check.defects) == 17


def test_withdrawn_document_no_longer_counts(system, ops):
    org, rl = company_with_rl(system, ops, name="Atelier Blanc")
    identity, = [d for d in ok(system, "GetDossier", e.GetDossierRequest(dossier_id=rl.dossier_id),
                               e.Dossier).documents if d.type == e.DOCUMENT_TYPE_IDENTITY_DOCUMENT]
    refused(system, "WithdrawDocument", e.WithdrawDocumentRequest(document_id=identity.document_id),
            INVALID, "reason")
    withdrawn = ok(system, "WithdrawDocument", e.WithdrawDocumentRequest(
        document_id=identity.document_id, reason="copie illisible"), e.Document)
    assert withdrawn.withdrawn and withdrawn.withdrawn_reason == "copie illisible"
    refused(system, "WithdrawDocument", e.WithdrawDocumentRequest(
        document_id=identity.document_id, reason="encore"), PRECONDITION, "withdrawn already")
    dossier = ok(system, "GetDossier", e.GetDossierRequest(dossier_id=rl.dossier_id), e.Dossier)
    assert len(dossier.documents) == 4 and sum(d.withdrawn for d in dossier.documents) == 1
    check = ok(system, "CheckDossier", e.CheckDossierRequest(dossier_id=rl.dossier_id), e.DossierCheck)
    assert [d.detail for d in check.defects] == ["identity document missing"]
    assert audit_actions(system, identity.document_id) == ["enrollment.document_recorded",
                                                           "enrollment.document_withdrawn"]


# --- the bad input: a clear error, nothing stored --------------------

def test_invalid_siret_refused_and_nothing_stored(system, ops):
    before = count(system, "organisations")
    good = new_siret()
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    for siret, words in ((bad, ("siret:", "Luhn")), (good[:13], ("siret: 14 digits",)),
                         (good[:13] + "A", ("siret: 14 digits",)), ("", ("siret",)),
                         ("356 000 000 00048", ("siret: 14 digits",)),
                         ("35600000000002", ("Luhn",))):
        refused(system, "RegisterOrganisation", e.RegisterOrganisationRequest(
            legal_name="Fausse SA", siret=siret, kind=COMPANY, postal_address=address()), INVALID, *words)
    assert count(system, "organisations") == before
    # La Poste: its head office passes Luhn, its establishments pass by
    # the digit sum (docs/enrollment.md).
    for siret in ("35600000000048", "35600000000001", "35600000049990"):
        org = register_org(system, name=f"La Poste {siret[-5:]}", siret=siret)
        assert org.siren == "356000000"


def test_duplicate_siret_refused(system, ops):
    siret = new_siret()
    first = register_org(system, siret=siret, name="Première SA")
    refused(system, "RegisterOrganisation", e.RegisterOrganisationRequest(
        legal_name="Deuxième SA", siret=siret, kind=COMPANY, postal_address=address()), EXISTS,
        siret, first.organisation_id)
    assert count(system, "organisations", "siret = %s", siret) == 1
    found = ok(system, "GetOrganisation", e.GetOrganisationRequest(siret=siret), e.Organisation)
    assert found.organisation_id == first.organisation_id and found.legal_name == "Première SA"


def test_kbis_older_than_three_months_refused(system, ops):
    org = register_org(system, name="Vieux Papiers SARL")
    before = count(system, "documents")
    message = refused(system, "RecordDocument", document_request(
        org.dossier_id, e.DOCUMENT_TYPE_KBIS_EXTRACT, issued_unix=today() - 100 * DAY), INVALID,
        "issued_unix", "out of date", "older than 3 months at registration")
    assert time.strftime("%Y-%m-%d", time.gmtime(today() - 100 * DAY)) in message
    refused(system, "RecordDocument", document_request(org.dossier_id, e.DOCUMENT_TYPE_KBIS_EXTRACT),
            INVALID, "issued_unix", "required")
    assert count(system, "documents") == before
    kbis(system, org, age_days=80)
    assert count(system, "documents") == before + 1


def test_unknown_organisation_is_not_found_and_nothing_stored(system, ops):
    persons, batches, dossiers = count(system, "persons"), count(system, "batches"), count(system, "dossiers")
    ghost = e.Organisation(organisation_id="org-0000000000000000")
    refused(system, "RegisterPerson", e.RegisterPersonRequest(
        organisation_id=ghost.organisation_id, role=HOLDER, given_name="Jean", surname="Dupont",
        email="jean@exemple.fr", postal_address=address()), NOT_FOUND, "organisation_id",
        ghost.organisation_id)
    refused(system, "CreateBatch", e.CreateBatchRequest(organisation_id=ghost.organisation_id),
            NOT_FOUND, ghost.organisation_id)
    refused(system, "GetOrganisation", e.GetOrganisationRequest(organisation_id=ghost.organisation_id),
            NOT_FOUND)
    refused(system, "RegisterPerson", e.RegisterPersonRequest(
        organisation_id="'; DROP TABLE persons; --", role=HOLDER, given_name="Jean", surname="Dupont",
        email="jean@exemple.fr", postal_address=address()), INVALID, "organisation_id")
    assert (count(system, "persons"), count(system, "batches"), count(system, "dossiers")) == \
        (persons, batches, dossiers)


def test_names_with_control_characters_or_too_long_refused(system, ops):
    org = register_org(system, name="Contrôles SAS")
    before = count(system, "persons")
    # protobuf-c would cut "Jean\0..." to "Jean": refused whole, also nested.
    refused(system, "RegisterPerson", e.RegisterPersonRequest(
        organisation_id=org.organisation_id, role=HOLDER, given_name="Jean\x00Evil", surname="Dupont",
        email="jean@exemple.fr", postal_address=address()), INVALID, "NUL")
    refused(system, "RegisterPerson", e.RegisterPersonRequest(
        organisation_id=org.organisation_id, role=HOLDER, given_name="Jean", surname="Dupont",
        email="jean@exemple.fr", postal_address=address(city="PARIS\x00X")), INVALID, "NUL")
    for field, value in (("given_name", "Jean\x07"), ("given_name", "Jean\nPierre"),
                         ("given_name", "Jean\u202eerreiP"), ("given_name", "J" * 65),
                         ("surname", "D" * 65), ("surname", "\x1b[31mDupont"), ("surname", ""),
                         ("surname", " Dupont"), ("given_name", "René\x85"),
                         ("surname", "Dupont\u2028")):
        fields = dict(organisation_id=org.organisation_id, role=HOLDER, given_name="Jean",
                      surname="Dupont", email="jean@exemple.fr", postal_address=address())
        fields[field] = value
        refused(system, "RegisterPerson", e.RegisterPersonRequest(**fields), INVALID, f"{field}:",
                "64 characters")
    assert count(system, "persons") == before
    # "Given SURNAME" becomes the certificate's CN: 64 characters in all,
    # accents counted as one each.
    refused(system, "RegisterPerson", e.RegisterPersonRequest(
        organisation_id=org.organisation_id, role=HOLDER, given_name="É" * 40,
        surname="Dürrenmatt-" + "é" * 20, email="jean@exemple.fr", postal_address=address()),
        INVALID, "given_name and surname", "63 characters")
    assert count(system, "persons") == before
    person = register_person(system, org, HOLDER, "É" * 30, "Dürrenmatt-" + "é" * 22)
    assert len(person.given_name) + 1 + len(person.surname) == 64
    before = count(system, "organisations")
    for name in ("N" * 65, "Nom\tSA", "Nom \u202eAS"):
        refused(system, "RegisterOrganisation", e.RegisterOrganisationRequest(
            legal_name=name, siret=new_siret(), kind=COMPANY, postal_address=address()), INVALID,
            "legal_name:", "64 characters")
    assert count(system, "organisations") == before
    register_org(system, name="N" * 64)
    # Invalid UTF-8 never reaches the service as a proto3 string from
    # Python; sent raw, the payload does not decode.
    bad = e.RegisterPersonRequest(organisation_id=org.organisation_id, role=HOLDER, given_name="Jean",
                                  surname="Dupont", email="j@exemple.fr",
                                  postal_address=address()).SerializeToString()
    bad = bad.replace(b"Jean", b"J\xc3\x28n")
    client = system.client("enrollment", ENTRY)
    reply, _ = client.call("RegisterPerson", bad)
    client.close()
    assert reply.status == INVALID


def test_sql_metacharacters_are_stored_literally(system, ops):
    name = "O'Brien & Fils\"; DROP TABLE organisations; --"
    org = register_org(system, name=name)
    surname = "D'Artagnan'); DELETE FROM persons WHERE ('1'='1"
    person = register_person(system, org, HOLDER, "Robert'--", surname)
    reference = "K'1; UPDATE documents SET withdrawn = true; --"
    document = record(system, person.dossier_id, e.DOCUMENT_TYPE_REQUEST_FORM, [person.person_id],
                      reference=reference, note="100% ça_marche \\ $1 %s")
    assert ok(system, "GetOrganisation", e.GetOrganisationRequest(organisation_id=org.organisation_id),
              e.Organisation).legal_name == name
    assert ok(system, "GetPerson", e.GetPersonRequest(person_id=person.person_id), e.Person).surname == surname
    assert (document.reference, document.note) == (reference, "100% ça_marche \\ $1 %s")
    assert rows(system, "SELECT legal_name FROM enrollment.organisations WHERE organisation_id = %s",
                org.organisation_id) == [(name,)]
    # The tables are all there, and a search with LIKE's wildcards is literal.
    assert count(system, "persons") > 0 and count(system, "documents", "withdrawn") == \
        count(system, "documents", "withdrawn_reason <> ''")
    found = ok(system, "ListOrganisations", e.ListOrganisationsRequest(name_contains='fils"; drop'),
               e.ListOrganisationsReply)
    assert [o.organisation_id for o in found.organisations] == [org.organisation_id]
    nothing = ok(system, "ListOrganisations", e.ListOrganisationsRequest(name_contains="%"),
                 e.ListOrganisationsReply)
    assert all("%" in o.legal_name for o in nothing.organisations)


def test_duplicate_request_id_returns_the_same_reply(system, ops):
    request = e.RegisterOrganisationRequest(legal_name="Idempotente SA", siret=new_siret(), kind=COMPANY,
                                            postal_address=address())
    client = system.client("enrollment", ENTRY)
    first, first_raw = client.call("RegisterOrganisation", request.SerializeToString(),
                                   request_id="it-enrollment-idem-1")
    second, second_raw = client.call("RegisterOrganisation", request.SerializeToString(),
                                     request_id="it-enrollment-idem-1")
    assert first.status == OK and second.status == OK
    assert e.Organisation.FromString(first.payload) == e.Organisation.FromString(second.payload)
    assert first.payload == second.payload and first.status_message == second.status_message
    assert count(system, "organisations", "siret = %s", request.siret) == 1
    org = e.Organisation.FromString(first.payload)
    assert audit_actions(system, org.organisation_id) == ["enrollment.organisation_registered"]
    # The same id with another payload is a conflict, and stores nothing.
    other = e.RegisterOrganisationRequest(legal_name="Autre SA", siret=new_siret(), kind=COMPANY,
                                          postal_address=address())
    third, _ = client.call("RegisterOrganisation", other.SerializeToString(),
                           request_id="it-enrollment-idem-1")
    client.close()
    assert third.status == CONFLICT
    assert count(system, "organisations", "siret = %s", other.siret) == 0
    # A retried submission does not submit twice.
    org_, rl = company_with_rl(system, ops, name="Retry SARL")
    batch = new_batch(system, org_)
    new_request(system, batch, rl)
    client = system.client("enrollment", ENTRY)
    payload = e.SubmitBatchRequest(batch_id=batch.batch_id).SerializeToString()
    a, a_raw = client.call("SubmitBatch", payload, request_id="it-enrollment-idem-2")
    b, b_raw = client.call("SubmitBatch", payload, request_id="it-enrollment-idem-2")
    client.close()
    assert a.status == OK and a.payload == b.payload
    assert len([ev for ev in events(system, "batch.submitted") if ev[0] == batch.batch_id]) == 1


def test_every_field_is_bounded_and_named(system, ops):
    org, rl = company_with_rl(system, ops, name="Bornes SA")
    holder = register_person(system, org, HOLDER, "Inès", "Garnier")
    base = dict(organisation_id=org.organisation_id, role=HOLDER, given_name="Jean", surname="Dupont",
                email="jean@exemple.fr", postal_address=address())
    person_cases = [
        (dict(email="jean@"), "email:"), (dict(email="jean@localhost"), "email:"),
        (dict(email="a" * 250 + "@exemple.fr"), "email:"), (dict(email="jean dupont@exemple.fr"), "email:"),
        (dict(postal_address=address(lines=["a", "b", "c", "d", "e"])), "postal_address.lines:"),
        (dict(postal_address=address(lines=[])), "postal_address.lines:"),
        (dict(postal_address=address(lines=["x" * 39])), "postal_address.lines[0]"),
        (dict(postal_address=address(postal_code="7500")), "postal_address.postal_code"),
        (dict(postal_address=address(country_code="fr")), "postal_address.country_code"),
        (dict(postal_address=address(city="Saint-Rémy-en-Bouzemont-Saint-Genest-et-Isson")),
         "postal_address.city"),
        (dict(language="de"), "language:"),
        (dict(role=0), "role:"), (dict(role=MC), "designated_by_person_id"),
        (dict(designated_by_person_id=rl.person_id), "designated_by_person_id: only an MC"),
        (dict(role=MC, designated_by_person_id=holder.person_id), "is not an RL"),
    ]
    before = count(system, "persons")
    for change, words in person_cases:
        fields = dict(base, **change)
        reply = call(system, "RegisterPerson", e.RegisterPersonRequest(**fields))
        assert reply.status == INVALID and words in reply.status_message, (change, reply.status_message)
    assert count(system, "persons") == before
    # A foreign postal address has its own code format.
    register_person(system, org, HOLDER, "Hans", "Muster",
                    postal_address=address(postal_code="CH-8001", city="Zürich", country_code="CH"))

    d = holder.dossier_id
    before = count(system, "documents")
    document_cases = [
        (document_request(d, 0), "type:"),
        (document_request(d, e.DOCUMENT_TYPE_KBIS_EXTRACT, issued_unix=today()), "type:"),
        (document_request(d, e.DOCUMENT_TYPE_MC_DESIGNATION), "an MC's dossier"),
        (document_request(d, e.DOCUMENT_TYPE_REQUEST_FORM, reference=""), "reference:"),
        (document_request(d, e.DOCUMENT_TYPE_REQUEST_FORM, reference="R" * 65), "reference:"),
        (document_request(d, e.DOCUMENT_TYPE_REQUEST_FORM, received_unix=0), "received_unix"),
        (document_request(d, e.DOCUMENT_TYPE_REQUEST_FORM, received_unix=int(time.time()) + 2 * DAY),
         "received_unix"),
        (document_request(d, e.DOCUMENT_TYPE_REQUEST_FORM, issued_unix=int(time.time()) + 2 * DAY),
         "issued_unix"),
        (document_request(d, e.DOCUMENT_TYPE_REQUEST_FORM, issued_unix=today() + 1, received_unix=today()),
         "issued_unix: after received_unix"),
        (document_request(d, e.DOCUMENT_TYPE_REQUEST_FORM, scan_sha256="AB" * 32), "scan_sha256"),
        (document_request(d, e.DOCUMENT_TYPE_REQUEST_FORM, scan_sha256="ab" * 31), "scan_sha256"),
        (document_request(d, e.DOCUMENT_TYPE_REQUEST_FORM, signed_by=["per-0000000000000000"]),
         "signed_by[0]: per-0000000000000000 is neither"),
        (document_request(d, e.DOCUMENT_TYPE_REQUEST_FORM, signed_by=["op-0000000000000000"]),
         "signed_by[0]"),
        (document_request(d, e.DOCUMENT_TYPE_REQUEST_FORM, signed_by=["jean"]), "signed_by[0]"),
        (document_request(d, e.DOCUMENT_TYPE_REQUEST_FORM, signed_by=[holder.person_id] * 2),
         "listed twice"),
        (document_request(d, e.DOCUMENT_TYPE_REQUEST_FORM, expires_unix=today() + DAY), "expires_unix"),
        (document_request(d, e.DOCUMENT_TYPE_REQUEST_FORM, note="a\x07b"), "note:"),
        (document_request(d, e.DOCUMENT_TYPE_REQUEST_FORM, reference="R\x00; DROP"), "NUL"),
        (document_request(d, e.DOCUMENT_TYPE_REQUEST_FORM, checked_by_operator_id="op-0000000000000000"),
         "checked_by_operator_id"),
        (document_request(d, e.DOCUMENT_TYPE_IDENTITY_DOCUMENT, identity_document_kind=0),
         "identity_document_kind"),
        (document_request(d, e.DOCUMENT_TYPE_IDENTITY_DOCUMENT, expires_unix=today() - DAY),
         "expired on"),
        (document_request("dos-0000000000000000", e.DOCUMENT_TYPE_REQUEST_FORM), "no dossier"),
    ]
    for message, words in document_cases:
        reply = call(system, "RecordDocument", message)
        assert reply.status in (INVALID, NOT_FOUND), (message, reply.status_message)
        assert words in reply.status_message, (message, reply.status_message)
    assert count(system, "documents") == before
    # Another organisation's person does not sign here.
    other_org, other_rl = company_with_rl(system, ops, name="Ailleurs SA")
    before = count(system, "documents")
    refused(system, "RecordDocument", document_request(d, e.DOCUMENT_TYPE_REQUEST_FORM,
                                                       signed_by=[other_rl.person_id]),
            INVALID, "neither a person of this organisation")
    assert count(system, "documents") == before
    # The AE named as checker is kept; the recorder is still the caller.
    document = record(system, d, e.DOCUMENT_TYPE_REQUEST_FORM, [holder.person_id],
                      checked_by_operator_id=ops["ae"], identity_document_kind=0)
    assert (document.checked_by_operator_id, document.recorded_by_operator_id) == (ops["ae"], ops["entry"])

    batch = new_batch(system, org)
    request_cases = [
        (dict(uses=[]), "uses:"), (dict(uses=[AUTH, AUTH]), "uses:"),
        (dict(uses=[ca_pb2.CERTIFICATE_USE_OCSP_RESPONDER]), "uses:"),
        (dict(uses=[AUTH], software_certificate=True), "software_certificate"),
        (dict(uses=[AUTH], level=7), "level:"),
        (dict(uses=[AUTH], person_id=other_rl.person_id), "not of the batch's organisation"),
        (dict(uses=[AUTH], batch_id="bat-0000000000000000"), "no batch"),
    ]
    before = count(system, "card_requests")
    for change, words in request_cases:
        fields = dict(dict(batch_id=batch.batch_id, person_id=holder.person_id), **change)
        reply = call(system, "CreateCardRequest", e.CreateCardRequestRequest(**fields))
        assert reply.status in (INVALID, NOT_FOUND) and words in reply.status_message, \
            (change, reply.status_message)
    assert count(system, "card_requests") == before
    software = new_request(system, batch, holder, uses=[SIGN], level=ca_pb2.POLICY_LEVEL_ONE_STAR,
                           software_certificate=True)
    assert software.software_certificate and software.level == ca_pb2.POLICY_LEVEL_ONE_STAR
    refused(system, "CreateBatch", e.CreateBatchRequest(organisation_id=org.organisation_id,
                                                        label="L\x07"), INVALID, "label:")


def test_card_requests_one_undecided_per_person_and_cancellation(system, ops):
    org, rl = company_with_rl(system, ops, name="Annulations SA")
    batch = new_batch(system, org)
    first = new_request(system, batch, rl)
    refused(system, "CreateCardRequest", e.CreateCardRequestRequest(
        batch_id=batch.batch_id, person_id=rl.person_id, uses=[SIGN]), EXISTS, first.card_request_id)
    refused(system, "CancelCardRequest", e.CancelCardRequestRequest(
        card_request_id=first.card_request_id), INVALID, "reason")
    cancelled = ok(system, "CancelCardRequest", e.CancelCardRequestRequest(
        card_request_id=first.card_request_id, reason="saisie en double"), e.CardRequest)
    assert cancelled.state == e.CARD_REQUEST_STATE_CANCELLED and cancelled.cancel_reason == "saisie en double"
    refused(system, "CancelCardRequest", e.CancelCardRequestRequest(
        card_request_id=first.card_request_id, reason="encore"), PRECONDITION)
    assert list(ok(system, "GetBatch", e.GetBatchRequest(batch_id=batch.batch_id), e.Batch)
                .card_request_ids) == []
    refused(system, "SubmitBatch", e.SubmitBatchRequest(batch_id=batch.batch_id), PRECONDITION,
            "no card request")
    second = new_request(system, batch, rl, uses=[SIGN])
    ok(system, "SubmitBatch", e.SubmitBatchRequest(batch_id=batch.batch_id), e.Batch)
    refused(system, "CreateCardRequest", e.CreateCardRequestRequest(
        batch_id=batch.batch_id, person_id=rl.person_id, uses=[AUTH]), PRECONDITION, "submitted already")
    (_, payload), = [ev for ev in events(system, "request.cancelled") if ev[0] == first.card_request_id]
    assert e.CardRequestChanged.FromString(bytes(payload)).state == e.CARD_REQUEST_STATE_CANCELLED
    assert audit_actions(system, second.card_request_id) == ["enrollment.card_request_created",
                                                             "enrollment.card_request_submitted"]


def test_one_open_dossier_at_a_time(system, ops):
    org, rl = company_with_rl(system, ops, name="Dossiers SA")
    refused(system, "OpenDossier", e.OpenDossierRequest(person_id=rl.person_id), PRECONDITION,
            rl.dossier_id, "still open")
    refused(system, "OpenDossier", e.OpenDossierRequest(organisation_id=org.organisation_id), PRECONDITION)
    refused(system, "OpenDossier", e.OpenDossierRequest(person_id=rl.person_id,
                                                        organisation_id=org.organisation_id), INVALID)
    refused(system, "OpenDossier", e.OpenDossierRequest(person_id="per-0000000000000000"), NOT_FOUND)
    listed = ok(system, "ListDossiers", e.ListDossiersRequest(organisation_id=org.organisation_id),
                e.ListDossiersReply)
    assert [(x.dossier_id, x.person_id, x.state) for x in listed.dossiers] == [
        (org.dossier_id, "", e.DOSSIER_STATE_OPEN), (rl.dossier_id, rl.person_id, e.DOSSIER_STATE_OPEN)]
    assert len(listed.dossiers[1].documents) == 4


def test_updates_change_contact_details_never_the_siret(system, ops):
    org, rl = company_with_rl(system, ops, name="Ancien Nom SA")
    updated = ok(system, "UpdateOrganisation", e.UpdateOrganisationRequest(
        organisation_id=org.organisation_id, legal_name="Nouveau Nom SA"), e.Organisation)
    assert (updated.legal_name, updated.siret) == ("Nouveau Nom SA", org.siret)
    assert list(updated.postal_address.lines) == list(org.postal_address.lines)
    refused(system, "UpdateOrganisation", e.UpdateOrganisationRequest(organisation_id=org.organisation_id),
            INVALID, "nothing to change")
    moved = ok(system, "UpdatePerson", e.UpdatePersonRequest(
        person_id=rl.person_id, postal_address=address(lines=["1 place du Marché"], city="LYON",
                                                       postal_code="69001"), language="en"), e.Person)
    assert (list(moved.postal_address.lines), moved.language, moved.email) == \
        (["1 place du Marché"], "en", rl.email)
    refused(system, "UpdatePerson", e.UpdatePersonRequest(person_id=rl.person_id, email="pas-un-mail"),
            INVALID, "email:")
    assert audit_actions(system, org.organisation_id) == ["enrollment.organisation_registered",
                                                          "enrollment.organisation_updated"]
    (subject, payload), = [ev for ev in events(system, "organisation.updated") if ev[0] == org.organisation_id]
    assert e.OrganisationChanged.FromString(bytes(payload)).legal_name == "Nouveau Nom SA"


def test_lists_page_through(system, ops):
    marker = secrets.token_hex(4)
    made = [register_org(system, name=f"Pagination {marker} {i}") for i in range(5)]
    seen, token = [], ""
    while True:
        page = ok(system, "ListOrganisations", e.ListOrganisationsRequest(
            name_contains=f"PAGINATION {marker}", limit=2, page_token=token), e.ListOrganisationsReply)
        seen += [o.organisation_id for o in page.organisations]
        assert len(page.organisations) <= 2
        token = page.next_page_token
        if not token:
            break
    assert seen == [o.organisation_id for o in made]
    refused(system, "ListOrganisations", e.ListOrganisationsRequest(page_token="abc"), INVALID, "page_token")


# --- roles ------------------------------------------------------------------

def test_each_method_admits_its_roles_only(system, ops):
    org, rl = company_with_rl(system, ops, name="Rôles SA")
    register = e.RegisterOrganisationRequest(legal_name="Intrus SA", siret=new_siret(), kind=COMPANY,
                                             postal_address=address())
    # Not an operator, a validation operator, a controller, a service: no writes.
    for identity in ("client", VALIDATOR, CONTROLLER, "validation", AE):
        refused(system, "RegisterOrganisation", register, DENIED, "entry", identity=identity)
    assert count(system, "organisations", "siret = %s", register.siret) == 0
    denied = rows(system, "SELECT actor FROM enrollment.audit_log WHERE action = 'bus.permission_denied'"
                          " AND subject = 'RegisterOrganisation'")
    assert {key_of(system, who) for who in ("client", VALIDATOR)} <= {a for (a,) in denied}
    # Reads, as the proto lists them.
    get_org = e.GetOrganisationRequest(organisation_id=org.organisation_id)
    for identity in (ENTRY, AE, VALIDATOR, CONTROLLER, "validation"):
        ok(system, "GetOrganisation", get_org, e.Organisation, identity=identity)
    refused(system, "GetOrganisation", get_org, DENIED, identity="client")
    ok(system, "CheckDossier", e.CheckDossierRequest(dossier_id=rl.dossier_id), e.DossierCheck, identity=AE)
    refused(system, "RecordDocument", document_request(rl.dossier_id, e.DOCUMENT_TYPE_REQUEST_FORM),
            DENIED, identity=AE)
    refused(system, "ListDossiers", e.ListDossiersRequest(), DENIED, identity="validation")
    ok(system, "ListDossiers", e.ListDossiersRequest(), e.ListDossiersReply, identity=CONTROLLER)
    batch = new_batch(system, org)
    refused(system, "CheckBatch", e.CheckBatchRequest(batch_id=batch.batch_id), DENIED, identity=VALIDATOR)
    ok(system, "GetBatch", e.GetBatchRequest(batch_id=batch.batch_id), e.Batch, identity="validation")
    refused(system, "SubmitBatch", e.SubmitBatchRequest(batch_id=batch.batch_id), DENIED, identity=CONTROLLER)


# --- validation's decisions, applied from its events ------------------------

def test_validation_decisions_applied_once_from_events(system, ops):
    org, rl = company_with_rl(system, ops, name="Décisions SA")
    mc = register_person(system, org, MC, "Marc", "Petit", designated_by=rl.person_id)
    complete_dossier(system, ops, mc, witness=mc, rl=rl)
    batch = new_batch(system, org)
    validated = new_request(system, batch, rl)
    rejected = new_request(system, batch, mc)
    ok(system, "SubmitBatch", e.SubmitBatchRequest(batch_id=batch.batch_id), e.Batch)

    # The apply function, called as the event consumer calls it, twice per
    # event, by tests/unit/enrollment/test_decisions.c on the service's
    # database.
    env = dict(os.environ, TSR_TEST_DSN=system.services["enrollment"].dsn,
               TSR_TEST_VALIDATE=validated.card_request_id, TSR_TEST_REJECT=rejected.card_request_id,
               TSR_TEST_DECIDER=ops["validation"])
    result = subprocess.run([str(BUILD / "tests" / "unit" / "enrollment_test_decisions")], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SKIPPED" not in result.stdout, result.stdout

    good = ok(system, "GetCardRequest", e.GetCardRequestRequest(card_request_id=validated.card_request_id),
              e.CardRequest)
    assert good.state == e.CARD_REQUEST_STATE_VALIDATED
    assert good.decided_by_operator_id == ops["validation"] and good.decided_at_unix == 1767225600
    bad = ok(system, "GetCardRequest", e.GetCardRequestRequest(card_request_id=rejected.card_request_id),
             e.CardRequest)
    assert bad.state == e.CARD_REQUEST_STATE_REJECTED
    assert bad.rejection_reason == "pièce d'identité illisible"
    # One event per decision although each was applied twice.
    changed = [e.CardRequestChanged.FromString(bytes(p)) for s, p in events(system, "card_request.changed")
               if s in (validated.card_request_id, rejected.card_request_id)]
    assert sorted(c.state for c in changed) == [e.CARD_REQUEST_STATE_VALIDATED, e.CARD_REQUEST_STATE_REJECTED]
    assert audit_actions(system, validated.card_request_id)[-1] == "enrollment.card_request_validated"
    assert audit_actions(system, rejected.card_request_id)[-1] == "enrollment.card_request_rejected"
    # Nothing awaits a decision: the batch is decided.
    assert ok(system, "GetBatch", e.GetBatchRequest(batch_id=batch.batch_id), e.Batch).state == \
        e.BATCH_STATE_DECIDED
    # The MC's only request was rejected: the dossier is closed and archived
    # for 5 years; a new one may be opened.
    dossier = ok(system, "GetDossier", e.GetDossierRequest(dossier_id=mc.dossier_id), e.Dossier)
    assert dossier.state == e.DOSSIER_STATE_ARCHIVED
    assert 5 * 365 * DAY <= dossier.retain_until_unix - dossier.archived_at_unix <= 5 * 366 * DAY
    assert audit_actions(system, mc.dossier_id) == ["enrollment.dossier_opened", "enrollment.dossier_closed",
                                                    "enrollment.dossier_archived"]
    refused(system, "RecordDocument", document_request(mc.dossier_id, e.DOCUMENT_TYPE_REQUEST_FORM),
            PRECONDITION, "closed")
    renewed = ok(system, "OpenDossier", e.OpenDossierRequest(person_id=mc.person_id), e.Dossier)
    assert ok(system, "GetPerson", e.GetPersonRequest(person_id=mc.person_id), e.Person).dossier_id == \
        renewed.dossier_id
    # The validated RL's dossier stays open.
    assert ok(system, "GetDossier", e.GetDossierRequest(dossier_id=rl.dossier_id), e.Dossier).state == \
        e.DOSSIER_STATE_OPEN
    (actor,), = set(rows(system, "SELECT actor FROM enrollment.audit_log WHERE subject = %s AND action ="
                                 " 'enrollment.card_request_validated'", validated.card_request_id))
    assert actor == "validation"
    # The archive reads it back, with what it justified, for the controller
    # and the security officer only.
    export = e.ExportDossierArchiveRequest(organisation_id=org.organisation_id)
    for identity in (CONTROLLER, "officer"):
        archive = ok(system, "ExportDossierArchive", export, e.ExportDossierArchiveReply, identity=identity)
        archived, = archive.dossiers
        assert archived.dossier.dossier_id == mc.dossier_id and len(archived.dossier.documents) == 5
        assert archived.person.person_id == mc.person_id
        assert archived.organisation.siret == org.siret
        assert [r.card_request_id for r in archived.card_requests] == [rejected.card_request_id]
        assert archived.retain_until_unix == dossier.retain_until_unix
        assert all(len(d.scan_sha256) == 64 for d in archived.dossier.documents)
    refused(system, "ExportDossierArchive", export, DENIED)
    later = e.ExportDossierArchiveRequest(archived_from_unix=int(time.time()) + DAY)
    assert not ok(system, "ExportDossierArchive", later, e.ExportDossierArchiveReply,
                  identity=CONTROLLER).dossiers
    audit_verified(system)


def test_audit_chain_verifies_and_shows_tampering(system, ops):
    company_with_rl(system, ops, name="Fin SA")
    audit_verified(system)
    # The audit table takes no UPDATE, even from the owner.
    conn = system.cluster.connect()
    try:
        with conn.cursor() as cur:
            with pytest.raises(Exception):
                cur.execute("UPDATE enrollment.audit_log SET details = '{}' WHERE seq = 1")
    finally:
        conn.close()
