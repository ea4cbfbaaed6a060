"""ITI-41 in the setting of issue 12: PostgreSQL, 2 workers x 4 threads, a real 10-30 KB CDA.

    python bench/submit_bench.py                    # about five minutes
    python bench/submit_bench.py --concurrency 8 --rounds 12   # the ratio's interval, tight
    python bench/submit_bench.py --seconds 3 --rounds 1 --counts 10    # a quick look

Starts `xds serve --database <PostgreSQL> --workers 2 --threads 4` on a fresh schema and
the floor (bench/submit_floor_app.py, a bare WSGI app doing the least the same request
needs) under the same gunicorn settings, worker class included (the project's
`xds_cli.intake` worker, whose event loop reads each request whole before a thread takes
it), and the same floor under gunicorn's stock gthread worker as a second reference; then
it alternates rounds project / floor / floor-gthread at concurrency 1 and 8
(`--concurrency`), so that the machine's noise hits all alike. Each request submits the
ANS vaccination note shipped in xds_cli/data under a new ClinicalDocument/id, hence a new
document uniqueId, and a new submission set uniqueId: the repository's CDA consistency
check runs, and every answer must be Success (failures are counted and printed).

Printed per setting: requests/s, p50 and p99 latency, the server's CPU per request (user +
system time of the gunicorn master and workers and the side process, from /proc) and
PostgreSQL's (every process named postgres, from /proc: the benchmark's backends and the
server's own background work), and the project/floor ratios: of the whole rates, and round
by round (each project round against the floor round next to it) with the 95 % confidence
interval of their mean (bench/ratios.py), which says whether the ≥ 45 % target is met with
a margin over the machine's noise. The bodies and the clients are bench/submit_load.py's.
Then round trips and fsyncs per submission, counted in a separate run of each server at
concurrency 1: round trips by a proxy in front of PostgreSQL (bench/wire_counts.py: a
client turn after a server turn is one round trip), fsyncs with `strace -f -c` on the
workers (n/a without strace). Targets from issue 12 are printed, never asserted.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg2

from cda import read_header
from xds_cli.demo import cda_bytes
from xds_cli.feed import ack_code, adt_a01, send_message
from xds_cli.server import ServerProcess, free_port

sys.path.insert(0, str(Path(__file__).parent))
from ratios import paired_ratios
from submit_floor_app import SCHEMA_SQL
from submit_load import Load, Round, fsyncs_per_request, sequential, summary, template
from wire_counts import RoundTripProxy

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
    parser.add_argument(
        "--concurrency",
        default="1,8",
        help="comma-separated concurrencies (8 alone: twice the rounds in the same time)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the schemas")
    args = parser.parse_args()
    concurrencies = tuple(int(c) for c in args.concurrency.split(","))

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
        for concurrency in concurrencies:
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
    report(results, concurrencies, fsyncs, trips)
    if not args.keep:
        with admin.cursor() as cursor:
            for schema in schemas.values():
                cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')
        shutil.rmtree(folder, ignore_errors=True)


def report(
    results: dict[tuple[str, int], list[Round]],
    concurrencies: tuple[int, ...],
    fsyncs: dict[str, str],
    trips: dict[str, str],
) -> None:
    columns = (
        "req/s | p50 ms | p99 ms | server CPU ms/req | PostgreSQL CPU ms/req "
        "| server context switches/req | failures"
    )
    print(f"\n| concurrency | server | {columns} |")
    print("|---|---|---|---|---|---|---|---|---|")
    for concurrency in concurrencies:
        for name in ("project", *FLOOR_WORKERS):
            rate, p50, p99, cpu, pg, switches, failed = summary(results[(name, concurrency)])
            figures = (
                f"{rate:.0f} | {p50:.1f} | {p99:.1f} | {cpu:.2f} | {pg:.2f} | {switches:.1f} "
                f"| {failed}"
            )
            print(f"| {concurrency} | {name} | {figures} |")
    ratios = {}
    for concurrency in concurrencies:
        project = [r.requests / r.seconds for r in results[("project", concurrency)]]
        for name in FLOOR_WORKERS:
            floor = [r.requests / r.seconds for r in results[(name, concurrency)]]
            whole = (
                summary(results[("project", concurrency)])[0]
                / summary(results[(name, concurrency)])[0]
            )
            paired = ratios[(name, concurrency)] = paired_ratios(project, floor)
            print(
                f"project/{name} at concurrency {concurrency}: {whole:.0%} of the rates; "
                f"round by round {paired.describe()}"
            )
    print(
        f"per submission: round trips to PostgreSQL {trips['project']} (floor {trips['floor']}), "
        f"fsyncs {fsyncs['project']} (floor {fsyncs['floor']})"
    )
    if 8 not in concurrencies:
        return
    rate8 = summary(results[("project", 8)])[0]
    paired = ratios[("floor", 8)]
    print(
        f"targets (issue 12): >= 300 submissions/s at concurrency 8 (measured {rate8:.0f}); "
        f">= 45 % of the floor ({paired.describe()}: {paired.against(0.45)}; of the floor "
        f"under stock gthread {ratios[('floor-gthread', 8)].mean:.0%})"
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
                sequential(load, connection, 20)
                proxy.reset()
                done = sequential(load, connection, args.counts)
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
