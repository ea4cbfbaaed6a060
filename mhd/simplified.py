"""ITI-105 Simplified Publish: one DocumentReference, its document inline, as an ITI-65 Bundle.

MHD's Simplified Publish (and PDSm's "ajout simplifié", flux 9) is a ``POST
[base]/DocumentReference`` whose ``content.attachment.data`` holds the document. The Document
Recipient makes the rest of the submission itself; here it is written as the transaction
Bundle ITI-65 would have received, so that one reader (`mhd.publish`) and one ITI-41 path
check and store both:

- the DocumentReference as sent, its bytes moved into a Binary (``attachment.url`` points at
  it); the profile's rules are checked first: status ``current``, one content with ``data``
  and no ``url``, a masterIdentifier, no entryUUID identifier (the recipient assigns it);
- a SubmissionSet List: a new uniqueId (``2.25.<UUID>``), the recipient's `source_id`, the
  document's patient, now as its submission time, the document's first author as its author
  (with the contained resources that describe it) and its type as the contentTypeCode, the
  choice ``xds submit`` makes for a document sent alone.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from typing import Any

from mhd.outcome import FhirError
from mhd.resources import DESIGNATION_TYPE, LIST_TYPES, SOURCE_ID

Resource = dict[str, Any]
_ENTRY_UUID = "entryUUID"


def simplified_bundle(reference: Resource, source_id: str) -> Resource:
    """The ITI-65 transaction Bundle that publishes `reference` (a checked DocumentReference)."""
    _check(reference)
    document = copy.deepcopy(reference)
    document.pop("id", None)
    attachment = document["content"][0]["attachment"]
    binary_url, document_url, set_url = (f"urn:uuid:{uuid.uuid4()}" for _ in range(3))
    binary = {
        "resourceType": "Binary",
        "contentType": attachment.get("contentType", "application/octet-stream"),
        "data": attachment.pop("data"),
    }
    attachment["url"] = binary_url
    submission_set: Resource = {
        "resourceType": "List",
        "extension": [
            {"url": SOURCE_ID, "valueIdentifier": {"value": f"urn:oid:{source_id}"}},
        ],
        "identifier": [
            {
                "use": "usual",
                "system": "urn:ietf:rfc:3986",
                "value": f"urn:oid:2.25.{uuid.uuid4().int}",
            }
        ],
        "status": "current",
        "mode": "working",
        "code": {"coding": [{"system": LIST_TYPES, "code": "submissionset"}]},
        "subject": copy.deepcopy(document.get("subject")),
        "date": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "entry": [{"item": {"reference": document_url}}],
    }
    if document.get("type"):
        submission_set["extension"].append(
            {"url": DESIGNATION_TYPE, "valueCodeableConcept": copy.deepcopy(document["type"])}
        )
    authors = document.get("author") or []
    if authors:
        submission_set["source"] = copy.deepcopy(authors[0])
        if document.get("contained"):
            submission_set["contained"] = copy.deepcopy(document["contained"])
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            _post(set_url, submission_set, "List"),
            _post(document_url, document, "DocumentReference"),
            _post(binary_url, binary, "Binary"),
        ],
    }


def _check(reference: Resource) -> None:
    label = f"DocumentReference {reference.get('id') or '(no id)'}"
    if reference.get("resourceType") != "DocumentReference":
        raise _refused("ITI-105 takes one DocumentReference")
    if reference.get("status") != "current":
        raise _refused(f"{label}: a simplified publish has status current")
    if not reference.get("masterIdentifier"):
        raise _refused(f"{label}: a simplified publish names its document (masterIdentifier)")
    for identifier in reference.get("identifier", []):
        codes = [c.get("code") for c in (identifier.get("type") or {}).get("coding", [])]
        if _ENTRY_UUID in codes:
            raise _refused(f"{label}: the entryUUID identifier is the recipient's to assign")
    content = reference.get("content") or []
    if len(content) != 1:
        raise _refused(f"{label}: a simplified publish has one content, not {len(content)}")
    attachment = content[0].get("attachment") or {}
    if not attachment.get("data") or attachment.get("url"):
        raise _refused(f"{label}: the document travels in content.attachment.data, with no url")
    if not attachment.get("contentType"):
        raise _refused(f"{label}: content.attachment.contentType is required")


def _post(full_url: str, resource: Resource, kind: str) -> Resource:
    return {"fullUrl": full_url, "resource": resource, "request": {"method": "POST", "url": kind}}


def _refused(message: str) -> FhirError:
    return FhirError(422, message, code="business-rule")


__all__ = ["simplified_bundle"]
