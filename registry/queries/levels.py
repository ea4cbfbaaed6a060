"""$MetadataLevel (Metadata Update option, ITI TF-2 3.18.4.1.2.3.5.1): what level 1 hides.

A consumer that does not know metadata update (level 1, the default when the
parameter is absent) must not receive what only an update creates:

- DocumentEntries and Folders that are not the latest version of their logicalId;
- Folders and Associations whose availabilityStatus is Deprecated;
- (our addition) associations that link such a hidden version, which would otherwise
  point at an object the consumer is not shown.

Level 2 sees every version and status. Documents with documentAvailability Offline are
not hidden: the column queries would need is not stored (see the closing note of
issue 8).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, Table, exists, or_, select

from ebrim.vocabulary import AvailabilityStatus
from registry.queries.answer import Selection
from registry.schema import associations, documents, folders

DEPRECATED = AvailabilityStatus.DEPRECATED.value


def _superseded(table: Any) -> ColumnElement[bool]:
    """A row of `table` (or of its alias) that a later version of its logicalId supersedes.

    Correlated to the row, so that the (logical_id, version) index answers it per row:
    an uncorrelated "entryUUIDs of every older version" subquery scans the whole table.
    """
    newer = table.alias()
    return exists().where(
        newer.c.logical_id == table.c.logical_id,
        newer.c.version > table.c.version,
        newer.c.patient_id == table.c.patient_id,  # one partition: versions share the patient
    )


def _links_superseded(table: Table, end: ColumnElement[Any]) -> ColumnElement[bool]:
    """An association end that names a superseded version in `table`."""
    named = table.alias()
    return exists().where(
        named.c.entry_uuid == end,
        named.c.patient_id == associations.c.patient_id,  # the patient of both its ends
        _superseded(named),
    )


def _where(chosen: Select[Any], table: Table, *conditions: ColumnElement[bool]) -> Select[Any]:
    """`chosen` (entryUUIDs of `table`) narrowed by `conditions` on its rows: added to its
    own WHERE when it reads `table` alone, which spares joining its rows again by key."""
    if chosen.get_final_froms() == [table]:
        return chosen.where(*conditions)
    return select(table.c.entry_uuid).where(table.c.entry_uuid.in_(chosen), *conditions)


def for_level(selection: Selection, level: int | None) -> Selection:
    """`selection` as a consumer of `level` (None: 1) may see it."""
    if level == 2:
        return selection
    docs = selection.documents
    if docs is not None:
        docs = _where(docs, documents, ~_superseded(documents))
    folder_ids = selection.folders
    if folder_ids is not None:
        folder_ids = _where(
            folder_ids, folders, ~_superseded(folders), folders.c.status != DEPRECATED
        )
    links = selection.associations
    if links is not None:
        a = associations.c
        hidden = or_(
            *(
                _links_superseded(table, end)
                for table in (documents, folders)
                for end in (a.source_uuid, a.target_uuid)
            )
        )
        links = select(a.entry_uuid).where(a.entry_uuid.in_(links), a.status != DEPRECATED, ~hidden)
    return Selection(
        submission_sets=selection.submission_sets,
        documents=docs,
        folders=folder_ids,
        associations=links,
    )


__all__ = ["for_level"]
