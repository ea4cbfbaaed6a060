"""National scale (revision 0010): on PostgreSQL a stored query reads one patient's partition.

The registry's object and side tables are partitioned by a hash of the patient. Each
query below runs through `Registry.query` while its statements are recorded; each
statement is then run again under EXPLAIN ANALYZE, and every partition PostgreSQL read
(scan nodes it executed, not those it pruned at planning or execution) must be the
patient's. The world holds twelve patients, so every partition has rows.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from registry_fixtures import OTHER_PATIENT, PATIENT, Submission, document, folder
from registry_query_data import LOINC, World, c, world_on
from sqlalchemy import Engine, event, text

from ebrim.model import DocumentEntry
from ebrim.storedquery import (
    FindDocumentsByReferenceIdQuery,
    FindDocumentsQuery,
    FindFoldersQuery,
    FindSubmissionSetsQuery,
    GetAllQuery,
    GetAssociationsQuery,
    GetDocumentsQuery,
    GetFolderAndContentsQuery,
    GetFoldersForDocumentQuery,
    GetRelatedDocumentsQuery,
    GetSubmissionSetAndContentsQuery,
    GetSubmissionSetsQuery,
    StoredQuery,
    TimeRange,
)
from ebrim.vocabulary import AssociationType, ReturnType
from registry import schema, store
from registry.schema import PARTITIONED

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from plans import plan_nodes, scans

NEIGHBOURS = [f"80000001{n:02d}^^^&1.2.250.1.213.1.4.8&ISO" for n in range(10)]
APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[World]:
    """The stored-query tests' world (PATIENT's record, OTHER_PATIENT) and ten neighbours."""
    with world_on("postgres", tmp_path_factory, request) as built:
        for number, patient in enumerate(NEIGHBOURS):
            built.registry.patients.feed(patient)
            submission = Submission(patient=patient, set_id=f"ss_n{number}")
            submission.add(document(f"doc_n{number}", patient=patient))
            submission.add_folder(folder(f"folder_n{number}", patient=patient))
            built.submit(submission, f"ss_n{number}")
        with built.registry.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        yield built


def partitions_of(engine: Engine, table: str) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = to_regclass(:name) ORDER BY c.relname"
            ),
            {"name": table},
        )
        return list(rows.scalars())


def partition_of_patient(engine: Engine, patient: str) -> str:
    """The suffix (`_p2`) of `patient`'s partitions: the same in every table."""
    count = len(partitions_of(engine, "documents"))
    with engine.connect() as conn:
        for remainder in range(count):
            if conn.execute(
                text(
                    "SELECT satisfies_hash_partition("
                    "'documents'::regclass, :m, :r, CAST(:p AS varchar))"
                ),
                {"m": count, "r": remainder, "p": patient},
            ).scalar_one():
                return f"_p{remainder}"
    raise AssertionError(f"{patient} hashes to no partition")


@contextmanager
def recorded(engine: Engine, verb: str) -> Iterator[list[tuple[str, Any]]]:
    """The statements starting with `verb` that `engine` sends meanwhile, with their
    parameters."""
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(verb):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def partitions_read(
    world: World,
    query: StoredQuery,
    return_type: ReturnType = ReturnType.LEAF_CLASS,
    **request: Any,
) -> dict[str, dict[str, str]]:
    """Per partitioned table, the partitions PostgreSQL read to answer `query` (and a
    statement that read each, to tell which when a test fails)."""
    engine = world.registry.engine
    with recorded(engine, "SELECT") as statements:
        result = world.ask(query, return_type, **request)
    assert not result.response.errors, result.response.errors
    assert result.ids, "the query found nothing"
    read: dict[str, dict[str, str]] = {}
    parents = {p: t.name for t in PARTITIONED for p in partitions_of(engine, t.name)}
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in statements:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
            (plan,) = cursor.fetchone()
            for relation in _executed_relations(plan):
                if relation in parents:
                    read.setdefault(parents[relation], {}).setdefault(relation, statement)
    finally:
        raw.close()
    return read


def _executed_relations(plan: Any) -> Iterator[str]:
    return (relation for relation, loops in scans(plan) if loops > 0)


def assert_one_partition(
    world: World,
    query: StoredQuery,
    patient: str = PATIENT,
    return_type: ReturnType = ReturnType.LEAF_CLASS,
) -> None:
    """`query` found something, and read only `patient`'s partition of every table it read."""
    engine = world.registry.engine
    suffix = partition_of_patient(engine, patient)
    read = partitions_read(world, query, return_type)
    assert read, "no partitioned table was read"
    for table, partitions in read.items():
        others = {name: sql for name, sql in partitions.items() if name != table + suffix}
        assert not others, f"{table}: read {sorted(partitions)}, e.g. in {others.popitem()[1]}"


