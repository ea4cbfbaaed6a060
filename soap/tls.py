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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import unquote

from cryptography import x509

from pki import structure_id
from soap.addressing import reply_headers
from soap.envelope import write_fault
from soap.faults import sender
from soap.mtom import SOAP_MEDIA_TYPE
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


WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]
REFUSED_WITHOUT_CERTIFICATE = "a verified TLS client certificate is required here"


def certificate_required(
    app: WsgiApp, settings: SoapSettings, *, open_to_all: Callable[[str], bool]
) -> WsgiApp:
    """`app` refusing every request that presents no verified client certificate, but those
    to the paths `open_to_all` accepts.

    For `xds serve --tls` with the patient portal on: patients' browsers hold no card, so the
    handshake asks for a certificate without requiring one, and this takes back, in the
    application, the refusal the handshake no longer makes. A certificate that is presented
    is still verified by the handshake (chain, validity, CRL); a SOAP request is refused
    with a SOAP fault, anything else with a plain 403.
    """

    def guarded(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if open_to_all(path) or client_identity(environ, settings) is not None:
            return app(environ, start_response)
        log.info("refused %s from %s: no client certificate", path, environ.get("REMOTE_ADDR"))
        content_type = environ.get("CONTENT_TYPE", "")
        if "soap+xml" in content_type or "multipart/related" in content_type:
            return _soap_refusal(start_response)
        body = (REFUSED_WITHOUT_CERTIFICATE + "\n").encode()
        start_response(
            "403 Forbidden",
            [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]

    return guarded


def _soap_refusal(start_response: Any) -> list[bytes]:
    fault = sender(REFUSED_WITHOUT_CERTIFICATE, http_status=403)
    body = write_fault(fault, reply_headers(fault.action, None))
    content_type = f'{SOAP_MEDIA_TYPE}; charset=UTF-8; action="{fault.action}"'
    start_response(
        "403 Forbidden", [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    )
    return [body]


__all__ = [
    "REFUSED_WITHOUT_CERTIFICATE",
    "ClientIdentity",
    "certificate_required",
    "client_identity",
    "is_trusted_proxy",
]
