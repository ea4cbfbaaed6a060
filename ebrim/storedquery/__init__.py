"""ITI-18 Registry Stored Query requests as typed objects: parse, render, and their vocabulary.

`parse_adhoc_query_request` turns a query:AdhocQueryRequest into a `StoredQueryRequest`
holding one typed query (`FindDocumentsQuery`, `GetDocumentsQuery`…), or raises
`ebrim.errors.QueryRejected` with every XDS error found; `render_adhoc_query_request`
writes one back for clients and tests.
"""

from __future__ import annotations

from ebrim.storedquery.ids import StoredQueryId
from ebrim.storedquery.params import (
    CodeQuery,
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
    StoredQuery,
    StoredQueryRequest,
    StringQuery,
    TimeRange,
)
from ebrim.storedquery.parse import parse_adhoc_query_request
from ebrim.storedquery.render import render_adhoc_query_request

__all__ = [
    "CodeQuery",
    "FindDocumentsByReferenceIdQuery",
    "FindDocumentsQuery",
    "FindFoldersQuery",
    "FindSubmissionSetsQuery",
    "GetAllQuery",
    "GetAssociationsQuery",
    "GetDocumentsAndAssociationsQuery",
    "GetDocumentsQuery",
    "GetFolderAndContentsQuery",
    "GetFoldersForDocumentQuery",
    "GetFoldersQuery",
    "GetRelatedDocumentsQuery",
    "GetSubmissionSetAndContentsQuery",
    "GetSubmissionSetsQuery",
    "StoredQuery",
    "StoredQueryId",
    "StoredQueryRequest",
    "StringQuery",
    "TimeRange",
    "parse_adhoc_query_request",
    "render_adhoc_query_request",
]
