"""The 10 M-document benchmark: stored queries and ITI-41 registration at national scale.

    .venv/bin/python bench/scale_bench.py              # 1 M and 10 M documents (see below)
    .venv/bin/python bench/scale_bench.py --reuse      # again, measuring only
    .venv/bin/python bench/scale_bench.py --sizes 20000,100000 --rounds 2 --queries 100
    .venv/bin/python bench/scale_bench.py --reuse --drop   # measure once more, then drop

Loading. For each size a PostgreSQL schema `xds_scale_<size>` is dropped, created and
migrated (`registry.migrate`: the tables partitioned by patient, XDS_PATIENT_PARTITIONS
partitions, 16 unless `--partitions` says), then filled by COPY with synthetic DMP-like
rows (bench/scale_data.py: skewed documents per patient, 1-5 documents per submission set,
~8 codes, one author and one reference id per document, bodies the registry decodes),
streamed a block of patients at a time: a thread makes the next blocks while `--workers`
connections COPY, one transaction per block. The rows go in with every index in place, as
in a registry in service; `--defer-indexes` drops the partitioned tables' secondary
indexes (not their primary keys) for the load and builds them after it, timed apart.
VACUUM (ANALYZE) follows, as autovacuum would come by: without it the first queries would
set hint bits, and autovacuum would run during the measurements; a CHECKPOINT before the
first round writes the load's dirty pages, which would otherwise stall the queries'
commits (each query commits its audit event). The schema's comment
records what was loaded: `--reuse` keeps a schema that holds its size and only measures.
Schemas are kept unless `--drop`.

Measuring, in `--rounds` rounds that alternate between sizes (the machine is shared and
noisy: each size sees the same weather), in process through `Registry.query`, its audit
event included: FindDocuments by patient and status, and by patient, two class codes and a
creation time range; GetDocuments by one entryUUID, and by one uniqueId; each as LeafClass
and as ObjectRef, on `--queries` random patients or documents per round; p50 and p99 of all
rounds, each round's p99 beside. Then ITI-41 registration throughput: `Registry.submit` of
bench/synthetic.py submissions (`--submission-documents` documents each) into each size's
schema, for new patients (fed first, untimed) and for patients loaded earlier, in
documents/s, and the largest size's rate over the smallest's, with the disk reads per
document registered (/proc/diskstats: index pages that were not in memory, when the
database is local). Partition pruning is shown from real plans: the statements of one
FindDocuments are recorded and run again under EXPLAIN (ANALYZE, FORMAT JSON), counting the
partitions of each table executed (and planned) against those that exist.

Targets of the issue, printed beside the figures, never asserted: FindDocuments p99 < 20 ms
at 10 M documents; ITI-41 at 10 M >= 90 % of its rate at 1 M.

What to expect, measured up to 300,000 documents (2 cores shared with a test run, 23 GB of
RAM, PostgreSQL 15 with its defaults: 128 MB shared_buffers, 1 GB max_wal_size):
- Disk (revision 0013): 6.7-6.9 GB per million documents, indexes and TOAST included
  (per million documents at 10 M: documents 1.9 GB, codes 1.75, associations 1.05,
  submission_sets 0.52, object_patients 0.49, author_persons 0.42, reference_ids 0.38,
  unique_ids 0.34), and up to ~2 GB of WAL. The default run needs ~80 GB free: 10 M
  documents alone took 65 GB at revision 0012, 67 GB at 0013. Before 0012 it was 9.3 GB
  per million. It refuses to start when the database's disk (if local) has less than
  `GB_PER_MILLION` per million documents to load, plus a tenth (`--no-disk-check` to go
  ahead anyway).
- Load: COPY at 4,000-7,000 documents/s (70,000-115,000 rows/s) with indexes in place,
  about twice that with `--defer-indexes` at 100,000 documents, but alike at 300,000;
  VACUUM (ANALYZE) about a minute per million. 1 M is ready in ~4-5 minutes; 10 M with
  `--defer-indexes` took 29 minutes (COPY at 6,940 documents/s, 27 KB of WAL per
  document; indexes 3.7 min; VACUUM 98 s). With indexes in place the WAL per document
  grows with the tables: rows with random keys (the loader's entryUUIDs are random, as
  submitters' own may be) touch index pages that each checkpoint makes write whole into the
  WAL once more.
- Registration: the registry's own entryUUIDs are time-ordered (ebrim/ids.py), so an ITI-41
  at 10 M read 0.3-0.6 pages from disk per document (random ids: 5.4-7) and ran at 94-100 %
  of its 1 M rate; for patients loaded earlier, 1.9 reads per document (1 M: 1.1).
- Queries: FindDocuments' p99 follows the tail of documents per patient (one patient in a
  hundred has more than ~120, and LeafClass decodes each) and, at 10 M, the pages of such a
  patient that are not in memory; every query also commits its audit event (a WAL flush).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import re
import shutil
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plans import scans
from scale_data import Rows, check_rows, copy_rows
from sqlalchemy import Engine, event, text
from synthetic import CLASS_SYSTEM, Generator, patient_id
from tqdm import tqdm

from ebrim.model import Code, Metadata
from ebrim.storedquery import (
    FindDocumentsQuery,
    GetDocumentsQuery,
    StoredQuery,
    StoredQueryRequest,
    TimeRange,
)
from ebrim.vocabulary import AvailabilityStatus, ResponseStatus, ReturnType
from registry import Registry, RegistrySettings, create_engine_for, migrate
from registry.schema import PARTITIONED

APPROVED = (AvailabilityStatus.APPROVED.value,)
NEW, EXISTING = "new patients", "existing patients"  # whom the ITI-41 rounds submit for
GB_PER_MILLION = 7.0  # of documents, on disk once loaded (6.8 at 1 M, 6.5 at 10 M deferred: 0012)
SEED = 7
# Every table loaded, and folders (left empty), the largest first.
BIGGEST_FIRST = (
    "codes", "documents", "associations", "author_persons", "object_patients",
    "submission_sets", "reference_ids", "unique_ids", "patients", "folders",
)  # fmt: skip


def schema_name(size: int) -> str:
    return f"xds_scale_{size}"


@dataclass
class Loaded:
    """A size's schema and what was loaded into it (kept as the schema's comment)."""

    size: int
    patients: int
    rows: int
    load_seconds: float
    index_seconds: float
    vacuum_seconds: float
    partitions: int
    deferred_indexes: int
    wal_bytes: int  # written by the whole server from the first COPY to the end of VACUUM
    per_patient: dict[str, float]
    reused: bool = False

    def comment(self) -> str:
        fields = dict(vars(self))
        del fields["reused"]
        return json.dumps(fields)


def kept(url: str, size: int, partitions: int | None) -> Loaded | None:
    """What the size's schema holds by its comment, if that is `size` documents (`--reuse`)."""
    admin = create_engine_for(url)
    try:
        with admin.connect() as conn:
            note = conn.execute(
                text("SELECT obj_description(to_regnamespace(:s), 'pg_namespace')"),
                {"s": schema_name(size)},
            ).scalar()
    finally:
        admin.dispose()
    if not note:
        return None
    try:
        loaded = Loaded(**json.loads(note), reused=True)
    except (TypeError, ValueError):  # another version's comment: load again
        return None
    if loaded.size != size or partitions not in (None, loaded.partitions):
        return None
    return loaded


