"""The wire layer's settings: size limits, spooling, and where the endpoints live."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SecurityMode(StrEnum):
    """Whether requests must carry a signed assertion in their WS-Security header.

    `off`: the header is not read (nor understood: a mustUnderstand one is refused);
    `optional`: an assertion present is verified, a request without one is served;
    `required`: a request without a valid assertion is refused (the DMP deployment).
    """

    OFF = "off"
    OPTIONAL = "optional"
    REQUIRED = "required"


@dataclass(frozen=True)
class SoapSettings:
    """Limits and paths of the SOAP application.

    `max_request_bytes` bounds the whole HTTP body (413 beyond); `max_envelope_bytes` the
    SOAP XML itself (the MTOM root part, or the whole body of a plain request, where inline
    base64 documents live). Parts larger than `spool_threshold` are spooled to disk.
    `public_url` (e.g. `https://xds.example.org`) replaces the request's own scheme and host
    in served WSDLs, for a server behind a proxy. The lifecycle transactions have endpoints
    of their own, each serving its WSDL: ITI-57 at `update_path`, ITI-62 at `delete_path`
    (registry), ITI-86 at `remove_documents_path` (repository); record management at
    `records_path` (registry, operations of our own).

    `security` says whether a signed assertion is required (`SecurityMode`). The calling
    establishment is the TLS client certificate of the connection, or, behind a
    TLS-terminating proxy, the certificate the proxy passes in the `client_cert_header`
    HTTP header (PEM, URL-encoded as nginx's `$ssl_client_escaped_cert`), honoured only
    from the `trusted_proxies` addresses or networks (off when either is empty).
    """

    max_request_bytes: int = 1024 * 1024 * 1024
    max_envelope_bytes: int = 256 * 1024 * 1024
    spool_threshold: int = 1024 * 1024
    chunk_size: int = 64 * 1024
    public_url: str | None = None
    registry_path: str = "/xds/registry"
    repository_path: str = "/xds/repository"
    update_path: str = "/xds/registry/update"
    delete_path: str = "/xds/registry/delete"
    remove_documents_path: str = "/xds/repository/remove"
    records_path: str = "/xds/records"
    security: SecurityMode = SecurityMode.OFF
    client_cert_header: str | None = None
    trusted_proxies: tuple[str, ...] = ()
