"""`xds serve` settings: command-line options over XDS_* environment variables, one typed object.

Only this module (the command's edge) reads the environment; the actors get their own
settings objects (`RegistrySettings`, `RepositorySettings`, `SoapSettings`) built from it.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from ebrim.profile import Profile
from registry import RegistrySettings
from repository import RepositorySettings
from soap import SoapSettings
from soap.settings import SecurityMode
from xds_cli.options import add_path_options

if TYPE_CHECKING:
    from web.capture import CaptureSettings
    from web.oidc import OidcSettings

REPOSITORY_ID_FILE = "repository-id"


class Role(StrEnum):
    BOTH = "both"
    REGISTRY = "registry"
    REPOSITORY = "repository"

    @property
    def has_registry(self) -> bool:
        return self is not Role.REPOSITORY

    @property
    def has_repository(self) -> bool:
        return self is not Role.REGISTRY


@dataclass(frozen=True)
class ReadLimits:
    """How slowly a client may send a request (`xds_cli.intake`): its TLS handshake and head
    within `head_timeout` seconds, its body at `min_body_rate` bytes/s past `body_grace`."""

    head_timeout: float = 10.0
    body_grace: float = 10.0
    min_body_rate: float = 1024.0
    max_head_bytes: int = 64 * 1024
    # Past this the request goes to the application, which refuses it (413) from its length.
    max_body_bytes: int = 64 * 1024 * 1024
    spool_in_memory: int = 1024 * 1024


@dataclass(frozen=True)
class ServeSettings:
    """Everything `xds serve` needs; `database_url` None means SQLite in the data folder."""

    bind: str = "127.0.0.1:8080"
    workers: int = 2
    threads: int = 4
    role: Role = Role.BOTH
    data_folder: Path = Path("xds-data")
    database_url: str | None = None
    database_schema: str | None = None
    registry_url: str | None = None
    registry_cert: Path | None = None  # a repository alone: its client certificate…
    registry_key: Path | None = None
    registry_ca: Path | None = None  # …the registry's CA…
    registry_sign_cert: Path | None = None  # …and the seal of the VIHF it forwards
    registry_sign_key: Path | None = None
    repository_id: str | None = None
    mllp_port: int = 2575
    public_url: str | None = None
    profile: Profile = Profile.GENERIC
    timeout: int = 300
    read_timeout: float = 10.0  # seconds for the TLS handshake and request head
    min_upload_rate: float = 1024.0  # bytes/s a request body must keep up after 10 s
    tls: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None
    tls_crl: Path | None = None
    security: SecurityMode = SecurityMode.OFF
    assertion_ca: Path | None = None  # who may sign assertions; default: tls_ca
    allow_rsa_sha1: bool = False
    client_cert_header: str | None = None
    trusted_proxies: tuple[str, ...] = ()
    audit_syslog: str | None = None  # tls://host:port or udp://host:port (ITI-20)
    audit_ca: Path | None = None  # who may sign the collector's certificate; default: tls_ca
    audit_cert: Path | None = None  # presented to the collector; default: tls_cert
    audit_key: Path | None = None
    audit_source_id: str | None = None
    audit_site_id: str | None = None
    capture: bool | None = None  # the console's message capture; None: on for embedded SQLite
    capture_hours: float = 24.0
    capture_max_mb: int = 256
    console_operators: tuple[str, ...] = ()  # under --tls: client certificates allowed
    portal_links: bool = False  # the patient portal's one-time login links (`xds portal link`)
    oidc_issuer: str | None = None  # the patient's OpenID Connect provider
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_ins_claim: str = "ins"
    oidc_represents_claim: str | None = None
    database_replicas: tuple[str, ...] = ()  # PostgreSQL streaming replicas for stored queries
    replica_max_lag: float = 5.0  # seconds behind beyond which a replica is skipped
    replica_wait: float = 0.5  # seconds a client waits for a replica to replay its commit

    @property
    def read_limits(self) -> ReadLimits:
        """How slowly a client may send a request before it is closed (`xds_cli.intake`)."""
        return ReadLimits(
            head_timeout=self.read_timeout,
            body_grace=self.read_timeout,
            min_body_rate=self.min_upload_rate,
            max_body_bytes=SoapSettings().max_request_bytes,
        )

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def https(self) -> bool:
        """Whether clients reach the server over HTTPS: its own TLS, or a TLS-terminating proxy
        at an https `--public-url` (the pages' cookies are then Secure)."""
        return self.tls or (self.public_url or "").lower().startswith("https://")

    @property
    def assertion_trust(self) -> Path | None:
        """The CA bundle anchoring the assertions' signing certificates."""
        return self.assertion_ca or self.tls_ca

    @property
    def base_url(self) -> str:
        """The URL the SOAP endpoints are reached at."""
        return self.public_url or f"{self.scheme}://{self.bind}"

    @property
    def audit_trust(self) -> Path | None:
        return self.audit_ca or self.tls_ca

    @property
    def audit_client_certificate(self) -> tuple[Path, Path] | None:
        if self.audit_cert and self.audit_key:
            return self.audit_cert, self.audit_key
        if self.tls_cert and self.tls_key:
            return self.tls_cert, self.tls_key
        return None

    @property
    def capture_settings(self) -> CaptureSettings:
        """Capture is on when asked, or by default on the embedded SQLite database (an
        integrator's machine); off by default on a production database."""
        from web.capture import CaptureSettings

        enabled = self.capture if self.capture is not None else self.database_url is None
        return CaptureSettings(
            enabled=enabled,
            retention=timedelta(hours=self.capture_hours),
            max_total_bytes=self.capture_max_mb * 1024 * 1024,
        )

    @property
    def oidc_settings(self) -> OidcSettings | None:
        from web.oidc import OidcSettings

        if not (self.oidc_issuer and self.oidc_client_id and self.oidc_client_secret):
            return None
        return OidcSettings(
            self.oidc_issuer,
            self.oidc_client_id,
            self.oidc_client_secret,
            self.oidc_ins_claim,
            represents_claim=self.oidc_represents_claim,
        )

    @property
    def on_postgresql(self) -> bool:
        """The registry's database is PostgreSQL (else SQLite)."""
        return (self.database_url or "").startswith("postgresql://")

    @property
    def replicas_in_use(self) -> bool:
        """Replicas answer stored queries: given, and the registry here on PostgreSQL."""
        return bool(self.database_replicas) and self.on_postgresql and self.role.has_registry

    @property
    def patients_without_certificate(self) -> bool:
        """Under --tls, patients reach their portal with no client certificate (it is on)."""
        return self.tls and (self.portal_links or self.oidc_settings is not None)

    @property
    def host(self) -> str:
        return self.bind.rpartition(":")[0] or "127.0.0.1"

    @property
    def database(self) -> str:
        return database_of(self.data_folder, self.database_url)

    @property
    def repository_database(self) -> str:
        """Where the repository's index lives: the registry's database, or its own."""
        if self.role.has_registry or self.database_url:
            return self.database
        return f"sqlite:///{(self.data_folder / 'repository.sqlite').resolve()}"

    def registry_settings(self) -> RegistrySettings:
        return RegistrySettings(
            database_url=self.database, database_schema=self.database_schema, profile=self.profile
        )

    def repository_settings(self, repository_id: str) -> RepositorySettings:
        return RepositorySettings(repository_id, self.data_folder / "repository", self.profile)

    def soap_settings(self) -> SoapSettings:
        return SoapSettings(
            public_url=self.public_url,
            security=self.security,
            client_cert_header=self.client_cert_header,
            trusted_proxies=self.trusted_proxies,
        )


def database_of(data: Path, database_url: str | None) -> str:
    """The registry's database: `database_url`, or the SQLite file in the data folder."""
    return database_url or f"sqlite:///{(data / 'registry.sqlite').resolve()}"


def add_database_options(parser: argparse.ArgumentParser) -> None:
    """Where the registry's data is: `xds serve`'s options, and those of the verbs that run
    beside it on the same database (`xds portal link`)."""
    env = os.environ.get
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(env("XDS_DATA", "xds-data")),
        help="folder of the document store, the SQLite database and the repository id "
        "(XDS_DATA, default ./xds-data)",
    )
    parser.add_argument(
        "--database", default=env("XDS_DATABASE"), help="postgresql://… (default: SQLite in --data)"
    )
    parser.add_argument(
        "--database-schema",
        default=env("XDS_DATABASE_SCHEMA"),
        help="PostgreSQL schema of the registry's tables (XDS_DATABASE_SCHEMA)",
    )


