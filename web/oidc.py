"""The patient's login by OpenID Connect (the code flow with PKCE), with Authlib.

France uses FranceConnect or the health space's identity in production; any certified
provider works: its issuer, the client id and secret registered there, and the claim that
carries the patient's INS (`OidcSettings`). The INS is read from the verified identity only:
the ID token's signature (the provider's JWKS), issuer, audience, expiry and nonce are
checked (Authlib's joserfc), then the claim is taken from the ID token, or from the userinfo answer
when its `sub` is the ID token's. Never from a form.

What the redirect must remember (state, nonce, PKCE verifier) is kept server-side as a
short "pending" session whose secret travels in a SameSite=Lax cookie, the one kind of
cookie a browser sends back on the provider's top-level redirect.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet


class OidcError(Exception):
    """A login that cannot be trusted: said to the visitor in general words, logged exactly."""


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    client_id: str
    client_secret: str
    ins_claim: str = "ins"
    scope: str = "openid ins"
    # A claim naming the patient a legal representative acts for (their INS), when the
    # provider asserts one; the person's own `ins_claim` is then the representative's id.
    represents_claim: str | None = None


@dataclass(frozen=True)
class Identity:
    """Who logged in: their INS, and the patient they act for as legal representative."""

    ins: str
    represents: str | None = None


@dataclass
class _Provider:
    metadata: dict[str, Any]
    keys: Any
    fetched: float = field(default_factory=time.monotonic)


class OidcClient:
    def __init__(self, settings: OidcSettings, *, timeout: float = 10.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self._provider: _Provider | None = None

    def _discovered(self) -> _Provider:
        """The provider's metadata and keys, fetched again after an hour."""
        if self._provider is None or time.monotonic() - self._provider.fetched > 3600:
            issuer = self.settings.issuer.rstrip("/")
            try:
                metadata = requests.get(
                    f"{issuer}/.well-known/openid-configuration", timeout=self.timeout
                ).json()
                keys = KeySet.import_key_set(
                    requests.get(metadata["jwks_uri"], timeout=self.timeout).json()
                )
            except (requests.RequestException, ValueError, KeyError) as exc:
                raise OidcError(f"the identity provider {issuer} cannot be reached: {exc}") from exc
            if metadata.get("issuer") != issuer:
                raise OidcError(
                    f"the provider calls itself {metadata.get('issuer')!r}, not {issuer}"
                )
            self._provider = _Provider(metadata, keys)
        return self._provider

    def start(self, redirect_uri: str) -> tuple[str, str]:
        """The provider's authorisation URL, and what the callback needs (to keep)."""
        provider = self._discovered()
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(48)
        session = self._session(redirect_uri)
        url, _ = session.create_authorization_url(
            provider.metadata["authorization_endpoint"],
            state=state,
            nonce=nonce,
            code_verifier=verifier,
        )
        return url, f"{state}|{nonce}|{verifier}"

    def finish(self, redirect_uri: str, callback_url: str, kept: str) -> Identity:
        """Who the provider's answer at `callback_url` names (verified); OidcError if any
        check fails."""
        state, nonce, verifier = [*kept.split("|"), "", "", ""][:3]
        provider = self._discovered()
        session = self._session(redirect_uri, state=state)
        try:
            token = session.fetch_token(
                provider.metadata["token_endpoint"],
                authorization_response=callback_url,
                code_verifier=verifier,
                timeout=self.timeout,
            )
        except Exception as exc:  # a wrong state, a refused code: Authlib's own errors
            raise OidcError(f"the provider's answer was refused: {exc}") from exc
        if "id_token" not in token:
            raise OidcError("the provider answered no ID token")
        algorithms = provider.metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        try:
            decoded = jwt.decode(
                token["id_token"],
                provider.keys,
                algorithms=[a for a in algorithms if a != "none"],
            )
            checks = jwt.JWTClaimsRegistry(
                leeway=60,
                iss={"essential": True, "value": self.settings.issuer.rstrip("/")},
                aud={"essential": True, "value": self.settings.client_id},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            )
            checks.validate(decoded.claims)
        except Exception as exc:
            raise OidcError(f"the ID token is not valid: {exc}") from exc
        claims = dict(decoded.claims)
        if not claims.get(self.settings.ins_claim) and provider.metadata.get("userinfo_endpoint"):
            info = session.get(provider.metadata["userinfo_endpoint"], timeout=self.timeout).json()
            if info.get("sub") == claims.get("sub"):
                claims = {**info, **claims}
        ins = claims.get(self.settings.ins_claim)
        if not isinstance(ins, str) or not ins:
            raise OidcError(f"the verified identity carries no {self.settings.ins_claim!r} claim")
        represents = claims.get(self.settings.represents_claim or "") or None
        if represents is not None and not isinstance(represents, str):
            raise OidcError(f"the {self.settings.represents_claim!r} claim is not one INS")
        return Identity(ins, represents)

    def _session(self, redirect_uri: str, **kw: Any) -> OAuth2Session:
        return OAuth2Session(
            self.settings.client_id,
            self.settings.client_secret,
            scope=self.settings.scope,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            **kw,
        )


__all__ = ["Identity", "OidcClient", "OidcError", "OidcSettings"]
