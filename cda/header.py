"""The CDA R2 header read into XDS metadata (CI-SIS "structuration minimale" mapping).

`read_header(data)` parses with the project's hardened parser and returns a `CdaHeader`:
everything XDS can learn from the document itself. `CdaHeader.document_entry()` turns it
into a DocumentEntry; what the CDA does not say (classCode, the DMP masking flags, the
submission set's own ids) is the submitter's to add.

Where the CDA is silent, the field is None or empty and `ebrim.validate` says what is
missing; only a document without an id or a patient is refused (`IncompleteHeader`),
because no metadata can name it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from lxml import etree

from cda.codes import code_of, code_string, format_code
from cda.errors import CdaTooLarge, CdaUnreadable, IncompleteHeader, NotCda, WrongNamespace
from cda.names import HL7, NS, cx, hl7_escape, is_ins, name_parts, text_of, unique_id, xcn, xon
from cda.times import ts_to_utc_dtm
from ebrim.errors import XMLRejected, XMLTooLarge
from ebrim.model import Author, Code, DocumentEntry, LocalizedString
from ebrim.safexml import DEFAULT_MAX_BYTES, XMLLimits, parse_xml

CDA_MIME_TYPE = "text/xml"
ORDER_REFERENCE_TYPE = "urn:ihe:iti:xds:2013:order"
CLINICAL_DOCUMENT = "ClinicalDocument"


@dataclass(frozen=True)
class Patient:
    """The recordTarget: ids as CX (INS first when present), name, birth time, gender."""

    ids: tuple[str, ...]
    family_name: str = ""
    given_name: str = ""
    birth_time: str | None = None
    gender: str | None = None


@dataclass(frozen=True)
class RelatedDocument:
    """A relatedDocument: its typeCode (RPLC, APND, XFRM) and the parent document's uniqueIds."""

    type_code: str
    unique_ids: tuple[str, ...]


@dataclass(frozen=True)
class CdaHeader:
    """What a CDA R2 header says, already in the wire forms of XDS metadata."""

    unique_id: str
    patient_id: str
    source_patient_id: str
    patient: Patient
    type_code: Code | None
    confidentiality_code: Code | None
    language_code: str | None
    title: str | None
    creation_time: str | None
    authors: tuple[Author, ...]
    legal_authenticator: str | None
    service_start_time: str | None
    service_stop_time: str | None
    event_codes: tuple[Code, ...]
    format_code: Code | None
    healthcare_facility_type_code: Code | None
    practice_setting_code: Code | None
    reference_ids: tuple[str, ...]
    related_documents: tuple[RelatedDocument, ...]
    template_ids: tuple[str, ...]
    set_id: str | None
    version_number: str | None
    level: int  # 1: nonXMLBody (embedded file), 3: structuredBody
    body_media_type: str | None  # the nonXMLBody's mediaType
    hash: str  # sha-1 of the bytes, hexadecimal
    size: int
    mime_type: str = CDA_MIME_TYPE
    source_patient_info: tuple[str, ...] = field(default=())

    @property
    def patient_ids(self) -> tuple[str, ...]:
        return self.patient.ids

    def document_entry(
        self,
        entry_id: str = "Document01",
        *,
        class_code: Code | None = None,
        confidentiality_codes: tuple[Code, ...] = (),
    ) -> DocumentEntry:
        """The DocumentEntry of this document.

        `class_code` comes from the submitter (CI-SIS derives it from typeCode through the
        ASS_X04 table, which this package does not carry); `confidentiality_codes` are added
        after the document's own N/R/V code (the DMP masking flags are not in the CDA).
        """
        level = (self.confidentiality_code,) if self.confidentiality_code else ()
        return DocumentEntry(
            entry_uuid=entry_id,
            mime_type=self.mime_type,
            title=LocalizedString(self.title, lang=self.language_code) if self.title else None,
            unique_id=self.unique_id,
            patient_id=self.patient_id,
            source_patient_id=self.source_patient_id,
            source_patient_info=self.source_patient_info,
            authors=self.authors,
            class_code=class_code,
            confidentiality_codes=(*level, *confidentiality_codes),
            event_codes=self.event_codes,
            format_code=self.format_code,
            healthcare_facility_type_code=self.healthcare_facility_type_code,
            practice_setting_code=self.practice_setting_code,
            type_code=self.type_code,
            creation_time=self.creation_time,
            service_start_time=self.service_start_time,
            service_stop_time=self.service_stop_time,
            hash=self.hash,
            size=str(self.size),
            language_code=self.language_code,
            legal_authenticator=self.legal_authenticator,
            reference_ids=self.reference_ids,
        )


