"""Every README walkthrough runs as written (issue 14).

The blocks marked `<!-- walkthrough: NAME -->` are run in order, in a fresh folder, with the
installed `xds` on PATH: a block that is an `xds serve` command is started in the background
(on free ports, through XDS_BIND and XDS_MLLP_PORT) and waited for; any other block runs in
bash with `set -euo pipefail`. The only rewrite is the port: `:8080` becomes the free one.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from xds_cli.server import free_port

README = Path(__file__).resolve().parents[1] / "README.md"
MARK = re.compile(r"<!-- walkthrough: ([\w-]+) -->\s*```sh\n(.*?)```", re.DOTALL)


def walkthroughs() -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for name, block in MARK.findall(README.read_text(encoding="utf-8")):
        found[name].append(block)
    return dict(found)


def test_the_readme_has_its_walkthroughs() -> None:
    assert set(walkthroughs()) == {"first-steps", "tls-dmp", "fhir"}


def wait_for_port(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"xds serve exited: {log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                time.sleep(1.0)  # gunicorn's workers boot after the socket is bound
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"xds serve never listened: {log.read_text()}")


@pytest.mark.parametrize("name", sorted(walkthroughs()))
def test_walkthrough_runs_as_written(name: str, tmp_path: Path) -> None:
    port, mllp = free_port(), free_port()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "XDS_BIND": f"127.0.0.1:{port}",
        "XDS_MLLP_PORT": str(mllp),
    }
    env = {
        k: v
        for k, v in env.items()
        if not k.startswith("XDS_") or k in ("XDS_BIND", "XDS_MLLP_PORT")
    }
    servers: list[subprocess.Popen[bytes]] = []
    try:
        for number, block in enumerate(walkthroughs()[name]):
            script = block.replace(":8080", f":{port}")
            if script.lstrip().startswith("xds serve"):
                log = tmp_path / f"serve-{number}.log"
                with log.open("wb") as out:
                    server = subprocess.Popen(
                        ["bash", "-c", script], cwd=tmp_path, env=env, stdout=out,
                        stderr=subprocess.STDOUT, start_new_session=True,
                    )  # fmt: skip
                servers.append(server)
                wait_for_port(port, server, log)
                continue
            done = subprocess.run(
                ["bash", "-c", "set -euo pipefail\n" + script],
                cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
            )  # fmt: skip
            assert done.returncode == 0, f"block {number}:\n{done.stdout}\n{done.stderr}"
            last = done.stdout
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    expected = {
        "first-steps": "A plain text note",
        "tls-dmp": "retrieved, byte-identical",
        "fhir": "ITI-68 returned the submitted bytes",
    }[name]
    assert expected in last