def test_every_registry_table_is_partitioned_by_patient(world: World) -> None:
    for table in PARTITIONED:
        assert len(partitions_of(world.registry.engine, table.name)) == 4, table.name
    with world.registry.engine.connect() as conn:
        key = conn.execute(text("SELECT pg_get_partkeydef(to_regclass('codes'))")).scalar_one()
    assert key == "HASH (patient_id)"


def test_the_patients_spread_over_every_partition(world: World) -> None:
    engine = world.registry.engine
    suffixes = {partition_of_patient(engine, p) for p in [PATIENT, OTHER_PATIENT, *NEIGHBOURS]}
    assert len(suffixes) == 4


PATIENT_WIDE = {
    "FindDocuments (codes, authors, times)": FindDocumentsQuery(
        patient_id=PATIENT,
        statuses=(APPROVED,),
        class_codes=(c("11488-4", LOINC),),
        event_codes=((c("E1"),),),
        author_persons=("%DUPONT%",),
        creation_time=TimeRange(from_="20000101"),
    ),
    "FindSubmissionSets": FindSubmissionSetsQuery(patient_id=PATIENT, statuses=(APPROVED,)),
    "FindFolders": FindFoldersQuery(patient_id=PATIENT, statuses=(APPROVED,)),
    "GetAll": GetAllQuery(
        patient_id=PATIENT,
        document_statuses=(APPROVED,),
        submission_set_statuses=(APPROVED,),
        folder_statuses=(APPROVED,),
    ),
}


@pytest.mark.parametrize("name", PATIENT_WIDE)
@pytest.mark.parametrize("return_type", [ReturnType.LEAF_CLASS, ReturnType.OBJECT_REF])
def test_a_query_naming_the_patient_reads_one_partition(
    world: World, name: str, return_type: ReturnType
) -> None:
    """ObjectRef too: its audit event reads the documents' uniqueIds again."""
    assert_one_partition(world, PATIENT_WIDE[name], return_type=return_type)


def test_queries_by_id_find_the_partition_through_the_global_lookup(world: World) -> None:
    scan = world.registry.get(world["scan"])
    assert isinstance(scan, DocumentEntry) and scan.unique_id
    by_id = [
        GetDocumentsQuery(uuids=(world["consult"], world["lab"])),
        GetDocumentsQuery(unique_ids=(scan.unique_id,)),
        GetAssociationsQuery(uuids=(world["consult"],)),
        GetSubmissionSetsQuery(uuids=(world["lab"],)),
        GetSubmissionSetAndContentsQuery(uuid=world["ss_b"]),
        GetFolderAndContentsQuery(uuid=world["f_imaging"]),
        GetFoldersForDocumentQuery(uuid=world["scan"]),
        GetRelatedDocumentsQuery(
            uuid=world["consult"],
            association_types=(AssociationType.REPLACE.value,),
        ),
    ]
    for query in by_id:
        for return_type in (ReturnType.LEAF_CLASS, ReturnType.OBJECT_REF):
            assert_one_partition(world, query, return_type=return_type)


