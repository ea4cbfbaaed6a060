"""The queries by id: GetDocuments, GetFolders, GetAssociations, GetDocumentsAndAssociations,
GetSubmissionSets, GetSubmissionSetAndContents, GetFolderAndContents, GetFoldersForDocument
(ITI TF-2 3.18.4.1.2.3.7.5-12).

They do not filter on status: a consumer naming an object by id gets it whatever its
status. An id the registry does not know selects nothing (an empty Success).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, Table, false, or_, select

from ebrim.storedquery import (
    GetAssociationsQuery,
    GetDocumentsAndAssociationsQuery,
    GetDocumentsQuery,
    GetFolderAndContentsQuery,
    GetFoldersForDocumentQuery,
    GetFoldersQuery,
    GetSubmissionSetAndContentsQuery,
    GetSubmissionSetsQuery,
)
from ebrim.vocabulary import AssociationType
from registry import store
from registry.queries.answer import Selection
from registry.queries.find import content_filters
from registry.schema import associations, documents, folders, submission_sets

HAS_MEMBER = AssociationType.HAS_MEMBER.value


def by_id(
    table: Table,
    uuids: tuple[str, ...] = (),
    unique_ids: tuple[str, ...] = (),
    logical_ids: tuple[str, ...] = (),
) -> Select[Any]:
    """entryUUIDs of `table` named by entryUUID, uniqueId or logicalId (whichever is given).

    A uniqueId or a logicalId names every version of the object.
    """
    c = table.c
    named: list[ColumnElement[bool]] = [c.entry_uuid.in_(list(uuids))] if uuids else []
    if unique_ids:
        named.append(c.unique_id.in_(list(unique_ids)))
    if logical_ids and "logical_id" in c:
        named.append(store.of_logical_ids(table, logical_ids))
    return select(c.entry_uuid).where(or_(false(), *named))


def single(value: str | None) -> tuple[str, ...]:
    return (value,) if value else ()


def touching(ids: Select[Any]) -> Select[Any]:
    """Associations with one of `ids` as source or target."""
    a = associations.c
    return select(a.entry_uuid).where(or_(a.source_uuid.in_(ids), a.target_uuid.in_(ids)))


def get_documents(query: GetDocumentsQuery) -> Selection:
    return Selection(documents=by_id(documents, query.uuids, query.unique_ids, query.logical_ids))


def get_folders(query: GetFoldersQuery) -> Selection:
    return Selection(folders=by_id(folders, query.uuids, query.unique_ids, query.logical_ids))


def get_associations(query: GetAssociationsQuery) -> Selection:
    a = associations.c
    uuids = list(query.uuids)
    return Selection(
        associations=select(a.entry_uuid).where(
            or_(a.source_uuid.in_(uuids), a.target_uuid.in_(uuids))
        )
    )


def get_documents_and_associations(query: GetDocumentsAndAssociationsQuery) -> Selection:
    docs = by_id(documents, query.uuids, query.unique_ids)
    return Selection(documents=docs, associations=touching(docs))


def get_submission_sets(
    query: GetSubmissionSetsQuery, visible: Select[Any] | None = None
) -> Selection:
    """The submission sets holding any of the objects, and those HasMember associations.

    With `visible`, a named document must be one of them (a hidden one names nothing).
    """
    a = associations.c
    named: list[ColumnElement[bool]] = [a.target_uuid.in_(list(query.uuids))]
    if visible is not None:
        named_documents = select(documents.c.entry_uuid).where(
            documents.c.entry_uuid.in_(list(query.uuids))
        )
        named.append(or_(a.target_uuid.in_(visible), a.target_uuid.not_in(named_documents)))
    links = select(a.entry_uuid).where(
        a.association_type == HAS_MEMBER,
        *named,
        a.source_uuid.in_(select(submission_sets.c.entry_uuid)),
    )
    holders = select(a.source_uuid).where(a.entry_uuid.in_(links))
    return Selection(
        submission_sets=select(submission_sets.c.entry_uuid).where(
            submission_sets.c.entry_uuid.in_(holders)
        ),
        associations=links,
    )


def _members(owner: Select[Any]) -> Select[Any]:
    """Targets of the HasMember associations whose source is one of `owner`."""
    a = associations.c
    return select(a.target_uuid).where(a.association_type == HAS_MEMBER, a.source_uuid.in_(owner))


def _memberships(owner: Select[Any], members: list[Select[Any]]) -> Select[Any]:
    """The HasMember associations from one of `owner` to one of `members`."""
    a = associations.c
    return select(a.entry_uuid).where(
        a.association_type == HAS_MEMBER,
        a.source_uuid.in_(owner),
        or_(*(a.target_uuid.in_(m) for m in members)),
    )


def get_submission_set_and_contents(query: GetSubmissionSetAndContentsQuery) -> Selection:
    """The submission set, its documents (filtered), folders and associations.

    The associations returned are the set's HasMember links to what is returned, and the
    associations the set holds (a document filed in a folder, a replacement) unless
    they point at a document the filters left out.
    """
    ss = by_id(submission_sets, single(query.uuid), single(query.unique_id))
    members = _members(ss)
    docs = select(documents.c.entry_uuid).where(
        documents.c.entry_uuid.in_(members), *content_filters(query)
    )
    folder_ids = select(folders.c.entry_uuid).where(folders.c.entry_uuid.in_(members))
    a = associations.c
    excluded_docs = select(documents.c.entry_uuid).where(
        documents.c.entry_uuid.in_(members), documents.c.entry_uuid.not_in(docs)
    )
    held = select(a.entry_uuid).where(
        a.entry_uuid.in_(members), a.target_uuid.not_in(excluded_docs)
    )
    return Selection(
        submission_sets=ss,
        documents=docs,
        folders=folder_ids,
        associations=select(a.entry_uuid).where(
            or_(
                a.entry_uuid.in_(_memberships(ss, [docs, folder_ids, held])),
                a.entry_uuid.in_(held),
            )
        ),
    )


def get_folder_and_contents(query: GetFolderAndContentsQuery) -> Selection:
    """The folder, its documents (filtered), and the HasMember associations to them."""
    folder_ids = by_id(folders, single(query.uuid), single(query.unique_id))
    docs = select(documents.c.entry_uuid).where(
        documents.c.entry_uuid.in_(_members(folder_ids)), *content_filters(query)
    )
    return Selection(
        folders=folder_ids, documents=docs, associations=_memberships(folder_ids, [docs])
    )


def get_folders_for_document(
    query: GetFoldersForDocumentQuery, visible: Select[Any] | None = None
) -> Selection:
    """The folders that have the document (any version with that uniqueId) as a member."""
    docs = by_id(documents, single(query.uuid), single(query.unique_id))
    if visible is not None:
        docs = docs.where(documents.c.entry_uuid.in_(visible))
    a = associations.c
    holders = select(a.source_uuid).where(a.association_type == HAS_MEMBER, a.target_uuid.in_(docs))
    return Selection(folders=select(folders.c.entry_uuid).where(folders.c.entry_uuid.in_(holders)))


__all__ = [
    "get_associations",
    "get_documents",
    "get_documents_and_associations",
    "get_folder_and_contents",
    "get_folders",
    "get_folders_for_document",
    "get_submission_set_and_contents",
    "get_submission_sets",
]
