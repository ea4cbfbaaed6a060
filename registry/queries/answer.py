"""From the ids a stored query selects to its answer: limits, ObjectRef or LeafClass.

A query module builds a `Selection`: for each kind of object, a SELECT of the matching
entryUUIDs. `answer` runs them as one UNION ALL stopped at the result limit plus one, so
the database counts and XDSTooManyResults needs no loading; then, for LeafClass, it loads
each kind's rows in one query per table. Objects come back sorted by entryUUID within
each kind, identical on SQLite and PostgreSQL (the sort is Python's, not a collation's).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, literal_column, union_all

from ebrim.errors import ErrorCode, XDSError
from ebrim.hl7 import patient_key
from ebrim.model import (
    Association,
    DocumentEntry,
    Folder,
    Metadata,
    ObjectRef,
    RegistryObject,
    RegistryResponse,
    SubmissionSet,
)
from ebrim.storedquery import StoredQueryRequest
from ebrim.vocabulary import ResponseStatus, ReturnType, Severity
from registry import store
from registry.settings import RegistrySettings

# The order of kinds in an answer: the order of the Metadata fields.
KINDS: tuple[type, ...] = (SubmissionSet, DocumentEntry, Folder, Association)


@dataclass(frozen=True)
class QueryResult:
    """The answer to a stored query: the response, then LeafClass `metadata` or `object_refs`.

    `metadata` is None for an ObjectRef query and for a refused one. `patients`: those whose
    partitions hold every object answered, when the query was pinned to them (`pinned`).
    """

    response: RegistryResponse
    metadata: Metadata | None = None
    object_refs: tuple[ObjectRef, ...] = ()
    patients: tuple[str, ...] | None = None

    @property
    def ids(self) -> tuple[str, ...]:
        """The entryUUIDs answered, whatever the return type."""
        if self.metadata is not None:
            return self.metadata.ids()
        return tuple(ref.id for ref in self.object_refs)


@dataclass(frozen=True)
class Selection:
    """Per kind, a SELECT of one column: the entryUUIDs the query answers (None: none)."""

    submission_sets: Select[Any] | None = None
    documents: Select[Any] | None = None
    folders: Select[Any] | None = None
    associations: Select[Any] | None = None

    def parts(self) -> list[tuple[int, Select[Any]]]:
        selects = (self.submission_sets, self.documents, self.folders, self.associations)
        return [(index, sel) for index, sel in enumerate(selects) if sel is not None]


def answer(
    conn: Connection,
    selection: Selection,
    request: StoredQueryRequest,
    settings: RegistrySettings,
    patients: Sequence[str] | None = None,
) -> QueryResult:
    """Run `selection` and shape the answer the request asked for.

    `patients`: those whose partitions hold every object selected (None: unknown).
    """
    warnings = _ignored(request)
    limit = settings.max_query_results
    ids = _selected_ids(conn, selection, limit + 1)
    total = sum(len(found) for found in ids.values())
    if total > limit:
        return refused(
            ErrorCode.XDSTooManyResults,
            f"the query selects more than {limit} objects; narrow it down",
            warnings,
        )
    home = request.home_community_id or settings.home_community_id
    if request.return_type is ReturnType.OBJECT_REF:
        refs = tuple(ObjectRef(uid, home) for kind in KINDS for uid in ids.get(kind, ()))
        return QueryResult(_success(warnings), object_refs=refs)
    metadata = _load(conn, ids, home, patients)
    patients = _patients(metadata)
    if len(patients) > 1:
        return refused(
            ErrorCode.XDSResultNotSinglePatient,
            f"a LeafClass answer would span {len(patients)} patients: {', '.join(patients)}",
            warnings,
        )
    return QueryResult(_success(warnings), metadata=metadata)


def _selected_ids(conn: Connection, selection: Selection, limit: int) -> dict[type, list[str]]:
    """The selected entryUUIDs by kind, at most `limit` in all, sorted."""
    parts = selection.parts()
    found: dict[type, list[str]] = {}
    if not parts:
        return found
    tagged = [sel.add_columns(literal_column(str(index)).label("kind")) for index, sel in parts]
    rows = conn.execute(union_all(*tagged).limit(limit)).all()
    for uid, index in rows:
        found.setdefault(KINDS[int(index)], []).append(uid)
    return {kind: sorted(uids) for kind, uids in found.items()}


def _load(
    conn: Connection,
    ids: dict[type, list[str]],
    home: str | None,
    patients: Sequence[str] | None,
) -> Metadata:
    loaded: dict[type, tuple[Any, ...]] = {}
    for kind in KINDS:
        objects = store.load_kind(conn, kind, ids.get(kind, []), patients, home)
        loaded[kind] = tuple(sorted(objects, key=_entry_uuid))
    return Metadata(
        submission_sets=loaded[SubmissionSet],
        documents=loaded[DocumentEntry],
        folders=loaded[Folder],
        associations=loaded[Association],
    )


def _patients(metadata: Metadata) -> list[str]:
    owned: list[SubmissionSet | DocumentEntry | Folder] = [
        *metadata.submission_sets,
        *metadata.documents,
        *metadata.folders,
    ]
    return sorted({patient_key(obj.patient_id) for obj in owned if obj.patient_id})


def _entry_uuid(obj: RegistryObject) -> str:
    return obj.entry_uuid


def _ignored(request: StoredQueryRequest) -> list[XDSError]:
    """ebRS 3.0 6.3.2.1: parameters a query does not define are ignored; say so."""
    return [
        XDSError(
            ErrorCode.XDSRegistryError,
            f"parameter {name} is not defined for this stored query and was ignored",
            name,
            Severity.WARNING,
        )
        for name in request.ignored_parameters
    ]


def _success(warnings: Sequence[XDSError]) -> RegistryResponse:
    return RegistryResponse(ResponseStatus.SUCCESS, tuple(warnings))


def refused(code: ErrorCode, message: str, warnings: Sequence[XDSError] = ()) -> QueryResult:
    error = XDSError(code, message)
    return QueryResult(RegistryResponse(ResponseStatus.FAILURE, (*warnings, error)))
