"""One validation engine for `xds validate` and the console: a report the way Gazelle's
validators give one.

`validate_message` takes what an integrator has at hand — a bare XDS body, a SOAP envelope,
a whole MTOM message, or a CDA document — finds what it is (the ITI-41/42/18/43/57/62/86
request or response), and reports:

- the schema validation against the official XSDs shipped with the server (`soap/ihe`, and
  the CDA R2 schema in `cda/schema`), each message with its line;
- for a submission, every metadata rule with its XDS error code and the object it names,
  under the profile asked for (generic IHE, or the French DMP); for a stored query, the
  request's own rules; for a response, the errors it carries;
- for a CDA document, its header read as XDS metadata would take it.

The report is data (`Report`), rendered as text, JSON or XML; nothing here does I/O but
reading the shipped schemas.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

import cda
import soap
from ebrim.errors import MetadataRejected, Severity, Transaction, XDSError, XMLRejected
from ebrim.parse import parse_submit_objects_request
from ebrim.profile import Profile
from ebrim.safexml import XMLLimits, parse_xml
from ebrim.storedquery import parse_adhoc_query_request
from ebrim.validate import validate
from ebrim.vocabulary import AssociationType, Namespace

SOAP_ENVELOPE = "{http://www.w3.org/2003/05/soap-envelope}Envelope"
_SCHEMAS = Path(soap.__file__).parent / "ihe" / "schema"
_CDA_SCHEMA = Path(cda.__file__).parent / "schema" / "CDA_extended.xsd"
LCM, QUERY, RS, XDSB, RMD = (
    Namespace.LCM.value,
    Namespace.QUERY.value,
    Namespace.RS.value,
    Namespace.XDSB.value,
    Namespace.RMD.value,
)
# root element -> (what it is, schema file, transaction whose rules apply)
_KINDS: dict[str, tuple[str, Path, Transaction | None]] = {
    f"{{{XDSB}}}ProvideAndRegisterDocumentSetRequest": (
        "ITI-41 Provide and Register Document Set-b request",
        _SCHEMAS / "IHE" / "XDS.b_DocumentRepository.xsd",
        Transaction.ITI_41,
    ),
    f"{{{LCM}}}SubmitObjectsRequest": (
        "ITI-42 Register Document Set-b request",
        _SCHEMAS / "ebRS" / "lcm.xsd",
        Transaction.ITI_42,
    ),
    f"{{{QUERY}}}AdhocQueryRequest": (
        "ITI-18 Registry Stored Query request",
        _SCHEMAS / "ebRS" / "query.xsd",
        Transaction.ITI_18,
    ),
    f"{{{QUERY}}}AdhocQueryResponse": (
        "ITI-18 Registry Stored Query response",
        _SCHEMAS / "ebRS" / "query.xsd",
        None,
    ),
    f"{{{RS}}}RegistryResponse": ("RegistryResponse", _SCHEMAS / "ebRS" / "rs.xsd", None),
    f"{{{XDSB}}}RetrieveDocumentSetRequest": (
        "ITI-43 Retrieve Document Set request",
        _SCHEMAS / "IHE" / "XDS.b_DocumentRepository.xsd",
        None,
    ),
    f"{{{XDSB}}}RetrieveDocumentSetResponse": (
        "ITI-43 Retrieve Document Set response",
        _SCHEMAS / "IHE" / "XDS.b_DocumentRepository.xsd",
        None,
    ),
    f"{{{LCM}}}RemoveObjectsRequest": (
        "ITI-62 Delete Document Set request",
        _SCHEMAS / "ebRS" / "lcm.xsd",
        Transaction.ITI_62,
    ),
    f"{{{RMD}}}RemoveDocumentsRequest": (
        "ITI-86 Remove Documents request",
        _SCHEMAS / "IHE" / "RMD.xsd",
        None,
    ),
    "{urn:hl7-org:v3}ClinicalDocument": ("CDA R2 document", _CDA_SCHEMA, None),
}


@dataclass(frozen=True)
class Finding:
    """One problem: its severity, its XDS error code (or the schema's), where, and what."""

    severity: str  # error / warning
    code: str
    location: str
    message: str


@dataclass
class Report:
    kind: str
    profile: str
    schema: str  # the schema file's name, or "" when none applies
    schema_valid: bool | None
    findings: list[Finding] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    @property
    def status(self) -> str:
        return "PASSED" if self.valid else "FAILED"

    def as_json(self) -> str:
        data = asdict(self)
        data["status"] = self.status
        return json.dumps(data, indent=2, ensure_ascii=False)

    def as_xml(self) -> bytes:
        root = etree.Element("validationReport", status=self.status)
        etree.SubElement(root, "kind").text = self.kind
        etree.SubElement(root, "profile").text = self.profile
        schema = etree.SubElement(root, "schema", file=self.schema)
        if self.schema_valid is not None:
            schema.set("valid", "true" if self.schema_valid else "false")
        for line in self.summary:
            etree.SubElement(root, "summary").text = line
        for f in self.findings:
            finding = etree.SubElement(root, "finding", severity=f.severity, code=f.code)
            finding.set("location", f.location)
            finding.text = f.message
        return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8")

    def as_text(self) -> str:
        lines = [f"{self.kind} ({self.profile} profile): {self.status}"]
        if self.schema:
            verdict = "valid" if self.schema_valid else "not valid"
            lines.append(f"  schema {self.schema}: {verdict}")
        lines += [f"  {line}" for line in self.summary]
        lines += [
            f"  {f.severity.upper()} {f.code} at {f.location or '-'}: {f.message}"
            for f in self.findings
        ]
        return "\n".join(lines)


class Unreadable(ValueError):
    """Not XML the hardened parser accepts, or not an XDS message or CDA document."""


def validate_message(
    data: bytes, profile: Profile = Profile.GENERIC, *, content_type: str | None = None
) -> Report:
    """The report on one message or document (see the module's docstring)."""
    root = _root_of(data, content_type)
    kind = _KINDS.get(root.tag)
    if kind is None:
        raise Unreadable(f"not an XDS message nor a CDA document: the root element is {root.tag}")
    name, schema_file, transaction = kind
    if root.tag == f"{{{LCM}}}SubmitObjectsRequest" and _is_update(root):
        name, transaction = "ITI-57 Update Document Set request", Transaction.ITI_57
    report = Report(name, profile.value, schema_file.name, None)
    report.schema_valid = _schema_check(root, schema_file, report)
    if transaction in (Transaction.ITI_41, Transaction.ITI_42, Transaction.ITI_57):
        _check_submission(root, transaction, profile, report)
    elif transaction is Transaction.ITI_18:
        _check_query(root, report)
    elif root.tag in (f"{{{RS}}}RegistryResponse", f"{{{QUERY}}}AdhocQueryResponse"):
        _carried_errors(root, report)
    elif root.tag == "{urn:hl7-org:v3}ClinicalDocument":
        _check_cda(data if root.getparent() is None else etree.tostring(root), report)
    return report


def _root_of(data: bytes, content_type: str | None) -> etree._Element:
    """The message's payload element: through MTOM and the SOAP envelope when present."""
    body = data
    media = (content_type or "").lower()
    if media.startswith("multipart/") or data.lstrip()[:2] == b"--":
        body = _root_part(data, content_type)
    try:
        root = parse_xml(body, XMLLimits(huge_tree=True))
    except XMLRejected as exc:
        raise Unreadable(str(exc)) from None
    if root.tag == SOAP_ENVELOPE:
        payload = next(
            (c for b in root if b.tag.endswith("}Body") for c in b if isinstance(c.tag, str)),
            None,
        )
        if payload is None:
            raise Unreadable("the SOAP envelope has an empty Body")
        return payload
    return root


def _root_part(data: bytes, content_type: str | None) -> bytes:
    """The first part of a multipart message (the SOAP envelope of an MTOM message)."""
    import io

    from soap.mtom import parse_content_type
    from soap.multipart import split_multipart

    boundary = parse_content_type(content_type or "")[1].get("boundary")
    if not boundary:
        first = data.lstrip().split(b"\r\n", 1)[0]
        boundary = first[2:].decode("latin-1").strip()
    try:
        parts = split_multipart(io.BytesIO(data), boundary)
    except Exception as exc:  # a Sender fault: malformed or truncated
        raise Unreadable(f"not a readable multipart message: {exc}") from None
    if not parts:
        raise Unreadable("the multipart message has no part")
    return parts[0].body.read()


class _LocalCopies(etree.Resolver):
    """The W3C's xml.xsd, which the ebRS schemas import by URL, from the shipped copy."""

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:  # type: ignore[override]
        if system_url == "http://www.w3.org/2001/xml.xsd":
            return self.resolve_filename(str(_SCHEMAS / "xml.xsd"), context)  # type: ignore[attr-defined]
        return None


@cache
def _schema(path: Path) -> etree.XMLSchema:
    # Files shipped with the server: trusted, read with lxml's parser, never the network.
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_LocalCopies())
    return etree.XMLSchema(etree.parse(str(path), parser))


