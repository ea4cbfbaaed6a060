"""XDS metadata as FHIR R4 resources, as IHE MHD 4.2 maps them (ITI TF-3 4.5, the
"Mapping" blocks of the MHD StructureDefinitions).

DocumentEntry -> DocumentReference; SubmissionSet and Folder -> List (``code`` submissionset
or folder). Resources are plain JSON-ready dicts: they are what the searches return, many
at a time, and building model objects for each would cost more than the search. The tests
hold every shape against the `fhir.resources` R4B models.

Choices where MHD leaves room, each the one the ANS PDSm / PDSm4DMP guides make:
- `id` is the entryUUID without ``urn:uuid:`` (PDSm4DMP: entryUUID -> DocumentReference.id,
  and the ``entryUUID`` identifier slice of MHD carries it too);
- `subject` is a logical reference to the patient by identifier (CX.1 in the system of
  CX.4's OID): this registry is not a Patient server;
- `date` and `content.attachment.creation` are both the creationTime (MHD maps the
  latter, PDSm requires the former and PDSm4DMP maps creationTime to it);
- authors are contained PractitionerRoles (with their Practitioner and Organization),
  the legal authenticator a contained Practitioner, the source patient a contained Patient.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from typing import Any

from ebrim.hl7 import CX, XCN, XON, components
from ebrim.model import Author, Code, DocumentEntry, Folder, SubmissionSet
from ebrim.vocabulary import AssociationType, AvailabilityStatus
from mhd.systems import URN_OID, is_oid, system_of
from mhd.times import fhir_datetime

Resource = dict[str, Any]

MHD = "https://profiles.ihe.net/ITI/MHD"
COMPREHENSIVE_DOCUMENT_REFERENCE = (
    f"{MHD}/StructureDefinition/IHE.MHD.Comprehensive.DocumentReference"
)
MINIMAL_DOCUMENT_REFERENCE = f"{MHD}/StructureDefinition/IHE.MHD.Minimal.DocumentReference"
COMPREHENSIVE_SUBMISSION_SET = f"{MHD}/StructureDefinition/IHE.MHD.Comprehensive.SubmissionSet"
MINIMAL_SUBMISSION_SET = f"{MHD}/StructureDefinition/IHE.MHD.Minimal.SubmissionSet"
FOLDER_PROFILE = f"{MHD}/StructureDefinition/IHE.MHD.Comprehensive.Folder"
IDENTIFIER_TYPES = f"{MHD}/CodeSystem/MHDIdentifierType"
LIST_TYPES = f"{MHD}/CodeSystem/MHDlistTypes"
HOME_COMMUNITY = f"{MHD}/StructureDefinition/ihe-homeCommunityId"
SOURCE_ID = f"{MHD}/StructureDefinition/ihe-sourceId"
DESIGNATION_TYPE = f"{MHD}/StructureDefinition/ihe-designationType"
INTENDED_RECIPIENT = f"{MHD}/StructureDefinition/ihe-intendedRecipient"
RFC3986 = "urn:ietf:rfc:3986"

STATUS_OF = {
    AvailabilityStatus.APPROVED.value: "current",
    AvailabilityStatus.DEPRECATED.value: "superseded",
    AvailabilityStatus.ARCHIVED.value: "current",  # with PDSm's isArchived extension
}
IS_ARCHIVED = "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/pdsm-ext-is-archived"
AVAILABILITY_OF = {fhir: xds for xds, fhir in STATUS_OF.items()}


RELATES_TO = {  # MHD's ConceptMap of association types to relatesTo codes
    AssociationType.REPLACE.value: "replaces",
    AssociationType.TRANSFORM.value: "transforms",
    AssociationType.TRANSFORM_REPLACE.value: "replaces",  # "the most specific change"
    AssociationType.APPEND.value: "appends",
    AssociationType.SIGNS.value: "signs",
    AssociationType.IS_SNAPSHOT_OF.value: "transforms",
}


def resource_id(entry_uuid: str) -> str:
    """The FHIR id of an object: its entryUUID without ``urn:uuid:``."""
    return entry_uuid.removeprefix("urn:uuid:")


def document_reference(
    doc: DocumentEntry, retrieve_url: str | None, relations: Iterable[tuple[str, str]] = ()
) -> Resource:
    """The DocumentReference of a DocumentEntry; `retrieve_url` is its ITI-68 address and
    `relations` its (relatesTo code, target entryUUID) pairs, from the associations whose
    source it is (`RELATES_TO`)."""
    contained: list[Resource] = []
    resource: Resource = {
        "resourceType": "DocumentReference",
        "id": resource_id(doc.entry_uuid),
        "meta": {
            "profile": [
                MINIMAL_DOCUMENT_REFERENCE
                if doc.limited_metadata
                else COMPREHENSIVE_DOCUMENT_REFERENCE
            ]
        },
    }
    _home(resource, doc.home)
    if doc.status == AvailabilityStatus.ARCHIVED.value:
        resource.setdefault("extension", []).append({"url": IS_ARCHIVED, "valueBoolean": True})
    if doc.version:
        resource["meta"]["versionId"] = doc.version
    if doc.unique_id:
        resource["masterIdentifier"] = unique_identifier(doc.unique_id)
    resource["identifier"] = [_entry_uuid_identifier(doc.entry_uuid)]
    resource["status"] = STATUS_OF.get(doc.status or "", "current")
    if doc.type_code:
        resource["type"] = concept(doc.type_code)
    if doc.class_code:
        resource["category"] = [concept(doc.class_code)]
    if doc.patient_id:
        resource["subject"] = patient_reference(doc.patient_id)
    created = fhir_datetime(doc.creation_time)
    if created and "T" in created:
        resource["date"] = created  # an instant: only a dateTime to the second fits
    authors = [_author(author, contained, n) for n, author in enumerate(doc.authors, 1)]
    if authors:
        resource["author"] = authors
    if doc.legal_authenticator:
        resource["authenticator"] = _practitioner(
            XCN.parse(doc.legal_authenticator), contained, "authenticator"
        )
    relates = [
        {"code": code, "target": {"reference": f"DocumentReference/{resource_id(target)}"}}
        for code, target in relations
    ]
    if relates:
        resource["relatesTo"] = relates
    if doc.comments:
        resource["description"] = doc.comments.value
    if doc.confidentiality_codes:
        resource["securityLabel"] = [concept(c) for c in doc.confidentiality_codes]
    attachment: Resource = {}
    if doc.mime_type:
        attachment["contentType"] = doc.mime_type
    if doc.language_code:
        attachment["language"] = doc.language_code
    if retrieve_url:
        attachment["url"] = retrieve_url
    if doc.size and doc.size.isdigit():
        attachment["size"] = int(doc.size)
    digest = _base64_hash(doc.hash)
    if digest:
        attachment["hash"] = digest
    if doc.title:
        attachment["title"] = doc.title.value
    if created:
        attachment["creation"] = created if "T" in created else None
        if attachment["creation"] is None:
            del attachment["creation"]
    content: Resource = {"attachment": attachment}
    if doc.format_code:
        content["format"] = coding(doc.format_code)
    resource["content"] = [content]
    context = _context(doc, contained)
    if context:
        resource["context"] = context
    if contained:
        resource["contained"] = contained
    return _ordered(resource)


def list_of(package: SubmissionSet | Folder, members: Iterable[tuple[str, str]] = ()) -> Resource:
    """The List of a SubmissionSet or Folder; `members` are the (resource type, entryUUID)
    of what it holds: DocumentReference, or List for a folder in a submission set."""
    is_set = isinstance(package, SubmissionSet)
    contained: list[Resource] = []
    profile = (
        (MINIMAL_SUBMISSION_SET if package.limited_metadata else COMPREHENSIVE_SUBMISSION_SET)
        if is_set
        else FOLDER_PROFILE
    )
    resource: Resource = {
        "resourceType": "List",
        "id": resource_id(package.entry_uuid),
        "meta": {"profile": [profile]},
    }
    extensions: list[Resource] = []
    if package.home:
        extensions.append({"url": HOME_COMMUNITY, "valueOid": _urn_oid(package.home)})
    if isinstance(package, SubmissionSet):
        if package.source_id:
            extensions.append(
                {"url": SOURCE_ID, "valueIdentifier": {"value": _urn_oid(package.source_id)}}
            )
        if package.content_type_code:
            extensions.append(
                {
                    "url": DESIGNATION_TYPE,
                    "valueCodeableConcept": concept(package.content_type_code),
                }
            )
        for recipient in package.intended_recipients:
            extensions.append({"url": INTENDED_RECIPIENT, "valueReference": {"display": recipient}})
    else:
        for code in package.codes:
            extensions.append({"url": DESIGNATION_TYPE, "valueCodeableConcept": concept(code)})
    if extensions:
        resource["extension"] = extensions
    identifiers = [_entry_uuid_identifier(package.entry_uuid)]
    if package.unique_id:
        identifiers.append(
            {
                "use": "usual",
                "type": _identifier_type("uniqueId"),
                "system": RFC3986,
                "value": _urn_oid(package.unique_id),
            }
        )
    resource["identifier"] = identifiers
    resource["status"] = "current"
    resource["mode"] = "working"
    if package.title:
        resource["title"] = package.title.value
    kind = "submissionset" if is_set else "folder"
    resource["code"] = {"coding": [{"system": LIST_TYPES, "code": kind}]}
    if package.patient_id:
        resource["subject"] = patient_reference(package.patient_id)
    when = (
        package.submission_time if isinstance(package, SubmissionSet) else package.last_update_time
    )
    stamp = fhir_datetime(when)
    if stamp:
        resource["date"] = stamp
    if isinstance(package, SubmissionSet) and package.authors:
        resource["source"] = _author(package.authors[0], contained, 1)
    if package.comments:
        resource["note"] = [{"text": package.comments.value}]
    entries = [{"item": {"reference": f"{kind}/{resource_id(m)}"}} for kind, m in members]
    if entries:
        resource["entry"] = entries
    if contained:
        resource["contained"] = contained
    return _ordered(resource)


# --- datatypes -------------------------------------------------------------------------------


def coding(code: Code) -> Resource:
    out: Resource = {"system": system_of(code.scheme), "code": code.code}
    if code.display_name:
        out["display"] = code.display_name
    return out


def concept(code: Code) -> Resource:
    return {"coding": [coding(code)]}


def unique_identifier(unique_id: str) -> Resource:
    """masterIdentifier of a uniqueId: an OID as ``urn:oid:``; ``OID^extension`` as the
    extension in the OID's system (MHD's DocumentEntry.uniqueId mapping)."""
    root, caret, extension = unique_id.partition("^")
    if caret and is_oid(root):
        return {"use": "usual", "system": URN_OID + root, "value": extension}
    return {"use": "usual", "system": RFC3986, "value": _urn_oid(unique_id)}


def patient_reference(patient_id: str) -> Resource:
    """A logical reference to the patient of a CX (``id^^^&OID&ISO``)."""
    return {"identifier": identifier_of(patient_id)}


def identifier_of(cx_text: str) -> Resource:
    cx = CX.parse(cx_text)
    out: Resource = {"value": cx.id_number}
    authority = cx.assigning_authority.universal_id
    if authority:
        out["system"] = _urn_oid(authority)
    if cx.identifier_type_code:
        out["type"] = {"coding": [{"code": cx.identifier_type_code}]}
    return out


def _urn_oid(value: str) -> str:
    return URN_OID + value if is_oid(value) else value


def _identifier_type(code: str) -> Resource:
    return {"coding": [{"system": IDENTIFIER_TYPES, "code": code}]}


def _entry_uuid_identifier(entry_uuid: str) -> Resource:
    return {
        "use": "official",
        "type": _identifier_type("entryUUID"),
        "system": RFC3986,
        "value": entry_uuid,
    }


def _home(resource: Resource, home: str | None) -> None:
    if home:
        resource["extension"] = [
            {"url": HOME_COMMUNITY, "valueOid": _urn_oid(home.removeprefix("urn:oid:"))}
        ]


def _base64_hash(hex_hash: str | None) -> str | None:
    if not hex_hash:
        return None
    try:
        return base64.b64encode(binascii.unhexlify(hex_hash)).decode()
    except (binascii.Error, ValueError):
        return None


def _human_name(person: XCN) -> Resource | None:
    name: Resource = {}
    if person.family_name:
        name["family"] = person.family_name
    given = [g for g in (person.given_name, person.further_given_names) if g]
    if given:
        name["given"] = given
    if person.prefix:
        name["prefix"] = [person.prefix]
    if person.suffix:
        name["suffix"] = [person.suffix]
    return name or None


def _identifier(value: str, authority: str) -> Resource:
    """An id in its assigning authority's system; an OID with none is itself a URI."""
    if authority:
        return {"system": _urn_oid(authority), "value": value}
    if is_oid(value):
        return {"system": RFC3986, "value": URN_OID + value}
    return {"value": value}


