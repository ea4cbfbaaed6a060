"""SOAP benchmark over real HTTP: ITI-41 and ITI-43 throughput, and ITI-43 of a 100 MB document.

    python bench/soap_bench.py              # about two minutes
    python bench/soap_bench.py --big-mb 20  # quicker

Starts `xds serve` (gunicorn gthread, SQLite + a temporary data folder) and measures with
our client: ITI-41 of 10 KB and 1 MB documents and ITI-43 of a 10 KB document, each at
concurrency 1 and 8 (requests/s and MB/s). Then retrieves a 100 MB document while polling
the resident memory of the server's processes (master + workers, from /proc) and compares
its throughput with the same file served by a bare WSGI `wsgi.file_wrapper` app under the
same gunicorn settings (bench/file_app.py). Targets from issue 4 are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from ebrim.vocabulary import ResponseStatus
from ebrim.xdsb import DocumentLocator, render_retrieve_document_set_request
from soap.client import XdsClient
from soap.client.exchange import addressing_headers
from soap.envelope import write_envelope
from soap.operations import RETRIEVE
from xds_cli.feed import adt_a01, send_message
from xds_cli.metadata import DocumentFacts, single_document
from xds_cli.server import ServerProcess, free_port

PATIENT = "BENCH-1^^^&1.3.6.1.4.1.21367.13.20.1000&ISO"
MB = 1024 * 1024


def rss_kib(pid: int) -> int:
    """Resident memory of a process and its children (gunicorn master + workers), in KiB."""
    total = 0
    for proc in [pid, *children(pid)]:
        try:
            for line in Path(f"/proc/{proc}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


class PeakMemory:
    """Polls the RSS of a process tree in a thread; `peak` is the highest sample."""

    def __init__(self, pid: int, interval: float = 0.005) -> None:
        self.pid, self.interval, self.peak = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class Clients:
    """One XdsClient per thread (a requests session is not shared between threads)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()

    def get(self) -> XdsClient:
        if not hasattr(self._local, "client"):
            self._local.client = XdsClient(self.url)
        return self._local.client


def submit(client: XdsClient, path: Path) -> str:
    metadata = single_document(DocumentFacts(patient_id=PATIENT))
    response = client.provide_and_register(metadata, {"Document01": path})
    if response.status is not ResponseStatus.SUCCESS:
        raise SystemExit(f"ITI-41 failed: {response.errors}")
    return metadata.documents[0].unique_id or ""


def rate(work: Callable[[], int], count: int, concurrency: int) -> tuple[float, float]:
    """Requests per second and MB/s for `count` calls of `work` (returning bytes moved)."""
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        moved = sum(pool.map(lambda _: work(), range(count)))
    elapsed = time.perf_counter() - started
    return count / elapsed, moved / MB / elapsed


