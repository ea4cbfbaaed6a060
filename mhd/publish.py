"""ITI-65 Provide Document Bundle: a FHIR transaction Bundle read into one ITI-41 submission.

The Bundle is first checked against the FHIR R4B models (`fhir.resources`), then read entry
by entry as MHD 4.2 section 2:3.65.4.1.3 says: one SubmissionSet List, DocumentReferences
with their Binaries (or inline data), Folder Lists, at most one Patient. The result is the
XDS metadata and the documents' bytes, which the repository then validates, stores and
registers exactly as an ITI-41 (same rules, same atomicity, same CDA consistency check).

Choices, each refused with a message naming the entry when the Bundle does not allow it:
- entryUUIDs are assigned here (the recipient's job): new ``urn:uuid:`` values;
- the patient is named by identifier: ``subject.identifier``, a conditional reference
  ``Patient?identifier=urn:oid:<OID>|<value>``, or the Patient entry of the Bundle
  (``urn:uuid:`` fullUrl); a literal ``Patient/<id>`` cannot be resolved here (this server
  holds no Patient resources) and is refused as an unknown patient;
- hash and size, when given, must match the bytes (the repository checks, in hex);
- XDS requires what FHIR leaves optional: a coding without a display is named by its code,
  and a document without an OID identifier in its sourcePatientInfo gets the patient's id as
  its sourcePatientId;
- `relatesTo` becomes the association of MHD's ConceptMap (replaces -> RPLC, transforms ->
  XFRM, appends -> APND, signs -> signs) to an existing DocumentReference;
- ``PATCH`` entries (the superseded slice of a replacement) are not needed: an RPLC
  deprecates what it replaces; they are accepted only as that, and checked to say so.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ebrim.errors import XMLRejected
from ebrim.ids import new_entry_uuid
from ebrim.model import (
    Association,
    Author,
    Code,
    DocumentEntry,
    Folder,
    LocalizedString,
    Metadata,
    SubmissionSet,
)
from ebrim.vocabulary import AssociationType, ObjectType
from mhd.models import InvalidResource, check, model_class
from mhd.outcome import FhirError
from mhd.resources import DESIGNATION_TYPE, INTENDED_RECIPIENT, SOURCE_ID, resource_id
from mhd.systems import URN_OID, is_oid, scheme_of
from mhd.times import BadDate, dtm_of

Resource = dict[str, Any]
MAX_BUNDLE_BYTES = 64 * 1024 * 1024
AUTHOR_ORG = "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-authorOrg"
RELATIONSHIPS = {
    "replaces": AssociationType.REPLACE,
    "transforms": AssociationType.TRANSFORM,
    "appends": AssociationType.APPEND,
    "signs": AssociationType.SIGNS,
}


@dataclass
class Published:
    """What a Bundle asks to publish, and how to answer each of its entries."""

    metadata: Metadata
    documents: dict[str, bytes]  # entryUUID -> bytes
    locations: list[tuple[str, str | None]] = field(default_factory=list)  # status, location


def read_bundle(body: bytes, media: str) -> Resource:
    """The Bundle as JSON-ready data, checked against the R4B models; 400 when unreadable."""
    data = read_resource(body, media, "Bundle")
    if data.get("type") != "transaction":
        raise FhirError(400, "ITI-65 takes a Bundle of type transaction", code="invalid")
    return data


def read_resource(body: bytes, media: str, kind: str) -> Resource:
    """A resource of `kind` (Bundle, DocumentReference) as JSON-ready data, checked against
    the R4B models (`mhd.models`); 400 when unreadable or of another kind."""
    from pydantic import ValidationError

    if len(body) > MAX_BUNDLE_BYTES:
        raise FhirError(413, f"{kind} over {MAX_BUNDLE_BYTES} bytes", code="too-costly")
    try:
        if "xml" in media:
            from ebrim.safexml import XMLLimits, parse_xml

            parse_xml(body, XMLLimits(max_bytes=MAX_BUNDLE_BYTES))  # hardened first: no DTD
            model = model_class(kind).model_validate_xml(body)
            data: Resource = json.loads(model.model_dump_json())
        else:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("the body is not a JSON object")
            if data.get("resourceType") != kind:
                raise ValueError(f"the body is a {data.get('resourceType')}, not a {kind}")
            check(data)
    except ValidationError as exc:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": str(exc)}
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise FhirError(
            400, f"not a valid FHIR {kind}: {where}: {first['msg']}", code="structure"
        ) from None
    except InvalidResource as exc:
        raise FhirError(400, f"not a valid FHIR {kind}: {exc}", code="structure") from None
    except (ValueError, XMLRejected) as exc:  # JSON errors, the hardened parser's refusals
        raise FhirError(400, f"not a readable FHIR {kind}: {exc}", code="structure") from None
    if data.get("resourceType") != kind:
        raise FhirError(400, f"a {kind} is expected here", code="invalid")
    return data


def publish_request(bundle: Resource) -> Published:
    """The submission a transaction Bundle describes (`read_bundle` checked its structure)."""
    return _Reader(bundle).read()


class _Reader:
    def __init__(self, bundle: Resource) -> None:
        self.entries: list[Resource] = bundle.get("entry", [])
        self.by_url: dict[str, Resource] = {}
        for entry in self.entries:
            resource = entry.get("resource") or {}
            for name in _names(entry, resource):
                self.by_url[name] = resource
        self.uuids: dict[int, str] = {}  # id(resource) -> assigned entryUUID

    def read(self) -> Published:
        sets = [r for r in self._resources("List") if _list_code(r) == "submissionset"]
        if len(sets) != 1:
            raise _invalid(f"a Bundle holds exactly one SubmissionSet List, found {len(sets)}")
        for resource in self._resources(None):
            self.uuids[id(resource)] = new_entry_uuid()
        documents: dict[str, bytes] = {}
        entries: list[DocumentEntry] = []
        folders: list[Folder] = []
        associations: list[Association] = []
        for reference in self._resources("DocumentReference"):
            doc, content = self._document(reference)
            entries.append(doc)
            documents[doc.entry_uuid] = content
            associations += self._relations(reference, doc.entry_uuid)
        for folder_list in (r for r in self._resources("List") if _list_code(r) == "folder"):
            folders.append(self._folder(folder_list))
        submission_set = self._submission_set(sets[0])
        members = self._members(sets[0], submission_set, folders)
        associations = members + associations
        for folder_list in (r for r in self._resources("List") if _list_code(r) == "folder"):
            associations += self._folder_members(folder_list, submission_set.entry_uuid)
        for resource in self._resources("List"):
            if _list_code(resource) not in ("submissionset", "folder"):
                raise _invalid(f"List {_label(resource)} is neither a SubmissionSet nor a Folder")
        self._check_patches()
        metadata = Metadata(
            submission_sets=(submission_set,),
            documents=tuple(entries),
            folders=tuple(folders),
            associations=tuple(associations),
        )
        return Published(metadata, documents, self._locations())

    # --- entries ---------------------------------------------------------------------------

    def _resources(self, kind: str | None) -> list[Resource]:
        """The resources POSTed (or PUT) in the Bundle, of `kind` (None: every kind but
        Binary and Patient, which get no entryUUID)."""
        out = []
        for entry in self.entries:
            resource = entry.get("resource") or {}
            method = (entry.get("request") or {}).get("method")
            if method not in ("POST", "PUT"):
                continue
            rtype = resource.get("resourceType")
            if (kind is None and rtype not in ("Binary", "Patient", None)) or rtype == kind:
                out.append(resource)
        return out

    def _document(self, reference: Resource) -> tuple[DocumentEntry, bytes]:
        label = f"DocumentReference {_label(reference)}"
        contents = reference.get("content") or []
        if len(contents) != 1:
            raise _invalid(f"{label}: one content is expected, found {len(contents)}")
        attachment = contents[0].get("attachment") or {}
        content = self._bytes(attachment, label)
        if reference.get("status", "current") != "current":
            raise _invalid(f"{label}: a new DocumentReference is current")
        contained = _contained(reference)
        context = reference.get("context") or {}
        period = context.get("period") or {}
        source_patient_id, source_info = self._source_patient(context, contained, label)
        patient_id = self._patient(reference.get("subject"), label)
        hash_hex = None
        if attachment.get("hash"):
            try:
                hash_hex = base64.b64decode(attachment["hash"], validate=True).hex()
            except (binascii.Error, ValueError):
                raise _invalid(f"{label}: content.attachment.hash is not base64") from None
        doc = DocumentEntry(
            entry_uuid=self.uuids[id(reference)],
            object_type=ObjectType.STABLE_DOCUMENT.value,
            mime_type=attachment.get("contentType"),
            title=_text(attachment.get("title"), attachment.get("language")),
            comments=_text(reference.get("description")),
            unique_id=_unique_id(reference.get("masterIdentifier"), label),
            patient_id=patient_id,
            # XDS requires it; without an OID identifier in sourcePatientInfo, the patient
            # the document is filed under is the one the source knows it by.
            source_patient_id=source_patient_id or patient_id,
            source_patient_info=source_info,
            authors=tuple(
                a for a in (_author(r, contained, label) for r in reference.get("author", [])) if a
            ),
            class_code=_first_code(reference.get("category"), f"{label}: category"),
            confidentiality_codes=tuple(
                c for c in (code_of(s) for s in reference.get("securityLabel", [])) if c
            ),
            event_codes=tuple(c for c in (code_of(e) for e in context.get("event", [])) if c),
            format_code=_coding(contents[0].get("format")),
            healthcare_facility_type_code=code_of(context.get("facilityType")),
            practice_setting_code=code_of(context.get("practiceSetting")),
            type_code=code_of(reference.get("type")),
            creation_time=_dtm(attachment.get("creation") or reference.get("date"), label),
            service_start_time=_dtm(period.get("start"), label),
            service_stop_time=_dtm(period.get("end"), label),
            hash=hash_hex,
            size=str(attachment["size"]) if attachment.get("size") is not None else None,
            language_code=attachment.get("language"),
            legal_authenticator=_person(reference.get("authenticator"), contained),
            reference_ids=tuple(
                cx
                for cx in (_cxi((r or {}).get("identifier")) for r in context.get("related", []))
                if cx
            ),
        )
        return doc, content

    def _bytes(self, attachment: Resource, label: str) -> bytes:
        if attachment.get("data") is not None:
            return _b64(attachment["data"], f"{label}: content.attachment.data")
        url = attachment.get("url")
        binary = self.by_url.get(url or "")
        if binary is None or binary.get("resourceType") != "Binary":
            raise _invalid(
                f"{label}: content.attachment.url {url!r} names no Binary of the Bundle "
                "(and there is no inline data)"
            )
        if binary.get("data") is None:
            raise _invalid(f"{label}: the Binary {url} has no data")
        return _b64(binary["data"], f"Binary {url}")

    def _source_patient(
        self, context: Resource, contained: Mapping[str, Resource], label: str
    ) -> tuple[str | None, tuple[str, ...]]:
        reference = (context.get("sourcePatientInfo") or {}).get("reference", "")
        patient = contained.get(reference.removeprefix("#")) if reference.startswith("#") else None
        if patient is None:
            patient = self.by_url.get(reference)
        if patient is None:
            return None, ()
        ids = [cx for cx in (_cx(i) for i in patient.get("identifier", [])) if cx]
        info = []
        for name in patient.get("name", [])[:1]:
            given = (name.get("given") or [""])[0]
            info.append(f"PID-5|{name.get('family', '')}^{given}^^^")
        if patient.get("birthDate"):
            info.append(f"PID-7|{patient['birthDate'].replace('-', '')}")
        gender = {"male": "M", "female": "F", "other": "O", "unknown": "U"}.get(
            patient.get("gender", "")
        )
        if gender:
            info.append(f"PID-8|{gender}")
        return (ids[0] if ids else None), tuple(info)

    def _patient(self, subject: Resource | None, label: str) -> str:
        if not subject:
            raise _invalid(f"{label}: subject (the patient) is required")
        if subject.get("identifier"):
            cx = _cx(subject["identifier"])
            if cx:
                return cx
        reference = subject.get("reference", "")
        if reference.startswith("Patient?identifier="):
            system, bar, value = reference.removeprefix("Patient?identifier=").partition("|")
            cx = _cx({"system": system, "value": value}) if bar else None
            if cx:
                return cx
        target = self.by_url.get(reference)
        if target is not None and target.get("resourceType") == "Patient":
            for identifier in target.get("identifier", []):
                cx = _cx(identifier)
                if cx:
                    return cx
        raise FhirError(
            400,
            f"{label}: subject {reference or subject!r} does not name the patient by an "
            "identifier in an OID system (subject.identifier, Patient?identifier=urn:oid:…|…, "
            "or a Patient entry of the Bundle): this server holds no Patient resources",
            code="invalid",
            xds_code="XDSUnknownPatientId",
        )

    def _relations(self, reference: Resource, source: str) -> list[Association]:
        out = []
        for relation in reference.get("relatesTo", []):
            kind = RELATIONSHIPS.get(relation.get("code", ""))
            target = (relation.get("target") or {}).get("reference", "")
            if kind is None:
                raise _invalid(
                    f"DocumentReference {_label(reference)}: relatesTo code "
                    f"{relation.get('code')!r} is not supported",
                    "PartialReplaceContentNotProcessed",
                )
            if target.startswith("DocumentReference/"):
                target_uuid = f"urn:uuid:{target.removeprefix('DocumentReference/')}"
            elif target.startswith("urn:uuid:") and target not in self.by_url:
                target_uuid = target
            else:
                raise _invalid(
                    f"DocumentReference {_label(reference)}: relatesTo target {target!r} is "
                    "not an existing DocumentReference"
                )
            out.append(_association(kind, source, target_uuid))
        return out

    def _submission_set(self, resource: Resource) -> SubmissionSet:
        label = f"SubmissionSet List {_label(resource)}"
        contained = _contained(resource)
        extensions = resource.get("extension", [])
        source_id = next(
            (
                (e.get("valueIdentifier") or {}).get("value", "").removeprefix(URN_OID)
                for e in extensions
                if e.get("url") == SOURCE_ID
            ),
            None,
        )
        content_type = next(
            (
                code_of(e.get("valueCodeableConcept"))
                for e in extensions
                if e.get("url") == DESIGNATION_TYPE
            ),
            None,
        )
        recipients = tuple(
            r
            for r in (
                _recipient((e.get("valueReference") or {}), contained)
                for e in extensions
                if e.get("url") == INTENDED_RECIPIENT
            )
            if r
        )
        source = resource.get("source")
        authors: tuple[Author, ...] = ()
        if source:
            author = _author(source, contained, label)
            org_ext = next(
                (e for e in source.get("extension", []) if e.get("url") == AUTHOR_ORG), None
            )
            if org_ext:
                org = _organization(
                    contained.get(
                        (org_ext.get("valueReference") or {}).get("reference", "").removeprefix("#")
                    )
                )
                if org:
                    author = Author(
                        person=author.person if author else None,
                        institutions=(*(author.institutions if author else ()), org),
                        roles=author.roles if author else (),
                        specialties=author.specialties if author else (),
                        telecoms=author.telecoms if author else (),
                    )
            authors = (author,) if author else ()
        return SubmissionSet(
            entry_uuid=self.uuids[id(resource)],
            title=_text(resource.get("title")),
            comments=_text(((resource.get("note") or [{}])[0]).get("text")),
            unique_id=_list_unique_id(resource, label),
            source_id=source_id,
            patient_id=self._patient(resource.get("subject"), label),
            submission_time=_dtm(resource.get("date"), label),
            authors=authors,
            content_type_code=content_type,
            intended_recipients=recipients,
        )

    def _folder(self, resource: Resource) -> Folder:
        label = f"Folder List {_label(resource)}"
        return Folder(
            entry_uuid=self.uuids[id(resource)],
            title=_text(resource.get("title")),
            comments=_text(((resource.get("note") or [{}])[0]).get("text")),
            unique_id=_list_unique_id(resource, label),
            patient_id=self._patient(resource.get("subject"), label),
            codes=tuple(
                c
                for c in (
                    code_of(e.get("valueCodeableConcept"))
                    for e in resource.get("extension", [])
                    if e.get("url") == DESIGNATION_TYPE
                )
                if c
            ),
        )

    def _member_uuid(self, reference: str, label: str) -> tuple[str, str]:
        """(entryUUID, resourceType) of a List entry's item in the Bundle."""
        target = self.by_url.get(reference)
        if target is None or id(target) not in self.uuids:
            raise _invalid(f"{label}: entry {reference!r} is not a resource of the Bundle")
        return self.uuids[id(target)], target.get("resourceType", "")

    def _members(
        self, resource: Resource, submission_set: SubmissionSet, folders: Sequence[Folder]
    ) -> list[Association]:
        """HasMember from the SubmissionSet to what it lists, and to anything else the Bundle
        adds (an object is always submitted in a SubmissionSet): documents as Original."""
        label = f"SubmissionSet List {_label(resource)}"
        targets = [
            self._member_uuid((item.get("item") or {}).get("reference", ""), label)[0]
            for item in resource.get("entry", [])
        ]
        added = [self.uuids[id(r)] for r in self._resources("DocumentReference")]
        added += [f.entry_uuid for f in folders]
        targets += [t for t in added if t not in targets]
        folder_uuids = {f.entry_uuid for f in folders}
        return [
            _association(
                AssociationType.HAS_MEMBER,
                submission_set.entry_uuid,
                target,
                None if target in folder_uuids else "Original",
            )
            for target in dict.fromkeys(targets)
        ]

    def _folder_members(self, resource: Resource, set_uuid: str) -> list[Association]:
        label = f"Folder List {_label(resource)}"
        folder_uuid = self.uuids[id(resource)]
        out = []
        for item in resource.get("entry", []):
            target, kind = self._member_uuid((item.get("item") or {}).get("reference", ""), label)
            if kind != "DocumentReference":
                raise _invalid(f"{label}: a Folder holds DocumentReferences only")
            link = _association(AssociationType.HAS_MEMBER, folder_uuid, target)
            out.append(link)
            out.append(_association(AssociationType.HAS_MEMBER, set_uuid, link.entry_uuid))
        return out

    def _check_patches(self) -> None:
        for entry in self.entries:
            method = (entry.get("request") or {}).get("method")
            if method in ("POST", "PUT"):
                continue
            if method == "GET" or (entry.get("resource") or {}).get("resourceType") == "Patient":
                continue
            if method == "PATCH" and self._is_superseding(entry):
                continue
            raise _invalid(
                f"entry {entry.get('fullUrl', '?')}: {method} is not part of ITI-65 here "
                "(POST resources; PATCH only to mark a replaced DocumentReference superseded)"
            )

    def _is_superseding(self, entry: Resource) -> bool:
        target = (entry.get("request") or {}).get("url", "")
        replaced = {
            (r.get("target") or {}).get("reference", "")
            for ref in self._resources("DocumentReference")
            for r in ref.get("relatesTo", [])
            if r.get("code") == "replaces"
        }
        return target in replaced

    def _locations(self) -> list[tuple[str, str | None]]:
        out: list[tuple[str, str | None]] = []
        for entry in self.entries:
            resource = entry.get("resource") or {}
            method = (entry.get("request") or {}).get("method")
            rtype = resource.get("resourceType")
            if method == "PATCH":
                out.append(("200 OK", (entry.get("request") or {}).get("url")))
            elif id(resource) in self.uuids:
                out.append(("201 Created", f"{rtype}/{resource_id(self.uuids[id(resource)])}"))
            elif rtype == "Binary":
                out.append(("201 Created", None))
            else:
                out.append(("200 OK", None))
        return out


