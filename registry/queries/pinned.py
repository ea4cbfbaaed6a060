"""A stored query read from its patients' partitions only (revision 0010, national scale).

On PostgreSQL the object and side tables are partitioned by patient. A query that names a
patient (FindDocuments, GetAll…) knows its partition; a query by id (GetDocuments,
GetAssociations…) finds it through the narrow global lookups (`object_patients` by
entryUUID, `unique_ids` by uniqueId) before its SQL is built. `pin` then gives every
SELECT of the `Selection` that reads a partitioned table, subqueries and correlated
EXISTS included, the condition that its rows are those patients', so that the planner
reads only their partitions whatever the query's shape. (Not on SQLite: no partitions.)

Every object a query by id reaches lies with the patients of the objects it names: XDS
links objects of one patient only (XDSPatientIdDoesNotMatch), a merge moves a patient's
objects together, and an association lies with its source's patient. A query by logicalId
is not pinned (the metadata-update option; it asks each partition's index).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Alias, Connection, Select
from sqlalchemy.sql import visitors

from registry import store
from registry.queries.answer import Selection
from registry.queries.find import answering_id
from registry.queries.get import single
from registry.schema import PARTITIONED

_PARTITIONED = set(PARTITIONED)


def patients_named(conn: Connection, query: Any) -> list[str] | None:
    """The patients whose partitions hold the query's answer; None: any partition."""
    patient_id = getattr(query, "patient_id", None)
    if patient_id:
        return [answering_id(conn, patient_id)]
    if getattr(query, "logical_ids", ()):
        return None
    uuids = [*getattr(query, "uuids", ()), *single(getattr(query, "uuid", None))]
    unique_ids = [*getattr(query, "unique_ids", ()), *single(getattr(query, "unique_id", None))]
    found = {*store.patients_by_uuid(conn, uuids), *store.patients_by_unique_id(conn, unique_ids)}
    return sorted(found)


def pin(selection: Selection, patients: Sequence[str]) -> Selection:
    """`selection` reading the partitioned tables of `patients` only.

    Every SELECT in it (subqueries, correlated EXISTS, CTEs) gets, for each partitioned
    table or alias of one that it reads, `patient_id` equal to (one of) `patients`: a
    constant in each scan, which PostgreSQL prunes by when it plans. The statements are
    changed in place, without cloning (a cloned rewrite cost 5-18 ms a query): they must
    be this request's own, as the query modules build them.
    """
    visited: set[int] = set()

    def visit(statement: Any) -> None:
        if id(statement) in visited:
            return
        visited.add(id(statement))
        extra = tuple(
            _of_patients(source, patients)
            for source in _sources(statement).values()
            if _base(source) in _PARTITIONED
        )
        if extra:
            statement._where_criteria += extra

    for part in _parts(selection):
        if part is not None:
            visitors.traverse(part, {}, {"select": visit})
    return selection


def _sources(statement: Any) -> dict[int, Any]:
    """The tables and aliases a SELECT names, in its columns, WHERE and FROM (each once)."""
    found: dict[int, Any] = {}
    for element in (*statement._raw_columns, *statement._where_criteria):
        for source in element._from_objects:
            found.setdefault(id(source), source)
    for source in statement._from_obj:
        found.setdefault(id(source), source)
    return found


def _base(source: Any) -> Any:
    return source.element if isinstance(source, Alias) else source


def _parts(selection: Selection) -> tuple[Select[Any] | None, ...]:
    return (
        selection.submission_sets,
        selection.documents,
        selection.folders,
        selection.associations,
    )


def _of_patients(source: Any, patients: Sequence[str]) -> Any:
    column = source.c.patient_id
    # One patient as `=`: the plan then holds the constant itself.
    return column == patients[0] if len(patients) == 1 else column.in_(list(patients))


__all__ = ["patients_named", "pin"]
