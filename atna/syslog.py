"""Syslog for ATNA audit messages (IHE ITI-20 Record Audit Event): the message and its frame.

An audit message travels as the MSG of an RFC 5424 syslog message, framed by octet counting
on a TLS stream (RFC 5425); `atna.senders` carries it to the collector. This module also
reads a collector's address and names what every sender promises (`SyslogSender`).

The messages hold patient data: they are never logged, and no error names their content.

    OSError
     └── SyslogError    a batch could not be delivered (names host:port and the cause)
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

__all__ = [
    "SyslogDestination",
    "SyslogError",
    "SyslogSender",
    "octet_frame",
    "parse_destination",
    "syslog_message",
]

log = logging.getLogger("xds.atna")

DEFAULT_PORTS = {"tls": 6514, "udp": 514}
BOM = b"\xef\xbb\xbf"
NILVALUE = "-"


class SyslogError(OSError):
    """A batch of syslog messages could not be delivered to the collector."""


@dataclass(frozen=True)
class SyslogDestination:
    """Where a collector listens: `tls` (RFC 5425) or `udp` (RFC 5426), host and port."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def address(self) -> str:
        """host:port, the way errors and logs name the collector."""
        return str(self).split("://", 1)[1]


def parse_destination(text: str) -> SyslogDestination:
    """`tls://host[:port]` or `udp://host[:port]`; an IPv6 address goes in brackets.

    The port defaults to 6514 for TLS and 514 for UDP (the IANA syslog ports).
    """
    scheme, sep, netloc = text.strip().partition("://")
    if not sep:
        raise ValueError(f"syslog destination {text!r}: expected tls://host[:port] or udp://…")
    scheme = scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"syslog destination {text!r}: scheme must be tls or udp, not {scheme!r}")
    if any(c in netloc for c in "/?#@ "):
        raise ValueError(f"syslog destination {text!r}: only host and port are allowed")
    if netloc.startswith("["):
        host, bracket, rest = netloc[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"syslog destination {text!r}: malformed [IPv6] address")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"syslog destination {text!r}: {host!r} is no IPv6 address") from None
        port_text = rest[1:] if rest else None
    elif netloc.count(":") > 1:
        raise ValueError(f"syslog destination {text!r}: write an IPv6 address in brackets")
    else:
        host, colon, port_text_or_empty = netloc.partition(":")
        port_text = port_text_or_empty if colon else None
    if not host:
        raise ValueError(f"syslog destination {text!r}: missing host")
    if port_text is None:
        return SyslogDestination(scheme, host, DEFAULT_PORTS[scheme])
    if not (port_text.isascii() and port_text.isdigit() and 0 < int(port_text) < 65536):
        raise ValueError(f"syslog destination {text!r}: bad port {port_text!r} (1 to 65535)")
    return SyslogDestination(scheme, host, int(port_text))


def _header_field(value: str | None, max_length: int) -> str:
    # RFC 5424 header fields are PRINTUSASCII without spaces; anything else would break the
    # collector's parsing, so it is dropped rather than escaped (there is no escape).
    kept = "".join(c for c in value or "" if 33 <= ord(c) <= 126)[:max_length]
    return kept or NILVALUE


def _timestamp(value: datetime) -> str:
    utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def syslog_message(
    msg: bytes,
    *,
    timestamp: datetime,
    hostname: str | None,
    app_name: str | None,
    procid: str | None,
    msgid: str = "IHE+RFC-3881",
    facility: int = 10,
    severity: int = 5,
) -> bytes:
    """The RFC 5424 SYSLOG-MSG carrying `msg` (UTF-8), without structured data.

    ITI-20's defaults: facility 10 (authpriv), severity 5 (notice), MSGID IHE+RFC-3881.
    A naive `timestamp` is taken as UTC. Header fields lose their non-printable and
    non-ASCII characters and are cut to the RFC's lengths; empty ones become "-".
    """
    if not 0 <= facility <= 23 or not 0 <= severity <= 7:
        raise ValueError(f"syslog facility 0-23 and severity 0-7, not {facility}/{severity}")
    if msg.startswith(BOM):
        msg = msg[len(BOM) :]
    try:
        msg.decode("utf-8")
    except UnicodeDecodeError:
        # The BOM promises UTF-8 to the collector (RFC 5424 6.4): refuse to lie.
        raise ValueError("a syslog MSG sent with a BOM must be UTF-8") from None
    header = " ".join(
        (
            f"<{facility * 8 + severity}>1",
            _timestamp(timestamp),
            _header_field(hostname, 255),
            _header_field(app_name, 48),
            _header_field(procid, 128),
            _header_field(msgid, 32),
            NILVALUE,  # STRUCTURED-DATA
        )
    )
    return header.encode("ascii") + b" " + BOM + msg


def octet_frame(message: bytes) -> bytes:
    """RFC 5425 / RFC 6587 octet counting: the length in octets, a space, the message.

    An empty message has no frame: the ABNF's MSG-LEN starts with a non-zero digit.
    """
    if not message:
        raise ValueError("an empty syslog message cannot be framed (RFC 5425 MSG-LEN >= 1)")
    return b"%d " % len(message) + message


class SyslogSender(Protocol):
    """What the audit forwarder needs from a transport."""

    destination: SyslogDestination

    def send(self, messages: Sequence[bytes]) -> None:
        """Hand every message to the transport, in order, or raise SyslogError."""

    def close(self) -> None:
        """Release the connection; a later `send` opens a new one."""