def _practitioner(person: XCN, contained: list[Resource], tag: str) -> Resource:
    practitioner: Resource = {"resourceType": "Practitioner", "id": tag}
    if person.id_number:
        practitioner["identifier"] = [
            _identifier(person.id_number, person.assigning_authority.universal_id)
        ]
    name = _human_name(person)
    if name:
        practitioner["name"] = [name]
    contained.append(practitioner)
    return {"reference": f"#{tag}"}


def _organization(text: str, contained: list[Resource], tag: str) -> Resource:
    org = XON.parse(text)
    organization: Resource = {"resourceType": "Organization", "id": tag}
    if org.organization_identifier:
        organization["identifier"] = [
            _identifier(org.organization_identifier, org.assigning_authority.universal_id)
        ]
    if org.organization_name:
        organization["name"] = org.organization_name
    contained.append(organization)
    return {"reference": f"#{tag}"}


def _code_of_cwe(text: str) -> Resource:
    """A role or specialty, ``code^display^scheme`` (CWE) or a bare text."""
    parts = components(text)
    if len(parts) >= 3 and parts[0] and parts[2]:
        out: Resource = {"system": system_of(parts[2]), "code": parts[0]}
        if parts[1]:
            out["display"] = parts[1]
        return {"coding": [out]}
    return {"text": text}


