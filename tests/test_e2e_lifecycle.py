"""ITI-57, ITI-62 and ITI-86 end to end: `xds serve` in a subprocess, the client and CLI verbs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import zeep
from e2e_support import PATIENT, feed, submission, xds
from lxml import etree

from ebrim.model import Association, DocumentEntry, LocalizedString, Metadata, Slot
from ebrim.render import render_submit_objects_request
from ebrim.storedquery import StoredQueryRequest
from ebrim.storedquery.params import (
    FindDocumentsQuery,
    GetDocumentsQuery,
    GetSubmissionSetAndContentsQuery,
)
from ebrim.vocabulary import AssociationType, AvailabilityStatus, SubmissionSetStatus
from ebrim.xdsb import DocumentLocator
from soap.client import XdsClient
from xds_cli.metadata import new_oid
from xds_cli.server import ServerProcess

APPROVED = AvailabilityStatus.APPROVED.value
DEPRECATED = AvailabilityStatus.DEPRECATED.value


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("e2e-lifecycle")
    with ServerProcess(data) as running:
        feed(running)
        yield running


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> XdsClient:
    return XdsClient(server.url, timeout=(5, 20))


def _provided(client: XdsClient, content: bytes = b"<doc/>") -> tuple[Metadata, DocumentEntry]:
    """Submit one document (ITI-41); the submission and its entry as registered."""
    metadata = submission()
    response = client.provide_and_register(metadata, {metadata.documents[0].entry_uuid: content})
    assert response.status.name == "SUCCESS", response.errors
    return metadata, _entry(client, metadata.documents[0].unique_id or "")


def _entry(client: XdsClient, unique_id: str) -> DocumentEntry:
    answer = client.query(StoredQueryRequest(GetDocumentsQuery(unique_ids=(unique_id,))))
    [entry] = answer.metadata.documents
    return entry


def _found(client: XdsClient, status: str, level: int | None = None) -> dict[str, DocumentEntry]:
    query = FindDocumentsQuery(patient_id=PATIENT, statuses=(status,))
    answer = client.query(StoredQueryRequest(query, metadata_level=level))
    return {doc.unique_id or "": doc for doc in answer.metadata.documents}


def _new_version(entry: DocumentEntry, title: str) -> Metadata:
    """The ITI-57 request replacing `entry` by version 2 with another title."""
    base = submission()
    update = dataclasses.replace(
        entry, entry_uuid="DocumentV2", title=LocalizedString(title), status=None, version=None
    )
    membership = Association(
        entry_uuid="Membership01",
        association_type=AssociationType.HAS_MEMBER.value,
        source=base.submission_sets[0].entry_uuid,
        target="DocumentV2",
        submission_set_status=SubmissionSetStatus.ORIGINAL.value,
        extra_slots=(Slot("PreviousVersion", (entry.version or "1",)),),
    )
    return Metadata(
        submission_sets=base.submission_sets, documents=(update,), associations=(membership,)
    )


def test_update_creates_version_2_and_deprecates_version_1(server, client, tmp_path: Path):
    _, entry = _provided(client)
    request = tmp_path / "update.xml"
    request.write_bytes(etree.tostring(render_submit_objects_request(_new_version(entry, "V2"))))

    run = xds("update", str(request), "--url", server.url)

    assert run.returncode == 0, run.stdout + run.stderr
    current = _found(client, APPROVED)[entry.unique_id or ""]
    assert (current.version, current.title.value if current.title else None) == ("2", "V2")
    assert current.logical_id == entry.logical_id and current.entry_uuid != entry.entry_uuid
    assert entry.unique_id not in _found(client, DEPRECATED)  # level 1: latest versions only
    previous = _found(client, DEPRECATED, level=2)[entry.unique_id or ""]
    assert (previous.entry_uuid, previous.version) == (entry.entry_uuid, "1")


def test_status_to_deprecated_shows_in_the_next_query(server, client):
    _, entry = _provided(client)

    run = xds("status", entry.unique_id or "", "--to", "deprecated", "--url", server.url)

    assert run.returncode == 0, run.stdout + run.stderr
    assert "Approved -> Deprecated" in run.stdout
    assert entry.unique_id not in _found(client, APPROVED)
    assert _found(client, DEPRECATED)[entry.unique_id or ""].entry_uuid == entry.entry_uuid


def test_delete_leaving_references_is_refused_and_the_registry_unchanged(server, client):
    _, entry = _provided(client)

    run = xds("delete", entry.entry_uuid, "--url", server.url)

    assert run.returncode == 1, run.stdout + run.stderr
    assert "ReferencesExistException" in run.stdout
    assert _found(client, APPROVED)[entry.unique_id or ""].entry_uuid == entry.entry_uuid


def test_delete_of_a_whole_submission_succeeds(client):
    metadata, entry = _provided(client)
    query = GetSubmissionSetAndContentsQuery(unique_id=metadata.submission_sets[0].unique_id)
    contents = client.query(StoredQueryRequest(query)).metadata
    ids = [obj.entry_uuid for obj in contents.objects()]

    response = client.delete(ids)

    assert response.status.name == "SUCCESS", response.errors
    assert entry.unique_id not in _found(client, APPROVED)


def test_remove_documents_with_one_unknown_id_is_partial_success(server, client, tmp_path):
    _, entry = _provided(client, b"<removed/>")
    repository = entry.repository_unique_id or ""

    run = xds(
        "remove-documents", entry.unique_id or "", new_oid(),
        "--repository-id", repository, "--url", server.url,
    )  # fmt: skip

    assert run.returncode == 0, run.stdout + run.stderr
    assert "ITI-86: PartialSuccess" in run.stdout
    assert "XDSDocumentUniqueIdError" in run.stdout
    locator = DocumentLocator(repository, entry.unique_id or "")
    answer = client.retrieve([locator], lambda _: tmp_path / "out.xml")
    assert answer.response.status.name == "FAILURE"
    assert [e.code.value for e in answer.response.errors] == ["XDSDocumentUniqueIdError"]


def test_remove_documents_asks_the_registry_for_the_repository(server, client):
    _, entry = _provided(client, b"<found through ITI-18/>")

    run = xds("remove-documents", entry.unique_id or "", "--url", server.url)

    assert run.returncode == 0, run.stdout + run.stderr
    assert "ITI-86: Success" in run.stdout


@pytest.mark.parametrize(
    ("path", "operation"),
    [
        ("/xds/registry/update", "UpdateResponder_UpdateDocumentSet"),
        ("/xds/registry/delete", "DocumentRegistry_DeleteDocumentSet"),
        ("/xds/repository/remove", "DocumentRepository_RemoveDocuments"),
    ],
)
def test_zeep_loads_the_lifecycle_wsdls_from_the_server(server, path, operation):
    wsdl = zeep.Client(f"{server.url}{path}?wsdl")

    [service] = wsdl.wsdl.services.values()
    [port] = service.ports.values()
    assert port.binding_options["address"] == f"{server.url}{path}"
    assert set(port.binding._operations) == {operation}
