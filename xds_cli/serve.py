"""`xds serve`: the registry and/or repository behind gunicorn, plus the ITI-8 MLLP feed.

Process model: this process prepares the data (folder, schema migration, repository id),
spawns the side process (`xds_cli.side`: the MLLP listener and, with --audit-syslog, the
ITI-20 audit forwarder; one of each whatever the number of workers), then becomes the
gunicorn master, single-threaded so that forking a worker never copies a lock held by
another thread. Each worker builds its own engine and actors after the fork (`load`), so
no database connection crosses a fork. gunicorn's `gthread` workers, each reading whole
requests in its event loop before a thread takes them (`xds_cli.intake`: slow clients hold
a socket, never a thread); a response is written as its generator yields, and a thread busy
with a long request keeps its worker's heartbeat going. SIGTERM stops
gracefully (requests in flight finish), SIGINT quickly; both stop the side process. A killed
master takes its workers and the side process with it (`xds_cli.parent_death`), so that the
ports are free for a restart at once.
"""

from __future__ import annotations

import logging
import os
import ssl
import sys
from collections.abc import Iterable
from typing import Any

from gunicorn.app.base import BaseApplication
from sqlalchemy.engine import Engine

from ebrim.profile import Profile
from mhd.app import MhdApplication, combined
from pki.assertion import AssertionVerifier, Software
from registry import Registry, create_engine_for, migrate
from registry.audit_partitions import ensure_ahead
from registry.replay import open_replay_guard
from registry.replicas import Replicas, ReplicaSettings, WrittenLsns
from registry.trail import AuditTrail
from repository import Repository, StoreError, open_repository, reconcile_repository
from repository.api import RegistryClient
from soap import make_app
from soap.app import WSGIApp, certificate_required
from soap.client import ForwardingSigner, RemoteRegistry
from soap.client.exchange import SoapExchange
from soap.settings import SecurityMode
from web.capture import CaptureMiddleware, ExchangeLog
from web.console import ConsoleApplication, ConsoleSettings, Endpoint
from web.portal import PortalApplication, PortalSettings
from web.sessions import Sessions
from xds_cli.intake import worker_class
from xds_cli.parent_death import die_with_parent
from xds_cli.settings import Role, ServeSettings, repository_id
from xds_cli.side import LOG_FORMAT, SideServices, wanted
from xds_cli.tls import server_context

log = logging.getLogger("xds.serve")


def build_app(
    settings: ServeSettings, repo_id: str | None, written: WrittenLsns | None = None
) -> WSGIApp:
    """The WSGI application of one worker, with its own engine and actors.

    `written`: the clients' commit positions shared by the workers (made before they fork),
    for the replicas' read-your-writes."""
    registry = None
    engine = None
    if settings.role.has_registry:
        registry_settings = settings.registry_settings()
        engine = create_engine_for(registry_settings.database_url, schema=settings.database_schema)
        registry = Registry(engine, registry_settings, replicas=_replicas(settings, written))
    repository = None
    trail = None
    remote = None
    if settings.role.has_repository:
        assert repo_id is not None
        repository = _repository(settings, repo_id, registry, engine)
        if registry is None:  # alone: it audits what it serves in its own database
            trail = AuditTrail(repository.index.engine)
            if isinstance(repository.registry, RemoteRegistry) and repository.registry.signer:
                remote = repository.registry  # and asks the registry who may read
    verifier = assertion_verifier(settings, engine)
    soap_settings = settings.soap_settings()
    soap_app = make_app(
        registry=registry,
        repository=repository,
        settings=soap_settings,
        verifier=verifier,
        trail=trail,
        remote=remote,
    )
    if registry is None:
        return soap_app
    assert engine is not None
    mhd_app = MhdApplication(registry, repository, settings=soap_settings, verifier=verifier)
    capture = ExchangeLog(engine, settings.capture_settings)
    console = ConsoleApplication(
        engine,
        settings=ConsoleSettings(
            tls=settings.tls,
            operators=settings.console_operators,
            endpoints=endpoints_of(settings, repo_id),
            profile=settings.profile,
        ),
        soap_settings=soap_settings,
        capture=capture,
        repository=repository,
    )
    served = CaptureMiddleware(combined(soap_app, mhd_app), capture)
    portal = PortalApplication(
        registry,
        repository,
        Sessions(engine),
        PortalSettings(
            links=settings.portal_links,
            secure_cookie=settings.https,
            source_id=repo_id or "2.25.0",
            oidc=settings.oidc_settings,
            base_url=settings.base_url,
        ),
        soap_settings=soap_settings,
    )

    def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if console.serves(path):
            return console(environ, start_response)
        if portal.serves(path):
            return portal(environ, start_response)
        return served(environ, start_response)

    if settings.patients_without_certificate:
        return certificate_required(
            application, soap_settings, open_to_all=PortalApplication.open_to_patients
        )
    return application


