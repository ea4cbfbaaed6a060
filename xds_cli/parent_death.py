"""Die with the parent: the gunicorn workers and the side process do not outlive their master.

Why: the master is the only one that replaces workers, stops them and stops the side
process. Killed (SIGKILL, the OOM killer), it runs no cleanup; left alone, a gthread worker
noticed the orphaning within a second but then waited up to the graceful timeout (30 s, longer
with a request body that never ends) with the HTTP socket open, and the side process kept the
MLLP port until the last worker was gone, so a restart on the same ports failed with "address
already in use". With prctl(PR_SET_PDEATHSIG) the kernel kills each of them as soon as the
master dies, and the kernel closes their listening sockets on the way.

Which signal: SIGKILL. The master is gone, so the service is dead anyway: no worker will be
replaced, nobody reaps them; a graceful stop would only keep the ports from a restart for as
long as its slowest request, and a caught or blocked signal would not stop a wedged process.
Nothing relies on a clean exit: the document store and the database survive a crash by
construction (`repository/store.py`, one transaction per request), and the audit forwarder
sends again, at least once, a batch it had not recorded as delivered (`atna.forwarder`).

The death signal is tied to the *thread* that forked the child, not to its process: it fires
when that thread exits. gunicorn's master forks every worker from its one and only thread,
and `xds serve` starts the side process from that same thread before it becomes the master;
the master must stay single-threaded (`xds_cli.serve`), and this is one more reason: a
worker forked from a helper thread would be killed when that thread ends, master alive.

The race: a parent dying between the fork and the prctl() leaves the child adopted (by init
or a subreaper) and no signal will ever come; so after arming it the child compares
getppid() to the parent it expects and, on a mismatch, does what the signal would have done.

Elsewhere than Linux there is no prctl(): `die_with_parent` returns False and the processes
fall back on what they did before (a worker notices its orphaning within a second and stops
gracefully; the side process stops when its stdin ends).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys

log = logging.getLogger("xds.serve")

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
DEATH_SIGNAL = signal.SIGKILL


def die_with_parent(parent: int) -> bool:
    """Have the kernel SIGKILL this process when `parent` (its creator) dies.

    Call it in the child, first thing after the fork (or at the start of the program run
    there). False where it cannot be done (not Linux; prctl() refused, which is logged as a
    warning): the process lives on as before.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(DEATH_SIGNAL), 0, 0, 0) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"prctl(PR_SET_PDEATHSIG): {os.strerror(errno)}")
    except (OSError, AttributeError) as exc:  # AttributeError: a libc without prctl
        log.warning("this process may outlive its master: %s", exc)
        return False
    if os.getppid() != parent:  # the parent died before prctl(): no signal will come
        os.kill(os.getpid(), DEATH_SIGNAL)
    return True


__all__ = ["DEATH_SIGNAL", "die_with_parent"]
