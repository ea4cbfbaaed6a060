"""ITI-57, ITI-62 and ITI-86 through the WSGI app: actions, answers, faults, WSDLs, examples."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
import zeep
from lxml import etree
from registry_fixtures import PATIENT, REPOSITORY, dump, migrated_engine, new_registry
from soap_support import NS, REGISTER, RETRIEVE, call, envelope
from test_repository_provide import submission
from test_soap_wsdl import InProcessTransport
from update_support import DEPRECATED, new_version, registered

from ebrim.model import DocumentEntry, LocalizedString
from ebrim.remove import RemoveObjectsRequest, render_remove_objects_request
from ebrim.render import render_submit_objects_request
from ebrim.vocabulary import ResponseStatus
from ebrim.xdsb import (
    DocumentLocator,
    parse_remove_documents_request,
    render_remove_documents_request,
)
from registry import Registry
from registry.audit import Outcome
from repository import Repository, RepositorySettings, open_repository
from soap import make_app

UPDATE = "urn:ihe:iti:2010:UpdateDocumentSet"
DELETE = "urn:ihe:iti:2010:DeleteDocumentSet"
REMOVE = "urn:ihe:iti:2017:RemoveDocuments"
UPDATE_PATH = "/xds/registry/update"
DELETE_PATH = "/xds/registry/delete"
REMOVE_PATH = "/xds/repository/remove"
EXAMPLE_REPOSITORY = "1.3.6.1.4.1000"  # RMD_RemoveDocumentsRequest_SOAP.xml
MESSAGE_ID = "urn:uuid:0fbfdced-6c01-4d09-a110-2201afedaa02"


@pytest.fixture
def registry(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Registry]:
    with migrated_engine("sqlite", tmp_path, request) as engine:
        yield new_registry(engine, PATIENT)


def _repository(registry: Registry, tmp_path: Path, repository_id: str) -> Repository:
    return open_repository(
        RepositorySettings(repository_id, tmp_path / "data"), registry, registry.engine
    )


@pytest.fixture
def repo(registry: Registry, tmp_path: Path) -> Repository:
    return _repository(registry, tmp_path, REPOSITORY)


@pytest.fixture
def app(registry: Registry, repo: Repository):
    return make_app(registry=registry, repository=repo)


def _status(answer) -> str:
    return answer.payload().get("status").rsplit(":", 1)[-1]


def _codes(answer) -> list[str]:
    errors = answer.payload().iterfind("rs:RegistryErrorList/rs:RegistryError", NS)
    return [e.get("errorCode") for e in errors]


def _provided(repo: Repository, *contents: bytes, **changes) -> list[str]:
    metadata, streams = submission(*contents, **changes)
    response = repo.provide_and_register(metadata, streams)
    assert response.status is ResponseStatus.SUCCESS, response.errors
    return [doc.unique_id or "" for doc in metadata.documents]


def _remove_body(*unique_ids: str, repository: str = REPOSITORY) -> etree._Element:
    return render_remove_documents_request([DocumentLocator(repository, u) for u in unique_ids])


# --- ITI-57 ------------------------------------------------------------------------------------


def test_iti57_new_version_deprecates_the_previous_one(app, registry, xsd_valid):
    ids = registered(registry)
    old = registry.get(ids["Document01"])
    assert isinstance(old, DocumentEntry)
    request = new_version(old, comments=LocalizedString("corrected"))

    answer = call(app, UPDATE_PATH, envelope(UPDATE, render_submit_objects_request(request)))

    assert answer.status == 200
    assert answer.header("Action") == f"{UPDATE}Response"
    assert answer.header("RelatesTo") == MESSAGE_ID
    assert _status(answer) == "Success", _codes(answer)
    xsd_valid(answer.payload(), "rs")
    assert registry.get(old.entry_uuid).status == DEPRECATED  # type: ignore[union-attr]
    versions = registry.find_by_unique_id(old.unique_id or "")
    assert sorted(v.version or "" for v in versions) == ["1", "2"]


def test_iti57_stale_previous_version_is_a_metadata_version_error(app, registry):
    ids = registered(registry)
    old = registry.get(ids["Document01"])
    request = new_version(old, "7")  # type: ignore[arg-type]

    answer = call(app, UPDATE_PATH, envelope(UPDATE, render_submit_objects_request(request)))

    assert _status(answer) == "Failure"
    assert _codes(answer) == ["XDSMetadataVersionError"]


def test_iti57_body_that_is_not_a_submission_gets_the_generic_update_code(app):
    body = render_remove_objects_request(RemoveObjectsRequest(("urn:uuid:1",)))

    answer = call(app, UPDATE_PATH, envelope(UPDATE, body))

    assert answer.status == 200
    assert _status(answer) == "Failure"
    assert _codes(answer) == ["XDSMetadataUpdateError"]


def test_iti57_official_example_has_a_source_patient_id_without_oid(app, registry, ihe_example):
    # MU_example01_update.xml's sourcePatientId has the assigning authority 3.4.5, not an
    # OID: refused with ITI-57's generic code before its lid (registered elsewhere) is looked
    # up. Nothing is written.
    before = dump(registry.engine)
    body = ihe_example("MU_example01_update.xml")
    body = body[body.index(b"<lcm:") :]

    answer = call(app, UPDATE_PATH, envelope(UPDATE, body))

    assert _status(answer) == "Failure"
    assert _codes(answer) == ["XDSMetadataUpdateError"]
    error = answer.payload().find("rs:RegistryErrorList/rs:RegistryError", NS)
    assert "'3.4.5' is not an OID" in error.get("codeContext")
    assert dump(registry.engine) == before


@pytest.mark.parametrize(
    ("path", "action"),
    [
        (UPDATE_PATH, REGISTER),
        (UPDATE_PATH, DELETE),
        (DELETE_PATH, UPDATE),
        (REMOVE_PATH, RETRIEVE),
        ("/xds/registry", UPDATE),
        ("/xds/repository", REMOVE),
    ],
)
def test_action_of_another_endpoint_is_a_fault(app, path, action):
    answer = call(app, path, envelope(action, b"<x/>"))

    assert answer.status >= 400
    assert "wsa:ActionNotSupported" in " ".join(answer.fault_codes())


# --- ITI-62 ------------------------------------------------------------------------------------


def test_iti62_deletes_a_whole_submission(app, registry):
    ids = registered(registry)
    body = render_remove_objects_request(RemoveObjectsRequest(tuple(ids.values())))

    answer = call(app, DELETE_PATH, envelope(DELETE, body))

    assert answer.header("Action") == f"{DELETE}Response"
    assert answer.header("RelatesTo") == MESSAGE_ID
    assert _status(answer) == "Success", _codes(answer)
    assert registry.get_many(ids.values()) == {}


def test_iti62_dangling_reference_is_refused_and_nothing_changes(app, registry):
    ids = registered(registry)
    before = dump(registry.engine)
    body = render_remove_objects_request(RemoveObjectsRequest((ids["Document01"],)))

    answer = call(app, DELETE_PATH, envelope(DELETE, body))

    assert _status(answer) == "Failure"
    assert _codes(answer) == ["ReferencesExistException"]
    assert dump(registry.engine) == before


def test_iti62_removal_by_query_gets_the_generic_registry_code(app):
    body = (
        b'<lcm:RemoveObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"'
        b' xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">'
        b'<rim:AdhocQuery id="urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4"/>'
        b"</lcm:RemoveObjectsRequest>"
    )

    answer = call(app, DELETE_PATH, envelope(DELETE, body))

    assert _status(answer) == "Failure"
    assert _codes(answer) == ["XDSRegistryError"]


def test_iti62_official_example_names_unknown_objects(app, ihe_example):
    answer = call(app, DELETE_PATH, ihe_example("RMD_RemoveMetadataRequest_SOAP.xml"))

    assert answer.header("Action") == f"{DELETE}Response"
    assert answer.header("RelatesTo") == "urn:uuid:D6C21225-8E7B-454E-9750-821622C099DC"
    assert _status(answer) == "Failure"
    assert set(_codes(answer)) == {"UnresolvedReferenceException"}


# --- ITI-86 ------------------------------------------------------------------------------------


def test_iti86_removes_and_answers_success(app, repo, xsd_valid):
    [unique_id] = _provided(repo, b"<to remove/>")

    answer = call(app, REMOVE_PATH, envelope(REMOVE, _remove_body(unique_id)))

    assert answer.header("Action") == f"{REMOVE}Response"
    assert answer.header("RelatesTo") == MESSAGE_ID
    assert _status(answer) == "Success"
    xsd_valid(answer.payload(), "rs")
    assert repo.index.lookup(unique_id) is None


def test_iti86_one_unknown_id_is_partial_success(app, repo):
    [unique_id] = _provided(repo, b"<known/>")

    answer = call(app, REMOVE_PATH, envelope(REMOVE, _remove_body(unique_id, "1.2.3.404")))

    assert answer.payload().get("status") == "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess"
    assert _codes(answer) == ["XDSDocumentUniqueIdError"]
    error = answer.payload().find("rs:RegistryErrorList/rs:RegistryError", NS)
    assert error.get("location") == "1.2.3.404"


def test_iti86_writes_one_audit_event_naming_the_documents_and_the_patient(app, repo, registry):
    [unique_id] = _provided(repo, b"<audited/>")

    call(app, REMOVE_PATH, envelope(REMOVE, _remove_body(unique_id, "1.2.3.404")))

    removal = registry.audit_history(PATIENT)[-1]
    assert (removal.transaction, removal.outcome) == ("ITI-86", Outcome.FAILURE)
    assert removal.document_ids == (unique_id, "1.2.3.404")
    assert "XDSDocumentUniqueIdError" in (removal.detail or "")
    assert repo.index.lookup(unique_id) is None  # partial success: the known one is gone


def test_iti86_wrong_body_gets_the_generic_remove_code(app):
    body = etree.tostring(_remove_body("1.2.3")).replace(b"RemoveDocuments", b"Nonsense")

    answer = call(app, REMOVE_PATH, envelope(REMOVE, body))

    assert _status(answer) == "Failure"
    assert _codes(answer) == ["XDSRemoveDocumentsError"]


def test_remove_documents_request_is_valid_against_rmd_xsd(xsd_valid):
    locators = [
        DocumentLocator(REPOSITORY, "1.2.3.1"),
        DocumentLocator(REPOSITORY, "1.2.3.2", "urn:oid:1.2.3.99"),
    ]
    element = render_remove_documents_request(locators)

    xsd_valid(element, "rmd")
    assert parse_remove_documents_request(element) == tuple(locators)


def _example_repository(registry: Registry, tmp_path: Path) -> Repository:
    """A repository with the example's id holding the two documents it removes."""
    repo = _repository(registry, tmp_path, EXAMPLE_REPOSITORY)
    metadata, streams = submission(b"<one/>", b"<two/>")
    documents = tuple(
        dataclasses.replace(doc, unique_id=f"1.3.6.1.4.{2300 + i}")
        for i, doc in enumerate(metadata.documents)
    )
    metadata = dataclasses.replace(metadata, documents=documents)
    assert repo.provide_and_register(metadata, streams).status is ResponseStatus.SUCCESS
    return repo


