"""Every metadata and query value is bounded where it enters (issue 13, item 4).

A 100 KB $XDSDocumentEntryPatientId was an HTTP 500 on PostgreSQL (the audit insert overflowed
varchar(256)) and the query went unaudited. Each over-long value must get the transaction's
XDS error naming the field, on SQLite and PostgreSQL, write nothing, and be audited.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from feed_messages import adt, fields, patients_on
from registry_fixtures import PATIENT, Submission, dump, new_registry
from soap_support import NS, QUERY, REGISTER, call, envelope
from sqlalchemy import Engine, select

from ebrim.model import Code, LocalizedString
from ebrim.render import render_submit_objects_request
from ebrim.storedquery import FindDocumentsQuery, StoredQueryRequest, render_adhoc_query_request
from ebrim.vocabulary import AvailabilityStatus
from registry import Registry, RegistrySettings
from registry.feed import handle_message
from registry.records_schema import audit_events
from soap import make_app

PATH = "/xds/registry"
LONG = "9" * 100_000


@pytest.fixture
def registry(engine: Engine) -> Registry:
    return new_registry(engine, PATIENT)


@pytest.fixture
def app(registry: Registry):
    return make_app(registry=registry)


def errors_of(answer) -> list[tuple[str, str]]:
    assert answer.status == 200, answer.body[:500]
    found = answer.xml.findall(".//rs:RegistryError", NS)
    return [(e.get("errorCode"), e.get("codeContext")) for e in found]


def audited(engine: Engine, transaction: str) -> list[tuple[str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_events.c.outcome, audit_events.c.patient_id).where(
                audit_events.c.transaction == transaction
            )
        ).all()
    return [(row.outcome, row.patient_id) for row in rows]


def test_a_100kb_patient_id_in_a_query_is_an_xds_error_and_audited(app, engine) -> None:
    query = FindDocumentsQuery(patient_id=LONG, statuses=(AvailabilityStatus.APPROVED.value,))
    body = render_adhoc_query_request(StoredQueryRequest(query))

    answer = call(app, PATH, envelope(QUERY, body))

    ((code, context),) = errors_of(answer)
    assert code == "XDSRegistryError"
    assert "$XDSDocumentEntryPatientId" in context and "100000 characters" in context
    ((outcome, patient),) = audited(engine, "ITI-18")
    assert outcome != "success"
    assert patient is None or len(patient) <= 256


def _long_document(field: str):
    submission = Submission()
    doc = submission.add()
    changes = {
        "title": {"title": LocalizedString("T" * 2000)},
        "class code": {"class_code": Code("C" * 300, "1.2.3", "x")},
        "patient id": {"patient_id": "P" * 300 + "^^^&1.2.3&ISO"},
        "unique id": {"unique_id": "1." * 150},
        "mime type": {"mime_type": "text/" + "x" * 300},
        "source patient id": {"source_patient_id": "S" * 300 + "^^^&1.2.3&ISO"},
        "home": {"home": "urn:oid:" + "1." * 100},
        "uri": {"uri": "http://" + "u" * 300},
        "legal authenticator": {"legal_authenticator": "L" * 300},
        "language": {"language_code": "f" * 300},
    }[field]
    submission.documents[0] = replace(doc, **changes)
    return submission


@pytest.mark.parametrize(
    "field",
    [
        "title",
        "class code",
        "patient id",
        "unique id",
        "mime type",
        "source patient id",
        "home",
        "uri",
        "legal authenticator",
        "language",
    ],
)
def test_an_over_long_metadata_value_is_a_metadata_error_and_writes_nothing(
    app, engine, field
) -> None:
    before = dump(engine)
    request = render_submit_objects_request(_long_document(field).build())

    answer = call(app, PATH, envelope(REGISTER, request))

    errors = errors_of(answer)
    assert errors and all(code == "XDSRegistryMetadataError" for code, _ in errors), errors
    assert dump(engine) == before
    assert [outcome for outcome, _ in audited(engine, "ITI-42")] != ["success"]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
@pytest.mark.parametrize("event", ["A01", "A40"])
def test_an_over_long_patient_id_in_the_feed_is_an_ae_naming_the_field(
    backend, event, tmp_path, request
) -> None:
    # On PostgreSQL the insert overflowed and the feed answered "storage unavailable" (AR).
    long_id = "7" * 300 + "^^^&1.2.3&ISO"
    pid3, mrg1 = (PATIENT, long_id) if event == "A40" else (long_id, None)
    with patients_on(backend, tmp_path, request) as patients:
        if event == "A40":
            handle_message(patients, adt("A01", PATIENT), RegistrySettings())
        ack = handle_message(patients, adt(event, pid3, mrg1=mrg1), RegistrySettings())
    assert fields(ack, "MSA")[1] == "AE", ack
    err = fields(ack, "ERR")
    assert "MRG^1^1" in "|".join(err) if event == "A40" else "PID^1^3" in "|".join(err), err
    assert "102" in "|".join(err)


def test_an_audit_that_cannot_be_written_refuses_the_query(app, engine) -> None:
    # An access never goes through unrecorded: the audit table gone, the query is refused.
    with engine.begin() as conn:
        conn.execute(audit_events.delete())
        conn.exec_driver_sql("ALTER TABLE audit_events RENAME TO audit_events_away")
    try:
        query = FindDocumentsQuery(
            patient_id=PATIENT, statuses=(AvailabilityStatus.APPROVED.value,)
        )
        answer = call(
            app, PATH, envelope(QUERY, render_adhoc_query_request(StoredQueryRequest(query)))
        )
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE audit_events_away RENAME TO audit_events")
    ((code, context),) = errors_of(answer)
    assert code == "XDSRegistryBusy" and "could not be traced" in context
