"""The load of bench/submit_bench.py (and bench/mhd_bench.py): ITI-41 bodies and their clients.

The MTOM bodies are built once with the project's own writer (soap.mtom, as `XdsClient`
sends them), then made unique by substituting same-length ids (the document's id extension,
hence its uniqueId, and the submission set's uniqueId), so that the client spends little of
the cores the server shares with it. `Load.run` submits them from keep-alive `http.client`
connections and reads the servers' and PostgreSQL's CPU and context switches from /proc;
`fsyncs_per_request` counts the servers' fsyncs with strace.
"""

from __future__ import annotations

import http.client
import io
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from cda import read_header
from ebrim.xdsb import render_provide_and_register_request
from soap.client.exchange import addressing_headers
from soap.envelope import write_envelope
from soap.mtom import Attachment, encode_mtom
from soap.operations import PROVIDE_AND_REGISTER
from xds_cli.demo import CLASS_CODE, SOURCE_ID, cda_bytes
from xds_cli.metadata import from_cda

ORIGINAL_ID = b'<id root="1.2.250.1.213.1.1.1.46.2023.1.1"/>'
MARK = "7" * 16  # the document's id extension, replaced per request
CLOCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Template:
    """One ITI-41 body as our client writes it, and what to replace to make it new."""

    content_type: str
    body: bytes
    submission_set_id: str

    def fresh(self, n: int) -> bytes:
        serial = f"{n:016d}"
        ss = self.submission_set_id
        return self.body.replace(MARK.encode(), serial.encode()).replace(
            ss.encode(), (ss[: -len(serial)] + serial).encode()
        )


def template() -> Template:
    data = cda_bytes()
    assert ORIGINAL_ID in data, "the shipped CDA changed: update ORIGINAL_ID"
    data = data.replace(
        ORIGINAL_ID, ORIGINAL_ID.replace(b'"/>', f'" extension="{MARK}"/>'.encode())
    )
    metadata = from_cda(read_header(data), class_code=CLASS_CODE, source_id=SOURCE_ID)
    doc = replace(metadata.documents[0], hash=None, size=None)  # each body's bytes differ
    metadata = replace(metadata, documents=(doc,))
    assert metadata.submission_set is not None and metadata.submission_set.unique_id
    payload = render_provide_and_register_request(metadata, {doc.entry_uuid: "document@bench"})
    url = "http://127.0.0.1/xds/repository"
    xml = write_envelope(
        addressing_headers(PROVIDE_AND_REGISTER, f"urn:uuid:{uuid.uuid4()}", url), payload
    )
    attachment = Attachment("document@bench", "text/xml", lambda: _bytes_io(data))
    content_type, chunks = encode_mtom(xml, [attachment], action=PROVIDE_AND_REGISTER)
    return Template(content_type, b"".join(chunks), metadata.submission_set.unique_id)


def _bytes_io(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)


def tree(pid: int) -> list[int]:
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            for child in (task / "children").read_text().split():
                found += tree(int(child))
        except OSError:
            continue
    return found


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK


def context_switches(pids: list[int]) -> int:
    """Voluntary and involuntary switches of every thread of `pids` so far.

    Each time a request thread lets go of the GIL for a system call while others wait, the
    GIL changes hands: switches per request count those turns, which CPU time shows only
    in part and throughput only through the noise of a shared machine.
    """
    total = 0
    for pid in pids:
        for status in Path(f"/proc/{pid}/task").glob("*/status"):
            try:
                lines = status.read_text().splitlines()
            except OSError:
                continue
            total += sum(int(line.split()[1]) for line in lines if "ctxt_switches" in line)
    return total


def postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


@dataclass
class Round:
    requests: int
    failures: int
    seconds: float
    latencies: list[float]
    server_cpu: float
    postgres_cpu: float
    switches: int


