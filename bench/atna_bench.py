"""ITI-20 benchmark: how fast the audit trail leaves for a syslog collector over mutual TLS.

    python bench/atna_bench.py                  # 20,000 events, SQLite, about half a minute
    python bench/atna_bench.py --url postgresql://127.0.0.1/test --events 50000

Writes synthetic audit events (queries carrying their AdhocQueryRequest, registrations,
retrieves) into a fresh migrated database, then measures: rendering alone (DICOM message +
RFC 5424 frame), and the forwarder draining the table to a TLS sink on loopback that
requires our client certificate (dev PKI made in a temporary folder). The forwarder must
outrun what the registry can write; the registry benchmark's register rate (780 documents/s,
one event per 10-document submission) and an ITI-18 rate of a few hundred per second per
core are the yardsticks. Also: the cost each query now pays to keep its request for the
audit message. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import Engine, text

from atna.forwarder import AuditForwarder
from atna.message import AuditSource, render_audit_message
from atna.senders import TlsSyslogSender
from atna.syslog import SyslogDestination, syslog_message
from ebrim.storedquery import FindDocumentsQuery, StoredQueryRequest, render_adhoc_query_request
from pki import init_ca, issue_establishment, issue_server
from registry import create_engine_for, migrate
from registry.audit import AuditEvent, Outcome, last_event_id, write_event
from registry.storage import write_transaction
from xds_cli.tls import server_context

PATIENT = "279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH"
SOURCE = AuditSource("xds-bench", "https://xds.bench:8443", repository_id="1.2.250.1.999")
NOW = datetime(2026, 11, 24, tzinfo=UTC)


def query_request() -> StoredQueryRequest:
    query = FindDocumentsQuery(
        patient_id=PATIENT, statuses=("urn:oasis:names:tc:ebxml-regrep:StatusType:Approved",)
    )
    return StoredQueryRequest(query)


def captured_query() -> str:
    """What ITI-18 now keeps per query for its audit message."""
    return etree.tostring(render_adhoc_query_request(query_request()), encoding="unicode")


def synthetic_event(n: int, query: str) -> AuditEvent:
    common: dict[str, Any] = {
        "outcome": Outcome.SUCCESS,
        "patient_id": PATIENT,
        "professional_id": f"8{n:011d}",
        "professional_name": "DUPONT Jean",
        "structure_id": "1750712184",
        "software": "LPS 1.0",
        "purpose_of_use": "normal",
        "authentication_mode": "DIRECTE",
        "source_address": "10.1.2.3",
        "occurred_at": NOW,
    }
    kind = n % 4
    if kind == 0:
        docs = tuple(f"1.2.250.1.999.{n}.{i}" for i in range(10))
        return AuditEvent("ITI-42", document_ids=docs, submission_set_id=f"1.2.3.{n}", **common)
    if kind == 1:
        return AuditEvent("ITI-43", document_ids=(f"1.2.250.1.999.{n}.0",), **common)
    return AuditEvent(
        "ITI-18", query_id="urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d", query=query, **common
    )


def fill(engine: Engine, count: int) -> None:
    query = captured_query()
    with write_transaction(engine) as conn:
        for n in range(count):
            write_event(conn, synthetic_event(n, query), NOW)


@contextmanager
def tls_sink(cert: Path, key: Path, ca: Path) -> Iterator[tuple[SyslogDestination, list[int]]]:
    """A collector that requires a client certificate and only counts the bytes it reads."""
    context = server_context(cert, key, ca)
    listener = socket.create_server(("127.0.0.1", 0))
    received = [0]

    def serve() -> None:
        while True:
            try:
                raw, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=drain, args=(raw,), daemon=True).start()

    def drain(raw: socket.socket) -> None:
        try:
            with context.wrap_socket(raw, server_side=True) as conn:
                while chunk := conn.recv(1 << 20):
                    received[0] += len(chunk)
        except OSError:
            pass

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield SyslogDestination("tls", "127.0.0.1", listener.getsockname()[1]), received
    finally:
        listener.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="database URL (default: SQLite in a temporary folder)")
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        schema = None
        if args.url:
            schema = f"atna_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine_for(args.url)
            with admin.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
        engine = create_engine_for(
            args.url or f"sqlite:///{folder / 'audit.sqlite'}", schema=schema
        )
        try:
            run(engine, folder, args.events)
        finally:
            engine.dispose()
            if schema:
                with admin.begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                admin.dispose()


def run(engine: Engine, folder: Path, count: int) -> None:
    migrate(engine)
    print(f"database: {engine.dialect.name}, {count:,} events")

    timings = []
    for _ in range(2000):
        started = time.perf_counter()
        captured_query()
        timings.append(time.perf_counter() - started)
    print(f"ITI-18 request kept for the audit: {statistics.median(timings) * 1e6:.0f} µs per query")

    events = [synthetic_event(n, captured_query()) for n in range(2000)]
    started = time.perf_counter()
    size = 0
    for event in events:
        xml = render_audit_message(event, SOURCE)
        size += len(syslog_message(xml, timestamp=NOW, hostname="h", app_name="a", procid="1"))
    elapsed = time.perf_counter() - started
    print(
        f"render (DICOM message + RFC 5424 frame): {len(events) / elapsed:,.0f} events/s,"
        f" {size / len(events):,.0f} bytes each"
    )

    ca = init_ca(folder / "pki")
    server = issue_server(ca, ca.folder)
    node = issue_establishment(ca, ca.folder, name="Bench", finess="750712184")
    with tls_sink(server.cert, server.key, ca.chain) as (destination, received):
        sender = TlsSyslogSender(destination, ca=ca.chain, cert=node.tls_cert, key=node.tls_key)
        forwarder = AuditForwarder(engine, sender, SOURCE, hostname="xds.bench")
        forwarder.ensure_cursor()
        fill(engine, count)
        with engine.connect() as conn:
            newest = last_event_id(conn)
        started = time.perf_counter()
        sent = forwarder.drain()
        elapsed = time.perf_counter() - started
        sender.close()
        print(
            f"forward over mutual TLS (batches of {forwarder.batch}): {sent:,} events in"
            f" {elapsed:.1f} s = {sent / elapsed:,.0f} events/s,"
            f" {received[0] / elapsed / 1e6:.1f} MB/s; last event {newest:,}"
        )


if __name__ == "__main__":
    main()
