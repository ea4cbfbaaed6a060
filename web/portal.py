"""The patient's pages at /portal/patient, on the registry's own policy and audit.

Every page acts through the registry's API with a `Requester` that is the patient (the
role ONESELF, the patient's id as subject), exactly as a signed VIHF of the patient would
over SOAP: the consultation policy chooses what is listed and opened (INVISIBLE_PATIENT
documents stay hidden), ITI-57's version policy decides a masking change (MASQUE_PS is the
patient's to set or lift), and each action leaves its audit event. Nothing here reads or
writes the registry's tables around that.

How the patient logs in: by OpenID Connect (`web.oidc`), or by a one-time link from
`xds portal link PATIENT-ID` when the server runs with ``--portal-links`` (off by default).
The professional's pages (`web.pro`) are routed from here too. The session is a cookie
(`web.sessions`); every form carries the session's CSRF token; no patient identifier goes
into a URL (documents are named by their entryUUID, checked against the session's patient
on every request).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs, unquote

from ebrim.hl7 import patient_key
from ebrim.model import Code as MetadataCode
from ebrim.model import DocumentEntry
from ebrim.storedquery import FindDocumentsQuery, GetDocumentsQuery, StoredQueryRequest
from ebrim.update import UpdateSource, new_version
from ebrim.vocabulary import AvailabilityStatus, ResponseStatus
from pki.assertion import Requester
from pki.assertion.model import Code
from registry.audit import AuditEvent
from registry.policy.decide import RequesterKind
from registry.policy.visibility import FLAG_NAMES, MASQUE_PS
from registry.times import now_dtm
from soap.records_operations import perform
from soap.records_xml import RecordAction, RecordRequest
from soap.settings import SoapSettings
from web.i18n import DEFAULT, LANG_COOKIE, LANGUAGES, language_of, translator
from web.oidc import OidcClient, OidcError, OidcSettings
from web.pages import Answer, cookies, document_answer, form, set_cookie, templates
from web.pro import DOCUMENT_TYPES, PURPOSES, ProPages
from web.reading import read_for
from web.sessions import COOKIE, Session, Sessions, csrf_ok

log = logging.getLogger("web.portal")
OIDC_COOKIE = "xds_oidc"
PATIENT, REPRESENTATIVE = "patient", "representative"  # the kinds of a patient-side session
INS_AUTHORITY = "1.2.250.1.213.1.4.10"  # the INS-NIR's OID
_LANGUAGE: ContextVar[str] = ContextVar("portal_language", default=DEFAULT)
StartResponse = Callable[..., Any]
PREFIX = "/portal"
ONESELF = Code("ONESELF", "2.16.840.1.113883.5.111", "Soi-même")  # the patient's own role
GUARD = Code("GUARD", "2.16.840.1.113883.5.111", "Représentant légal")  # acting for the patient
_RECORD_ACTIONS = {
    "block": RecordAction.BLOCK,
    "unblock": RecordAction.UNBLOCK,
    "revoke": RecordAction.REVOKE,
    "oppose": RecordAction.OPPOSE_EMERGENCY_ACCESS,
    "close": RecordAction.CLOSE,
    "reopen": RecordAction.REOPEN,
}
MAX_FORM_BYTES = 64 * 1024  # the pages' forms are a few fields
_VISIBLE = (AvailabilityStatus.APPROVED.value, AvailabilityStatus.ARCHIVED.value)


@dataclass(frozen=True)
class PortalSettings:
    links: bool = False  # one-time login links (`xds portal link`)
    secure_cookie: bool = False  # clients come over HTTPS (--tls, or an https public URL)
    source_id: str = "2.25.0"  # the sourceId of the ITI-57 submissions the pages make
    oidc: OidcSettings | None = None  # the patient's login by OpenID Connect
    base_url: str = "http://127.0.0.1:8080"  # where the provider sends the patient back
    ins_authority: str = INS_AUTHORITY  # a bare INS claim is an id in this authority


def patient_requester(patient_id: str, representative: str | None = None) -> Requester:
    """The patient acting for themselves (the role ONESELF), or their legal representative
    acting for them (GUARD, under the representative's own id), as the policy reads a
    patient's or a representative's VIHF."""
    return Requester(
        assertion_id=f"portal-{uuid.uuid4()}",
        issuer="xds-portal",
        signer="xds-portal session",
        professional_id=representative or patient_id.split("^", 1)[0],
        name="legal representative" if representative else "patient",
        roles=(GUARD if representative else ONESELF,),
        structure_id=None,
        organisation=None,
        authentication_mode=None,
        purpose_of_use=None,
        patient_id=patient_id,
        sector=None,
        software=None,
        vihf_version=None,
        issue_instant=datetime.now(UTC),
    )


class PortalApplication:
    def __init__(
        self,
        registry: Any,
        repository: Any,
        sessions: Sessions,
        settings: PortalSettings,
        soap_settings: SoapSettings | None = None,
    ) -> None:
        self.registry = registry
        self.repository = repository
        self.sessions = sessions
        self.settings = settings
        self.oidc = OidcClient(settings.oidc) if settings.oidc is not None else None
        self.pro = (
            ProPages(
                registry, repository, sessions, soap_settings, secure_cookie=settings.secure_cookie
            )
            if soap_settings is not None
            else None
        )
        self.templates = templates()

    @staticmethod
    def serves(path: str) -> bool:
        return path == PREFIX or path.startswith(PREFIX + "/")

    @staticmethod
    def open_to_patients(path: str) -> bool:
        """The patient's side: reached without a client certificate (the professional's,
        /portal/pro, never)."""
        return PortalApplication.serves(path) and _parts(path)[:1] != ["pro"]

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        asked = parse_qs(environ.get("QUERY_STRING", "")).get("lang", [None])[-1]
        chosen = _LANGUAGE.set(language_of(asked, cookies(environ).get(LANG_COOKIE)))
        try:
            answer = self._route(environ)
            if asked in LANGUAGES:
                answer.headers.append(
                    (
                        "Set-Cookie",
                        set_cookie(
                            LANG_COOKIE, asked, path=PREFIX, same_site="Lax", http_only=False
                        ),
                    )
                )
        except Exception:
            log.exception("portal page failed")
            answer = Answer("500 Internal Server Error", b"portal error\n", "text/plain")
        finally:
            _LANGUAGE.reset(chosen)
        return answer.send(start_response)

    # --- routing -----------------------------------------------------------------------------

    def _route(self, environ: dict[str, Any]) -> Answer:
        parts = _parts(environ.get("PATH_INFO", ""))
        method = environ.get("REQUEST_METHOD", "GET")
        if parts == ["login"]:
            return self._login(environ)
        if parts == ["oidc", "start"]:
            return self._oidc_start()
        if parts == ["oidc", "callback"]:
            return self._oidc_callback(environ)
        if parts == ["static", "console.css"]:
            return Answer(
                "200 OK", (files("web") / "static" / "console.css").read_bytes(), "text/css"
            )
        if parts[:1] == ["pro"]:
            return self._pro(environ, parts[1:], method)
        secret = cookies(environ).get(COOKIE)
        session = self.sessions.find(secret)
        if session is None or session.kind not in (PATIENT, REPRESENTATIVE):
            return self._page("portal_login.html", status="401 Unauthorized")
        if method == "POST":
            fields = form(environ, MAX_FORM_BYTES)
            if not csrf_ok(session, fields.get("csrf")):
                return self._page(
                    "portal_message.html",
                    session=session,
                    status="403 Forbidden",
                    message="This form has expired or did not come from this site.",
                )
            match parts:
                case ["logout"]:
                    self.sessions.close(secret)
                    return _redirect(f"{PREFIX}/login", clear=True)
                case ["patient", "documents", entry_uuid, "mask"]:
                    return self._mask(session, entry_uuid, masked=True)
                case ["patient", "documents", entry_uuid, "unmask"]:
                    return self._mask(session, entry_uuid, masked=False)
                case ["patient", "record", action] if action in _RECORD_ACTIONS:
                    return self._record_action(session, _RECORD_ACTIONS[action], fields)
            return self._page(
                "portal_message.html",
                session=session,
                status="404 Not Found",
                message="Nothing here.",
            )
        match parts:
            case [] | ["patient"]:
                return self._documents(session)
            case ["patient", "documents", entry_uuid]:
                return self._document(session, entry_uuid)
            case ["patient", "history"]:
                return self._history(session)
            case ["patient", "record"]:
                return self._record(session)
        return self._page(
            "portal_message.html", session=session, status="404 Not Found", message="Nothing here."
        )

    def _page(
        self,
        name: str,
        *,
        status: str = "200 OK",
        headers: Iterable[tuple[str, str]] = (),
        **context: Any,
    ) -> Answer:
        language = _LANGUAGE.get()
        html = self.templates.get_template(name).render(
            prefix=PREFIX, t=translator(language), lang=language, **context
        )
        return Answer(status, html.encode(), headers=headers)

    # --- login -------------------------------------------------------------------------------

    def _login(self, environ: dict[str, Any]) -> Answer:
        token = parse_qs(environ.get("QUERY_STRING", "")).get("token", [None])[-1]
        if token is None:
            return self._page("portal_login.html", oidc=self.oidc is not None)
        if not self.settings.links:
            return self._page(
                "portal_login.html", status="403 Forbidden", problem="Login links are off."
            )
        redeemed = self.sessions.redeem(token)
        if redeemed is None:
            return self._page(
                "portal_login.html", status="403 Forbidden", problem="This link is used or expired."
            )
        patient, representative = redeemed
        cookie = self._patient_cookie(patient, representative)
        return _redirect(f"{PREFIX}/patient", cookie=cookie)

    def _patient_cookie(self, patient: str, representative: str | None = None) -> str:
        if representative:
            secret = self.sessions.open(REPRESENTATIVE, patient, representative)
        else:
            secret = self.sessions.open(PATIENT, patient)
        return set_cookie(COOKIE, secret, path=PREFIX, secure=self.settings.secure_cookie)

    # --- OpenID Connect ------------------------------------------------------------------------

    def _redirect_uri(self) -> str:
        return f"{self.settings.base_url.rstrip('/')}{PREFIX}/oidc/callback"

    def _oidc_start(self) -> Answer:
        if self.oidc is None:
            return self._page("portal_login.html", status="404 Not Found")
        try:
            url, kept = self.oidc.start(self._redirect_uri())
        except OidcError as exc:
            log.warning("OIDC login not started: %s", exc)
            return self._page(
                "portal_login.html",
                status="503 Service Unavailable",
                oidc=True,
                problem="The identity service cannot be reached.",
            )
        pending = self.sessions.open("pending", kept)
        cookie = set_cookie(
            OIDC_COOKIE,
            pending,
            path=f"{PREFIX}/oidc",
            same_site="Lax",
            max_age=600,
            secure=self.settings.secure_cookie,
        )
        return _redirect(url, cookie=cookie)

    def _oidc_callback(self, environ: dict[str, Any]) -> Answer:
        secret = cookies(environ).get(OIDC_COOKIE)
        pending = self.sessions.find(secret)
        self.sessions.close(secret)  # one use
        if self.oidc is None or pending is None or pending.kind != "pending":
            return self._page(
                "portal_login.html",
                status="403 Forbidden",
                oidc=True,
                problem="This login has expired: start again.",
            )
        query = environ.get("QUERY_STRING", "")
        callback = f"{self._redirect_uri()}?{query}"
        try:
            identity = self.oidc.finish(self._redirect_uri(), callback, pending.subject)
        except OidcError as exc:
            log.warning("OIDC login refused: %s", exc)
            return self._page(
                "portal_login.html",
                status="403 Forbidden",
                oidc=True,
                problem="Your identity could not be verified.",
            )
        if identity.represents:  # a legal representative, acting for the patient named
            patient = self._cx(identity.represents)
            cookie = self._patient_cookie(patient_key(patient), representative=identity.ins)
        else:
            cookie = self._patient_cookie(patient_key(self._cx(identity.ins)))
        clear = set_cookie(OIDC_COOKIE, "", path=f"{PREFIX}/oidc", same_site="Lax", max_age=0)
        # A page of ours moves on: the provider's redirect is cross-site, and a SameSite=Strict
        # cookie set now would not go with a navigation that chain started.
        return self._page(
            "portal_continue.html", headers=[("Set-Cookie", cookie), ("Set-Cookie", clear)]
        )

    def _cx(self, ins: str) -> str:
        """An INS claim as a patient id: a bare INS is an id in the INS authority."""
        return ins if "^" in ins else f"{ins}^^^&{self.settings.ins_authority}&ISO"

    # --- the patient's pages -------------------------------------------------------------------

    def _visible(self, session: Session, query: Any) -> list[DocumentEntry]:
        result = self.registry.query(StoredQueryRequest(query), requester=_requester(session))
        if result.response.status is ResponseStatus.FAILURE:
            raise _Refused(result.response.errors[0].message)
        return list(result.metadata.documents) if result.metadata else []

    def _documents(self, session: Session) -> Answer:
        query = FindDocumentsQuery(patient_id=session.subject, statuses=_VISIBLE)
        try:
            docs = self._visible(session, query)
        except _Refused as refused:
            return self._page("portal_message.html", session=session, message=str(refused))
        docs.sort(key=lambda d: d.creation_time or "", reverse=True)
        return self._page(
            "portal_documents.html",
            session=session,
            documents=docs,
            masked=_masked,
            describe=_describe,
        )

    def _mine(self, session: Session, entry_uuid: str) -> DocumentEntry | None:
        """The patient's own visible document of this entryUUID (another patient's: None)."""
        if not entry_uuid.startswith("urn:uuid:"):
            entry_uuid = f"urn:uuid:{entry_uuid}"
        try:
            found = self._visible(session, GetDocumentsQuery(uuids=(entry_uuid,)))
        except _Refused:
            return None
        mine = [d for d in found if patient_key(d.patient_id or "") == patient_key(session.subject)]
        return mine[0] if mine else None

    def _document(self, session: Session, entry_uuid: str) -> Answer:
        doc = self._mine(session, entry_uuid)
        if doc is None or self.repository is None:
            return self._page(
                "portal_message.html",
                session=session,
                status="404 Not Found",
                message="No such document in your record.",
            )
        data = read_for(self.registry, self.repository, _requester(session), doc)
        if data is None:
            return self._page(
                "portal_message.html",
                session=session,
                status="404 Not Found",
                message="This document cannot be read.",
            )
        return document_answer(data)

    def _mask(self, session: Session, entry_uuid: str, *, masked: bool) -> Answer:
        doc = self._mine(session, entry_uuid)
        if doc is None:
            return self._page(
                "portal_message.html",
                session=session,
                status="404 Not Found",
                message="No such document in your record.",
            )
        codes = tuple(c for c in doc.confidentiality_codes if c.code != MASQUE_PS.code)
        if masked:
            flag = MetadataCode(MASQUE_PS.code, MASQUE_PS.scheme, FLAG_NAMES[MASQUE_PS.code])
            codes = (*codes, flag)
        source = UpdateSource(f"2.25.{uuid.uuid4().int}", self.settings.source_id, now_dtm())
        metadata = new_version(doc, source, confidentiality_codes=codes)
        response = self.registry.update(metadata, requester=_requester(session))
        if response.status is not ResponseStatus.SUCCESS:
            t = translator(_LANGUAGE.get())
            reason = "; ".join(e.message for e in response.errors) or t("refused")
            return self._page(
                "portal_message.html",
                session=session,
                status="403 Forbidden",
                message=f"{t('Not done:')} {reason}",
            )
        return _redirect(f"{PREFIX}/patient")

    def _history(self, session: Session) -> Answer:
        viewer = (
            RequesterKind.LEGAL_REPRESENTATIVE
            if session.kind == REPRESENTATIVE
            else RequesterKind.PATIENT
        )
        events = self.registry.audit_history(session.subject, viewer_kind=viewer)
        events = [
            e for e in events if not _own_read(e) and not e.transaction.startswith("console:")
        ]
        return self._page(
            "portal_history.html",
            session=session,
            events=list(reversed(events)),
            say=_in_words,
            reason=_reason,
        )

    # --- the professional's pages --------------------------------------------------------------

    def _pro(self, environ: dict[str, Any], parts: list[str], method: str) -> Answer:
        pro = self.pro
        who = pro.professional(environ) if pro is not None else None
        if pro is None or who is None:
            return self._page("pro_refused.html", status="403 Forbidden")
        session, cookie = pro.session(environ, who)
        headers = [("Set-Cookie", cookie)] if cookie else []
        page: dict[str, Any] = {
            "who": who,
            "session": session,
            "purposes": PURPOSES,
            "document_types": DOCUMENT_TYPES,
        }
        if method == "GET" and not parts:
            answer = self._page("pro_search.html", asked={}, **page)
        elif method == "POST" and parts in (["search"], ["open"]):
            fields = form(environ, MAX_FORM_BYTES)
            if cookie or not csrf_ok(session, fields.get("csrf")):
                answer = self._page(
                    "pro_search.html",
                    asked={},
                    status="403 Forbidden",
                    problem="This form has expired: search again.",
                    **page,
                )
            elif parts == ["search"]:
                docs, problem, asked = pro.search(who, fields)
                status = "200 OK" if problem is None else "403 Forbidden"
                answer = self._page(
                    "pro_search.html",
                    status=status,
                    documents=docs,
                    problem=problem,
                    asked=asked,
                    describe=_describe,
                    **page,
                )
            else:
                opened = pro.open(who, fields)
                if isinstance(opened, str):
                    answer = self._page(
                        "pro_search.html",
                        status="403 Forbidden",
                        problem=opened,
                        asked=fields,
                        **page,
                    )
                else:
                    answer = document_answer(opened)
        else:
            answer = self._page(
                "portal_message.html", status="404 Not Found", message="Nothing here."
            )
        answer.headers += headers
        return answer

    def _record(self, session: Session, problem: str | None = None) -> Answer:
        records = self.registry.records
        return self._page(
            "portal_record.html",
            session=session,
            record=records.state(session.subject),
            authorisations=records.authorisations(session.subject),
            problem=problem,
            status="200 OK" if problem is None else "403 Forbidden",
        )

    def _record_action(
        self, session: Session, action: RecordAction, fields: dict[str, str]
    ) -> Answer:
        """A change to the record, as the SOAP operation makes it (policy, audit)."""
        grantee = fields.get("professional", "").strip() or None
        if (
            action in (RecordAction.BLOCK, RecordAction.UNBLOCK, RecordAction.REVOKE)
            and not grantee
        ):
            return self._record(session, problem="Give the professional's identifier (RPPS).")
        if action is RecordAction.CLOSE and fields.get("confirm") != "yes":
            return self._record(
                session, problem="Tick the box to confirm that you close your record."
            )
        request = RecordRequest(
            action,
            session.subject,
            grantee_id=grantee,
            opposed=fields.get("opposed", "true") == "true",
        )
        answer = perform(self.registry, request, _requester(session))
        if not answer.success:
            return self._record(session, problem=answer.error or "refused")
        return _redirect(f"{PREFIX}/patient/record")


def _requester(session: Session) -> Requester:
    """Who acts in this session: the patient, or their representative (`Session.name`)."""
    if session.kind == REPRESENTATIVE:
        return patient_requester(session.subject, representative=session.name)
    return patient_requester(session.subject)


class _Refused(Exception):
    pass


def _own_read(event: AuditEvent) -> bool:
    """The patient's own reading of their record (their pages' searches and opened
    documents): the audit trail keeps it, the history of who opened the record leaves it out."""
    return event.requester_kind == RequesterKind.PATIENT.value and event.transaction in _READS


_READS = frozenset({"ITI-18", "ITI-43"})


def _masked(doc: DocumentEntry) -> bool:
    return any(c.code == MASQUE_PS.code for c in doc.confidentiality_codes)


def _describe(doc: DocumentEntry) -> dict[str, str]:
    author = doc.authors[0] if doc.authors else None
    person = (author.person or "").split("^") if author else []
    name = " ".join(p for p in (person[2:3] + person[1:2]) if p) if person else ""
    place = author.institutions[0].split("^")[0] if author and author.institutions else ""
    created = doc.creation_time or ""
    return {
        "title": doc.title.value if doc.title else "(untitled)",
        "type": (doc.type_code.display_name or doc.type_code.code) if doc.type_code else "",
        "author": name,
        "establishment": place,
        "date": f"{created[6:8]}/{created[4:6]}/{created[0:4]}" if len(created) >= 8 else "",
        "status": (doc.status or "").rsplit(":", 1)[-1],
    }


_WORDS = {
    "ITI-18": "looked for documents in your record",
    "ITI-67": "looked for documents in your record",
    "ITI-43": "opened a document",
    "ITI-68": "opened a document",
    "ITI-41": "added a document",
    "ITI-42": "added a document",
    "ITI-65": "added a document",
    "ITI-105": "added a document",
    "ITI-57": "changed a document",
    "ITI-62": "deleted a document",
}


def _in_words(event: Any) -> str:
    """One line of the access history as the patient reads it, in the page's language."""
    t = translator(_LANGUAGE.get())
    who = event.professional_name or event.professional_id or t("someone")
    if event.requester_kind == RequesterKind.PATIENT.value:
        who = t("You")
    elif event.requester_kind == RequesterKind.LEGAL_REPRESENTATIVE.value:
        who = t("A legal representative")
    what = t(_WORDS.get(event.transaction, event.transaction.removeprefix("records:")))
    where = f" ({event.structure_id})" if event.structure_id else ""
    emergency = f" — {t('in an emergency')}" if event.emergency else ""
    refused = f" — {t('refused')}" if event.outcome.value != "success" else ""
    return f"{who}{where} {what}{emergency}{refused}"


def _reason(event: Any) -> str:
    """The reason an emergency access gave (the professional's own words), or ''."""
    if not event.emergency:
        return ""
    for part in (event.detail or "").split("; "):
        if part.startswith("reason: "):
            return part.removeprefix("reason: ")
    return event.purpose_of_use or ""


def _redirect(location: str, *, cookie: str | None = None, clear: bool = False) -> Answer:
    headers = [("Location", location)]
    if cookie:
        headers.append(("Set-Cookie", cookie))
    if clear:
        headers.append(("Set-Cookie", set_cookie(COOKIE, "", path=PREFIX, max_age=0)))
    return Answer("303 See Other", b"", "text/plain", headers)


def _parts(path: str) -> list[str]:
    """The path's segments under /portal, as the routing reads them."""
    rest = path[len(PREFIX) :].strip("/")
    return [unquote(p) for p in rest.split("/")] if rest else []


__all__ = ["PREFIX", "PortalApplication", "PortalSettings", "patient_requester"]
