"""A development PKI: root and intermediate CAs, establishment and server certificates, a CRL.

Everything is written as PEM under one folder (private keys 0600) so that a laptop
deployment, the tests and the future `xds pki` verbs share the same layout::

    <folder>/ca/root.pem root.key intermediate.pem intermediate.key chain.pem crl.pem
    <folder>/establishments/<structure id>/auth.pem auth.key sign.pem sign.key
    <folder>/servers/<first host name>/server.pem server.key

Not for production: real establishments use IGC-Santé certificates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pki import profiles, structure
from pki._files import new_key, read_cert, read_key, write_certs, write_key

CRL_VALIDITY = timedelta(days=7)


@dataclass(frozen=True)
class CA:
    """The development CA's files; the intermediate issues every end-entity certificate."""

    folder: Path
    root_cert: Path
    root_key: Path
    intermediate_cert: Path
    intermediate_key: Path
    chain: Path  # intermediate then root: the bundle peers trust
    crl: Path

    def issuer(self) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
        return read_cert(self.intermediate_cert), read_key(self.intermediate_key)


@dataclass(frozen=True)
class Establishment:
    """An establishment's two organisation certificates (TLS client, signing) and its id."""

    tls_cert: Path
    tls_key: Path
    sign_cert: Path
    sign_key: Path
    structure_id: str


@dataclass(frozen=True)
class ServerCertificate:
    cert: Path  # server then intermediate: what a TLS server presents
    key: Path


def _ca_paths(folder: Path) -> CA:
    ca = folder / "ca"
    return CA(
        folder=folder,
        root_cert=ca / "root.pem",
        root_key=ca / "root.key",
        intermediate_cert=ca / "intermediate.pem",
        intermediate_key=ca / "intermediate.key",
        chain=ca / "chain.pem",
        crl=ca / "crl.pem",
    )


def init_ca(folder: Path, *, organisation: str = "XDS Development PKI") -> CA:
    """Create a root and an intermediate CA and an empty CRL under `folder`.

    Refuses to overwrite an existing CA: its certificates may already be trusted somewhere.
    """
    paths = _ca_paths(Path(folder))
    if paths.root_cert.exists():
        raise FileExistsError(f"a CA already exists in {paths.root_cert.parent}")
    root_key, intermediate_key = new_key(), new_key()
    root = profiles.ca_certificate(
        profiles.name(f"{organisation} Root CA", organisation=organisation),
        root_key,
        path_length=1,
    )
    intermediate = profiles.ca_certificate(
        profiles.name(f"{organisation} Intermediate CA", organisation=organisation),
        intermediate_key,
        issuer=root,
        issuer_key=root_key,
        path_length=0,
    )
    write_key(paths.root_key, root_key)
    write_certs(paths.root_cert, root)
    write_key(paths.intermediate_key, intermediate_key)
    write_certs(paths.intermediate_cert, intermediate)
    write_certs(paths.chain, intermediate, root)
    _write_crl(paths, revoked=[])
    return paths


def load_ca(folder: Path) -> CA:
    """The CA that `init_ca` created in `folder`."""
    paths = _ca_paths(Path(folder))
    if not paths.intermediate_key.exists():
        raise FileNotFoundError(f"no development CA in {folder} (run `xds pki init`)")
    return paths


def issue_establishment(
    ca: CA,
    folder: Path,
    *,
    name: str,
    finess: str | None = None,
    structure_id: str | None = None,
    days: int = 365,
    not_before: datetime | None = None,
) -> Establishment:
    """Issue an establishment's AUTH_CLI (TLS client) and SIGN (assertion seal) certificates.

    The structure is named by `finess` (giving "1" + FINESS) or by a ready-made
    `structure_id` (e.g. "3" + SIRET); both certificates carry it in their subject OU.
    """
    if (finess is None) == (structure_id is None):
        raise ValueError("give exactly one of finess= or structure_id=")
    ident = structure.from_finess(finess) if finess is not None else str(structure_id)
    issuer, issuer_key = ca.issuer()
    out = Path(folder) / "establishments" / _safe(ident)
    files: dict[str, Path] = {}
    for usage, label in (("auth_cli", "auth"), ("sign", "sign")):
        key = new_key()
        subject = profiles.name(f"{name} {usage.upper()}", organisation=name, unit=ident)
        cert = profiles.leaf_certificate(
            subject, key, issuer, issuer_key, usage=usage, days=days, not_before=not_before
        )
        files[f"{label}_key"] = write_key(out / f"{label}.key", key)
        files[f"{label}_cert"] = write_certs(out / f"{label}.pem", cert)
    return Establishment(
        tls_cert=files["auth_cert"],
        tls_key=files["auth_key"],
        sign_cert=files["sign_cert"],
        sign_key=files["sign_key"],
        structure_id=ident,
    )


