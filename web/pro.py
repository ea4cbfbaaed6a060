"""The professional's pages at /portal/pro: find a patient's documents, open one, and in an
emergency break the glass (or act as centre 15) with a reason the patient will read.

The professional is their personal certificate (a CPS card's, `pki.professional`), read from
the TLS connection or from a trusted TLS-terminating proxy, as the SOAP side reads an
establishment's. Every search and every opened document goes through the registry with a
`Requester` built from that certificate (direct authentication, the profession from the
certificate, the purpose chosen on the page and, in an emergency, the reason), so the
consultation policy, its refusals and the audit trail are those of ITI-18 and ITI-43; a
refusal is shown in the registry's words. A session cookie bound to the certificate's
professional carries the forms' CSRF token; searches are POSTed, so no patient identifier
enters a URL or a log line.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ebrim.dmp_value_sets import TYPE_CODE_NAMES
from ebrim.hl7 import CX
from ebrim.model import Code as MetadataCode
from ebrim.storedquery import FindDocumentsQuery, GetDocumentsQuery, StoredQueryRequest
from ebrim.storedquery.params import TimeRange
from ebrim.vocabulary import AvailabilityStatus, ResponseStatus
from pki.assertion import Requester
from pki.assertion.model import Code
from pki.assertion.names import (
    PROFESSION_SYSTEM,
    PURPOSE_OF_USE_SYSTEM,
    AuthenticationMode,
    PurposeOfUse,
)
from pki.professional import Professional, professional_of
from soap.settings import SoapSettings
from soap.tls import client_identity
from web.pages import cookies, set_cookie
from web.reading import read_for
from web.sessions import Session, Sessions

PRO_COOKIE = "xds_pro"
PURPOSES = {
    PurposeOfUse.NORMAL.value: "Normal access",
    PurposeOfUse.BREAK_THE_GLASS.value: "Emergency: break the glass",
    PurposeOfUse.EMERGENCY_REGULATION.value: "Emergency regulation (centre 15)",
}
_VISIBLE = (AvailabilityStatus.APPROVED.value, AvailabilityStatus.ARCHIVED.value)
_WITH_OLDER = (*_VISIBLE, AvailabilityStatus.DEPRECATED.value)
# The search form's document types: the DMP's typeCode value set (JDV_J07), by name.
DOCUMENT_TYPES = {
    f"{code}|{system}": name
    for (code, system), name in sorted(TYPE_CODE_NAMES.items(), key=lambda item: item[1])
}


def professional_requester(
    who: Professional, patient_id: str, purpose: str, reason: str | None
) -> Requester:
    """The professional as the policy reads a VIHF in direct authentication (their card)."""
    profession = who.profession or "10"
    return Requester(
        assertion_id=f"pro-portal-{uuid.uuid4()}",
        issuer="xds-pro-portal",
        signer="personal certificate",
        professional_id=who.professional_id,
        name=who.name,
        roles=(Code(profession, PROFESSION_SYSTEM),),
        structure_id=who.structure_id,
        organisation=None,
        authentication_mode=AuthenticationMode.DIRECT.value,
        purpose_of_use=Code(purpose, PURPOSE_OF_USE_SYSTEM),
        patient_id=patient_id,
        sector=None,
        software=None,
        vihf_version=None,
        issue_instant=datetime.now(UTC),
        reason=reason if purpose != PurposeOfUse.NORMAL.value else None,
    )


class ProPages:
    """The /portal/pro pages; `PortalApplication` routes to them."""

    def __init__(
        self,
        registry: Any,
        repository: Any,
        sessions: Sessions,
        soap_settings: SoapSettings,
        *,
        secure_cookie: bool = False,  # clients come over HTTPS, even if through a TLS proxy
    ) -> None:
        self.registry = registry
        self.repository = repository
        self.sessions = sessions
        self.soap_settings = soap_settings
        self.secure_cookie = secure_cookie

    def professional(self, environ: dict[str, Any]) -> Professional | None:
        client = client_identity(environ, self.soap_settings)
        return professional_of(client.certificate) if client is not None else None

    def session(self, environ: dict[str, Any], who: Professional) -> tuple[Session, str | None]:
        """The professional's session, or a new one (and the Set-Cookie value to send)."""
        secret = cookies(environ).get(PRO_COOKIE)
        found = self.sessions.find(secret)
        if (
            found is not None
            and found.kind == "professional"
            and found.subject == who.professional_id
        ):
            return found, None
        secret = self.sessions.open("professional", who.professional_id, who.name)
        fresh = self.sessions.find(secret)
        assert fresh is not None
        secure = self.secure_cookie or environ.get("wsgi.url_scheme") == "https"
        return fresh, set_cookie(PRO_COOKIE, secret, path="/portal/pro", secure=secure)

    def search(
        self, who: Professional, form: dict[str, str]
    ) -> tuple[list[Any], str | None, dict[str, str]]:
        """The documents the policy shows this professional, found with the ITI-18 criteria
        the form offers; or the refusal, in words."""
        asked = _asked(form)
        if asked.get("problem"):
            return [], asked["problem"], asked
        try:
            query = _find_documents(asked, form)
        except ValueError as exc:
            return [], str(exc), asked
        requester = professional_requester(who, asked["patient"], asked["purpose"], asked["reason"])
        result = self.registry.query(StoredQueryRequest(query), requester=requester)
        if result.response.status is ResponseStatus.FAILURE:
            return [], result.response.errors[0].message, asked
        docs = list(result.metadata.documents) if result.metadata else []
        docs.sort(key=lambda d: d.creation_time or "", reverse=True)
        return docs, None, asked

    def open(self, who: Professional, form: dict[str, str]) -> bytes | str:
        """The document's bytes, or the refusal in words."""
        asked = _asked(form)
        if asked.get("problem"):
            return asked["problem"]
        entry = form.get("document", "")
        requester = professional_requester(who, asked["patient"], asked["purpose"], asked["reason"])
        found = self.registry.query(
            StoredQueryRequest(GetDocumentsQuery(uuids=(entry,))), requester=requester
        )
        docs = found.metadata.documents if found.metadata else ()
        if found.response.status is ResponseStatus.FAILURE:
            return found.response.errors[0].message
        if not docs or self.repository is None:
            return "No such document for this patient."
        data = read_for(self.registry, self.repository, requester, docs[0])
        return data if data is not None else "This document cannot be read."


