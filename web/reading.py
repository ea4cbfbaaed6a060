"""A document read for someone, as ITI-43 reads it: the consultation policy decides what they
may see, the repository answers with that, and the read is audited, found or not."""

from __future__ import annotations

from typing import Any

from ebrim.model import DocumentEntry
from pki.assertion import Requester
from repository.api import DocumentRequest


def read_for(
    registry: Any, repository: Any, requester: Requester, doc: DocumentEntry
) -> bytes | None:
    """The bytes of `doc` for `requester`, or None when the policy hides it or it is gone."""
    consultation = registry.consultation(requester)
    request = DocumentRequest(doc.repository_unique_id or "", doc.unique_id or "")
    result = repository.retrieve([request], visible=consultation.visible)
    registry.audit_retrieve(
        requester, consultation, [doc.unique_id or ""], success=bool(result.documents)
    )
    if not result.documents:
        return None
    with result.documents[0].open() as stream:
        data: bytes = stream.read()
    return data


__all__ = ["read_for"]
