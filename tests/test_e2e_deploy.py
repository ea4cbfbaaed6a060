"""End to end: a crash mid-upload, registry and repository as two processes, PostgreSQL, and
how the processes of `xds serve` stop and replace one another."""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from e2e_support import PATIENT, feed, pnr_envelope, stored_objects, submission
from soap_support import mtom_body, mtom_type
from sqlalchemy import create_engine

from ebrim.storedquery import StoredQueryRequest
from ebrim.storedquery.params import FindDocumentsQuery
from soap.client import RemoteRegistry, XdsClient
from xds_cli.serve import prepare
from xds_cli.server import ServerProcess, free_port
from xds_cli.settings import ServeSettings

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
            # what a repository alone asks at start to settle the rows it left pending
            [doc] = found.metadata.documents
            asked = RemoteRegistry(registry.url).registered_documents(
                [doc.unique_id or "", "1.2.3.4.404"]
            )
            assert asked == {doc.unique_id: (doc.hash, "1.2.3.4.5")}


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
    assert "6. ITI-68" in run.stdout and "identical to the submitted document" in run.stdout


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


def test_a_killed_worker_is_replaced_by_the_master(tmp_path):
    with ServerProcess(tmp_path / "replaced") as server:
        [worker] = _workers(server.process.pid)
        os.kill(worker, signal.SIGKILL)
        replaced = _wait_for(lambda: _workers(server.process.pid) not in ([], [worker]), 20)
        assert replaced, server.log()
        assert _documents(server.url) == 0  # the one worker left to answer is the replacement


def test_the_workers_and_the_side_process_die_with_a_killed_master(tmp_path):
    """Even a worker in the middle of a request (it used to wait for it, 30 s and more)."""
    server = ServerProcess(tmp_path / "orphans", workers=2).start()
    try:
        master = server.process.pid
        assert _wait_for(lambda: len(_workers(master)) == 2, timeout=20), server.log()
        children = [p for p in _children(master) if _alive(p)]
        with _upload_in_flight(server):
            os.kill(master, signal.SIGKILL)  # the master alone
            server.process.wait(5)
            gone = _wait_for(lambda: not any(_alive(p) for p in children), timeout=5)
    finally:
        server.kill()  # the whole group, whatever is left of it
    assert gone, [_cmdline(p) for p in children if _alive(p)]


def test_serve_starts_again_at_once_on_the_same_ports_after_its_master_is_killed(tmp_path):
    data = tmp_path / "restart"
    first = ServerProcess(data).start()
    try:
        with _upload_in_flight(first):
            os.kill(first.process.pid, signal.SIGKILL)
            first.process.wait(5)
            with ServerProcess(data, port=first.port, mllp_port=first.mllp_port) as again:
                feed(again)  # AA from the new side process, on the same MLLP port
                wsdl = requests.get(f"{again.url}/xds/registry?wsdl", timeout=10)
                assert wsdl.status_code == 200
                assert b"definitions" in wsdl.content
    finally:
        first.kill()


def test_the_side_process_stops_when_its_stdin_ends(tmp_path):
    """How it learns, without a death signal (not Linux), that the master and workers are gone:
    they hold the only writing ends of its stdin."""
    settings = ServeSettings(data_folder=tmp_path / "side", mllp_port=free_port())
    prepare(settings)
    side = subprocess.Popen(
        [sys.executable, "-m", "xds_cli.side", str(os.getpid())],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = side.communicate(pickle.dumps((settings, None)), timeout=20)  # then EOF
    finally:
        side.kill()
    assert (out, side.returncode) == (b"ready\n", 0), err
    assert b"ITI-8 patient feed stopped" in err


@contextlib.contextmanager
def _upload_in_flight(server: ServerProcess) -> Iterator[None]:
    """A request whose body is still on its way, for as long as the block lasts."""
    head = (
        "POST /xds/repository HTTP/1.1\r\nHost: x\r\nContent-Type: application/soap+xml\r\n"
        "Content-Length: 1000000\r\n\r\n<"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as upload:
        upload.sendall(head.encode())
        time.sleep(0.3)  # a worker reads the head and waits for the rest
        yield


def _wait_for(condition: Callable[[], Any], timeout: float) -> Any:
    """The condition's first true value within `timeout` seconds (or its last, false, one)."""
    deadline = time.monotonic() + timeout
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def _workers(master: int) -> list[int]:
    return [p for p in _children(master) if _alive(p) and "xds_cli.side" not in _cmdline(p)]


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
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:  # gone meanwhile
        return ""


def test_serve_refuses_to_start_on_an_unreadable_legacy_index(tmp_path, caplog):
    from xds_cli.serve import serve

    broken = tmp_path / "data" / "repository" / "index" / "ab" / "cdef.json"
    broken.parent.mkdir(parents=True)
    broken.write_text("not json")
    settings = ServeSettings(data_folder=tmp_path / "data", mllp_port=0)

    assert serve(settings) == 2  # before gunicorn: no worker, no port
    assert any(
        "cannot start" in r.getMessage() and "cdef.json" in r.getMessage() for r in caplog.records
    )
