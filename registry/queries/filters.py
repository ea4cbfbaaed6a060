"""SQL conditions shared by the stored queries (ITI TF-2 3.18.4.1.2.3.6 and .7).

Every function returns SQLAlchemy conditions on an object's table, to be ANDed; the
multi-valued attributes (codes, author persons, reference ids) are tested with a
correlated EXISTS on their side table, so an object never appears twice.

Times. Stored times and query bounds are both normalised by `registry.times.normalize_dtm`:
UTC, 14 digits, the missing parts at their minimum. A DTM of lower precision therefore
stands for the instant its period starts: ``From 2024`` keeps everything from
2024-01-01T00:00:00 on, ``To 2024`` keeps everything before it (nothing of 2024). The TF
makes From inclusive (>=) and To exclusive (<) so that consecutive ranges tile without
overlap or gap (``To X`` then ``From X``); comparing instants keeps that property at every
precision, which comparing the raw strings would not (``'2024' < '20240101'``). A stored
value of lower precision (a service start of ``20240101``) is likewise its first instant.
An object without the attribute never matches a bound on it (SQL NULL compares false).

Author persons. ``%`` (any run) and ``_`` (any one character) are the wildcards the TF
allows. A backslash before ``%``, ``_`` or another backslash makes it literal (the escape of
SQL LIKE, and PostgreSQL's default); any other character, a backslash included, is literal.
The match is case-sensitive on both databases (SQL LIKE semantics): SQLite's LIKE folds
ASCII case, so SQLite gets the equivalent GLOB.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, exists, false, func, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import Boolean

from ebrim.model import Code
from ebrim.storedquery import CodeQuery, StringQuery, TimeRange
from ebrim.vocabulary import ObjectType
from registry.schema import author_persons, codes, reference_ids
from registry.times import normalize_dtm

Condition = ColumnElement[bool]
STABLE_ONLY = (ObjectType.STABLE_DOCUMENT.value,)


def one_of(column: ColumnElement[Any], values: Sequence[str]) -> list[Condition]:
    """`column` is one of `values`; no condition when none are given."""
    return [column.in_(list(values))] if values else []


def document_types(column: ColumnElement[Any], types: Sequence[str]) -> list[Condition]:
    """$XDSDocumentEntryType: the given objectTypes, stable entries only when absent.

    ITI TF-2 3.18.4.1.2.3.6.2 (On-Demand Documents): a consumer that does not ask for
    on-demand entries must not receive them.
    """
    return [column.in_(list(types or STABLE_ONLY))]


def within(column: ColumnElement[Any], bounds: TimeRange) -> list[Condition]:
    """`bounds.from_` <= column < `bounds.to`, both normalised (see the module docstring).

    A bound that is no real time (February 30th) matches nothing.
    """
    out: list[Condition] = []
    low, high = normalize_dtm(bounds.from_), normalize_dtm(bounds.to)
    if bounds.from_ is not None:
        out.append(column >= low if low else false())
    if bounds.to is not None:
        out.append(column < high if high else false())
    return out


def owned_by(side: Table, owner: ColumnElement[Any]) -> tuple[Condition, Condition]:
    """The side rows (codes, author persons, reference ids) of `owner`, an entryUUID column:
    by the owner's patient and entryUUID, the side tables' index (revision 0013)."""
    owners = cast(Any, owner).table
    return side.c.patient_id == owners.c.patient_id, side.c.object_uuid == owner


def has_code(owner: ColumnElement[Any], scheme: str, values: Iterable[Code]) -> Condition:
    """The object has a code of classification `scheme` equal to any of `values` (OR).

    A value without a coding scheme (an MHD token without a system; ITI-18 always names
    one) matches its code in any coding scheme.
    """
    return exists().where(
        *owned_by(codes, owner),
        codes.c.scheme == scheme,
        or_(
            *(
                and_(codes.c.code == v.code, codes.c.coding_scheme == v.scheme)
                if v.scheme
                else codes.c.code == v.code
                for v in values
            )
        ),
    )


def any_code(owner: ColumnElement[Any], scheme: str, values: Sequence[Code]) -> list[Condition]:
    """A single-slot code parameter: one of `values` (no condition when none are given)."""
    return [has_code(owner, scheme, values)] if values else []


def all_code_groups(owner: ColumnElement[Any], scheme: str, groups: CodeQuery) -> list[Condition]:
    """A repeatable code parameter: for each slot, one of its codes (AND of ORs)."""
    return [has_code(owner, scheme, group) for group in groups if group]


def all_reference_groups(
    owner: ColumnElement[Any], groups: StringQuery, *, any_type: bool = False
) -> list[Condition]:
    """$XDSDocumentEntryReferenceIdList: for each slot, one of its values, matched exactly
    or, with `any_type`, as an identifier followed by any CXi type (``value^…``)."""
    ref = reference_ids.c.reference_id

    def matches(group: tuple[str, ...]) -> Condition:
        if not any_type:
            return ref.in_(list(group))
        return or_(  # a prefix compared as text: LIKE is case-blind on SQLite
            ref.in_(list(group)),
            *(func.substr(ref, 1, len(v) + 1) == v + "^" for v in group),
        )

    return [
        exists().where(*owned_by(reference_ids, owner), matches(group)) for group in groups if group
    ]


def authored_by(owner: ColumnElement[Any], patterns: Sequence[str]) -> list[Condition]:
    """One of the object's author persons matches one of the LIKE `patterns` (OR)."""
    if not patterns:
        return []
    return [
        exists().where(
            *owned_by(author_persons, owner),
            or_(*(PersonMatches(author_persons.c.person, p) for p in patterns)),
        )
    ]