@dataclass(frozen=True)
class ProfessionalCard:
    """A professional's personal authentication certificate (the CPS card's, in shape)."""

    cert: Path
    key: Path
    professional_id: str


def issue_professional(
    ca: CA,
    folder: Path,
    *,
    professional_id: str,
    name: str,
    structure_id: str,
    profession: str = "10",
    days: int = 365,
) -> ProfessionalCard:
    """Issue a personal TLS client certificate shaped like a CPS card's authentication one:
    the national id (RPPS, or ADELI) in serialNumber, the name in CN, the profession code
    (TRE_G15) in title and the structure in OU (`pki.professional` reads them back)."""
    issuer, issuer_key = ca.issuer()
    key = new_key()
    subject = profiles.personal_name(
        name, professional_id=professional_id, profession=profession, unit=structure_id
    )
    cert = profiles.leaf_certificate(subject, key, issuer, issuer_key, usage="auth_cli", days=days)
    out = Path(folder) / "professionals" / _safe(professional_id)
    return ProfessionalCard(
        cert=write_certs(out / "auth.pem", cert),
        key=write_key(out / "auth.key", key),
        professional_id=professional_id,
    )


def issue_server(
    ca: CA,
    folder: Path,
    hostnames: Sequence[str] = ("localhost", "127.0.0.1"),
    *,
    days: int = 365,
) -> ServerCertificate:
    """Issue a TLS server certificate whose SAN lists `hostnames` (DNS names or IP addresses)."""
    if not hostnames:
        raise ValueError("a server certificate needs at least one host name")
    issuer, issuer_key = ca.issuer()
    key = new_key()
    subject = profiles.name(hostnames[0], organisation=issuer.subject.rfc4514_string())
    cert = profiles.leaf_certificate(
        subject, key, issuer, issuer_key, usage="server", hostnames=tuple(hostnames), days=days
    )
    out = Path(folder) / "servers" / _safe(hostnames[0])
    return ServerCertificate(
        cert=write_certs(out / "server.pem", cert, issuer),
        key=write_key(out / "server.key", key),
    )


def revoke(ca: CA, cert: x509.Certificate | Path) -> Path:
    """Add a certificate issued by the intermediate to the CRL; returns the CRL's path."""
    certificate = read_cert(cert) if isinstance(cert, Path) else cert
    issuer, _ = ca.issuer()
    if certificate.issuer != issuer.subject:
        raise ValueError("this certificate was not issued by the development intermediate CA")
    crl = x509.load_pem_x509_crl(ca.crl.read_bytes())
    revoked = list(crl)
    if all(r.serial_number != certificate.serial_number for r in revoked):
        revoked.append(
            x509.RevokedCertificateBuilder()
            .serial_number(certificate.serial_number)
            .revocation_date(datetime.now(UTC))
            .build()
        )
    return _write_crl(ca, revoked=revoked)


def _write_crl(ca: CA, *, revoked: list[x509.RevokedCertificate]) -> Path:
    issuer, issuer_key = read_cert(ca.intermediate_cert), read_key(ca.intermediate_key)
    now = datetime.now(UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(now - profiles.BACKDATE)
        .next_update(now + CRL_VALIDITY)
    )
    for entry in revoked:
        builder = builder.add_revoked_certificate(entry)
    crl = builder.sign(issuer_key, hashes.SHA256())
    ca.crl.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    return ca.crl


def _safe(label: str) -> str:
    """A file-name-safe folder name: structure ids and host names never need more."""
    cleaned = "".join(c if c.isalnum() or c in "-._" else "_" for c in label)
    if not cleaned.strip("._"):
        raise ValueError(f"cannot make a folder name from {label!r}")
    return cleaned