def _replicas(settings: ServeSettings, written: WrittenLsns | None) -> Replicas | None:
    if not settings.replicas_in_use:
        return None
    # A replica that does not answer must not hold a request: connecting gives up in 2 s.
    engines = [
        create_engine_for(
            url
            if "connect_timeout=" in url
            else f"{url}{'&' if '?' in url else '?'}connect_timeout=2",
            schema=settings.database_schema,
        )
        for url in settings.database_replicas
    ]
    limits = ReplicaSettings(max_lag=settings.replica_max_lag, wait=settings.replica_wait)
    return Replicas(engines, written or WrittenLsns(), limits)


def endpoints_of(settings: ServeSettings, repo_id: str | None) -> tuple[Endpoint, ...]:
    """What an integrator types into Gazelle's configuration (the console's endpoints page)."""
    base = settings.base_url
    soap = settings.soap_settings()
    out = [
        Endpoint("Registry: ITI-42 Register, ITI-18 Stored Query", base + soap.registry_path),
        Endpoint("Registry WSDL", base + soap.registry_path + "?wsdl"),
        Endpoint("ITI-57 Update Document Set", base + soap.update_path),
        Endpoint("ITI-62 Delete Document Set", base + soap.delete_path),
    ]
    if settings.role.has_repository:
        out += [
            Endpoint(
                "Repository: ITI-41 Provide and Register, ITI-43 Retrieve",
                base + soap.repository_path,
            ),
            Endpoint("Repository WSDL", base + soap.repository_path + "?wsdl"),
            Endpoint("ITI-86 Remove Documents", base + soap.remove_documents_path),
            Endpoint("repositoryUniqueId", repo_id or "", "the repository's OID"),
        ]
    out += [
        Endpoint("MHD FHIR base (ITI-65, ITI-66, ITI-67, ITI-105)", base + "/fhir"),
        Endpoint("MHD CapabilityStatement", base + "/fhir/metadata"),
        Endpoint("Record management (DMP)", base + soap.records_path),
    ]
    if settings.mllp_port:
        out.append(
            Endpoint(
                "ITI-8 Patient Identity Feed (MLLP)",
                f"{settings.host}:{settings.mllp_port}",
                "plain TCP, HL7 v2.5",
            )
        )
    if settings.profile is Profile.DMP:
        out.append(
            Endpoint("Patient assigning authority (INS-NIR)", "1.2.250.1.213.1.4.10", "DMP profile")
        )
    else:
        out.append(
            Endpoint("Patient assigning authority", "any OID", "patients are fed by ITI-8 first")
        )
    out.append(Endpoint("TLS", "mutual TLS" if settings.tls else "off (plain HTTP)", ""))
    return tuple(out)


def _repository(
    settings: ServeSettings, repo_id: str, registry: Registry | None, engine: Engine | None
) -> Repository:
    """The repository: its index in the registry's database, or in its own when alone."""
    forward: RegistryClient
    if registry is not None and engine is not None:
        forward = registry
    else:
        assert settings.registry_url is not None
        forward = remote_registry(settings)
        engine = create_engine_for(settings.repository_database, schema=settings.database_schema)
    return open_repository(settings.repository_settings(repo_id), forward, engine)


def remote_registry(settings: ServeSettings) -> RemoteRegistry:
    """The registry a repository serving alone forwards ITI-42 to: over mutual TLS with its
    client certificate, each request carrying a VIHF it seals (`ForwardingSigner`), when the
    settings name them."""
    cert = None
    if settings.registry_cert and settings.registry_key:
        cert = (settings.registry_cert, settings.registry_key)
    exchange = SoapExchange(cert=cert, verify=settings.registry_ca or True)
    signer = None
    if settings.registry_sign_cert and settings.registry_sign_key:
        signer = ForwardingSigner(
            settings.registry_sign_key, settings.registry_sign_cert, REPOSITORY_SOFTWARE
        )
    assert settings.registry_url is not None
    return RemoteRegistry(settings.registry_url, exchange, signer=signer)


