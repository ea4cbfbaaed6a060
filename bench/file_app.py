"""The floor for ITI-43: a bare WSGI app serving one file with `wsgi.file_wrapper`.

Run by bench/soap_bench.py under the same gunicorn worker class as `xds serve`:
    BENCH_FILE=/path gunicorn -k gthread bench.file_app:app
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

CHUNK = 64 * 1024


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = os.environ["BENCH_FILE"]
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/octet-stream"),
            ("Content-Length", str(os.path.getsize(path))),
        ],
    )
    stream = open(path, "rb")  # noqa: SIM115  (closed by the server through the wrapper)
    wrapper = environ.get("wsgi.file_wrapper")
    if wrapper is None:
        return iter(lambda: stream.read(CHUNK), b"")
    return wrapper(stream, CHUNK)