# --- values ------------------------------------------------------------------------------------


def _names(entry: Resource, resource: Resource) -> list[str]:
    names = []
    if entry.get("fullUrl"):
        names.append(entry["fullUrl"])
    if resource.get("resourceType") and resource.get("id"):
        names.append(f"{resource['resourceType']}/{resource['id']}")
    return names


def _label(resource: Resource) -> str:
    return str(resource.get("id") or "(no id)")


def _invalid(message: str, xds_code: str = "XDSRegistryMetadataError") -> FhirError:
    return FhirError(400, message, code="invalid", xds_code=xds_code)


def _list_code(resource: Resource) -> str | None:
    codings = (resource.get("code") or {}).get("coding", [])
    return codings[0].get("code") if codings else None


def _contained(resource: Resource) -> dict[str, Resource]:
    return {r.get("id", ""): r for r in resource.get("contained", [])}


def _text(value: str | None, lang: str | None = None) -> LocalizedString | None:
    return LocalizedString(value, lang) if value else None


def _b64(data: str, where: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid(f"{where} is not base64") from None


def _dtm(value: str | None, label: str) -> str | None:
    if not value:
        return None
    try:
        return dtm_of(value)
    except BadDate as exc:
        raise _invalid(f"{label}: {exc}") from None


def _coding(coding: Resource | None) -> Code | None:
    if not coding or not coding.get("code"):
        return None
    system = coding.get("system", "")
    # XDS requires a display name (the classification's Name); FHIR does not: the code
    # stands in for it, as it does in the value sets that give none.
    display = coding.get("display") or coding["code"]
    return Code(coding["code"], scheme_of(system) if system else "", display)


def code_of(concept: Resource | None) -> Code | None:
    for coding in (concept or {}).get("coding", []):
        found = _coding(coding)
        if found:
            return found
    return None


def _first_code(concepts: Sequence[Resource] | None, where: str) -> Code | None:
    codes = [c for c in (code_of(concept) for concept in concepts or []) if c]
    if len(codes) > 1:
        raise _invalid(f"{where}: one code is expected, found {len(codes)}")
    return codes[0] if codes else None


def _unique_id(identifier: Resource | None, label: str) -> str | None:
    if not identifier:
        return None
    system, value = identifier.get("system", ""), identifier.get("value", "")
    if value.startswith(URN_OID):
        return value.removeprefix(URN_OID)
    if value.startswith("urn:uuid:"):
        return value
    if system.startswith(URN_OID) and value:
        return f"{system.removeprefix(URN_OID)}^{value}"
    raise _invalid(f"{label}: masterIdentifier {value!r} is neither urn:oid: nor urn:uuid:")


def _list_unique_id(resource: Resource, label: str) -> str | None:
    for identifier in resource.get("identifier", []):
        codes = [c.get("code") for c in (identifier.get("type") or {}).get("coding", [])]
        if "uniqueId" in codes or identifier.get("use") == "usual":
            return _unique_id(identifier, label)
    return None


def _cx(identifier: Resource | None) -> str | None:
    """An identifier in an OID system as the CX ``value^^^&OID&ISO``."""
    if not identifier:
        return None
    system, value = identifier.get("system", ""), identifier.get("value", "")
    oid = scheme_of(system)
    if not value or not is_oid(oid):
        return None
    return f"{value}^^^&{oid}&ISO"


def _cxi(identifier: Resource | None) -> str | None:
    """A referenceIdList value: the CX and its identifier type (CX.5) from `type`."""
    cx = _cx(identifier)
    codings = ((identifier or {}).get("type") or {}).get("coding", [])
    kind = codings[0].get("code") if codings else None
    return f"{cx}^{kind}" if cx and kind else cx


def _resolve(reference: Resource | None, contained: Mapping[str, Resource]) -> Resource | None:
    ref = (reference or {}).get("reference", "")
    return contained.get(ref.removeprefix("#")) if ref.startswith("#") else None


def _xcn(practitioner: Resource) -> str | None:
    identifier = (practitioner.get("identifier") or [{}])[0]
    name = (practitioner.get("name") or [{}])[0]
    given = name.get("given") or []
    id_number = identifier.get("value", "")
    authority = scheme_of(identifier.get("system", "")) if identifier.get("system") else ""
    parts = [
        id_number,
        name.get("family", ""),
        given[0] if given else "",
        " ".join(given[1:]),
        (name.get("suffix") or [""])[0],
        (name.get("prefix") or [""])[0],
        "",
        "",
        f"&{authority}&ISO" if is_oid(authority) and id_number else "",
    ]
    while parts and not parts[-1]:
        parts.pop()
    return "^".join(parts) or None


def _organization(org: Resource | None) -> str | None:
    if not org:
        return None
    name = org.get("name", "")
    identifier = (org.get("identifier") or [{}])[0]
    value = identifier.get("value", "")
    system = identifier.get("system", "")
    if value.startswith(URN_OID):
        return f"{name}^^^^^^^^^{value.removeprefix(URN_OID)}"
    if value and system.startswith(URN_OID):
        return f"{name}^^^^^&{system.removeprefix(URN_OID)}&ISO^^^^{value}"
    return name or None


def _telecoms(resource: Resource) -> tuple[str, ...]:
    out = []
    for telecom in resource.get("telecom", []):
        if telecom.get("system") == "email" and telecom.get("value"):
            out.append(f"^^Internet^{telecom['value']}")
        elif telecom.get("value"):
            out.append(telecom["value"])
    return tuple(out)


def _cwe(concept: Resource) -> str | None:
    code = code_of(concept)
    if code is None:
        return concept.get("text")
    return f"{code.code}^{code.display_name or ''}^{code.scheme}"


def _author(reference: Resource, contained: Mapping[str, Resource], label: str) -> Author | None:
    resource = _resolve(reference, contained)
    if resource is None:
        return None  # a reference outside the Bundle: MHD Comprehensive wants them contained
    kind = resource.get("resourceType")
    if kind == "Practitioner":
        return Author(person=_xcn(resource), telecoms=_telecoms(resource))
    if kind == "Organization":
        org = _organization(resource)
        return Author(institutions=(org,) if org else ())
    if kind == "PractitionerRole":
        person = _resolve(resource.get("practitioner"), contained)
        org = _organization(_resolve(resource.get("organization"), contained))
        return Author(
            person=_xcn(person) if person else None,
            institutions=(org,) if org else (),
            roles=tuple(r for r in (_cwe(c) for c in resource.get("code", [])) if r),
            specialties=tuple(s for s in (_cwe(c) for c in resource.get("specialty", [])) if s),
            telecoms=_telecoms(resource) + (_telecoms(person) if person else ()),
        )
    if kind in ("Device", "Patient", "RelatedPerson"):
        names = resource.get("deviceName") or resource.get("name") or []
        text = names[0].get("name") or names[0].get("family") if names else None
        return Author(person=f"^{text}" if text else None)
    return None


def _person(reference: Resource | None, contained: Mapping[str, Resource]) -> str | None:
    resource = _resolve(reference, contained)
    if resource is None:
        return None
    if resource.get("resourceType") == "PractitionerRole":
        resource = _resolve(resource.get("practitioner"), contained)
    if resource is None or resource.get("resourceType") != "Practitioner":
        return None
    return _xcn(resource)


def _recipient(reference: Resource, contained: Mapping[str, Resource]) -> str | None:
    resource = _resolve(reference, contained)
    if resource is None:
        return None
    emails = [t["value"] for t in resource.get("telecom", []) if t.get("system") == "email"]
    kind = resource.get("resourceType")
    if kind == "Organization":
        return _organization(resource)
    xcn = _xcn(resource) if kind == "Practitioner" else None
    if emails:
        return f"{xcn or ''}|^^Internet^{emails[0]}"
    return xcn


def _association(
    kind: AssociationType, source: str, target: str, status: str | None = None
) -> Association:
    return Association(
        entry_uuid=new_entry_uuid(),
        association_type=kind.value,
        source=source,
        target=target,
        submission_set_status=status,
    )


__all__ = ["MAX_BUNDLE_BYTES", "Published", "publish_request", "read_bundle"]