def test_iti86_official_example_as_published_names_an_action_not_served(
    registry, tmp_path, ihe_example
):
    # Its wsa:Action is urn:ihe:iti:rmd:2016:RemoveDocuments (the WSDL and ITI TF-2 3.86:
    # urn:ihe:iti:2017:RemoveDocuments) and its body rmd:RemoveDocumentSetRequest (RMD.xsd:
    # RemoveDocumentsRequest); the response example's action has the same "rmd:" slip.
    app = make_app(repository=_example_repository(registry, tmp_path))
    answer = call(app, REMOVE_PATH, ihe_example("RMD_RemoveDocumentsRequest_SOAP.xml"))

    assert "wsa:ActionNotSupported" in " ".join(answer.fault_codes())


def test_iti86_official_example_with_the_action_fixed_has_the_wrong_element(
    registry, tmp_path, ihe_example
):
    app = make_app(repository=_example_repository(registry, tmp_path))
    body = ihe_example("RMD_RemoveDocumentsRequest_SOAP.xml")
    body = body.replace(b"urn:ihe:iti:rmd:2016:RemoveDocuments", REMOVE.encode())

    answer = call(app, REMOVE_PATH, body)

    assert _status(answer) == "Failure"
    assert _codes(answer) == ["XDSRemoveDocumentsError"]


