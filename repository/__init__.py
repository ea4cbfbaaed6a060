"""The Document Repository: stores document bytes, forwards their metadata, serves them back.

Public API::

    settings = RepositorySettings(repository_unique_id="1.2.3.4", data_folder=Path("xds-data"))
    repository = open_repository(settings, registry)    # registry: any RegistryClient
    response = repository.provide_and_register(metadata, {"Document01": stream})   # ITI-41
    result = repository.retrieve([DocumentRequest("1.2.3.4", "1.2.3.4.5.6")])      # ITI-43
    response = repository.remove([DocumentRequest("1.2.3.4", "1.2.3.4.5.6")])      # ITI-86
"""

from repository.actor import Repository
from repository.api import (
    DocumentRepository,
    DocumentRequest,
    RegistryClient,
    RetrievedDocument,
    RetrieveResult,
)
from repository.settings import RepositorySettings
from repository.store import (
    DocumentStore,
    FilesystemStore,
    Removal,
    Staged,
    StoredDocument,
    StoreError,
    UniqueIdConflict,
)


def open_repository(settings: RepositorySettings, registry: RegistryClient) -> Repository:
    """A `Repository` on a `FilesystemStore` in `settings.data_folder` (created if needed)."""
    return Repository(FilesystemStore(settings.data_folder), registry, settings)


__all__ = [
    "DocumentRepository",
    "DocumentRequest",
    "DocumentStore",
    "FilesystemStore",
    "RegistryClient",
    "Removal",
    "Repository",
    "RepositorySettings",
    "RetrieveResult",
    "RetrievedDocument",
    "Staged",
    "StoreError",
    "StoredDocument",
    "UniqueIdConflict",
    "open_repository",
]