def check_disk(url: str, sizes: list[int]) -> None:
    """Refuse loads that the database's disk cannot hold, when its data directory is here.

    PostgreSQL that runs out of disk for its WAL stops; other users of the server with it.
    """
    admin = create_engine_for(url)
    try:
        with admin.connect() as conn:
            directory = conn.execute(text("SHOW data_directory")).scalar_one()
            replaced = sum(
                conn.execute(
                    text(
                        "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                        "WHERE c.relnamespace = to_regnamespace(:s) AND c.relkind = 'r'"
                    ),
                    {"s": schema_name(size)},
                ).scalar_one()
                for size in sizes
            )
    finally:
        admin.dispose()
    if not os.path.isdir(directory):
        return  # a remote server: its operator knows its disk
    need = GB_PER_MILLION * 2**30 * sum(sizes) / 1e6 * 1.1
    free = shutil.disk_usage(directory).free + int(replaced)
    if free < need:
        raise SystemExit(
            f"loading {sum(sizes):,} documents needs ~{need / 2**30:,.0f} GB; "
            f"{free / 2**30:,.0f} GB are free for {directory} (--no-disk-check to try anyway)"
        )


def fresh_schema(url: str, size: int, partitions: int | None) -> Engine:
    name = schema_name(size)
    admin = create_engine_for(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    admin.dispose()
    if partitions is not None:
        os.environ["XDS_PATIENT_PARTITIONS"] = str(partitions)
    engine = create_engine_for(url, schema=name)
    migrate(engine)
    return engine


def partitions_of(engine: Engine, table: str) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = to_regclass(:t) ORDER BY c.relname"
            ),
            {"t": table},
        )
        return list(rows.scalars())