def test_a_merge_moves_the_objects_and_their_lookups_to_the_survivor(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> None:
    merged, survivor = NEIGHBOURS[0], NEIGHBOURS[1]
    with world_on("postgres", tmp_path_factory, request) as world:
        engine = world.registry.engine
        doc = _submitted_before_a_merge(world, merged, survivor, "merged")
        assert partition_of_patient(engine, merged) != partition_of_patient(engine, survivor)

        world.registry.patients.merge(merged, survivor)

        with engine.connect() as conn:
            for table in [*PARTITIONED, "object_patients", "unique_ids"]:
                name = table if isinstance(table, str) else table.name
                left = conn.execute(
                    text(f"SELECT count(*) FROM {name} WHERE patient_id = :p"), {"p": merged}
                ).scalar_one()
                assert left == 0, name
        suffix = partition_of_patient(engine, survivor)
        read = partitions_read(world, GetDocumentsQuery(uuids=(world["doc_merged"],)))
        assert set(read["documents"]) == {"documents" + suffix}
        found = world.found(FindDocumentsQuery(patient_id=survivor, statuses=(APPROVED,)))
        assert "doc_merged" in found
        assert world.found(GetDocumentsQuery(unique_ids=(doc.unique_id,))) == {"doc_merged"}


def _submitted_before_a_merge(world: World, merged: str, survivor: str, name: str) -> DocumentEntry:
    """Both patients fed, and a submission set `ss_<name>` with document `doc_<name>`
    registered for `merged`: the document."""
    for patient in (merged, survivor):
        world.registry.patients.feed(patient)
    submission = Submission(patient=merged, set_id=f"ss_{name}")
    doc = submission.add(document(f"doc_{name}", patient=merged))
    world.submit(submission, f"ss_{name}")
    return doc


def test_no_statement_of_a_merge_scans_a_partition(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> None:
    """Under `enable_seqscan = off` PostgreSQL plans a table scan only where no index
    serves: a merge that scanned a national registry's partition of side rows (eight per
    document, and no index leads with the patient) would hold its locks for minutes."""
    merged, survivor = NEIGHBOURS[0], NEIGHBOURS[1]
    with world_on("postgres", tmp_path_factory, request) as world:
        engine = world.registry.engine
        _submitted_before_a_merge(world, merged, survivor, "scanned")
        with recorded(engine, "UPDATE") as statements:
            world.registry.patients.merge(merged, survivor)
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("SET enable_seqscan = off")
            seq_scans = []
            for statement, parameters in statements:
                cursor.execute("EXPLAIN " + statement, parameters)
                plan = [line for (line,) in cursor.fetchall()]
                seq_scans += [line.strip() for line in plan if "Seq Scan" in line]
        finally:
            raw.close()
    assert len(statements) >= len(PARTITIONED)
    assert seq_scans == []


def test_side_rows_are_reached_by_their_patient_and_owner(world: World) -> None:
    """Revision 0013: every read of codes, author persons and reference ids seeks their
    index (patient, owner) by the patient, whose rows are neighbours there, and not an
    index by the owner's random entryUUID alone (a leaf page per document at national
    scale). Reference ids may also be sought by their value, which is rare."""
    engine = world.registry.engine
    side = {t.name for t in (schema.codes, schema.author_persons, schema.reference_ids)}
    parents = {p: t for t in side for p in partitions_of(engine, t)}
    queries = [
        (PATIENT_WIDE["FindDocuments (codes, authors, times)"], ReturnType.OBJECT_REF),
        (
            FindDocumentsByReferenceIdQuery(
                patient_id=PATIENT,
                statuses=(APPROVED,),
                reference_ids=(("ORD-2^^^&1.2.3&ISO^urn:ihe:iti:xds:2013:order",),),
            ),
            None,
        ),
        (GetDocumentsQuery(uuids=(world["consult"],)), ReturnType.OBJECT_REF),
    ]
    with recorded(engine, "SELECT") as statements:
        for query, return_type in queries:
            world.ask(query, return_type or ReturnType.LEAF_CLASS)
    seeks: dict[str, list[str]] = {}
    for node in planned_nodes(engine, statements):
        if node.get("Relation Name") in parents:
            table = parents[node["Relation Name"]]
            seek = node.get("Index Cond") or node.get("Recheck Cond") or node["Node Type"]
            seeks.setdefault(table, []).append(seek)
    assert set(seeks) == side
    for table, conditions in seeks.items():
        for condition in conditions:
            by_reference = table == "reference_ids" and "(reference_id)" in condition
            assert "(patient_id)" in condition or by_reference, (table, condition)


def planned_nodes(engine: Engine, statements: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """Every plan node of `statements` as PostgreSQL plans them under `enable_seqscan = off`,
    which leaves a table scan only where no index serves."""
    nodes: list[dict[str, Any]] = []
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SET enable_seqscan = off")
        for statement, parameters in statements:
            cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
            (plan,) = cursor.fetchone()
            nodes += plan_nodes(plan)
    finally:
        raw.close()
    return nodes


def test_a_query_by_logical_id_seeks_the_versions_by_their_patient(world: World) -> None:
    """Revision 0013: the (patient, logicalId, version) index answers a lookup by logicalId
    (GetDocuments of the Metadata Update option, ITI-57's latest version) through the
    patient `object_patients` gives the logicalId, the first version's entryUUID."""
    engine = world.registry.engine
    documents_partitions = set(partitions_of(engine, "documents"))
    with recorded(engine, "SELECT") as statements:
        found = world.found(GetDocumentsQuery(logical_ids=(world["consult"],)), metadata_level=2)
        with engine.connect() as conn:
            latest = store.latest_version(conn, DocumentEntry, world["consult"])
    assert "consult" in found and latest is not None
    seeks = [
        (node.get("Index Name", node["Node Type"]), node.get("Index Cond", ""))
        for node in planned_nodes(engine, statements)
        if node.get("Index Name", "").startswith(tuple(documents_partitions))
        or node.get("Relation Name") in documents_partitions
    ]
    by_logical_id = [(index, seek) for index, seek in seeks if "logical_id" in seek]
    assert by_logical_id
    for index, seek in by_logical_id:
        assert "_patient_id_logical_id_version_" in index, (index, seek)