def test_iti86_official_example_with_both_fixed_removes_its_documents(
    registry, tmp_path, ihe_example
):
    repo = _example_repository(registry, tmp_path)
    app = make_app(repository=repo)
    body = ihe_example("RMD_RemoveDocumentsRequest_SOAP.xml")
    body = body.replace(b"urn:ihe:iti:rmd:2016:RemoveDocuments", REMOVE.encode())
    body = body.replace(b"RemoveDocumentSetRequest", b"RemoveDocumentsRequest")

    answer = call(app, REMOVE_PATH, body)

    assert _status(answer) == "Success", _codes(answer)
    assert repo.index.lookup("1.3.6.1.4.2300") is None
    assert repo.index.lookup("1.3.6.1.4.2301") is None


# --- WSDLs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "operation", "action"),
    [
        (UPDATE_PATH, "UpdateResponder_UpdateDocumentSet", UPDATE),
        (DELETE_PATH, "DocumentRegistry_DeleteDocumentSet", DELETE),
        (REMOVE_PATH, "DocumentRepository_RemoveDocuments", REMOVE),
    ],
)
def test_zeep_loads_the_lifecycle_wsdls(app, path, operation, action):
    transport = InProcessTransport(app)
    client = zeep.Client(f"http://xds.test:8080{path}?wsdl", transport=transport)

    [service] = client.wsdl.services.values()
    [port] = service.ports.values()  # SOAP 1.2 only: the SOAP 1.1 port is not served
    assert port.binding_options["address"] == f"http://xds.test:8080{path}"
    assert set(port.binding._operations) == {operation}
    assert port.binding._operations[operation].soapaction == action


@pytest.mark.parametrize(
    ("path", "action"),
    [(UPDATE_PATH, UPDATE), (DELETE_PATH, DELETE), (REMOVE_PATH, REMOVE)],
)
def test_lifecycle_wsdl_declares_the_served_actions(app, path, action):
    root = etree.fromstring(call(app, path, method="GET", query="wsdl").body)
    wsaw = "{http://www.w3.org/2006/05/addressing/wsdl/}Action"
    actions = {node.get(wsaw) for node in root.iter() if node.get(wsaw)}

    assert actions == {action, f"{action}Response"}
    assert b"XDSb.xsd" not in etree.tostring(root)
