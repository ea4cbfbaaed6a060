"""A streaming multipart (RFC 2046) splitter: each part's body goes to a spooled temp file.

Reads the input in chunks and never holds more than a chunk plus a delimiter in memory, so
that an attachment of any size costs `spool_threshold` bytes of RAM at most.
"""

from __future__ import annotations

from dataclasses import dataclass
from tempfile import SpooledTemporaryFile
from typing import IO, Protocol

from soap.faults import sender

MAX_HEADER_BYTES = 16 * 1024


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


@dataclass
class Part:
    """One MIME part: its headers (lower-case names) and its body, rewound."""

    headers: dict[str, str]
    body: IO[bytes]
    size: int = 0

    def close(self) -> None:
        self.body.close()


def split_multipart(
    stream: Readable,
    boundary: str,
    *,
    chunk_size: int = 64 * 1024,
    spool_threshold: int = 1024 * 1024,
    max_parts: int = 1000,
) -> list[Part]:
    """Every part of a multipart body, in order; a Sender fault if it is malformed or truncated."""
    if not boundary or len(boundary) > 70:
        raise sender("multipart boundary is missing or longer than 70 characters")
    return _Splitter(
        stream, boundary.encode("latin-1"), chunk_size, spool_threshold, max_parts
    ).run()


class _Splitter:
    def __init__(
        self, stream: Readable, boundary: bytes, chunk: int, threshold: int, max_parts: int
    ) -> None:
        self.stream = stream
        self.delimiter = b"\r\n--" + boundary
        # The first delimiter may open the body with no CRLF before it.
        self.buffer = bytearray(b"\r\n")
        self.chunk = chunk
        self.threshold = threshold
        self.max_parts = max_parts
        self.eof = False

    def run(self) -> list[Part]:
        parts: list[Part] = []
        try:
            self._skip_to_delimiter()
            while self._after_delimiter_is_part():
                if len(parts) >= self.max_parts:
                    raise sender(f"more than {self.max_parts} MIME parts")
                parts.append(self._part())
        except BaseException:
            for part in parts:
                part.close()
            raise
        return parts

    def _fill(self) -> bool:
        if self.eof:
            return False
        data = self.stream.read(self.chunk)
        if not data:
            self.eof = True
            return False
        self.buffer += data
        return True

    def _skip_to_delimiter(self) -> None:
        """Drop the preamble."""
        while True:
            at = self.buffer.find(self.delimiter)
            if at >= 0:
                del self.buffer[: at + len(self.delimiter)]
                return
            keep = len(self.delimiter) - 1
            if len(self.buffer) > keep:
                del self.buffer[: len(self.buffer) - keep]
            if not self._fill():
                raise sender("malformed multipart body: the boundary never appears")

    def _after_delimiter_is_part(self) -> bool:
        """After a delimiter: `--` closes the body, else transport padding then CRLF."""
        while len(self.buffer) < 2 and self._fill():
            pass
        if self.buffer[:2] == b"--":
            return False
        end = self._find(b"\r\n", MAX_HEADER_BYTES)
        if self.buffer[:end].strip(b" \t"):
            raise sender("malformed multipart body: text after a boundary delimiter")
        del self.buffer[: end + 2]
        return True

    def _find(self, needle: bytes, limit: int) -> int:
        while True:
            at = self.buffer.find(needle)
            if at >= 0:
                return at
            if len(self.buffer) > limit:
                raise sender("malformed multipart body: MIME headers too long")
            if not self._fill():
                raise sender("truncated multipart body")

    def _part(self) -> Part:
        end = self._find(b"\r\n\r\n", MAX_HEADER_BYTES) if self.buffer[:2] != b"\r\n" else -2
        headers = _headers(bytes(self.buffer[: max(end, 0)]))
        del self.buffer[: end + 4]
        body: IO[bytes] = SpooledTemporaryFile(max_size=self.threshold)  # noqa: SIM115
        size = 0
        try:
            while True:
                at = self.buffer.find(self.delimiter)
                if at >= 0:
                    body.write(self.buffer[:at])
                    size += at
                    del self.buffer[: at + len(self.delimiter)]
                    break
                safe = len(self.buffer) - len(self.delimiter) + 1
                if safe > 0:
                    body.write(self.buffer[:safe])
                    size += safe
                    del self.buffer[:safe]
                if not self._fill():
                    raise sender("truncated multipart body: a part has no closing boundary")
        except BaseException:
            body.close()
            raise
        body.seek(0)
        return Part(headers, body, size)


def _headers(raw: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    name = ""
    for line in raw.decode("latin-1").split("\r\n"):
        if not line:
            continue
        if line[0] in " \t" and name:  # folded continuation line
            headers[name] += " " + line.strip()
            continue
        key, colon, value = line.partition(":")
        if not colon:
            raise sender(f"malformed MIME header line: {line[:80]!r}")
        name = key.strip().lower()
        headers[name] = value.strip()
    return headers


__all__ = ["Part", "Readable", "split_multipart"]
