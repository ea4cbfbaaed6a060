"""ITI-18 Registry Stored Query, answered in SQL.

`run_query(conn, request, settings)` picks the query's module (`find`, `get`, `related`),
which turns the typed parameters into a `Selection` (per kind of object, a SELECT of
entryUUIDs); `answer` then applies the result limit, loads LeafClass bodies in one query
per table, and checks that a LeafClass answer is about one patient. `levels` first
hides, from a consumer at $MetadataLevel 1 (the default), what metadata update created.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

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
from registry.settings import RegistrySettings

Selector = Callable[[Connection, Any], Selection]


def _by_id(build: Callable[[Any], Selection]) -> Selector:
    """The queries by id need no lookup before building their SQL."""
    return lambda _conn, query: build(query)


SELECTORS: dict[type, Selector] = {
    FindDocumentsQuery: find.find_documents,
    FindDocumentsByReferenceIdQuery: find.find_documents,
    FindSubmissionSetsQuery: find.find_submission_sets,
    FindFoldersQuery: find.find_folders,
    GetAllQuery: find.get_all,
    GetDocumentsQuery: _by_id(get.get_documents),
    GetFoldersQuery: _by_id(get.get_folders),
    GetAssociationsQuery: _by_id(get.get_associations),
    GetDocumentsAndAssociationsQuery: _by_id(get.get_documents_and_associations),
    GetSubmissionSetsQuery: _by_id(get.get_submission_sets),
    GetSubmissionSetAndContentsQuery: _by_id(get.get_submission_set_and_contents),
    GetFolderAndContentsQuery: _by_id(get.get_folder_and_contents),
    GetFoldersForDocumentQuery: _by_id(get.get_folders_for_document),
    GetRelatedDocumentsQuery: _by_id(related.get_related_documents),
}


def run_query(
    conn: Connection, request: StoredQueryRequest, settings: RegistrySettings
) -> QueryResult:
    """Answer one parsed stored query on `conn` (reads only)."""
    selection = for_level(
        SELECTORS[type(request.query)](conn, request.query), request.metadata_level
    )
    result = answer(conn, selection, request, settings)
    response = dataclasses.replace(result.response, request_id=request.request_id)
    return dataclasses.replace(result, response=response)


__all__ = ["QueryResult", "Selection", "run_query"]
