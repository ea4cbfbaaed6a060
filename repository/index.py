"""The repository's index: document uniqueId -> stored object, a table in a database.

Rows live in `repository_documents` (revision 0005), keyed by (repositoryUniqueId,
uniqueId). Beside its registry, the repository hands its rows to the registry, which
writes them in the registration's own transaction (`Registry.register_stored`): they are
`stored` from the start, and a document is registered exactly when its bytes can be
found. A repository serving alone keeps the table in a database of its own and writes its
rows `pending` before it asks the registry, `stored` once the registry accepted; a row
still pending after a crash is settled at the next start by asking the registry
(`repository.reconcile`). Only `stored` rows are served.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Engine, and_, delete, insert, select, update

from registry.schema import documents, repository_documents
from registry.storage import autocommit_engine, write_transaction
from repository.store import StoredDocument

STORED, PENDING = "stored", "pending"
_COLUMNS = ("unique_id", "hash", "size", "mime_type", "sha256", "object_key")
_LOOKUP = (
    f"SELECT {', '.join(_COLUMNS)} FROM repository_documents"
    " WHERE repository_unique_id = %s AND unique_id = %s AND state IN (%s, %s)"
)
_LOOKUP_QMARK = _LOOKUP.replace("%s", "?")


class DocumentIndex:
    """The rows of one repository (`repository_unique_id`) in `engine`'s database."""

    def __init__(self, engine: Engine, repository_unique_id: str) -> None:
        self.engine = engine
        self.repository_unique_id = repository_unique_id
        t = repository_documents.c
        self._mine = t.repository_unique_id == repository_unique_id

    def row(self, document: StoredDocument, state: str = STORED) -> dict[str, Any]:
        """The table row of `document` (what the co-located registry inserts)."""
        values = {name: getattr(document, name) for name in _COLUMNS}
        return {**values, "repository_unique_id": self.repository_unique_id, "state": state}

    def lookup(self, unique_id: str, *, pending: bool = False) -> StoredDocument | None:
        """The stored document with this uniqueId (or a pending one too, when asked).

        On every ITI-41 and ITI-43 path: one constant statement on the driver's connection
        (in autocommit on PostgreSQL: one round trip), without SQLAlchemy's execution layer.
        """
        states = (STORED, PENDING if pending else STORED)
        pooled = autocommit_engine(self.engine).raw_connection()
        try:
            cursor = pooled.cursor()
            try:
                sql = _LOOKUP_QMARK if self.engine.dialect.paramstyle == "qmark" else _LOOKUP
                cursor.execute(sql, (self.repository_unique_id, unique_id, *states))
                found = cursor.fetchone()
            finally:
                cursor.close()
        finally:
            pooled.close()
        return StoredDocument(*found) if found is not None else None

    def named(self, keys: Sequence[str]) -> set[str]:
        """The object keys among `keys` that some row names (stored or pending)."""
        if not keys:
            return set()
        t = repository_documents.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.object_key).where(t.object_key.in_(list(keys))))
            return {key for (key,) in rows}

    # --- a repository serving alone --------------------------------------------------------

    def add_pending(self, entries: Sequence[StoredDocument]) -> None:
        """Rows for documents about to be registered, not served until `confirm`."""
        if entries:
            with write_transaction(self.engine) as conn:
                conn.execute(insert(repository_documents), [self.row(e, PENDING) for e in entries])

    def confirm(self, unique_ids: Iterable[str]) -> None:
        """The registry accepted these documents: serve them."""
        self._set_state(unique_ids, STORED)

    def forget(self, unique_ids: Iterable[str]) -> None:
        """Drop pending rows (a refused submission's, or ones the registry does not hold)."""
        wanted = list(unique_ids)
        if wanted:
            t = repository_documents.c
            with write_transaction(self.engine) as conn:
                conn.execute(
                    delete(repository_documents).where(
                        self._mine, t.unique_id.in_(wanted), t.state == PENDING
                    )
                )

    def pending(self) -> list[StoredDocument]:
        t = repository_documents.c
        query = select(*(t[name] for name in _COLUMNS)).where(self._mine, t.state == PENDING)
        with self.engine.connect() as conn:
            return [StoredDocument(*row) for row in conn.execute(query.order_by(t.unique_id))]

    def _set_state(self, unique_ids: Iterable[str], state: str) -> None:
        wanted = list(unique_ids)
        if wanted:
            t = repository_documents.c
            with write_transaction(self.engine) as conn:
                conn.execute(
                    update(repository_documents)
                    .where(self._mine, t.unique_id.in_(wanted))
                    .values(state=state)
                )

    # --- ITI-86 ----------------------------------------------------------------------------

    def remove(self, unique_ids: Sequence[str]) -> tuple[list[StoredDocument], set[str]]:
        """Delete the stored rows of these documents, in one transaction.

        Returns the removed documents and the object keys no row names any more (the
        caller deletes those files after this commit; a crash in between leaves files
        that `FilesystemStore.collect` removes).
        """
        t = repository_documents.c
        columns = [t[name] for name in _COLUMNS]
        with write_transaction(self.engine) as conn:
            found = [
                StoredDocument(*row)
                for row in conn.execute(
                    select(*columns).where(
                        self._mine, t.unique_id.in_(list(unique_ids)), t.state == STORED
                    )
                )
            ]
            if not found:
                return [], set()
            conn.execute(
                delete(repository_documents).where(
                    self._mine, t.unique_id.in_([d.unique_id for d in found])
                )
            )
            keys = {d.object_key for d in found}
            still = {k for (k,) in conn.execute(select(t.object_key).where(t.object_key.in_(keys)))}
        return found, keys - still

    # --- start-up checks -------------------------------------------------------------------

    def import_entries(self, entries: Iterable[StoredDocument]) -> int:
        """Rows for the entries of a pre-0005 JSON index (those not imported already)."""
        rows = [self.row(e) for e in entries]
        if not rows:
            return 0
        t = repository_documents.c
        with write_transaction(self.engine) as conn:
            known = {
                uid
                for (uid,) in conn.execute(
                    select(t.unique_id).where(
                        self._mine, t.unique_id.in_([r["unique_id"] for r in rows])
                    )
                )
            }
            new = [r for r in rows if r["unique_id"] not in known]
            if new:
                conn.execute(insert(repository_documents), new)
        return len(new)

    def registered_without_bytes(self) -> list[str]:
        """uniqueIds the co-located registry holds for this repository with no stored row."""
        t = repository_documents.c
        d = documents.c
        query = (
            select(d.unique_id)
            .distinct()
            .select_from(
                documents.outerjoin(
                    repository_documents,
                    and_(self._mine, t.unique_id == d.unique_id, t.state == STORED),
                )
            )
            .where(d.repository_unique_id == self.repository_unique_id, t.unique_id.is_(None))
            .order_by(d.unique_id)
        )
        with self.engine.connect() as conn:
            return [uid for (uid,) in conn.execute(query)]


__all__ = ["PENDING", "STORED", "DocumentIndex"]