REPOSITORY_SOFTWARE = Software("xds-registry repository", "0.1.0")


def assertion_verifier(settings: ServeSettings, engine: Engine | None) -> AssertionVerifier | None:
    """The verifier of signed assertions (None when security is off).

    Its replay guard is the database's `seen_assertions` table (`registry.replay`), shared
    by every worker: the registry's database, or a SQLite file in the data folder of a
    repository serving alone.
    """
    trust = settings.assertion_trust
    if settings.security is SecurityMode.OFF or trust is None:
        return None
    from cryptography import x509

    crls = []
    if settings.tls_crl is not None:
        crls = [x509.load_pem_x509_crl(settings.tls_crl.read_bytes())]
    return AssertionVerifier(
        x509.load_pem_x509_certificates(trust.read_bytes()),
        profile=settings.profile,
        replay_cache=open_replay_guard(engine, settings.data_folder),
        crls=crls,
        allow_legacy_algorithms=settings.allow_rsa_sha1,
    )


def prepare(settings: ServeSettings) -> str | None:
    """Create the data folder, migrate the database; the repository id (None: no repository)."""
    settings.data_folder.mkdir(parents=True, exist_ok=True)
    # The registry's database, or the database of a repository serving alone (its index).
    database = settings.database if settings.role.has_registry else settings.repository_database
    engine = create_engine_for(database, schema=settings.database_schema)
    try:
        migrate(engine)
        if settings.role.has_registry:
            ensure_ahead(engine)  # PostgreSQL: the audit trail's coming months
    finally:
        engine.dispose()
    if not settings.role.has_registry and settings.security is not SecurityMode.OFF:
        open_replay_guard(None, settings.data_folder).engine.dispose()  # creates its table
    if settings.tls:
        tls_context(settings)  # unusable certificate files stop here, before any worker
    if not settings.role.has_repository:
        return None
    repo_id = repository_id(settings)
    _reconcile(settings, repo_id)
    return repo_id


def _reconcile(settings: ServeSettings, repo_id: str) -> None:
    """Index and files agree before any worker serves (`repository.reconcile`)."""
    registry = None
    engine = None
    if settings.role.has_registry:
        engine = create_engine_for(settings.database, schema=settings.database_schema)
        registry = Registry(engine, settings.registry_settings())
    repository = _repository(settings, repo_id, registry, engine)
    try:
        found = reconcile_repository(repository)
    finally:
        repository.index.engine.dispose()  # no connection crosses the fork
    log.info(
        "repository %s: store checked (%d files collected, %d pending settled, %d unsettled)",
        repo_id,
        found.collected,
        len(found.confirmed) + len(found.forgotten),
        len(found.unsettled),
    )


class XdsServer(BaseApplication):
    """gunicorn configured from `ServeSettings` instead of its own command line."""

    def __init__(self, settings: ServeSettings, repo_id: str | None) -> None:
        self.settings = settings
        self.repo_id = repo_id
        # Made here, in the master: the workers forked later share it.
        self.written = WrittenLsns() if settings.replicas_in_use else None
        super().__init__()

    def load_config(self) -> None:
        options: dict[str, Any] = {
            "bind": [self.settings.bind],
            "workers": self.settings.workers,
            "worker_class": worker_class(self.settings.read_limits),
            "threads": self.settings.threads,
            "timeout": self.settings.timeout,
            "graceful_timeout": 30,
            "keepalive": 5,
            "proc_name": f"xds-{self.settings.role.value}",
            "accesslog": None,  # soap.access writes the structured line, once per request
            "loglevel": "info",
            "post_fork": _die_with_master,
        }
        if self.settings.tls:
            context = tls_context(self.settings)
            options.update(
                certfile=str(self.settings.tls_cert),
                keyfile=str(self.settings.tls_key),
                ca_certs=str(self.settings.tls_ca),
                cert_reqs=(
                    ssl.CERT_OPTIONAL
                    if self.settings.patients_without_certificate
                    else ssl.CERT_REQUIRED
                ),
                # One context per process, not one per connection (gunicorn's default).
                ssl_context=lambda _config, _default: context,
            )
        if "control_socket_disable" in self.cfg.settings:  # gunicorn >= 25
            # One control socket per user home: parallel servers would fight over it.
            options["control_socket_disable"] = True
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> WSGIApp:
        return build_app(self.settings, self.repo_id, self.written)


