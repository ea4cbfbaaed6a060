"""Registry benchmark: register throughput against a floor, and stored-query latency as it grows.

    python bench/registry_bench.py                       # 10 k, 100 k, 1 M documents on PostgreSQL
    python bench/registry_bench.py --sizes 10000,100000  # a quicker run

Loads synthetic DMP-like documents (bench/synthetic.py: ~20 codes each, 20 documents per
patient, 10 per submission) through `Registry.register` into a fresh PostgreSQL schema,
and at each size measures the server time of FindDocuments and GetDocuments, and of MHD's
ITI-67 for one patient (the FHIR application, p50/p99, in process: no HTTP). Register
throughput is compared with a floor measured in the same run: parsing the same messages
with bare lxml and inserting the same rows with executemany, one transaction per
submission as the registry does. Prints figures and ratios; the
targets of issue 3 are printed beside them, never asserted in tests.
"""

from __future__ import annotations

import argparse
import gc
import io
import random
import statistics
import time
from collections.abc import Callable
from urllib.parse import urlencode

from lxml import etree
from sqlalchemy import Engine, insert, select
from synthetic import CLASS_SYSTEM, Generator, patient_id
from tqdm import tqdm

from ebrim.hl7 import CX
from ebrim.model import Code, Metadata
from ebrim.parse import parse_submit_objects_request
from ebrim.render import render_submit_objects_request
from ebrim.storedquery import (
    FindDocumentsQuery,
    GetDocumentsQuery,
    StoredQueryRequest,
    TimeRange,
)
from ebrim.vocabulary import AvailabilityStatus, ResponseStatus, ReturnType
from mhd.app import MhdApplication
from registry import Registry, RegistrySettings, create_engine_for, migrate, schema

DOCS_PER_PATIENT = 20
DOCS_PER_SUBMISSION = 10
APPROVED = (AvailabilityStatus.APPROVED.value,)


SCHEMAS = ("xds_bench", "xds_bench_register", "xds_bench_floor")


def drop_schemas(url: str) -> None:
    admin = create_engine_for(url)
    with admin.begin() as conn:
        for name in SCHEMAS:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    admin.dispose()


