"""What the console and the portal answer: a page with the headers every page carries.

A Content-Security-Policy that allows this site's stylesheet and script and nothing else
(a page may set a stricter one: a rendered document forbids everything), no sniffing, no
referrer, no caching, no framing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

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


__all__ = ["PAGE_CSP", "Answer"]
