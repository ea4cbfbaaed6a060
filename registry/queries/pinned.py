"""A stored query read from its patients' partitions only (revision 0010, national scale).

On PostgreSQL the object and side tables are partitioned by patient. A query that names a
patient (FindDocuments, GetAll…) knows its partition; a query by id (GetDocuments,
GetAssociations…) finds it through the narrow global lookups (`object_patients` by
entryUUID, `unique_ids` by uniqueId) before its SQL is built. `pin` then rewrites every
reference to a partitioned table in the `Selection`, subqueries and correlated EXISTS
included, into that table restricted to those patients, so that the planner reads only
their partitions whatever the query's shape.

Every object a query by id reaches lies with the patients of the objects it names: XDS
links objects of one patient only (XDSPatientIdDoesNotMatch), a merge moves a patient's
objects together, and an association lies with its source's patient. A query by logicalId
is not pinned (the metadata-update option; it asks each partition's index).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Alias, ColumnClause, Connection, Select, select, union_all
from sqlalchemy.sql import visitors
from sqlalchemy.sql.util import ClauseAdapter

from registry import store
from registry.queries.answer import Selection
from registry.queries.find import answering_id
from registry.schema import PARTITIONED

_PARTITIONED = set(PARTITIONED)


def patients_named(conn: Connection, query: Any) -> list[str] | None:
    """The patients whose partitions hold the query's answer; None: any partition."""
    patient_id = getattr(query, "patient_id", None)
    if patient_id:
        return [answering_id(conn, patient_id)]
    if getattr(query, "logical_ids", ()):
        return None
    uuids = [*getattr(query, "uuids", ()), *_one(getattr(query, "uuid", None))]
    unique_ids = [*getattr(query, "unique_ids", ()), *_one(getattr(query, "unique_id", None))]
    found = set(store.patients_by_uuid(conn, uuids).values())
    found.update(store.patients_by_unique_id(conn, unique_ids))
    return sorted(found)


def pin(selection: Selection, patients: Sequence[str]) -> Selection:
    """`selection` reading the partitioned tables of `patients` only."""
    parts = [part for part in _parts(selection) if part is not None]
    if not parts:
        return selection
    # The parts are rewritten together, so that what they share (the access policy's
    # CTEs) stays one object, as `answer` needs to run them as one UNION ALL.
    bundle: Any = union_all(*parts)
    for table in PARTITIONED:
        bundle = ClauseAdapter(_of_patients(table, patients)).traverse(bundle)
    # An alias (a correlated self-reference: a newer version) is pinned on its own, by an
    # exact swap: an adapter would take the base table's columns too (an alias embeds its
    # table), and so join the outer row to itself.
    swaps = {
        element: _of_patients(element.element, patients)
        for element in visitors.iterate(bundle)
        if isinstance(element, Alias) and element.element in _PARTITIONED
    }

    def swap(element: Any) -> Any:
        if element in swaps:
            return swaps[element]
        owner = getattr(element, "table", None)
        if isinstance(element, ColumnClause) and owner in swaps:
            return swaps[owner].c[element.key]
        return None

    if swaps:
        bundle = visitors.replacement_traverse(bundle, {}, swap)
    pinned = iter(_ungrouped(select_) for select_ in bundle.selects)
    return Selection(*(next(pinned) if part is not None else None for part in _parts(selection)))


def _parts(selection: Selection) -> tuple[Select[Any] | None, ...]:
    return (
        selection.submission_sets,
        selection.documents,
        selection.folders,
        selection.associations,
    )


def _ungrouped(element: Any) -> Select[Any]:
    return cast(Select[Any], getattr(element, "element", element))


def _of_patients(table: Any, patients: Sequence[str]) -> Any:
    column = table.c.patient_id
    # One patient as `=`: PostgreSQL then carries the constant through join equalities.
    where = column == patients[0] if len(patients) == 1 else column.in_(list(patients))
    return select(table).where(where).subquery()


def _one(value: str | None) -> tuple[str, ...]:
    return (value,) if value else ()


__all__ = ["patients_named", "pin"]