def secondary_indexes(engine: Engine) -> list[tuple[str, str, str]]:
    """(table, index, CREATE INDEX statement) of the partitioned tables' indexes but keys."""
    names = [t.name for t in PARTITIONED]
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT t.relname, c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
                "WHERE t.relname = ANY(:names) AND t.relnamespace = to_regnamespace("
                "current_schema()) AND NOT i.indisprimary ORDER BY c.relname"
            ),
            {"names": names},
        )
        # The definition of a partitioned index reads ON ONLY (the parent alone): dropped,
        # the index is built again for the parent and every partition.
        return [(t, name, sql.replace(" ON ONLY ", " ON ", 1)) for t, name, sql in rows]


def load(url: str, size: int, args: argparse.Namespace) -> tuple[Engine, Loaded]:
    """The size's schema, made afresh and loaded."""
    engine = fresh_schema(url, size, args.partitions)
    deferred = secondary_indexes(engine) if args.defer_indexes else []
    with engine.begin() as conn:
        for _table, name, _sql in deferred:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
    rows = Rows(size, SEED)
    copied = 0
    wal = wal_position(engine)
    started = time.perf_counter()
    with tqdm(total=size, unit="doc", desc=f"loading {schema_name(size)}") as bar:
        for batch in copy_rows(engine, rows, args.workers):
            copied += batch.rows
            bar.update(batch.documents)
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    builds = [sql for _table, _name, sql in sorted(deferred, key=_biggest_first)]
    spread(engine, builds, args.workers)
    index_seconds = time.perf_counter() - started
    started = time.perf_counter()
    spread(engine, [f"VACUUM (ANALYZE) {t}" for t in BIGGEST_FIRST], args.workers)
    vacuum_seconds = time.perf_counter() - started
    with engine.connect() as conn:
        wal_bytes = conn.execute(
            text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), CAST(:at AS pg_lsn))"), {"at": wal}
        ).scalar_one()
    counts = sorted(rows.per_patient.elements())
    loaded = Loaded(
        size=size,
        patients=rows.patients,
        rows=copied,
        load_seconds=load_seconds,
        index_seconds=index_seconds,
        vacuum_seconds=vacuum_seconds,
        partitions=len(partitions_of(engine, "documents")),
        deferred_indexes=len(deferred),
        wal_bytes=int(wal_bytes),
        per_patient={
            "mean": statistics.fmean(counts),
            **{f"p{q}": counts[len(counts) * q // 100] for q in (50, 90, 99)},
            "max": counts[-1],
        },
    )
    with engine.begin() as conn:
        conn.exec_driver_sql(f"COMMENT ON SCHEMA \"{schema_name(size)}\" IS '{loaded.comment()}'")
    return engine, loaded


def wal_position(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT pg_current_wal_lsn()")).scalar_one())


def _biggest_first(index: tuple[str, str, str]) -> int:
    return BIGGEST_FIRST.index(index[0])


def spread(engine: Engine, statements: list[str], workers: int) -> None:
    """Run independent statements (CREATE INDEX, VACUUM) over `workers` connections at once."""
    pending: queue.SimpleQueue[str] = queue.SimpleQueue()
    for statement in statements:
        pending.put(statement)

    def work() -> None:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("SET maintenance_work_mem = '1GB'")
            while True:
                try:
                    statement = pending.get_nowait()
                except queue.Empty:
                    return
                conn.exec_driver_sql(statement)

    with ThreadPoolExecutor(workers) as pool:
        for running in [pool.submit(work) for _ in range(workers)]:
            running.result()


def table_sizes(engine: Engine) -> dict[str, int]:
    """Bytes of each table with its indexes and TOAST, summed over its partitions if any."""
    query = text(
        "SELECT coalesce((SELECT sum(pg_total_relation_size(relid)) "
        "FROM pg_partition_tree(CAST(:t AS regclass))), pg_total_relation_size(:t))"
    )
    with engine.connect() as conn:
        return {t: int(conn.execute(query, {"t": t}).scalar_one()) for t in BIGGEST_FIRST}


def report_load(loaded: Loaded, sizes: dict[str, int]) -> None:
    how = "kept (--reuse): sizes hold earlier rounds' registrations" if loaded.reused else "loaded"
    documents = loaded.size
    print(
        f"\n{schema_name(loaded.size)}: {documents:,} documents of {loaded.patients:,} patients, "
        f"{loaded.partitions} partitions, {how}"
    )
    per = loaded.per_patient
    print(
        f"  documents per patient: mean {per['mean']:.1f}, p50 {per['p50']:.0f}, "
        f"p90 {per['p90']:.0f}, p99 {per['p99']:.0f}, max {per['max']:.0f}"
    )
    indexes = (
        f"{loaded.deferred_indexes} secondary indexes built after it {loaded.index_seconds:,.1f} s"
        if loaded.deferred_indexes
        else "every index in place during it"
    )
    ready = loaded.load_seconds + loaded.index_seconds + loaded.vacuum_seconds
    print(
        f"  COPY {loaded.load_seconds:,.1f} s: {loaded.rows:,} rows, "
        f"{loaded.rows / loaded.load_seconds:,.0f} rows/s, "
        f"{documents / loaded.load_seconds:,.0f} documents/s; {indexes}; "
        f"VACUUM (ANALYZE) {loaded.vacuum_seconds:,.1f} s; ready in {ready:,.1f} s "
        f"({documents / ready:,.0f} documents/s)"
    )
    print(
        f"  WAL written meanwhile (by the whole server): {loaded.wal_bytes / 2**30:,.2f} GB, "
        f"{loaded.wal_bytes / documents / 1024:,.1f} KB per document"
    )
    total = sum(sizes.values())
    listed = ", ".join(f"{t} {b / 2**20:,.0f}" for t, b in sizes.items() if b)
    print(f"  size MB: {listed}")
    print(
        f"  total {total / 2**30:,.2f} GB, {total / documents * 1e6 / 2**30:,.2f} GB "
        "per million documents"
    )


@dataclass
class Target:
    """One size under measure: its registry and where its random questions come from."""

    loaded: Loaded
    registry: Registry
    documents: list[tuple[str, str]]  # (entryUUID, uniqueId), sampled
    random: random.Random = field(default_factory=lambda: random.Random(SEED))

    def patient(self) -> str:
        return patient_id(self.random.randrange(self.loaded.patients))

    def document(self) -> tuple[str, str]:
        return self.random.choice(self.documents)


def sample_documents(engine: Engine, size: int, count: int) -> list[tuple[str, str]]:
    """About `count` (entryUUID, uniqueId) of documents from every partition, at random."""
    percent = min(100.0, 100.0 * 4 * count / size)  # whole pages: ~4 times too many rows
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                f"SELECT entry_uuid, unique_id FROM documents TABLESAMPLE SYSTEM ({percent}) "
                "REPEATABLE (7)"
            )
        )
        found = [(uuid, unique_id) for uuid, unique_id in rows]
    return random.Random(SEED).sample(found, min(count, len(found)))


def by_status(target: Target) -> StoredQuery:
    return FindDocumentsQuery(patient_id=target.patient(), statuses=APPROVED)


def by_class_and_time(target: Target) -> StoredQuery:
    return FindDocumentsQuery(
        patient_id=target.patient(),
        statuses=APPROVED,
        class_codes=(Code("11", CLASS_SYSTEM), Code("13", CLASS_SYSTEM)),
        creation_time=TimeRange("2018", "2023"),
    )


def by_uuid(target: Target) -> StoredQuery:
    return GetDocumentsQuery(uuids=(target.document()[0],))


def by_unique_id(target: Target) -> StoredQuery:
    return GetDocumentsQuery(unique_ids=(target.document()[1],))


QUERIES: dict[str, Callable[[Target], StoredQuery]] = {
    "FindDocuments patient+status": by_status,
    "FindDocuments patient+class+time": by_class_and_time,
    "GetDocuments one entryUUID": by_uuid,
    "GetDocuments one uniqueId": by_unique_id,
}
RETURNS = {"LeafClass": ReturnType.LEAF_CLASS, "ObjectRef": ReturnType.OBJECT_REF}


def ask(registry: Registry, request: StoredQueryRequest) -> float:
    """Milliseconds `Registry.query` took to answer `request` successfully."""
    started = time.perf_counter()
    result = registry.query(request)
    elapsed = (time.perf_counter() - started) * 1000
    if result.response.status is not ResponseStatus.SUCCESS:
        raise SystemExit(f"{request.query_id.name} failed: {result.response.errors}")
    return elapsed


def query_round(target: Target, count: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for name, make in QUERIES.items():
        for label, return_type in RETURNS.items():
            for _ in range(3):  # warm: compiled statements, pooled connections
                ask(target.registry, StoredQueryRequest(make(target), return_type=return_type))
            requests = [
                StoredQueryRequest(make(target), return_type=return_type) for _ in range(count)
            ]
            out[f"{name}, {label}"] = [ask(target.registry, r) for r in requests]
    return out


_DISK = re.compile(r"(sd[a-z]+|vd[a-z]+|xvd[a-z]+|nvme\d+n\d+)")


def disk_reads() -> int:
    """Read requests completed by the machine's whole disks so far (/proc/diskstats), or 0."""
    try:
        lines = Path("/proc/diskstats").read_text().splitlines()
    except OSError:
        return 0
    fields = [line.split() for line in lines]
    return sum(int(f[3]) for f in fields if len(f) > 3 and _DISK.fullmatch(f[2]))


@dataclass(frozen=True)
class Registered:
    """One round's ITI-41 registrations of one kind."""

    rate: float  # documents/s
    reads: float  # disk reads per document


def registration_rate(
    target: Target, submissions: int, documents: int, *, existing: bool
) -> Registered:
    """ITI-41's registration (`Registry.submit`): documents/s and disk reads per document.

    For new patients (fed first, untimed), or for patients drawn at random among those
    loaded, whose pages at 10 M are mostly not in memory. The disk reads are the whole
    machine's (a local database's pages that were in neither shared_buffers nor the page
    cache, and anything else)."""
    registry = target.registry
    with registry.engine.connect() as conn:
        first = conn.execute(text("SELECT count(*) FROM patients")).scalar_one()
        sets = conn.execute(text("SELECT count(*) FROM submission_sets")).scalar_one()
    messages: list[Metadata] = []
    if existing:  # a seed no other round had: its uniqueIds are new
        generator = Generator(patients=target.loaded.patients, seed=10**12 + sets)
        messages = [generator.submission(documents) for _ in range(submissions)]
    else:
        generator = Generator(patients=1, seed=first)
        for number in range(first, first + submissions):
            registry.patients.feed(patient_id(number))
            messages.append(generator.submission(documents, patient=number))
    reads = disk_reads()
    started = time.perf_counter()
    for message in messages:
        submitted = registry.submit(message)
        if submitted.response.status is not ResponseStatus.SUCCESS:
            raise SystemExit(f"registration failed: {submitted.response.errors}")
    elapsed = time.perf_counter() - started
    registered = submissions * documents
    return Registered(registered / elapsed, (disk_reads() - reads) / registered)


def pruning(target: Target) -> dict[str, tuple[int, int, int]]:
    """Per partitioned table one FindDocuments read: (partitions executed, planned, existing).

    The statements `Registry.query` sends are recorded, then run again under EXPLAIN
    ANALYZE; a partition counts as executed when a scan node of it ran at least once.
    """
    engine = target.registry.engine
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    for _ in range(50):  # a patient with documents to find: codes are read then
        query = by_class_and_time(target)
        found = target.registry.query(StoredQueryRequest(query)).metadata
        if found is not None and found.documents:
            break
    event.listen(engine, "before_cursor_execute", record)
    try:
        ask(target.registry, StoredQueryRequest(query))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    parents = {p: t.name for t in PARTITIONED for p in partitions_of(engine, t.name)}
    executed: dict[str, set[str]] = {}
    planned: dict[str, set[str]] = {}
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in statements:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
            (plan,) = cursor.fetchone() or ([],)
            for relation, loops in scans(plan):
                if relation in parents:
                    planned.setdefault(parents[relation], set()).add(relation)
                    if loops:
                        executed.setdefault(parents[relation], set()).add(relation)
        raw.rollback()
    finally:
        raw.close()
    total = target.loaded.partitions
    return {t: (len(executed.get(t, ())), len(p), total) for t, p in sorted(planned.items())}


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, len(ordered) * 99 // 100)]


@dataclass
class Figures:
    """Every sample of every round, per size."""

    latencies: dict[int, dict[str, list[list[float]]]] = field(default_factory=dict)
    registered: dict[str, dict[int, list[Registered]]] = field(default_factory=dict)

    def add(
        self, size: int, samples: dict[str, list[float]], registered: dict[str, Registered]
    ) -> None:
        for name, values in samples.items():
            self.latencies.setdefault(size, {}).setdefault(name, []).append(values)
        for kind, figures in registered.items():
            self.registered.setdefault(kind, {}).setdefault(size, []).append(figures)


def report(figures: Figures, sizes: list[int]) -> None:
    print("\nstored queries through Registry.query, ms: p50 / p99 of all rounds [each round's p99]")
    names = list(figures.latencies[sizes[0]])
    for name in names:
        print(f"  {name}")
        for size in sizes:
            rounds = figures.latencies[size][name]
            p50, p99 = percentiles([v for values in rounds for v in values])
            each = ", ".join(f"{percentiles(values)[1]:.1f}" for values in rounds)
            print(f"    {size:>12,} documents   p50 {p50:7.2f}   p99 {p99:7.2f}   [{each}]")
    largest, smallest = sizes[-1], sizes[0]
    worst = max(
        percentiles([v for values in rounds for v in values])[1]
        for name, rounds in figures.latencies[largest].items()
        if name.startswith("FindDocuments")
    )
    verdict = "met" if worst < 20 else "NOT met"
    print(
        f"  FindDocuments worst p99 at {largest:,}: {worst:.2f} ms "
        f"(target < 20 ms at 10,000,000: {verdict} at this size)"
    )
    for kind, by_size in figures.registered.items():
        print(
            f"\nITI-41 registration (Registry.submit) for {kind}, documents/s: median [each round];"
            " disk reads per document: median [each round]"
        )
        for size in sizes:
            rates = [r.rate for r in by_size[size]]
            reads = [r.reads for r in by_size[size]]
            each = ", ".join(f"{r:,.0f}" for r in rates)
            each_read = ", ".join(f"{r:.1f}" for r in reads)
            print(
                f"  {size:>12,} documents   {statistics.median(rates):8,.0f}   [{each}]"
                f"   reads {statistics.median(reads):.1f} [{each_read}]"
            )
        ratio = statistics.median(r.rate for r in by_size[largest]) / statistics.median(
            r.rate for r in by_size[smallest]
        )
        verdict = "met" if ratio >= 0.9 else "NOT met"
        print(
            f"  {largest:,} / {smallest:,}: {ratio:.0%} "
            f"(target >= 90 % for 10,000,000 / 1,000,000: {verdict} for these sizes)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--queries", type=int, default=300, help="per query, round and size")
    parser.add_argument("--submissions", type=int, default=100, help="per round and size")
    parser.add_argument("--submission-documents", type=int, default=5)
    parser.add_argument("--partitions", type=int, help="XDS_PATIENT_PARTITIONS when migrating")
    parser.add_argument("--workers", type=int, default=2, help="COPY connections")
    parser.add_argument("--reuse", action="store_true", help="keep a schema holding its size")
    parser.add_argument(
        "--defer-indexes", action="store_true", help="build the secondary indexes after the load"
    )
    parser.add_argument("--drop", action="store_true", help="drop the schemas at the end")
    parser.add_argument("--no-disk-check", action="store_true", help="load whatever disk is free")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    engines: list[Engine] = []
    try:
        run(args, sizes, engines)
    finally:
        for engine in engines:
            engine.dispose()
        if args.drop:
            admin = create_engine_for(args.url)
            with admin.begin() as conn:
                for size in sizes:
                    conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema_name(size)}" CASCADE')
            admin.dispose()


def settle(engine: Engine) -> None:
    """A CHECKPOINT before measuring, so that no query waits behind the load's dirty pages."""
    started = time.perf_counter()
    with engine.connect() as conn:
        conn.exec_driver_sql("CHECKPOINT")
    print(f"CHECKPOINT before measuring: {time.perf_counter() - started:,.1f} s")


def run(args: argparse.Namespace, sizes: list[int], engines: list[Engine]) -> None:
    check_rows(SEED)
    reused = {size: kept(args.url, size, args.partitions) if args.reuse else None for size in sizes}
    if not args.no_disk_check:
        check_disk(args.url, [size for size, loaded in reused.items() if loaded is None])
    targets: dict[int, Target] = {}
    settings = RegistrySettings(max_query_results=10_000)
    for size in sizes:
        previous = reused[size]
        if previous is None:
            engine, loaded = load(args.url, size, args)
        else:
            engine, loaded = create_engine_for(args.url, schema=schema_name(size)), previous
        engines.append(engine)
        report_load(loaded, table_sizes(engine))
        documents = sample_documents(engine, size, 2000)
        targets[size] = Target(loaded, Registry(engine, settings), documents)
        read = pruning(targets[size])
        shown = "; ".join(
            f"{t} {e} of {n} partitions executed ({p} planned)" for t, (e, p, n) in read.items()
        )
        print(f"  one FindDocuments (patient+class+time) under EXPLAIN ANALYZE: {shown}")

    if args.rounds < 1:
        return
    settle(engines[0])
    figures = Figures()
    for number in range(args.rounds):
        order = sizes if number % 2 == 0 else sizes[::-1]
        for size in order:
            started = time.perf_counter()
            samples = query_round(targets[size], args.queries)
            target, count = targets[size], args.submissions
            registered = {
                kind: registration_rate(
                    target, count, args.submission_documents, existing=kind == EXISTING
                )
                for kind in (NEW, EXISTING)
            }
            figures.add(size, samples, registered)
            print(
                f"round {number + 1}/{args.rounds}, {size:,} documents: "
                f"{time.perf_counter() - started:.0f} s, ITI-41 documents/s (disk reads per "
                "document): "
                + ", ".join(f"{k} {r.rate:,.0f} ({r.reads:.1f})" for k, r in registered.items())
            )
    report(figures, sizes)


if __name__ == "__main__":
    main()
