"""$MetadataLevel 1 narrows a selection in its own WHERE (registry.queries.levels)."""

from __future__ import annotations

from sqlalchemy import select

from registry.queries.answer import Selection
from registry.queries.levels import for_level
from registry.schema import documents


def test_level_one_narrows_a_selection_of_documents_without_joining_them_again() -> None:
    chosen = select(documents.c.entry_uuid).where(documents.c.patient_id == "P")

    narrowed = for_level(Selection(documents=chosen), None).documents

    assert narrowed is not None
    sql = str(narrowed.compile())
    assert "documents.entry_uuid IN" not in sql
    assert "NOT (EXISTS (SELECT" in sql
    assert narrowed.get_final_froms() == [documents]


def test_level_one_wraps_a_selection_that_reads_other_tables() -> None:
    other = documents.alias("named")
    chosen = select(other.c.entry_uuid).where(other.c.patient_id == "P")

    narrowed = for_level(Selection(documents=chosen), None).documents

    assert narrowed is not None
    assert "documents.entry_uuid IN (SELECT named.entry_uuid" in str(narrowed.compile())


def test_level_two_leaves_the_selection_as_it_is() -> None:
    chosen = select(documents.c.entry_uuid).where(documents.c.patient_id == "P")

    assert for_level(Selection(documents=chosen), 2).documents is chosen