def _author(author: Author, contained: list[Resource], n: int) -> Resource:
    """A contained PractitionerRole for an author, with its person and first institution."""
    tag = f"author{n}"
    role: Resource = {"resourceType": "PractitionerRole", "id": tag}
    if author.person:
        role["practitioner"] = _practitioner(XCN.parse(author.person), contained, f"{tag}-person")
    if author.institutions:
        role["organization"] = _organization(author.institutions[0], contained, f"{tag}-org")
    if author.roles:
        role["code"] = [_code_of_cwe(r) for r in author.roles]
    if author.specialties:
        role["specialty"] = [_code_of_cwe(s) for s in author.specialties]
    telecoms = [_telecom(t) for t in author.telecoms]
    if telecoms:
        role["telecom"] = telecoms
    contained.append(role)
    return {"reference": f"#{tag}"}


def _telecom(text: str) -> Resource:
    parts = components(text)
    email = parts[3] if len(parts) > 3 else ""
    if email:
        return {"system": "email", "value": email}
    return {"system": "phone", "value": parts[0] or text}


def _context(doc: DocumentEntry, contained: list[Resource]) -> Resource:
    context: Resource = {}
    if doc.event_codes:
        context["event"] = [concept(c) for c in doc.event_codes]
    period = {
        key: value
        for key, value in (
            ("start", fhir_datetime(doc.service_start_time)),
            ("end", fhir_datetime(doc.service_stop_time)),
        )
        if value
    }
    if period:
        context["period"] = period
    if doc.healthcare_facility_type_code:
        context["facilityType"] = concept(doc.healthcare_facility_type_code)
    if doc.practice_setting_code:
        context["practiceSetting"] = concept(doc.practice_setting_code)
    if doc.source_patient_id or doc.source_patient_info:
        context["sourcePatientInfo"] = _source_patient(doc, contained)
    related = [{"identifier": identifier_of(ref)} for ref in doc.reference_ids]
    if related:
        context["related"] = related
    return context