def fresh_engine(url: str, name: str) -> Engine:
    admin = create_engine_for(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    admin.dispose()
    engine = create_engine_for(url, schema=name)
    migrate(engine)
    return engine


class Loader:
    """Registers documents patient by patient so every patient ends with ~20 documents."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.generator = Generator(patients=1)
        self.documents = 0
        self.uuids: list[str] = []

    def submission(self) -> Metadata:
        patient = self.documents // DOCS_PER_PATIENT
        if self.documents % DOCS_PER_PATIENT == 0:
            self.registry.patients.feed(patient_id(patient))
        self.documents += DOCS_PER_SUBMISSION
        return self.generator.submission(DOCS_PER_SUBMISSION, patient=patient)

    def load_to(self, size: int) -> None:
        with tqdm(total=size, initial=self.documents, unit="doc", desc="loading") as bar:
            while self.documents < size:
                submitted = self.registry.submit(self.submission())
                if submitted.response.status is not ResponseStatus.SUCCESS:
                    raise SystemExit(f"registration failed: {submitted.response.errors}")
                self.uuids.extend(v for k, v in submitted.ids.items() if k.startswith("Document"))
                bar.update(DOCS_PER_SUBMISSION)


def measure_register(url: str, submissions: int) -> tuple[float, float]:
    """Documents per second: the registry's full path, and the lxml + executemany floor."""
    engine = fresh_engine(url, "xds_bench_register")
    registry = Registry(engine, RegistrySettings())
    loader = Loader(registry)
    messages = []
    for _ in range(submissions):
        metadata = loader.submission()
        messages.append(etree.tostring(render_submit_objects_request(metadata)))
    started = time.perf_counter()
    for message in tqdm(messages, desc="register", unit="sub"):
        response = registry.register(parse_submit_objects_request(message))
        assert response.status is ResponseStatus.SUCCESS, response.errors
    ours = time.perf_counter() - started

    # The same rows, read back, inserted in as many transactions as there were submissions.
    tables = [t for t in schema.metadata.sorted_tables if t.name != "alembic_version"]
    with engine.connect() as conn:
        rows = {t.name: [dict(r._mapping) for r in conn.execute(select(t))] for t in tables}
    patients = rows.pop("patients")
    floor_engine = fresh_engine(url, "xds_bench_floor")
    with floor_engine.begin() as conn:
        conn.execute(insert(schema.patients), patients)
    started = time.perf_counter()
    for i, message in enumerate(messages):
        etree.fromstring(message)
        with floor_engine.begin() as conn:
            for table in tables:
                batch = rows.get(table.name, [])[i::submissions]
                if batch:
                    conn.execute(insert(table), batch)
    floor = time.perf_counter() - started
    engine.dispose()
    floor_engine.dispose()
    documents = submissions * DOCS_PER_SUBMISSION
    return documents / ours, documents / floor


def latencies(run: Callable[[], object], count: int) -> tuple[float, float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def query_figures(loader: Loader, count: int) -> dict[str, tuple[float, float]]:
    registry = loader.registry
    rnd = random.Random(11)
    patients = loader.documents // DOCS_PER_PATIENT

    def ok(request: StoredQueryRequest) -> None:
        result = registry.query(request)
        assert result.response.status is ResponseStatus.SUCCESS, result.response.errors

    def find_documents() -> None:
        pid = patient_id(rnd.randrange(patients))
        ok(StoredQueryRequest(FindDocumentsQuery(patient_id=pid, statuses=APPROVED)))

    def find_documents_filtered() -> None:
        pid = patient_id(rnd.randrange(patients))
        query = FindDocumentsQuery(
            patient_id=pid,
            statuses=APPROVED,
            creation_time=TimeRange("2018", "2023"),
            class_codes=(Code("11", CLASS_SYSTEM), Code("13", CLASS_SYSTEM)),
        )
        ok(StoredQueryRequest(query, return_type=ReturnType.OBJECT_REF))

    def get_documents() -> None:
        # A patient's documents are contiguous in the load order: five of one patient.
        first = rnd.randrange(patients) * DOCS_PER_PATIENT
        uuids = tuple(rnd.sample(loader.uuids[first : first + DOCS_PER_PATIENT], 5))
        ok(StoredQueryRequest(GetDocumentsQuery(uuids=uuids)))

    mhd = MhdApplication(registry)

    def iti67() -> None:
        """MHD ITI-67 (the WSGI application in process, no HTTP): one patient's documents."""
        cx = CX.parse(patient_id(rnd.randrange(patients)))
        token = f"urn:oid:{cx.assigning_authority.universal_id}|{cx.id_number}"
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/fhir/DocumentReference",
            "QUERY_STRING": urlencode({"patient.identifier": token, "status": "current"}),
            "wsgi.input": io.BytesIO(),
            "wsgi.url_scheme": "http",
            "HTTP_HOST": "bench.invalid",
        }
        status: list[str] = []
        body = b"".join(mhd(environ, lambda s, _h, _e=None: status.append(s)))
        assert status[0].startswith("200") and b'"total":20' in body, (status, body[:300])

    for warm in (find_documents, get_documents, iti67):
        warm()
    return {
        "FindDocuments LeafClass": latencies(find_documents, count),
        "FindDocuments ObjectRef, class+time": latencies(find_documents_filtered, count),
        "GetDocuments LeafClass, 5 uuids": latencies(get_documents, count),
        "MHD ITI-67, one patient (in process)": latencies(iti67, count),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--register-submissions", type=int, default=300)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark schemas")
    args = parser.parse_args()
    try:
        run(args)
    finally:
        if not args.keep:
            drop_schemas(args.url)


def run(args: argparse.Namespace) -> None:
    sizes = [int(s) for s in args.sizes.split(",")]

    ours, floor = measure_register(args.url, args.register_submissions)
    print(
        f"\nregister: {ours:,.0f} documents/s; floor (lxml + executemany): {floor:,.0f}/s; "
        f"ratio {ours / floor:.0%} (target >= 40 %)"
    )

    engine = fresh_engine(args.url, "xds_bench")
    loader = Loader(Registry(engine, RegistrySettings(max_query_results=10_000)))
    figures: dict[int, dict[str, tuple[float, float]]] = {}
    for size in sizes:
        loader.load_to(size)
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        gc.freeze()  # the loader's million objects are not the server's heap: keep them out
        figures[size] = query_figures(loader, args.queries)  # of the collector's passes
        gc.unfreeze()
        print(f"\n{size:>9,} documents ({size // DOCS_PER_PATIENT:,} patients)")
        for name, (p50, p99) in figures[size].items():
            print(f"  {name:<40} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms")

    first, last = sizes[0], sizes[-1]
    print(f"\ngrowth {first:,} -> {last:,} documents (target <= 1.5x), p99 at {last:,}:")
    for name in figures[first]:
        growth = figures[last][name][0] / figures[first][name][0]
        print(f"  {name:<40} p50 x{growth:.2f}   p99 {figures[last][name][1]:.2f} ms")
    print("(targets: p99 FindDocuments < 20 ms, p99 ITI-67 < 30 ms at 1,000,000)")
    engine.dispose()


if __name__ == "__main__":
    main()
