"""`xds serve --audit-syslog tls://…`: the transactions of a real server reach a loopback
syslog collector over mutual TLS as schema-valid DICOM audit messages (ITI-20)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from atna_support import SyslogCollector, parse_syslog
from dicom_audit import assert_dicom_audit_valid
from e2e_support import PATIENT, feed, submission, xds
from security_support import DevPki, make_pki

from ebrim.storedquery import FindDocumentsQuery, StoredQueryRequest
from ebrim.vocabulary import AvailabilityStatus
from ebrim.xdsb import DocumentLocator
from soap.client import XdsClient
from xds_cli.server import ServerProcess, free_port

CDA = b"<ClinicalDocument xmlns='urn:hl7-org:v3'/>"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return make_pki(tmp_path_factory.mktemp("audit-pki"))


@pytest.fixture(scope="module")
def collector(pki: DevPki) -> Iterator[SyslogCollector]:
    with SyslogCollector(pki.server.cert, pki.server.key, pki.ca.chain) as running:
        yield running


@pytest.fixture(scope="module")
def server(
    pki: DevPki, collector: SyslogCollector, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    port = free_port()
    args = [
        "--audit-syslog", str(collector.destination),
        "--audit-ca", str(pki.ca.chain),
        "--audit-cert", str(pki.hospital.tls_cert),
        "--audit-key", str(pki.hospital.tls_key),
        "--audit-source-id", "xds-e2e",
        "--public-url", f"http://localhost:{port}",
    ]  # fmt: skip
    data = tmp_path_factory.mktemp("audit-server")
    with ServerProcess(data, args=args, workers=2, port=port) as running:
        feed(running)
        yield running


def messages_by_transaction(collector: SyslogCollector, count: int) -> dict[str, list]:
    found: dict[str, list] = {}
    for message in collector.wait_for(count, timeout=20):
        record = parse_syslog(message)
        assert record.pri == 85 and record.msgid == "IHE+RFC-3881"
        root = assert_dicom_audit_valid(record.msg)
        code = root.find("EventIdentification/EventTypeCode").get("csd-code")
        found.setdefault(code, []).append(root)
    return found


def test_a_submission_query_and_retrieve_are_audited_at_the_collector(
    server: ServerProcess, collector: SyslogCollector, tmp_path: Path
) -> None:
    client = XdsClient(server.url, timeout=(5, 20))
    metadata = submission()
    assert client.provide_and_register(metadata, {"Document01": CDA}).status.name == "SUCCESS"
    query = FindDocumentsQuery(patient_id=PATIENT, statuses=(AvailabilityStatus.APPROVED.value,))
    assert client.query(StoredQueryRequest(query)).response.status.name == "SUCCESS"
    unique_id = metadata.documents[0].unique_id
    repository_id = (server.data / "repository-id").read_text().strip()
    locator = DocumentLocator(repository_id, unique_id)
    client.retrieve([locator], lambda _: tmp_path / "out.xml")
    assert (tmp_path / "out.xml").read_bytes() == CDA

    found = messages_by_transaction(collector, 3)

    register, stored_query, retrieve = found["ITI-42"][0], found["ITI-18"][0], found["ITI-43"][0]
    assert register.find("AuditSourceIdentification").get("AuditSourceID") == "xds-e2e"
    patient_ids = {
        o.get("ParticipantObjectID") for o in register.iter("ParticipantObjectIdentification")
    }
    assert PATIENT in patient_ids
    assert metadata.submission_sets[0].unique_id in patient_ids
    source_system = register.findall("ActiveParticipant")[0]
    assert source_system.get("NetworkAccessPointID") == "127.0.0.1"
    assert source_system.get("NetworkAccessPointTypeCode") == "2"
    server_participant = register.findall("ActiveParticipant")[-1]
    assert server_participant.get("UserID") == f"http://localhost:{server.port}/xds/registry"
    assert server_participant.get("NetworkAccessPointID") == "localhost"
    assert (
        stored_query.find("ParticipantObjectIdentification[@ParticipantObjectTypeCodeRole='24']")
        is not None
    )
    document = retrieve.find("ParticipantObjectIdentification[@ParticipantObjectTypeCodeRole='3']")
    assert document.get("ParticipantObjectID") == unique_id
    detail = document.find("ParticipantObjectDetail")
    assert base64.b64decode(detail.get("value")).decode() == repository_id


def test_the_server_starts_even_when_the_collector_is_away(pki: DevPki, tmp_path: Path) -> None:
    """Auditing to the collector is best effort at start: the table keeps every event."""
    args = [
        "--audit-syslog", "tls://127.0.0.1:9",
        "--audit-ca", str(pki.ca.chain),
        "--audit-cert", str(pki.hospital.tls_cert),
        "--audit-key", str(pki.hospital.tls_key),
    ]  # fmt: skip
    with ServerProcess(tmp_path / "data", args=args) as running:
        feed(running)
        assert "audit trail forwarded to tls://127.0.0.1:9" in running.log()


def test_a_bad_audit_destination_stops_the_server_at_start(tmp_path: Path) -> None:
    result = xds("serve", "--data", str(tmp_path), "--audit-syslog", "ftp://collector", timeout=30)
    assert result.returncode == 2
    assert "ftp" in result.stderr
