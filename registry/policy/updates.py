"""Who may change what through ITI-57: the DMP's rights on a document's lifecycle.

- `status_policy`: a document goes to Deleted only at the request of one of its authors
  (a professional whose id is the first component of an author person).
- `version_policy`: a new version that changes the masking flags. MASQUE_PS may be set
  or lifted by the document's author or by the patient (or their legal representative);
  INVISIBLE_PATIENT and INVISIBLE_REPRESENTANTS_LEGAUX only by a professional, since
  they hide the document from the patient's side itself.
"""

from __future__ import annotations

from ebrim.errors import ErrorCode, XDSError
from ebrim.model import DocumentEntry, Folder, RegistryObject
from ebrim.vocabulary import AvailabilityStatus
from pki.assertion import Requester
from registry.policy.decide import RequesterKind
from registry.policy.visibility import FLAG_SYSTEM, MASQUE_PS
from registry.status import StatusPolicy, VersionPolicy

DELETED = AvailabilityStatus.DELETED.value


def is_author(doc: DocumentEntry, professional_id: str | None) -> bool:
    """`professional_id` is the id (XCN.1) of one of the document's author persons."""
    if not professional_id:
        return False
    return any(
        author.person and author.person.split("^", 1)[0] == professional_id
        for author in doc.authors
    )


def _refusal(message: str, location: str) -> XDSError:
    return XDSError(ErrorCode.LocalPolicyRestrictionError, message, location)


def status_policy(requester: Requester, kind: RequesterKind) -> StatusPolicy:
    """Deleted only by the document's author."""

    def decide(target: RegistryObject, original: str, new: str) -> XDSError | None:
        if new != DELETED or not isinstance(target, DocumentEntry):
            return None
        if kind is RequesterKind.PROFESSIONAL and is_author(target, requester.professional_id):
            return None
        return _refusal(
            f"document {target.unique_id} may be deleted only by its author, "
            f"not by {requester.professional_id or kind.value}",
            target.unique_id or target.entry_uuid,
        )

    return decide


def _flags(obj: DocumentEntry | Folder) -> set[str]:
    if not isinstance(obj, DocumentEntry):
        return set()
    return {c.code for c in obj.confidentiality_codes if c.scheme == FLAG_SYSTEM}


def version_policy(requester: Requester, kind: RequesterKind) -> VersionPolicy:
    """Masking flags changed only by those entitled to (see the module docstring)."""

    def decide(previous: DocumentEntry | Folder, new: DocumentEntry | Folder) -> XDSError | None:
        changed = _flags(previous) ^ _flags(new)
        if not changed or not isinstance(previous, DocumentEntry):
            return None
        where = previous.unique_id or previous.entry_uuid
        professional = kind is RequesterKind.PROFESSIONAL
        for flag in sorted(changed):
            if flag == MASQUE_PS.code:
                if professional and not is_author(previous, requester.professional_id):
                    return _refusal(
                        f"document {where}: MASQUE_PS may be changed by its author or the "
                        "patient only",
                        where,
                    )
            elif not professional:
                return _refusal(
                    f"document {where}: {flag} may be changed by a professional only", where
                )
        return None

    return decide


__all__ = ["VersionPolicy", "is_author", "status_policy", "version_policy"]