class Load:
    """Submits fresh bodies from `concurrency` threads for `seconds`."""

    def __init__(self, shape: Template) -> None:
        self.shape = shape
        self.serial = 0
        self.lock = threading.Lock()

    def next_body(self) -> bytes:
        with self.lock:
            self.serial += 1
            n = self.serial
        return self.shape.fresh(n)

    def run(self, port: int, root_pid: int, concurrency: int, seconds: float) -> Round:
        latencies: list[float] = []
        failures = [0]
        first_failure: list[str] = []
        stop = time.monotonic() + seconds
        bodies = [[self.next_body() for _ in range(3)] for _ in range(concurrency)]

        def client(index: int) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            mine = bodies[index]
            while time.monotonic() < stop:
                body = mine.pop() if mine else self.next_body()
                started = time.perf_counter()
                try:
                    connection.request(
                        "POST", "/xds/repository", body, {"Content-Type": self.shape.content_type}
                    )
                    answer = connection.getresponse().read()
                except (OSError, http.client.HTTPException) as exc:
                    failures[0] += 1
                    first_failure.append(str(exc))
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    continue
                latencies.append(time.perf_counter() - started)
                if b"ResponseStatusType:Success" not in answer:
                    failures[0] += 1
                    first_failure.append(answer[-800:].decode("utf-8", "replace"))
            connection.close()

        pids = tree(root_pid)
        server_before, pg_before = cpu_seconds(pids), cpu_seconds(postgres_pids())
        switches_before = context_switches(pids)
        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        server_cpu = cpu_seconds(pids) - server_before
        postgres_cpu = cpu_seconds(postgres_pids()) - pg_before
        switches = context_switches(pids) - switches_before
        if first_failure:
            print(f"   first failure: {first_failure[0][:400]}")
        return Round(
            len(latencies), failures[0], elapsed, latencies, server_cpu, postgres_cpu, switches
        )


def summary(rounds: list[Round]) -> tuple[float, float, float, float, float, float, int]:
    """req/s, p50 ms, p99 ms, server CPU ms/req, PostgreSQL CPU ms/req, server context
    switches per request, failures."""
    done = sum(r.requests for r in rounds)
    latencies = sorted(x for r in rounds for x in r.latencies)
    rate = done / sum(r.seconds for r in rounds)
    p50 = statistics.median(latencies) * 1000 if latencies else 0.0
    p99 = latencies[int(0.99 * (len(latencies) - 1))] * 1000 if latencies else 0.0
    server = sum(r.server_cpu for r in rounds) / max(done, 1) * 1000
    postgres = sum(r.postgres_cpu for r in rounds) / max(done, 1) * 1000
    switches = sum(r.switches for r in rounds) / max(done, 1)
    return rate, p50, p99, server, postgres, switches, sum(r.failures for r in rounds)


def fsyncs_per_request(load: Load, port: int, root_pid: int, count: int) -> str:
    """fsync-family calls per submission, counted by strace on the server's processes."""
    if shutil.which("strace") is None:
        return "n/a (no strace)"
    pids = tree(root_pid)
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as out:
        args = ["strace", "-f", "-c", "-e", "trace=fsync,fdatasync,sync_file_range", "-o", out.name]
        for pid in pids:
            args += ["-p", str(pid)]
        tracer = subprocess.Popen(args, stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # attached
        done = sequential(load, http.client.HTTPConnection("127.0.0.1", port, timeout=60), count)
        tracer.send_signal(signal.SIGINT)
        tracer.wait(15)
        calls = 0
        for line in out.read().splitlines():  # % time, seconds, usecs/call, calls, [errors,] name
            fields = line.split()
            if fields and fields[-1] in ("fsync", "fdatasync", "sync_file_range"):
                calls += int(fields[3])
    return f"{calls / max(done, 1):.1f}"


def sequential(load: Load, connection: http.client.HTTPConnection, count: int) -> int:
    """`count` submissions one after the other on one keep-alive connection (one worker)."""
    done = 0
    headers = {"Content-Type": load.shape.content_type}
    for _ in range(count):
        connection.request("POST", "/xds/repository", load.next_body(), headers)
        if b"ResponseStatusType:Success" in connection.getresponse().read():
            done += 1
    return done
