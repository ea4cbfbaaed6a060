"""ITI-18 Registry Stored Query, answered in SQL.

`run_query(conn, request, settings)` picks the query's module (`find`, `get`, `related`),
which turns the typed parameters into a `Selection` (per kind of object, a SELECT of
entryUUIDs); `answer` then applies the result limit, loads LeafClass bodies in one query
per table, and checks that a LeafClass answer is about one patient. `levels` first
hides, from a consumer at $MetadataLevel 1 (the default), what metadata update created;
`visible` narrows the answer to what one requester may see (`scope`, see that module);
`pinned` last restricts every table read to the partitions of the query's patients.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Select

from ebrim.storedquery import (
    FindDocumentsByReferenceIdQuery,
    FindDocumentsQuery,
    FindFoldersQuery,
    FindSubmissionSetsQuery,
    GetAllQuery,
    GetAssociationsQuery,
    GetDocumentsAndAssociationsQuery,
    GetDocumentsQuery,
    GetFolderAndContentsQuery,
    GetFoldersForDocumentQuery,
    GetFoldersQuery,
    GetRelatedDocumentsQuery,
    GetSubmissionSetAndContentsQuery,
    GetSubmissionSetsQuery,
    StoredQueryRequest,
)
from registry.queries import find, get, related
from registry.queries.answer import QueryResult, Selection, answer
from registry.queries.levels import for_level
from registry.queries.pinned import patients_named, pin
from registry.queries.visible import Scope, restrict
from registry.settings import RegistrySettings

# (connection, query, the visible documents or None when unrestricted) -> Selection
Selector = Callable[[Connection, Any, "Select[Any] | None"], Selection]


def _patient_wide(build: Callable[[Connection, Any], Selection]) -> Selector:
    """The patient-wide queries: `restrict` alone narrows them."""
    return lambda conn, query, _visible: build(conn, query)


def _by_id(build: Callable[[Any], Selection]) -> Selector:
    """The queries by id need no lookup before building their SQL."""
    return lambda _conn, query, _visible: build(query)


def _from_document(build: Callable[[Any, Select[Any] | None], Selection]) -> Selector:
    """The queries whose answer derives from a named document: it must be visible itself."""
    return lambda _conn, query, visible: build(query, visible)


SELECTORS: dict[type, Selector] = {
    FindDocumentsQuery: _patient_wide(find.find_documents),
    FindDocumentsByReferenceIdQuery: _patient_wide(find.find_documents),
    FindSubmissionSetsQuery: _patient_wide(find.find_submission_sets),
    FindFoldersQuery: _patient_wide(find.find_folders),
    GetAllQuery: _patient_wide(find.get_all),
    GetDocumentsQuery: _by_id(get.get_documents),
    GetFoldersQuery: _by_id(get.get_folders),
    GetAssociationsQuery: _by_id(get.get_associations),
    GetDocumentsAndAssociationsQuery: _by_id(get.get_documents_and_associations),
    GetSubmissionSetsQuery: _from_document(get.get_submission_sets),
    GetSubmissionSetAndContentsQuery: _by_id(get.get_submission_set_and_contents),
    GetFolderAndContentsQuery: _by_id(get.get_folder_and_contents),
    GetFoldersForDocumentQuery: _from_document(get.get_folders_for_document),
    GetRelatedDocumentsQuery: _from_document(related.get_related_documents),
}


def run_query(
    conn: Connection,
    request: StoredQueryRequest,
    settings: RegistrySettings,
    scope: Scope | None = None,
) -> QueryResult:
    """Answer one parsed stored query on `conn` (reads only), within `scope` when given."""
    visible = scope.documents() if scope is not None else None
    selection = SELECTORS[type(request.query)](conn, request.query, visible)
    if scope is not None:
        selection = restrict(selection, scope)
    selection = for_level(selection, request.metadata_level)
    # PostgreSQL: the patients' partitions only (SQLite has none: no lookup to pay for).
    patients = patients_named(conn, request.query) if conn.dialect.name == "postgresql" else None
    if patients is not None:
        selection = pin(selection, patients)
    result = answer(conn, selection, request, settings, patients)
    response = dataclasses.replace(result.response, request_id=request.request_id)
    pinned_to = tuple(patients) if patients is not None else None
    return dataclasses.replace(result, response=response, patients=pinned_to)


__all__ = ["QueryResult", "Scope", "Selection", "run_query"]
