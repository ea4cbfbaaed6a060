"""The document store's bytes: one read-only file per stored document, durable before it is named.

Layout under the repository's data folder::

    objects/ab/cdef…     one document's bytes; its key "ab/cdef…" is random (32 hex digits),
                         or the sha-256 of the bytes for objects stored before revision 0005
    objects.lock         held shared by a writer while it creates and locks its file,
                         exclusively by `collect`
    index/               before revision 0005, the JSON index (one file per uniqueId):
                         imported into the database at the next start, then renamed
                         `index.imported`

What names an object is not here: it is a row of `repository_documents` (`repository.index`),
committed in the registry's own transaction when the registry is co-located. The order that
makes a crash harmless:

1. `stage` creates the file under its final, random name and holds its flock for as long as
   the writer lives; the bytes are streamed in, hashed on the way (sha-1 for the metadata,
   sha-256 for the index), then the file and its directory are fsync-ed: two fsyncs, after
   which the bytes survive a crash under that name.
2. Only then may a row name the object: the registry's commit (co-located) is the commit
   point of the whole ITI-41. A document is never registered without its bytes.
3. A refused submission discards its files. A crash before the commit leaves files that no
   row names: `collect` deletes them at the next start.

`collect` decides under the exclusive `objects.lock`, so that no writer is between creating
its file and locking it; a file whose flock is held belongs to a living writer and is kept
whatever the database says; any other file is deleted when no row names it (asked after
the flock was taken, so a writer that committed and let go is seen as named).

Keys are random, not content hashes: each registration owns its file, so removing a document
(ITI-86) deletes its file without asking whether another uniqueId shares it, and a refused
submission can delete what it wrote. Objects stored before revision 0005 were shared by
sha-256; the index asks before deleting one of those (`repository.index.still_named`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, TypeVar

from ebrim.ids import new_uuid4_hex

log = logging.getLogger(__name__)
T = TypeVar("T")

CHUNK_SIZE = 256 * 1024
_KEY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{30,62}")


class StoreError(Exception):
    """The store could not write or read its own files (disk full, permissions…)."""


@dataclass(frozen=True)
class StoredDocument:
    """An index entry: what ITI-43 needs to find and describe a document."""

    unique_id: str
    hash: str  # sha-1, as XDS metadata carries it
    size: int
    mime_type: str
    sha256: str
    object_key: str  # the file under objects/


@dataclass(frozen=True)
class Staged:
    """Bytes received and fsync-ed under their final name, named by no row yet."""

    hash: str
    size: int
    sha256: str
    key: str
    path: Path
    _file: _Descriptor = field(repr=False, compare=False)
    head: bytes = field(default=b"", repr=False, compare=False)  # the first `keep` bytes

    @property
    def whole(self) -> bytes | None:
        """The bytes, when `stage` kept all of them in `head`."""
        return self.head if len(self.head) == self.size else None

    def describe(self, unique_id: str, mime_type: str) -> StoredDocument:
        return StoredDocument(unique_id, self.hash, self.size, mime_type, self.sha256, self.key)


class DocumentStore(Protocol):
    """Where the repository keeps document bytes; `FilesystemStore` is the implementation."""

    def stage(self, stream: BinaryIO, *, keep: int = 0) -> Staged: ...

    def release(self, staged: Staged) -> None: ...

    def discard(self, staged: Staged) -> None: ...

    def open(self, key: str) -> BinaryIO: ...

    def delete(self, key: str) -> None: ...

    def collect(self, named: Callable[[list[str]], set[str]]) -> int: ...


class FilesystemStore:
    """`DocumentStore` on a local folder (see the module docstring for layout and order)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        objects = self.root / "objects"
        if not (objects / "ff").is_dir():  # the 256 folders exist before any file goes in
            for prefix in range(256):
                (objects / f"{prefix:02x}").mkdir(parents=True, exist_ok=True)
            _fsync_dir(objects)
        (self.root / "objects.lock").touch(exist_ok=True)
        self._threads = threading.local()
        self._objects = str(objects)

    # --- writing -------------------------------------------------------------------------

    def stage(self, stream: BinaryIO, *, keep: int = 0) -> Staged:
        """Copy `stream` into a new object file chunk by chunk, hashing it; durable on return.

        The first `keep` bytes also stay in memory (`Staged.head`), so that a small document
        can be read again without opening its file. An exception raised by the stream
        propagates unchanged after the file is removed; the store's own I/O failures raise
        `StoreError`.
        """
        token = new_uuid4_hex()
        key = f"{token[:2]}/{token[2:]}"
        folder = f"{self._objects}/{token[:2]}"  # strings: Path's joins and str() add up here
        name = f"{folder}/{token[2:]}"
        # A bare descriptor, the file created read-only (0o444 less the umask): a Python file
        # object would cost several system calls more (fstat, isatty, lseek, fchmod), each a
        # turn of the GIL between the request threads.
        with self._lock(fcntl.LOCK_SH):
            fd = _io(lambda: os.open(name, _CREATE, 0o444))
            file = _Descriptor(fd)  # kept open: holds the flock
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        digest, strong, size = hashlib.sha1(), hashlib.sha256(), 0
        head: list[bytes] = []
        try:
            while chunk := stream.read(CHUNK_SIZE):
                digest.update(chunk)
                strong.update(chunk)
                if size < keep:
                    head.append(chunk[: keep - size])
                size += len(chunk)
                _io(lambda: _write_all(fd, chunk))
            _io(lambda: os.fsync(fd))
            _fsync_dir(folder)
        except BaseException:
            _remove(Path(name))
            file.close()
            raise
        path = Path(name)
        return Staged(digest.hexdigest(), size, strong.hexdigest(), key, path, file, b"".join(head))

    def release(self, staged: Staged) -> None:
        """The writer is done with a file that a committed row names: let go of its flock."""
        staged._file.close()

    def discard(self, staged: Staged) -> None:
        """Delete a staged file that no row names (a refused or failed submission)."""
        _remove(staged.path)
        staged._file.close()

    # --- reading and deleting ------------------------------------------------------------

    def open(self, key: str) -> BinaryIO:
        """A new binary file object over a stored object's bytes."""
        return open(self._path(key), "rb")

    def delete(self, key: str) -> None:
        """Delete an object no row names any more; a failure is logged (`collect` retries)."""
        path = self._path(key)
        try:
            _remove(path)
        except OSError as exc:
            log.warning("document store %s: object %s left behind: %s", self.root, key, exc)

    # --- maintenance ---------------------------------------------------------------------

    def collect(self, named: Callable[[list[str]], set[str]]) -> int:
        """Delete the objects that no living writer holds and no row names; how many.

        `named(keys)` answers which of `keys` a row of the index names.
        """
        removed = 0
        with self._lock(fcntl.LOCK_EX), contextlib.ExitStack() as held:
            candidates: dict[str, Path] = {}
            for path in sorted((self.root / "objects").glob("*/*")):
                key = f"{path.parent.name}/{path.name}"
                if not _KEY.fullmatch(key):
                    continue
                if held.enter_context(_try_flock(path)):
                    candidates[key] = path
            keys = list(candidates)
            kept: set[str] = set()
            for start in range(0, len(keys), 500):
                kept |= named(keys[start : start + 500])
            for key, path in candidates.items():
                if key not in kept:
                    _remove(path)
                    removed += 1
        legacy_tmp = self.root / "tmp"
        if legacy_tmp.is_dir():  # the staging folder before revision 0005
            for path in legacy_tmp.iterdir():
                _remove(path)
            with contextlib.suppress(OSError):
                legacy_tmp.rmdir()
            with contextlib.suppress(FileNotFoundError):
                (self.root / "tmp.lock").unlink()
        if removed:
            log.warning(
                "document store %s: removed %d objects no document names", self.root, removed
            )
        return removed

    def legacy_index(self) -> Iterator[StoredDocument]:
        """The entries of the JSON index that stores kept before revision 0005."""
        for path in sorted((self.root / "index").glob("*/*.json")):
            try:
                entry = json.loads(path.read_bytes())
                sha256 = entry["sha256"]
                yield StoredDocument(
                    entry["unique_id"],
                    entry["hash"],
                    int(entry["size"]),
                    entry["mime_type"],
                    sha256,
                    f"{sha256[:2]}/{sha256[2:]}",
                )
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise StoreError(f"index entry {path} unreadable: {exc}") from exc

    def retire_legacy_index(self) -> None:
        """Keep the imported JSON index aside (`index.imported`), never read again."""
        index = self.root / "index"
        if index.is_dir():
            _io(lambda: index.rename(self.root / "index.imported"))

    @contextlib.contextmanager
    def _lock(self, mode: int) -> Iterator[None]:
        # One descriptor per thread: flock belongs to an open file description, so two
        # threads sharing one would share (and release) each other's lock.
        lock = getattr(self._threads, "lock", None)
        if lock is None:
            lock = self._threads.lock = open(self.root / "objects.lock", "rb")  # noqa: SIM115
        fcntl.flock(lock.fileno(), mode)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise ValueError(f"not an object key: {key!r}")
        return self.root / "objects" / key


@contextlib.contextmanager
def _try_flock(path: Path) -> Iterator[bool]:
    """True (and the flock held until exit) when no living writer holds this file."""
    try:
        file = open(path, "rb")  # noqa: SIM115
    except FileNotFoundError:
        yield False
        return
    with file:
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC


class _Descriptor:
    """An open file descriptor that `close` (or the garbage collector) closes once."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def close(self) -> None:
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)

    def __del__(self) -> None:
        self.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _io(action: Callable[[], T]) -> T:
    try:
        return action()
    except OSError as exc:
        raise StoreError(str(exc)) from exc


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _fsync_dir(path: Path | str) -> None:
    fd = _io(lambda: os.open(path, os.O_RDONLY | os.O_DIRECTORY))
    try:
        _io(lambda: os.fsync(fd))
    finally:
        os.close(fd)


if TYPE_CHECKING:
    _implements: type[DocumentStore] = FilesystemStore

__all__ = [
    "CHUNK_SIZE",
    "DocumentStore",
    "FilesystemStore",
    "Staged",
    "StoreError",
    "StoredDocument",
]
