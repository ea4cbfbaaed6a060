"""The portal's sessions, one-time login links and CSRF tokens.

A session is a random secret in a cookie (HttpOnly, SameSite=Strict, Secure under TLS,
scoped to /portal); the database keeps only its SHA-256, with who it is, the forms' CSRF
token and an expiry (30 minutes, renewed by use up to 8 hours). A forged or expired cookie
finds nothing. A one-time login link (`xds portal link`, for the embedded default) is a
random token whose hash is kept with the patient and an expiry of minutes; it opens one
session, once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update

from registry.portal_schema import portal_links, portal_sessions
from registry.storage import write_transaction

COOKIE = "xds_portal"
IDLE = timedelta(minutes=30)
LONGEST = timedelta(hours=8)


@dataclass(frozen=True)
class Session:
    kind: str  # patient / professional
    subject: str
    name: str | None
    csrf: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Sessions:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def open(self, kind: str, subject: str, name: str | None = None) -> str:
        """A new session; the secret to set in the cookie."""
        secret = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with write_transaction(self.engine) as conn:
            conn.execute(delete(portal_sessions).where(portal_sessions.c.expires_at < now))
            conn.execute(
                insert(portal_sessions),
                {
                    "id_hash": _hash(secret),
                    "kind": kind,
                    "subject": subject,
                    "name": name,
                    "csrf": secrets.token_urlsafe(32),
                    "created_at": now,
                    "expires_at": now + IDLE,
                },
            )
        return secret

    def find(self, secret: str | None) -> Session | None:
        """The live session of a cookie's secret (its expiry renewed), or None."""
        if not secret or len(secret) > 128:
            return None
        now = datetime.now(UTC)
        key = _hash(secret)
        with write_transaction(self.engine) as conn:
            row = conn.execute(
                select(portal_sessions).where(portal_sessions.c.id_hash == key)
            ).first()
            if row is None or _aware(row.expires_at) < now:
                return None
            renewed = min(now + IDLE, _aware(row.created_at) + LONGEST)
            conn.execute(
                update(portal_sessions)
                .where(portal_sessions.c.id_hash == key)
                .values(expires_at=renewed)
            )
        return Session(row.kind, row.subject, row.name, row.csrf)

    def close(self, secret: str | None) -> None:
        if secret:
            with write_transaction(self.engine) as conn:
                conn.execute(
                    delete(portal_sessions).where(portal_sessions.c.id_hash == _hash(secret))
                )

    def link(self, patient_id: str, minutes: float = 10, representative: str | None = None) -> str:
        """A one-time login token for `patient_id` (or for `representative` acting for them),
        valid `minutes`."""
        token = secrets.token_urlsafe(32)
        with write_transaction(self.engine) as conn:
            conn.execute(
                insert(portal_links),
                {
                    "token_hash": _hash(token),
                    "patient_id": patient_id,
                    "representative": representative,
                    "expires_at": datetime.now(UTC) + timedelta(minutes=minutes),
                },
            )
        return token

    def redeem(self, token: str | None) -> tuple[str, str | None] | None:
        """The patient (and representative) of a one-time token, once, while it is valid."""
        if not token or len(token) > 128:
            return None
        now = datetime.now(UTC)
        with write_transaction(self.engine) as conn:
            used = conn.execute(
                update(portal_links)
                .where(
                    portal_links.c.token_hash == _hash(token),
                    portal_links.c.used_at.is_(None),
                    portal_links.c.expires_at >= now,
                )
                .values(used_at=now)
                .returning(portal_links.c.patient_id, portal_links.c.representative)
            ).first()
        return (used.patient_id, used.representative) if used is not None else None


def csrf_ok(session: Session, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(session.csrf, given or "")


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes: they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


__all__ = ["COOKIE", "Session", "Sessions", "csrf_ok"]
