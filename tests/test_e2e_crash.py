"""Crash safety of ITI-41 under load, on PostgreSQL: kill -9 of workers, then of everything.

Four submitters send ITI-41 to `xds serve --workers 2 --threads 4` while a worker is killed
(SIGKILL) three times, then the whole process group. After a restart (which reconciles the
store) three things must hold:

1. every submission answered Success is found by ITI-18 and retrieved by ITI-43,
   byte-identical, with the registered hash and size;
2. every document the registry holds for this repository can be retrieved, with the bytes
   its hash and size describe ("no registration without its bytes");
3. the store's files are exactly the registered documents' bytes ("no orphan object").

Outcomes other than Success (a connection reset by a kill, a 5xx, a timeout) are unknown,
never counted as Success: such a document may or may not be registered, and 2. and 3.
judge it either way. The load is bounded (about 10 s, 4 threads) and the test stops itself.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from e2e_support import PATIENT, feed, submission
from sqlalchemy import create_engine, text

from ebrim.storedquery import StoredQueryRequest
from ebrim.storedquery.params import GetDocumentsQuery
from ebrim.vocabulary import ResponseStatus
from ebrim.xdsb import DocumentLocator
from soap.client import XdsClient
from xds_cli.server import ServerProcess

pytestmark = pytest.mark.postgres
LOAD_SECONDS = 10.0
WORKER_KILLS = (2.5, 5.0, 7.5)  # seconds into the load


@dataclass
class Attempt:
    unique_id: str
    content: bytes
    outcome: str  # SUCCESS, FAILURE, or "unknown: …"


@pytest.fixture
def schema(postgres_url: str) -> Iterator[str]:
    name = f"crash_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg2://"))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        yield name
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def test_every_success_survives_kills_and_no_registration_lacks_its_bytes(
    tmp_path: Path, postgres_url: str, schema: str
) -> None:
    data = tmp_path / "data"
    args = ["--database", postgres_url, "--database-schema", schema, "--threads", "4"]
    server = ServerProcess(data, args=args, workers=2).start()
    attempts: list[Attempt] = []
    try:
        feed(server)
        port, mllp_port = server.port, server.mllp_port
        killed = load_with_kills(server, attempts)
    finally:
        server.kill()  # the whole process group, SIGKILL: a crash (a no-op if already done)

    successes = [a for a in attempts if a.outcome == ResponseStatus.SUCCESS.name]
    outcomes = {a.outcome for a in attempts}
    print(f"{len(attempts)} attempts, {len(successes)} Success, outcomes {sorted(outcomes)}")
    assert killed == len(WORKER_KILLS), server.log()
    assert len(successes) >= 20, f"the load did too little: {len(attempts)} attempts"

    restarted = ServerProcess(data, args=args, workers=2, port=port, mllp_port=mllp_port)
    with restarted:
        client = XdsClient(restarted.url, timeout=(5, 30))
        repository_id = (data / "repository-id").read_text().strip()
        registered = registered_documents(postgres_url, schema, repository_id)
        check_successes(client, successes, registered, repository_id, tmp_path / "successes")
        check_registrations(client, registered, repository_id, tmp_path / "registered")
    check_no_orphans(data, registered)


def load_with_kills(server: ServerProcess, attempts: list[Attempt]) -> int:
    """Run the submitters, kill workers on schedule, then the whole group; workers killed."""
    stop = threading.Event()
    lock = threading.Lock()

    def submitter(index: int) -> None:
        client = XdsClient(server.url, timeout=(3, 15))
        serial = 0
        while not stop.is_set():
            serial += 1
            metadata = submission(PATIENT)
            unique_id = metadata.documents[0].unique_id or ""
            content = (
                f"<doc s='{index}-{serial}' u='{unique_id}'>{'x' * random.randint(10, 4000)}</doc>"
            )
            try:
                response = client.provide_and_register(metadata, {"Document01": content.encode()})
                outcome = response.status.name
            except Exception as exc:  # resets, 5xx, timeouts: the outcome is unknown
                outcome = f"unknown: {type(exc).__name__}"
            with lock:
                attempts.append(Attempt(unique_id, content.encode(), outcome))

    threads = [threading.Thread(target=submitter, args=(i,), daemon=True) for i in range(4)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    killed = 0
    try:
        for at in WORKER_KILLS:
            time.sleep(max(0.0, started + at - time.monotonic()))
            workers = worker_pids(server)
            if workers:
                os.kill(random.choice(workers), signal.SIGKILL)
                killed += 1
        time.sleep(max(0.0, started + LOAD_SECONDS - time.monotonic()))
        server.kill()  # master, workers and side process at once, mid-load
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    return killed


def worker_pids(server: ServerProcess) -> list[int]:
    assert server.process is not None
    children = []
    for task in Path(f"/proc/{server.process.pid}/task").glob("*"):
        try:
            children += [int(pid) for pid in (task / "children").read_text().split()]
        except OSError:
            continue
    return [pid for pid in children if b"xds_cli.side" not in _cmdline(pid)]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def registered_documents(url: str, schema: str, repository_id: str) -> dict[str, tuple[str, int]]:
    """uniqueId -> (sha-1, size) of every document the registry holds for this repository."""
    engine = create_engine(
        url.replace("postgresql://", "postgresql+psycopg2://"),
        connect_args={"options": f"-csearch_path={schema}"},
    )
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT unique_id, hash, size FROM documents WHERE repository_unique_id = :r"),
                {"r": repository_id},
            )
            return {row.unique_id: (row.hash, row.size) for row in rows}
    finally:
        engine.dispose()


def retrieve_all(
    client: XdsClient, repository_id: str, unique_ids: list[str], folder: Path
) -> dict[str, bytes]:
    """ITI-43 of these documents, 50 per request: uniqueId -> bytes of those retrieved."""
    folder.mkdir()
    found: dict[str, bytes] = {}
    for start in range(0, len(unique_ids), 50):
        locators = [DocumentLocator(repository_id, uid) for uid in unique_ids[start : start + 50]]
        result = client.retrieve(
            locators, lambda loc: folder / hashlib.sha1(loc.document_unique_id.encode()).hexdigest()
        )
        for document in result.documents:
            found[document.locator.document_unique_id] = document.path.read_bytes()
    return found


def check_successes(
    client: XdsClient,
    successes: list[Attempt],
    registered: dict[str, tuple[str, int]],
    repository_id: str,
    folder: Path,
) -> None:
    lost = [a.unique_id for a in successes if a.unique_id not in registered]
    assert not lost, f"answered Success, not registered: {lost}"
    ids = tuple(a.unique_id for a in successes)
    found = set()
    for start in range(0, len(ids), 50):
        answer = client.query(
            StoredQueryRequest(GetDocumentsQuery(unique_ids=ids[start : start + 50]))
        )
        found |= {doc.unique_id for doc in answer.metadata.documents}
    assert not set(ids) - found, f"answered Success, not found by ITI-18: {set(ids) - found}"
    retrieved = retrieve_all(client, repository_id, list(ids), folder)
    for attempt in successes:
        sha1, size = registered[attempt.unique_id]
        assert (sha1, size) == (hashlib.sha1(attempt.content).hexdigest(), len(attempt.content))
        assert retrieved.get(attempt.unique_id) == attempt.content, (
            f"answered Success, not retrieved byte-identical: {attempt.unique_id}"
        )


def check_registrations(
    client: XdsClient, registered: dict[str, tuple[str, int]], repository_id: str, folder: Path
) -> None:
    retrieved = retrieve_all(client, repository_id, sorted(registered), folder)
    without_bytes = []
    for unique_id, (sha1, size) in sorted(registered.items()):
        content = retrieved.get(unique_id)
        if content is None or (hashlib.sha1(content).hexdigest(), len(content)) != (sha1, size):
            without_bytes.append(unique_id)
    assert not without_bytes, f"registered without their bytes: {without_bytes}"


def check_no_orphans(data: Path, registered: dict[str, tuple[str, int]]) -> None:
    files = [p for p in (data / "repository" / "objects").rglob("*") if p.is_file()]
    hashes = {hashlib.sha1(p.read_bytes()).hexdigest() for p in files}
    orphans = hashes - {sha1 for sha1, _size in registered.values()}
    assert not orphans, f"files no registered document describes (sha-1): {sorted(orphans)}"
    assert len(files) == len(registered), (len(files), len(registered))