def _source_patient(doc: DocumentEntry, contained: list[Resource]) -> Resource:
    patient: Resource = {"resourceType": "Patient", "id": "source-patient"}
    if doc.source_patient_id:
        patient["identifier"] = [identifier_of(doc.source_patient_id)]
    for field in doc.source_patient_info:
        name, _, value = field.partition("|")
        if name == "PID-5" and value:
            person = components(value)
            human: Resource = {}
            if person[0]:
                human["family"] = person[0]
            if len(person) > 1 and person[1]:
                human["given"] = [person[1]]
            if human:
                patient.setdefault("name", []).append(human)
        elif name == "PID-7" and value:
            born = fhir_datetime(value[:8])
            if born and len(born) == 10:
                patient["birthDate"] = born
        elif name == "PID-8" and value:
            patient["gender"] = {"M": "male", "F": "female", "O": "other"}.get(value, "unknown")
    contained.append(patient)
    return {"reference": "#source-patient"}


_ORDER = (
    "resourceType", "id", "meta", "contained", "extension", "masterIdentifier", "identifier",
    "status", "mode", "title", "code", "type", "category", "subject", "date", "source",
    "author", "authenticator", "relatesTo", "description", "note", "securityLabel", "entry",
    "content", "context",
)  # fmt: skip


def _ordered(resource: Resource) -> Resource:
    """Elements in the order of the FHIR definitions (the XML form requires it)."""
    return {key: resource[key] for key in _ORDER if key in resource}


__all__ = [
    "AVAILABILITY_OF",
    "RELATES_TO",
    "STATUS_OF",
    "coding",
    "concept",
    "document_reference",
    "identifier_of",
    "list_of",
    "patient_reference",
    "resource_id",
    "unique_identifier",
]
