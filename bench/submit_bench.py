"""ITI-41 in the setting of issue 12: PostgreSQL, 2 workers x 4 threads, a real 10-30 KB CDA.

    python bench/submit_bench.py                    # about three minutes
    python bench/submit_bench.py --seconds 3 --rounds 1 --counts 10    # a quick look

Starts `xds serve --database <PostgreSQL> --workers 2 --threads 4` on a fresh schema and
the floor (bench/submit_floor_app.py, a bare WSGI app doing the least the same request
needs) under the same gunicorn settings, worker class included (the project's
`xds_cli.intake` worker, whose event loop reads each request whole before a thread takes
it), and the same floor under gunicorn's stock gthread worker as a second reference; then
it alternates rounds project / floor / floor-gthread at concurrency 1 and 8, so that the
machine's noise hits all alike. Each request submits the
ANS vaccination note shipped in xds_cli/data under a new ClinicalDocument/id, hence a new
document uniqueId, and a new submission set uniqueId: the repository's CDA consistency
check runs, and every answer must be Success (failures are counted and printed). The MTOM
bodies are built once with the project's own writer (soap.mtom, as `XdsClient` sends
them), then made unique by substituting same-length ids, so that the client spends little
of the two cores the server shares with it; requests go over keep-alive `http.client`
connections, one per client thread.

Printed per setting: requests/s, p50 and p99 latency, the server's CPU per request (user +
system time of the gunicorn master and workers and the side process, from /proc) and
PostgreSQL's (every process named postgres, from /proc: the benchmark's backends and the
server's own background work), and the project/floor ratios. Then round trips and fsyncs per
submission, counted in a separate run of each server at concurrency 1: round trips by a
proxy in front of PostgreSQL (bench/wire_counts.py: a client turn after a server turn is
one round trip), fsyncs with `strace -f -c` on the workers (n/a without strace).
Targets from issue 12 are printed, never asserted.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import psycopg2

from cda import read_header
from soap.client.exchange import addressing_headers
from soap.envelope import write_envelope
from soap.mtom import Attachment, encode_mtom
from soap.operations import PROVIDE_AND_REGISTER
from xds_cli.demo import CLASS_CODE, SOURCE_ID, cda_bytes
from xds_cli.feed import ack_code, adt_a01, send_message
from xds_cli.metadata import from_cda
from xds_cli.server import ServerProcess, free_port

sys.path.insert(0, str(Path(__file__).parent))
from submit_floor_app import SCHEMA_SQL
from wire_counts import RoundTripProxy

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
    from ebrim.xdsb import render_provide_and_register_request

    payload = render_provide_and_register_request(metadata, {doc.entry_uuid: "document@bench"})
    url = "http://127.0.0.1/xds/repository"
    xml = write_envelope(
        addressing_headers(PROVIDE_AND_REGISTER, f"urn:uuid:{uuid.uuid4()}", url), payload
    )
    attachment = Attachment("document@bench", "text/xml", lambda: _bytes_io(data))
    content_type, chunks = encode_mtom(xml, [attachment], action=PROVIDE_AND_REGISTER)
    return Template(content_type, b"".join(chunks), metadata.submission_set.unique_id)


def _bytes_io(data: bytes):
    import io

    return io.BytesIO(data)


# --- the two servers ------------------------------------------------------------------------


# The floor's gunicorn worker: the project's own (the "same gunicorn settings": the
# event loop reads each request whole before a thread takes it), or gunicorn's stock gthread.
FLOOR_WORKERS = {"floor": "xds_cli.intake.IntakeThreadWorker", "floor-gthread": "gthread"}


class Floor:
    """bench/submit_floor_app.py under gunicorn, 2 workers x 4 threads, `worker` class."""

    def __init__(self, dsn: str, folder: Path, worker: str = FLOOR_WORKERS["floor"]) -> None:
        self.port = free_port()
        folder.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "FLOOR_DSN": dsn,
            "FLOOR_DIR": str(folder),
            "PYTHONPATH": str(Path(__file__).parent),
        }
        command = [
            sys.executable, "-m", "gunicorn", "-k", worker, "--threads", "4", "-w", "2",
            "-b", f"127.0.0.1:{self.port}", "--log-level", "warning", "submit_floor_app:app",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                http.client.HTTPConnection("127.0.0.1", self.port, timeout=1).connect()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the floor app did not start")

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(15)


def project(data: Path, database: str, schema: str) -> ServerProcess:
    args = ["--database", database, "--database-schema", schema, "--threads", "4"]
    server = ServerProcess(data, args=args, workers=2).start()
    patient = read_header(cda_bytes()).patient_id
    ack = send_message("127.0.0.1", server.mllp_port, adt_a01(patient))
    assert ack_code(ack)[0] == "AA", ack
    return server


# --- measuring ------------------------------------------------------------------------------


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
        done = _sequential(load, http.client.HTTPConnection("127.0.0.1", port, timeout=60), count)
        tracer.send_signal(signal.SIGINT)
        tracer.wait(15)
        calls = 0
        for line in out.read().splitlines():  # % time, seconds, usecs/call, calls, [errors,] name
            fields = line.split()
            if fields and fields[-1] in ("fsync", "fdatasync", "sync_file_range"):
                calls += int(fields[3])
    return f"{calls / max(done, 1):.1f}"


def _sequential(load: Load, connection: http.client.HTTPConnection, count: int) -> int:
    """`count` submissions one after the other on one keep-alive connection (one worker)."""
    done = 0
    headers = {"Content-Type": load.shape.content_type}
    for _ in range(count):
        connection.request("POST", "/xds/repository", load.next_body(), headers)
        if b"ResponseStatusType:Success" in connection.getresponse().read():
            done += 1
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--url",
        default=os.environ.get(
            "XDS_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="per round")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of each server per concurrency"
    )
    parser.add_argument(
        "--counts", type=int, default=40, help="submissions counted for round trips and fsyncs"
    )
    parser.add_argument("--keep", action="store_true", help="keep the schemas")
    args = parser.parse_args()

    tag = uuid.uuid4().hex[:8]
    schemas = {"project": f"bench_submit_{tag}", "floor": f"bench_floor_{tag}"}
    admin = psycopg2.connect(args.url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        for schema in schemas.values():
            cursor.execute(f'CREATE SCHEMA "{schema}"')
    floor_dsn = f"{args.url}?options=-csearch_path%3D{schemas['floor']}"
    with psycopg2.connect(floor_dsn) as connection, connection.cursor() as cursor:
        cursor.execute(SCHEMA_SQL)
    shape = template()
    load = Load(shape)
    print(
        f"ITI-41 of a {len(cda_bytes()) // 1024} KB CDA (MTOM body {len(shape.body) // 1024} KB), "
        f"PostgreSQL {args.url.rsplit('@', 1)[-1]}, gunicorn 2 workers x 4 threads, "
        f"{os.cpu_count()} cores shared with the client"
    )
    folder = Path(tempfile.mkdtemp(prefix="xds-submit-bench-"))
    server = project(folder / "project", args.url, schemas["project"])
    floors = {name: Floor(floor_dsn, folder / name, w) for name, w in FLOOR_WORKERS.items()}
    assert server.process is not None
    targets = {"project": (server.port, server.process.pid)}
    targets.update({name: (floor.port, floor.pid) for name, floor in floors.items()})
    try:
        for port, _pid in targets.values():
            load.run(port, os.getpid(), 2, 1.0)  # warm: connections, caches
        results: dict[tuple[str, int], list[Round]] = {}
        for concurrency in (1, 8):
            for _ in range(args.rounds):
                for name, (port, pid) in targets.items():
                    run = load.run(port, pid, concurrency, args.seconds)
                    results.setdefault((name, concurrency), []).append(run)
        fsyncs = {
            name: fsyncs_per_request(load, *targets[name], args.counts)
            for name in ("project", "floor")
        }
    finally:
        server.stop()
        for floor in floors.values():
            floor.stop()
    trips = round_trips(args, schemas, floor_dsn, load)
    report(results, fsyncs, trips)
    if not args.keep:
        with admin.cursor() as cursor:
            for schema in schemas.values():
                cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')
        shutil.rmtree(folder, ignore_errors=True)


def report(
    results: dict[tuple[str, int], list[Round]], fsyncs: dict[str, str], trips: dict[str, str]
) -> None:
    columns = (
        "req/s | p50 ms | p99 ms | server CPU ms/req | PostgreSQL CPU ms/req "
        "| server context switches/req | failures"
    )
    print(f"\n| concurrency | server | {columns} |")
    print("|---|---|---|---|---|---|---|---|---|")
    ratios: dict[tuple[str, int], float] = {}
    for concurrency in (1, 8):
        rates = {}
        for name in ("project", *FLOOR_WORKERS):
            rate, p50, p99, cpu, pg, switches, failed = summary(results[(name, concurrency)])
            rates[name] = rate
            figures = (
                f"{rate:.0f} | {p50:.1f} | {p99:.1f} | {cpu:.2f} | {pg:.2f} | {switches:.1f} "
                f"| {failed}"
            )
            print(f"| {concurrency} | {name} | {figures} |")
        for name in FLOOR_WORKERS:
            ratios[(name, concurrency)] = rates["project"] / rates[name]
    for (name, concurrency), ratio in ratios.items():
        print(f"project/{name} at concurrency {concurrency}: {ratio:.0%}")
    print(
        f"per submission: round trips to PostgreSQL {trips['project']} (floor {trips['floor']}), "
        f"fsyncs {fsyncs['project']} (floor {fsyncs['floor']})"
    )
    rate8 = summary(results[("project", 8)])[0]
    print(
        f"targets (issue 12): >= 300 submissions/s at concurrency 8 (measured {rate8:.0f}); "
        f">= 45 % of the floor (measured {ratios[('floor', 8)]:.0%}; of the floor under "
        f"stock gthread {ratios[('floor-gthread', 8)]:.0%})"
    )


def round_trips(
    args: argparse.Namespace, schemas: dict[str, str], floor_dsn: str, load: Load
) -> dict[str, str]:
    """Round trips per submission of each server, through the counting proxy."""
    host = args.url.rsplit("@", 1)[-1].split("/")[0]
    address = (host.split(":")[0], int(host.split(":")[1]) if ":" in host else 5432)
    out = {}
    for name in ("project", "floor"):
        proxy = RoundTripProxy(address)
        folder = Path(tempfile.mkdtemp(prefix=f"xds-submit-trips-{name}-"))
        try:
            stop: Callable[[], object]
            if name == "project":
                server = project(folder, proxy.url(args.url), schemas[name])
                port, stop = server.port, server.stop
            else:
                base, _, options = floor_dsn.partition("?")
                floor = Floor(f"{proxy.url(base)}?{options}", folder)
                port, stop = floor.port, floor.stop
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                # The same keep-alive connection reaches the same worker: warmed up, each of
                # its threads holds its database connections (handshakes are not counted).
                _sequential(load, connection, 20)
                proxy.reset()
                done = _sequential(load, connection, args.counts)
                out[name] = f"{proxy.trips / max(done, 1):.1f}"
            finally:
                connection.close()
                stop()
        finally:
            proxy.close()
            shutil.rmtree(folder, ignore_errors=True)
    return out


if __name__ == "__main__":
    main()