def _schema_check(root: etree._Element, schema_file: Path, report: Report) -> bool:
    schema = _schema(schema_file)
    document = etree.ElementTree(etree.fromstring(etree.tostring(root)))
    if schema.validate(document):
        return True
    for entry in schema.error_log:  # type: ignore[attr-defined]  # iterable at run time
        report.findings.append(
            Finding(
                "error",
                "XSD",
                f"line {entry.line}",
                entry.message.replace("{", "").replace("}", " "),
            )
        )
    return False


def _is_update(root: etree._Element) -> bool:
    """A SubmitObjectsRequest is an ITI-57 when it changes a status or versions an entry."""
    status_change = AssociationType.UPDATE_AVAILABILITY_STATUS.value
    for element in root.iter():
        if element.get("associationType") == status_change:
            return True
        if element.get("name") == "PreviousVersion":
            return True
    return False


def _check_submission(
    root: etree._Element, transaction: Transaction, profile: Profile, report: Report
) -> None:
    request = root
    if transaction is Transaction.ITI_41:
        found = root.find(f"{{{LCM}}}SubmitObjectsRequest")
        if found is None:
            report.findings.append(
                Finding(
                    "error",
                    transaction.metadata_error.value,
                    "ProvideAndRegisterDocumentSetRequest",
                    "no SubmitObjectsRequest",
                )
            )
            return
        request = found
    try:
        metadata = parse_submit_objects_request(request, transaction=transaction)
    except MetadataRejected as exc:
        report.findings += [_finding(e) for e in exc.errors]
        return
    submission_set = metadata.submission_set
    report.summary.append(
        f"patient {submission_set.patient_id if submission_set else '?'}: "
        f"{len(metadata.documents)} document(s), {len(metadata.folders)} folder(s), "
        f"{len(metadata.associations)} association(s)"
    )
    for doc in metadata.documents:
        report.summary.append(f"document {doc.entry_uuid}: uniqueId {doc.unique_id}")
    report.findings += [
        _finding(e) for e in validate(metadata, transaction=transaction, profile=profile)
    ]


