"""What the console and the portal share: their pages' answers and what they read of a request.

An answer carries the headers every page carries: a Content-Security-Policy that allows this
site's stylesheet and script and nothing else (a page may set a stricter one: a rendered
document forbids everything), no sniffing, no referrer, no caching, no framing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http.cookies import CookieError, SimpleCookie
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from jinja2 import Environment, FileSystemLoader, select_autoescape

from cda import CSP as DOCUMENT_CSP
from cda import CdaError, render_html

PAGE_CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_HEADERS = [
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
    ("X-Frame-Options", "DENY"),
]


class Answer:
    """A status, a body and its media type, and headers of its own."""

    def __init__(
        self,
        status: str,
        body: bytes,
        media: str = "text/html; charset=utf-8",
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.status, self.body, self.media, self.headers = status, body, media, list(headers)

    def send(self, start_response: Callable[..., Any]) -> list[bytes]:
        headers = [
            ("Content-Type", self.media),
            ("Content-Length", str(len(self.body))),
            *_HEADERS,
            *self.headers,
        ]
        if not any(name == "Content-Security-Policy" for name, _ in self.headers):
            headers.append(("Content-Security-Policy", PAGE_CSP))
        start_response(self.status, headers)
        return [self.body]


def templates() -> Environment:
    """The pages' templates, every value escaped."""
    return Environment(
        loader=FileSystemLoader(Path(str(files("web") / "templates"))),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )


def document_answer(data: bytes, filename: str = "document") -> Answer:
    """A document as a page: a CDA rendered inert under its own CSP (no script, no load),
    anything else offered as a download, never shown."""
    try:
        html = render_html(data)
    except CdaError:
        return Answer(
            "200 OK",
            data,
            "application/octet-stream",
            [("Content-Disposition", f'attachment; filename="{filename}"')],
        )
    return Answer("200 OK", html.encode(), headers=[("Content-Security-Policy", DOCUMENT_CSP)])


def cookies(environ: dict[str, Any]) -> dict[str, str]:
    """The request's cookies (none when the header cannot be read)."""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(environ.get("HTTP_COOKIE", ""))
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def set_cookie(
    name: str,
    value: str,
    *,
    path: str,
    same_site: str = "Strict",
    secure: bool = False,
    http_only: bool = True,
    max_age: int | None = None,
) -> str:
    """A Set-Cookie value: the pages' cookies carry no patient data, only a secret or a choice
    (`max_age=0` clears one)."""
    attributes = [f"{name}={value}", f"Path={path}"]
    if max_age is not None:
        attributes.append(f"Max-Age={max_age}")
    if http_only:
        attributes.append("HttpOnly")
    attributes.append(f"SameSite={same_site}")
    if secure:
        attributes.append("Secure")
    return "; ".join(attributes)


def form(environ: dict[str, Any], max_bytes: int) -> dict[str, Any]:
    """A POSTed form, urlencoded or multipart (a file upload: its field is bytes); empty when
    there is no body or it is over `max_bytes`."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0 or length > max_bytes:
        return {}
    body = environ["wsgi.input"].read(length)
    media = environ.get("CONTENT_TYPE", "")
    if media.startswith("multipart/form-data"):
        from email.parser import BytesParser
        from email.policy import HTTP

        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {media}\r\n\r\n".encode() + body
        )
        out: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not name:
                continue
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            out[str(name)] = data if part.get_filename() else data.decode("utf-8", "replace")
        return out
    return {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


__all__ = ["PAGE_CSP", "Answer", "cookies", "document_answer", "form", "set_cookie", "templates"]