def _die_with_master(_arbiter: Any, worker: Any) -> None:
    """gunicorn's post_fork hook, in the new worker: it dies when the master does."""
    die_with_parent(worker.ppid)


def tls_context(settings: ServeSettings) -> ssl.SSLContext:
    """The mutual-TLS server context (`xds_cli.tls`) from the settings' files."""
    assert settings.tls_cert and settings.tls_key and settings.tls_ca
    return server_context(
        settings.tls_cert,
        settings.tls_key,
        settings.tls_ca,
        settings.tls_crl,
        certificate_required=not settings.patients_without_certificate,
    )


def serve(settings: ServeSettings) -> int:
    """Run until SIGTERM or SIGINT; the exit status."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, stream=sys.stderr)
    try:
        repo_id = prepare(settings)
    except (OSError, ssl.SSLError, ValueError, StoreError) as exc:
        log.error("cannot start: %s", exc)
        return 2
    _announce(settings, repo_id)
    side = SideServices(settings, repo_id) if wanted(settings) else None
    if side is not None:
        try:
            side.start()
        except RuntimeError as exc:
            log.error("cannot start: %s", exc)
            return 2
    master = os.getpid()
    try:
        XdsServer(settings, repo_id).run()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    finally:
        # Workers leave run() through here too: only the master stops the side process.
        if side is not None and os.getpid() == master:
            side.stop()
    return 0


def _announce(settings: ServeSettings, repo_id: str | None) -> None:
    base = settings.base_url
    if settings.replicas_in_use:
        log.info(
            "stored queries on %d streaming replica(s) (lag up to %.1f s; a client waits up to "
            "%.1f s for its own writes, else the primary answers)",
            len(settings.database_replicas),
            settings.replica_max_lag,
            settings.replica_wait,
        )
    elif settings.database_replicas:
        log.warning(
            "--database-replica ignored: replicas serve a PostgreSQL registry, and this "
            "server's registry is %s",
            "on SQLite" if settings.role.has_registry else "remote",
        )
    if settings.tls:
        log.info(
            "mutual TLS: client certificates under %s%s; the ITI-8 MLLP feed stays plain TCP",
            settings.tls_ca,
            f", CRL {settings.tls_crl}" if settings.tls_crl else "",
        )
    if settings.security is not SecurityMode.OFF:
        log.info(
            "WS-Security %s: assertions signed under %s, profile %s",
            settings.security.value,
            settings.assertion_trust,
            settings.profile.value,
        )
    if settings.role.has_registry:
        log.info(
            "registry: %s/xds/registry (ITI-42, ITI-18), /xds/registry/update (ITI-57), "
            "/xds/registry/delete (ITI-62), /xds/records (record management), database %s",
            base,
            _safe(settings),
        )
    if settings.role.has_registry:
        capture = settings.capture_settings
        log.info(
            "console: %s/console (%s); message capture %s",
            base,
            "operators' client certificates" if settings.tls else "from this machine only",
            f"on, kept {settings.capture_hours:g} h" if capture.enabled else "off",
        )
        log.info(
            "MHD: FHIR R4 at %s/fhir (ITI-65, ITI-67, ITI-66, metadata), ITI-68 at %s/mhd/document",
            base,
            base,
        )
    if settings.role.has_repository:
        target = "in process" if settings.role is Role.BOTH else settings.registry_url
        log.info(
            "repository %s: %s/xds/repository (ITI-41, ITI-43), /xds/repository/remove "
            "(ITI-86), documents in %s, ITI-42 to %s",
            repo_id,
            base,
            settings.data_folder / "repository",
            target,
        )


def _safe(settings: ServeSettings) -> str:
    """The database URL without its password, for the log."""
    from sqlalchemy.engine import make_url

    return make_url(settings.database).render_as_string(hide_password=True)
