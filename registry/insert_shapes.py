"""The INSERT of a table as the express path writes it, worked out once per table and dialect.

The express path (`registry.express`, `registry.express_postgresql`) writes rows without
compiling SQLAlchemy statements per request: the column list, the INSERT's head and the
columns' bind processors come from here, cached.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from sqlalchemy import Engine, Table


class Shape(NamedTuple):
    head: bytes  # INSERT INTO "table" ("a","b") VALUES
    columns: tuple[str, ...]
    template: str  # one row's (%s,%s)
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]  # (column index, bind processor)


_SHAPES: dict[tuple[str, str], Shape] = {}


def insert_shape(table: Table, engine: Engine) -> Shape:
    """The INSERT of `table` for `engine`'s dialect (cached)."""
    key = (table.name, engine.dialect.name)
    shape = _SHAPES.get(key)
    if shape is None:
        shape = _SHAPES[key] = _new_shape(table, engine)
    return shape


def _new_shape(table: Table, engine: Engine) -> Shape:
    columns = tuple(
        column.name
        for column in table.columns
        if not (column.primary_key and column.autoincrement is True)
    )
    every = (table.c[name].type.bind_processor(engine.dialect) for name in columns)
    processors = tuple((index, process) for index, process in enumerate(every) if process)
    names = ",".join(f'"{name}"' for name in columns)
    head = f'INSERT INTO "{table.name}" ({names}) VALUES '.encode()
    template = "(" + ",".join(["%s"] * len(columns)) + ")"
    return Shape(head, columns, template, processors)


def row_values(row: Mapping[str, Any], shape: Shape) -> list[Any]:
    """`row`'s values in `shape`'s column order, converted where the column's type says."""
    values = [row.get(name) for name in shape.columns]
    for index, process in shape.processors:  # the few columns whose type converts (SQLite times)
        values[index] = process(values[index])
    return values


def rows_values(rows: Iterable[Mapping[str, Any]], shape: Shape) -> list[Any]:
    """The values of `rows`, row after row, each as `row_values` gives it: one list, built
    without a call per row where no column converts (PostgreSQL's)."""
    if shape.processors:
        return [value for row in rows for value in row_values(row, shape)]
    return [row.get(column) for row in rows for column in shape.columns]
