"""What a repository checks when it starts: its index and its files agree.

1. A JSON index left by a store from before revision 0005 is imported into the table.
2. Rows still `pending` (a repository serving alone that crashed, or got no answer, while
   the registry was asked) are settled by asking the registry which of them it holds:
   registered with the same hash, for this repository, is served from now on; not
   registered is forgotten (its file goes in step 3); no answer leaves them for the next
   start.
3. Files that no row names (a crash before the commit, a refused submission whose
   deletion was cut short) are deleted (`FilesystemStore.collect`).
4. With the registry in the same database: documents it holds for this repository with
   no stored row are reported, loudly. The commit order makes this impossible for
   submissions; it remains possible when an operator removed bytes (ITI-86) and kept the
   metadata, or restored one without the other.

Run it once per start, before serving (`xds serve` runs it in its master, before the
workers fork); it is safe beside live writers all the same (see `repository.store`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from repository.api import RegistryClient, RegistryLookup
from repository.index import DocumentIndex
from repository.store import FilesystemStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reconciliation:
    """What `reconcile` found and did."""

    imported: int = 0
    confirmed: tuple[str, ...] = ()
    forgotten: tuple[str, ...] = ()
    unsettled: tuple[str, ...] = ()
    collected: int = 0
    without_bytes: tuple[str, ...] = ()


def reconcile(
    store: FilesystemStore,
    index: DocumentIndex,
    registry: RegistryClient | None = None,
    *,
    co_located: bool = False,
) -> Reconciliation:
    """Bring index and files into agreement; see the module docstring for the steps."""
    imported = index.import_entries(store.legacy_index())
    store.retire_legacy_index()
    if imported:
        log.warning("document store %s: %d entries imported from index/", store.root, imported)
    confirmed, forgotten, unsettled = _settle_pending(index, registry)
    collected = store.collect(index.named)
    missing: list[str] = index.registered_without_bytes() if co_located else []
    if missing:
        log.error(
            "repository %s: %d documents registered without their bytes: %s",
            index.repository_unique_id,
            len(missing),
            ", ".join(missing[:20]) + (" …" if len(missing) > 20 else ""),
        )
    return Reconciliation(
        imported, tuple(confirmed), tuple(forgotten), tuple(unsettled), collected, tuple(missing)
    )


def _settle_pending(
    index: DocumentIndex, registry: RegistryClient | None
) -> tuple[list[str], list[str], list[str]]:
    pending = index.pending()
    if not pending:
        return [], [], []
    ids = [entry.unique_id for entry in pending]
    if not isinstance(registry, RegistryLookup):
        log.warning("repository: %d pending documents, no registry to ask", len(pending))
        return [], [], ids
    try:
        registered = registry.registered_documents(ids)
    except Exception as exc:  # unreachable, refused: ask again at the next start
        log.warning("repository: %d pending documents unsettled: %s", len(pending), exc)
        return [], [], ids
    confirmed, forgotten = [], []
    for entry in pending:
        hash_, repository = registered.get(entry.unique_id, ("", ""))
        if hash_.lower() == entry.hash and repository == index.repository_unique_id:
            confirmed.append(entry.unique_id)
        else:
            forgotten.append(entry.unique_id)
    index.confirm(confirmed)
    index.forget(forgotten)  # their files, named by no row now, go with `collect` next
    log.warning(
        "repository: pending documents settled: %d registered, %d not",
        len(confirmed),
        len(forgotten),
    )
    return confirmed, forgotten, []


__all__ = ["Reconciliation", "reconcile"]
