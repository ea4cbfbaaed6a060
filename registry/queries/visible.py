"""A stored query's answer narrowed to what one requester may see, in SQL.

`Scope` gives, as SELECTs of entryUUIDs, the documents, submission sets and folders the
requester may see (`registry.policy.visibility.Visibility` builds it). `restrict` keeps
of a `Selection` only those objects, and only the associations whose both ends are
visible (or, for a submission set's HasMember of an association, whose target is such an
association): an association touching a hidden document is hidden too, so a hidden
document leaks through no GetAssociations, GetAll or …AndContents answer. Applied before
`answer`, so hidden objects are not counted toward XDSTooManyResults either.

The queries that start from a named document (GetFoldersForDocument, GetRelatedDocuments,
GetSubmissionSets) also receive `Scope.documents()` to narrow that starting point: a
hidden document then selects nothing, as an unknown one does.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import Select, or_, select

from registry.queries.answer import Selection
from registry.schema import associations, documents, folders, submission_sets


class Scope(Protocol):
    def documents(self) -> Select[Any]: ...
    def submission_sets(self) -> Select[Any]: ...
    def folders(self) -> Select[Any]: ...


def restrict(selection: Selection, scope: Scope) -> Selection:
    """`selection` without what `scope` does not show."""
    docs, sets, folder_ids = scope.documents(), scope.submission_sets(), scope.folders()

    def among(column: Any) -> Any:
        return or_(column.in_(docs), column.in_(sets), column.in_(folder_ids))

    def keep(chosen: Select[Any] | None, column: Any, visible: Select[Any]) -> Select[Any] | None:
        if chosen is None:
            return None
        return select(column).where(column.in_(chosen), column.in_(visible))

    links = selection.associations
    if links is not None:
        a = associations.c
        inner = associations.alias("visible_link")
        first = select(inner.c.entry_uuid).where(
            or_(
                inner.c.source_uuid.in_(docs),
                inner.c.source_uuid.in_(sets),
                inner.c.source_uuid.in_(folder_ids),
            ),
            or_(
                inner.c.target_uuid.in_(docs),
                inner.c.target_uuid.in_(sets),
                inner.c.target_uuid.in_(folder_ids),
            ),
        )
        links = select(a.entry_uuid).where(
            a.entry_uuid.in_(links),
            among(a.source_uuid),
            or_(among(a.target_uuid), a.target_uuid.in_(first)),
        )
    return Selection(
        submission_sets=keep(selection.submission_sets, submission_sets.c.entry_uuid, sets),
        documents=keep(selection.documents, documents.c.entry_uuid, docs),
        folders=keep(selection.folders, folders.c.entry_uuid, folder_ids),
        associations=links,
    )


__all__ = ["Scope", "restrict"]
