"""MHD search parameters as the registry's stored queries (ITI-67 and ITI-66, "XDS on FHIR").

Each search becomes one stored query that the registry answers from SQL with its access
policy and audit, exactly as ITI-18 would: FindDocuments (ITI-67), GetDocuments (ITI-67 by
`identifier`, or a read by id), FindSubmissionSets or FindFolders (ITI-66). The
translation follows MHD's tables 2:3.67.4.1.3.1-1 and 2:3.66.4.1.3.1-1:

- tokens ``system|code`` become ``code^^scheme`` (the system URI as its OID, `mhd.systems`);
  a code without a system matches that code in any coding scheme; values separated by commas
  are ORed; a repeated `event` or `security-label` is ANDed (they are AND/OR in XDS), any
  other repeated token parameter is refused;
- `patient.identifier=system|value` is the CX ``value^^^&OID&ISO``;
- dates take the prefixes MHD maps: ``ge`` (the "From" bound) and ``lt`` (the "To" bound);
  `period` selects documents whose service period overlaps it (``ge`` bounds the stop time,
  ``lt`` the start time);
- `author.family`/`author.given` become an XCN pattern (``%^family^given%``);
- `related:identifier=system|value` (the referenceIdList, ``context.related``) makes it a
  FindDocumentsByReferenceId; the identifier matches whatever its CXi type; repetitions
  are ANDed, comma-separated values ORed;
- PDSm's `isArchived` (the DMP's Archived status, shown as ``current`` with the extension):
  without it ``status=current`` finds archived documents too, ``true`` only them, ``false``
  none of them; submission sets and folders are never archived.

Parameters MHD does not define are ignored (FHIR search rules) and left out of the `self`
link; a defined parameter this responder cannot answer (`related` or `patient` as a
resource reference) is a 400 naming it, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ebrim.model import Code
from ebrim.storedquery import (
    FindDocumentsByReferenceIdQuery,
    FindDocumentsQuery,
    FindFoldersQuery,
    FindSubmissionSetsQuery,
    GetDocumentsQuery,
)
from ebrim.storedquery.params import TimeRange
from ebrim.vocabulary import AvailabilityStatus
from mhd.systems import is_oid, scheme_of
from mhd.times import BadDate, dtm_of

Params = Mapping[str, Sequence[str]]
STATUS_SYSTEM = "http://hl7.org/fhir/document-reference-status"
LIST_STATUS_SYSTEM = "http://hl7.org/fhir/list-status"
RELATED = "related:identifier"
IS_ARCHIVED = "isArchived"  # PDSm's search parameter on its extension
DEFAULT_COUNT = 50
MAX_COUNT = 500
_STATUSES = {
    "current": AvailabilityStatus.APPROVED.value,
    "superseded": AvailabilityStatus.DEPRECATED.value,
}


class SearchError(ValueError):
    """A search the responder refuses (HTTP 400, an OperationOutcome naming the parameter)."""


@dataclass(frozen=True)
class Page:
    """Which slice of the answer to return."""

    count: int = DEFAULT_COUNT
    offset: int = 0


@dataclass(frozen=True)
class Search:
    """A translated search: the stored query, the page, and the parameters it used."""

    query: Any
    page: Page
    used: dict[str, list[str]] = field(default_factory=dict)
    patient_id: str | None = None  # for GetDocuments by identifier: the patient to keep
    statuses: tuple[str, ...] = ()
    archived_only: bool = False  # PDSm's isArchived=true on a List search: nothing is


_DOCUMENT_TOKENS = {
    "category": "class_codes",
    "type": "type_codes",
    "setting": "practice_setting_codes",
    "facility": "healthcare_facility_type_codes",
    "format": "format_codes",
}
_AND_OR_TOKENS = {"event": "event_codes", "security-label": "confidentiality_codes"}
DOCUMENT_PARAMETERS = frozenset(
    {
        "patient", "patient.identifier", "status", "creation", "date", "period",
        "author.given", "author.family", "identifier", "related", RELATED, "_count", "_offset",
        "_format", "targetCommunityIdList", IS_ARCHIVED,
        *_DOCUMENT_TOKENS, *_AND_OR_TOKENS,
    }
)  # fmt: skip
LIST_PARAMETERS = frozenset(
    {
        "patient", "patient.identifier", "status", "code", "date", "designationType",
        "source.given", "source.family", "sourceId", "identifier", "_count", "_offset",
        "_format", IS_ARCHIVED,
    }
)  # fmt: skip


def document_search(params: Params) -> Search:
    """ITI-67: the FindDocuments (or GetDocuments, by `identifier`) of these parameters."""
    used = {k: list(v) for k, v in params.items() if k in DOCUMENT_PARAMETERS}
    page = _page(params)
    if "related" in params:
        raise SearchError(
            "related: this responder answers related:identifier=system|value (a referenceIdList "
            "identifier), not a resource reference"
        )
    patient = _patient(params)
    statuses = _archived(params, _statuses(params, _STATUSES, STATUS_SYSTEM))
    identifiers = _values(params, "identifier")
    if identifiers:
        uuids, unique_ids = document_identifiers(identifiers)
        if uuids and unique_ids:
            raise SearchError("identifier: give entryUUIDs or uniqueIds, not both")
        query = GetDocumentsQuery(uuids=tuple(uuids), unique_ids=tuple(unique_ids))
        return Search(query, page, used, patient_id=patient, statuses=statuses)
    fields: dict[str, Any] = {"patient_id": patient, "statuses": statuses}
    for name, attribute in _DOCUMENT_TOKENS.items():
        lists = _token_lists(params, name)
        if len(lists) > 1:
            raise SearchError(f"{name} is given {len(lists)} times: separate values by commas")
        if lists:
            fields[attribute] = lists[0]
    for name, attribute in _AND_OR_TOKENS.items():
        lists = _token_lists(params, name)
        if lists:
            fields[attribute] = tuple(lists)
    fields["creation_time"] = _range(params, "creation", _range(params, "date"))
    period = _range(params, "period")
    fields["service_stop_time"] = TimeRange(from_=period.from_)
    fields["service_start_time"] = TimeRange(to=period.to)
    pattern = _person_pattern(params, "author")
    if pattern:
        fields["author_persons"] = (pattern,)
    related = [tuple(_reference_id(v) for v in _split(raw) if v) for raw in params.get(RELATED, ())]
    if any(related):
        by_reference = FindDocumentsByReferenceIdQuery(
            **fields, reference_ids=tuple(r for r in related if r), any_type=True
        )
        return Search(by_reference, page, used)
    return Search(FindDocumentsQuery(**fields), page, used)


def list_search(params: Params) -> Search:
    """ITI-66: FindSubmissionSets (``code=submissionset``) or FindFolders (``code=folder``)."""
    used = {k: list(v) for k, v in params.items() if k in LIST_PARAMETERS}
    page = _page(params)
    codes = [c.rpartition("|")[2] for c in _values(params, "code")]
    if len(set(codes)) != 1 or codes[0] not in ("submissionset", "folder"):
        raise SearchError("code is required: submissionset or folder (one of them)")
    patient = _patient(params)
    list_statuses = {"current": _STATUSES["current"], "superseded": _STATUSES["superseded"]}
    statuses = _statuses(params, list_statuses, LIST_STATUS_SYSTEM)
    archived_only = _boolean(params, IS_ARCHIVED) is True
    designation = _token_lists(params, "designationType")
    if len(designation) > 1:
        raise SearchError("designationType is given more than once: separate values by commas")
    when = _range(params, "date")
    if codes[0] == "folder":
        return Search(
            FindFoldersQuery(
                patient_id=patient,
                statuses=statuses,
                last_update_time=when,
                codes=(designation[0],) if designation else (),
            ),
            page,
            used,
            archived_only=archived_only,
        )
    pattern = _person_pattern(params, "source")
    sources = tuple(
        v.rpartition("|")[2].removeprefix("urn:oid:") for v in _values(params, "sourceId")
    )
    return Search(
        FindSubmissionSetsQuery(
            patient_id=patient,
            statuses=statuses,
            source_ids=sources,
            submission_time=when,
            author_person=pattern,
            content_type_codes=designation[0] if designation else (),
        ),
        page,
        used,
        archived_only=archived_only,
    )


# --- parameters ------------------------------------------------------------------------------


def _values(params: Params, name: str) -> list[str]:
    """Every comma-separated value of every repetition of `name`."""
    return [v for raw in params.get(name, ()) for v in _split(raw) if v]


def _split(raw: str) -> list[str]:
    r"""Values separated by unescaped commas (``\,`` is a comma inside a value)."""
    out, current, escaped = [], [], False
    for char in raw:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            out.append("".join(current))
            current = []
        else:
            current.append(char)
    out.append("".join(current))
    return out


def _page(params: Params) -> Page:
    try:
        count = int(params.get("_count", [str(DEFAULT_COUNT)])[-1])
        offset = int(params.get("_offset", ["0"])[-1])
    except ValueError:
        raise SearchError("_count and _offset are whole numbers") from None
    if count < 0 or offset < 0:
        raise SearchError("_count and _offset are not negative")
    return Page(min(count, MAX_COUNT), offset)


def _patient(params: Params) -> str:
    if "patient" in params and "patient.identifier" not in params:
        raise SearchError(
            "patient: this responder serves no Patient resources; identify the patient with "
            "patient.identifier=system|value"
        )
    values = _values(params, "patient.identifier")
    if len(values) != 1:
        raise SearchError("patient.identifier is required, once, as system|value")
    system, bar, value = values[0].partition("|")
    if not bar or not value:
        raise SearchError(f"patient.identifier {values[0]!r} is not system|value")
    oid = scheme_of(system)
    return f"{value}^^^&{oid}&ISO"


def _statuses(params: Params, known: Mapping[str, str], system: str) -> tuple[str, ...]:
    values = _values(params, "status")
    if not values:
        raise SearchError("status is required (current, superseded)")
    out = []
    for value in values:
        given_system, bar, code = value.rpartition("|")
        if bar and given_system not in ("", system):
            raise SearchError(f"status {value!r}: the system is {system}")
        if code not in known:
            raise SearchError(f"status {code!r} is not one of {', '.join(known)}")
        out.append(known[code])
    return tuple(dict.fromkeys(out))


def _archived(params: Params, statuses: tuple[str, ...]) -> tuple[str, ...]:
    """PDSm's isArchived: a DMP archived document is ``current`` with the extension set
    (status Archived in XDS). Without the parameter ``current`` finds both; ``true`` only the
    archived, ``false`` only the others."""
    archived = _boolean(params, IS_ARCHIVED)
    approved = AvailabilityStatus.APPROVED.value
    if archived is True:
        if approved not in statuses:
            raise SearchError(f"{IS_ARCHIVED}=true: archived documents are current; ask for them")
        return (AvailabilityStatus.ARCHIVED.value,)
    if archived is None and approved in statuses:
        return (*statuses, AvailabilityStatus.ARCHIVED.value)
    return statuses


def _boolean(params: Params, name: str) -> bool | None:
    values = {v.rpartition("|")[2].lower() for v in _values(params, name)}
    if not values:
        return None
    if len(values) > 1 or not values <= {"true", "false"}:
        raise SearchError(f"{name} is true or false")
    return values == {"true"}


def _token_lists(params: Params, name: str) -> list[tuple[Code, ...]]:
    """One tuple of codes per repetition of the parameter."""
    lists = []
    for raw in params.get(name, ()):
        codes = []
        for value in _split(raw):
            if not value:
                continue
            system, bar, code = value.rpartition("|")
            if not code:
                raise SearchError(f"{name} {value!r} has no code")
            codes.append(Code(code, scheme_of(system) if bar and system else ""))
        if codes:
            lists.append(tuple(codes))
    return lists


def _range(params: Params, name: str, default: TimeRange | None = None) -> TimeRange:
    values = params.get(name, ())
    if not values:
        return default or TimeRange()
    from_ = to = None
    for value in values:
        prefix, date = value[:2], value[2:]
        try:
            if prefix == "ge":
                from_ = dtm_of(date)
            elif prefix == "lt":
                to = dtm_of(date)
            else:
                raise SearchError(f"{name}={value}: only the prefixes ge and lt are supported")
        except BadDate as exc:
            raise SearchError(f"{name}: {exc}") from None
    return TimeRange(from_=from_, to=to)


def _reference_id(value: str) -> str:
    """A related:identifier ``system|value`` as the CX of a referenceIdList value (its CX.1
    and CX.4; the registry matches it with any CXi type)."""
    system, bar, text = value.rpartition("|")
    oid = scheme_of(system) if bar else ""
    if not text or not is_oid(oid):
        raise SearchError(
            f"{RELATED} {value!r}: give system|value, the system an OID (urn:oid:…) as "
            "referenceIdList identifiers have"
        )
    if "^" in text or "&" in text:
        raise SearchError(f"{RELATED} {value!r}: the value holds an HL7 separator (^ or &)")
    return f"{text}^^^&{oid}&ISO"


def _person_pattern(params: Params, prefix: str) -> str | None:
    family = _values(params, f"{prefix}.family")
    given = _values(params, f"{prefix}.given")
    if not family and not given:
        return None
    if len(family) > 1 or len(given) > 1:
        raise SearchError(f"{prefix}.family and {prefix}.given take one value each")
    escape = str.maketrans({"%": "", "_": ""})  # LIKE wildcards are not FHIR syntax
    f = family[0].translate(escape) if family else "%"
    g = given[0].translate(escape) if given else ""
    return f"%^{f}^{g}%" if g else f"%^{f}^%"


def document_identifiers(values: Sequence[str]) -> tuple[list[str], list[str]]:
    uuids, unique_ids = [], []
    for value in values:
        system, bar, text = value.rpartition("|")
        if text.startswith("urn:uuid:"):
            uuids.append(text)
        elif text.startswith("urn:oid:"):
            unique_ids.append(text.removeprefix("urn:oid:"))
        elif bar and system.startswith("urn:oid:"):
            unique_ids.append(f"{system.removeprefix('urn:oid:')}^{text}")
        else:
            raise SearchError(
                f"identifier {value!r}: give urn:uuid:<entryUUID> or urn:oid:<uniqueId>"
            )
    return uuids, unique_ids


__all__ = [
    "Page",
    "Search",
    "SearchError",
    "document_identifiers",
    "document_search",
    "list_search",
]