def add_serve_options(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    parser.add_argument(
        "--bind", default=env("XDS_BIND", "127.0.0.1:8080"), help="host:port (XDS_BIND)"
    )
    parser.add_argument(
        "--database-replica",
        action="append",
        default=[r for r in env("XDS_DATABASE_REPLICAS", "").split() if r],
        metavar="URL",
        help="a streaming replica of --database that answers stored queries (repeatable; "
        "XDS_DATABASE_REPLICAS, space-separated); writes stay on the primary",
    )
    parser.add_argument(
        "--replica-max-lag",
        type=float,
        default=float(env("XDS_REPLICA_MAX_LAG", "5")),
        help="seconds behind the primary beyond which a replica is skipped (default 5)",
    )
    parser.add_argument(
        "--replica-wait",
        type=float,
        default=float(env("XDS_REPLICA_WAIT", "0.5")),
        help="seconds a client that has just written waits for a replica to replay it "
        "before the primary answers (default 0.5)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(env("XDS_WORKERS", "2")),
        help="worker processes (XDS_WORKERS, default 2; about one per core)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=int(env("XDS_THREADS", "4")),
        help="request threads per worker (XDS_THREADS, default 4)",
    )
    parser.add_argument(
        "--role",
        choices=[r.value for r in Role],
        default=env("XDS_ROLE", Role.BOTH.value),
        help="actors this server runs (XDS_ROLE, default both)",
    )
    add_database_options(parser)
    parser.add_argument(
        "--registry-url",
        default=env("XDS_REGISTRY_URL"),
        help="the registry a --role repository forwards ITI-42 to",
    )
    parser.add_argument(
        "--repository-id", default=env("XDS_REPOSITORY_ID"), help="this repository's OID"
    )
    parser.add_argument(
        "--mllp-port",
        type=int,
        default=int(env("XDS_MLLP_PORT", "2575")),
        help="ITI-8 feed port (0: off)",
    )
    parser.add_argument(
        "--public-url",
        default=env("XDS_PUBLIC_URL"),
        help="the address clients use, written into the served WSDLs when it differs from "
        "--bind, e.g. behind a proxy (XDS_PUBLIC_URL)",
    )
    parser.add_argument(
        "--profile",
        choices=[p.value for p in Profile],
        default=env("XDS_PROFILE", "generic"),
        help="metadata rules and access policy: IHE XDS.b, or the French DMP's (XDS_PROFILE)",
    )
    parser.add_argument(
        "--timeout",
        type=int,
        default=int(env("XDS_TIMEOUT", "300")),
        help="seconds a worker may stay silent before it is restarted (XDS_TIMEOUT, default 300)",
    )
    parser.add_argument(
        "--read-timeout",
        type=float,
        default=float(env("XDS_READ_TIMEOUT", "10")),
        help="seconds a client has for its TLS handshake and request headers, and the grace "
        "before --min-upload-rate applies to its body (XDS_READ_TIMEOUT, default 10)",
    )
    parser.add_argument(
        "--min-upload-rate",
        type=float,
        default=float(env("XDS_MIN_UPLOAD_RATE", "1024")),
        help="bytes per second a request body must average past the grace; slower clients "
        "are disconnected (XDS_MIN_UPLOAD_RATE, default 1024)",
    )
    _add_security_options(parser)
    _add_audit_options(parser)
    add_console_options(parser)
    add_portal_options(parser)


def _add_audit_options(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    group = parser.add_argument_group("audit (ITI-20: DICOM audit messages to a syslog collector)")
    group.add_argument(
        "--audit-syslog",
        default=env("XDS_AUDIT_SYSLOG"),
        help="collector: tls://host:6514 (RFC 5425) or udp://host:514 (RFC 5426); off by default",
    )
    add_path_options(
        group,
        [
            (
                "--audit-ca",
                "XDS_AUDIT_CA",
                "CA bundle of the collector's certificate (default --tls-ca)",
            ),
            (
                "--audit-cert",
                "XDS_AUDIT_CERT",
                "client certificate for the collector (default --tls-cert)",
            ),
            ("--audit-key", "XDS_AUDIT_KEY", "its key (default --tls-key)"),
        ],
    )
    group.add_argument(
        "--audit-source-id",
        default=env("XDS_AUDIT_SOURCE_ID"),
        help="AuditSourceID of the messages (default: xds-<role>@<host name>)",
    )
    group.add_argument(
        "--audit-site-id",
        default=env("XDS_AUDIT_SITE_ID"),
        help="AuditEnterpriseSiteID: the hosting establishment (e.g. its FINESS)",
    )


def _add_security_options(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    group = parser.add_argument_group("security (mutual TLS and signed assertions)")
    group.add_argument(
        "--tls",
        action="store_true",
        default=_flag(env("XDS_TLS")),
        help="HTTPS with a client certificate required (XDS_TLS=1)",
    )
    add_path_options(
        group,
        [
            ("--tls-cert", "XDS_TLS_CERT", "server certificate, then its intermediates (PEM)"),
            ("--tls-key", "XDS_TLS_KEY", "the server certificate's key (PEM)"),
            ("--tls-ca", "XDS_TLS_CA", "CA bundle the client certificates must chain to"),
            ("--tls-crl", "XDS_TLS_CRL", "CRL file (PEM) checked for each client certificate"),
            (
                "--assertion-ca",
                "XDS_ASSERTION_CA",
                "CA bundle of assertion signers (default --tls-ca)",
            ),
        ],
    )
    forwarding = parser.add_argument_group(
        "a repository serving alone, towards a secured registry (--role repository)"
    )
    add_path_options(
        forwarding,
        [
            (
                "--registry-cert",
                "XDS_REGISTRY_CERT",
                "client certificate presented to the registry",
            ),
            ("--registry-key", "XDS_REGISTRY_KEY", "its key"),
            ("--registry-ca", "XDS_REGISTRY_CA", "CA bundle of the registry's server certificate"),
            (
                "--registry-sign-cert",
                "XDS_REGISTRY_SIGN_CERT",
                "signing certificate of the VIHF on each forwarded ITI-42",
            ),
            ("--registry-sign-key", "XDS_REGISTRY_SIGN_KEY", "its key"),
        ],
    )
    group.add_argument(
        "--security",
        choices=[m.value for m in SecurityMode],
        default=env("XDS_SECURITY", SecurityMode.OFF.value),
        help="signed SAML assertion in the WS-Security header: off, optional or required",
    )
    group.add_argument(
        "--allow-rsa-sha1",
        action="store_true",
        default=_flag(env("XDS_ALLOW_RSA_SHA1")),
        help="accept legacy rsa-sha1 assertion signatures (XDS_ALLOW_RSA_SHA1=1)",
    )
    group.add_argument(
        "--trusted-proxy-header",
        default=env("XDS_TRUSTED_PROXY_HEADER"),
        help="header in which a TLS-terminating proxy passes the client certificate "
        "(URL-encoded PEM, e.g. X-SSL-Client-Cert); off by default",
    )
    group.add_argument(
        "--trusted-proxies",
        default=env("XDS_TRUSTED_PROXIES", ""),
        help="comma-separated addresses or networks whose proxy header is believed",
    )


def add_console_options(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    group = parser.add_argument_group(
        "console", "the web console at /console (loopback only; under --tls, operators only)"
    )
    group.add_argument(
        "--capture",
        choices=["auto", "on", "off"],
        default=env("XDS_CAPTURE", "auto"),
        help="keep message bodies for the console's message log (XDS_CAPTURE; auto: on with "
        "the embedded SQLite database, off with --database)",
    )
    group.add_argument(
        "--capture-hours",
        type=float,
        default=float(env("XDS_CAPTURE_HOURS", "24")),
        help="how long captured messages are kept (XDS_CAPTURE_HOURS, default 24)",
    )
    group.add_argument(
        "--capture-max-mb",
        type=int,
        default=int(env("XDS_CAPTURE_MAX_MB", "256")),
        help="compressed size of all captured messages, the oldest dropped first (default 256)",
    )
    group.add_argument(
        "--console-operator",
        action="append",
        default=[o for o in env("XDS_CONSOLE_OPERATORS", "").split(",") if o],
        help="under --tls, a client certificate that may open the console: its subject "
        "(RFC 4514, e.g. CN=Ops,O=Hospital) or SHA-256 fingerprint (hex); repeatable "
        "(XDS_CONSOLE_OPERATORS, comma-separated)",
    )


def add_portal_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("portal", "the patient's pages at /portal")
    group.add_argument(
        "--portal-links",
        action="store_true",
        default=_flag(os.environ.get("XDS_PORTAL_LINKS")),
        help="accept the one-time login links `xds portal link PATIENT-ID` prints "
        "(XDS_PORTAL_LINKS=1; off by default)",
    )
    env = os.environ.get
    group.add_argument(
        "--oidc-issuer",
        default=env("XDS_OIDC_ISSUER"),
        help="the patients' OpenID Connect provider (its issuer URL; XDS_OIDC_ISSUER)",
    )
    group.add_argument(
        "--oidc-client-id",
        default=env("XDS_OIDC_CLIENT_ID"),
        help="this portal's client id at the provider (XDS_OIDC_CLIENT_ID)",
    )
    group.add_argument(
        "--oidc-client-secret",
        default=env("XDS_OIDC_CLIENT_SECRET"),
        help="better given as XDS_OIDC_CLIENT_SECRET than on the command line",
    )
    group.add_argument(
        "--oidc-ins-claim",
        default=env("XDS_OIDC_INS_CLAIM", "ins"),
        help="the claim of the verified identity that carries the patient's INS (default ins)",
    )
    group.add_argument(
        "--oidc-represents-claim",
        default=env("XDS_OIDC_REPRESENTS_CLAIM"),
        help="the claim naming the patient a legal representative acts for (their INS), "
        "when the provider asserts one (off by default)",
    )


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def serve_settings(args: argparse.Namespace) -> ServeSettings:
    """The settings from parsed options; ValueError when they do not fit together."""
    role = Role(args.role)
    if role is Role.REPOSITORY and not args.registry_url:
        raise ValueError("--role repository needs --registry-url (or XDS_REGISTRY_URL)")
    if args.workers < 1 or args.threads < 1:
        raise ValueError("--workers and --threads must be at least 1")
    if args.read_timeout <= 0 or args.min_upload_rate <= 0:
        raise ValueError("--read-timeout and --min-upload-rate must be positive")
    if bool(args.registry_cert) != bool(args.registry_key):
        raise ValueError("--registry-cert and --registry-key go together")
    if bool(args.registry_sign_cert) != bool(args.registry_sign_key):
        raise ValueError("--registry-sign-cert and --registry-sign-key go together")
    if args.tls and not (args.tls_cert and args.tls_key and args.tls_ca):
        raise ValueError("--tls needs --tls-cert, --tls-key and --tls-ca (XDS_TLS_*)")
    security = SecurityMode(args.security)
    if security is not SecurityMode.OFF and not (args.assertion_ca or args.tls_ca):
        raise ValueError(f"--security {security.value} needs --assertion-ca or --tls-ca")
    proxies = tuple(p.strip() for p in args.trusted_proxies.split(",") if p.strip())
    for proxy in proxies:
        ipaddress.ip_network(proxy, strict=False)  # ValueError names the bad one
    if bool(args.trusted_proxy_header) != bool(proxies):
        raise ValueError("--trusted-proxy-header and --trusted-proxies go together")
    if args.audit_syslog:
        _check_audit(args, role)
    oidc = (args.oidc_issuer, args.oidc_client_id, args.oidc_client_secret)
    if any(oidc) and not all(oidc):
        raise ValueError("--oidc-issuer, --oidc-client-id and --oidc-client-secret go together")
    if args.replica_max_lag <= 0 or args.replica_wait < 0:
        raise ValueError("--replica-max-lag must be positive and --replica-wait not negative")
    replicas = tuple(args.database_replica)
    for replica in replicas:
        if not replica.startswith("postgresql://"):
            raise ValueError(f"--database-replica {replica}: a postgresql:// URL is expected")
    return ServeSettings(
        bind=args.bind,
        workers=args.workers,
        threads=args.threads,
        role=role,
        data_folder=args.data,
        database_url=args.database,
        database_schema=args.database_schema,
        registry_url=args.registry_url,
        registry_cert=args.registry_cert,
        registry_key=args.registry_key,
        registry_ca=args.registry_ca,
        registry_sign_cert=args.registry_sign_cert,
        registry_sign_key=args.registry_sign_key,
        repository_id=args.repository_id,
        mllp_port=args.mllp_port,
        public_url=args.public_url,
        profile=Profile(args.profile),
        timeout=args.timeout,
        read_timeout=args.read_timeout,
        min_upload_rate=args.min_upload_rate,
        tls=args.tls,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_ca=args.tls_ca,
        tls_crl=args.tls_crl,
        security=security,
        assertion_ca=args.assertion_ca,
        allow_rsa_sha1=args.allow_rsa_sha1,
        client_cert_header=args.trusted_proxy_header,
        trusted_proxies=proxies,
        audit_syslog=args.audit_syslog,
        audit_ca=args.audit_ca,
        audit_cert=args.audit_cert,
        audit_key=args.audit_key,
        audit_source_id=args.audit_source_id,
        audit_site_id=args.audit_site_id,
        capture={"on": True, "off": False}.get(args.capture),
        capture_hours=args.capture_hours,
        capture_max_mb=args.capture_max_mb,
        console_operators=tuple(o.strip() for o in args.console_operator if o.strip()),
        portal_links=args.portal_links,
        oidc_issuer=args.oidc_issuer,
        oidc_client_id=args.oidc_client_id,
        oidc_client_secret=args.oidc_client_secret,
        oidc_ins_claim=args.oidc_ins_claim,
        oidc_represents_claim=args.oidc_represents_claim,
        database_replicas=replicas,
        replica_max_lag=args.replica_max_lag,
        replica_wait=args.replica_wait,
    )


def _check_audit(args: argparse.Namespace, role: Role) -> None:
    from atna.syslog import parse_destination

    destination = parse_destination(args.audit_syslog)  # ValueError names what is wrong
    if not role.has_registry:
        raise ValueError(
            "--audit-syslog needs the registry role: the audit trail is the registry's"
        )
    if destination.scheme == "tls" and not (args.audit_ca or args.tls_ca):
        raise ValueError("--audit-syslog tls://… needs --audit-ca or --tls-ca")
    if bool(args.audit_cert) != bool(args.audit_key):
        raise ValueError("--audit-cert and --audit-key go together")


def repository_id(settings: ServeSettings) -> str:
    """The configured OID, else the one kept in the data folder, else a new one kept there.

    A new id is a `2.25.<uuid>` OID (ITU-T X.667): unique without registering an arc.
    """
    if settings.repository_id:
        return settings.repository_id
    path = settings.data_folder / REPOSITORY_ID_FILE
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    settings.data_folder.mkdir(parents=True, exist_ok=True)
    new = f"2.25.{uuid.uuid4().int}"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(new + "\n", encoding="ascii")
    tmp.replace(path)
    return new
