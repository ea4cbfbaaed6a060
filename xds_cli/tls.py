"""The TLS server context of `xds serve --tls`: mutual TLS as the DMP asks of a secure node.

TLS 1.2 and 1.3 only; for TLS 1.2, forward-secret AEAD suites only (TLS 1.3's are all
strong); a client certificate is required (or, with the patient portal on, asked for and
required by the application outside the portal: `soap.app.certificate_required`) and verified
against the CA bundle; with a CRL
file, the client certificate is also checked against it (OpenSSL's CRL_CHECK_LEAF: the
CRL of the leaf's issuer must be in the file, or every handshake fails).
"""

from __future__ import annotations

import ssl
from pathlib import Path

STRONG_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:!aNULL:!eNULL:!MD5:!SHA1:!DSS"


def server_context(
    cert: Path,
    key: Path,
    ca: Path,
    crl: Path | None = None,
    *,
    certificate_required: bool = True,
) -> ssl.SSLContext:
    """A server-side SSLContext requiring a client certificate issued under `ca` (or, with
    `certificate_required=False`, verifying one when the client presents it).

    `cert` is the server certificate followed by its intermediates, `key` its key.
    Raises OSError / ssl.SSLError when a file is missing or unusable.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(STRONG_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    context.options |= ssl.OP_NO_RENEGOTIATION
    context.load_cert_chain(certfile=str(cert), keyfile=str(key))
    context.load_verify_locations(cafile=str(ca))
    context.verify_mode = ssl.CERT_REQUIRED if certificate_required else ssl.CERT_OPTIONAL
    if crl is not None:
        context.load_verify_locations(cafile=str(crl))
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    return context


__all__ = ["STRONG_CIPHERS", "server_context"]
