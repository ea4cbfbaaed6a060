"""The inventory of validation rules: one member per rule, with its error code and message.

Every finding `ebrim.validate` returns comes from this table, so that the codes live in
one place and tests can check that each rule is exercised. A rule whose code is
`GENERIC` answers with the transaction's own metadata error (ITI-42
XDSRegistryMetadataError, ITI-41 XDSRepositoryMetadataError…); `ByTransaction` picks
a code per transaction. Templates name the object with ``{object}`` (kind, id, and
uniqueId when known); the other fields are filled by the validator that reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from ebrim.errors import ErrorCode, Transaction, XDSError
from ebrim.vocabulary import Severity

GENERIC = None


@dataclass(frozen=True)
class ByTransaction:
    """A code that depends on the transaction, with a fallback for the others."""

    codes: tuple[tuple[Transaction, ErrorCode], ...]
    default: ErrorCode

    def for_transaction(self, transaction: Transaction) -> ErrorCode:
        return dict(self.codes).get(transaction, self.default)


_DUPLICATE_UNIQUE_ID = ByTransaction(
    ((Transaction.ITI_41, ErrorCode.XDSRepositoryDuplicateUniqueIdInMessage),),
    ErrorCode.XDSRegistryDuplicateUniqueIdInMessage,
)

CodeRule = ErrorCode | ByTransaction | None


class RuleBehaviour:
    """What every rule inventory's members share: (code, template, severity) and the errors.

    `Rule` below is the inventory of the submission rules; `ebrim.validate.update_messages`
    holds the Metadata Update (ITI-57) rules in the same shape.
    """

    code_rule: CodeRule
    template: str
    severity: Severity

    def __init__(self, code: CodeRule, template: str, severity: Severity = Severity.ERROR) -> None:
        self.code_rule = code
        self.template = template
        self.severity = severity

    def code(self, transaction: Transaction) -> ErrorCode:
        """The error code this rule answers with in `transaction`."""
        if isinstance(self.code_rule, ByTransaction):
            return self.code_rule.for_transaction(transaction)
        if self.code_rule is None:
            return transaction.metadata_error
        return self.code_rule

    def error(self, transaction: Transaction, location: str, /, **fields: Any) -> XDSError:
        """The XDSError for one violation of this rule."""
        return XDSError(
            code=self.code(transaction),
            message=self.template.format(**fields),
            location=location,
            severity=self.severity,
        )


class Rule(RuleBehaviour, Enum):
    """A rule: (code, message template, severity). ITI TF-3 4.2.3 and 4.3; TF-2b 3.41, 3.42."""

    # The submission as a whole (TF-2b 3.42.4.1.3).
    SUBMISSION_SET_COUNT = (GENERIC, "a submission holds exactly one SubmissionSet, found {count}")
    DUPLICATE_ENTRY_ID = (GENERIC, "{object}: id {id} is used by {count} objects of the message")
    INVALID_ENTRY_ID = (GENERIC, "{object}: id {id!r} is neither a symbolic id nor a urn:uuid")
    DUPLICATE_UNIQUE_ID = (
        _DUPLICATE_UNIQUE_ID,
        "{object}: uniqueId {unique_id} is also the uniqueId of {others}",
    )
    PATIENT_ID_MISMATCH = (
        ErrorCode.XDSPatientIdDoesNotMatch,
        "{object}: patientId {value} differs from the SubmissionSet's patientId {expected}",
    )
    LIMITED_METADATA = (
        GENERIC,
        "{object} is flagged limitedMetadata, which an XDS submission does not accept",
    )

    # Attributes of DocumentEntry, SubmissionSet and Folder (TF-3 Table 4.3.1-3).
    MISSING_ATTRIBUTE = (GENERIC, "{object}: required {attribute} is missing")
    ON_DEMAND_PROHIBITED = (GENERIC, "{object}: an on-demand entry must not carry {attribute}")
    UNKNOWN_OBJECT_TYPE = (
        GENERIC,
        "{object}: objectType {value} is neither a stable nor an on-demand DocumentEntry",
    )
    INCOMPLETE_CODE = (GENERIC, "{object}: {attribute} {value!r} lacks its {parts}")
    INVALID_TIME = (
        GENERIC,
        "{object}: {attribute} {value!r} is not a UTC HL7 DTM YYYY[MM[DD[hh[mm[ss]]]]]: {reason}",
    )
    SERVICE_TIMES_REVERSED = (
        GENERIC,
        "{object}: serviceStartTime {start} is later than serviceStopTime {stop}",
    )
    INVALID_OID = (GENERIC, "{object}: {attribute} {value!r} is not an OID: {reason}")
    INVALID_DOCUMENT_UNIQUE_ID = (
        GENERIC,
        "{object}: uniqueId {value!r} is not OID or OID^extension: {reason}",
    )
    INVALID_HASH = (GENERIC, "{object}: hash {value!r} is not a SHA-1 in 40 hexadecimal digits")
    INVALID_SIZE = (GENERIC, "{object}: size {value!r} is not a non-negative integer")
    INVALID_MIME_TYPE = (GENERIC, "{object}: mimeType {value!r} is not a type/subtype MIME type")
    INVALID_LANGUAGE_CODE = (GENERIC, "{object}: languageCode {value!r} is not an RFC 5646 tag")
    INVALID_CX = (
        GENERIC,
        "{object}: {attribute} {value!r} is not a CX id^^^&OID&ISO: {reason}",
    )
    INVALID_XCN = (GENERIC, "{object}: {attribute} {value!r} is not a valid XCN: {reason}")
    INVALID_XON = (GENERIC, "{object}: {attribute} {value!r} is not a valid XON: {reason}")
    INVALID_XTN = (GENERIC, "{object}: {attribute} {value!r} is not a valid XTN: {reason}")
    EMPTY_AUTHOR = (
        GENERIC,
        "{object}: an author needs an authorPerson, authorInstitution or authorTelecommunication",
    )
    INVALID_SOURCE_PATIENT_INFO = (
        GENERIC,
        "{object}: sourcePatientInfo {value!r} is not a PID-n|value line: {reason}",
    )
    INVALID_REFERENCE_ID = (
        GENERIC,
        "{object}: referenceIdList {value!r} is not a CXi id^^^authority^type: {reason}",
    )

    # Associations and the structure of the submission (TF-3 4.2.2, 4.2.3.1.5).
    UNKNOWN_ASSOCIATION_TYPE = (GENERIC, "{object}: associationType {value!r} is not known")
    ASSOCIATION_TYPE_NOT_ALLOWED = (
        GENERIC,
        "{object}: associationType {value} is not allowed in {transaction}",
    )
    UNRESOLVED_REFERENCE = (
        ErrorCode.UnresolvedReferenceException,
        "{object}: {end} {ref!r} names no object of the submission",
    )
    MISSING_SUBMISSION_SET_STATUS = (
        GENERIC,
        "{object}: a SubmissionSet HasMember of DocumentEntry {target} needs SubmissionSetStatus",
    )
    INVALID_SUBMISSION_SET_STATUS = (
        GENERIC,
        "{object}: SubmissionSetStatus {value!r} is neither Original nor Reference",
    )
    ORIGINAL_NOT_SUBMITTED = (
        GENERIC,
        "{object}: SubmissionSetStatus Original but {target} is not a DocumentEntry of this "
        "submission",
    )
    REFERENCE_TO_SUBMITTED = (
        GENERIC,
        "{object}: SubmissionSetStatus Reference but {target} is a DocumentEntry of this "
        "submission (use Original)",
    )
    INVALID_HAS_MEMBER = (
        GENERIC,
        "{object}: HasMember from {source_kind} {source} to {target_kind} {target} is not a "
        "valid membership",
    )
    FOLDER_MEMBERSHIP_NOT_SUBMITTED = (
        GENERIC,
        "{object}: the Folder-to-DocumentEntry HasMember is not itself a HasMember of the "
        "SubmissionSet",
    )
    NOT_IN_SUBMISSION_SET = (GENERIC, "{object} is not a HasMember target of the SubmissionSet")
    RELATIONSHIP_SOURCE = (
        GENERIC,
        "{object}: the source {source} of this {kind} association must be a DocumentEntry of this "
        "submission",
    )
    RELATIONSHIP_TARGET = (
        GENERIC,
        "{object}: the target {target} of this {kind} association must be a DocumentEntry already "
        "registered (a urn:uuid outside this submission), not {reason}",
    )
    SIGNS_TARGET = (
        GENERIC,
        "{object}: the target {target} of a signs association must be a DocumentEntry or a "
        "SubmissionSet, not a {target_kind}",
    )

    # French DMP profile (DESIGN.md §5, CI-SIS).
    DMP_PATIENT_ID = (GENERIC, "{object}: patientId {value!r} is not an INS: {reason}")
    DMP_CONFIDENTIALITY = (
        GENERIC,
        "{object}: confidentialityCode breaks the DMP rule (one of N/R/V, at most three "
        "masking flags): {reason}",
    )
    DMP_NOT_IN_VALUE_SET = (
        GENERIC,
        "{object}: {attribute} {code}^^{scheme} is not in the ANS value set {value_set}",
    )
    DMP_AUTHOR_SPECIALTY_FORMAT = (
        GENERIC,
        "{object}: authorSpecialty {value!r} is not code^display^codeSystemOID",
    )
