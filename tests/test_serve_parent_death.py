"""`xds_cli.parent_death`: a child armed with it does not outlive its parent (Linux)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")

# A parent that starts an armed child, says the child's pid once it is armed, then waits.
PARENT = """
import os, subprocess, sys
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], str(os.getpid())],
                         stdout=subprocess.PIPE)
print(child.pid, child.stdout.readline().decode().strip(), flush=True)
child.wait()
"""
CHILD = """
import sys, time
from xds_cli.parent_death import die_with_parent
print(die_with_parent(int(sys.argv[1])), flush=True)
time.sleep(60)
"""


def test_an_armed_child_is_killed_when_its_parent_is():
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, CHILD], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        child, armed = parent.stdout.readline().split()
        assert armed == "True"
        parent.kill()
        parent.wait(5)
        deadline = time.monotonic() + 2
        while _alive(int(child)) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not _alive(int(child))
    finally:
        parent.kill()
        parent.wait(5)


def test_a_child_whose_parent_is_already_gone_kills_itself():
    """The parent died before prctl(): the getppid() check does what the signal cannot."""
    not_the_parent = os.getpid() + 1_000_000  # above any pid_max: surely not its parent
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(not_the_parent)], capture_output=True, timeout=20
    )
    assert child.returncode == -signal.SIGKILL
    assert child.stdout == b""


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False
