"""End to end: a crash mid-upload, registry and repository as two processes, PostgreSQL."""

from __future__ import annotations

import os
import signal
import socket
import time
import uuid
from pathlib import Path

import pytest
from e2e_support import PATIENT, feed, pnr_envelope, stored_objects, submission
from soap_support import mtom_body, mtom_type
from sqlalchemy import create_engine

from ebrim.storedquery import StoredQueryRequest
from ebrim.storedquery.params import FindDocumentsQuery
from soap.client import XdsClient
from xds_cli.server import ServerProcess

APPROVED = ("urn:oasis:names:tc:ebxml-regrep:StatusType:Approved",)
CDA = b"<ClinicalDocument xmlns='urn:hl7-org:v3'/>"


def _documents(url: str, patient: str = PATIENT) -> int:
    query = FindDocumentsQuery(patient_id=patient, statuses=APPROVED)
    answer = XdsClient(url, timeout=(5, 20)).query(StoredQueryRequest(query))
    return len(answer.metadata.documents)


def _submit(url: str) -> str:
    metadata = submission()
    client = XdsClient(url, timeout=(5, 20))
    return client.provide_and_register(metadata, {"Document01": CDA}).status.name


def test_killed_mid_upload_leaves_no_metadata_and_no_visible_bytes(tmp_path):
    data = tmp_path / "data"
    metadata = submission()
    document = b"<big>" + b"y" * 2_000_000 + b"</big>"
    body = mtom_body(pnr_envelope(metadata), [("<doc1@e2e.test>", document)])
    server = ServerProcess(data).start()
    try:
        feed(server)
        head = (
            f"POST /xds/repository HTTP/1.1\r\nHost: x\r\nContent-Type: {mtom_type()}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as upload:
            upload.sendall(head + body[: len(body) * 3 // 4])
            time.sleep(0.5)
            server.kill()
    finally:
        server.kill()
    with ServerProcess(data) as restarted:
        assert _documents(restarted.url) == 0
        assert stored_objects(data) == []
        assert _submit(restarted.url) == "SUCCESS"  # and it serves again


def test_repository_forwards_iti42_to_a_registry_in_another_process(tmp_path):
    with ServerProcess(tmp_path / "reg", role="registry") as registry:
        feed(registry)
        args = ("--registry-url", registry.url, "--repository-id", "1.2.3.4.5")
        with ServerProcess(tmp_path / "repo", role="repository", args=args) as repository:
            client = XdsClient(registry.url, repository_url=repository.url, timeout=(5, 20))
            metadata = submission()
            response = client.provide_and_register(metadata, {"Document01": CDA})
            assert response.status.name == "SUCCESS", response.errors
            found = client.query(
                StoredQueryRequest(FindDocumentsQuery(patient_id=PATIENT, statuses=APPROVED))
            )
            assert [d.repository_unique_id for d in found.metadata.documents] == ["1.2.3.4.5"]
            unknown = submission("NOBODY^^^&1.3.6.1.4.1.21367.13.20.1000&ISO")
            refused = client.provide_and_register(unknown, {"Document01": b"<x/>"})
            assert {e.code.value for e in refused.errors} == {"XDSUnknownPatientId"}
            assert len(stored_objects(tmp_path / "repo")) == 1  # the first document's bytes


@pytest.mark.postgres
def test_serve_on_postgresql(tmp_path, postgres_url):
    schema = f"e2e_{uuid.uuid4().hex[:12]}"
    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg2://"))
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        args = ("--database", postgres_url, "--database-schema", schema)
        with ServerProcess(tmp_path / "pg", args=args) as server:
            feed(server)
            assert _submit(server.url) == "SUCCESS"
            assert _documents(server.url) == 1
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        engine.dispose()


def test_sigterm_stops_gracefully(tmp_path):
    server = ServerProcess(tmp_path / "term").start()
    assert server.stop() == 0
    assert "Shutting down: Master" in server.log()
    assert "ITI-8 patient feed stopped" in server.log()


def test_demo_serve_runs_on_its_own(tmp_path):
    from e2e_support import xds

    run = xds("demo", "--serve", timeout=90)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "demo OK" in run.stdout


def test_a_taken_mllp_port_stops_the_server_at_start(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = ServerProcess(tmp_path / "taken", mllp_port=port)
        with pytest.raises(RuntimeError, match="exited with 2"):
            server.start()
    assert "cannot start: the side services did not start" in server.log()
    assert "address already in use" in server.log()


def test_the_master_is_single_threaded_and_the_feed_lives_beside_it(tmp_path):
    """gunicorn forks workers from the master: no thread of the master may hold a lock then
    (a worker forked while the feed wrote to SQLite hung forever at its first request)."""
    with ServerProcess(tmp_path / "threads", workers=2) as server:
        feed(server)
        master = server.process.pid
        threads = len(list(Path(f"/proc/{master}/task").iterdir()))
        assert threads == 1
        worker = next(p for p in _children(master) if "xds_cli.side" not in _cmdline(p))
        os.kill(worker, signal.SIGKILL)  # gunicorn forks a replacement
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "Booting worker" not in server.log()[-2000:]:
            time.sleep(0.1)
        for _ in range(6):  # both workers answer, the replacement included
            assert _documents(server.url) == 0
        feed(server, "E2E-2^^^&1.3.6.1.4.1.21367.13.20.1000&ISO")


def test_the_side_process_stops_when_the_master_is_killed(tmp_path):
    server = ServerProcess(tmp_path / "orphan").start()
    master = server.process.pid
    others = _children(master)
    side = next(p for p in others if "xds_cli.side" in _cmdline(p))
    for pid in [master, *(p for p in others if p != side)]:
        os.kill(pid, signal.SIGKILL)  # the master and its workers, not the side process
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(side):
        time.sleep(0.1)
    alive = _alive(side)
    server.kill()
    assert not alive, "the side process outlived its master"
    assert "ITI-8 patient feed stopped" in server.log()


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(child) for child in text]
    return found


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
