"""The document store: content-addressed files, written atomically, found by document uniqueId.

Layout under the data folder::

    objects/ab/cdef…            the bytes, named by their sha-256 (read-only files)
    index/12/3456….json         one per document uniqueId (named by the sha-256 of the uniqueId):
                                {"unique_id", "hash", "sha256", "size", "mime_type"}
    tmp/<random>.part           an upload being staged, flock-ed by its writer while it lives
    tmp/<random>.idx            an index entry being written during a commit
    tmp.lock                    held shared by writers creating or committing, exclusive by recovery

Why files for the index: the index only ever needs "create once, read many", which the
filesystem gives atomically with `link(2)` (fails with EEXIST, never overwrites), so a second
commit of the same uniqueId cannot replace the first even across processes, and the store
needs no database of its own next to the objects it describes. An entry is written in full
to a temp file, fsync-ed, then linked into place: a reader sees no entry or a complete one.

Objects are named by sha-256, not by the sha-1 that XDS metadata carries: sha-1 collisions
can be crafted, and deduplication must never serve one patient's bytes for another's.

Atomicity: bytes are streamed in chunks into `tmp/` (same filesystem), hashed on the way,
fsync-ed; `commit` renames them to their object path, fsyncs the directory, then links the
index entry. Nothing is visible to `lookup` before the index link, so a crash at any point
leaves at worst an unreferenced object (invisible, removed by `collect_garbage`) or a temp
file. Temp files of a crashed process are removed when a store starts (`recover`): a temp
file whose flock can be taken has no living writer. Writers create and lock their temp file
under a shared lock on `tmp.lock` and recovery holds it exclusively, so recovery never sees a
live upload between its creation and its lock (several worker processes share a folder).

Removal (ITI-86, `remove`) runs under the exclusive `tmp.lock`, so no commit is halfway
through: it unlinks the index entries first (a reader then sees no entry, and an open
stream keeps its bytes), then each object that no remaining entry names. Objects are
shared by every uniqueId with the same bytes, so which ones are still named is read from
the whole index, once per call: O(documents stored), acceptable for an operator's rare
action, and what keeps the store free of a second, reference-counting structure. A crash
between the two steps leaves unreferenced objects, which `collect_garbage` removes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

CHUNK_SIZE = 256 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")


class StoreError(Exception):
    """The store could not write or read its own files (disk full, permissions…)."""


class UniqueIdConflict(StoreError):
    """A document uniqueId is already stored with other content."""


@dataclass(frozen=True)
class StoredDocument:
    """An index entry: what ITI-43 needs to find and describe a document."""

    unique_id: str
    hash: str  # sha-1, as XDS metadata carries it
    size: int
    mime_type: str
    sha256: str  # names the stored object


@dataclass(frozen=True)
class Staged:
    """Bytes received and fsync-ed under a temporary name, not yet visible."""

    hash: str
    size: int
    path: Path
    sha256: str
    _file: BinaryIO = field(repr=False, compare=False)


@dataclass(frozen=True)
class Removal:
    """What `remove` did: entries removed, uniqueIds it did not hold, per-id failures."""

    removed: tuple[StoredDocument, ...] = ()
    unknown: tuple[str, ...] = ()
    failed: dict[str, str] = field(default_factory=dict)


class DocumentStore(Protocol):
    """Where the repository keeps document bytes; `FilesystemStore` is the implementation."""

    def stage(self, stream: BinaryIO) -> Staged: ...

    def commit(self, staged: Staged, unique_id: str, mime_type: str) -> StoredDocument: ...

    def discard(self, staged: Staged) -> None: ...

    def lookup(self, unique_id: str) -> StoredDocument | None: ...

    def open(self, document: StoredDocument) -> BinaryIO: ...

    def remove(self, unique_ids: Iterable[str]) -> Removal: ...


class FilesystemStore:
    """`DocumentStore` on a local folder (see the module docstring for layout and atomicity)."""

    def __init__(self, root: Path | str, *, recover: bool = True) -> None:
        self.root = Path(root)
        for sub in ("objects", "index", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "tmp.lock").touch(exist_ok=True)
        if recover:
            self.recover()

    # --- writing -------------------------------------------------------------------------

    def stage(self, stream: BinaryIO) -> Staged:
        """Copy `stream` to a temp file chunk by chunk, computing sha-1 and size.

        An exception raised by the stream propagates unchanged after the temp file is removed;
        the store's own I/O failures raise `StoreError`.
        """
        path = self.root / "tmp" / f"{uuid.uuid4().hex}.part"
        with self._tmp_lock(fcntl.LOCK_SH):
            file = _io(lambda: open(path, "xb"))  # noqa: SIM115  (kept open: holds the flock)
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        digest, strong, size = hashlib.sha1(), hashlib.sha256(), 0
        try:
            while chunk := stream.read(CHUNK_SIZE):
                digest.update(chunk)
                strong.update(chunk)
                size += len(chunk)
                _io(lambda: file.write(chunk))
            _io(file.flush)
            _io(lambda: os.fsync(file.fileno()))
        except BaseException:
            _remove(path)
            file.close()
            raise
        return Staged(digest.hexdigest(), size, path, strong.hexdigest(), file)

    def commit(self, staged: Staged, unique_id: str, mime_type: str) -> StoredDocument:
        """Make staged bytes retrievable under `unique_id`; idempotent for the same content.

        Raises `UniqueIdConflict` when `unique_id` is stored with another hash.
        """
        entry = StoredDocument(unique_id, staged.hash, staged.size, mime_type, staged.sha256)
        try:
            with self._tmp_lock(fcntl.LOCK_SH):
                existing = self.lookup(unique_id)
                if existing is None:
                    self._place_object(staged)
                    existing = self._link_index(entry)
        finally:
            self.discard(staged)
        if existing.sha256 != entry.sha256:
            raise UniqueIdConflict(f"uniqueId {unique_id} is stored with hash {existing.hash}")
        return existing

    def discard(self, staged: Staged) -> None:
        """Forget staged bytes (nothing happens if they were committed or discarded already)."""
        _remove(staged.path)
        staged._file.close()

    def _place_object(self, staged: Staged) -> None:
        target = self._object_path(staged.sha256)
        if target.exists():
            if target.stat().st_size != staged.size:
                raise StoreError(f"object {staged.sha256} exists with another size")
            return  # same content already stored (dedup); `discard` drops the temp file
        _io(lambda: target.parent.mkdir(exist_ok=True))
        _io(lambda: os.fchmod(staged._file.fileno(), 0o444))
        _io(lambda: os.rename(staged.path, target))
        _fsync_dir(target.parent)

    def _link_index(self, entry: StoredDocument) -> StoredDocument:
        """Publish an index entry, or return the one that got there first."""
        target = self._index_path(entry.unique_id)
        _io(lambda: target.parent.mkdir(exist_ok=True))
        temp = self.root / "tmp" / f"{uuid.uuid4().hex}.idx"
        body = json.dumps(entry.__dict__, sort_keys=True).encode()
        try:
            with open(temp, "xb") as file:
                file.write(body)
                file.flush()
                os.fsync(file.fileno())
            try:
                os.link(temp, target)
            except FileExistsError:
                found = self.lookup(entry.unique_id)
                if found is None:
                    raise StoreError(f"index entry of {entry.unique_id} unreadable") from None
                return found
            _fsync_dir(target.parent)
        except OSError as exc:
            raise StoreError(f"cannot write index entry of {entry.unique_id}: {exc}") from exc
        finally:
            _remove(temp)
        return entry

    # --- reading -------------------------------------------------------------------------

    def lookup(self, unique_id: str) -> StoredDocument | None:
        """The index entry of a document uniqueId, or None when this store does not hold it."""
        try:
            entry = StoredDocument(**json.loads(self._index_path(unique_id).read_bytes()))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as exc:
            raise StoreError(f"index entry of {unique_id} unreadable: {exc}") from exc
        return entry if entry.unique_id == unique_id else None

    def open(self, document: StoredDocument) -> BinaryIO:
        """A new binary file object over a stored document's bytes."""
        if not _SHA256.fullmatch(document.sha256):
            raise ValueError(f"not a sha-256: {document.sha256!r}")
        return open(self._object_path(document.sha256), "rb")

    # --- removing ------------------------------------------------------------------------

    def remove(self, unique_ids: Iterable[str]) -> Removal:
        """Make these documents unretrievable; delete each object no other uniqueId names.

        Never raises for one document: an index entry that cannot be read or unlinked is
        reported in `failed` and the others go on. An object that cannot be deleted once
        its entries are gone is only logged: it is invisible, and `collect_garbage` retries.
        """
        removed: list[StoredDocument] = []
        unknown: list[str] = []
        failed: dict[str, str] = {}
        with self._tmp_lock(fcntl.LOCK_EX):
            for unique_id in dict.fromkeys(unique_ids):
                try:
                    entry = self.lookup(unique_id)
                    if entry is None:
                        unknown.append(unique_id)
                        continue
                    path = self._index_path(unique_id)
                    _io(path.unlink)
                    _fsync_dir(path.parent)
                except StoreError as exc:
                    failed[unique_id] = str(exc)
                    continue
                removed.append(entry)
            candidates = {entry.sha256 for entry in removed}
            try:
                orphans = candidates - self._referenced() if candidates else set()
            except StoreError as exc:
                log.warning("document store %s: no object deleted: %s", self.root, exc)
                orphans = set()
            for sha256 in sorted(orphans):
                self._delete_object(sha256)
        return Removal(tuple(removed), tuple(unknown), failed)

    def _referenced(self) -> set[str]:
        """The sha-256 of every object an index entry names (call under the exclusive lock)."""
        referenced = set()
        for path in (self.root / "index").glob("*/*.json"):
            try:
                referenced.add(json.loads(path.read_bytes())["sha256"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                # Unreadable: it might name anything, so nothing may be deleted on its account.
                raise StoreError(f"index entry {path} unreadable: {exc}") from exc
        return referenced

    def _delete_object(self, sha256: str) -> None:
        path = self._object_path(sha256)
        try:
            _remove(path)
            _fsync_dir(path.parent)
        except (OSError, StoreError) as exc:
            log.warning("document store %s: object %s left behind: %s", self.root, sha256, exc)

    # --- maintenance ---------------------------------------------------------------------

    def recover(self) -> int:
        """Remove temp files left by crashed writers; the number removed."""
        removed = 0
        with self._tmp_lock(fcntl.LOCK_EX):
            for path in (self.root / "tmp").iterdir():
                if path.suffix == ".part" and not _abandoned(path):
                    continue
                _remove(path)
                removed += 1
        if removed:
            log.warning("document store %s: removed %d leftover temp files", self.root, removed)
        return removed

    def collect_garbage(self) -> int:
        """Remove objects no index entry refers to (left by a crash inside `commit`)."""
        removed = 0
        with self._tmp_lock(fcntl.LOCK_EX):
            referenced = {
                json.loads(path.read_bytes())["sha256"]
                for path in (self.root / "index").glob("*/*.json")
            }
            for path in (self.root / "objects").glob("*/*"):
                if path.parent.name + path.name not in referenced:
                    _remove(path)
                    removed += 1
        return removed

    @contextlib.contextmanager
    def _tmp_lock(self, mode: int) -> Iterator[None]:
        with open(self.root / "tmp.lock", "rb") as lock:
            fcntl.flock(lock.fileno(), mode)
            yield

    def _object_path(self, hash_: str) -> Path:
        return self.root / "objects" / hash_[:2] / hash_[2:]

    def _index_path(self, unique_id: str) -> Path:
        key = hashlib.sha256(unique_id.encode()).hexdigest()
        return self.root / "index" / key[:2] / f"{key[2:]}.json"


def _abandoned(path: Path) -> bool:
    """True when no living process holds the flock of this temp file."""
    try:
        with open(path, "rb") as file:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except FileNotFoundError:
        return False
    return True


def _io(action: Callable[[], T]) -> T:
    try:
        return action()
    except OSError as exc:
        raise StoreError(str(exc)) from exc


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _fsync_dir(path: Path) -> None:
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
    "Removal",
    "Staged",
    "StoreError",
    "StoredDocument",
    "UniqueIdConflict",
]