# An ANS self-presented ("autoprésentable") document is an XSLT stylesheet that displays
# itself: the ClinicalDocument sits in xsl:stylesheet/data:Contenu (data = urn:asip-sante:ci-sis).
# Its metadata is the embedded document's; the bytes stored are the whole file, as submitted.
XSL = "http://www.w3.org/1999/XSL/Transform"
CI_SIS = "urn:asip-sante:ci-sis"
SELF_PRESENTED_ROOT = f"{{{XSL}}}stylesheet"
SELF_PRESENTED_PATH = f"{{{CI_SIS}}}Contenu/{{{HL7}}}{CLINICAL_DOCUMENT}"


def clinical_document_in(root: etree._Element) -> etree._Element | None:
    """The ClinicalDocument of a parsed document (itself, or the one a self-presented document
    embeds); None when it holds none."""
    if root.tag == SELF_PRESENTED_ROOT:
        return root.find(SELF_PRESENTED_PATH)
    return root if root.tag == f"{{{HL7}}}{CLINICAL_DOCUMENT}" else None


def parse_cda(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, blank_text: bool = True
) -> etree._Element:
    """The ClinicalDocument element of `data`, or a `CdaError` naming the problem.

    `data` is a ClinicalDocument, or an ANS self-presented document embedding one.
    `blank_text=False`: without the whitespace between elements (`safexml.make_parser`),
    for a reader of elements and attributes only, such as `checked_fields`."""
    if len(data) > max_bytes:
        raise CdaTooLarge(f"document of {len(data)} bytes exceeds the limit of {max_bytes}")
    try:
        root = parse_xml(data, XMLLimits(max_bytes=max_bytes), blank_text=blank_text)
    except XMLTooLarge as exc:
        raise CdaTooLarge(str(exc)) from None
    except XMLRejected as exc:
        raise CdaUnreadable(f"not readable as XML: {exc}") from None
    if root.tag == SELF_PRESENTED_ROOT:
        inner = root.find(SELF_PRESENTED_PATH)
        if inner is None:
            raise NotCda(
                "an xsl:stylesheet without the data:Contenu/ClinicalDocument of an ANS "
                "self-presented document"
            )
        root = inner
    name = etree.QName(root)
    if name.localname != CLINICAL_DOCUMENT:
        raise NotCda(f"root element is {name.localname!r}, not ClinicalDocument")
    if name.namespace != HL7:
        raise WrongNamespace(
            f"ClinicalDocument is in namespace {name.namespace or '(none)'!r}, not {HL7}"
        )
    return root


