"""The Document Repository's in-process interface: what `soap/` hands it and gets back.

The wire layer turns an ITI-41 request into (Metadata, document id -> readable binary
stream) and an ITI-43 or ITI-86 request into `DocumentRequest`s; the repository answers with model
objects and files to stream from. Nothing here knows XML, MTOM or HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, runtime_checkable

from ebrim.errors import XDSError
from ebrim.model import Metadata, RegistryResponse
from ebrim.xdsb import DocumentLocator

if TYPE_CHECKING:
    from sqlalchemy import Table

    from pki.assertion import Requester


class RegistryClient(Protocol):
    """Where the repository forwards ITI-42: `registry.Registry` in process, or a SOAP client."""

    def register(
        self, metadata: Metadata, *, requester: Requester | None = None
    ) -> RegistryResponse: ...


@runtime_checkable
class IndexingRegistry(Protocol):
    """A registry in the repository's own database (`registry.Registry` beside it).

    It writes the repository's index rows in the registration's transaction, and takes
    metadata the repository has validated already (`findings`: the warnings).
    """

    def register_stored(
        self,
        metadata: Metadata,
        index_rows: Mapping[Table, Sequence[Mapping[str, Any]]],
        *,
        findings: Sequence[XDSError] = (),
        requester: Requester | None = None,
        unindexed: Sequence[tuple[str, str]] = (),
    ) -> RegistryResponse:
        """Raises `registry.IndexCheckNeeded`, having written nothing, when the repository
        must look `unindexed` up in its index itself and call again without them."""
        ...


@runtime_checkable
class RegistryLookup(Protocol):
    """Which documents a registry holds (how a repository settles its pending rows)."""

    def registered_documents(self, unique_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """uniqueId -> (sha-1 hash, repositoryUniqueId) of the registered ones among these."""
        ...


# One DocumentRequest of an ITI-43 or ITI-86 request: the wire's own dataclass, named
# here as the actor knows it, so that no layer converts one into its copy.
DocumentRequest = DocumentLocator


@dataclass(frozen=True)
class RetrievedDocument:
    """A document found for a request: its metadata for the response and a way to read it."""

    request: DocumentRequest
    mime_type: str
    size: int
    open: Callable[[], BinaryIO]  # a fresh binary stream over the stored bytes, read in chunks


@dataclass(frozen=True)
class RetrieveResult:
    """ITI-43 outcome: Success, PartialSuccess (some unknown) or Failure, and what was found."""

    response: RegistryResponse
    documents: tuple[RetrievedDocument, ...] = ()


class DocumentRepository(Protocol):
    """The repository actor as `soap/` sees it."""

    repository_unique_id: str

    def provide_and_register(
        self,
        metadata: Metadata,
        documents: Mapping[str, BinaryIO],
        *,
        requester: Requester | None = None,
    ) -> RegistryResponse:
        """ITI-41: `documents` maps each DocumentEntry id of `metadata` to its bytes.

        `requester` (the verified assertion's) travels with the ITI-42 forward to a
        co-located registry, for its audit trail.
        """
        ...

    def retrieve(
        self,
        requests: Sequence[DocumentRequest],
        *,
        visible: Callable[[str], bool] | None = None,
    ) -> RetrieveResult:
        """ITI-43: every requested document this repository holds, in request order.

        A document for which `visible(unique_id)` is false is answered as an unknown one.
        """
        ...

    def remove(self, requests: Sequence[DocumentRequest]) -> RegistryResponse:
        """ITI-86: delete the stored bytes of each requested document (PartialSuccess allowed)."""
        ...