def _check_query(root: etree._Element, report: Report) -> None:
    try:
        request = parse_adhoc_query_request(root)
    except MetadataRejected as exc:
        report.findings += [_finding(e) for e in exc.errors]
        return
    report.summary.append(
        f"stored query {type(request.query).__name__}, returnType {request.return_type.value}"
    )


def _carried_errors(root: etree._Element, report: Report) -> None:
    status = root.get("status", "")
    report.summary.append(f"status {status.rsplit(':', 1)[-1] or '?'}")
    for error in root.iter(f"{{{RS}}}RegistryError"):
        severity = "warning" if error.get("severity", "").endswith("Warning") else "error"
        report.findings.append(
            Finding(
                severity,
                error.get("errorCode", ""),
                error.get("location") or "",
                f"(carried by the response) {error.get('codeContext', '')}",
            )
        )


def _check_cda(data: bytes, report: Report) -> None:
    try:
        header = cda.read_header(data)
    except cda.CdaError as exc:
        report.findings.append(Finding("error", type(exc).__name__, "ClinicalDocument", str(exc)))
        return
    report.summary += [
        f"patient {header.patient_id}",
        f"document {header.unique_id}: {header.title or '(no title)'}",
    ]


def _finding(error: XDSError) -> Finding:
    return Finding(
        "warning" if error.severity is Severity.WARNING else "error",
        error.code.value,
        error.location or "",
        error.message,
    )


__all__ = ["Finding", "Report", "Unreadable", "validate_message"]
