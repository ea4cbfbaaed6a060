"""The side services of `xds serve` in a process of their own: the ITI-8 MLLP feed, the
ITI-20 audit forwarder, and (PostgreSQL) the audit trail's coming months made once a day.

Why not threads of the gunicorn master: the master forks its workers, at start and whenever
one is replaced. A master thread inside SQLite (or holding any lock) at that moment leaves
the new worker with a lock that no thread of its own will ever release, and the worker
hangs at its first query, for good. The side process is a fresh interpreter started before
gunicorn, so it inherits no lock, and the master stays single-threaded.

It says on stdout whether it started (or why not), stops on SIGTERM or SIGINT (the whole
process group gets them), dies with the master (`xds_cli.parent_death`: its argument is the
master's pid), and stops by itself when its stdin ends (the master and its workers are gone,
where the platform has no death signal).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import select
import signal
import socket
import ssl
import subprocess
import sys
import threading

from sqlalchemy.exc import SQLAlchemyError

from atna.forwarder import AuditForwarder, ForwarderThread
from atna.message import AuditSource
from atna.senders import open_sender
from atna.syslog import parse_destination
from registry import Registry, create_engine_for
from registry.audit_partitions import MonthKeeper
from registry.feed import MllpServerThread
from web.capture import ExchangeLog, capturing_feed
from xds_cli.parent_death import die_with_parent
from xds_cli.settings import ServeSettings

log = logging.getLogger("xds.serve")
LOG_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s %(message)s"  # every process
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
READY, FAILED = "ready", "failed: "


def wanted(settings: ServeSettings) -> bool:
    """Whether this configuration has a side service at all (all live with the registry): the
    ITI-8 feed, the ITI-20 forwarder, or, on PostgreSQL, the audit trail's coming months
    (without them, a server running past the months made at its start would file every
    event in the DEFAULT partition)."""
    if not settings.role.has_registry:
        return False
    return settings.mllp_port != 0 or bool(settings.audit_syslog) or settings.on_postgresql


class SideServices:
    """The handle the master keeps on the side process (`python -m xds_cli.side`).

    The settings go down its stdin, pickled (it is our own child), and our pid is its
    argument (the parent it dies with); its first stdout line says "ready" or the error. Its
    stdin stays open: its end-of-file means we are gone.
    """

    def __init__(self, settings: ServeSettings, repo_id: str | None) -> None:
        self.settings = settings
        self.repo_id = repo_id
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process and wait until its services run; RuntimeError names a failure."""
        process = subprocess.Popen(
            # -P: the working directory is not put on sys.path, so a folder there named like
            # one of our packages (`xds pki --dir pki init` makes ./pki) cannot shadow it.
            [sys.executable, "-P", "-m", "xds_cli.side", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self._process = process
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(pickle.dumps((self.settings, self.repo_id)))
        process.stdin.flush()
        ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT)
        line = process.stdout.readline().decode("utf-8", "replace").strip() if ready else ""
        if line != READY:
            self.stop()
            reason = line.removeprefix(FAILED) if line else "no answer"
            raise RuntimeError(f"the side services did not start: {reason}")

    def stop(self) -> None:
        """SIGTERM, a graceful wait, then SIGKILL."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()


def main() -> int:
    """The side process: start the services, report, run until told (or orphaned)."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, stream=sys.stderr)
    die_with_parent(int(sys.argv[1]))  # before anything binds a port
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    settings, repo_id = pickle.load(sys.stdin.buffer)
    feed: MllpServerThread | None = None
    audit: ForwarderThread | None = None
    months: MonthKeeper | None = None
    try:
        audit = start_audit(settings, repo_id)
        feed = start_feed(settings)
        months = start_month_keeper(settings)
    except (OSError, ssl.SSLError, ValueError, SQLAlchemyError) as exc:
        if feed is not None:
            feed.stop()
        if audit is not None:
            audit.stop()
        print(f"{FAILED}{exc}".replace("\n", " "), flush=True)
        return 2
    print(READY, flush=True)
    threading.Thread(target=_watch, args=(stop,), name="orphan-watch", daemon=True).start()
    while not stop.wait(0.5):  # a timed wait: signal handlers run between waits
        pass
    if feed is not None:
        feed.stop()
        log.info("ITI-8 patient feed stopped")
    if audit is not None:
        audit.stop()
        log.info("audit forwarder stopped")
    if months is not None:
        months.stop()
    return 0


def _watch(stop: threading.Event) -> None:
    # The master writes nothing more: reading returns only at end-of-file, when every copy
    # of its end (the master's and its workers') is closed, i.e. when they are all gone.
    # (os.read, not sys.stdin: a daemon thread blocked in a buffered read would hold the
    # buffer's lock while the interpreter shuts down.)
    with contextlib.suppress(OSError):
        while os.read(sys.stdin.fileno(), 4096):
            pass
    stop.set()


def start_feed(settings: ServeSettings) -> MllpServerThread | None:
    if not settings.role.has_registry or settings.mllp_port == 0:
        return None
    registry_settings = settings.registry_settings()
    engine = create_engine_for(registry_settings.database_url, schema=settings.database_schema)
    capture = ExchangeLog(engine, settings.capture_settings)
    feed = MllpServerThread(
        Registry(engine, registry_settings).patients,
        registry_settings,
        host=settings.host,
        port=settings.mllp_port,
        wrap=capturing_feed(capture) if capture.settings.enabled else None,
    )
    host, port = feed.start()
    log.info("ITI-8 patient feed (MLLP) on %s:%d", host, port)
    return feed


def start_month_keeper(settings: ServeSettings) -> MonthKeeper | None:
    """PostgreSQL: the audit trail's partitions of the coming months, made once a day."""
    if not settings.role.has_registry:
        return None
    engine = create_engine_for(settings.database, schema=settings.database_schema)
    if engine.dialect.name != "postgresql":
        engine.dispose()
        return None
    keeper = MonthKeeper(engine)
    keeper.start()
    return keeper


def start_audit(settings: ServeSettings, repo_id: str | None) -> ForwarderThread | None:
    """The ITI-20 forwarder of the audit trail to the syslog collector, if one is configured.

    One forwarder whatever the number of workers: it reads the audit table the workers
    write (`atna.forwarder`).
    """
    if not settings.audit_syslog or not settings.role.has_registry:
        return None
    destination = parse_destination(settings.audit_syslog)
    client = settings.audit_client_certificate
    sender = open_sender(
        destination,
        ca=settings.audit_trust,
        cert=client[0] if client else None,
        key=client[1] if client else None,
    )
    source = AuditSource(
        source_id=settings.audit_source_id or f"xds-{settings.role.value}@{socket.getfqdn()}",
        base_url=settings.base_url,
        site_id=settings.audit_site_id,
        repository_id=repo_id,
    )
    engine = create_engine_for(settings.database, schema=settings.database_schema)
    forwarder = ForwarderThread(AuditForwarder(engine, sender, source))
    forwarder.start()
    log.info("audit trail forwarded to %s (ITI-20)", destination)
    return forwarder


__all__ = ["LOG_FORMAT", "SideServices", "wanted"]

if __name__ == "__main__":
    sys.exit(main())