# --- case-sensitive LIKE on both databases -----------------------------------------------------

ANY_RUN, ANY_ONE = object(), object()


def _pattern_parts(pattern: str) -> list[object]:
    """The consumer's pattern as wildcards and literal characters."""
    parts: list[object] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and pattern[i + 1 : i + 2] in ("%", "_", "\\"):
            parts.append(pattern[i + 1])
            i += 2
            continue
        parts.append(ANY_RUN if char == "%" else ANY_ONE if char == "_" else char)
        i += 1
    return parts


def like_pattern(pattern: str) -> str:
    """The pattern for ``LIKE ... ESCAPE '\\'``."""
    out = []
    for part in _pattern_parts(pattern):
        if part is ANY_RUN:
            out.append("%")
        elif part is ANY_ONE:
            out.append("_")
        else:
            text = str(part)
            out.append("\\" + text if text in ("%", "_", "\\") else text)
    return "".join(out)


def glob_pattern(pattern: str) -> str:
    """The same pattern for SQLite's case-sensitive GLOB."""
    out = []
    for part in _pattern_parts(pattern):
        if part is ANY_RUN:
            out.append("*")
        elif part is ANY_ONE:
            out.append("?")
        else:
            text = str(part)
            out.append(f"[{text}]" if text in ("*", "?", "[") else text)
    return "".join(out)


class PersonMatches(ColumnElement[bool]):
    """`column` matches a consumer's LIKE pattern, case-sensitively, on any database."""

    inherit_cache = False
    type = Boolean()

    def __init__(self, column: ColumnElement[Any], pattern: str) -> None:
        self.column = column
        self.pattern = pattern


@compiles(PersonMatches)
def _compile_like(element: PersonMatches, compiler: SQLCompiler, **kw: Any) -> str:
    clause = element.column.like(like_pattern(element.pattern), escape="\\")
    return compiler.process(clause, **kw)


@compiles(PersonMatches, "sqlite")
def _compile_glob(element: PersonMatches, compiler: SQLCompiler, **kw: Any) -> str:
    clause = element.column.op("GLOB", is_comparison=True)(glob_pattern(element.pattern))
    return compiler.process(clause, **kw)
