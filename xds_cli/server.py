"""`xds serve` in a child process on free ports: for `xds demo --serve` and end-to-end tests.

The child gets its own process group so that stopping it reaches the gunicorn workers too,
whatever state the master is in.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

import requests


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ServerProcess:
    """`with ServerProcess(data_folder) as server:` runs `xds serve` until the block ends."""

    def __init__(
        self,
        data: Path,
        *,
        args: Sequence[str] = (),
        role: str = "both",
        port: int | None = None,
        mllp_port: int | None = None,
        log_path: Path | None = None,
        env: dict[str, str] | None = None,
        ready_timeout: float = 30.0,
        ca: Path | None = None,
        client_cert: tuple[Path, Path] | None = None,
        workers: int = 1,
        cwd: Path | None = None,
    ) -> None:
        """`ca` (the bundle the server certificate chains to) means the server runs with
        `--tls` among `args`: it is reached over https, presenting `client_cert`. `cwd` is
        the working directory of `xds serve` (default: this process's)."""
        self.data = data
        self.role = role
        self.port = port or free_port()
        self.mllp_port = 0 if role == "repository" else (mllp_port or free_port())
        self.args = tuple(args)
        self.log_path = log_path or data / "serve.log"
        self.env = env
        self.ready_timeout = ready_timeout
        self.ca = ca
        self.client_cert = client_cert
        self.workers = workers
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.ca is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            sys.executable, "-P", "-m", "xds_cli.main", "serve",  # -P: as in xds_cli.side
            "--bind", f"127.0.0.1:{self.port}", "--data", str(self.data),
            "--mllp-port", str(self.mllp_port), "--role", self.role,
            "--workers", str(self.workers), *self.args,
        ]  # fmt: skip

    def start(self) -> ServerProcess:
        self.data.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        environment = {**os.environ, **(self.env or {})}
        self.process = subprocess.Popen(
            self.command(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=environment,
            cwd=self.cwd,
        )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        path = "/xds/repository" if self.role == "repository" else "/xds/registry"
        deadline = time.monotonic() + self.ready_timeout
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"xds serve exited with {self.process.returncode}: {self.log()}")
            try:
                answer = requests.get(
                    f"{self.url}{path}?wsdl",
                    timeout=2,
                    cert=self._requests_cert(),
                    verify=str(self.ca) if self.ca is not None else True,
                )
                if answer.status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"xds serve not ready after {self.ready_timeout}s: {self.log()}")

    def _requests_cert(self) -> tuple[str, str] | None:
        if self.client_cert is None:
            return None
        return str(self.client_cert[0]), str(self.client_cert[1])

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM (graceful), then SIGKILL after `timeout`; the exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close()
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL the whole group at once: a crash, as far as the data is concerned."""
        if self.process is not None:
            self._signal(signal.SIGKILL)
            self.process.wait(10)
        self._close()

    def _signal(self, signum: int) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def _close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
