"""A real PostgreSQL primary and its streaming replica, made by the tests for the tests.

Two clusters of the machine's PostgreSQL (Debian's /usr/lib/postgresql/N/bin): `initdb` a
primary on a free port, `pg_basebackup -R` a replica from it, both started with `pg_ctl`
and removed afterwards. PostgreSQL refuses to run as root: as root (CI), the commands run
as the `postgres` user, in a folder it owns.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg2


def _bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql")
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ReplicaPair:
    folder: Path
    primary_port: int
    replica_port: int

    @property
    def primary_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.primary_port}/postgres"

    @property
    def replica_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.replica_port}/postgres"

    def sql(self, port: int, statement: str) -> list[tuple[object, ...]]:
        with psycopg2.connect(host="127.0.0.1", port=port, user="postgres") as conn:
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(statement)
                return list(cursor.fetchall()) if cursor.description else []

    def pause_replay(self) -> None:
        self.sql(self.replica_port, "SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        self.sql(self.replica_port, "SELECT pg_wal_replay_resume()")

    def stop_replica(self) -> None:
        _run(_bin() / "pg_ctl", "-D", str(self.folder / "replica"), "-m", "immediate", "stop")

    def wait_replayed(self, timeout: float = 20) -> None:
        """Until the replica has replayed everything the primary has written."""
        (target,) = self.sql(self.primary_port, "SELECT pg_current_wal_lsn()::text")[0]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = self.sql(self.replica_port, f"SELECT pg_last_wal_replay_lsn() >= '{target}'")
            if done[0][0]:
                return
            time.sleep(0.05)
        raise RuntimeError("the replica did not catch up")


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _run(*command: object) -> None:
    done = subprocess.run(
        [*_as_postgres(), *map(str, command)], capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {done.stdout}\n{done.stderr}")


def _start(bin_: Path, data: Path, port: int, folder: Path) -> int:
    """Start the cluster on `port`, or on another free port when something took that one
    between `_free_port` and the start (the other test worker's servers pick ports too)."""
    log = folder / f"{data.name}.log"
    for attempt in range(3):
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        try:
            _run(bin_ / "pg_ctl", "-D", data, "-l", log, "-w", "-o", options, "start")
            return port
        except RuntimeError as exc:
            said = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            if attempt == 2 or "could not bind" not in said:
                raise RuntimeError(f"{exc}\n{data.name}.log ends:\n{said}") from None
            port = _free_port()
    raise AssertionError("unreachable")


@contextmanager
def replica_pair() -> Iterator[ReplicaPair]:
    bin_ = _bin()
    folder = Path(tempfile.mkdtemp(prefix="xds-replica-"))
    folder.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    pair = ReplicaPair(folder, _free_port(), _free_port())
    primary, replica = folder / "primary", folder / "replica"
    try:
        _run(bin_ / "initdb", "-D", primary, "-A", "trust", "-U", "postgres", "--no-sync")
        pair.primary_port = _start(bin_, primary, pair.primary_port, folder)
        _run(
            bin_ / "pg_basebackup", "-h", "127.0.0.1", "-p", pair.primary_port, "-U", "postgres",
            "-D", replica, "-R", "-X", "stream", "--no-sync",
        )  # fmt: skip
        pair.replica_port = _start(bin_, replica, pair.replica_port, folder)
        yield pair
    finally:
        for data in (replica, primary):
            if (data / "postmaster.pid").exists():
                subprocess.run(
                    [*_as_postgres(), str(bin_ / "pg_ctl"), "-D", str(data), "-m", "immediate",
                     "stop"],
                    capture_output=True, timeout=60,
                )  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)