def _find_documents(asked: dict[str, str], form: dict[str, str]) -> FindDocumentsQuery:
    """FindDocuments from the form's criteria (ValueError, in words, for a wrong one); each
    criterion given is kept in `asked` for the page to show again."""
    chosen = form.get("type", "")
    if chosen and chosen not in DOCUMENT_TYPES:
        raise ValueError("Choose the document type in the list.")
    types = (MetadataCode(*chosen.split("|", 1)),) if chosen else ()
    start, end = _day(form.get("created_from", "")), _day(form.get("created_to", ""))
    if start and end and end < start:
        raise ValueError("The period ends before it starts.")
    created = TimeRange(
        start.strftime("%Y%m%d") if start else None,
        (end + timedelta(days=1)).strftime("%Y%m%d") if end else None,  # `to` is exclusive
    )
    name = re.sub(r"[%_^\\]", "", form.get("author", "")).strip()[:100]
    older = form.get("older") == "yes"
    asked.update(type=chosen, created_from=form.get("created_from", ""), author=name)
    asked.update(created_to=form.get("created_to", ""), older="yes" if older else "")
    return FindDocumentsQuery(
        patient_id=asked["patient"],
        statuses=_WITH_OLDER if older else _VISIBLE,
        type_codes=types,
        creation_time=created,
        author_persons=(f"%{name}%",) if name else (),
    )


def _day(text: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError("A date is written YYYY-MM-DD.") from None


def _asked(form: dict[str, str]) -> dict[str, str]:
    """The search form, checked: a patient id, a purpose, a reason in an emergency."""
    patient = form.get("patient", "").strip()
    purpose = form.get("purpose", PurposeOfUse.NORMAL.value)
    reason = form.get("reason", "").strip()
    out = {"patient": patient, "purpose": purpose, "reason": reason}
    if purpose not in PURPOSES:
        out["problem"] = "Choose how you access the record."
    elif not patient or len(patient) > 256:
        out["problem"] = "Give the patient's identifier (INS)."
    elif purpose != PurposeOfUse.NORMAL.value and len(reason) < 10:
        out["problem"] = (
            "An emergency access needs its reason (10 characters at least): "
            "the patient will read it."
        )
    else:
        try:
            cx = CX.parse(patient)
        except ValueError:
            cx = None
        if cx is None or not cx.id_number or not cx.assigning_authority.universal_id:
            out["problem"] = (
                "The patient's identifier is id^^^&OID&ISO (an INS: …&1.2.250.1.213.1.4.10&ISO)."
            )
    return out


__all__ = ["DOCUMENT_TYPES", "PRO_COOKIE", "PURPOSES", "ProPages", "professional_requester"]