def throughput(server: ServerProcess, folder: Path, repository_id: str, count: int) -> None:
    print(f"{'transaction':<28} {'concurrency':>11} {'req/s':>9} {'MB/s':>8}")
    clients = Clients(server.url)
    for size, label in ((10 * 1024, "ITI-41 10 KB"), (MB, "ITI-41 1 MB")):
        path = folder / f"doc-{size}.bin"
        path.write_bytes(os.urandom(size))
        for concurrency in (1, 8):
            n = count if size < MB else max(8, count // 5)

            def one(path: Path = path, size: int = size) -> int:
                submit(clients.get(), path)
                return size

            reqs, mbs = rate(one, n, concurrency)
            print(f"{label:<28} {concurrency:>11} {reqs:>9.1f} {mbs:>8.2f}")
    small = folder / "doc-10240.bin"
    unique_id = submit(XdsClient(server.url), small)
    locator = DocumentLocator(repository_id, unique_id)

    def fetch() -> int:
        out = folder / f"back-{threading.get_ident()}.bin"
        return clients.get().retrieve([locator], lambda _: out).documents[0].size

    for concurrency in (1, 8):
        reqs, mbs = rate(fetch, count, concurrency)
        print(f"{'ITI-43 10 KB':<28} {concurrency:>11} {reqs:>9.1f} {mbs:>8.2f}")


def big_retrieve(server: ServerProcess, folder: Path, repository_id: str, size_mb: int) -> None:
    big = folder / "big.bin"
    with big.open("wb") as out:
        for _ in range(size_mb):
            out.write(os.urandom(MB))
    client = XdsClient(server.url)
    unique_id = submit(client, big)
    locator = DocumentLocator(repository_id, unique_id)
    time.sleep(1)
    assert server.process is not None
    idle = rss_kib(server.process.pid)
    with PeakMemory(server.process.pid) as memory:
        ours = min(raw_retrieve_seconds(server, locator, size_mb * MB) for _ in range(3))
    started = time.perf_counter()
    result = client.retrieve([locator], lambda _: folder / "big-back.bin")
    decoded = time.perf_counter() - started
    assert result.documents[0].size == size_mb * MB
    stored = next((server.data / "repository" / "objects").glob("*/*"), None)
    stored = max(
        (server.data / "repository" / "objects").glob("*/*"), key=lambda p: p.stat().st_size
    )
    floor = bare_file_seconds(stored)
    above = (memory.peak - idle) / 1024
    print(f"\nITI-43 of a {size_mb} MB document:")
    print(
        f"  server memory: idle {idle / 1024:.1f} MB, peak {memory.peak / 1024:.1f} MB, "
        f"{above:.1f} MB above idle (target < 64 MB)"
    )
    print(
        f"  server throughput (response read raw, best of 3): {size_mb / ours:.1f} MB/s; "
        f"bare WSGI file wrapper {size_mb / floor:.1f} MB/s; ratio {floor / ours:.0%} "
        "(target >= 50 %)"
    )
    print(f"  with our client decoding the MTOM answer to a file: {size_mb / decoded:.1f} MB/s")


def raw_retrieve_seconds(server: ServerProcess, locator: DocumentLocator, size: int) -> float:
    """Seconds to read a whole ITI-43 answer off the socket, as the floor reads its file."""
    url = f"{server.url}/xds/repository"
    payload = render_retrieve_document_set_request([locator])
    xml = write_envelope(addressing_headers(RETRIEVE, f"urn:uuid:{uuid.uuid4()}", url), payload)
    headers = {"Content-Type": f'application/soap+xml; charset=UTF-8; action="{RETRIEVE}"'}
    started = time.perf_counter()
    received = 0
    with requests.post(url, data=xml, headers=headers, stream=True, timeout=120) as response:
        for chunk in response.iter_content(256 * 1024):
            received += len(chunk)
    elapsed = time.perf_counter() - started
    assert received > size, f"short ITI-43 answer: {received} bytes"
    return elapsed


def bare_file_seconds(path: Path) -> float:
    """Seconds to fetch `path` from bench/file_app.py under gunicorn gthread (best of 3)."""
    port = free_port()
    env = {**os.environ, "BENCH_FILE": str(path), "PYTHONPATH": str(Path(__file__).parent)}
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-k",
        "gthread",
        "--threads",
        "4",
        "-w",
        "2",
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "file_app:app",
    ]
    process = subprocess.Popen(command, env=env)
    try:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(100):
            try:
                requests.get(url, timeout=1, stream=True).close()
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            with requests.get(url, stream=True, timeout=60) as response:
                for _chunk in response.iter_content(256 * 1024):
                    pass
            best = min(best, time.perf_counter() - started)
        return best
    finally:
        process.terminate()
        process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100, help="requests per small measurement")
    parser.add_argument("--big-mb", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="xds-soap-bench-") as tmp:
        folder = Path(tmp)
        with ServerProcess(folder / "data") as server:
            send_message("127.0.0.1", server.mllp_port, adt_a01(PATIENT))
            repository_id = (server.data / "repository-id").read_text().strip()
            throughput(server, folder, repository_id, args.count)
            big_retrieve(server, folder, repository_id, args.big_mb)


if __name__ == "__main__":
    main()