def read_header(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> CdaHeader:
    """Read the header of a CDA R2 document (level 1 or 3) into a `CdaHeader`."""
    root = parse_cda(data, max_bytes=max_bytes)
    return header_of(root, hash=hashlib.sha1(data).hexdigest(), size=len(data))


@dataclass(frozen=True)
class CheckedFields:
    """What the ITI-41 consistency check compares (`cda.compare`), without the rest."""

    unique_id: str
    patient_ids: tuple[str, ...]
    type_code: Code | None
    confidentiality_code: Code | None
    creation_time: str | None


def checked_fields(root: etree._Element) -> CheckedFields:
    """The fields `compare` needs, read from a parsed ClinicalDocument.

    The repository reads these for every CDA it receives: authors, names and the other
    parts of `header_of` would cost as much again and are not compared.
    """
    document_id = _child(root, "id")
    if document_id is None or not (document_id.get("root") or "").strip():
        raise IncompleteHeader("ClinicalDocument/id (with a root) is missing")
    return CheckedFields(
        unique_id=unique_id(document_id),
        patient_ids=_patient_ids(_patient_role(root)),
        type_code=code_of(_child(root, "code")),
        confidentiality_code=code_of(_child(root, "confidentialityCode")),
        creation_time=_time(_child(root, "effectiveTime"), "effectiveTime"),
    )


def _child(element: etree._Element, name: str) -> etree._Element | None:
    """The first child named `name` in the HL7 namespace (`find` without its path parser)."""
    return next(element.iterchildren(f"{{{HL7}}}{name}"), None)


def header_of(root: etree._Element, *, hash: str, size: int) -> CdaHeader:
    """The `CdaHeader` of a parsed ClinicalDocument whose bytes have `hash` and `size`."""
    document_id = root.find("h:id", NS)
    if document_id is None or not (document_id.get("root") or "").strip():
        raise IncompleteHeader("ClinicalDocument/id (with a root) is missing")
    patient = _patient(root)
    start, stop = _service_times(root)
    body_text = root.find("h:component/h:nonXMLBody/h:text", NS)
    media_type = None if body_text is None else (body_text.get("mediaType") or "text/plain")
    template_ids = tuple(
        t.get("root", "").strip() for t in root.findall("h:templateId", NS) if t.get("root")
    )
    language = root.find("h:languageCode", NS)
    title = text_of(root.find("h:title", NS)) or None
    version = root.find("h:versionNumber", NS)
    set_id = root.find("h:setId", NS)
    return CdaHeader(
        unique_id=unique_id(document_id),
        patient_id=patient.ids[0],
        source_patient_id=_source_patient_id(patient),
        patient=patient,
        type_code=code_of(root.find("h:code", NS)),
        confidentiality_code=code_of(root.find("h:confidentialityCode", NS)),
        language_code=(language.get("code") if language is not None else None) or None,
        title=title,
        creation_time=_time(root.find("h:effectiveTime", NS), "effectiveTime"),
        authors=tuple(a for a in map(_author, root.findall("h:author", NS)) if a),
        legal_authenticator=_legal_authenticator(root),
        service_start_time=start,
        service_stop_time=stop,
        event_codes=_event_codes(root),
        format_code=format_code(template_ids, media_type),
        healthcare_facility_type_code=code_of(
            root.find(
                "h:componentOf/h:encompassingEncounter/h:location/h:healthCareFacility/h:code", NS
            )
        ),
        practice_setting_code=code_of(
            root.find(
                "h:documentationOf/h:serviceEvent/h:performer/h:assignedEntity/"
                "h:representedOrganization/h:standardIndustryClassCode",
                NS,
            )
        ),
        reference_ids=_reference_ids(root),
        related_documents=_related_documents(root),
        template_ids=template_ids,
        set_id=unique_id(set_id) if set_id is not None and set_id.get("root") else None,
        version_number=(version.get("value") if version is not None else None) or None,
        level=1 if body_text is not None else 3,
        body_media_type=media_type,
        hash=hash,
        size=size,
        source_patient_info=_source_patient_info(patient),
    )


def _time(element: etree._Element | None, what: str) -> str | None:
    value = element.get("value") if element is not None else None
    if not value:
        return None
    try:
        return ts_to_utc_dtm(value)
    except IncompleteHeader as exc:
        raise IncompleteHeader(f"{what}: {exc}") from None


def _patient_role(root: etree._Element) -> etree._Element:
    target = _child(root, "recordTarget")
    role = _child(target, "patientRole") if target is not None else None
    if role is None:
        raise IncompleteHeader("recordTarget/patientRole is missing")
    return role


def _patient_ids(role: etree._Element) -> tuple[str, ...]:
    """The patient's ids as CX, the INS first."""
    id_elements = list(role.iterchildren(f"{{{HL7}}}id"))
    ordered = [e for e in id_elements if is_ins(e)] + [e for e in id_elements if not is_ins(e)]
    ids = tuple(value for value in map(cx, ordered) if value)
    if not ids:
        raise IncompleteHeader("recordTarget/patientRole/id has no id with root and extension")
    return ids


def _patient(root: etree._Element) -> Patient:
    role = _patient_role(root)
    ids = _patient_ids(role)
    person = role.find("h:patient", NS)
    if person is None:
        return Patient(ids)
    family, given, _, _ = name_parts(person.find("h:name", NS))
    birth = person.find("h:birthTime", NS)
    birth_value = birth.get("value") if birth is not None else None
    gender = person.find("h:administrativeGenderCode", NS)
    return Patient(
        ids=ids,
        family_name=family,
        given_name=given,
        # a birth date is a calendar date: its digits, never shifted to UTC
        birth_time="".join(ch for ch in (birth_value or "")[:14] if ch.isdigit()) or None,
        gender=(gender.get("code") if gender is not None else None) or None,
    )


def _source_patient_id(patient: Patient) -> str:
    """The id the source knows the patient by: its local id when the CDA has one besides the INS."""
    local = [value for value in patient.ids if not value.endswith("^NH")]
    return local[0] if local else patient.ids[0]


def _source_patient_info(patient: Patient) -> tuple[str, ...]:
    lines = [f"PID-3|{value}" for value in patient.ids]
    if patient.family_name or patient.given_name:
        lines.append(f"PID-5|{hl7_escape(patient.family_name)}^{hl7_escape(patient.given_name)}")
    if patient.birth_time:
        lines.append(f"PID-7|{patient.birth_time}")
    if patient.gender:
        lines.append(f"PID-8|{hl7_escape(patient.gender)}")
    return tuple(lines)


def _author(author: etree._Element) -> Author | None:
    assigned = author.find("h:assignedAuthor", NS)
    if assigned is None:
        return None
    person = xcn(assigned.find("h:id", NS), assigned.find("h:assignedPerson/h:name", NS))
    institution = xon(assigned.find("h:representedOrganization", NS))
    role = code_of(author.find("h:functionCode", NS))
    specialty = code_of(assigned.find("h:code", NS))
    if person is None and institution is None:
        return None
    return Author(
        person=person,
        institutions=(institution,) if institution else (),
        roles=(code_string(role),) if role else (),
        specialties=(code_string(specialty),) if specialty else (),
    )


def _legal_authenticator(root: etree._Element) -> str | None:
    entity = root.find("h:legalAuthenticator/h:assignedEntity", NS)
    if entity is None:
        return None
    return xcn(entity.find("h:id", NS), entity.find("h:assignedPerson/h:name", NS))


def _service_times(root: etree._Element) -> tuple[str | None, str | None]:
    """low and high of the first serviceEvent that has an effectiveTime (the main act)."""
    for event in root.findall("h:documentationOf/h:serviceEvent", NS):
        period = event.find("h:effectiveTime", NS)
        if period is None:
            continue
        low = _time(period.find("h:low", NS), "serviceEvent/effectiveTime/low")
        high = _time(period.find("h:high", NS), "serviceEvent/effectiveTime/high")
        if low is None and high is None:
            low = high = _time(period, "serviceEvent/effectiveTime")
        return low, high
    return None, None


def _event_codes(root: etree._Element) -> tuple[Code, ...]:
    codes = (code_of(e) for e in root.findall("h:documentationOf/h:serviceEvent/h:code", NS))
    unique: dict[tuple[str, str], Code] = {}
    for code in codes:
        if code is not None:
            unique.setdefault((code.code, code.scheme), code)
    return tuple(unique.values())


def _reference_ids(root: etree._Element) -> tuple[str, ...]:
    """The orders this document fulfils, as CXi ``id^^^&root&ISO^urn:ihe:iti:xds:2013:order``."""
    values = []
    for order_id in root.findall("h:inFulfillmentOf/h:order/h:id", NS):
        order = cx(order_id)
        if order is None:  # an id given by its root alone (e.g. a UUID)
            alone = (order_id.get("root") or "").strip()
            order = f"{hl7_escape(alone)}^^^" if alone else None
        if order is not None:
            values.append(f"{order}^{ORDER_REFERENCE_TYPE}")
    return tuple(values)


def _related_documents(root: etree._Element) -> tuple[RelatedDocument, ...]:
    related = []
    for element in root.findall("h:relatedDocument", NS):
        ids = tuple(
            unique_id(i)
            for i in element.findall("h:parentDocument/h:id", NS)
            if (i.get("root") or "").strip()
        )
        related.append(RelatedDocument(element.get("typeCode") or "", ids))
    return tuple(related)


__all__ = [
    "CDA_MIME_TYPE",
    "CdaHeader",
    "CheckedFields",
    "Patient",
    "RelatedDocument",
    "checked_fields",
    "header_of",
    "parse_cda",
    "read_header",
]
