"""The Document Repository: stores document bytes, forwards their metadata, serves them back.

Public API::

    settings = RepositorySettings(repository_unique_id="1.2.3.4", data_folder=Path("xds-data"))
    repository = open_repository(settings, registry, engine)   # engine: where its index lives
    reconcile_repository(repository)                            # once per start
    response = repository.provide_and_register(metadata, {"Document01": stream})   # ITI-41
    result = repository.retrieve([DocumentRequest("1.2.3.4", "1.2.3.4.5.6")])      # ITI-43
    response = repository.remove([DocumentRequest("1.2.3.4", "1.2.3.4.5.6")])      # ITI-86
"""

from sqlalchemy import Engine

from repository.actor import Repository
from repository.api import (
    DocumentRepository,
    DocumentRequest,
    IndexingRegistry,
    RegistryClient,
    RegistryLookup,
    RetrievedDocument,
    RetrieveResult,
)
from repository.index import DocumentIndex
from repository.reconcile import Reconciliation, reconcile
from repository.settings import RepositorySettings
from repository.store import (
    DocumentStore,
    FilesystemStore,
    Staged,
    StoredDocument,
    StoreError,
)


def open_repository(
    settings: RepositorySettings, registry: RegistryClient, engine: Engine
) -> Repository:
    """A `Repository` on a `FilesystemStore` in `settings.data_folder` (created if needed).

    `engine` holds its index (`repository_documents`, migrated): the registry's own database
    when `registry` is the co-located `registry.Registry`, else a database of its own.
    """
    index = DocumentIndex(engine, settings.repository_unique_id)
    return Repository(FilesystemStore(settings.data_folder), index, registry, settings)


def reconcile_repository(repository: Repository) -> Reconciliation:
    """`reconcile` a repository opened by `open_repository` (once per start)."""
    assert isinstance(repository.store, FilesystemStore)
    return reconcile(
        repository.store,
        repository.index,
        repository.registry,
        co_located=isinstance(repository.registry, IndexingRegistry),
    )


__all__ = [
    "DocumentIndex",
    "DocumentRepository",
    "DocumentRequest",
    "DocumentStore",
    "FilesystemStore",
    "IndexingRegistry",
    "Reconciliation",
    "RegistryClient",
    "RegistryLookup",
    "Repository",
    "RepositorySettings",
    "RetrieveResult",
    "RetrievedDocument",
    "Staged",
    "StoreError",
    "StoredDocument",
    "open_repository",
    "reconcile_repository",
]
