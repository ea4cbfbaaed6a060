"""ITI-57 under the access policy: a mask set by metadata update hides the document from the
next query, and only the author may delete (issue 8's "policy applied")."""

from __future__ import annotations

import pytest
from policy_support import AUTHOR, AUTHORISED, NORMAL, flag, open_registry, requester
from registry_fixtures import PATIENT, Submission
from sqlalchemy import Engine
from update_support import APPROVED, DELETED, new_version, status_change

from ebrim.model import DocumentEntry
from ebrim.storedquery import FindDocumentsQuery, StoredQueryRequest
from ebrim.vocabulary import ResponseStatus
from registry import Registry


@pytest.fixture
def registry(engine: Engine) -> Registry:
    registry = open_registry(engine)
    registry.records.open(PATIENT, consent_by="patient")
    for professional in (AUTHOR, AUTHORISED):
        registry.records.grant(PATIENT, professional, by="patient")
    return registry


def registered_document(registry: Registry) -> DocumentEntry:
    submission = Submission()
    submission.add(confidentiality_codes=(NORMAL,))
    submitted = registry.submit(submission.build(), requester=requester(AUTHOR))
    assert submitted.response.status is ResponseStatus.SUCCESS, submitted.response.errors
    document = registry.get(submitted.ids["Document01"])
    assert isinstance(document, DocumentEntry)
    return document


def visible_unique_ids(registry: Registry, professional: str) -> set[str]:
    query = FindDocumentsQuery(patient_id=PATIENT, statuses=(APPROVED,))
    result = registry.query(StoredQueryRequest(query), requester=requester(professional))
    assert result.metadata is not None, result.response.errors
    return {d.unique_id or "" for d in result.metadata.documents}


def test_mask_set_by_metadata_update_hides_the_document_from_the_next_query(
    registry: Registry,
) -> None:
    document = registered_document(registry)
    assert document.unique_id in visible_unique_ids(registry, AUTHORISED)

    masked = new_version(document, confidentiality_codes=(NORMAL, flag("MASQUE_PS")))
    response = registry.update(masked, requester=requester(AUTHOR))

    assert response.status is ResponseStatus.SUCCESS, response.errors
    assert document.unique_id not in visible_unique_ids(registry, AUTHORISED)
    assert document.unique_id in visible_unique_ids(registry, AUTHOR)  # its author still sees it


def test_the_author_may_delete_and_the_document_is_gone_for_everyone(registry: Registry) -> None:
    document = registered_document(registry)

    response = registry.update(
        status_change(document.entry_uuid, APPROVED, DELETED), requester=requester(AUTHOR)
    )

    assert response.status is ResponseStatus.SUCCESS, response.errors
    assert document.unique_id not in visible_unique_ids(registry, AUTHOR)
    assert document.unique_id not in visible_unique_ids(registry, AUTHORISED)
