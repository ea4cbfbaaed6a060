"""Errors as data, and the few exceptions of the metadata layer.

Exception tree::

    EbrimError
    ├── XMLRejected            outside XML the hardened parser refused
    │   ├── MalformedXML       not well-formed, wrong encoding, nesting too deep
    │   ├── ForbiddenXML       DTD, entity declaration or processing that could reach out
    │   └── XMLTooLarge        over the configured byte limit
    └── MetadataRejected       well-formed XML that is not the expected ebXML message;
        │                      carries the XDSErrors to answer with
        └── QueryRejected      a stored-query request that cannot be run (unknown query,
                               missing or extra parameters, malformed values)

Rule violations found by `ebrim.validate` are not raised: they are returned as
`XDSError` values, which the wire layer renders into a RegistryErrorList.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ebrim.vocabulary import Severity


class ErrorCode(StrEnum):
    """The standard XDS error codes (ITI TF-3 Table 4.2.4.1-2); never invent others."""

    XDSRegistryError = "XDSRegistryError"
    XDSRegistryMetadataError = "XDSRegistryMetadataError"
    XDSRepositoryError = "XDSRepositoryError"
    XDSRepositoryMetadataError = "XDSRepositoryMetadataError"
    XDSUnknownPatientId = "XDSUnknownPatientId"
    XDSPatientIdDoesNotMatch = "XDSPatientIdDoesNotMatch"
    XDSDuplicateUniqueIdInRegistry = "XDSDuplicateUniqueIdInRegistry"
    XDSRegistryDuplicateUniqueIdInMessage = "XDSRegistryDuplicateUniqueIdInMessage"
    XDSRepositoryDuplicateUniqueIdInMessage = "XDSRepositoryDuplicateUniqueIdInMessage"
    XDSNonIdenticalHash = "XDSNonIdenticalHash"
    XDSNonIdenticalSize = "XDSNonIdenticalSize"
    XDSMissingDocument = "XDSMissingDocument"
    XDSMissingDocumentMetadata = "XDSMissingDocumentMetadata"
    XDSDocumentUniqueIdError = "XDSDocumentUniqueIdError"
    XDSUnknownRepositoryId = "XDSUnknownRepositoryId"
    XDSUnknownStoredQuery = "XDSUnknownStoredQuery"
    XDSStoredQueryMissingParam = "XDSStoredQueryMissingParam"
    XDSStoredQueryParamNumber = "XDSStoredQueryParamNumber"
    XDSTooManyResults = "XDSTooManyResults"
    XDSResultNotSinglePatient = "XDSResultNotSinglePatient"
    XDSRegistryDeprecatedDocumentError = "XDSRegistryDeprecatedDocumentError"
    XDSMetadataUpdateError = "XDSMetadataUpdateError"
    XDSMetadataVersionError = "XDSMetadataVersionError"
    XDSRemoveDocumentsError = "XDSRemoveDocumentsError"
    UnresolvedReferenceException = "UnresolvedReferenceException"
    ReferencesExistException = "ReferencesExistException"
    UnmodifiableMetadataError = "UnmodifiableMetadataError"
    XDSRegistryNotAvailable = "XDSRegistryNotAvailable"  # a repository that cannot reach it
    XDSRegistryBusy = "XDSRegistryBusy"
    XDSRepositoryBusy = "XDSRepositoryBusy"
    XDSRegistryOutOfResources = "XDSRegistryOutOfResources"
    LocalPolicyRestrictionError = "LocalPolicyRestrictionError"


class Transaction(StrEnum):
    """The transactions whose requests carry metadata; each has its own generic error code."""

    ITI_41 = "ITI-41"
    ITI_42 = "ITI-42"
    ITI_18 = "ITI-18"
    ITI_57 = "ITI-57"
    ITI_62 = "ITI-62"
    ITI_86 = "ITI-86"

    @property
    def metadata_error(self) -> ErrorCode:
        """The code for a metadata fault that has no more specific code in this transaction."""
        return _GENERIC_CODES[self]


_GENERIC_CODES = {
    Transaction.ITI_41: ErrorCode.XDSRepositoryMetadataError,
    Transaction.ITI_42: ErrorCode.XDSRegistryMetadataError,
    Transaction.ITI_18: ErrorCode.XDSRegistryError,
    Transaction.ITI_57: ErrorCode.XDSMetadataUpdateError,
    Transaction.ITI_62: ErrorCode.XDSRegistryError,
    Transaction.ITI_86: ErrorCode.XDSRemoveDocumentsError,
}


@dataclass(frozen=True)
class XDSError:
    """One entry of a RegistryErrorList: the code, a readable message, and the offending object."""

    code: ErrorCode
    message: str
    location: str = ""
    severity: Severity = Severity.ERROR

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def __str__(self) -> str:
        where = f" [{self.location}]" if self.location else ""
        return f"{self.code.value}: {self.message}{where}"


class EbrimError(Exception):
    """Base of every exception raised by the metadata layer."""


class XMLRejected(EbrimError):
    """Outside XML that the hardened parser refused to turn into a tree."""


class MalformedXML(XMLRejected):
    pass


class ForbiddenXML(XMLRejected):
    pass


class XMLTooLarge(XMLRejected):
    pass


class MetadataRejected(EbrimError):
    """A well-formed document that is not the ebXML message expected; `errors` says why."""

    def __init__(self, errors: list[XDSError] | tuple[XDSError, ...]) -> None:
        self.errors: tuple[XDSError, ...] = tuple(errors)
        super().__init__("; ".join(str(e) for e in self.errors))


class QueryRejected(MetadataRejected):
    """An AdhocQueryRequest that cannot be run; `errors` carry XDSUnknownStoredQuery etc."""
