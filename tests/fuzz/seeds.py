#!/usr/bin/python3
"""Writes the seed inputs of the fuzz_payload_* and fuzz_portal_* targets
into corpus/<target>/: a few valid requests of each service (method
selector byte, then the encoded request), and holder input for the portal.

    /usr/bin/python3 tests/fuzz/seeds.py <builddir>

<builddir>/gen/python holds the generated protobuf modules. The method
selector is the rpc's index in the service (the .proto's order), as
fuzz_payload.c reads it. Inputs that found bugs are kept in the corpus by
hand, beside these.
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(sys.argv[1], "gen", "python"))

from tessera.v1 import ca_pb2, enrollment_pb2, mail_pb2, perso_pb2  # noqa: E402
from tessera.v1 import publisher_pb2, revocation_pb2, validation_pb2  # noqa: E402

CSR = open(os.path.join(HERE, "corpus", "csr", "ec-p256"), "rb").read()
SERIAL = "5f3a9c0e1d2b4a6f8e7d"
SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
UUID = "6f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b"
NOW = int(time.time()) // 86400 * 86400   # dates are checked against the clock


def address(**fields):
    values = dict(lines=["12 rue de la Paix"], postal_code="75002", city="Paris",
                  country_code="FR")
    values.update(fields)
    return enrollment_pb2.PostalAddress(**values)


def siret(base="1234567890000"):
    """base and its Luhn check digit."""
    for digit in "0123456789":
        total = 0
        for i, c in enumerate(reversed(base + digit)):
            d = int(c) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return base + digit
    raise ValueError(base)


def write(target, name, data):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as out:
        out.write(data)


def requests(target, module, service, seeds):
    methods = [m.name for m in module.DESCRIPTOR.services_by_name[service].methods]
    for name, method, message in seeds:
        write(target, name, bytes([methods.index(method)]) + message.SerializeToString())


requests("payload_revocation", revocation_pb2, "Revocation", [
    ("online", "RevokeOnline", revocation_pb2.RevokeOnlineRequest(
        account_id="acc-1", serials=[SERIAL], reason=1, statement="lost",
        client_address="192.0.2.1", user_agent="Firefox")),
    ("start_phone", "StartPhoneChallenge", revocation_pb2.StartPhoneChallengeRequest(
        caller_person_id="per-0123456789abcdef", serials=[SERIAL, "0a"])),
    ("answer_phone", "AnswerPhoneChallenge", revocation_pb2.AnswerPhoneChallengeRequest(
        challenge_id="chl-1", answers=[validation_pb2.SecretAnswer(question_id=1, answer="Rex")])),
    ("record_phone", "RecordPhoneRevocation", revocation_pb2.RecordPhoneRevocationRequest(
        challenge_id="chl-1", requester_role=3, serials=[SERIAL], reason=1)),
    ("paper", "RecordPaperRevocation", revocation_pb2.RecordPaperRevocationRequest(
        requester_person_id="per-0123456789abcdef", requester_role=1, serials=[SERIAL],
        reason=1, statement="stolen", form_sha256=SHA256, form_received_unix=NOW,
        signature_matches=True, reference_document_id="doc-0123456789abcdef")),
    ("decide", "DecideRevocation", revocation_pb2.DecideRevocationRequest(
        revocation_id="rev-1", approve=False, note="not the holder's")),
    ("list", "ListRevocations", revocation_pb2.ListRevocationsRequest(
        state=1, channel=2, limit=10, page_token="1764000000:12")),
    ("get", "GetRevocation", revocation_pb2.GetRevocationRequest(revocation_id="rev-1")),
])

requests("payload_validation", validation_pb2, "Validation", [
    ("login", "Login", validation_pb2.LoginRequest(
        login="jeanne.martin@example.fr", password="correct horse battery",
        client_address="192.0.2.1", user_agent="Firefox")),
    ("set_password", "SetPassword", validation_pb2.SetPasswordRequest(
        account_id="acc-1", current_password="old one-time pass",
        new_password="Quatre chevaux dorment ici", user_agent="Firefox")),
    ("set_password_token", "SetPassword", validation_pb2.SetPasswordRequest(
        account_id="acc-1", password_change_token="a" * 64, new_password="jeanne.martin2024")),
    ("questions", "SetSecretQuestions", validation_pb2.SetSecretQuestionsRequest(
        account_id="acc-1", pairs=[validation_pb2.SecretQuestionAnswer(
            question="Question %d ?" % i, answer="Réponse %d" % i) for i in range(5)])),
    ("answers", "VerifyAnswers", validation_pb2.VerifyAnswersRequest(
        person_id="per-0123456789abcdef",
        answers=[validation_pb2.SecretAnswer(question_id=i, answer="  Réponse  ") for i in (1, 3)])),
    ("reset", "ResetPassword", validation_pb2.ResetPasswordRequest(
        account_id="acc-1", reason="identity card seen at the desk")),
    ("unlock", "UnlockAccount", validation_pb2.UnlockAccountRequest(
        account_id="acc-1", reason="called back")),
])

person = enrollment_pb2.Person(
    person_id="per-0123456789abcdef", given_name="Jeanne", surname="Martin",
    postal_address=address(lines=["Bâtiment B", "12 rue de la Paix"]))
write("payload_mail", "person", b"\xff" + person.SerializeToString())
write("payload_mail", "person_abroad", b"\xff" + enrollment_pb2.Person(
    given_name="Anna", surname="Schmidt",
    postal_address=address(postal_code="10115", city="Berlin", country_code="DE"))
    .SerializeToString())
requests("payload_mail", mail_pb2, "Mail", [
    ("prepare", "PrepareShipment", mail_pb2.PrepareShipmentRequest(
        card_uuid=UUID, recipient_person_id="per-0123456789abcdef")),
    ("shipment_state", "SetShipmentState", mail_pb2.SetShipmentStateRequest(
        shipment_id="shp-1", state=4, tracking_number="1A23456789012", occurred_at_unix=NOW,
        note="left with the neighbour")),
    ("acceptance_paper", "RecordAcceptance", mail_pb2.RecordAcceptanceRequest(
        channel=1, card_uuid=UUID, serials=[SERIAL], signed_acceptance_sha256=SHA256,
        handover_report_sha256=SHA256, received_unix=NOW)),
    ("acceptance_portal", "RecordAcceptance", mail_pb2.RecordAcceptanceRequest(
        channel=2, card_uuid=UUID, account_id="acc-1", client_address="192.0.2.1",
        user_agent="Firefox")),
])

requests("payload_perso", perso_pb2, "Perso", [
    ("start_job", "StartJob", perso_pb2.StartJobRequest(
        card_request_id="req-1", reader_name="Virtual PCD 00 00", key_algorithm=2)),
    ("change_state", "ChangeCardState", perso_pb2.ChangeCardStateRequest(
        card_uuid=UUID, to_state=5, reason="holder reported it lost")),
    ("activate", "ActivateCard", perso_pb2.ActivateCardRequest(
        account_id="acc-1", card_uuid=UUID, activation_code="ABCD-EFGH-JKLM",
        client_address="192.0.2.1", user_agent="Firefox")),
    ("issue_from_csr", "IssueFromCsr", perso_pb2.IssueFromCsrRequest(
        card_request_id="req-1", csr_der=CSR, use=1)),
    ("issue_pkcs12", "IssuePkcs12", perso_pb2.IssuePkcs12Request(
        card_request_id="req-1", account_id="acc-1", uses=[1, 2],
        password="dix-huit caractères")),
    ("request_key_recovery", "RequestKeyRecovery", perso_pb2.RequestKeyRecoveryRequest(
        person_id="per-0123456789abcdef", purpose=2, reason="réquisition judiciaire",
        reference="TJ Paris 26/0042")),
])

subject = ca_pb2.Subject(given_name="Jeanne", surname="Martin", organization="Exemple SA",
                         organization_id="123456789")
requests("payload_ca", ca_pb2, "Ca", [
    ("issue_holder", "IssueCertificate", ca_pb2.IssueCertificateRequest(
        card_request_id="req-1", holder_id="per-0123456789abcdef", csr_der=CSR, use=1, level=2,
        subject=subject, validity_days=365, on_hold=True)),
    ("issue_signature", "IssueCertificate", ca_pb2.IssueCertificateRequest(
        card_request_id="req-2", holder_id="per-0123456789abcdef", csr_der=CSR, use=2, level=3,
        subject=subject)),
    ("issue_service", "IssueCertificate", ca_pb2.IssueCertificateRequest(
        card_request_id="svc-1", holder_id="svc-mail", csr_der=CSR, use=4, level=2,
        subject=ca_pb2.Subject(common_name="tessera mail", organization="Exemple SA",
                               email="noreply@example.fr"))),
])

requests("payload_enrollment", enrollment_pb2, "Enrollment", [
    ("organisation", "RegisterOrganisation", enrollment_pb2.RegisterOrganisationRequest(
        legal_name="Exemple SA", siret=siret(), kind=1, postal_address=address())),
    ("person", "RegisterPerson", enrollment_pb2.RegisterPersonRequest(
        organisation_id="org-0123456789abcdef", role=3, given_name="Jeanne", surname="Martin",
        email="jeanne.martin@example.fr", postal_address=address(), language="fr")),
    ("person_mc", "RegisterPerson", enrollment_pb2.RegisterPersonRequest(
        organisation_id="org-0123456789abcdef", role=2, given_name="Éloïse", surname="Dupré",
        email="eloise@example.fr", postal_address=address(), language="en",
        designated_by_person_id="per-0123456789abcdef")),
    ("document_identity", "RecordDocument", enrollment_pb2.RecordDocumentRequest(
        dossier_id="dos-0123456789abcdef", type=4, identity_document_kind=2,
        reference="19AB12345", received_unix=NOW - 86400, issued_unix=NOW - 86400 * 900,
        expires_unix=NOW + 86400 * 900, scan_sha256=SHA256)),
    ("document_kbis", "RecordDocument", enrollment_pb2.RecordDocumentRequest(
        dossier_id="dos-0123456789abcdef", type=6, reference="K-2025-1",
        received_unix=NOW - 86400, issued_unix=NOW - 86400 * 30,
        signed_by=["per-0123456789abcdef", "op-0123456789abcdef"], note="original seen")),
    ("card_request", "CreateCardRequest", enrollment_pb2.CreateCardRequestRequest(
        batch_id="bat-0123456789abcdef", person_id="per-0123456789abcdef", level=2,
        uses=[1, 2])),
    ("operator", "AddOperator", enrollment_pb2.AddOperatorRequest(
        name="Claire Agent", email="claire@example.fr", language="fr",
        public_key="rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", roles=[3, 7])),
])

requests("payload_publisher", publisher_pb2, "Publisher", [
    ("list_crls", "ListCrls", publisher_pb2.ListCrlsRequest(
        issuer="issuing", kind=1, limit=10, page_token="1764000000123.42")),
    ("get_crl", "GetCrl", publisher_pb2.GetCrlRequest(issuer="issuing", kind=2)),
    ("publish_now", "PublishNow", publisher_pb2.PublishNowRequest(kind=1, reason="key ceremony")),
])

for name, body in [
        ("login", b"csrf=" + b"ab" * 32 + b"&login=jeanne.martin%40example.fr&password=s%C3%A9cret+ici"),
        ("revoke", b"csrf=00&card_uuid=" + UUID.encode() + b"&reason=key_compromise"
                   b"&statement=perdue%0D%0Adans+le+m%C3%A9tro&confirm=yes"),
        ("questions", b"&".join(b"q%d=Question+%d&a%d=R%%C3%%A9ponse" % (i, i, i)
                                for i in range(1, 6))),
        ("empty_pairs", b"a=1&&b=&c"),
        ("duplicate", b"a=1&a=2"),
        ("bad_escape", b"a=%zz"),
        ("nul", b"a=%00")]:
    write("portal_form", name, body)

for name, selector, text in [
        ("accept_language", 0, "en-GB,en;q=0.9,fr;q=0.8, *;q=0.1"),
        ("accept_language_fr", 0, "fr-FR;q=1.0,en;q=0.5"),
        ("lang_cookie", 1, "en"),
        ("session_cookie", 2, "0" * 64),
        ("query_serial", 3, SERIAL),
        ("query_card", 3, UUID)]:
    write("portal_values", name, bytes([selector]) + text.encode())
