"""A serial drawn twice: the issuance draws again within its transaction.

The certificates table's primary key is what makes serials unique; the
insert skips a serial already taken (ON CONFLICT) and the ca signs a
certificate with a new one. A collision is 2^-127 per pair, so the test
forces one: a trigger gives the first insert after it is set the serial
of a certificate already issued."""
from cryptography import x509

from tessera.v1 import ca_pb2, envelope_pb2
from test_ca import (active, ca_rows, ceremony, csr_der, drop_trigger,  # noqa: F401
                     insert_trigger, issue, system)


FORCE_COLLISION = insert_trigger("certificates", "test_force_collision", """
    IF NOT EXISTS (SELECT 1 FROM test_collisions) THEN
        INSERT INTO test_collisions VALUES (1);
        SELECT serial, serial_hex INTO NEW.serial, NEW.serial_hex
          FROM certificates WHERE card_request_id = 'serial-first';
    END IF;""", prelude="CREATE TABLE ca.test_collisions (forced int);")


def test_a_serial_already_taken_is_drawn_again(system, active):
    first = issue(system, csr_der()[0], request_id="serial-first", holder="h-serial-1")
    assert first.status == envelope_pb2.STATUS_OK, first.status_message
    taken = ca_pb2.IssueCertificateReply.FromString(first.payload).certificate.serial_hex
    conn = system.cluster.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(FORCE_COLLISION)
        reply = issue(system, csr_der()[0], request_id="serial-second", holder="h-serial-2")
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM ca.test_collisions")
            forced = cur.fetchone()[0]
            cur.execute(drop_trigger("certificates", "test_force_collision")
                        + "; DROP TABLE ca.test_collisions")
    finally:
        conn.close()
    assert forced == 1, "the trigger never gave an insert the taken serial"
    assert reply.status == envelope_pb2.STATUS_OK, reply.status_message
    record = ca_pb2.IssueCertificateReply.FromString(reply.payload).certificate
    assert record.serial_hex != taken
    cert = x509.load_der_x509_certificate(record.certificate_der)
    assert format(cert.serial_number, "x").zfill(len(record.serial_hex)) == record.serial_hex
    rows = ca_rows(system, "SELECT serial_hex, card_request_id FROM ca.certificates"
                           " WHERE serial_hex IN (%s, %s) ORDER BY card_request_id",
                   taken, record.serial_hex)
    assert rows == [(taken, "serial-first"), (record.serial_hex, "serial-second")]
