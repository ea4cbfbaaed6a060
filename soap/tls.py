"""Which establishment is calling, from its TLS client certificate.

The TLS server (gunicorn, `xds serve --tls`) has already verified the certificate's chain,
validity and, with a CRL configured, revocation: a connection without a good certificate
never reaches the application. Here the verified certificate is read back from the
connection (`gunicorn.socket`, an `ssl.SSLSocket`) or, behind a TLS-terminating proxy, from
the header the proxy sets, believed only when the request comes from a trusted proxy.
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import unquote

from cryptography import x509

from pki import structure_id
from soap.settings import SoapSettings

log = logging.getLogger("soap.tls")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class ClientIdentity:
    """The calling establishment: its verified TLS client certificate and structure id.

    `structure_id` is None when the certificate's subject carries no single OU (not an
    IGC-Santé organisation certificate); `via_proxy` when a trusted proxy vouched for it.
    """

    certificate: x509.Certificate
    structure_id: str | None
    via_proxy: bool = False

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()


def client_identity(environ: dict[str, Any], settings: SoapSettings) -> ClientIdentity | None:
    """The establishment behind this request, or None (plain HTTP, or no certificate)."""
    header = settings.client_cert_header
    if header and settings.trusted_proxies:
        value = environ.get(_environ_key(header))
        if value and is_trusted_proxy(environ.get("REMOTE_ADDR"), settings.trusted_proxies):
            return _identity(_from_header(value), via_proxy=True)
        if value:
            log.warning(
                "ignoring %s header from %s, which is not a trusted proxy",
                header,
                environ.get("REMOTE_ADDR"),
            )
    connection = environ.get("gunicorn.socket")
    if isinstance(connection, ssl.SSLSocket):
        der = connection.getpeercert(binary_form=True)
        if der:
            return _identity(x509.load_der_x509_certificate(der))
    return None


def _identity(cert: x509.Certificate | None, *, via_proxy: bool = False) -> ClientIdentity | None:
    if cert is None:
        return None
    try:
        structure: str | None = structure_id(cert)
    except ValueError:
        structure = None
    return ClientIdentity(cert, structure, via_proxy)


def _from_header(value: str) -> x509.Certificate | None:
    """A PEM certificate as proxies pass it: URL-encoded (nginx), or with its newlines
    folded into spaces; None (logged) when it is not one."""
    text = unquote(value).strip()
    begin, end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
    if text.startswith(begin) and end in text:
        body = text[len(begin) : text.index(end)]
        text = f"{begin}\n" + "\n".join(body.split()) + f"\n{end}\n"
    try:
        return x509.load_pem_x509_certificate(text.encode("ascii", "replace"))
    except ValueError:
        log.warning("the proxy's client certificate header holds no PEM certificate")
        return None


def _environ_key(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


@cache
def _networks(proxies: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def is_trusted_proxy(address: str | None, proxies: tuple[str, ...]) -> bool:
    """`address` is one of the trusted proxies (addresses or networks)."""
    return _trusted(address, _networks(proxies))


def _trusted(address: str | None, networks: Iterable[IPNetwork]) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


__all__ = ["ClientIdentity", "client_identity", "is_trusted_proxy"]
